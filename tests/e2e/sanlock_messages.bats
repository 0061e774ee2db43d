#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# sanlock_messages.bats: what release, init and leave say on each host of a sanlock lockspace.
#
# Two sanlock daemons stand for two hosts sharing one lockspace directory
# (see sanlock_helpers.bash); a third one, started by the test that needs
# it, is a host that dies. Root and the sanlock package are needed. Every
# message is checked from the host where the user meets it: its exit
# status, its one line on stderr, and nothing left half-made.

bats_require_minimum_version 1.5.0

load helpers
load sanlock_helpers

setup_file() {
	sanlock_setup_file
	if [ -z "$SL_SKIP" ]; then
		NAME1=$(host_name "$RUN1") NAME2=$(host_name "$RUN2")
		export NAME1 NAME2
	fi
}

teardown_file() {
	if [ -n "${RUN3:-}" ] && [ -f "$RUN3/sanlock.pid" ]; then
		kill -KILL "$(cat "$RUN3/sanlock.pid")" 2>/dev/null || true
	fi
	sanlock_hosts_stop
}

setup() {
	sanlock_setup
	touch "$WORK/disk.img" "$WORK/other.img"
	PIDS=()
}

teardown() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
		wait_for 5 gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
	done
	h1 release --all >/dev/null 2>&1 || true
	h2 release --all >/dev/null 2>&1 || true
}

# host_name RUN: the name the daemon of RUN gives itself (sanlock daemon -e).
host_name() {
	SANLOCK_RUN_DIR=$1 sanlock client status -D | sed -n 's/^ *our_host_name=//p'
}

# one_line STATUS TEXT: the last `run --separate-stderr` exited with STATUS,
# wrote exactly TEXT as one line on stderr, and nothing on stdout.
one_line() {
	assert_equal "$status" "$1"
	assert_equal "${#stderr_lines[@]}" 1
	assert_equal "$stderr" "$2"
	assert_equal "$output" ""
}

@test "release on host 2 of a lease host 1 holds says where it is held; so does release --all" {
	run h1 acquire --owner vmA "$WORK/disk.img"
	assert_success
	run --separate-stderr h2 release "$WORK/disk.img"
	one_line 66 "virlock: $WORK/disk.img: held on host 1 ($NAME1), not on this host; release it there"
	run --separate-stderr h2 release --all
	one_line 66 "virlock: release: this host holds nothing in sanlock lockspace $LS; 1 lease is held on host 1 ($NAME1); release it there"
	# A pid that holds nothing on this host: the daemon, not the kernel, says so.
	run --separate-stderr h2 release --pid 1
	one_line 66 "virlock: pid 1: not a holder in $LS: this host's sanlock daemon shows it holding no lease, and the kernel no label; see 'virlock list'"
	# Nothing was released: host 1 still holds it, and lets go of it there.
	run h1 list -r -n -o OWNER
	assert_output vmA
	run h2 acquire "$WORK/disk.img" -- true
	assert_failure 75
	run h1 release "$WORK/disk.img"
	assert_success
	# Shared on both hosts: host 2 releases its own share, host 1's stays.
	run h1 acquire -s --owner s1 "$WORK/other.img"
	assert_success
	run h2 acquire -s --owner s2 "$WORK/other.img"
	assert_success
	run --separate-stderr h2 release "$WORK/other.img"
	assert_success
	assert_equal "$stderr" ""
	run --separate-stderr h2 release "$WORK/other.img"
	one_line 66 "virlock: $WORK/other.img: held on host 1 ($NAME1), not on this host; release it there"
	run --separate-stderr h2 release --all
	one_line 66 "virlock: release: this host holds nothing in sanlock lockspace $LS; 1 lease is held on host 1 ($NAME1); release it there"
	run h1 release --all
	assert_success
	# With nothing held anywhere, release --all has nothing to say.
	run --separate-stderr h2 release --all
	assert_success
	assert_equal "$stderr" ""
}

