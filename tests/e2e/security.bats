#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# security.bats: other users, planted symlinks and hard links, file modes: nothing written outside the lockspace.

# shellcheck disable=SC2030,SC2031 # each test is a subshell
load helpers
load acquire_helpers
load hostile_helpers
bats_require_minimum_version 1.5.0

setup() {
	hostile_setup
	touch "$WORK/a.img" "$WORK/b.img"
	A=$WORK/a.img
	B=$WORK/b.img
	OTHER_USER=
	OTHER_GROUP=
	SHARED=
	GATE_PID=
}

teardown() {
	if [ -n "$GATE_PID" ]; then
		kill "$GATE_PID" 2>/dev/null || true
	fi
	hostile_teardown
	if [ -n "$SHARED" ]; then
		LS=$SHARED/ls cleanup_processes
		rm -rf "$SHARED"
	fi
	if [ -n "$OTHER_USER" ]; then
		# Its holders were ended above, by pid; userdel waits for none.
		wait_for 10 no_process_of "$OTHER_USER" || true
		userdel "$OTHER_USER" 2>/dev/null || true
	fi
	if [ -n "$OTHER_GROUP" ]; then
		groupdel "$OTHER_GROUP" 2>/dev/null || true
	fi
}

# need_other_user [GROUP]: create a second user (in GROUP if given) and a
# directory $SHARED that user can reach, with copies of virlock and fakeholder.
need_other_user() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to create a second user"
	command -v useradd >/dev/null || skip "useradd is missing"
	OTHER_USER=vls$$
	useradd -M -N ${1:+-G "$1"} -s /bin/sh "$OTHER_USER" || skip "cannot create a user"
	SHARED=$(mktemp -d /tmp/virlock-security.XXXXXX)
	chmod 0755 "$SHARED"
	cp "$VIRLOCK" "$SHARED/virlock"
	cp "$HELPERS/fakeholder" "$SHARED/fakeholder"
	chmod 0755 "$SHARED/virlock" "$SHARED/fakeholder"
}

# group_lockspace FILE...: a second user in a new group, and $LS a setgid
# group lockspace (2770) under $SHARED with the image files $SHARED/FILE...
# (0664), all of that group.
group_lockspace() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to create a group and a user"
	command -v groupadd >/dev/null || skip "groupadd is missing"
	OTHER_GROUP=vlg$$
	groupadd "$OTHER_GROUP" || skip "cannot create a group"
	need_other_user "$OTHER_GROUP"
	LS=$SHARED/ls
	mkdir "$LS"
	local f files=()
	for f in "$@"; do
		files+=("$SHARED/$f")
	done
	touch "${files[@]}"
	chgrp "$OTHER_GROUP" "$LS" "${files[@]}"
	chmod 2770 "$LS"
	chmod 0664 "${files[@]}"
}

# no_process_of USER: USER runs nothing.
no_process_of() {
	! pgrep -U "$1" >/dev/null
}

# as_other CMD...: run CMD as the second user, under a deadline.
as_other() {
	timeout -k 5 20 runuser -u "$OTHER_USER" -- "$@" 3>&-
}

# gated TAG CMD...: start CMD in the background, but only once $WORK/TAG.gate
# is written to; its pid (which CMD keeps: it is exec'd) goes to $GATE_PID, so
# that files named after it can be planted first. gate_open TAG lets it run.
gated() {
	local tag=$1
	shift
	mkfifo "$WORK/$tag.gate"
	(
		read -r _ <"$WORK/$tag.gate"
		exec "$@"
	) </dev/null >"$WORK/$tag.out" 2>"$WORK/$tag.err" 3>&- &
	GATE_PID=$!
}

gate_open() {
	fifo_write "$WORK/$1.gate" go
}

