#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# labels.bats: owner labels: one live holder per label, waiting for a label, --attach, hotplugs that wait.

# shellcheck disable=SC2016,SC2030,SC2031 # child scripts in single quotes; each test is a subshell
bats_require_minimum_version 1.5.0

load helpers
load acquire_helpers
load hostile_helpers

setup() {
	hostile_setup
	touch "$WORK/a.img" "$WORK/b.img"
	A=$WORK/a.img
	B=$WORK/b.img
}

teardown() {
	hostile_teardown
}

# sockets_of PID: how many sockets PID has open (a holder: its control
# socket, and one more per hotplug it keeps waiting).
sockets_of() {
	find "/proc/$1/fd" -lname 'socket:*' 2>/dev/null | wc -l
}

# keeps_hotplug PID / keeps_no_hotplug PID: the holder PID keeps a waiting hotplug's connection, or none.
keeps_hotplug() {
	[ "$(sockets_of "$1")" -ge 2 ]
}

keeps_no_hotplug() {
	[ "$(sockets_of "$1")" -eq 1 ]
}

# label_holder LABEL: the pid of the holder that list shows with LABEL.
label_holder() {
	vl list -n -r -o PID,OWNER | awk -v l="$1" '$2 == l { print $1; exit }'
}

# ended_at_least N: N of the starters wrote their status.
ended_at_least() {
	[ "$(find "$WORK" -name 'st.*' | wc -l)" -ge "$1" ]
}

# label_waiter PID: PID, or one of its descendants, is blocked on a lock.
label_waiter() {
	local p
	for p in "$1" $(pgrep -P "$1"); do
		is_waiting "$p" && return 0
	done
	return 1
}

# --- one label, one live holder ---

@test "supervisors started together with one label: exactly one runs, the others are busy naming it" {
	local n=4 round i winners pids status_line
	mkfifo "$WORK/stop"
	for round in 1 2 3 4 5; do
		rm -f "$WORK/runs" "$WORK/gate" "$WORK"/st.*
		mkfifo "$WORK/gate"
		# A writer that stays until we close it, then every starter sees
		# end of file at once: the gate opens for all of them together.
		exec 7<>"$WORK/gate" 8<"$WORK/gate"
		pids=()
		for i in $(seq "$n"); do
			touch "$WORK/r$i.img"
			(
				exec 7>&-
				cat <&8 >/dev/null
				exec 8<&-
				rc=0
				"$VIRLOCK" -L "$LS" acquire --owner dup "$WORK/r$i.img" -- \
					sh -c 'echo "$PPID" >>"$1"; read -r _ <"$2"' sh "$WORK/runs" "$WORK/stop" \
					2>"$WORK/err.$i" || rc=$?
				echo "$rc" >"$WORK/st.$i"
			) 3>&- &
			pids+=("$!")
			BG_PIDS+=("$!")
		done
		exec 8<&- 7>&-
		# The losers end at once; the winner's command waits on the stop fifo.
		wait_for 20 ended_at_least $((n - 1))
		wait_for 10 test -s "$WORK/runs"
		fifo_write "$WORK/stop" stop
		for i in "${pids[@]}"; do
			wait "$i"
		done
		winners=$(grep -l '^0$' "$WORK"/st.* | wc -l)
		[ "$winners" -eq 1 ] || fail "round $round: $winners ran: $(cat "$WORK"/st.*)"
		[ "$(wc -l <"$WORK/runs")" -eq 1 ] || fail "round $round: $(cat "$WORK/runs")"
		for i in $(seq "$n"); do
			status_line=$(cat "$WORK/st.$i")
			if [ "$status_line" != 0 ]; then
				assert_equal "$status_line" 75
				run cat "$WORK/err.$i"
				assert_output "virlock: owner dup: in use by holder $(cat "$WORK/runs"); wait for it with -w, add resources to it without a command, or choose another label"
			fi
		done
	done
	assert_clean
}

@test "detached acquires started together with one new label make one holder that has every resource" {
	local i n=4 pids=()
	mkfifo "$WORK/gate"
	exec 7<>"$WORK/gate" 8<"$WORK/gate"
	for i in $(seq "$n"); do
		touch "$WORK/r$i.img"
		(
			exec 7>&-
			cat <&8 >/dev/null
			exec 8<&-
			"$VIRLOCK" -L "$LS" acquire --owner pool "$WORK/r$i.img"
		) 3>&- &
		pids+=("$!")
	done
	exec 8<&- 7>&-
	for i in "${pids[@]}"; do
		wait "$i"
	done
	run holder_pids
	assert_equal "${#lines[@]}" 1
	run vl list -n -o PID,OWNER -r
	assert_equal "$(sort -u <<<"$output" | wc -l)" 1
	assert_equal "${#lines[@]}" "$n"
	run vl release --owner pool
	assert_success
	assert_clean
}

