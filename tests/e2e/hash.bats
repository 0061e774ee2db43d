#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# hash.bats: virlock hash, the lock file name of each resource.

bats_require_minimum_version 1.5.0

load helpers
load list_helpers

setup() {
	common_setup
	list_setup
	mkdir -p "$WORK/dir"
	touch "$WORK/disk"
}

teardown() {
	stop_all
	stop_holders
}

md5() {
	printf '%s' "$1" | md5sum | cut -d' ' -f1
}

@test "hash prints the MD5 of the canonical path" {
	run vl hash "$WORK/disk"
	assert_success
	assert_output "$(md5 "$(realpath "$WORK/disk")")"
	[[ $output =~ ^[0-9a-f]{32}$ ]]
}

@test "hash gives one name for every spelling of one file" {
	local want
	want=$(md5 "$(realpath "$WORK/disk")")
	ln -s disk "$WORK/link"
	ln -s "$WORK" "$WORK/dir/up"
	cd "$WORK/dir"
	run vl hash ../disk "$WORK/link" "$WORK/dir/../disk" up/disk "$WORK//disk"
	assert_success
	assert_output "$(printf '%s\n' "$want" "$want" "$want" "$want" "$want")"
}

@test "hash --literal hashes the string exactly as given" {
	run vl hash --literal "lease:db/primary" "./disk" ""
	assert_failure 64
	assert_line --index 0 "$(md5 "lease:db/primary")"
	assert_line --index 1 "$(md5 "./disk")"
	assert_output --partial "virlock: hash: an empty resource name; give a path or a lease name with --literal"
	run vl hash --literal "$(printf 'a b\tc')"
	assert_success
	assert_output "$(md5 "$(printf 'a b\tc')")"
}

@test "hash names the lock file an acquire makes" {
	hold h1 "$WORK/disk"
	run vl hash "$WORK/disk"
	assert_success
	[ -f "$LS/$output" ]
	assert_equal "$(cat "$LS/$output")" "$(realpath "$WORK/disk")"
}

@test "hash of a missing path prints the others and exits 66 naming it" {
	run vl hash "$WORK/disk" "$WORK/missing" "$WORK/dir"
	assert_failure 66
	assert_line --index 0 "$(md5 "$(realpath "$WORK/disk")")"
	assert_output --partial "virlock: $WORK/missing: "
	assert_output --partial "; give an existing path, or --literal for a string resource"
	assert_line "$(md5 "$(realpath "$WORK/dir")")"
	run vl hash "$WORK/missing"
	assert_failure 66
	[ "${#lines[@]}" -eq 1 ]
}

@test "hash wants a resource, and does not touch the lockspace" {
	run vl hash
	assert_failure 64
	assert_output --partial "no resource given"
	run vl hash "$WORK/disk"
	assert_success
	[ ! -e "$LS" ]
	run "$VIRLOCK" --direct hash "$WORK/disk"
	assert_success
	assert_output "$(md5 "$(realpath "$WORK/disk")")"
	run vl hash --bogus
	assert_failure 64
}

@test "hash --help shows usage, summary, options and the man page" {
	run vl hash --help
	assert_success
	assert_line --index 0 "Usage: virlock hash [OPTION...] RESOURCE..."
	assert_line --index 1 --partial "Print the lock file name"
	assert_output --partial "--literal"
	assert_equal "${lines[-1]}" "See virlock(1)."
}

sha256() {
	printf '%s' "$1" | sha256sum | cut -d' ' -f1
}

@test "hash --hash sha256 prints the SHA-256 of the path as spelled, made absolute" {
	ln -s disk "$WORK/link"
	cd "$WORK"
	run "$VIRLOCK" --hash sha256 hash "$WORK/disk" "$WORK/link" disk ./disk "$WORK//disk"
	assert_success
	assert_output "$(printf '%s\n' "$(sha256 "$WORK/disk")" "$(sha256 "$WORK/link")" \
		"$(sha256 "$PWD/disk")" "$(sha256 "$PWD/./disk")" "$(sha256 "$WORK//disk")")"
	[[ ${lines[0]} =~ ^[0-9a-f]{64}$ ]]
	run "$VIRLOCK" --hash=md5 hash "$WORK/link"
	assert_success
	assert_output "$(md5 "$(realpath "$WORK/disk")")"
	run "$VIRLOCK" --hash sha256 hash --literal "a lease"
	assert_output "$(sha256 "a lease")"
}

@test "--hash takes md5 or sha256; another is one line and 64" {
	run -64 "$VIRLOCK" --hash sha1 hash "$WORK/disk"
	assert_output "virlock: --hash sha1: unknown hash; give md5 (the default) or sha256 (libvirt's virtlockd)"
	run -64 "$VIRLOCK" --hash "" list
	assert_output --partial "unknown hash"
}

@test "an empty SHA-256 lock file held by another program: no path, not corrupt, busy naming it" {
	local name
	name=$(sha256 "$WORK/disk")
	mkdir -m 0700 "$LS"
	mkfifo "$WORK/ready"
	# A POSIX write lock on byte 0 of an empty file, as virtlockd takes one.
	# (Started by bg_start, so that teardown stops it if an assertion fails.)
	bg_start py "$WORK/py.out" python3 -c 'import fcntl, os, signal, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 0)
open(sys.argv[2], "w").close()
signal.pause()' "$LS/$name" "$WORK/ready"
	local pid
	pid=$(pid_of py)
	cat "$WORK/ready"
	run "$VIRLOCK" --hash sha256 -L "$LS" inspect "$WORK/disk"
	assert_success
	assert_line "path:      unknown (empty lock file, as virtlockd leaves them)"
	assert_line "integrity: empty"
	assert_line "holder:    $pid"
	run "$VIRLOCK" --hash sha256 -L "$LS" list -J -o name,path,pid,status
	assert_success
	jq_ok '.locks == [{"name": $name, "path": null, "pid": $pid, "status": "empty"}]' \
		--arg name "$name" --argjson pid "$pid"
	run "$VIRLOCK" --hash sha256 -L "$LS" list -o path,pid
	assert_line --regexp "^unknown \(empty lock file\) +$pid\$"
	run -75 "$VIRLOCK" --hash sha256 -L "$LS" acquire "$WORK/disk"
	assert_output "virlock: $WORK/disk: held by python3 (pid $pid, not a virlock holder); see 'virlock inspect' for more, or wait with -w"
	kill "$pid"
	wait "$pid" || true
	run "$VIRLOCK" --hash sha256 -L "$LS" acquire "$WORK/disk" -- cat "$LS/$name"
	assert_success
	assert_output "$WORK/disk"
}

@test "--hash sha256 on a sanlock lockspace is a usage error: its leases are named by MD5" {
	mkdir -m 0700 "$LS"
	printf 'sanlock\nvl\n' >"$LS/.backend"
	run -64 "$VIRLOCK" --hash sha256 -L "$LS" list
	assert_output "virlock: lockspace $LS: --hash sha256 is for fcntl lockspaces, as virtlockd's; a sanlock lockspace names its leases by MD5: leave --hash out"
}
