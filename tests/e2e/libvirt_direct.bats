#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# libvirt_direct.bats: virlock --direct next to virtlockd without file_lockspace_dir, which locks the images themselves.

bats_require_minimum_version 1.5.0

load helpers
load libvirt_helpers

setup_file() {
	lv_setup_file direct
}

teardown_file() {
	lv_stop
}

setup() {
	lv_setup vl-direct
}

teardown() {
	[ -z "${HOLDER:-}" ] || kill "$HOLDER" 2>/dev/null || true
	lv_drop "$DOM"
}

# holds PID: inspect --direct names PID as the holder of $DISK.
holds() {
	"$VIRLOCK" --direct inspect "$DISK" 2>/dev/null | grep -qx "holder:    $1"
}

@test "virtlockd locks byte 0 of a running domain's image: --direct inspect and acquire name it" {
	lv_virsh start "$DOM"
	local pid
	pid=$(cat "$LV/virtlockd.pid")
	run "$VIRLOCK" --direct inspect "$DISK"
	assert_success
	assert_line "state:     exclusive"
	assert_line "holder:    $pid"
	assert_line "  command: virtlockd"
	# The lock is virtlockd's, on byte 0 of the image; QEMU's own are elsewhere.
	run grep -E "^[0-9]+: POSIX +ADVISORY +WRITE +$pid [0-9a-f:]+:$(stat -c %i "$DISK") 0 0\$" /proc/locks
	assert_success
	# inspect names both: virtlockd's byte 0, and QEMU's image locks, decoded.
	run "$VIRLOCK" --direct inspect "$DISK"
	assert_line "  virtlockd (pid $pid) posix exclusive bytes 0-0"
	assert_line --regexp "^  qemu-system-x86 \(pid [0-9]+\) holds consistent-read, write(, write-unchanged)?, resize; does not share write, resize\$"
	run -75 "$VIRLOCK" --direct acquire "$DISK" -- true
	assert_output "virlock: $DISK: held by virtlockd (pid $pid, not a virlock holder); see 'virlock inspect' for more, or wait with -w"
	lv_virsh destroy "$DOM"
	run "$VIRLOCK" --direct acquire "$DISK" -- true
	assert_success
}

@test "while virlock --direct holds an image, virsh start fails with libvirt's busy error" {
	"$VIRLOCK" --direct acquire "$DISK" -- sleep 60 3>&- &
	HOLDER=$!
	wait_for 10 holds "$HOLDER"
	run lv_virsh start "$DOM"
	assert_failure
	assert_output --partial "resource busy: Lockspace resource '$DISK' is locked"
	[ "$(lv_state "$DOM")" = "shut off" ]
	kill "$HOLDER"
	wait "$HOLDER" || true
	HOLDER=
	lv_virsh start "$DOM"
	[ "$(lv_state "$DOM")" = running ]
}
