#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# hostile_records.bats: hostile holder records and control sockets: no crash, no hang, not trusted, nothing left held.

# shellcheck disable=SC2030,SC2031 # each test is a subshell
# shellcheck disable=SC2154 # stderr_lines is set by bats' run
load helpers
load acquire_helpers
load hostile_helpers
load members_helpers
bats_require_minimum_version 1.5.0

# Pids above the largest pid_max (2^22): no process can ever have them.
DEAD=4194400

setup() {
	hostile_setup
	touch "$WORK/a.img"
	A=$WORK/a.img
	SLEEPER=
	members_reset
}

teardown() {
	if [ -n "$SLEEPER" ]; then
		kill "$SLEEPER" 2>/dev/null || true
	fi
	hostile_teardown
	drop_members
}

# bad_record KIND GOOD: print a hostile variant of the record text GOOD (its
# final newline, which $(...) strips, is put back first).
bad_record() {
	local good=$2$'\n'
	case $1 in
	truncated) printf %s "${good:0:40}" ;;
	unterminated) printf %s "${good%$'\n'}" ;;
	garbage) head -c 3000 /dev/urandom ;;
	nul) printf '%s\0child 1\n' "$good" ;;
	badline) printf '%slock zz exclusive 1\n' "$good" ;;
	# A record that would be believed but for its size (over 16 MiB of unknown keys).
	oversized)
		printf %s "$good"
		yes 'x y' | head -c $((17 << 20))
		;;
	esac
}

@test "a truncated, garbage or oversized record of a live holder is not trusted; list, inspect and prune cope" {
	tvl acquire -o vm1 "$A"
	local h good kind
	h=$(holder_pids)
	[ -n "$h" ]
	good=$(cat "$LS/.holders/$h")
	for kind in truncated unterminated garbage nul badline oversized; do
		# A whole record with the owner "evil" in front: garbage as a whole must hide it.
		bad_record "$kind" "${good/owner vm1/owner evil}" >"$LS/.holders/$h"
		run --separate-stderr tvl list -J
		assert_success
		jq -e --argjson h "$h" '.locks | length == 1 and .[0].pid == $h and .[0].owner == null' <<<"$output" ||
			fail "$kind record: $output"
		run tvl inspect "$A"
		assert_success
		assert_output --partial "norecord"
		refute_output --partial "evil"
		run tvl list -a --output-all
		assert_success
		refute_output --partial "evil"
		run tvl prune
		assert_success
		run --separate-stderr tvl release --owner evil
		assert_error 66 "owner evil" "virlock list"
		run busy_now "$A"
		assert_success
		alive "$h"
	done
	# The kernel knows the holder: releasing by resource still works.
	run tvl release "$A"
	assert_success
	wait_for 10 gone "$h"
	[ ! -e "$LS/.holders/$h" ]
	assert_clean
}

@test "hostile files under .holders of dead pids: ignored by list and release, removed by prune, never followed" {
	mkdir -m 0700 "$LS/.holders"
	echo victim >"$VICTIM"
	local before name good
	before=$(file_state "$VICTIM")
	name=$(lock_name "$A")
	printf %s "$(realpath "$A")" >"$LS/$name"
	good=$(printf 'virlock-holder 1\npid %d\nstart 5\nowner ghost\nlock %s exclusive 1\n' $DEAD "$name")
	printf '%s\n' "$good" >"$LS/.holders/$DEAD"
	bad_record truncated "$good" >"$LS/.holders/$((DEAD + 1))"
	bad_record garbage "$good" >"$LS/.holders/$((DEAD + 2))"
	bad_record oversized "$good" >"$LS/.holders/$((DEAD + 3))"
	: >"$LS/.holders/$((DEAD + 4))"
	mkfifo "$LS/.holders/$((DEAD + 5))"
	ln -s "$VICTIM" "$LS/.holders/$((DEAD + 6))"
	ln -s "$VICTIM" "$LS/.holders/.$((DEAD + 7)).tmp"
	ln -s "$VICTIM" "$LS/.holders/$((DEAD + 8)).sock"
	echo junk >"$LS/.holders/$((DEAD + 9)).sock"
	run tvl list -J
	assert_success
	jq -e '.locks == []' <<<"$output"
	run tvl list -a -o NAME,MODE,PID,STATUS -J
	assert_success
	jq -e '[.locks[] | select(.mode != "free") | .status] | all(. == "stale")' <<<"$output"
	run tvl inspect "$A"
	assert_success
	assert_output --partial "state:     free"
	run tvl release --all
	assert_success
	run --separate-stderr tvl release --owner ghost
	assert_error 66 "owner ghost"
	run --separate-stderr tvl release --pid $((DEAD + 1))
	assert_error 66 "pid $((DEAD + 1))"
	run tvl prune --dry-run
	assert_success
	[ -e "$LS/.holders/$DEAD" ]
	run tvl prune
	assert_success
	run ls -A "$LS/.holders"
	assert_output ""
	assert_equal "$(file_state "$VICTIM")" "$before"
	run tvl acquire "$A" -- true
	assert_success
	assert_clean
}

