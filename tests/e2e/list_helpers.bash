# SPDX-License-Identifier: LGPL-2.1-or-later
# list_helpers.bash: background lock holders, hand-made records and checks for the list/inspect/hash/prune/init tests.
# shellcheck shell=bash
# shellcheck disable=SC2154 # $output is set by bats' run

# list_setup: call from setup() after common_setup. Every background process
# is registered as $BG/ID.pid so that teardown (stop_all) can end it; its
# stderr goes to $BG/ID.err. $LSDIR is the lockspace as virlock prints it.
list_setup() {
	BG=$BATS_TEST_TMPDIR/bg
	mkdir -p "$BG"
	# shellcheck disable=SC2034 # used by the test files
	LSDIR=$(realpath -m "$LS")
}

# bg_start ID OUT CMD...: run CMD in the background with stdout on OUT.
# stdin is /dev/null and fd 3 (bats' own) is closed, so bats never waits on it.
bg_start() {
	local id=$1 out=$2
	shift 2
	mkdir -p "$BG"
	"$@" 1<>"$out" 2>"$BG/$id.err" </dev/null 3>&- &
	echo "$!" >"$BG/$id.pid"
}

# hold_start ID LOCKHOLD-ARGS...: start lockhold in the background without
# waiting for it (a waiter, say). Its "ready" line goes to the FIFO $BG/ID.out;
# read-write opens of a FIFO never block, whichever side comes first.
hold_start() {
	local id=$1
	shift
	mkdir -p "$BG"
	mkfifo "$BG/$id.out"
	bg_start "$id" "$BG/$id.out" "$HELPERS/lockhold" "$@"
}

# await_ready ID [SECONDS]: wait (10 s by default) for lockhold ID to say it holds its locks.
await_ready() {
	local line=
	if read -r -t "${2:-10}" line <>"$BG/$1.out" && [ "$line" = ready ]; then
		return 0
	fi
	echo "# holder $1 is not ready (got '$line'): $(cat "$BG/$1.err")" >&2
	return 1
}

# hold ID [LOCKHOLD OPTIONS] RESOURCE...: hold RESOURCE... in $LS through the
# library until unhold; e.g. hold vm1 -o vm1 "$WORK/disk".
hold() {
	local id=$1
	shift
	hold_start "$id" "$LS" "$@" && await_ready "$id"
}

# hold_raw ID [-s] FILE: hold a plain fcntl lock on byte 0 of FILE, without the library.
hold_raw() {
	local id=$1
	shift
	hold_start "$id" -F "$@" && await_ready "$id"
}

# pid_of ID: the pid of background process ID.
pid_of() {
	cat "$BG/$1.pid"
}

# gone PID: true when PID has exited (a zombie counts as gone).
gone() {
	[ ! -e "/proc/$1" ] || [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" = Z ]
}

# unhold ID: stop background process ID with SIGTERM and return its exit status.
unhold() {
	local pid rc=0
	pid=$(pid_of "$1")
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" || rc=$?
	rm -f "$BG/$1.pid"
	return "$rc"
}

# bg_wait ID: wait for background process ID to end by itself; return its exit status.
bg_wait() {
	local pid rc=0
	pid=$(pid_of "$1")
	wait "$pid" || rc=$?
	rm -f "$BG/$1.pid"
	return "$rc"
}

# stop_all: end every registered background process (teardown).
stop_all() {
	local f pid pids=()
	for f in "$BG"/*.pid; do
		[ -e "$f" ] || continue
		pids+=("$(cat "$f")")
		rm -f "$f"
	done
	[ "${#pids[@]}" -gt 0 ] || return 0
	kill -TERM "${pids[@]}" 2>/dev/null || true
	for pid in "${pids[@]}"; do
		wait_for 5 gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
}

# stop_holders: end the detached holders 'virlock acquire' left in $LS
# (teardown); only virlock processes that list shows holding a lock.
stop_holders() {
	local pid pids=()
	[ -d "$LS" ] || return 0
	for pid in $("$VIRLOCK" -L "$LS" list -r -n -o PID,STATUS 2>/dev/null |
		awk '$1 ~ /^[0-9]+$/ && $2 != "stale" { print $1 }' | sort -u); do
		is_virlock "$pid" && pids+=("$pid")
	done
	[ "${#pids[@]}" -gt 0 ] || return 0
	kill -TERM "${pids[@]}" 2>/dev/null || true
	for pid in "${pids[@]}"; do
		wait_for 5 gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
	done
}

# name_of RESOURCE [--literal]: the lock file name of RESOURCE.
name_of() {
	"$VIRLOCK" hash "$@"
}

# proc_start PID: the start time of PID in clock ticks (field 22 of /proc/PID/stat).
proc_start() {
	sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20
}

# dead_pid: the pid of a process that has just exited.
dead_pid() {
	local pid
	sh -c 'exit 0' &
	pid=$!
	wait "$pid"
	echo "$pid"
}

# write_record PID START LINE...: write the holder record of PID by hand, as
# the library writes them: header, pid, start time, then LINE... ("owner X",
# "child N", "lock NAME exclusive|shared EPOCH").
write_record() {
	local pid=$1 start=$2
	shift 2
	mkdir -p "$LS/.holders"
	chmod 0700 "$LS" "$LS/.holders"
	{
		printf 'virlock-holder 1\npid %s\nstart %s\n' "$pid" "$start"
		printf '%s\n' "$@"
	} >"$LS/.holders/$pid"
}

# corrupt_lockfile NAME CONTENT: make a lock file NAME whose content does not hash to NAME.
corrupt_lockfile() {
	mkdir -p "$LS"
	chmod 0700 "$LS"
	printf '%s' "$2" >"$LS/$1"
	chmod 0600 "$LS/$1"
}

# rows ARGS...: run 'virlock list -r -n ARGS...' and keep its lines in $output.
rows() {
	run vl list -r -n "$@"
}

# rows_are TEXT ARGS...: 'virlock list -r -n ARGS...' prints TEXT.
rows_are() {
	local want=$1
	shift
	rows "$@"
	[ "$output" = "$want" ] || {
		echo "# want '$want', got '$output'" >&2
		return 1
	}
}

# iso_time EPOCH: EPOCH as virlock prints it, ISO 8601 local time with the offset.
iso_time() {
	date -d "@$1" +%Y-%m-%dT%H:%M:%S%:z
}

# jq_ok FILTER [JQ OPTIONS...]: check that $output is JSON for which FILTER is true.
jq_ok() {
	local filter=$1
	shift
	if ! jq -e "$@" "$filter" <<<"$output" >/dev/null; then
		echo "# jq filter is not true: $filter" >&2
		printf '%s\n' "$output" >&2
		return 1
	fi
}

# settle SECONDS CHECK...: retry CHECK (a check that runs virlock) until it
# passes or the deadline passes, then once more to show what it saw. For
# checks of waiters: /proc/locks, their only source, is read a page at a time
# and can repeat or miss an entry while other locks on the host change.
settle() {
	local secs=$1
	shift
	wait_for "$secs" "$@" 2>/dev/null || "$@"
}

# squeeze TEXT: TEXT with runs of blanks made one space, none at the ends.
squeeze() {
	awk '{$1 = $1; print}' <<<"$1"
}