@test "a label is its live holder's until it ends, even with a stale record and a leftover label file" {
	# A holder killed with SIGKILL leaves its record and its label file.
	vl acquire --owner vm1 "$A" 3>&-
	local h
	h=$(holder_pids)
	kill -KILL "$h"
	wait_for 10 gone "$h"
	run ls -A "$LS/.holders"
	assert_output --partial "owner."
	# The label is free: the kernel let it go with the process.
	run vl acquire --owner vm1 "$B" -- true
	assert_success
	run vl acquire --attach --owner vm1 "$B"
	assert_failure 66
	# prune removes the free label file and the dead holder's files, nothing else.
	run vl prune
	assert_success
	run ls -A "$LS/.holders"
	assert_output ""
	assert_clean
}

@test "prune keeps the label file of a live holder, and list is not confused by it" {
	vl acquire --owner vm1 "$A" 3>&-
	local h
	h=$(holder_pids)
	run vl prune
	assert_success
	run vl list -n -o PID,OWNER -r
	assert_output "$h vm1"
	run vl acquire --owner vm1 "$B" -- true
	assert_failure 75
	assert_output --partial "in use by holder $h"
	run vl release --owner vm1
	assert_success
	wait_for 10 gone "$h"
	# A holder that ends leaves no label file behind.
	run ls -A "$LS/.holders"
	assert_output ""
	assert_clean
}

# --- waiting for a label ---

@test "acquire -w waits for the label of the previous run, within the same deadline" {
	bg_supervise one -o web1 "$A"
	local sv
	sv=$(cat "$WORK/one.pid")
	# Not long enough: busy (75 or -E), naming the holder, nothing held.
	run --separate-stderr vl acquire -w 0.3 -o web1 "$B" -- true
	assert_error 75 "owner web1" "still in use by holder $sv after 0.3 seconds"
	run --separate-stderr vl acquire -w 0.3 -E 3 -o web1 "$B" -- true
	assert_failure 3
	run is_free "$B"
	assert_success
	# Long enough: it waits in the kernel, and runs once the first one ends.
	"$VIRLOCK" -L "$LS" acquire -w 30 -o web1 "$B" -- sh -c 'echo second ran' \
		>"$WORK/second.out" 2>&1 3>&- &
	local second=$!
	BG_PIDS+=("$second")
	wait_for 10 label_waiter "$second"
	alive "$second"
	bg_finish one
	assert_equal "$status" 0
	status=0
	wait "$second" || status=$?
	assert_equal "$status" 0
	run cat "$WORK/second.out"
	assert_output "second ran"
	assert_clean
}

@test "a wait that ends says the seconds as given, in the singular for 1, and names the resource" {
	bg_supervise one -o web1 "$A"
	local sv
	sv=$(cat "$WORK/one.pid")
	run --separate-stderr vl acquire -w 1 -o web1 "$B" -- true
	assert_error 75 "owner web1: still in use by holder $sv after 1 second; nothing is held"
	bg_finish one
	# The label wait takes part of the deadline; the message gives the whole.
	"$VIRLOCK" -L "$LS" acquire -o other "$B"
	run --separate-stderr vl acquire -w 1 -o web1 "$B" -- true
	assert_error 75 "$B: still busy after 1 second, held by " ", owner other, since "
	# A hotplug that times out names what it waited for.
	"$VIRLOCK" -L "$LS" acquire -o hp "$A"
	run --separate-stderr vl acquire -w 1 -o hp "$B"
	assert_error 75 "owner hp: $B: still busy after 1 second;"
	touch "$WORK/c.img"
	run --separate-stderr vl acquire -w 0.2 -o hp "$B" "$WORK/c.img"
	assert_error 75 "owner hp: $B and 1 more: still busy after 0.2 seconds;"
	run vl release --all
	assert_success
}

