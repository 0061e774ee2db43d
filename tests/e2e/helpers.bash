# SPDX-License-Identifier: LGPL-2.1-or-later
# helpers.bash: common set-up of the end-to-end tests; each test gets its own lockspace.
# shellcheck shell=bash

bats_load_library bats-support
bats_load_library bats-assert

VIRLOCK=${VIRLOCK:-$BATS_TEST_DIRNAME/../../build/virlock}
HELPERS=${HELPERS:-$(dirname "$VIRLOCK")/tests/helpers}

common_setup() {
	LS=$BATS_TEST_TMPDIR/ls
	export VIRLOCK_LOCKSPACE=$LS
	WORK=$BATS_TEST_TMPDIR/work
	mkdir -p "$WORK"
}

# vl ARGS...: run virlock on the test's lockspace.
vl() {
	"$VIRLOCK" -L "$LS" "$@"
}

# wait_for DEADLINE_SECONDS COMMAND...: poll COMMAND until it succeeds or the
# deadline passes (for states no pipe can announce, e.g. a process's death).
wait_for() {
	local deadline=$(($(date +%s%N) + $1 * 1000000000))
	shift
	until "$@"; do
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		sleep 0.01
	done
}
