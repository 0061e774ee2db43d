#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# hostile.bats: bad command lines and hostile resource names: exit status and one clear line on stderr.

# shellcheck disable=SC2030,SC2031 # each test is a subshell
# shellcheck disable=SC2154 # stderr_lines is set by bats' run
load helpers
load acquire_helpers
load hostile_helpers
bats_require_minimum_version 1.5.0

setup() {
	hostile_setup
	touch "$WORK/a.img"
	A=$WORK/a.img
}

teardown() {
	hostile_teardown
}

@test "unknown global options: 64, the option named, --help suggested" {
	local opt
	for opt in --bogus -Z --lockspacex --direct=1; do
		run --separate-stderr tvl "$opt" list
		assert_error 64 "$opt" "try 'virlock --help'"
	done
	run --separate-stderr tvl_bare --bogus
	assert_error 64 "--bogus: unknown option" "try 'virlock --help'"
	assert_clean
}

@test "unknown options of each command: 64, the command and option named, its --help suggested" {
	local cmd
	for cmd in acquire release list inspect hash prune init; do
		run --separate-stderr tvl "$cmd" --bogus "$A"
		assert_error 64 "$cmd: --bogus: unknown option" "try 'virlock $cmd --help'"
		run --separate-stderr tvl "$cmd" -Z "$A"
		assert_error 64 "$cmd: -Z: unknown option" "try 'virlock $cmd --help'"
	done
	assert_clean
}

@test "an unknown command or none at all: 64 with --help suggested" {
	run --separate-stderr tvl frobnicate "$A"
	assert_error 64 "frobnicate: unknown command" "try 'virlock --help'"
	run --separate-stderr tvl
	assert_error 64 "no command given" "try 'virlock --help'"
	run --separate-stderr tvl_bare -L
	assert_error 64 "-L: missing argument" "try 'virlock --help'"
	run --separate-stderr tvl_bare --direct -L "$LS" list
	assert_error 64 "--lockspace and --direct" "give one"
	assert_clean
}

@test "missing arguments: 64, what is missing named, --help suggested" {
	run --separate-stderr tvl acquire
	assert_error 64 "acquire: no resource given" "try 'virlock acquire --help'"
	run --separate-stderr tvl acquire -s -n
	assert_error 64 "no resource given"
	run --separate-stderr tvl acquire "$A" --
	assert_error 64 "no command after '--'" "try 'virlock acquire --help'"
	run --separate-stderr tvl inspect
	assert_error 64 "inspect: no resource given" "try 'virlock inspect --help'"
	run --separate-stderr tvl hash
	assert_error 64 "hash: no resource given" "try 'virlock hash --help'"
	run --separate-stderr tvl release
	assert_error 64 "release: give resources, --owner LABEL, --pid PID or --all" "try 'virlock release --help'"
	local args
	for args in "acquire -o" "acquire -E" "acquire --for-pid" "release --pid" "release --owner" \
		"list -o" "list -p" "list --owner" "init --host-id" "init --backend"; do
		# shellcheck disable=SC2086 # the words of the command line
		run --separate-stderr tvl $args
		assert_error 64 "${args#* }: missing argument" "try 'virlock ${args%% *} --help'"
	done
	assert_clean
}

@test "bad option values: 64 with the value named" {
	run --separate-stderr tvl acquire -E abc "$A"
	assert_error 64 "-E abc: not an exit status; give a decimal number from 1 to 255"
	run --separate-stderr tvl acquire -E 300 "$A"
	assert_error 64 "-E 300: not an exit status"
	run --separate-stderr tvl acquire -w 1e12 "$A"
	assert_error 64 "--wait 1e12: invalid seconds" "give a number from 0 to 1e9"
	run --separate-stderr tvl acquire --for-pid -1 "$A"
	assert_error 64 "--for-pid -1: not a process id; give a positive pid"
	run --separate-stderr tvl acquire -o $'vm\n1' "$A"
	assert_error 64 "--owner: a label has no control characters"
	run --separate-stderr tvl acquire -o $'vm\e[2J' "$A"
	assert_error 64 "--owner: a label has no control characters"
	run --separate-stderr tvl release --pid -3
	assert_error 64 "--pid -3: not a process id"
	run --separate-stderr tvl list -o BOGUS
	assert_error 64 "BOGUS: unknown column" "virlock list --help"
	run --separate-stderr tvl list -p abc
	assert_error 64 "--pid abc: not a process id"
	run --separate-stderr tvl inspect "$A" "$A"
	assert_error 64 "give one resource only"
	run --separate-stderr tvl prune extra
	assert_error 64 "extra: unexpected argument"
	run --separate-stderr tvl init --backend bogus
	assert_error 64 "bogus: unknown backend" "give fcntl or sanlock"
	assert_clean
}

@test "an empty resource is refused by acquire and hash with 64" {
	run --separate-stderr tvl acquire ""
	assert_error 64 "empty resource" "give a path or a lease name"
	run --separate-stderr tvl acquire --literal "" -- true
	assert_error 64 "empty resource"
	run --separate-stderr tvl acquire "$A" "" -- true
	assert_error 64 "empty resource"
	run --separate-stderr tvl hash ""
	assert_error 64 "empty resource" "give a path or a lease name"
	[ -z "$(ls "$LS")" ]
	assert_clean
}

