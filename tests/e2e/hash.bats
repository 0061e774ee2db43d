#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# hash.bats: virlock hash, the lock file name of each resource.

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
