# SPDX-License-Identifier: LGPL-2.1-or-later
# stress_helpers.bash: sizing (short or STRESS_LONG), diagnostics, background processes and their clean-up.
# shellcheck shell=bash

# shellcheck disable=SC2034 # used by the .bats files that load this
STRESS_BIN=${BUILD:-$BATS_TEST_DIRNAME/../../build}/tests/stress
BG_PIDS=()

# scale SHORT LONG: the figure for this run (STRESS_LONG=1 picks LONG).
scale() {
	if [ "${STRESS_LONG:-0}" = 1 ]; then echo "$2"; else echo "$1"; fi
}

# diag TEXT...: a TAP diagnostic line, shown with the test's result.
diag() {
	echo "# $*" >&3
}

# now_ms: monotonic enough for figures (bash's EPOCHREALTIME, no fork).
now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}

# rate COUNT MILLISECONDS: COUNT per second.
rate() {
	awk -v n="$1" -v ms="$2" 'BEGIN { printf "%.0f", (ms > 0) ? n * 1000 / ms : 0 }'
}

# bg_track PID: kill PID (and what it started) in teardown.
bg_track() {
	BG_PIDS+=("$1")
}

# our_holder PID: PID is a virlock of this test's lockspace (never touch another's).
our_holder() {
	local cmd
	[ -e "/proc/$1/cmdline" ] || return 1 # no fork for the many dead ones
	cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") || return 1
	case "$cmd" in
	*virlock*" $LS "*) return 0 ;;
	esac
	return 1
}

# lockspace_holders: pids of the live holders (supervisors and detached) of the test lockspace.
lockspace_holders() {
	local pid
	for pid in $(holder_pids); do
		our_holder "$pid" && echo "$pid"
	done
	return 0
}

# no_holders: no live holder is left in the test lockspace (to poll with
# wait_for: a holder with nothing left exits after it answers the release).
no_holders() {
	[ -z "$(lockspace_holders)" ]
}

# kill_tree SIGNAL PID: PID and its descendants, by id.
kill_tree() {
	local c
	for c in $(pgrep -P "$2" 2>/dev/null); do
		kill_tree "$1" "$c"
	done
	kill "-$1" "$2" 2>/dev/null || true
}

# alive PID: running and not a zombie (builtins only: it runs often).
alive() {
	local stat
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	stat=${stat##*) }
	case "$stat" in
	Z* | X*) return 1 ;;
	esac
	return 0
}

gone() {
	! alive "$1"
}

# watch_start: the independent observer samples /proc/locks until watch_stop.
watch_start() {
	"$STRESS_BIN/lockwatch" -t "$(scale 120 900)" "$LS" "$WORK/watch.stop" \
		</dev/null >"$WORK/watch.out" 2>"$WORK/watch.err" 3>&- &
	WATCH=$!
	bg_track "$WATCH"
	wait_for 10 grep -q ready "$WORK/watch.out"
}

# watch_stop: stop it; it must have seen our locks and no conflict.
watch_stop() {
	touch "$WORK/watch.stop"
	local rc=0
	wait "$WATCH" || rc=$?
	diag "observer (/proc/locks): $(tail -n 1 "$WORK/watch.out")"
	cat "$WORK/watch.err" >&2
	[ "$rc" -eq 0 ]
	grep -q ' conflicts=0 ' "$WORK/watch.out"
	! grep -q ' busy_samples=0 ' "$WORK/watch.out"
}

# stress_teardown: kill every background process and holder the test started.
stress_teardown() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill_tree KILL "$p"
	done
	for p in $(lockspace_holders); do
		kill_tree KILL "$p"
	done
	for p in "${BG_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	BG_PIDS=()
}