@test "another user's raw requests are refused by the holder itself, and change nothing" {
	need_other_user
	LS=$SHARED/ls
	mkdir -m 0700 "$LS"
	tvl acquire -o vm1 "$A"
	local h
	h=$(holder_pids)
	# Its abstract name is open to every process: only the holder's SO_PEERCRED check is left.
	local addr
	addr=$(control_addr "$h")
	[[ "$addr" = @* ]]
	run as_other "$SHARED/fakeholder" client ping "$addr"
	assert_success
	assert_output --partial "err -13"
	assert_output --partial "permission denied"
	run as_other "$SHARED/fakeholder" client garbage "$addr"
	assert_success
	assert_output --partial "err -13"
	run as_other "$SHARED/fakeholder" client nul "$addr"
	assert_success
	assert_output --partial "err -13"
	run busy_now "$A"
	assert_success
	alive "$h"
	# With the default modes the other user does not even reach the socket.
	chmod 0700 "$LS" "$LS/.holders"
	run --separate-stderr as_other "$SHARED/virlock" -L "$LS" release --pid "$h"
	assert_error 77 "$LS"
	run busy_now "$A"
	assert_success
	run tvl release "$A"
	assert_success
	wait_for 10 gone "$h"
	assert_clean
}

@test "a group lockspace is shared by its members: 0660 files, busy across users, holders still private" {
	group_lockspace a.img b.img
	A=$SHARED/a.img
	B=$SHARED/b.img
	run --separate-stderr as_other "$SHARED/virlock" -L "$LS" acquire -o member "$A"
	assert_success
	run busy_now "$A"
	assert_success
	tvl acquire -o rootvm "$B"
	run --separate-stderr as_other "$SHARED/virlock" -L "$LS" acquire -n "$B" -- true
	assert_error 75 "$B"
	# The files are the group's, never the world's.
	run find "$LS" -perm -o+w ! -type s
	assert_output ""
	run find "$LS" -maxdepth 1 -type f ! -perm 0660
	assert_output ""
	[ "$(stat -c %a "$LS/.holders")" = 2770 ]
	# A member cannot release another user's holder.
	run --separate-stderr as_other "$SHARED/virlock" -L "$LS" release "$B"
	assert_error 77 "$B" "permission denied"
	run busy_now "$B"
	assert_success
	run as_other "$SHARED/virlock" -L "$LS" release --owner member
	assert_success
	run tvl release --owner rootvm
	assert_success
	assert_clean "$LS"
}

@test "in a group lockspace root releases and hotplugs a member's holder; the peer is checked against the kernel" {
	group_lockspace a.img b.img c.img
	A=$SHARED/a.img
	B=$SHARED/b.img
	local C=$SHARED/c.img h
	run --separate-stderr as_other "$SHARED/virlock" -L "$LS" acquire -o u1vm "$A"
	assert_success
	h=$(holder_pids)
	[ "$(stat -c %U "/proc/$h")" = "$OTHER_USER" ]
	# Root hotplugs into the member's holder, and releases by owner.
	run --separate-stderr tvl acquire -o u1vm "$B"
	assert_success
	run tvl list -n -r -o PID,OWNER
	assert_equal "$(sort -u <<<"$output")" "$h u1vm"
	run --separate-stderr tvl release --owner u1vm
	assert_success
	wait_for 10 gone "$h"
	# And with --all, and by resource.
	run --separate-stderr as_other "$SHARED/virlock" -L "$LS" acquire -o u1vm "$A"
	assert_success
	h=$(holder_pids)
	run --separate-stderr tvl release "$A"
	assert_success
	wait_for 10 gone "$h"
	run --separate-stderr as_other "$SHARED/virlock" -L "$LS" acquire -o u1vm "$C"
	assert_success
	h=$(holder_pids)
	run --separate-stderr tvl release --all
	assert_success
	wait_for 10 gone "$h"
	# A member's label is the member's holder's alone, across users too.
	# On a socket file (LOCKSPACE_CONTROL=file), which can be planted over below.
	run --separate-stderr as_other env LOCKSPACE_CONTROL=file "$SHARED/virlock" -L "$LS" acquire -o u1vm "$A"
	assert_success
	h=$(holder_pids)
	run --separate-stderr tvl acquire -o u1vm "$B" -- true
	assert_error 75 "owner u1vm" "in use by holder $h"
	# A socket planted under the holder's name, leading to another process
	# that would lie, is refused: its peer is not the pid the kernel names.
	fake_holder lie lease-fake
	mv "$LS/.holders/$h.sock" "$LS/.holders/$h.sock.real"
	ln -s "$FAKE.sock" "$LS/.holders/$h.sock"
	run --separate-stderr tvl release --owner u1vm
	assert_failure
	run busy_now "$A"
	assert_success
	stop_fake
	rm "$LS/.holders/$h.sock"
	mv "$LS/.holders/$h.sock.real" "$LS/.holders/$h.sock"
	run --separate-stderr tvl release --owner u1vm
	assert_success
	wait_for 10 gone "$h"
	assert_clean "$LS"
}

