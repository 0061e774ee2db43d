#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# sanlock_lost.bats: a holder whose sanlock daemon dies or is restarted acts at once on what it holds.
#
# Each test kills a daemon, so each starts its own pair (see
# sanlock_helpers.bash): host 1 and host 2 share the lockspace $SHARED.
# Root and the sanlock package are needed.

load helpers
load sanlock_helpers

setup_file() {
	SL_SKIP=$(sanlock_unavailable)
	export SL_SKIP
}

setup() {
	PIDS=()
	common_setup
	touch "$WORK/disk.img"
	# The option's parsing needs no daemon.
	case $BATS_TEST_DESCRIPTION in
	usage:*) return 0 ;;
	esac
	[ -z "$SL_SKIP" ] || skip "$SL_SKIP"
	sanlock_shared_lockspace "$BATS_TEST_TMPDIR"
	LS=$SHARED
}

teardown() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	[ -z "${RUN1:-}" ] || sanlock_hosts_stop
}

# start_bg FILE CMD...: run CMD in the background with its output in FILE; PID is its pid.
start_bg() {
	local out=$1
	shift
	"$@" >"$out" 2>&1 &
	PID=$!
	PIDS+=("$PID")
}

# wait_status PID: wait for the background job PID; RC is its exit status.
wait_status() {
	RC=0
	wait "$1" || RC=$?
}

# leaselost_released: leaselost with "again" on host 1 (stdin the FIFO $WORK/in,
# output in $WORK/out, PID its pid), host 1's daemon killed under it; returns
# once it has released the lost lease and waits for a line on $WORK/in.
leaselost_released() {
	mkfifo "$WORK/in"
	env SANLOCK_RUN_DIR="$RUN1" "$HELPERS/leaselost" "$LS" "$WORK/disk.img" again <>"$WORK/in" >"$WORK/out" 2>&1 &
	PID=$!
	PIDS+=("$PID")
	wait_for 15 grep -q '^ready$' "$WORK/out"
	daemon_kill "$RUN1"
	wait_for 15 grep -q '^released$' "$WORK/out"
}

@test "a library call after the daemon died returns ENOLINK instead of killing the caller with SIGPIPE" {
	start_bg "$WORK/out" env SANLOCK_RUN_DIR="$RUN1" "$HELPERS/leaselost" "$LS" "$WORK/disk.img"
	wait_for 15 grep -q '^ready$' "$WORK/out"
	daemon_kill "$RUN1"
	wait_status "$PID"
	assert_equal "$RC" 0
	run cat "$WORK/out"
	assert_line "held: success"
	assert_line "watch: ready"
	assert_line "lost: the sanlock daemon went away; the leases it kept for this process are lost, and another host may take them"
	assert_line "release: the sanlock daemon went away; the leases it kept for this process are lost, and another host may take them"
}

@test "a library process whose daemon went away is told so when it asks for its records' directory, not given the old host id" {
	leaselost_released
	run cat "$WORK/out"
	assert_line "holders: the sanlock daemon is not running"
	kill "$PID"
}

@test "a library process whose daemon was restarted takes leases again once it released the lost ones" {
	leaselost_released
	daemon_restart "$RUN1" "virlock-test-$$-h1"
	run h1 -q init --backend sanlock --host-id 1
	assert_success
	echo go >"$WORK/in"
	wait_status "$PID"
	run cat "$WORK/out"
	assert_line "release: the sanlock daemon went away; the leases it kept for this process are lost, and another host may take them"
	assert_line "again: success"
	assert_line --index 8 "lost: success"
	assert_equal "$RC" 0
}

# supervise FILE ARGS...: on host 1, a supervisor of ARGS (acquire options,
# resources, -- and a command whose pid goes to $WORK/child) in the
# background, its stderr in FILE; SV its pid, CHILD its child's once it runs.
supervise() {
	local out=$1
	shift
	start_bg "$out" env SANLOCK_RUN_DIR="$RUN1" "$VIRLOCK" -L "$LS" acquire "$@"
	SV=$PID
	wait_for 15 test -s "$WORK/child"
	CHILD=$(cat "$WORK/child")
	wait_for 5 holder_listening "$SV"
}

# lost_said WHAT: the supervisor SV said its locks were lost and WHAT it did,
# in one line, and left no record.
lost_said() {
	run cat "$WORK/err"
	assert_output "virlock: $WORK/disk.img: locks lost: the sanlock daemon went away; $1"
	assert [ ! -e "$LS/.holders/h1/$SV" ]
	assert [ ! -e "$LS/.holders/h1/$SV.sock" ]
	run holder_listening "$SV"
	assert_failure
}