@test "a forged record naming a live process that holds nothing is not trusted, and the process is left alone" {
	local name start
	name=$(lock_name "$A")
	printf %s "$(realpath "$A")" >"$LS/$name"
	sleep 300 3>&- &
	SLEEPER=$!
	start=$(awk '{ print $22 }' "/proc/$SLEEPER/stat")
	mkdir -m 0700 "$LS/.holders"
	printf 'virlock-holder 1\npid %d\nstart %s\nowner evil\nlock %s exclusive 1\n' "$SLEEPER" "$start" "$name" \
		>"$LS/.holders/$SLEEPER"
	run tvl list -J
	assert_success
	jq -e '.locks == []' <<<"$output"
	run tvl inspect "$A"
	assert_success
	assert_output --partial "stale"
	run --separate-stderr tvl release "$A"
	assert_error 66 "$A: not held by anyone"
	run --separate-stderr tvl release --owner evil
	assert_error 71 "holder $SLEEPER runs but has no control socket" "not a virlock holder"
	run tvl acquire "$A" -- true
	assert_success
	alive "$SLEEPER"
	kill "$SLEEPER"
	wait_for 10 gone "$SLEEPER"
	run tvl prune
	assert_success
	[ ! -e "$LS/.holders/$SLEEPER" ]
	SLEEPER=
	assert_clean
}

# release_at_once ARGS...: run "release ARGS" as 'run --separate-stderr' does;
# it must answer at once, well before the 5 s a holder has to answer.
release_at_once() {
	local t0=${EPOCHREALTIME/[.,]/} ms
	run --separate-stderr tvl release "$@"
	ms=$(((${EPOCHREALTIME/[.,]/} - t0) / 1000))
	[ "$ms" -lt 4000 ] || fail "release $*: took $ms ms"
}

@test "a holder whose control socket answers garbage: release fails at once with 71, naming it" {
	local mode
	for mode in garbage long nul badcode close; do
		fake_holder "$mode" fake-lease vm-fake
		release_at_once --literal fake-lease
		assert_error 71 "fake-lease" "holder $FAKE"
		release_at_once --pid "$FAKE"
		assert_error 71 "pid $FAKE" "holder $FAKE"
		release_at_once --owner vm-fake
		assert_error 71 "owner vm-fake" "holder $FAKE"
		release_at_once --all
		assert_error 71 "holder $FAKE"
		# Nothing was released, and the lock is still reported as the fake's.
		run tvl list -J
		assert_success
		jq -e --argjson p "$FAKE" '.locks | length == 1 and .[0].pid == $p' <<<"$output"
		stop_fake
		rm "$WORK/fake.out"
		assert_clean
	done
}

@test "a holder whose control socket never answers: release gives up within its timeout with 71" {
	fake_holder silent fake-lease
	local t0=$SECONDS
	run --separate-stderr tvl release --literal fake-lease
	assert_error 71 "fake-lease" "holder $FAKE did not answer" "nothing was released"
	[ $((SECONDS - t0)) -le 10 ]
	run busy_now --literal fake-lease
	assert_success
	stop_fake
	assert_clean
}