@test "in a group lockspace a member's fake holder of a label cannot make root's hotplug claim success" {
	group_lockspace a.img b.img
	A=$SHARED/a.img
	B=$SHARED/b.img
	run --separate-stderr as_other "$SHARED/virlock" -L "$LS" acquire -o setup "$A" -- true
	assert_success
	# The member claims the label vm1 with a raw lock on its label file, and
	# answers "ok" to everything on a socket under its own pid.
	local label fake line=
	label=owner.$(printf %s vm1 | md5sum | cut -c1-32)
	as_other touch "$LS/.holders/$label"
	mkfifo "$WORK/fake.out"
	runuser -u "$OTHER_USER" -- "$SHARED/fakeholder" holder lie "$LS" ".holders/$label" \
		>"$WORK/fake.out" 2>"$WORK/fake.err" </dev/null 3>&- &
	BG_PIDS+=("$!")
	read -r -t 10 line <>"$WORK/fake.out"
	assert_equal "$line" ready
	fake=$(holder_pids)
	BG_PIDS+=("$fake")
	run --separate-stderr tvl acquire --owner vm1 "$B"
	assert_error 71 "owner vm1: $B: holder $fake answered that it holds it, but the kernel does not show it held by that process; do not trust that holder; see 'virlock inspect $B'"
	# Nothing is held, as list says.
	run tvl list -n -r -o PATH
	assert_output ""
	# Whoever can write .holders makes the member's socket lead to root's
	# holder Q, one on a socket file.
	LOCKSPACE_CONTROL=file tvl acquire -o vmq "$A"
	local q holders
	q=$(tvl list --owner vmq -n -r -o PID)
	holders=$(realpath "$LS")/.holders
	rm "$LS/.holders/$fake.sock"
	ln -s "$q.sock" "$LS/.holders/$fake.sock"
	run --separate-stderr tvl acquire --owner vm1 "$B"
	assert_error 71 "owner vm1: holder $fake: another process answers on its control socket; nothing was added; check $holders/$fake.sock"
	run tvl list -n -r -o PATH,OWNER
	assert_output "$A vmq"
	rm "$LS/.holders/$fake.sock"
	run tvl release --owner vmq
	assert_success
	kill -TERM "$fake"
	wait_for 10 gone "$fake"
	assert_clean "$LS"
}

@test "a lock file planted as a symlink to a file outside is never followed" {
	echo victim >"$VICTIM"
	touch -d '2001-01-01' "$VICTIM"
	local before name
	before=$(file_state "$VICTIM")
	name=$(lock_name "$A")
	ln -s "$VICTIM" "$LS/$name"
	run tvl acquire "$A" -- true
	assert_failure 65
	run tvl acquire -s "$A"
	assert_failure 65
	run tvl list -a -J
	assert_success
	run tvl inspect "$A"
	assert_success
	# prune keeps it, and says so (65).
	run --separate-stderr tvl prune
	assert_failure 65
	assert_output "removed 0 free lock files and 0 stale holder files"
	[ -L "$LS/$name" ]
	run tvl release "$A"
	assert_failure 66
	assert_equal "$(file_state "$VICTIM")" "$before"
	# Also a symlink to a file that does not exist yet: never created through it.
	rm "$LS/$name"
	ln -s "$WORK/created" "$LS/$name"
	run tvl acquire "$A" -- true
	assert_failure 65
	[ ! -e "$WORK/created" ]
	rm "$LS/$name"
	assert_clean
}