@test "a wrapper run twice: the second is busy (75) at once, and -E changes the status" {
	bg_supervise first -o vm-web1 "$A"
	run vl acquire -o vm-web1 "$A" -- true
	assert_failure 75
	run vl acquire -E 99 -o vm-web1 "$A" -- true
	assert_failure 99
	bg_finish first
	assert_equal "$status" 0
	run vl acquire -o vm-web1 "$A" -- true
	assert_success
}

# --- --attach ---

@test "acquire -v of a hotplug counts every lock its holder now holds, not only those it asked for" {
	touch "$WORK/c.img"
	vl acquire --owner vh "$A" 3>&-
	local h
	h=$(label_holder vh)
	run --separate-stderr vl -v acquire --owner vh "$B" "$WORK/c.img"
	assert_success
	assert_equal "$stderr" "virlock: 3 locks now held by holder $h (owner vh)"
	run --separate-stderr vl -v acquire --owner vh "$B"
	assert_success
	assert_equal "${stderr_lines[-1]}" "virlock: 3 locks now held by holder $h (owner vh)"
	run vl release --owner vh
	assert_success
	wait_for 10 gone "$h"
	assert_clean
}

@test "acquire --attach adds to the live holder only; a mistyped label holds nothing (66)" {
	vl acquire --owner web1 "$A" 3>&-
	local h
	h=$(holder_pids)
	run --separate-stderr vl acquire --attach --owner wbe1 "$B"
	assert_error 66 "owner wbe1: no live holder"
	run is_free "$B"
	assert_success
	assert_equal "$(holder_pids)" "$h"
	run vl acquire --attach --owner web1 "$B"
	assert_success
	run vl list -n -o PID,OWNER -r
	assert_equal "$(sort -u <<<"$output")" "$h web1"
	assert_equal "${#lines[@]}" 2
	run --separate-stderr vl acquire --attach "$B"
	assert_error 64 "--attach"
	run --separate-stderr vl acquire --attach --owner web1 "$B" -- true
	assert_error 64 "--attach"
	run vl release --owner web1
	assert_success
	wait_for 10 gone "$h"
	assert_clean
}

# --- hotplugs that wait ---

# hotplug_waiting [WAIT]: B held by another supervisor, a holder (pid in $h)
# with owner vmq holding A, and a hotplug of B into it (pid in $hp, output in
# $WORK/hp.out) that waits (-w WAIT, for ever without) inside the holder.
hotplug_waiting() {
	bg_supervise other "$B"
	vl acquire --owner vmq "$A" 3>&-
	h=$(label_holder vmq)
	"$VIRLOCK" -L "$LS" acquire --owner vmq -w ${1:+"$1"} "$B" >"$WORK/hp.out" 2>&1 3>&- &
	hp=$!
	BG_PIDS+=("$hp")
	# The holder has taken the hotplug in: it keeps the connection.
	wait_for 10 keeps_hotplug "$h"
}

@test "a hotplug that waits keeps its holder alive when the holder's last lock is released" {
	local h hp
	hotplug_waiting 12
	run vl release "$A"
	assert_success
	alive "$h"
	alive "$hp"
	bg_finish other
	status=0
	wait "$hp" || status=$?
	assert_equal "$status" 0
	run cat "$WORK/hp.out"
	assert_output ""
	run vl list -n -o PATH,PID,OWNER -r
	assert_output "$B $h vmq"
	run vl release --owner vmq
	assert_success
	wait_for 10 gone "$h"
	assert_clean
}

@test "a hotplug that waits is told plainly when its holder ends" {
	local h hp
	hotplug_waiting 12
	kill -TERM "$h"
	status=0
	wait "$hp" || status=$?
	assert_equal "$status" 66
	run cat "$WORK/hp.out"
	assert_output "virlock: owner vmq: holder $h ended before the resources were free; nothing was added; start a new holder with 'virlock acquire --owner vmq RESOURCE...'"
	wait_for 10 gone "$h"
	bg_finish other
	assert_clean
}

@test "a hotplug that waits in a holder killed with SIGKILL ends 66 and starts no holder" {
	# The kill must land after the holder answered "taken", which nothing
	# outside shows; natively that follows the accept by microseconds, under
	# valgrind by enough that the kill may come first (then the client goes
	# round, as for a request that never reached the holder).
	under_valgrind && skip "valgrind widens the moment before the holder answers 'taken'"
	local h hp
	hotplug_waiting 12
	kill -KILL "$h"
	wait_for 10 gone "$h"
	bg_finish other
	status=0
	wait "$hp" || status=$?
	assert_equal "$status" 66
	run cat "$WORK/hp.out"
	assert_output "virlock: owner vmq: holder $h ended before the resources were free; nothing was added; start a new holder with 'virlock acquire --owner vmq RESOURCE...'"
	run vl list -n -r -o PATH,PID,OWNER
	assert_output ""
	assert_clean
}