@test "a lock holder without a control socket, or with a plain file in its place: 71, not a virlock holder" {
	local name
	name=$(lock_name_literal raw-lease)
	printf %s raw-lease >"$LS/$name"
	raw_hold "$LS/$name"
	run --separate-stderr tvl release --literal raw-lease
	assert_error 71 "raw-lease" "holder $FAKE runs but has no control socket" "not a virlock holder"
	mkdir -m 0700 "$LS/.holders"
	echo junk >"$LS/.holders/$FAKE.sock"
	run --separate-stderr tvl release --literal raw-lease
	assert_error 71 "raw-lease" "holder $FAKE"
	run --separate-stderr tvl release --pid "$FAKE"
	assert_failure
	[ "${#stderr_lines[@]}" -eq 1 ]
	run busy_now --literal raw-lease
	assert_success
	rm "$LS/.holders/$FAKE.sock"
	stop_fake
	assert_clean
}

@test "a real holder survives hostile clients on its control socket and still serves release" {
	tvl acquire -o vm1 "$A"
	local h sock mode
	h=$(holder_pids)
	sock=$(control_addr "$h")
	for mode in garbage nul huge half silent; do
		run timeout 20 "$HELPERS/fakeholder" client "$mode" "$sock"
		assert_success
		case $mode in
		garbage | nul | huge) assert_output --partial "err -22" ;;
		half | silent) assert_output "<eof>" ;;
		esac
		alive "$h"
	done
	run timeout 20 "$HELPERS/fakeholder" client ping "$sock"
	assert_success
	assert_output ok
	run busy_now "$A"
	assert_success
	run tvl list -J
	assert_success
	jq -e '.locks[0].owner == "vm1"' <<<"$output"
	run tvl release --owner vm1
	assert_success
	wait_for 10 gone "$h"
	assert_clean
}

# as USER UMASK VIRLOCK-ARGS...: run virlock on $LS as USER with UMASK, under a deadline.
as() {
	local user=$1 mask=$2
	shift 2
	# shellcheck disable=SC2016 # expanded by the inner shell
	timeout -k 5 20 runuser -u "$user" -- sh -c 'umask "$1"; shift; exec "$@"' sh "$mask" \
		"$SHARED/virlock" -L "$LS" "$@" 3>&-
}

@test "in a group lockspace, a member with umask 077 still writes records the group can read" {
	members "vlr$$" "vlr$$a" "vlr$$b"
	local u1=vlr$$a u2=vlr$$b
	LS=$SHARED/ls
	A=$SHARED/a.img
	touch "$A"
	chgrp "vlr$$" "$A"
	chmod 0660 "$A"
	install -d -m 2770 -o root -g "vlr$$" "$LS"
	run --separate-stderr as "$u1" 077 acquire -o u1vm "$A"
	assert_success
	local h
	h=$(holder_pids)
	# The record, like the lock file and .holders, has the group's mode.
	[ "$(stat -c %a "$LS/.holders/$h")" = 640 ]
	[ "$(stat -c %a "$LS/$(lock_name "$A")")" = 660 ]
	[ "$(stat -c %a "$LS/.holders")" = 2770 ]
	# The other member sees the label, and finds the holder by it.
	run --separate-stderr as "$u2" 022 list -r -n -o OWNER,STATUS
	assert_success
	assert_output --partial u1vm
	refute_output --partial norecord
	run --separate-stderr as "$u2" 022 release --owner u1vm
	assert_error 77 "permission denied"
	run busy_now "$A"
	assert_success
	# The holder dies: the other member's prune removes its record.
	kill -KILL "$h"
	wait_for 10 gone "$h"
	run --separate-stderr as "$u2" 022 prune
	assert_success
	[ ! -e "$LS/.holders/$h" ]
	run as "$u2" 022 prune --dry-run
	refute_output --partial ".holders/$h"
	drop_members
}