@test "holder records planted as symlinks (.holders/PID, .holders/.PID.tmp, PID.sock) are never followed" {
	echo victim >"$VICTIM"
	touch -d '2001-01-01' "$VICTIM"
	local before pid round
	before=$(file_state "$VICTIM")
	mkdir -m 0700 "$LS/.holders"
	for round in plain with-tmp; do
		# A supervisor whose pid is known before it writes its record.
		rm -f "$WORK/sv.out" "$WORK/sv.gate" "$WORK/sv.stop"
		mkfifo "$WORK/sv.stop"
		# shellcheck disable=SC2016 # the child's script, expanded by the child
		# On a socket file (LOCKSPACE_CONTROL=file): the link in its place must not be followed.
		gated sv env LOCKSPACE_CONTROL=file "$VIRLOCK" -L "$LS" acquire -o vm1 "$A" -- sh -c 'echo held; read -r _ <"$1"' sh "$WORK/sv.stop"
		pid=$GATE_PID
		ln -s "$VICTIM" "$LS/.holders/$pid"
		ln -s "$VICTIM" "$LS/.holders/$pid.sock"
		if [ $round = with-tmp ]; then
			ln -s "$VICTIM" "$LS/.holders/.$pid.tmp"
		fi
		gate_open sv
		wait_for 10 test -s "$WORK/sv.out"
		# Its record and socket come while the child starts.
		wait_for 10 holder_listening "$pid"
		run busy_now "$A"
		assert_success
		run tvl list -J
		assert_success
		local owner
		owner=$(jq -r '.locks[0].owner' <<<"$output")
		run tvl inspect "$A"
		assert_success
		# The record and the socket took the links' places, and work: a
		# planted temporary record is removed, never written through.
		assert_equal "$owner" vm1
		[ -f "$LS/.holders/$pid" ] && [ -S "$LS/.holders/$pid.sock" ]
		run tvl release --owner vm1
		assert_success
		run tvl prune
		assert_success
		fifo_write "$WORK/sv.stop" stop
		wait_for 10 gone "$pid"
		assert_equal "$(file_state "$VICTIM")" "$before"
	done
	run tvl prune
	assert_success
	run find "$LS" -type l
	assert_output ""
	run tvl acquire "$A" -- true
	assert_success
	assert_equal "$(file_state "$VICTIM")" "$before"
	assert_clean
}

@test "a library holder's records are never written through planted symlinks either" {
	echo victim >"$VICTIM"
	touch -d '2001-01-01' "$VICTIM"
	local before pid
	before=$(file_state "$VICTIM")
	mkdir -m 0700 "$LS/.holders"
	gated lh "$HELPERS/lockhold" -o vm1 -l "$LS" lease-1
	pid=$GATE_PID
	ln -s "$VICTIM" "$LS/.holders/.$pid.tmp"
	ln -s "$VICTIM" "$LS/.holders/$pid"
	gate_open lh
	wait_for 10 test -s "$WORK/lh.out" || wait_for 10 gone "$pid"
	kill -TERM "$pid" 2>/dev/null || true
	wait_for 10 gone "$pid"
	run tvl prune
	assert_success
	assert_equal "$(file_state "$VICTIM")" "$before"
	assert_clean
}