@test "a host that has not joined hears it from release, acquire, prune and leave" {
	local pid msg
	LS=$SL_TOP/own-$BATS_TEST_NUMBER
	run h1 -q init --backend sanlock --host-id 1
	assert_success
	run h1 acquire --owner held "$WORK/disk.img"
	assert_success
	pid=$(h1 list -r -n -o PID)
	msg="this host has not joined sanlock lockspace $LS (it holds nothing there); join it with 'virlock -L $LS init --backend sanlock --host-id N'"
	run --separate-stderr h2 release --all
	one_line 71 "virlock: release: $msg"
	run --separate-stderr h2 release --pid "$pid"
	one_line 71 "virlock: release: $msg"
	run --separate-stderr h2 release --owner held
	one_line 71 "virlock: release: $msg"
	run --separate-stderr h2 release "$WORK/disk.img"
	one_line 71 "virlock: release: $msg"
	# The commands that already said so keep saying it in one line, naming
	# the lockspace to join as release does.
	for cmd in "acquire $WORK/other.img" "acquire --owner x $WORK/other.img" "prune" "leave"; do
		# shellcheck disable=SC2086 # the command and its argument
		run --separate-stderr h2 $cmd
		assert_equal "$status" 71
		assert_equal "${#stderr_lines[@]}" 1
		[[ $stderr == *"this host has not joined the sanlock lockspace; join it with 'virlock -L $LS init --backend sanlock --host-id N'" ]]
	done
	run h1 release --all
	assert_success
	run h1 leave
	assert_success
}

@test "init with a host id another host renews is refused at once, naming that host" {
	local start
	LS=$SL_TOP/dup-$BATS_TEST_NUMBER
	run h1 -q init --backend sanlock --host-id 1
	assert_success
	start=$(date +%s)
	run --separate-stderr h2 init --backend sanlock --host-id 1
	# sanlock itself would wait more than a minute before saying so.
	[ $(($(date +%s) - start)) -le 10 ]
	# No "joining" line: the join never started.
	one_line 75 "virlock: init: host id 1 is in use by host $NAME1; choose another with --host-id"
	# Host 2 is not in the lockspace, and joins it with a free id.
	run h2 list -a
	assert_success
	run h2 init --backend sanlock --host-id 2
	assert_success
	assert_output "joining sanlock lockspace $LS as host 2 (takes a few seconds)...
joined sanlock lockspace $LS as host 2"
	run h2 leave
	assert_success
	run h1 leave
	assert_success
}

@test "init with the host id of a host that died says what it waits for before it waits" {
	local top=$SL_TOP/h3-$BATS_TEST_NUMBER name3 joiner
	export RUN3=$top/run3
	mkdir -p "$RUN3"
	daemon_start "$RUN3" "virlock-test-$$-h3"
	name3=$(host_name "$RUN3")
	LS=$top/ls
	SANLOCK_RUN_DIR=$RUN3 "$VIRLOCK" -q -L "$LS" init --backend sanlock --host-id 3
	# Host 3 dies without leaving: its delta lease stays, no longer renewed.
	kill -KILL "$(daemon_pid "$RUN3")"
	wait_for 10 gone "$(daemon_pid "$RUN3")"
	h2 init --backend sanlock --host-id 3 >"$WORK/out" 2>"$WORK/err" 3>&- &
	joiner=$!
	PIDS+=("$joiner")
	wait_for 20 grep -q . "$WORK/out"
	assert_equal "$(cat "$WORK/out")" "host id 3 was last held by host $name3, which stopped renewing it without leaving: joining sanlock lockspace $LS at once if this is $name3's daemon started again, else when its lease expires (up to 74 seconds)..."
	assert_equal "$(cat "$WORK/err")" ""
	# It waits (sanlock's wait is a minute and more): stop it here.
	kill -TERM "$joiner"
	SANLOCK_RUN_DIR=$RUN2 sanlock client rem_lockspace -s "$(sed -n 2p "$LS/.backend"):3:$LS/.lockspace.lease:0" >/dev/null 2>&1 || true
}

@test "init --backend fcntl on a sanlock lockspace is refused; a wrong host id is said once" {
	run --separate-stderr h1 init --backend fcntl
	one_line 64 "virlock: init: lockspace $LS is a sanlock lockspace, not fcntl; join it with 'virlock -L $LS init --backend sanlock --host-id N', or give another directory for fcntl"
	run h1 init
	assert_success
	assert_output "sanlock lockspace $LS exists already"
	run --separate-stderr h2 init --backend sanlock --host-id 5
	one_line 64 "virlock: init: this host joined sanlock lockspace $LS as host 2, not 5; leave it first ('virlock -L $LS leave') to join with another host id"
	# The lockspace is as it was.
	assert_equal "$(head -1 "$LS/.backend")" sanlock
	run h2 -q init --backend sanlock --host-id 2
	assert_success
}