@test "a holder forgets a waiting hotplug whose client gave up, then ends with its last lock" {
	# The client dies of SIGTERM inside a read: valgrind's leak check at
	# that death may count the read's buffer, held only in a register, as lost.
	under_valgrind && skip "the client dies by a signal, where valgrind's leak check is not meaningful"
	local h hp
	hotplug_waiting
	kill -TERM "$hp"
	wait "$hp" || true
	wait_for 10 keeps_no_hotplug "$h"
	run vl release "$A"
	assert_success
	wait_for 10 gone "$h"
	run is_busy "$B"
	assert_success
	bg_finish other
	assert_clean
}

@test "a hotplug that waits never makes its holder read /proc/locks" {
	command -v strace >/dev/null || skip "strace is not installed"
	under_valgrind && skip "valgrind's own reads would be traced"
	bg_supervise other "$B"
	vl acquire --owner vmq "$A" 3>&-
	local h
	h=$(label_holder vmq)
	strace -q -f -e trace=open,openat -o "$WORK/trace" -p "$h" 2>"$WORK/strace.err" &
	local st=$!
	BG_PIDS+=("$st")
	# strace is attached once the holder's status says it is traced.
	wait_for 10 grep -q "^TracerPid:[[:space:]]*$st\$" "/proc/$h/status"
	# About 50 retries: the holder times the hotplug out after a second.
	run vl acquire --owner vmq -w 1 "$B"
	assert_failure 75
	kill -INT "$st"
	wait "$st" || true
	run grep -c '/proc/locks' "$WORK/trace"
	assert_output 0
	bg_finish other
	run vl release --owner vmq
	assert_success
	wait_for 10 gone "$h"
	assert_clean
}

# --- a label is free once release returns ---

# rounds N: fewer rounds under valgrind, where each command takes a second.
rounds() {
	if under_valgrind; then echo 5; else echo "$1"; fi
}

@test "release --owner returns once the label is free: a detached acquire of it right after never fails" {
	local i n
	n=$(rounds 100)
	for ((i = 0; i < n; i++)); do
		vl acquire --owner vmr "$A" 3>&- || fail "round $i: the first acquire failed"
		vl release --owner vmr || fail "round $i: release failed"
		run vl acquire --owner vmr "$B" 3>&-
		[ "$status" -eq 0 ] || fail "round $i: acquire right after release: $status: $output"
		vl release --owner vmr || fail "round $i: release of the new holder failed"
	done
	assert_clean
}

@test "release --owner returns once the label is free: a supervised acquire of it right after never fails" {
	local i n
	n=$(rounds 100)
	for ((i = 0; i < n; i++)); do
		vl acquire --owner vmr "$A" 3>&- || fail "round $i: the first acquire failed"
		vl release --owner vmr || fail "round $i: release failed"
		run vl acquire --owner vmr "$B" -- true 3>&-
		[ "$status" -eq 0 ] || fail "round $i: supervised acquire right after release: $status: $output"
	done
	assert_clean
}

@test "a supervised command reaches its own holder at once: a release by its label from it never misses" {
	local i n
	n=$(rounds 30)
	for ((i = 0; i < n; i++)); do
		run vl acquire --owner vmc "$A" -- sh -c \
			'"$1" -L "$2" release --owner vmc' sh "$VIRLOCK" "$LS" 3>&-
		[ "$status" -eq 0 ] || fail "round $i: the command could not reach its holder: $status: $output"
	done
	assert_clean
}

