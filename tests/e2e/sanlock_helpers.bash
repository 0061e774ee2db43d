# SPDX-License-Identifier: LGPL-2.1-or-later
# sanlock_helpers.bash: two sanlock daemons standing for two hosts that share one lockspace directory.
# shellcheck shell=bash
#
# Each daemon has its own run directory and host name; SANLOCK_RUN_DIR picks
# the host a virlock command runs on. They run without a watchdog (-w 0: no
# fencing), which is for tests only. Root and the sanlock package are needed.
# Load helpers.bash first.

# sanlock_unavailable: why the sanlock tests cannot run here (root, the
# sanlock daemon and a virlock built with the sanlock backend are needed), or
# nothing. A virlock that has the backend but answers the probe otherwise is
# not skipped: its tests fail and show why.
# (bats 1.8 cannot skip in setup_file: it says why, and setup() skips.)
sanlock_unavailable() {
	if [ "$(id -u)" != 0 ]; then
		echo "sanlock tests need root (the daemon runs as root here)"
	elif ! command -v sanlock >/dev/null; then
		echo "sanlock is not installed (apt-get install sanlock libsanlock-dev)"
	elif sanlock_probe | grep -q "built without libsanlock"; then
		echo "built without the sanlock backend (libsanlock-dev was not installed when it was built)"
	fi
}

# sanlock_probe: virlock asked to join a sanlock lockspace where no daemon
# runs: "daemon is not running" with the backend, "built without libsanlock"
# without it.
sanlock_probe() {
	local probe=$BATS_FILE_TMPDIR/sanlock-probe
	mkdir -p "$probe/run"
	SANLOCK_RUN_DIR=$probe/run "$VIRLOCK" -q -L "$probe/ls" init --backend sanlock --host-id 1 2>&1
}

# sanlock_hosts_start [DIR]: SL_TOP (storage that does O_DIRECT: DIR, by
# default the bats file's directory), RUN1 and RUN2 (the run directories of
# host 1 and host 2), SL_NAME1 and SL_NAME2 (their daemons' names), and a
# daemon running for each.
sanlock_hosts_start() {
	# sanlock does its I/O with O_DIRECT, which tmpfs refuses.
	local top=${1:-$BATS_FILE_TMPDIR}
	if ! dd if=/dev/zero of="$top/odirect" bs=4096 count=1 oflag=direct status=none 2>/dev/null; then
		top=$(mktemp -d /var/tmp/virlock-sanlock.XXXXXX)
	fi
	rm -f "$top/odirect"
	export SL_TOP=$top
	export RUN1=$top/run1 RUN2=$top/run2
	mkdir -p "$RUN1" "$RUN2"
	# The daemons' names, as every host shows them (HOSTNAME, inspect's host: line).
	export SL_NAME1=virlock-test-$$-h1 SL_NAME2=virlock-test-$$-h2
	daemon_start "$RUN1" "$SL_NAME1"
	daemon_start "$RUN2" "$SL_NAME2"
}