# detach_for_target OPTIONS...: a process TARGET (sleep) and, on host 1, a
# --for-pid holder of it with OPTIONS; HOLDER its pid.
detach_for_target() {
	sleep 120 &
	TARGET=$!
	PIDS+=("$TARGET")
	h1 acquire "$@" --for-pid "$TARGET" "$WORK/disk.img"
	HOLDER=$(holder_pids)
	[ -n "$HOLDER" ]
}

# stopped PID: the process is stopped (SIGSTOP).
stopped() {
	grep -q '^State:.*T' "/proc/$1/status"
}

@test "daemon SIGKILLed under a supervisor: its child is killed at once, the supervisor exits 71 with one line and leaves no record" {
	supervise "$WORK/err" --owner st "$WORK/disk.img" -- sh -c 'echo $$ >"$0"; sleep 120; exit 3' "$WORK/child"
	daemon_kill "$RUN1"
	wait_status "$SV"
	assert_equal "$RC" 71
	gone "$CHILD"
	lost_said "sent SIGKILL to sh (pid $CHILD)"
}

@test "daemon restarted and rejoined: the supervisor killed its child before host 2 can take the lease" {
	supervise "$WORK/err" --owner vmX "$WORK/disk.img" -- sh -c 'echo $$ >"$0"; exec sleep 120' "$WORK/child"
	run h2 acquire --owner vmY "$WORK/disk.img"
	assert_failure 75
	daemon_kill "$RUN1"
	daemon_restart "$RUN1" "virlock-test-$$-h1"
	run h1 -q init --backend sanlock --host-id 1
	assert_success
	# Host 2 takes the lease once host 1's old generation expired: by then
	# vmX's command must be gone (the supervisor acted when the daemon died).
	wait_for 60 h2 acquire --owner vmY "$WORK/disk.img"
	gone "$CHILD"
	wait_status "$SV"
	assert_equal "$RC" 71
	run cat "$WORK/err"
	assert_output --partial "locks lost: the sanlock daemon went away; sent SIGKILL to sh (pid $CHILD)"
	run h1 list -p "$SV"
	assert_output ""
	run h2 release --owner vmY
	assert_success
}

@test "a supervisor whose locks were all released lets its child run on when the daemon dies, and exits with its status" {
	mkfifo "$WORK/go"
	supervise "$WORK/err" --owner rel "$WORK/disk.img" -- sh -c 'echo $$ >"$0"; read -r x <"$1"; exit 3' "$WORK/child" "$WORK/go"
	run h1 release "$WORK/disk.img"
	assert_success
	daemon_kill "$RUN1"
	# The supervisor sees the connection end; give it the time it takes to act.
	wait_for 5 test -s "$WORK/err" || true
	kill -0 "$CHILD"
	echo go >"$WORK/go"
	wait_status "$SV"
	assert_equal "$RC" 3
	run cat "$WORK/err"
	assert_output ""
}

# restart_h1: host 1's daemon killed, started again and joined again.
restart_h1() {
	daemon_kill "$RUN1"
	daemon_restart "$RUN1" "virlock-test-$$-h1"
	h1 -q init --backend sanlock --host-id 1
}

@test "a lease attached after a release and a daemon restart is watched: the next daemon death kills the child" {
	supervise "$WORK/err" --owner vm "$WORK/disk.img" -- sh -c 'echo $$ >"$0"; exec sleep 120' "$WORK/child"
	run h1 release "$WORK/disk.img"
	assert_success
	restart_h1
	run h1 acquire --attach --owner vm "$WORK/disk.img"
	assert_success
	kill -0 "$CHILD"
	daemon_kill "$RUN1"
	wait_for 10 gone "$CHILD"
	wait_status "$SV"
	assert_equal "$RC" 71
	lost_said "sent SIGKILL to sh (pid $CHILD)"
}

@test "--on-lost=ignore: after a loss, a release and a restart, a new attached lease is watched and its loss acted on" {
	supervise "$WORK/err" --on-lost=ignore --owner vm "$WORK/disk.img" -- sh -c 'echo $$ >"$0"; exec sleep 120' "$WORK/child"
	restart_h1
	wait_for 10 test -s "$WORK/err"
	run h1 release --owner vm
	assert_success
	# The lost lease stays the old generation's until it expires: attach another.
	touch "$WORK/disk2.img"
	run h1 acquire --attach --owner vm "$WORK/disk2.img"
	assert_success
	: >"$WORK/err"
	daemon_kill "$RUN1"
	wait_for 10 grep -q 'locks lost' "$WORK/err"
	kill -0 "$CHILD"
	kill -TERM "$SV"
	wait_status "$SV"
	assert_equal "$RC" 143
}

@test "--on-lost=term: the child gets SIGTERM and its handler runs; the supervisor exits 71" {
	supervise "$WORK/err" --on-lost=term "$WORK/disk.img" -- \
		sh -c 'trap "echo term >\"$0.term\"; exit 7" TERM; echo $$ >"$0"; while :; do sleep 0.1; done' "$WORK/child"
	daemon_kill "$RUN1"
	wait_status "$SV"
	assert_equal "$RC" 71
	assert_equal "$(cat "$WORK/child.term")" term
	lost_said "sent SIGTERM to sh (pid $CHILD)"
}

