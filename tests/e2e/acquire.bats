#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# acquire.bats: virlock acquire with real processes: supervisors, detached holders, hotplug.

# shellcheck disable=SC2016,SC2030,SC2031 # child scripts in single quotes; each test is a subshell
bats_require_minimum_version 1.5.0

load helpers
load acquire_helpers

setup() {
	common_setup
	touch "$WORK/a.img" "$WORK/b.img"
	A=$WORK/a.img
	B=$WORK/b.img
}

teardown() {
	cleanup_processes
}

# --- options and usage ---

@test "acquire --help shows usage, a description, the options and the man page" {
	run vl acquire --help
	assert_success
	assert_line --index 0 --partial "Usage: virlock acquire"
	assert_line --index 1 --partial "Take locks"
	assert_output --partial "--conflict-exit-code"
	assert_output --partial "--for-pid"
	assert_line "See virlock(1)."
}

@test "acquire --usage and --version answer and exit 0" {
	run vl acquire --usage
	assert_success
	assert_output --partial "virlock acquire"
	run vl acquire --version
	assert_success
	assert_output --regexp '^virlock [0-9]+\.[0-9]+\.[0-9]+ \(liblockspace [0-9.]+\)$'
}

@test "acquire usage errors exit 64 with one line naming the problem" {
	run vl acquire
	assert_failure 64
	assert_output --partial "no resource given"
	run vl acquire --bogus "$A"
	assert_failure 64
	run vl acquire "$A" --
	assert_failure 64
	assert_output --partial "no command after '--'"
	run vl acquire -E 300 "$A" -- true
	assert_failure 64
	run vl acquire --no-kill "$A"
	assert_failure 64
	run vl acquire --for-pid $$ "$A" -- true
	assert_failure 64
	run vl acquire -o "$(printf 'a\nb')" "$A" -- true
	assert_failure 64
	run vl acquire -w 1e12 "$A" -- true
	assert_failure 64
}

@test "acquire of a missing file exits 66 and names it" {
	run vl acquire "$WORK/missing.img" -- true
	assert_failure 66
	assert_output --partial "$WORK/missing.img"
}

# --- the supervisor ---

@test "a supervised command runs with the lock held and its status is returned" {
	run vl acquire "$A" -- sh -c '"$1" -L "$2" acquire -n "$3" -- true; echo "inner=$?"; exit 3' sh \
		"$VIRLOCK" "$LS" "$A"
	assert_failure 3
	assert_output --partial "inner=75"
	run is_free "$A"
	assert_success
}

@test "the command inherits no lock descriptor" {
	run vl acquire "$A" "$B" -- sh -c 'ls -l /proc/$$/fd/'
	assert_success
	refute_output --partial "$LS"
	refute_output --partial "$A"
}

@test "two spellings of one file are one lock" {
	ln -s "$A" "$WORK/link.img"
	bg_supervise one "$A"
	cd "$WORK"
	run vl acquire -n ./link.img -- true
	assert_failure 75
	run vl acquire -n "$WORK/link.img" -- true
	assert_failure 75
	bg_finish one
	assert_equal "$status" 0
}

@test "a second supervisor with -n gets 75 at once, naming the resource" {
	bg_supervise one "$A"
	local t0=$SECONDS
	run vl acquire -n "$A" -- echo ran
	assert_failure 75
	refute_output --partial "ran"
	assert_output --partial "$A"
	assert_output --partial "virlock inspect"
	[ $((SECONDS - t0)) -le 2 ]
	bg_finish one
	assert_equal "$status" 0
}

@test "-E replaces the busy status" {
	bg_supervise one "$A"
	run vl acquire -E 3 "$A" -- true
	assert_failure 3
	# 0 would read a busy resource as success: a usage error.
	run vl acquire --conflict-exit-code 0 "$A" -- echo ran
	assert_failure 64
	refute_output --partial "ran"
}

