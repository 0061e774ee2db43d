#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# libvirt.bats: --hash sha256 next to a real libvirt host, libvirtd with virtlockd (lock_manager = "lockd").

bats_require_minimum_version 1.5.0

load helpers
load list_helpers
load libvirt_helpers

setup_file() {
	lv_setup_file
}

teardown_file() {
	lv_stop
}

setup() {
	lv_setup vl-test
}

teardown() {
	vlv release --all >/dev/null 2>&1 || true
	lv_drop "$DOM"
}

# vlv ARGS...: virlock on virtlockd's file_lockspace_dir, naming by SHA-256.
vlv() {
	"$VIRLOCK" --hash sha256 -L "$LV/locks" "$@"
}

sha256() {
	printf '%s' "$1" | sha256sum | cut -d' ' -f1
}

@test "a running domain's disk: inspect, acquire, list and hash all see virtlockd's lock" {
	lv_virsh start "$DOM"
	[ "$(lv_state "$DOM")" = running ]
	local pid name
	pid=$(cat "$LV/virtlockd.pid")
	# The file virtlockd made: SHA-256 of the disk path as the XML spells it, empty.
	name=$(sha256 "$DISK")
	[ -f "$LV/locks/$name" ] && [ ! -s "$LV/locks/$name" ]
	run vlv hash "$DISK"
	assert_output "$name"

	run vlv inspect "$DISK"
	assert_success
	assert_line "name:      $name"
	assert_line "path:      unknown (empty lock file, as virtlockd leaves them)"
	assert_line "integrity: empty"
	assert_line "state:     exclusive"
	assert_line "holder:    $pid"
	assert_line "  command: virtlockd"
	run vlv inspect -J "$DISK"
	jq_ok '.path == null and .integrity == "empty" and .holders[0].pid == $pid and
		.holders[0].command == "virtlockd"' --argjson pid "$pid"

	# Another lockspace knows nothing of virtlockd's, but the image check sees QEMU.
	run -75 "$VIRLOCK" -L "$BATS_TEST_TMPDIR/other" acquire "$DISK" -- true
	assert_output --regexp "^virlock: $DISK: in use by qemu-system-x86 \(pid [0-9]+\), which holds write; "
	run -75 vlv acquire "$DISK" -- true
	assert_output "virlock: $DISK: held by virtlockd (pid $pid, not a virlock holder); see 'virlock inspect' for more, or wait with -w"
	run -75 vlv acquire --shared "$DISK" 3>&-
	assert_output --partial "held by virtlockd (pid $pid, not a virlock holder)"

	run vlv list -o name,path,mode,pid,command
	assert_success
	assert_line --regexp "^$name +unknown \(empty lock file\) +exclusive +$pid +virtlockd\$"
	run vlv list -J
	jq_ok '.locks == [{"path": null, "mode": "exclusive", "pid": $pid, "owner": null,
		"command": "virtlockd", "since": null}]' --argjson pid "$pid"

	# virtlockd removes the lock files it made when it releases them.
	lv_virsh destroy "$DOM"
	[ ! -e "$LV/locks/$name" ]
	run -66 vlv inspect "$DISK"
	assert_output "virlock: $DISK: no lock file in $LV/locks; nothing has locked it since the last prune"
	run vlv acquire "$DISK" -- cat "$LV/locks/$name"
	assert_success
	assert_output "$DISK"
}

@test "while virlock holds a disk, virsh start fails with libvirt's busy error; released, it starts" {
	local name
	name=$(sha256 "$DISK")
	vlv acquire "$DISK" 3>&-
	[ "$(cat "$LV/locks/$name")" = "$DISK" ]
	run lv_virsh start "$DOM"
	assert_failure
	assert_output --partial "resource busy: Lockspace resource '$name' is locked"
	[ "$(lv_state "$DOM")" = "shut off" ]

	vlv release "$DISK"
	lv_virsh start "$DOM"
	[ "$(lv_state "$DOM")" = running ]
	# The path virlock wrote is kept: virtlockd locks the file as it is.
	run vlv inspect "$DISK"
	assert_line "path:      $DISK"
	assert_line "integrity: verified"
	assert_line "holder:    $(cat "$LV/virtlockd.pid")"
	run -75 vlv acquire "$DISK" -- true
	assert_output --partial "held by virtlockd"
}