@test "a hotplug racing the release of its holder's last lock adds to it or starts a new holder, never fails" {
	local i n rc
	n=$(rounds 50)
	for ((i = 0; i < n; i++)); do
		vl acquire --owner vmr "$A" 3>&- || fail "round $i: the first acquire failed"
		# One subshell starts both when the gate opens.
		rm -f "$WORK/gate"
		mkfifo "$WORK/gate"
		(
			read -r _ <"$WORK/gate"
			"$VIRLOCK" -L "$LS" release --owner vmr 2>"$WORK/rel.err" &
			echo $! >"$WORK/rel.pid"
			"$VIRLOCK" -L "$LS" acquire --owner vmr "$B" 2>"$WORK/hp.err" &
			local hp=$! rc=0
			wait "$hp" || rc=$?
			echo "$rc" >"$WORK/hp.rc"
			rc=0
			wait "$(cat "$WORK/rel.pid")" || rc=$?
			echo "$rc" >"$WORK/rel.rc"
		) 3>&- &
		local both=$!
		BG_PIDS+=("$both")
		echo go >"$WORK/gate"
		wait "$both"
		# The hotplug must succeed. The release may have come after the
		# hotplug and taken B as well, or before it and found the holder
		# gone: 0 or 66.
		[ "$(cat "$WORK/hp.rc")" = 0 ] ||
			fail "round $i: the hotplug ended $(cat "$WORK/hp.rc"): $(cat "$WORK/hp.err")"
		rc=$(cat "$WORK/rel.rc")
		[ "$rc" = 0 ] || [ "$rc" = 66 ] || fail "round $i: release ended $rc: $(cat "$WORK/rel.err")"
		vl release --all 2>/dev/null || true
		wait_for 10 is_free "$A" "$B" || fail "round $i: something is still held"
	done
	assert_clean
}

# between_tries PID: the child of PID (timeout's virlock) sleeps in clock_nanosleep.
between_tries() {
	local c
	c=$(pgrep -P "$1") && grep -q '^230 ' "/proc/$c/syscall" 2>/dev/null
}

@test "a hotplug whose holder dies and stays a zombie before it listens starts a new holder" {
	bg_supervise other "$B"
	# The supervisor of vmz claims its label, then waits for B; its parent
	# never reaps it, so once killed it stays a zombie.
	sh -c '"$1" -L "$2" acquire --owner vmz -w "$3" -- true 3>&- & echo $! >"$4"; exec sleep 60' \
		sh "$VIRLOCK" "$LS" "$B" "$WORK/z.pid" 3>&- &
	local parent=$!
	BG_PIDS+=("$parent")
	wait_for 10 test -s "$WORK/z.pid"
	local z
	z=$(cat "$WORK/z.pid")
	BG_PIDS+=("$z")
	wait_for 10 is_waiting "$z"
	timeout 20 "$VIRLOCK" -L "$LS" acquire --owner vmz -w "$A" >"$WORK/hp.out" 2>&1 3>&- &
	local hp=$!
	BG_PIDS+=("$hp")
	# The hotplug found no socket yet, and tries again while vmz is z's
	# (clock_nanosleep between tries).
	wait_for 10 between_tries "$hp"
	kill -KILL "$z"
	wait_for 10 grep -q '^State:[[:space:]]*Z' "/proc/$z/status"
	status=0
	wait "$hp" || status=$?
	assert_equal "$status" 0
	run cat "$WORK/hp.out"
	assert_output ""
	run vl list -n -r -o PATH,OWNER
	assert_output "$A vmz
$B -"
	run vl release --owner vmz
	assert_success
	bg_finish other
	kill -KILL "$parent"
	wait "$parent" || true
	assert_clean
}

# in_settle PID: PID sleeps in clock_nanosleep (a claim giving a busy label file a moment).
in_settle() {
	grep -q '^230 ' "/proc/$1/syscall" 2>/dev/null
}

@test "a claim without -w is not busy while a prune holds the free label file for a moment" {
	vl acquire --owner setup "$B" -- true 3>&-
	local label try c lh line rc=
	label=$LS/.holders/owner.$(printf %s vmp | md5sum | cut -c1-32)
	mkfifo "$WORK/lh.out"
	# The prune's moment is short: a try whose moment ended before the
	# claim looked again is tried again, at most 5 times.
	for try in 1 2 3 4 5; do
		: >"$label"
		"$HELPERS/lockhold" -F "$label" >"$WORK/lh.out" 2>"$WORK/lh.err" </dev/null 3>&- &
		lh=$!
		BG_PIDS+=("$lh")
		read -r -t 10 line <>"$WORK/lh.out"
		assert_equal "$line" ready
		"$VIRLOCK" -L "$LS" acquire --owner vmp "$A" -- true 2>"$WORK/claim.err" 3>&- &
		c=$!
		BG_PIDS+=("$c")
		# Like prune: unlink the file while holding it, then let go.
		if wait_for 5 in_settle "$c"; then
			rm -f "$label"
		fi
		kill -TERM "$lh"
		wait "$lh" || true
		rc=0
		wait "$c" || rc=$?
		[ "$rc" -eq 75 ] && grep -q "owner vmp: in use by holder $lh" "$WORK/claim.err" && continue
		break
	done
	assert_equal "$rc" 0
	run cat "$WORK/claim.err"
	assert_output ""
	assert_clean
}