@test "several resources are all-or-nothing" {
	bg_supervise one "$B"
	run vl acquire "$A" "$B" -- echo ran
	assert_failure 75
	assert_output --partial "$B"
	run is_free "$A"
	assert_success
}

@test "a second supervisor with -w waits, then runs once the lock is free" {
	bg_supervise one "$A"
	"$VIRLOCK" -L "$LS" acquire -w "$A" -- sh -c 'echo second-ran' >"$WORK/two.out" 2>&1 3>&- &
	local two=$!
	BG_PIDS+=("$two")
	wait_for 10 is_waiting "$two"
	[ ! -s "$WORK/two.out" ]
	bg_finish one
	wait "$two"
	run cat "$WORK/two.out"
	assert_output "second-ran"
}

@test "-w SECONDS and --wait=SECONDS also wait" {
	bg_supervise one "$A"
	"$VIRLOCK" -L "$LS" acquire -w 30 "$A" -- true 3>&- &
	local two=$!
	"$VIRLOCK" -L "$LS" acquire --wait=30 "$A" -- true 3>&- &
	local three=$!
	BG_PIDS+=("$two" "$three")
	wait_for 10 is_waiting "$two"
	wait_for 10 is_waiting "$three"
	bg_finish one
	wait "$two"
	wait "$three"
}

@test "-w 0.5 times out with 75 after half a second" {
	bg_supervise one "$A"
	local t0
	t0=$(date +%s%N)
	run vl acquire -w 0.5 "$A" -- echo ran
	local ms=$((($(date +%s%N) - t0) / 1000000))
	assert_failure 75
	refute_output --partial "ran"
	assert_output --partial "still busy after 0.5 seconds"
	[ "$ms" -ge 450 ]
	[ "$ms" -lt 5000 ]
	run vl acquire -w 0.2 -E 9 "$A" -- true
	assert_failure 9
}

@test "SIGTERM ends a wait at once with 128+15 and nothing held" {
	bg_supervise one "$A"
	"$VIRLOCK" -L "$LS" acquire -w "$A" "$B" -- echo ran >"$WORK/two.out" 2>&1 3>&- &
	local two=$! rc=0
	BG_PIDS+=("$two")
	wait_for 10 is_waiting "$two"
	kill -TERM "$two"
	wait "$two" || rc=$?
	assert_equal "$rc" 143
	run cat "$WORK/two.out"
	assert_output --partial "interrupted by SIGTERM"
	refute_output --partial "ran"
	run is_free "$B"
	assert_success
}

@test "SIGINT ends a wait too" {
	bg_supervise one "$A"
	env --default-signal=INT "$VIRLOCK" -L "$LS" acquire -w 60 "$A" -- true >/dev/null 2>&1 3>&- &
	local two=$! rc=0
	BG_PIDS+=("$two")
	wait_for 10 is_waiting "$two"
	kill -INT "$two"
	wait "$two" || rc=$?
	assert_equal "$rc" 130
}

@test "shared and shared succeed, shared and exclusive conflict" {
	bg_supervise one -s "$A"
	run vl acquire -s "$A" -- true
	assert_success
	run vl acquire --shared "$A" -- true
	assert_success
	run vl acquire -x "$A" -- true
	assert_failure 75
	run vl acquire "$A" -- true
	assert_failure 75
	bg_finish one
	bg_supervise two -x "$A"
	run vl acquire -s "$A" -- true
	assert_failure 75
	bg_finish two
}

@test "a command that is not found exits 127 and holds nothing" {
	run -127 vl acquire "$A" -- "$WORK/no-such-command" arg
	assert_failure 127
	assert_output --partial "no-such-command: command not found"
	run is_free "$A"
	assert_success
}

@test "a command that cannot be run exits 126" {
	printf 'not a program\n' >"$WORK/notexec"
	chmod 0644 "$WORK/notexec"
	run vl acquire "$A" -- "$WORK/notexec"
	assert_failure 126
	assert_output --partial "cannot run"
	run is_free "$A"
	assert_success
}

