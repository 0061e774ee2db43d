#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# sanlock_handoff.bats: a lease handed off from host 1 to host 2 (two daemons), by its lease version.

load helpers
load sanlock_helpers

bats_require_minimum_version 1.5.0

setup_file() {
	sanlock_setup_file
}

teardown_file() {
	sanlock_hosts_stop
}

setup() {
	sanlock_setup
	touch "$WORK/disk.img"
	D=$WORK/disk.img
}

# waiter_on FILE: host 2 shows a waiter for FILE's lease.
waiter_on() {
	h2 inspect -J "$1" | jq -e '.waiters | length > 0' >/dev/null
}

teardown() {
	[ -z "${holder:-}" ] || kill -TERM "$holder" 2>/dev/null || true
	[ -n "${SL_SKIP:-}" ] && return 0
	h1 release --all >/dev/null 2>&1 || true
	h2 release --all >/dev/null 2>&1 || true
}

@test "sanlock: a clean hand-off from host 1 to host 2" {
	run h1 acquire --owner vm1 "$D"
	assert_success
	run --separate-stderr h1 release --handoff "$D"
	assert_success
	tok=$output
	[[ $tok =~ ^vlh1:s:[0-9a-f]{32}=[0-9a-f]+$ ]]
	run h2 acquire --expect-state "$tok" "$D" -- true
	assert_success
	# Used once: the lease version went on.
	run h1 acquire --expect-state "$tok" "$D" -- true
	assert_failure 75
	assert_output --partial "$D: the lease changed hands since the hand-off (another holder, or a prune)"
}

@test "sanlock: a third party in between makes host 2 refuse" {
	h1 acquire "$D"
	tok=$(h1 release --handoff "$D")
	# The third party takes it and lets go again (on host 1 here).
	run h1 acquire "$D" -- true
	assert_success
	run h2 acquire --expect-state "$tok" "$D" -- true
	assert_failure 75
	assert_output "virlock: $D: the lease changed hands since the hand-off (another holder, or a prune); the hand-off state is gone, nothing was acquired; see 'virlock inspect $D'"
	# The third party holds it: named.
	h1 acquire "$D"
	run h2 acquire --expect-state "$tok" "$D" -- true
	assert_failure 75
	assert_output --partial "host 1"
	run h2 acquire --expect-state "${tok/vlh1:s:/vlh1:f:}" "$D" -- true
	assert_failure 64
}

@test "sanlock: a prune and a third party on the lease file made again make host 2 refuse" {
	h1 acquire "$D"
	tok=$(h1 release --handoff "$D")
	# The prune removes the free lease file; the third party's acquire
	# makes it again, whose version starts again where the hand-off's was.
	run h1 prune
	assert_success
	run h1 acquire "$D" -- true
	assert_success
	run h2 acquire --expect-state "$tok" "$D" -- true
	assert_failure 75
	assert_output --partial "$D: the lease changed hands since the hand-off (another holder, or a prune)"
}

@test "sanlock: a prune alone voids a hand-off" {
	h1 acquire "$D"
	tok=$(h1 release --handoff "$D")
	run h1 prune
	assert_success
	run h2 acquire --expect-state "$tok" "$D" -- true
	assert_failure 75
	assert_output --partial "(another holder, or a prune)"
}

@test "sanlock: two leases handed off, the second taken in between: the first stays handed off" {
	touch "$WORK/disk2.img"
	E=$WORK/disk2.img
	h1 acquire "$D" "$E"
	tok=$(h1 release --handoff "$D" "$E")
	run h1 acquire "$E" -- true
	assert_success
	run h2 acquire --expect-state "$tok" "$D" "$E" -- true
	assert_failure 75
	# The first lease was not acquired: its part of the token still works.
	n=$(h1 hash "$D")
	[[ $tok =~ :$n=([0-9a-f]+) ]]
	run h2 acquire --expect-state "vlh1:s:$n=${BASH_REMATCH[1]}" "$D" -- true
	assert_success
}

@test "sanlock: an expecting acquire of two leases waits out a busy second one, the first still handed off" {
	touch "$WORK/disk2.img"
	E=$WORK/disk2.img
	h1 acquire "$D"
	tokd=$(h1 release --handoff "$D")
	# E is held on host 1 by a process that tells its hand-off state as it
	# holds it: an expecting acquire finds E busy at the version it expects.
	mkfifo "$WORK/holdE.out"
	SANLOCK_RUN_DIR=$RUN1 "$HELPERS/lockhold" -H "$LS" "$E" 1<>"$WORK/holdE.out" 2>"$WORK/holdE.err" </dev/null 3>&- &
	holder=$!
	read -r -t 20 word toke <>"$WORK/holdE.out"
	assert_equal "$word" handoff
	read -r -t 20 word <>"$WORK/holdE.out"
	assert_equal "$word" ready
	# One token of both, the names in order.
	tok=vlh1:s:$(printf '%s\n' "${tokd#vlh1:s:}" "${toke#vlh1:s:}" | sort | paste -sd:)
	h2 acquire --expect-state "$tok" --wait 60 "$D" "$E" -- true >"$WORK/y.out" 2>&1 3>&- &
	y=$!
	# Its first try took D (raising D's version) and gave it back: it waits.
	wait_for 20 waiter_on "$E"
	kill -TERM "$holder"
	wait "$holder"
	rc=0
	wait "$y" || rc=$?
	cat "$WORK/y.out"
	assert_equal "$rc" 0
}

@test "sanlock: a lease file of an older version, without an identity, is acquired and handed off" {
	h1 acquire "$D" -- true
	local lease
	lease=$LS/$(h1 hash "$D")
	# Zero its identity, as a lease file made before it had one.
	dd if=/dev/zero of="$lease" bs=8 count=1 seek=$(((1 << 20) / 8 - 1)) conv=notrunc status=none
	run h1 acquire "$D" -- true
	assert_success
	h1 acquire "$D"
	tok=$(h1 release --handoff "$D")
	run h2 acquire --expect-state "$tok" "$D" -- true
	assert_success
	run h2 acquire --expect-state "$tok" "$D" -- true
	assert_failure 75
}