@test "a .holders that is a symlink to a directory outside is refused, and nothing is written there" {
	local outside=$BATS_TEST_TMPDIR/outside/dir
	mkdir -p "$outside"
	chmod 0700 "$outside"
	ln -s "$outside" "$LS/.holders"
	run --separate-stderr tvl acquire -o vm1 "$A" -- true
	assert_error 71 "$LS"
	run --separate-stderr tvl acquire "$A"
	assert_failure
	run --separate-stderr tvl list
	assert_failure
	run --separate-stderr tvl prune
	assert_failure
	run --separate-stderr tvl release --all
	assert_failure
	run ls -A "$outside"
	assert_output ""
	rm "$LS/.holders"
	assert_clean
}

@test "root refuses a lockspace a user owns, and touches nothing in it" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to give a directory to another user"
	echo victim >"$VICTIM"
	local before name
	before=$(file_state "$VICTIM")
	name=$(lock_name "$A")
	# The user prepared a lock file that points out of the lockspace.
	ln -s "$VICTIM" "$LS/$name"
	chown -h nobody "$LS" "$LS/$name"
	local cmd
	for cmd in "acquire $A -- true" "acquire -o vm1 $A" list prune "release --all" "inspect $A"; do
		# shellcheck disable=SC2086 # the words of the command line
		run --separate-stderr tvl $cmd
		assert_error 77 "lockspace $LS" "owned by another user"
	done
	run --separate-stderr env VIRLOCK_LOCKSPACE="$LS" "$VIRLOCK" acquire "$A" -- true
	assert_error 77 "lockspace $LS"
	run find "$LS" -mindepth 1 ! -name "$name"
	assert_output ""
	assert_equal "$(file_state "$VICTIM")" "$before"
	chown root "$LS"
	rm "$LS/$name"
	assert_clean
}

@test "a lock file planted as a hard link to an empty file outside is never written" {
	: >"$VICTIM"
	touch -d '2001-01-01' "$VICTIM"
	local before
	before=$(file_state "$VICTIM")
	ln "$VICTIM" "$LS/$(lock_name "$A")"
	run tvl acquire "$A" -- true
	assert_equal "$(file_state "$VICTIM")" "$before"
	run tvl prune
	assert_success
	assert_clean
}

@test "a temporary record planted as a hard link to a file outside is never truncated nor written" {
	echo victim >"$VICTIM"
	touch -d '2001-01-01' "$VICTIM"
	local before pid
	before=$(file_state "$VICTIM")
	mkdir -m 0700 "$LS/.holders"
	gated sv "$VIRLOCK" -L "$LS" acquire -o vm1 "$A" -- true
	pid=$GATE_PID
	ln "$VICTIM" "$LS/.holders/.$pid.tmp"
	gate_open sv
	wait_for 10 gone "$pid"
	assert_equal "$(file_state "$VICTIM")" "$before"
	run tvl prune
	assert_success
	assert_clean
}

@test "release never follows a planted control socket symlink to another holder" {
	# Holder Q holds A, listening on a socket file (LOCKSPACE_CONTROL=file);
	# process P holds B with a raw fcntl lock and no socket.
	LOCKSPACE_CONTROL=file tvl acquire -o vmq "$A"
	local q name
	q=$(holder_pids)
	name=$(lock_name "$B")
	printf %s "$(realpath "$B")" >"$LS/$name"
	raw_hold "$LS/$name"
	# Whoever can write .holders makes P's socket lead to Q's.
	ln -s "$q.sock" "$LS/.holders/$FAKE.sock"
	local holders
	holders=$(realpath "$LS")/.holders
	run --separate-stderr tvl release --pid "$FAKE"
	assert_failure 71
	assert_equal "$stderr" "virlock: pid $FAKE: holder $FAKE: another process answers on its control socket; nothing was released; check $holders/$FAKE.sock"
	run --separate-stderr tvl release "$B"
	assert_failure 71
	assert_equal "$stderr" "virlock: $B: holder $FAKE: another process answers on its control socket; nothing was released; check $holders/$FAKE.sock"
	# Q must still hold A: the request was P's, not Q's.
	run busy_now "$A"
	assert_success
	alive "$q"
	rm "$LS/.holders/$FAKE.sock"
	stop_fake
	run tvl release --all
	assert_success
	assert_clean
}