@test "a failed init prints no joining line and leaves no directory it made" {
	mkdir -p "$SL_TOP/nodaemon"
	run --separate-stderr env SANLOCK_RUN_DIR="$SL_TOP/nodaemon" "$VIRLOCK" -L "$SL_TOP/made-$BATS_TEST_NUMBER/a/ls" \
		init --backend sanlock --host-id 1
	assert_equal "$status" 71
	assert_equal "${#stderr_lines[@]}" 1
	[[ $stderr == *"the sanlock daemon is not running; start it first"* ]]
	assert_equal "$output" ""
	[ ! -e "$SL_TOP/made-$BATS_TEST_NUMBER" ]
	# An existing empty directory stays, as it was: an fcntl one, empty.
	mkdir "$SL_TOP/empty-$BATS_TEST_NUMBER"
	run --separate-stderr env SANLOCK_RUN_DIR="$SL_TOP/nodaemon" "$VIRLOCK" -L "$SL_TOP/empty-$BATS_TEST_NUMBER" \
		init --backend sanlock --host-id 1
	assert_equal "$status" 71
	assert_equal "$(ls -A "$SL_TOP/empty-$BATS_TEST_NUMBER")" ""
}

@test "leave while this host holds leases says how many and which pids hold them" {
	local p1 p2
	LS=$SL_TOP/own-$BATS_TEST_NUMBER
	run h1 -q init --backend sanlock --host-id 1
	assert_success
	run h2 -q init --backend sanlock --host-id 2
	assert_success
	run h1 acquire --owner l1 "$WORK/disk.img"
	assert_success
	run h1 acquire --owner l2 "$WORK/other.img"
	assert_success
	run h2 acquire --literal --owner r1 remote-lease
	assert_success
	p1=$(h1 list -r -n -o PID,OWNER | awk '$2 == "l1" { print $1 }')
	p2=$(h1 list -r -n -o PID,OWNER | awk '$2 == "l2" { print $1 }')
	run --separate-stderr h1 leave
	assert_equal "$status" 75
	assert_equal "${#stderr_lines[@]}" 1
	[[ $stderr == "virlock: leave: this host still holds 2 leases in sanlock lockspace $LS (held by pids "* ]]
	[[ $stderr == *"$p1"* && $stderr == *"$p2"* ]]
	[[ $stderr == *"); release them first ('virlock -L $LS release --all'), or end the commands that hold them" ]]
	# Still joined, still holding.
	run h1 list -r -n -o OWNER
	assert_line l1
	run h1 release --owner l1
	assert_success
	run --separate-stderr h1 leave
	one_line 75 "virlock: leave: this host still holds 1 lease in sanlock lockspace $LS (held by pid $p2); release it first ('virlock -L $LS release --all'), or end the commands that hold it"
	run h1 release --all
	assert_success
	run h1 leave
	assert_success
	run h2 release --all
	assert_success
	run h2 leave
	assert_success
}

@test "a host whose daemon was restarted joins again with --host-id alone, at once, told it may be at once" {
	local top=$SL_TOP/re-$BATS_TEST_NUMBER name3
	export RUN3=$top/run3
	mkdir -p "$RUN3"
	daemon_start "$RUN3" "virlock-test-$$-h3"
	name3=$(host_name "$RUN3")
	LS=$top/ls
	SANLOCK_RUN_DIR=$RUN3 "$VIRLOCK" -q -L "$LS" init --backend sanlock --host-id 3
	daemon_kill "$RUN3"
	daemon_restart "$RUN3" "virlock-test-$$-h3"
	PIDS+=("$(daemon_pid "$RUN3")") # teardown ends it if the test fails
	run --separate-stderr env SANLOCK_RUN_DIR="$RUN3" "$VIRLOCK" -L "$LS" init --host-id 3
	assert_success
	assert_equal "$stderr" ""
	assert_equal "${lines[0]}" "host id 3 was last held by host $name3, which stopped renewing it without leaving: joining sanlock lockspace $LS at once if this is $name3's daemon started again, else when its lease expires (up to 74 seconds)..."
	assert_equal "${lines[1]}" "joined sanlock lockspace $LS as host 3"
	# --host-id alone on a directory that is no sanlock lockspace: refused, nothing made.
	run --separate-stderr h1 -L "$top/fcntl" init --host-id 1
	one_line 64 "virlock: init: --host-id 1: only a sanlock lockspace has host ids, and $top/fcntl is not one; give --backend sanlock to make one, or drop --host-id for fcntl"
	[ ! -e "$top/fcntl" ]
	SANLOCK_RUN_DIR=$RUN3 sanlock client shutdown -f 1 >/dev/null 2>&1 || true
	wait_for 15 gone "$(daemon_pid "$RUN3")"
}