@test "a child killed by a signal gives 128+N" {
	run vl acquire "$A" -- sh -c 'kill -KILL $$'
	assert_failure 137
	run vl acquire "$A" -- sh -c 'kill -SEGV $$'
	assert_failure 139
	run is_free "$A"
	assert_success
}

@test "signals sent to the supervisor reach the child" {
	local sig rc
	for sig in TERM INT HUP QUIT USR1 USR2; do
		rm -f "$WORK/got" "$WORK/ready"
		env --default-signal=INT,QUIT "$VIRLOCK" -L "$LS" acquire "$A" -- sh -c '
			trap "echo $2 >\"$1/got\"; exit 5" "$2"
			touch "$1/ready"
			while :; do sleep 0.05; done' sh "$WORK" "$sig" >/dev/null 2>&1 3>&- &
		local sv=$!
		BG_PIDS+=("$sv")
		wait_for 10 test -e "$WORK/ready"
		kill "-$sig" "$sv"
		rc=0
		wait "$sv" || rc=$?
		assert_equal "$rc" 5
		run cat "$WORK/got"
		assert_output "$sig"
		run is_free "$A"
		assert_success
	done
}

@test "a terminal's ^C reaches the child, and the supervisor returns the child's status" {
	command -v script >/dev/null || skip "script(1) is missing"
	cd "$WORK"
	{
		wait_for 10 test -e ready
		printf '\003'
		# script ends when its input does: hold it open until the command is done.
		# script runs the command with $SHELL -c: bash, because it goes on after
		# a child that caught the ^C, where dash dies of the SIGINT itself.
		wait_for 10 test -s rc
	} | SHELL=/bin/bash script -qec "'$VIRLOCK' -L '$LS' acquire '$A' -- perl -e '
		\$SIG{INT} = sub { exit 3 };
		open(my \$r, \">\", \"ready\"); close(\$r);
		select(undef, undef, undef, 0.05) while 1'; echo \$? >rc" /dev/null >/dev/null 3>&-
	run cat rc
	assert_output "3"
	run is_free "$A"
	assert_success
}

@test "kill -9 of the supervisor kills the child and frees the lock" {
	bg_supervise one "$A"
	local child
	child=$(cat "$WORK/one.child")
	alive "$child"
	kill -KILL "$(cat "$WORK/one.pid")"
	wait_for 10 gone "$child"
	run is_free "$A"
	assert_success
}

@test "--no-kill lets the child run on after kill -9 of the supervisor" {
	bg_supervise one --no-kill "$A"
	local child
	child=$(cat "$WORK/one.child")
	kill -KILL "$(cat "$WORK/one.pid")"
	wait_for 10 is_free "$A"
	alive "$child"
	touch "$WORK/one.go"
	wait_for 10 gone "$child"
}

@test "a supervisor listens on its control socket while the child runs" {
	bg_supervise one -o vm1 "$A"
	local sv
	sv=$(cat "$WORK/one.pid")
	# The supervisor starts listening once its child runs: wait for it.
	wait_for 10 holder_listening "$sv"
	# On its abstract name: no socket file to make and remove.
	[ ! -e "$LS/.holders/$sv.sock" ]
	bg_finish one
	assert_equal "$status" 0
	[ ! -e "$LS/.holders/$sv.sock" ]
	run holder_listening "$sv"
	assert_failure
}

@test "a supervisor's record names its owner label and its child" {
	bg_supervise one -o vm1 "$A"
	run vl list -o PID,CHILD,OWNER -r -n
	assert_success
	assert_output "$(cat "$WORK/one.pid") $(cat "$WORK/one.child") vm1"
}

@test "the command finds its supervisor's record naming it as the child from its first instruction" {
	# The record is in place before the command runs, and names the child
	# through the kernel's list of the supervisor's children.
	[ -e /proc/thread-self/children ] || skip "this kernel lists no process's children"
	run vl acquire -o vm1 "$A" -- sh -c '"$1" -L "$2" list -o PID,CHILD,OWNER -r -n; grep -x "kernel-child 1" "$2/.holders/$PPID"; echo "$PPID $$"' \
		sh "$VIRLOCK" "$LS"
	assert_success
	assert_equal "${#lines[@]}" 3
	assert_equal "${lines[1]}" "kernel-child 1"
	assert_equal "${lines[0]}" "${lines[2]} vm1"
}

@test "a supervisor with a child from before its exec names the command as its child, never the other" {
	# A shell's background job outlives the exec into virlock: the kernel
	# lists it as virlock's child too, so the record must name the pid.
	cat >"$WORK/cmd.sh" <<'EOF'
for _ in $(seq 400); do
	c=$("$1" -L "$2" list -o CHILD -r -n)
	[ -n "$c" ] && break
	sleep 0.05
done
grep -c '^kernel-child' "$2/.holders/$PPID"
echo "$c $$"
EOF
	run sh -c 'sleep 60 & echo "$!"; exec "$1" -L "$2" acquire -o vmA "$3" -- sh "$4" "$1" "$2"' \
		sh "$VIRLOCK" "$LS" "$A" "$WORK/cmd.sh"
	kill "${lines[0]}" 2>/dev/null || true
	assert_success
	assert_equal "${lines[1]}" 0
	read -r child me <<<"${lines[2]}"
	assert_equal "$child" "$me"
}

@test "--direct locks the file itself and leaves its content alone" {
	printf 'disk image data' >"$A"
	run "$VIRLOCK" --direct acquire "$A" -- sh -c '"$1" --direct acquire -n "$2" -- true; echo "inner=$?"' \
		sh "$VIRLOCK" "$A"
	assert_success
	assert_output --partial "inner=75"
	run cat "$A"
	assert_output "disk image data"
	run "$VIRLOCK" --direct acquire "$A"
	assert_failure 64
}

@test "--direct --for-pid keeps a detached lock on the file itself" {
	sleep 1000 >/dev/null 2>&1 3>&- &
	local p=$!
	BG_PIDS+=("$p")
	"$VIRLOCK" --direct acquire --for-pid "$p" "$A" 3>&-
	run "$VIRLOCK" --direct acquire -n "$A" -- true
	assert_failure 75
	kill "$p"
	wait_for 10 "$VIRLOCK" --direct acquire -n "$A" -- true
}

@test "a label already used by a live holder makes another supervisor busy, naming the holder" {
	bg_supervise one -o vm1 "$A"
	run vl acquire -o vm1 "$B" -- true
	assert_failure 75
	assert_output --partial "owner vm1: in use by holder $(cat "$WORK/one.pid")"
	run vl acquire -E 9 -o vm1 "$B" -- true
	assert_failure 9
	run is_free "$B"
	assert_success
}

# --- the detached holder ---

@test "a detached holder exits 0 only once the lock is held, and keeps it" {
	run vl acquire "$A"
	assert_success
	run is_busy "$A"
	assert_success
	local h
	h=$(holder_pids)
	[ -n "$h" ]
	alive "$h"
	is_virlock "$h"
	run vl release "$A"
	assert_success
	wait_for 10 gone "$h"
	run is_free "$A"
	assert_success
}

@test "a detached holder is detached: own session, cwd /, no descriptors of its caller" {
	(cd "$WORK" && "$VIRLOCK" -L "$LS" acquire ./a.img 5>"$WORK/extra-fd" 3>&-)
	local h
	h=$(holder_pids)
	[ "$(readlink "/proc/$h/cwd")" = / ]
	[ "$(ps -o sid= -p "$h" | tr -d ' ')" = "$h" ]
	run ls -l "/proc/$h/fd/"
	refute_output --partial "extra-fd"
	run is_busy "$A"
	assert_success
}

@test "a detached holder started with stdin and stdout closed still reports to its caller" {
	"$VIRLOCK" -L "$LS" acquire "$A" <&- >&- 3>&-
	run is_busy "$A"
	assert_success
	run vl release "$A"
	assert_success
}

@test "a detached holder that cannot get the lock reports the exact error" {
	bg_supervise one "$A"
	run vl acquire "$A"
	assert_failure 75
	assert_output --partial "$A"
	run vl acquire -E 42 "$B" "$A"
	assert_failure 42
	run vl acquire -w 0.3 "$A"
	assert_failure 75
	assert_output --partial "still busy"
	run holder_pids
	assert_output "$(cat "$WORK/one.pid")"
	run is_free "$B"
	assert_success
}

@test "a detached holder waits with -w, and its caller's SIGTERM stops it" {
	bg_supervise one "$A"
	"$VIRLOCK" -L "$LS" acquire -w "$A" >"$WORK/two.out" 2>&1 3>&- &
	local two=$! rc=0
	BG_PIDS+=("$two")
	wait_for 10 holder_waiting "$two"
	local waiter
	waiter=$(cat "$WORK/waiter")
	kill -TERM "$two"
	wait "$two" || rc=$?
	assert_equal "$rc" 143
	wait_for 10 gone "$waiter"
	bg_finish one
	run is_free "$A"
	assert_success
}

@test "a detached holder with -w gets the lock once it is free" {
	bg_supervise one "$A"
	"$VIRLOCK" -L "$LS" acquire -w 30 "$A" 3>&- &
	local two=$!
	BG_PIDS+=("$two")
	wait_for 10 holder_waiting "$two"
	bg_finish one
	wait "$two"
	run is_busy "$A"
	assert_success
}

@test "kill -9 of a detached holder frees its locks" {
	vl acquire "$A" "$B" 3>&-
	local h
	h=$(holder_pids)
	kill -KILL "$h"
	wait_for 10 gone "$h"
	run is_free "$A" "$B"
	assert_success
	run vl acquire "$A"
	assert_success
}

@test "--for-pid releases when that process exits" {
	sleep 1000 >/dev/null 2>&1 3>&- &
	local p=$!
	BG_PIDS+=("$p")
	run vl acquire --for-pid "$p" "$A"
	assert_success
	run is_busy "$A"
	assert_success
	local h
	h=$(holder_pids)
	kill -TERM "$p"
	wait "$p" || true
	wait_for 10 gone "$h"
	run is_free "$A"
	assert_success
}

@test "--for-pid of a process that does not exist exits 66" {
	sh -c 'exit 0' &
	local p=$!
	wait "$p"
	run vl acquire --for-pid "$p" "$A"
	assert_failure 66
	assert_output --partial "no such process"
	run is_free "$A"
	assert_success
}

@test "a detached holder keeps thousands of locks past the soft descriptor limit" {
	[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 3000 ] || skip "hard open-file limit below 3000"
	# valgrind gives its client a hard limit of the soft one it started with.
	! under_valgrind || skip "valgrind does not let virlock raise its descriptor limit"
	local names
	mapfile -t names < <(seq -f 'lease-%g' 1 2500)
	(ulimit -Sn 1024 && "$VIRLOCK" -L "$LS" acquire --literal "${names[@]}" 3>&-)
	run is_busy --literal lease-1 lease-2500
	assert_success
	run vl release --literal lease-2500
	assert_success
	run is_free --literal lease-2500
	assert_success
	run is_busy --literal lease-1
	assert_success
}

# --- hotplug ---

@test "acquire --owner adds resources to a running supervisor and release drops them" {
	bg_supervise vm -o vm1 "$A"
	local child sv
	child=$(cat "$WORK/vm.child")
	sv=$(cat "$WORK/vm.pid")
	run vl acquire -o vm1 "$B"
	assert_success
	run is_busy "$B"
	assert_success
	# Asked again, in the same mode: nothing to add, and it says so.
	run vl acquire -o vm1 "$B"
	assert_success
	assert_output "virlock: owner vm1: $B: already held by holder $sv (owner vm1); nothing to add"
	run vl -q acquire -o vm1 "$B"
	assert_success
	assert_output ""
	# With another one that it adds: the held one is left out, the other added.
	touch "$WORK/c.img"
	run vl acquire -o vm1 "$B" "$WORK/c.img"
	assert_success
	assert_output "virlock: owner vm1: $B: already held by holder $sv (owner vm1); left out, 1 other added"
	run is_busy "$WORK/c.img"
	assert_success
	run vl release "$WORK/c.img"
	assert_success
	run vl acquire -o vm1 -s "$B"
	assert_failure 75
	assert_output --partial "$B: already held by holder $sv (owner vm1) in exclusive mode"
	run vl release "$B"
	assert_success
	run is_free "$B"
	assert_success
	run is_busy "$A"
	assert_success
	run vl release "$A"
	assert_success
	run is_free "$A"
	assert_success
	alive "$child"
	alive "$sv"
	bg_finish vm
	assert_equal "$status" 0
}

@test "hotplug into a detached holder, shared and literal" {
	vl acquire -o store "$A" 3>&-
	local h
	h=$(holder_pids)
	run vl acquire -o store -s --literal lease-x
	assert_success
	run vl acquire -s --literal lease-x -- true
	assert_success
	run is_busy --literal lease-x
	assert_success
	[ "$(holder_pids)" = "$h" ]
	run vl release --owner store
	assert_success
	wait_for 10 gone "$h"
	run is_free "$A"
	assert_success
}

@test "hotplug of a busy resource is refused, with -E and -w honoured" {
	bg_supervise other "$B"
	vl acquire -o vm1 "$A" 3>&-
	run vl acquire -o vm1 "$B"
	assert_failure 75
	run vl acquire -o vm1 -E 7 "$B"
	assert_failure 7
	run vl acquire -o vm1 -w 0.3 "$B"
	assert_failure 75
	assert_output --partial "still busy"
	bg_finish other
	run is_free "$B"
	assert_success
}

# --- long lockspace paths ---

@test "a lockspace path of 200 characters works for holders, hotplug and release" {
	local d=$BATS_TEST_TMPDIR/
	while [ ${#d} -lt 185 ]; do d+=x; done
	LS=$d/lockspace-dir
	while [ ${#LS} -lt 200 ]; do LS+=y; done
	[ ${#LS} -ge 200 ]
	mkdir -p "$(dirname "$LS")"
	# The socket file, which must not be cut short at 108 bytes.
	LOCKSPACE_CONTROL=file vl acquire -o long "$A" 3>&-
	local h
	h=$(holder_pids)
	[ -S "$LS/.holders/$h.sock" ]
	run vl acquire -o long "$B"
	assert_success
	run is_busy "$B"
	assert_success
	run vl release "$B"
	assert_success
	run vl release --pid "$h"
	assert_success
	wait_for 10 gone "$h"
	run is_free "$A" "$B"
	assert_success
}

# --- the control socket ---

@test "a holder answers garbage on its control socket with an error and goes on" {
	vl acquire "$A" 3>&-
	local h
	h=$(holder_pids)
	run perl -MIO::Socket::UNIX -e '
		for my $req ("hello\n", "acquire q x\n", "release nothex\n", "acquire x %zz\n", "\0\n", "ping\n") {
			(my $peer = $ARGV[0]) =~ s/^@/\0/;
			my $s = IO::Socket::UNIX->new(Peer => $peer) or die "connect: $!";
			print $s $req;
			my $a = <$s>;
			print $a;
		}' "$(control_addr "$h")"
	assert_success
	assert_line --index 0 --partial "err -22"
	assert_line --index 1 --partial "err -22"
	assert_line --index 2 --partial "err -22"
	assert_line --index 3 --partial "err -22"
	assert_line --index 4 --partial "err -22"
	assert_line --index 5 "ok"
	alive "$h"
	run is_busy "$A"
	assert_success
}