# tour LS2: every command, leaving holders running in $LS and LS2 (made with its parents).
tour() {
	tvl init
	tvl acquire -o vm1 "$A"
	tvl acquire -s --literal lease-s
	tvl acquire -o vm1 "$B"
	run tvl acquire -s --literal lease-s -- true
	assert_success
	tvl hash "$A" >/dev/null
	tvl inspect "$A" >/dev/null
	tvl list -a >/dev/null
	VIRLOCK_LOCKSPACE=$1 tvl_bare acquire --literal lease-d
}

untour() {
	tvl release --literal lease-s
	tvl release --owner vm1
	VIRLOCK_LOCKSPACE=$1 tvl_bare release --literal lease-d
	tvl prune
}

@test "no file or directory is created world-writable, whatever the umask (0000 here)" {
	umask 0000
	local ls2=$BATS_TEST_TMPDIR/deep/er/ls
	# shellcheck disable=SC2034 # read by hostile_teardown
	LS2=$ls2
	rmdir "$LS"
	tour "$ls2"
	run find "$LS" "$BATS_TEST_TMPDIR/deep" -perm -o+w ! -type s
	assert_output ""
	run find "$LS" "$ls2" -type f ! -perm 0600
	assert_output ""
	untour "$ls2"
	run find "$LS" "$BATS_TEST_TMPDIR/deep" -perm -o+w
	assert_output ""
	[ "$(stat -c %a "$LS")" = 700 ]
	[ "$(stat -c %a "$LS/.holders")" = 700 ]
	[ "$(stat -c %a "$ls2")" = 700 ]
	assert_clean
	assert_clean "$ls2"
}

@test "control sockets are not created world-writable, whatever the umask (0000 here)" {
	umask 0000
	# Socket files, not abstract names (which have no mode).
	export LOCKSPACE_CONTROL=file
	local ls2=$BATS_TEST_TMPDIR/deep/er/ls
	# shellcheck disable=SC2034 # read by hostile_teardown
	LS2=$ls2
	rmdir "$LS"
	tour "$ls2"
	run find "$LS" "$ls2" -type s
	[ "${#lines[@]}" -eq 3 ]
	run find "$LS" "$ls2" -type s -perm -o+w
	assert_output ""
	untour "$ls2"
	assert_clean
	assert_clean "$ls2"
}

# predictable_name PID START: the abstract name a holder of an earlier
# version listened on, made of what anyone can know: the lockspace
# directory's device and inode, the holder's pid and start time.
predictable_name() {
	local dev ino
	read -r dev ino < <(stat -L -c '%d %i' "$LS") || return 1
	printf 'virlock/%x:%x/%s/%s' "$dev" "$ino" "$1" "$2"
}