@test "a hotplug with -w N ends within N seconds, the wait for its holder's socket included" {
	under_valgrind && skip "measures seconds"
	touch "$WORK/c.img"
	local C=$WORK/c.img
	bg_supervise other "$B"
	bg_supervise keeper "$C"
	# vmd's supervisor has its label, but listens only once it has B.
	"$VIRLOCK" -L "$LS" acquire --owner vmd -w "$B" -- sleep 60 >/dev/null 2>&1 3>&- &
	local sv=$!
	BG_PIDS+=("$sv")
	wait_for 10 is_waiting "$sv"
	local t0 t1
	t0=$(date +%s%N)
	timeout 20 "$VIRLOCK" -L "$LS" acquire --owner vmd -w 4 "$C" >"$WORK/hp.out" 2>&1 3>&- &
	local hp=$!
	BG_PIDS+=("$hp")
	wait_for 10 between_tries "$hp"
	# Two of the four seconds go on waiting for the socket (a deliberate
	# pause: it is the time under test), then vmd gets B and listens.
	sleep 2
	bg_finish other
	status=0
	wait "$hp" || status=$?
	t1=$(date +%s%N)
	assert_equal "$status" 75
	run cat "$WORK/hp.out"
	assert_output "virlock: owner vmd: $WORK/c.img: still busy after 4 seconds; see 'virlock inspect' for its holder"
	[ $(((t1 - t0) / 1000000)) -lt 5500 ] || fail "took $(((t1 - t0) / 1000000)) ms"
	kill -TERM "$sv"
	wait "$sv" || true
	bg_finish keeper
	assert_clean
}

@test "a label claimed every time by a process the kernel does not name: 75, said on one line" {
	command -v python3 >/dev/null || skip "python3 is not installed"
	vl acquire --owner setup "$B" -- true 3>&-
	local label
	label=$LS/.holders/owner.$(printf %s vmo | md5sum | cut -c1-32)
	: >"$label"
	# An OFD lock: F_GETLK names no pid for it, so the label looks free to
	# the lookup, and busy to every claim.
	mkfifo "$WORK/ofd.out"
	python3 -c '
import fcntl, os, signal, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.fcntl(fd, 37, struct.pack("hhqqi4x", fcntl.F_WRLCK, 0, 0, 1, 0))  # F_OFD_SETLK
print("ready", flush=True)
signal.pause()
' "$label" >"$WORK/ofd.out" 2>"$WORK/ofd.err" </dev/null 3>&- &
	local ofd=$! line=
	BG_PIDS+=("$ofd")
	read -r -t 10 line <>"$WORK/ofd.out"
	assert_equal "$line" ready
	run --separate-stderr vl acquire --owner vmo "$A"
	assert_error 75 "owner vmo: another holder had the label or ended at each of 20 tries; nothing was acquired; see 'virlock list', or try again"
	run is_free "$A"
	assert_success
	kill -TERM "$ofd"
	wait "$ofd" || true
	assert_clean
}

@test "a library process's second handle writes its locks into the labelled record at once, and keeps it on" {
	local pid
	mkfifo "$WORK/in"
	"$HELPERS/twohandles" "$LS" vm7 "$A" "$B" <"$WORK/in" >"$WORK/out" 2>&1 &
	pid=$!
	FAKE=$pid
	exec 4>"$WORK/in"
	wait_for 10 grep -q '^ready$' "$WORK/out"
	run vl list -r -n -o PATH,PID,OWNER
	assert_line "$A $pid vm7"
	assert_line "$B $pid vm7"
	echo release >&4
	wait_for 10 grep -q '^released$' "$WORK/out"
	run vl list -a -r -n -o PATH,MODE,PID
	assert_line "$B free -"
	run vl list --stale -r -n -o PATH,STATUS
	refute_output --partial stale
	# The labelled handle closes: its label goes, and the record with it,
	# since the other handle has nothing to label.
	echo close >&4
	wait_for 10 grep -q '^closed$' "$WORK/out"
	run vl list -a -r -n -o PATH,MODE,PID,OWNER
	assert_line "$A free - -"
	[ ! -e "$LS/.holders/$pid" ]
	exec 4>&-
	wait "$pid"
}