# sanlock_hosts_stop: kill both daemons, wait until they are gone, and
# remove SL_TOP if it was made outside the bats directory. SIGKILL, not a
# shutdown: a daemon takes a second or two to leave its lockspaces, which
# nothing needs here (the lockspace is removed with the test's files).
sanlock_hosts_stop() {
	local run pid pids=()
	for run in "${RUN1:-}" "${RUN2:-}"; do
		if [ -z "$run" ] || [ ! -f "$run/sanlock.pid" ]; then
			continue
		fi
		pid=$(cat "$run/sanlock.pid")
		[ -n "$pid" ] || continue
		pids+=("$pid")
		kill -KILL "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait_for 15 all_threads_gone "$pid" || true
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

# daemon_kill RUNDIR: SIGKILL the daemon of that run directory (as a crash
# would) and wait until it is gone, every thread of it: the main thread is a
# zombie while another still ends an I/O, and until the last one ends the
# daemon's descriptors, and the lock on its pid file that a new daemon of
# the run directory must take, stay open.
daemon_kill() {
	local pid
	pid=$(daemon_pid "$1")
	kill -KILL "$pid"
	wait_for 10 all_threads_gone "$pid"
}

# all_threads_gone PID: gone, and no thread of it is left (a zombie main
# thread alone counts as gone).
all_threads_gone() {
	local tasks
	gone "$1" || return 1
	tasks=$(find "/proc/$1/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	[ "$tasks" -le 1 ]
}

# unlocked FILE: no process holds a POSIX lock on FILE (a daemon killed with
# SIGKILL is a zombie a moment before its other threads let go of it).
unlocked() {
	! grep -q ":$(stat -c %i "$1") " /proc/locks
}

# daemon_restart RUNDIR HOSTNAME: start the daemon of a run directory again
# after daemon_kill (its socket file is left behind: wait for the new one;
# its pid file stays locked until the old daemon's threads are gone).
daemon_restart() {
	local old
	old=$(daemon_pid "$1")
	wait_for 10 unlocked "$1/sanlock.pid"
	rm -f "$1/sanlock.sock"
	daemon_start "$1" "$2"
	wait_for 10 test "$(daemon_pid "$1")" != "$old"
}

# daemon_pid RUNDIR: the pid of the daemon of that run directory.
daemon_pid() {
	cat "$1/sanlock.pid"
}

# gone PID: the process has exited (a zombie counts: no one may reap it).
gone() {
	[ ! -d "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# h1/h2 ARGS...: virlock on host 1 or 2, in the lockspace $LS.
h1() { SANLOCK_RUN_DIR=$RUN1 "$VIRLOCK" -L "$LS" "$@"; }
h2() { SANLOCK_RUN_DIR=$RUN2 "$VIRLOCK" -L "$LS" "$@"; }

# h1_holds: a holder on host 1 holds a lease in $LS.
h1_holds() {
	h1 list -r -n -o PID | grep -q '^[0-9]'
}

# sanlock_shared_lockspace [DIR]: both hosts running (see
# sanlock_hosts_start), and SHARED a sanlock lockspace that host 1 made and
# both joined. A join takes about 3 s: host 2 joins while host 1 does, as
# soon as host 1 has made the lockspace (its .backend file is the last
# thing it writes before it joins).
sanlock_shared_lockspace() {
	local h1 rc=0
	sanlock_hosts_start "$@"
	export SHARED=$SL_TOP/shared
	SANLOCK_RUN_DIR=$RUN1 "$VIRLOCK" -q -L "$SHARED" init --backend sanlock --host-id 1 3>&- &
	h1=$!
	wait_for 60 made_or_ended "$h1" || true
	SANLOCK_RUN_DIR=$RUN2 "$VIRLOCK" -q -L "$SHARED" init --backend sanlock --host-id 2 || rc=$?
	wait "$h1" && return "$rc"
}

# made_or_ended PID: $SHARED has its .backend file, or PID (the init that
# makes it) has ended.
made_or_ended() {
	[ -e "$SHARED/.backend" ] || ! kill -0 "$1" 2>/dev/null
}

# sanlock_setup_file [REASON]: in setup_file, start both hosts and the
# shared lockspace, unless sanlock is unavailable here or REASON says why
# this file's tests are not to run (SL_SKIP then says why, for setup).
sanlock_setup_file() {
	SL_SKIP=${1:-$(sanlock_unavailable)}
	export SL_SKIP
	[ -z "$SL_SKIP" ] || return 0
	sanlock_shared_lockspace
}

# sanlock_setup: in setup, skip as sanlock_setup_file decided, or set up the
# test in the shared lockspace (LS).
sanlock_setup() {
	[ -z "$SL_SKIP" ] || skip "$SL_SKIP"
	common_setup
	LS=$SHARED
}