@test "squatters on the names they can predict get no request: release and hotplug reach the holder on the name its record gives" {
	local pid start old
	rm -f "$WORK/sv.out" "$WORK/sv.gate" "$WORK/sv.stop"
	mkfifo "$WORK/sv.stop"
	# A supervisor whose pid and start time are known before it listens.
	# shellcheck disable=SC2016 # the child's script, expanded by the child
	gated sv "$VIRLOCK" -L "$LS" acquire -o vm1 "$A" -- sh -c 'echo held; read -r _ <"$1"' sh "$WORK/sv.stop"
	pid=$GATE_PID
	start=$(sed 's/.*) //' "/proc/$pid/stat" | cut -d ' ' -f 20)
	old=$(predictable_name "$pid" "$start")
	# One squatter answers on that name, another fills the backlog of the
	# next start time's and never accepts.
	"$HELPERS/fakeholder" squat "$old" >"$WORK/squat.out" 2>"$WORK/squat.err" </dev/null 3>&- &
	local squatter=$!
	BG_PIDS+=("$squatter")
	"$HELPERS/fakeholder" squat "${old%/*}/$((start + 1))" full >"$WORK/full.out" 2>"$WORK/full.err" \
		</dev/null 3>&- &
	local full=$!
	BG_PIDS+=("$full")
	wait_for 10 grep -qx ready "$WORK/squat.out"
	wait_for 10 grep -qx ready "$WORK/full.out"
	gate_open sv
	wait_for 10 test -s "$WORK/sv.out"
	wait_for 10 holder_listening "$pid"
	# It listens on a name of 128 random bits that its record gives, closed
	# to others; no socket file.
	[ ! -e "$LS/.holders/$pid.sock" ]
	run grep -Ec '^control @virlock/[0-9a-f]{32}$' "$LS/.holders/$pid"
	assert_output 1
	run stat -c %a "$LS/.holders/$pid"
	assert_output 600
	# Root's hotplug and release reach the holder itself, at once.
	run --separate-stderr timeout 4 "$VIRLOCK" -L "$LS" acquire --owner vm1 "$B" 3>&-
	assert_success
	run busy_now "$B"
	assert_success
	run --separate-stderr timeout 4 "$VIRLOCK" -L "$LS" release "$A" 3>&-
	assert_success
	run busy_now "$A"
	assert_failure
	run --separate-stderr timeout 4 "$VIRLOCK" -L "$LS" release --owner vm1 3>&-
	assert_success
	run busy_now "$B"
	assert_failure
	# The squatters were never connected to.
	run grep -Ec '^(request|no request)' "$WORK/squat.out"
	assert_output 0
	alive "$full"
	fifo_write "$WORK/sv.stop" stop
	wait_for 10 gone "$pid"
	kill -TERM "$squatter" "$full"
	wait_for 10 gone "$squatter"
	wait_for 10 gone "$full"
	assert_clean
}

@test "a holder's record, which gives its control socket's name, is closed to another user" {
	need_other_user
	LS=$SHARED/ls
	mkdir -m 0755 "$LS"
	tvl acquire -o vm1 "$A"
	local h
	h=$(holder_pids)
	run record_control "$LS/.holders/$h"
	assert_output --regexp '^@virlock/[0-9a-f]{32}$'
	run as_other cat "$LS/.holders/$h"
	assert_failure
	refute_output --partial control
	run tvl release --owner vm1
	assert_success
}

# netns_holder ENV...: a supervisor of vm1 on $A in a network namespace of
# its own (unshare -n), with ENV; its pid in $NS_PID once its record lists $A.
netns_holder() {
	unshare -n true 2>/dev/null || skip "cannot make a network namespace"
	rm -f "$WORK/ns.stop"
	mkfifo "$WORK/ns.stop"
	# shellcheck disable=SC2016 # the child's script, expanded by the child
	env "$@" unshare -n "$VIRLOCK" -L "$LS" acquire -o vm1 "$A" -- sh -c 'read -r _ <"$1"' sh "$WORK/ns.stop" \
		</dev/null >"$WORK/ns.out" 2>"$WORK/ns.err" 3>&- &
	NS_PID=$!
	BG_PIDS+=("$NS_PID")
	wait_for 10 grep -q "^lock " "$LS/.holders/$NS_PID"
}

