# SPDX-License-Identifier: LGPL-2.1-or-later
# hostile_helpers.bash: bounded virlock runs, error-message and leftover checks, fake holders, for the hostile and security tests.
# shellcheck shell=bash
# shellcheck disable=SC2154 # status, stderr and stderr_lines are set by bats' run

# hostile_setup: call from setup(); each test starts with an empty lockspace $LS (mode 0700).
hostile_setup() {
	common_setup
	mkdir -p "$LS"
	chmod 0700 "$LS"
	FAKE=
	LS2=
	VICTIM=$BATS_TEST_TMPDIR/outside/victim
	mkdir -p "${VICTIM%/*}"
}

# hostile_teardown: end what the test started (by pid) and the detached
# holders of its lockspace (and of $LS2, a second one, if the test set it).
hostile_teardown() {
	if [ -n "${FAKE:-}" ]; then
		kill -TERM "$FAKE" 2>/dev/null || true
	fi
	cleanup_processes
	if [ -n "${LS2:-}" ]; then
		LS=$LS2 cleanup_processes
	fi
}

# raw_hold FILE: a foreign process (lockhold -F) holds a raw fcntl lock on
# byte 0 of FILE, no socket, no record; FAKE is its pid. Returns once it holds.
raw_hold() {
	mkfifo "$WORK/raw.out"
	"$HELPERS/lockhold" -F "$1" >"$WORK/raw.out" 2>"$WORK/raw.err" </dev/null 3>&- &
	FAKE=$!
	local line=
	read -r -t 10 line <>"$WORK/raw.out"
	assert_equal "$line" ready
}

# tvl ARGS...: virlock on the test lockspace, killed if it runs for over 20 s
# (status 124), with bats's fd 3 closed so that a detached holder never holds it.
tvl() {
	timeout -k 5 20 "$VIRLOCK" -L "$LS" "$@" 3>&-
}

# tvl_bare ARGS...: the same without -L.
tvl_bare() {
	timeout -k 5 20 "$VIRLOCK" "$@" 3>&-
}

# assert_error STATUS TEXT...: the command that 'run --separate-stderr' ran
# exited with STATUS and wrote exactly one line on stderr, "virlock: ...",
# holding every TEXT (the thing it names, what to do).
assert_error() {
	local want=$1 text
	shift
	if [ "$status" -ne "$want" ]; then
		fail "exit status $status, expected $want; stderr: $stderr"
	fi
	if [ "${#stderr_lines[@]}" -ne 1 ]; then
		fail "expected one line on stderr, got ${#stderr_lines[@]}: $(printf '%q' "$stderr")"
	fi
	if [[ "$stderr" != "virlock: "* ]]; then
		fail "stderr does not start with 'virlock: ': $stderr"
	fi
	for text in "$@"; do
		if [[ "$stderr" != *"$text"* ]]; then
			fail "stderr lacks '$text': $stderr"
		fi
	done
}

# busy_now [ACQUIRE OPTIONS] RESOURCE...: someone holds it: a non-blocking acquire says busy (75).
busy_now() {
	local rc=0
	tvl acquire -n "$@" -- true 2>/dev/null || rc=$?
	[ "$rc" -eq 75 ]
}

# fifo_write FIFO TEXT: write a line into a FIFO whose reader may be gone: at most 10 s.
fifo_write() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	timeout 10 sh -c 'echo "$2" >"$1"' sh "$1" "$2"
}

# lock_name RESOURCE / lock_name_literal STRING: the lock file name.
lock_name() {
	printf %s "$(realpath "$1")" | md5sum | cut -c1-32
}

lock_name_literal() {
	printf %s "$1" | md5sum | cut -c1-32
}

# no_leftovers: no process of this test runs: none names its scratch
# directory on its command line, and no virlock has it in its environment
# (as VIRLOCK_LOCKSPACE, say).
no_leftovers() {
	local p
	if pgrep -f -- "$BATS_TEST_TMPDIR" >/dev/null; then
		return 1
	fi
	for p in $(virlock_pids); do
		if grep -qF -- "$BATS_TEST_TMPDIR" "/proc/$p/environ" 2>/dev/null; then
			return 1
		fi
	done
}

# leftovers: describe what no_leftovers found.
leftovers() {
	local p
	pgrep -af -- "$BATS_TEST_TMPDIR"
	for p in $(virlock_pids); do
		if grep -qF -- "$BATS_TEST_TMPDIR" "/proc/$p/environ" 2>/dev/null; then
			echo "$p virlock $(tr '\0' ' ' <"/proc/$p/cmdline")"
		fi
	done
}

# assert_clean [LOCKSPACE]: every lock file of the lockspace is free (no held
# lock, no live-looking claim) and no process of this test is left behind.
assert_clean() {
	local ls=${1:-$LS} out
	out=$(timeout 20 "$VIRLOCK" -L "$ls" list -a -o NAME,MODE,PID,STATUS -J 3>&-) ||
		fail "virlock list -a failed on $ls: $out"
	jq -e 'all(.locks[]; .mode == "free")' <<<"$out" >/dev/null ||
		fail "something is still held in $ls: $(jq -c . <<<"$out")"
	wait_for 10 no_leftovers ||
		fail "processes left behind: $(leftovers)"
}

# fake_holder MODE LEASE [OWNER]: start tests/helpers/fakeholder as the holder
# of the literal resource LEASE, answering its control socket as MODE says
# (garbage, long, silent, close, nul, badcode, lie); its pid goes to $FAKE.
fake_holder() {
	local mode=$1 lease=$2 owner=${3:-} name line=
	name=$(lock_name_literal "$lease")
	printf %s "$lease" >"$LS/$name"
	chmod 0600 "$LS/$name"
	mkfifo "$WORK/fake.out"
	"$HELPERS/fakeholder" holder "$mode" "$LS" "$name" ${owner:+"$owner"} \
		>"$WORK/fake.out" 2>"$WORK/fake.err" </dev/null 3>&- &
	FAKE=$!
	# A read-write open of the FIFO never blocks, whichever side comes first.
	if read -r -t 10 line <>"$WORK/fake.out" && [ "$line" = ready ]; then
		return 0
	fi
	echo "# fake holder not ready (got '$line'): $(cat "$WORK/fake.err")" >&2
	return 1
}

# stop_fake: end the fake holder and wait until it is gone.
stop_fake() {
	kill -TERM "$FAKE"
	wait_for 10 gone "$FAKE"
	FAKE=
}

# file_state FILE: content digest and modification time, to show a file is untouched.
file_state() {
	echo "$(md5sum <"$1") $(stat -c '%s %Y.%y' "$1")"
}
