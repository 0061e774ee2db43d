#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# sanlock.bats: fail-over between two sanlock "hosts": a daemon killed while it holds a lease, the other host takes it once it expires.
#
# Two sanlock daemons stand for two hosts (see ../e2e/sanlock_helpers.bash).
# The lease of a dead host expires about 70 s after its daemon died, so the
# test runs only in the long run (STRESS_LONG=1, as make stress sets it).

load ../e2e/helpers
load ../e2e/sanlock_helpers
load stress_helpers

setup_file() {
	local why=
	if [ "${STRESS_LONG:-0}" != 1 ]; then
		why="the sanlock fail-over waits over a minute for a lease to expire; run it with STRESS_LONG=1 (make stress)"
	fi
	sanlock_setup_file "$why"
}

teardown_file() {
	sanlock_hosts_stop
}

setup() {
	sanlock_setup
	touch "$WORK/disk.img"
}

teardown() {
	stress_teardown
}

@test "host 1's daemon killed: its lease is busy on host 2 until it expires, then --wait takes it" {
	local sup daemon killed took secs
	SANLOCK_RUN_DIR=$RUN1 "$VIRLOCK" -L "$LS" acquire --owner vm1 "$WORK/disk.img" -- sleep 1000 \
		</dev/null >/dev/null 2>"$WORK/supervisor.err" 3>&- &
	sup=$!
	bg_track "$sup"
	wait_for 10 h1_holds
	run h2 acquire "$WORK/disk.img" -- true
	assert_failure 75

	daemon=$(daemon_pid "$RUN1")
	kill -KILL "$daemon"
	killed=$(now_ms)
	wait_for 10 gone "$daemon"
	# Nothing fences host 1 (no watchdog): its supervisor sees the daemon go
	# and kills its command at once, but the lease still names host 1 as its
	# owner until it expires.
	wait_for 10 gone "$sup"
	run cat "$WORK/supervisor.err"
	assert_output --partial "locks lost: the sanlock daemon went away; sent SIGKILL to sleep"
	run h2 acquire "$WORK/disk.img" -- true
	assert_failure 75
	assert_output --partial "held by host 1 ("
	run h2 list -r -n -o HOST,MODE
	assert_output "1 exclusive"
	# While host 1's lease goes stale, a try is busy at once: a wait of 20 s
	# ends busy, where one try waiting inside the daemon would have run on
	# until the lease expired, and taken it.
	run h2 acquire -w 20 "$WORK/disk.img" -- true
	assert_failure 75
	assert_output --partial "still busy after 20 seconds"

	# Host 2 waits (retrying every half second) until host 1's host id lease
	# has expired, then takes the lease in a detached holder.
	run h2 acquire -w 180 --owner vm2 "$WORK/disk.img"
	took=$(now_ms)
	assert_success
	secs=$(((took - killed + 500) / 1000))
	diag "host 2 took host 1's lease ${secs} s after host 1's daemon was killed"
	# Not before host 1 counts as dead: 8 io timeouts without a renewal plus
	# the 60 s a watchdog would take to reset it (minus one renewal interval).
	[ "$secs" -ge 60 ] || fail "host 2 took the lease after ${secs} s, before host 1's lease expired"
	run h2 list -r -n -o HOST,OWNER
	assert_output "2 vm2"
	run h2 release --owner vm2
	assert_success
}