@test "--on-lost=pause: the child is stopped, the record goes; SIGTERM to the supervisor then ends both with 71" {
	supervise "$WORK/err" --on-lost=pause "$WORK/disk.img" -- sh -c 'echo $$ >"$0"; exec sleep 120' "$WORK/child"
	daemon_kill "$RUN1"
	wait_for 10 stopped "$CHILD"
	wait_for 10 test ! -e "$LS/.holders/h1/$SV"
	lost_said "stopped sh (pid $CHILD) with SIGSTOP; kill it, or continue it with SIGCONT once it may write again"
	kill -0 "$SV"
	kill -TERM "$SV"
	wait_status "$SV"
	assert_equal "$RC" 71
	gone "$CHILD"
}

@test "--on-lost=ignore: the child runs on and the supervisor says so, then exits with the child's own status" {
	mkfifo "$WORK/go"
	supervise "$WORK/err" --on-lost=ignore "$WORK/disk.img" -- sh -c 'echo $$ >"$0"; read -r x <"$1"; exit 3' "$WORK/child" "$WORK/go"
	daemon_kill "$RUN1"
	wait_for 10 grep -q 'runs on without them' "$WORK/err"
	kill -0 "$CHILD"
	echo go >"$WORK/go"
	wait_status "$SV"
	assert_equal "$RC" 3
	lost_said "sh (pid $CHILD) runs on without them (--on-lost=ignore)"
}

@test "SIGTERM to an --on-lost=ignore supervisor after its daemon died ends it with its child's status, never 141" {
	supervise "$WORK/err" --on-lost=ignore "$WORK/disk.img" -- sh -c 'echo $$ >"$0"; exec sleep 120' "$WORK/child"
	daemon_kill "$RUN1"
	wait_for 10 grep -q 'runs on without them' "$WORK/err"
	kill -TERM "$SV"
	wait_status "$SV"
	assert_equal "$RC" 143
	assert [ ! -e "$LS/.holders/h1/$SV" ]
}

@test "a --for-pid holder kills its process when the daemon dies (default), and ends without a record" {
	detach_for_target
	daemon_kill "$RUN1"
	wait_for 10 gone "$HOLDER"
	wait_status "$TARGET"
	assert_equal "$RC" 137
	assert [ ! -e "$LS/.holders/h1/$HOLDER" ]
}

@test "a --for-pid holder with --on-lost=ignore leaves its process running" {
	detach_for_target --on-lost=ignore
	daemon_kill "$RUN1"
	wait_for 10 gone "$HOLDER"
	kill -0 "$TARGET"
	assert [ ! -e "$LS/.holders/h1/$HOLDER" ]
}

@test "a plain detached holder drops its record and exits when the daemon dies" {
	run h1 acquire --owner vm1 "$WORK/disk.img"
	assert_success
	holder=$(holder_pids)
	[ -n "$holder" ]
	daemon_kill "$RUN1"
	wait_for 10 gone "$holder"
	assert [ ! -e "$LS/.holders/h1/$holder" ]
}

@test "usage: --on-lost: a bad value or no command and no --for-pid is a usage error (64); with fcntl it is accepted" {
	run "$VIRLOCK" -L "$LS" acquire --on-lost=bogus "$WORK/disk.img" -- true
	assert_failure 64
	assert_output "virlock: acquire: --on-lost bogus: unknown policy; give kill, term, pause or ignore"
	run "$VIRLOCK" -L "$LS" acquire --on-lost= "$WORK/disk.img" -- true
	assert_failure 64
	assert_output "virlock: acquire: --on-lost : unknown policy; give kill, term, pause or ignore"
	run "$VIRLOCK" -L "$LS" acquire --on-lost=pause "$WORK/disk.img"
	assert_failure 64
	assert_output "virlock: acquire: --on-lost applies only with a command after '--' or --for-pid"
	run "$VIRLOCK" -L "$LS" acquire --on-lost pause "$WORK/disk.img" -- sh -c 'exit 5'
	assert_failure 5
	assert_output ""
}

@test "the daemon SIGKILLs a supervisor whose lockspace is removed under it: its child dies with it (parent-death signal)" {
	supervise "$WORK/err" "$WORK/disk.img" -- sh -c 'echo $$ >"$0"; exec sleep 120' "$WORK/child"
	name=$(sed -n 2p "$LS/.backend")
	SANLOCK_RUN_DIR=$RUN1 sanlock client rem_lockspace -s "$name:1:$LS/.lockspace.lease:0" >/dev/null
	wait_status "$SV"
	assert_equal "$RC" 137
	wait_for 10 gone "$CHILD"
}
