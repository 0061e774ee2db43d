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
	[ -z "$SL_SKIP" ] || skip "$SL_SKIP"
	common_setup
	sanlock_shared_lockspace "$BATS_TEST_TMPDIR"
	LS=$SHARED
	touch "$WORK/disk.img"
	PIDS=()
}

teardown() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	sanlock_hosts_stop
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
