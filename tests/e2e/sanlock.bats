#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# sanlock.bats: the sanlock backend: init/join/leave, leases across two "hosts" (two daemons).
#
# Two sanlock daemons with their own run directories and host names stand for
# two hosts sharing one lockspace directory; SANLOCK_RUN_DIR picks the host a
# virlock command runs on. They run without a watchdog (-w 0: no fencing),
# which is for tests only. Root and the sanlock package are needed.

load helpers

# The daemons, and one lockspace both hosts join, are shared by the file's
# tests: a join takes about 3 s.
setup_file() {
	[ "$(id -u)" = 0 ] || skip "sanlock tests need root (the daemon runs as root here)"
	command -v sanlock >/dev/null || skip "sanlock is not installed (apt-get install sanlock libsanlock-dev)"
	ldd "$VIRLOCK" 2>/dev/null | grep -q libsanlock_client ||
		skip "virlock was built without libsanlock (install libsanlock-dev and rebuild)"
	# sanlock does its I/O with O_DIRECT, which tmpfs refuses.
	local top=$BATS_FILE_TMPDIR
	if ! dd if=/dev/zero of="$top/odirect" bs=4096 count=1 oflag=direct status=none 2>/dev/null; then
		top=$(mktemp -d /var/tmp/virlock-sanlock.XXXXXX)
	fi
	rm -f "$top/odirect"
	export SL_TOP=$top
	export RUN1=$top/run1 RUN2=$top/run2
	mkdir -p "$RUN1" "$RUN2"
	daemon_start "$RUN1" "virlock-test-$$-h1"
	daemon_start "$RUN2" "virlock-test-$$-h2"
	export SHARED=$top/shared
	SANLOCK_RUN_DIR=$RUN1 "$VIRLOCK" -q -L "$SHARED" init --backend sanlock --host-id 1
	SANLOCK_RUN_DIR=$RUN2 "$VIRLOCK" -q -L "$SHARED" init --backend sanlock --host-id 2
}

teardown_file() {
	# Both at once: a daemon takes a second or two to leave its lockspaces.
	local run pid pids=()
	for run in "${RUN1:-}" "${RUN2:-}"; do
		[ -n "$run" ] && [ -f "$run/sanlock.pid" ] || continue
		pids+=("$(cat "$run/sanlock.pid")")
		SANLOCK_RUN_DIR=$run sanlock client shutdown -f 1 >/dev/null 2>&1 || true
	done
	for pid in "${pids[@]}"; do
		wait_for 15 gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
	done
	case ${SL_TOP:-} in
	/var/tmp/virlock-sanlock.*) rm -rf "$SL_TOP" ;;
	esac
}

# daemon_start RUNDIR HOSTNAME: start a sanlock daemon, wait for its socket.
daemon_start() {
	SANLOCK_PRIVILEGED=0 SANLOCK_RUN_DIR=$1 sanlock daemon -w 0 -l 0 -U 0 -G 0 -L -1 -S -1 -e "$2" \
		</dev/null >/dev/null 2>&1 3>&-
	wait_for 10 test -S "$1/sanlock.sock"
}

