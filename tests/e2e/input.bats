#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# input.bats: what counts as a number of seconds and as one resource named twice: usage errors, said at once.
# shellcheck disable=SC2154 # stderr is set by bats' run

load helpers
bats_require_minimum_version 1.5.0

setup() {
	common_setup
	cd "$WORK" || return 1
	touch d.img
}

@test "acquire -w with a number too large or too small for a double is a usage error, not a resource" {
	local w
	for w in 1e400 1e-400 2e9 1E400 5e+400; do
		run --separate-stderr timeout -k 2 10 "$VIRLOCK" -L "$LS" acquire -w "$w" d.img -- true
		assert_failure 64
		assert_equal "$stderr" "virlock: --wait $w: invalid seconds; give a number from 0 to 1e9, for example --wait=0.5, or -w alone to wait for ever"
		run --separate-stderr timeout -k 2 10 "$VIRLOCK" -L "$LS" acquire "--wait=$w" d.img -- true
		assert_failure 64
	done
	# A number by its form: digits, a point, an exponent.
	run --separate-stderr timeout -k 2 10 "$VIRLOCK" -L "$LS" acquire -w 5E-1 d.img -- true
	assert_success
	# A word that is not one is the first resource, and -w waits for ever.
	run --separate-stderr timeout -k 2 10 "$VIRLOCK" -L "$LS" acquire -w 1e d.img -- true
	assert_failure 66
	assert_equal "$stderr" "virlock: 1e: no such file; give an existing path, or --literal for a string resource"
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
