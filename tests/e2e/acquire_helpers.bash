# SPDX-License-Identifier: LGPL-2.1-or-later
# acquire_helpers.bash: background supervisors, holders and their clean-up for acquire and release tests.
# shellcheck shell=bash

BG_PIDS=()

# bg_supervise TAG VIRLOCK-ACQUIRE-ARGS...: start "virlock acquire ARGS -- CHILD" in
# the background, where CHILD writes its pid to $WORK/TAG.child and then waits
# for $WORK/TAG.go to exist (or for a signal); the supervisor's pid goes to
# $WORK/TAG.pid and its output to $WORK/TAG.out and $WORK/TAG.err. Returns once
# the child runs, that is once the locks are held, and the supervisor listens
# on its control socket (it writes its record and opens the socket while the
# child starts: release, hotplug, list and labels need them).
bg_supervise() {
	local tag=$1
	shift
	# shellcheck disable=SC2016 # the child's script, expanded by the child
	"$VIRLOCK" -L "$LS" acquire "$@" -- sh -c '
		echo $$ >"$1.child.tmp" && mv "$1.child.tmp" "$1.child"
		while [ ! -e "$1.go" ]; do sleep 0.02; done
		exit 0' sh "$WORK/$tag" </dev/null >"$WORK/$tag.out" 2>"$WORK/$tag.err" 3>&- &
	local pid=$!
	BG_PIDS+=("$pid")
	echo "$pid" >"$WORK/$tag.pid"
	wait_for 10 test -s "$WORK/$tag.child" || {
		echo "supervisor $tag did not start its child" >&2
		cat "$WORK/$tag.err" >&2
		return 1
	}
	BG_PIDS+=("$(cat "$WORK/$tag.child")")
	wait_for 10 holder_listening "$pid" || {
		echo "supervisor $tag does not listen on its control socket" >&2
		cat "$WORK/$tag.err" >&2
		return 1
	}
}

# bg_finish TAG: let TAG's child end, wait for its supervisor, set $status to its exit status.
# shellcheck disable=SC2034 # status is read by the tests, like the one bats's run sets
bg_finish() {
	touch "$WORK/$1.go"
	status=0
	wait "$(cat "$WORK/$1.pid")" || status=$?
}

# gone PID: the process has exited (a zombie counts as gone).
gone() {
	! kill -0 "$1" 2>/dev/null && return 0
	grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# alive PID: the process runs and is not a zombie.
alive() {
	! gone "$1"
}

# is_waiting PID: the kernel lists PID as blocked on a POSIX lock.
is_waiting() {
	awk -v p="$1" '$2 == "->" && $6 == p { found = 1 } END { exit !found }' /proc/locks
}

# holder_waiting PARENT: the detached holder PARENT forked is blocked on a lock;
# its pid goes to $WORK/waiter.
holder_waiting() {
	local c
	for c in $(pgrep -P "$1"); do
		if is_waiting "$c"; then
			echo "$c" >"$WORK/waiter"
			return 0
		fi
	done
	return 1
}

# cleanup_processes: kill every background process and holder this test started.
cleanup_processes() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill -CONT "$p" 2>/dev/null || true
		kill -KILL "$p" 2>/dev/null || true
	done
	if [ -n "${LS:-}" ] && [ -d "$LS/.holders" ]; then
		for p in $(holder_pids); do
			# A stale socket's pid may belong to another process by now.
			is_virlock "$p" || continue
			kill -CONT "$p" 2>/dev/null || true
			kill -TERM "$p" 2>/dev/null || true
		done
	fi
	BG_PIDS=()
}

# bg_wait_acquire RESOURCE: start 'virlock -v acquire -w 20 RESOURCE -- echo got'
# in the background ($WAITER its pid; its stdout goes to $WORK/wait.out) and
# return once it said its first line on stderr, in $WAIT_LINE: what it waits
# for. Its stderr stays open on fd 5, so later lines never meet a closed pipe.
bg_wait_acquire() {
	mkfifo "$WORK/wait.err"
	exec 5<>"$WORK/wait.err"
	timeout -k 5 30 "$VIRLOCK" -L "$LS" -v acquire -w 20 "$1" -- echo got 2>"$WORK/wait.err" \
		>"$WORK/wait.out" 3>&- &
	WAITER=$!
	BG_PIDS+=("$WAITER")
	WAIT_LINE=
	read -r -t 15 WAIT_LINE <&5
}
