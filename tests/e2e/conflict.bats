#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# conflict.bats: a busy acquire names who holds the resource, and a wait says whom it waits for.

# shellcheck disable=SC2016,SC2030,SC2031 # child scripts in single quotes; each test is a subshell
bats_require_minimum_version 1.5.0

load helpers
load acquire_helpers
load hostile_helpers

setup() {
	hostile_setup
	touch "$WORK/a.img" "$WORK/b.img"
	A=$WORK/a.img
	B=$WORK/b.img
}

teardown() {
	hostile_teardown
}

@test "direct mode: a busy image names the other program's POSIX lock: its command and pid" {
	raw_hold "$A"
	run --separate-stderr tvl_bare --direct acquire "$A" -- true
	assert_error 75 "virlock: $A: held by lockhold (pid $FAKE, not a virlock holder); see 'virlock inspect' for more, or wait with -w"
	run --separate-stderr tvl_bare --direct acquire -w 0.2 "$A" -- true
	assert_error 75 "virlock: $A: still busy after 0.2 seconds, held by lockhold (pid $FAKE, not a virlock holder); see 'virlock inspect' for more"
}

@test "direct mode: an open file description lock on byte 0, which F_GETLK names no pid for, is named too" {
	mkfifo "$WORK/raw.out"
	"$HELPERS/lockhold" -F -O "$A" >"$WORK/raw.out" 2>"$WORK/raw.err" </dev/null 3>&- &
	FAKE=$!
	local line=
	read -r -t 10 line <>"$WORK/raw.out"
	assert_equal "$line" ready
	run --separate-stderr tvl_bare --direct acquire "$A" -- true
	assert_error 75 "virlock: $A: held by lockhold (pid $FAKE, an open file description lock); see 'virlock inspect' for more"
}

@test "a busy resource names its holder's command, pid, owner label and since; shared holders are counted" {
	bg_supervise one -o web1 "$A"
	local sv comm
	sv=$(cat "$WORK/one.pid")
	comm=$(virlock_comm "$sv")
	run --separate-stderr tvl acquire -w 0 "$A" -- true
	assert_error 75 "virlock: $A: held by $comm (pid $sv, owner web1, since 20" "(-w 0 does not wait)"
	bg_finish one
	bg_supervise r1 -s "$B"
	bg_supervise r2 -s "$B"
	run --separate-stderr tvl acquire "$B" -- true
	assert_error 75 "virlock: $B: held by $comm (pid " ") and 1 more; see 'virlock inspect' for more"
	# A shared acquire goes with them.
	run --separate-stderr tvl acquire -s "$B" -- true
	assert_success
	bg_finish r1
	bg_finish r2
}

@test "a wait says once whom it waits for with -v, then takes the lock when it is let go" {
	bg_supervise one -o web1 "$A"
	local sv comm
	sv=$(cat "$WORK/one.pid")
	comm=$(virlock_comm "$sv")
	bg_wait_acquire "$A"
	[[ $WAIT_LINE == "virlock: $A: held by $comm (pid $sv, owner web1, since "*"); waiting" ]]
	bg_finish one
	wait "$WAITER"
	assert_equal "$(cat "$WORK/wait.out")" got
}

@test "a wait says nothing of whom it waits for with -q, nor without -v when stderr is no terminal" {
	bg_supervise one "$A"
	run --separate-stderr tvl acquire -w 0.2 "$A" -- true
	assert_error 75 "still busy after 0.2 seconds, held by "
	run --separate-stderr tvl -q -v acquire -w 0.2 "$A" -- true
	assert_error 75 "still busy after 0.2 seconds, held by "
	bg_finish one
}

@test "a wait whose stderr is a terminal says whom it waits for" {
	bg_supervise one -o web1 "$A"
	local sv
	sv=$(cat "$WORK/one.pid")
	run script -q -e -c "timeout -k 5 20 $VIRLOCK -L $LS acquire -w 0.2 $A -- true" /dev/null
	assert_equal "$status" 75
	assert_output --partial "$A: held by "
	assert_output --partial "(pid $sv, owner web1, since "
	assert_output --partial "; waiting"
	assert_output --partial "still busy after 0.2 seconds"
	bg_finish one
}

@test "a long owner label is cut between characters, with '...', and the rest of the line stays" {
	local label
	label=$(printf 'é%.0s' {1..200})
	bg_supervise one -o "$label" "$A"
	run --separate-stderr tvl acquire "$A" -- true
	# 128 bytes of two-byte characters: 64 of them.
	assert_error 75 "owner $(printf 'é%.0s' {1..64})..., since " "); see 'virlock inspect' for more"
	bg_finish one
}
