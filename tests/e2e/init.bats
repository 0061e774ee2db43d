#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# init.bats: virlock init, making an fcntl lockspace explicitly.

load helpers
load list_helpers

setup() {
	common_setup
	list_setup
}

teardown() {
	stop_all
	stop_holders
}

@test "init makes the lockspace directory with mode 0700, and again says it exists" {
	[ ! -e "$LS" ]
	run vl init
	assert_success
	assert_output "created fcntl lockspace $LSDIR"
	[ -d "$LS" ]
	assert_equal "$(stat -c %a "$LS")" 700
	run vl init
	assert_success
	assert_output "lockspace $LSDIR exists already"
	assert_equal "$(stat -c %a "$LS")" 700
}

@test "virlock(1) says what init prints" {
	command -v mandoc >/dev/null || skip "mandoc is missing"
	run vl init
	assert_output "created fcntl lockspace $LSDIR"
	run vl init
	assert_output "lockspace $LSDIR exists already"
	local text
	# Without overstrike (bold, underline): no col(1) needed, which minimal roots lack.
	text=$(mandoc -Tascii "$BATS_TEST_DIRNAME/../../man/virlock.1" | sed "s/.\x08//g" | tr -s ' \n' '  ')
	[[ $text == *"created fcntl lockspace dir"*"lockspace dir exists already"* ]] ||
		fail "virlock(1) does not say what init prints"
	[[ $text != *"and print its path"* ]] || fail "virlock(1) still says init prints its path"
}

@test "init makes missing parent directories too" {
	run "$VIRLOCK" -L "$WORK/a/b/ls" init
	assert_success
	[ -d "$WORK/a/b/ls" ]
	assert_equal "$(stat -c %a "$WORK/a/b/ls")" 700
}

@test "init without -L makes the default lockspace, \$VIRLOCK_LOCKSPACE" {
	export VIRLOCK_LOCKSPACE=$WORK/default-ls
	run "$VIRLOCK" init
	assert_success
	assert_output "created fcntl lockspace $(realpath "$WORK")/default-ls"
	[ -d "$WORK/default-ls" ]
}

@test "init --backend fcntl is the default; -q prints nothing" {
	run vl -q init --backend fcntl
	assert_success
	assert_output ""
	[ -d "$LS" ]
}

@test "init --backend sanlock needs a host id, 1-2000, a usage error (sanlock.bats has the rest)" {
	run vl init --backend sanlock
	assert_failure 64
	assert_output --partial "--backend sanlock needs --host-id N, 1-2000"
	run vl init --backend sanlock --host-id 0
	assert_failure 64
	run vl init --backend sanlock --host-id 2001
	assert_failure 64
	[ ! -e "$LS" ]
}

@test "init refuses an unknown backend, --host-id for fcntl, arguments and --direct" {
	run vl init --backend flock
	assert_failure 64
	assert_output --partial "flock: unknown backend; give fcntl or sanlock"
	run vl init --host-id 3
	assert_failure 64
	assert_output --partial "only a sanlock lockspace has host ids"
	run vl init "$WORK/x"
	assert_failure 64
	run "$VIRLOCK" --direct init
	assert_failure 64
	run vl init --host-id nope
	assert_failure 64
	[ ! -e "$LS" ]
}

@test "init refuses an unsafe existing directory and a file" {
	mkdir -m 0777 "$LS"
	chmod 0777 "$LS"
	run vl init
	assert_failure 77
	assert_output --partial "lockspace $LS"
	assert_output --partial "world-writable"
	touch "$WORK/file"
	run "$VIRLOCK" -L "$WORK/file" init
	assert_failure
	assert_output --partial "$WORK/file"
	[ "${#lines[@]}" -eq 1 ]
}

@test "a lockspace made by init is used by holders and list" {
	vl -q init
	hold h1 -o vm1 "$WORK"
	rows -o PATH,OWNER
	assert_output "$(realpath "$WORK") vm1"
}

@test "leave of a lockspace path that does not resolve is 66 with advice that fits leave" {
	echo x >"$WORK/file"
	run "$VIRLOCK" -L "$WORK/file/ls" leave
	assert_failure 66
	assert_output "virlock: leave: lockspace $WORK/file/ls: no such directory: a component of the path is not a directory; check the path"
	run "$VIRLOCK" -L "$WORK/nonexist/x" leave
	assert_failure 66
	assert_output "virlock: leave: lockspace $WORK/nonexist/x: no such directory; check the path (only a sanlock lockspace this host joined can be left)"
	# The lockspace itself a file is not a path that fails to resolve.
	run "$VIRLOCK" -L "$WORK/file" leave
	assert_failure 71
	assert_output --partial "not a directory"
	[ "${#lines[@]}" -eq 1 ]
}

@test "init --help shows usage, summary, options and the man page" {
	run vl init --help
	assert_success
	assert_line --index 0 "Usage: virlock init [OPTION...]"
	assert_line --index 1 --partial "Make a lockspace explicitly"
	assert_output --partial "--backend=BACKEND"
	assert_output --partial "--host-id=N"
	assert_equal "${lines[-1]}" "See virlock(1)."
}
