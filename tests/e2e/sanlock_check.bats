#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# sanlock_check.bats: virlock check of a sanlock lockspace: daemon, membership, host id and name, watchdog.
# shellcheck disable=SC2153 # RUN1 and RUN2 come from sanlock_helpers.bash
#
# Two sanlock daemons stand for two hosts sharing one lockspace directory
# (see sanlock_helpers.bash), run without a watchdog (-w 0), which check
# must call an error; a third one, started by the test that needs it (and
# stopped by its teardown), is a host that has not joined. Root and the sanlock package are needed.

bats_require_minimum_version 1.5.0

load helpers
load sanlock_helpers
load check_helpers

setup_file() {
	sanlock_setup_file
	if [ -z "$SL_SKIP" ]; then
		NAME1=$(SANLOCK_RUN_DIR=$RUN1 sanlock client status -D | sed -n 's/^ *our_host_name=//p')
		export NAME1
	fi
}

teardown_file() {
	sanlock_hosts_stop
}

setup() {
	sanlock_setup
	PIDS=()
}

# The processes a test started, and the third host's daemon if it started one.
teardown() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [ -f "${SL_TOP:-}/run3/sanlock.pid" ]; then
		daemon_kill "$SL_TOP/run3"
		rm -f "$SL_TOP/run3/sanlock.pid"
	fi
}

@test "a joined host: its id, name and io timeout, and a daemon without a watchdog is an error (2)" {
	run -2 h1 check
	finding ok lockspace "sanlock backend"
	finding ok sanlock "joined as host 1 ($NAME1)"
	finding info sanlock "io timeout 1 s"
	finding error watchdog "the sanlock daemon runs without a watchdog: a hung host is not fenced"
	finding ok filesystem "local storage: its leases protect this host only"
	finding ok locks "0 lock files, 0 held"
	run -2 h1 check -J
	jq -e --arg name "$NAME1" '.backend == "sanlock" and .status == "error" and
		.sanlock.daemon == true and .sanlock.host_id == 1 and .sanlock.host_name == $name and
		.sanlock.io_timeout == 1 and .sanlock.watchdog == "off"' <<<"$output"
}

@test "a lease held on another host is counted, and the records of this host judged" {
	local pid
	touch "$WORK/disk.img"
	SANLOCK_RUN_DIR=$RUN2 "$VIRLOCK" -L "$LS" acquire -o vm "$WORK/disk.img" -- sleep 1000 3>&- &
	pid=$!
	PIDS+=("$pid")
	wait_for 30 h1_holds_any
	run -2 h1 check
	finding ok locks "1 lock file, 1 held"
	finding ok records "no stale holder records"
}

# h1_holds_any: host 1 sees a held lease in $LS.
h1_holds_any() {
	h1 list -r -n -o NAME | grep -q .
}

@test "a host whose daemon does not run, and one that has not joined, are errors that say what to do" {
	local top=$SL_TOP
	mkdir -p "$top/nodaemon"
	run -2 env SANLOCK_RUN_DIR="$top/nodaemon" "$VIRLOCK" -L "$LS" check
	finding error sanlock "the sanlock daemon does not run: no lease can be taken or kept; start it"
	local run3=$top/run3
	mkdir -p "$run3"
	daemon_start "$run3" "virlock-test-$$-h3"
	run -2 env SANLOCK_RUN_DIR="$run3" "$VIRLOCK" -L "$LS" check
	finding error sanlock "this host has not joined the lockspace"
	[[ "$output" == *"virlock -L $LS init --backend sanlock --host-id N"* ]]
	run -2 env SANLOCK_RUN_DIR="$run3" "$VIRLOCK" -L "$LS" check -J
	jq -e '.sanlock.daemon == true and .sanlock.host_id == null' <<<"$output"
}

@test "the watchdog is judged from the daemon's command line: -w 0 is off, another -w needs wdmd" {
	local fake=$SL_TOP/fake pid
	[ ! -S /run/wdmd/wdmd.sock ] || skip "wdmd runs on this host"
	mkdir -p "$fake"
	# A process whose command line reads as a daemon's.
	perl -e 'sleep 1000' sanlock daemon -w 1 3>&- &
	pid=$!
	PIDS+=("$pid")
	echo "$pid" >"$fake/sanlock.pid"
	run -2 env SANLOCK_RUN_DIR="$fake" "$VIRLOCK" -L "$LS" check
	finding error watchdog "wdmd does not answer at /run/wdmd/wdmd.sock: a hung host is not fenced"
	perl -e 'sleep 1000' sanlock daemon -w0 3>&- &
	pid=$!
	PIDS+=("$pid")
	echo "$pid" >"$fake/sanlock.pid"
	run -2 env SANLOCK_RUN_DIR="$fake" "$VIRLOCK" -L "$LS" check -J
	jq -e '.sanlock.daemon == false and .sanlock.watchdog == "off"' <<<"$output"
}