# only_in_ls NAMES...: the lockspace holds exactly NAMES (sorted, one a line; none when not given).
only_in_ls() {
	assert_equal "$(ls -A "$LS")" "$(printf '%s\n' "$@")"
}

@test "a group lockspace without the setgid bit, or a .holders that does not fit it, is refused for everyone with one line" {
	members "vlg$$" "vlg$$a" "vlg$$b"
	local u1=vlg$$a u2=vlg$$b g=vlg$$ cmd
	LS=$SHARED/ls
	A=$SHARED/a.img
	touch "$A"
	chgrp "$g" "$A"
	chmod 0660 "$A"
	# Without the setgid bit each member's files would get the member's own
	# group: refused at once, before anything is made, for members and root.
	install -d -m 0770 -o root -g "$g" "$LS"
	local want="lockspace $LS: group-writable without the setgid bit; make it setgid (chmod 2770 $LS) or private (chmod 0700 $LS)"
	run --separate-stderr as "$u1" 077 acquire --owner g1 "$A"
	assert_error 77 "$want"
	only_in_ls
	run --separate-stderr as "$u1" 022 acquire --owner g1 "$A" -- true
	assert_error 77 "$want"
	run --separate-stderr as "$u2" 022 list
	assert_error 77 "$want"
	for cmd in list "release -a" "acquire $A -- true"; do
		# shellcheck disable=SC2086 # the words of the command line
		run --separate-stderr tvl $cmd
		assert_error 77 "$want"
	done
	chmod 0775 "$LS"
	run --separate-stderr as "$u1" 022 acquire --owner g1 "$A" -- true
	assert_error 77 "$want"
	only_in_ls
	# A .holders left by an earlier run as one member's, 0700, in a lockspace
	# made setgid since: one line naming it and what to do, the same status
	# for every command and every user, nothing taken.
	chmod 0770 "$LS"
	runuser -u "$u1" -- mkdir -m 0700 "$LS/.holders"
	chmod 2770 "$LS"
	local hwant=("holder records $LS/.holders" "mode 0700" "do not fit the group lockspace"
		"rm -r $LS/.holders" "chgrp $g $LS/.holders && chmod 2770 $LS/.holders")
	for cmd in "acquire --owner g1 $A" "acquire $A -- true" list "release -a" "release --owner g1" prune \
		"inspect $A"; do
		# shellcheck disable=SC2086
		run --separate-stderr as "$u1" 022 $cmd
		assert_error 77 "${hwant[@]}"
		# shellcheck disable=SC2086
		run --separate-stderr as "$u2" 022 $cmd
		assert_error 77 "${hwant[@]}"
		# shellcheck disable=SC2086
		run --separate-stderr tvl $cmd
		assert_error 77 "${hwant[@]}"
	done
	only_in_ls .holders
	# What it says to do mends it for everyone.
	chgrp "$g" "$LS/.holders"
	chmod 2770 "$LS/.holders"
	run --separate-stderr as "$u1" 077 acquire --owner g1 "$A"
	assert_success
	run --separate-stderr as "$u2" 022 list -r -n -o OWNER
	assert_success
	assert_output g1
	run --separate-stderr tvl release -a
	assert_success
	wait_for 10 no_process_of "$u1"
	drop_members
}

@test "release --handoff: a holder that refuses after the checks: the token of the others, and a line naming both" {
	tvl acquire --literal real-lease
	fake_holder badcode fake-lease vm-fake
	run --separate-stderr tvl release --handoff --literal real-lease fake-lease
	assert_failure 71
	[[ $output =~ ^vlh1:f:$(lock_name_literal real-lease)=[0-9a-f]+$ ]]
	[ "${#stderr_lines[@]}" -eq 2 ]
	[[ ${stderr_lines[0]} == "virlock: fake-lease: holder $FAKE: "* ]]
	assert_equal "${stderr_lines[1]}" \
		"virlock: release: handed off real-lease, whose token is printed; not handed off: fake-lease"
	local tok=$output
	run tvl acquire --literal --expect-state "$tok" real-lease -- true
	assert_success
	stop_fake
}