# gone PID: the process has exited (a zombie counts: no one may reap it).
gone() {
	[ ! -d "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

setup() {
	common_setup
	LS=$SHARED
	touch "$WORK/disk.img" "$WORK/other.img"
	PIDS=()
}

teardown() {
	local pid
	# Detached holders and supervisors this test left behind.
	for pid in "${PIDS[@]}" $(ls "$SHARED/.holders" 2>/dev/null | sed -n 's/^\([0-9]*\)\.sock$/\1/p'); do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = virlock ] && kill -TERM "$pid" 2>/dev/null
		wait_for 5 gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
	done
	true
}

h1_holds() {
	[ -n "$(h1 list -r -n -o PID)" ]
}

# h1/h2 ARGS...: virlock on host 1 or 2, in the shared lockspace (or $LS).
h1() { SANLOCK_RUN_DIR=$RUN1 "$VIRLOCK" -L "$LS" "$@"; }
h2() { SANLOCK_RUN_DIR=$RUN2 "$VIRLOCK" -L "$LS" "$@"; }

@test "init makes a sanlock lockspace and joins; a second host joins; leave leaves" {
	LS=$SL_TOP/own-$BATS_TEST_NUMBER
	run h1 init --backend sanlock --host-id 1
	assert_success
	assert_line --index 0 "joining sanlock lockspace $LS as host 1 (takes a few seconds)..."
	assert_line --index 1 "created and joined sanlock lockspace $LS as host 1"
	assert_equal "$(head -1 "$LS/.backend")" sanlock
	assert_equal "$(stat -c %s "$LS/.lockspace.lease")" 1048576
	run h2 init --backend sanlock --host-id 2
	assert_success
	assert_line "joined sanlock lockspace $LS as host 2"
	# Again with the same id: nothing to do; with another: refused.
	run h2 -q init --backend sanlock --host-id 2
	assert_success
	assert_output ""
	run h2 init --backend sanlock --host-id 3
	assert_failure 71
	assert_output --partial "this host joined it with another host id"
	# An fcntl init of a sanlock lockspace only says it exists.
	run h1 init
	assert_success
	run h2 leave
	assert_success
	assert_output "left sanlock lockspace $LS"
	run h2 leave
	assert_failure 71
	assert_output --partial "this host has not joined the sanlock lockspace; join it with 'virlock init"
	run h2 acquire "$WORK/disk.img"
	assert_failure 71
	assert_output --partial "this host has not joined the sanlock lockspace"
	run h1 leave
	assert_success
}

@test "a lease held on host 1 is busy on host 2 until released" {
	run h1 acquire --owner vm1 "$WORK/disk.img"
	assert_success
	name=$("$VIRLOCK" hash "$WORK/disk.img")
	assert_equal "$(stat -c %s "$SHARED/$name")" 1048576
	run h2 acquire "$WORK/disk.img"
	assert_failure 75
	assert_output --partial "held by another holder"
	run h2 acquire -E 3 "$WORK/disk.img"
	assert_failure 3
	# Host 1 names the holder; host 2 sees the lease owned, by a pid it cannot know.
	run h1 list -r -n -o NAME,MODE,OWNER
	assert_output "$name exclusive vm1"
	run h2 list -r -n -o NAME,MODE,PID
	assert_output "$name exclusive "
	run h1 inspect "$WORK/disk.img"
	assert_line --partial "owner:   vm1"
	# Leaving with a lease held is refused.
	run h1 leave
	assert_failure 75
	assert_output --partial "release the leases this host holds in it first"
	run h1 release "$WORK/disk.img"
	assert_success
	run h2 acquire "$WORK/disk.img" -- true
	assert_success
	run h1 list -a -r -n -o NAME,MODE
	assert_output "$name free"
}

@test "shared leases on both hosts; exclusive is busy on either" {
	run h1 acquire -s --owner s1 "$WORK/other.img"
	assert_success
	run h2 acquire -s --owner s2 "$WORK/other.img"
	assert_success
	run h1 list -r -n -o MODE,OWNER
	assert_line "shared s1"
	run h2 list -r -n -o MODE,OWNER
	assert_line "shared s2"
	run h1 acquire -x "$WORK/other.img"
	assert_failure 75
	run h2 acquire -x "$WORK/other.img"
	assert_failure 75
	run h1 release --owner s1
	assert_success
	run h2 release --owner s2
	assert_success
	run h1 acquire -x "$WORK/other.img" -- true
	assert_success
}

@test "a supervisor killed on host 1 frees its lease for host 2; --wait waits" {
	SANLOCK_RUN_DIR=$RUN1 "$VIRLOCK" -L "$LS" acquire "$WORK/disk.img" -- sleep 60 3>&- &
	sup=$!
	PIDS+=("$sup")
	wait_for 10 h1_holds
	run h2 acquire -w 1 "$WORK/disk.img" -- true
	assert_failure 75
	assert_output --partial "still busy after 1 second"
	(sleep 1 && kill -KILL "$sup") &
	run h2 acquire -w 10 "$WORK/disk.img" -- true
	assert_success
}

@test "errors: daemon not running, prune; ten resources at once" {
	mkdir -p "$SL_TOP/nodaemon"
	run env SANLOCK_RUN_DIR="$SL_TOP/nodaemon" "$VIRLOCK" -L "$SL_TOP/nd-$BATS_TEST_NUMBER" init --backend sanlock --host-id 1
	assert_failure 71
	assert_output --partial "the sanlock daemon is not running; start it first: 'sanlock daemon'"
	run env SANLOCK_RUN_DIR="$SL_TOP/nodaemon" "$VIRLOCK" -L "$SHARED" acquire "$WORK/disk.img"
	assert_failure 71
	assert_output --partial "the sanlock daemon is not running"
	# More than sanlock's 8 per call, all or nothing, naming the busy one.
	run h1 acquire --owner many --literal r1 r2 r3 r4 r5 r6 r7 r8 r9 r10
	assert_success
	run h2 acquire --literal q1 q2 r10 q3 -- true
	assert_failure 75
	assert_output --partial "r10: held by another holder"
	run h2 list -a -r -n -o NAME,MODE
	assert_line "$("$VIRLOCK" hash --literal q1) free"
	run h1 release --owner many
	assert_success
	run h1 prune
	assert_failure 71
	# An fcntl lockspace with lock files does not become a sanlock one.
	LS=$SL_TOP/fcntl-$BATS_TEST_NUMBER
	"$VIRLOCK" -L "$LS" acquire "$WORK/disk.img" -- true
	run h1 init --backend sanlock --host-id 1
	assert_failure 71
	assert_output --partial "it holds fcntl lock files"
}