@test "a holder in another network namespace: release and hotplug say so at once (71); with LOCKSPACE_CONTROL=file they reach it" {
	netns_holder
	run grep -c '^control @virlock/' "$LS/.holders/$NS_PID"
	assert_output 1
	local want="owner vm1: holder $NS_PID runs in another network namespace; start it with LOCKSPACE_CONTROL=file"
	run --separate-stderr timeout 4 "$VIRLOCK" -L "$LS" release --owner vm1 3>&-
	assert_error 71 "$want"
	run --separate-stderr timeout 4 "$VIRLOCK" -L "$LS" acquire --owner vm1 -w "$B" 3>&-
	assert_error 71 "$want"
	run busy_now "$A"
	assert_success
	fifo_write "$WORK/ns.stop" stop
	wait_for 10 gone "$NS_PID"
	netns_holder LOCKSPACE_CONTROL=file
	[ -S "$LS/.holders/$NS_PID.sock" ]
	run --separate-stderr timeout 4 "$VIRLOCK" -L "$LS" acquire --owner vm1 "$B" 3>&-
	assert_success
	run --separate-stderr timeout 4 "$VIRLOCK" -L "$LS" release --owner vm1 3>&-
	assert_success
	run busy_now "$A"
	assert_failure
	fifo_write "$WORK/ns.stop" stop
	wait_for 10 gone "$NS_PID"
	assert_clean
}

@test "a user who may only read the lockspace is told that a pending hand-off keeps a shared acquire from it" {
	need_other_user
	LS=$SHARED/ls
	mkdir -m 0755 "$LS"
	touch "$SHARED/a.img"
	chmod 0644 "$SHARED/a.img"
	# Its lock file made, readable by all: without a hand-off the user may take it shared.
	vl acquire "$SHARED/a.img" -- true
	chmod 0644 "$LS/$(lock_name "$SHARED/a.img")"
	chmod 0755 "$LS/.holders"
	run as_other "$SHARED/virlock" -L "$LS" acquire -s "$SHARED/a.img" -- true
	assert_success
	vl acquire "$SHARED/a.img"
	vl release --handoff "$SHARED/a.img" >/dev/null
	run --separate-stderr as_other "$SHARED/virlock" -L "$LS" acquire -s "$SHARED/a.img" -- true
	assert_failure 77
	assert_equal "$stderr" "virlock: $SHARED/a.img: a hand-off of it is pending (release --handoff), which this user may not void; nothing was acquired; the next holder takes it with --expect-state, or its owner or root can take it"
}

# forge PID TEXT: as the second user, replace holder PID's record by TEXT.
forge() {
	as_other sh -c 'rm -f "$1" && printf "%s\n" "$2" >"$1"' sh "$LS/.holders/$1" "$2"
}

@test "a group member who replaces root's holder record sends root's release nowhere: refused at once (65), the lock kept" {
	group_lockspace a.img
	A=$SHARED/a.img
	tvl acquire -o vm1 "$A"
	local h start name
	h=$(holder_pids)
	start=$(sed 's/.*) //' "/proc/$h/stat" | cut -d ' ' -f 20)
	name=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	# .holders is 2770 without a sticky bit: a member may replace root's record.
	forge "$h" "$(printf 'virlock-holder 1\npid %s\nstart %s\ncontrol @virlock/%s\n' "$h" "$start" "$name")"
	[ "$(stat -c %U "$LS/.holders/$h")" = "$OTHER_USER" ]
	# The member listens on the name it wrote, never accepting.
	as_other "$SHARED/fakeholder" squat "virlock/$name" full >"$WORK/sq.out" 2>&1 &
	BG_PIDS+=($!)
	wait_for 10 grep -qx ready "$WORK/sq.out"
	run --separate-stderr tvl release "$A"
	assert_failure 65
	assert_equal "$stderr" "virlock: $A: holder $h: its record in .holders belongs to another user; nothing was released; find who replaced it (a member of the lockspace's group)"
	run busy_now "$A"
	assert_success
	# A record without a start time names no socket of the holder either.
	forge "$h" "$(printf 'virlock-holder 1\npid %s\ncontrol @virlock/%s\n' "$h" "$name")"
	chown root "$LS/.holders/$h"
	run --separate-stderr tvl release "$A"
	assert_failure
	[[ "$stderr" != *"did not answer"* ]]
	run busy_now "$A"
	assert_success
}