@test "an empty resource is refused by inspect with 64 and a message that says it is empty" {
	run --separate-stderr tvl inspect ""
	assert_error 64 "empty"
	run --separate-stderr tvl inspect --literal ""
	assert_error 64 "empty"
	assert_clean
}

@test "an empty resource is refused by release with 64 and a message that says it is empty" {
	run --separate-stderr tvl release ""
	assert_error 64 "empty"
	run --separate-stderr tvl release --literal ""
	assert_error 64 "empty"
	assert_clean
}

@test "an empty lockspace path is refused with 64" {
	run --separate-stderr tvl_bare -L "" list
	assert_error 64 "lockspace"
	run --separate-stderr env VIRLOCK_LOCKSPACE= "$VIRLOCK" -L "" acquire --literal x -- true
	assert_error 64 "lockspace"
	assert_clean
}

@test "a resource with a newline: held and listed escaped, on one line" {
	local res=$WORK/$'two\nlines.img'
	touch "$res"
	tvl acquire "$res"
	tvl acquire --literal $'lease\nx'
	run tvl list -r -n -o PATH,MODE
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_output --partial "two\\x0alines.img exclusive"
	assert_output --partial "lease\\x0ax exclusive"
	run tvl list -J
	assert_success
	jq -e --arg p "$(realpath "$res")" '[.locks[].path] | index($p) != null' <<<"$output"
	jq -e '[.locks[].path] | index("lease\nx") != null' <<<"$output"
	run tvl acquire -n "$res" -- true
	assert_failure 75
	run tvl release "$res"
	assert_success
	run tvl release --literal $'lease\nx'
	assert_success
	assert_clean
}

@test "an error about a resource with a newline stays on one line" {
	run --separate-stderr tvl acquire "$WORK/"$'no\nsuch.img' -- true
	assert_error 66 "such.img"
	run --separate-stderr tvl release "$WORK/"$'no\nsuch.img'
	assert_error 66 "such.img"
	local res=$WORK/$'two\nlines.img'
	touch "$res"
	tvl acquire "$res"
	run --separate-stderr tvl acquire -n "$res" -- true
	assert_error 75 "lines.img" "see 'virlock inspect'"
	run tvl release "$res"
	assert_success
	assert_clean
}

@test "non-UTF-8 bytes in a path or a literal: held, listed escaped, valid JSON" {
	local res=$WORK/$'bad\xff\xfename.img'
	touch "$res"
	tvl acquire "$res"
	tvl acquire --literal $'\xfe\xff-lease'
	run tvl list -r -n -o PATH
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_output --partial 'bad\xff\xfename.img'
	assert_output --partial '\xfe\xff-lease'
	run tvl list -J
	assert_success
	jq -e '.locks | length == 2' <<<"$output"
	run tvl inspect "$res"
	assert_success
	assert_output --partial 'bad\xff\xfename.img'
	run --separate-stderr tvl acquire "$WORK/"$'missing\xff.img' -- true
	assert_error 66 "missing"
	run tvl release --all
	assert_success
	assert_clean
}

@test "paths and names longer than PATH_MAX: 64, name too long, nothing created" {
	local long
	long=$(printf 'a%.0s' {1..5000})
	run --separate-stderr tvl acquire "$WORK/$long" -- true
	assert_error 64 "name too long"
	run --separate-stderr tvl acquire --literal "$long" -- true
	assert_error 64 "name too long"
	run --separate-stderr tvl hash "$WORK/$long"
	assert_error 64 "name too long"
	run --separate-stderr tvl inspect "$WORK/$long"
	assert_error 64
	run --separate-stderr tvl release "$WORK/$long"
	assert_error 64 "name too long"
	run --separate-stderr tvl_bare -L "$WORK/$long" list
	assert_error 64 "lockspace" "name too long"
	# A path whose every component is short but that is too long as a whole.
	local deep=$WORK/deep
	mkdir -p "$deep"
	cd "$deep"
	for _ in {1..24}; do
		mkdir "$(printf 'd%.0s' {1..200})"
		cd "d"*
	done
	touch disk.img
	run --separate-stderr tvl acquire "$PWD/disk.img" -- true
	assert_error 64 "name too long"
	cd "$WORK"
	[ -z "$(ls "$LS")" ]
	assert_clean
}

@test "a literal of exactly 4096 bytes is a valid resource, 4097 is not" {
	local s4096 s4097
	s4096=$(printf 'b%.0s' {1..4096})
	s4097=${s4096}b
	run tvl acquire --literal "$s4096" -- true
	assert_success
	run --separate-stderr tvl acquire --literal "$s4097" -- true
	assert_error 64 "name too long"
	assert_clean
}

@test "a symlink loop as a resource or as the lockspace: refused, not followed for ever" {
	ln -s loop1 "$WORK/loop2"
	ln -s loop2 "$WORK/loop1"
	run --separate-stderr tvl acquire "$WORK/loop1" -- true
	assert_error 66 "$WORK/loop1" "links"
	run --separate-stderr tvl hash "$WORK/loop1"
	assert_error 66 "$WORK/loop1"
	run --separate-stderr tvl_bare -L "$WORK/loop1" list
	assert_error 66 "lockspace $WORK/loop1" "links"
	run --separate-stderr tvl_bare -L "$WORK/loop1/sub" acquire "$A" -- true
	assert_failure
	[ "${#stderr_lines[@]}" -eq 1 ]
	[ -z "$(ls "$LS")" ]
	assert_clean
}
