#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# input.bats: what counts as one resource named twice: usage errors, said at once.
# shellcheck disable=SC2154 # stderr is set by bats' run

load helpers
bats_require_minimum_version 1.5.0

setup() {
	common_setup
	cd "$WORK" || return 1
	touch d.img
}

@test "direct mode: two hard links of one file are one resource named twice: 64 at once" {
	ln d.img d2.img
	run --separate-stderr timeout -k 2 10 "$VIRLOCK" --direct acquire -w 2 d.img d2.img -- true
	assert_failure 64
	assert_equal "$stderr" "virlock: d2.img: names the same resource as d.img; name it once"
	run --separate-stderr timeout -k 2 10 "$VIRLOCK" --direct acquire d.img d2.img -- true
	assert_failure 64
	# In a lockspace, two paths are two resources, whatever their inode.
	run --separate-stderr timeout -k 2 10 "$VIRLOCK" -L "$LS" acquire d.img d2.img -- true
	assert_success
}
