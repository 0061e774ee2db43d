#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# completion.bats: the bash completion of virlock, called as bash calls it, against real holders.

# shellcheck disable=SC2030,SC2031,SC2034 # each test is a subshell; COMP_* are read by the completion
load helpers
load acquire_helpers

COMPLETION=${COMPLETION:-$BATS_TEST_DIRNAME/../../completions/virlock}
BASH_COMPLETION=${BASH_COMPLETION:-/usr/share/bash-completion/bash_completion}

setup() {
	common_setup
	[ -r "$BASH_COMPLETION" ] || skip "bash-completion is not installed"
	# The completion runs "virlock": make it this build (or the command that
	# runs it, as tests/valgrind-virlock does).
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	ln -s "$(realpath "$VIRLOCK")" "$BATS_TEST_TMPDIR/bin/virlock"
	PATH=$BATS_TEST_TMPDIR/bin:$PATH
	set +eu
	# shellcheck source=/dev/null
	source "$BASH_COMPLETION"
	# shellcheck source=completions/virlock
	source "$COMPLETION"
	set -e
	touch "$WORK/a.img" "$WORK/b.img" "$WORK/my disk.img" "$WORK/été\\.img"
	A=$(realpath "$WORK/a.img")
	B=$(realpath "$WORK/b.img")
	SPACE=$(realpath "$WORK/my disk.img")
	ODD=$(realpath "$WORK/été\\.img")
}

teardown() {
	vl release --all 2>/dev/null || true
	cleanup_processes
}

# comp WORD...: complete the last WORD of the line "virlock WORD..." (give ""
# to complete an empty word), as bash does, leaving the candidates in COMPREPLY.
comp() {
	COMP_WORDS=(virlock "$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="${COMP_WORDS[*]}"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	# compopt fails outside a real completion: do not let that end the test.
	set +e
	_virlock virlock "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
	set -e
}

# replies: COMPREPLY sorted, one a line, for assert_output.
replies() {
	if [ ${#COMPREPLY[@]} -gt 0 ]; then
		printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort
	fi
}

# help_commands: the commands that "virlock --help" lists, sorted.
help_commands() {
	"$VIRLOCK" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z]*\) .*/\1/p' | LC_ALL=C sort
}

# help_options CMD...: the options that "virlock CMD --help" lists, sorted.
help_options() {
	"$VIRLOCK" "$@" --help | grep -oE '^ {2,6}(-[A-Za-z], )?--[a-z-]+' | tr ',' '\n' |
		sed 's/^ *//' | LC_ALL=C sort
}

@test "the first word completes to the commands, and - to the global options" {
	comp ""
	run replies
	assert_output "$(printf '%s\n' acquire check hash init inspect leave list prune release)"
	assert_output "$(help_commands)"
	comp li
	[ "${COMPREPLY[*]}" = list ]
	comp -
	run replies
	assert_output "$(help_options)"
	comp -L "$LS" ""
	run replies
	assert_line acquire
	assert_line release
}

@test "each command completes to exactly the options its --help lists" {
	local cmd
	for cmd in $(help_commands); do
		comp "$cmd" -
		run replies
		assert_output "$(help_options "$cmd")"
	done
}

@test "list -o completes column names, after a comma too, without the ones given" {
	comp list -o ""
	run replies
	assert_output "$(printf '%s\n' CHILD COMMAND FILELOCKS GEN HOST HOSTNAME LOCKFILE MODE NAME OWNER PATH PID SINCE STATUS WAITERS)"
	comp list -o PATH,
	run replies
	assert_output "$(printf 'PATH,%s\n' CHILD COMMAND FILELOCKS GEN HOST HOSTNAME LOCKFILE MODE NAME OWNER PID SINCE STATUS WAITERS)"
	comp list --output PATH,MODE,PI
	[ "${COMPREPLY[*]}" = PATH,MODE,PID ]
	comp list --output=pa
	[ "${COMPREPLY[*]}" = PATH ]
	comp list -o +N
	[ "${COMPREPLY[*]}" = +NAME ]
	# The columns are those of list --help.
	local col
	for col in $("$VIRLOCK" list --help | sed -n '/^Available output columns/,$s/^  \([A-Z]\{1,\}\) .*/\1/p'); do
		comp list -o "$col"
		assert [ "${COMPREPLY[0]}" = "$col" ]
	done
}

@test "release and inspect complete the held resources, with spaces, backslashes and UTF-8" {
	vl acquire --owner web1 "$A" "$WORK/my disk.img" "$ODD" 3>&-
	vl acquire -s --owner db1 "$B" 3>&-
	comp release ""
	run replies
	assert_output "$(printf '%s\n' "$A" "$B" "$SPACE" "$ODD" | LC_ALL=C sort)"
	comp release "$WORK/é"
	[ "${COMPREPLY[*]}" = "$ODD" ]
	comp release "$WORK/my"
	[ "${COMPREPLY[*]}" = "$SPACE" ]
	comp release "$WORK/my\\ d"
	[ "${COMPREPLY[*]}" = "$SPACE" ]
	comp inspect "$(dirname "$A")/a"
	[ "${COMPREPLY[*]}" = "$A" ]
	comp release --literal ""
	assert [ ${#COMPREPLY[@]} -eq 4 ]
}

@test "inspect falls back to files when no held resource matches" {
	comp inspect "$WORK/b"
	[ "${COMPREPLY[*]}" = "$WORK/b.img" ]
	comp release "$WORK/b"
	[ ${#COMPREPLY[@]} -eq 0 ]
}

@test "--owner completes the labels of live holders, quoted for the shell" {
	vl acquire --owner web1 "$A" 3>&-
	vl acquire --owner "my vm" "$B" 3>&-
	comp release --owner ""
	run replies
	assert_output "$(printf '%s\n' 'my\ vm' web1)"
	comp release -o w
	[ "${COMPREPLY[*]}" = web1 ]
	comp acquire -o ""
	assert [ ${#COMPREPLY[@]} -eq 2 ]
	comp list --owner=we
	[ "${COMPREPLY[*]}" = web1 ]
}

@test "--pid completes holder pids; list -p also the supervised command's" {
	vl acquire --owner web1 "$A" 3>&-
	local holder
	holder=$(holder_pids)
	comp release -p ""
	[ "${COMPREPLY[*]}" = "$holder" ]
	comp list --pid ""
	[ "${COMPREPLY[*]}" = "$holder" ]
	bg_supervise sup "$B"
	comp list -p ""
	assert [ ${#COMPREPLY[@]} -eq 3 ]
	local child
	child=$(cat "$WORK/sup.child")
	comp list -p "$child"
	[ "${COMPREPLY[*]}" = "$child" ]
	touch "$WORK/sup.go"
}

@test "a -L given earlier chooses the lockspace of the lists" {
	vl acquire --owner web1 "$A" 3>&-
	export VIRLOCK_LOCKSPACE=$BATS_TEST_TMPDIR/other
	comp release ""
	[ ${#COMPREPLY[@]} -eq 0 ]
	comp -L "$LS" release ""
	[ "${COMPREPLY[*]}" = "$A" ]
	comp --lockspace="$LS" release --owner ""
	[ "${COMPREPLY[*]}" = web1 ]
	comp -q --lockspace "$LS" inspect ""
	[ "${COMPREPLY[*]}" = "$A" ]
	comp -L "$BATS_TEST_TMPDIR/none" release ""
	[ ${#COMPREPLY[@]} -eq 0 ]
	# A keystroke creates no lockspace.
	assert [ ! -e "$BATS_TEST_TMPDIR/other" ]
	assert [ ! -e "$BATS_TEST_TMPDIR/none" ]
}

@test "-L completes directories only" {
	mkdir "$WORK/lsdir"
	comp -L "$WORK/"
	run replies
	assert_output "$WORK/lsdir"
	comp --lockspace="$WORK/ls"
	[ "${COMPREPLY[*]}" = "$WORK/lsdir" ]
}

@test "acquire and hash complete files, and acquire a command after --" {
	comp acquire "$WORK/a"
	[ "${COMPREPLY[*]}" = "$WORK/a.img" ]
	comp acquire -s -w 30 "$WORK/b"
	[ "${COMPREPLY[*]}" = "$WORK/b.img" ]
	comp hash "$WORK/a"
	[ "${COMPREPLY[*]}" = "$WORK/a.img" ]
	comp acquire "$WORK/a.img" -- slee
	assert [ "${COMPREPLY[0]}" = sleep ]
	comp acquire "$WORK/a.img" -- sleep -
	run replies
	refute_output --partial -- "--owner"
}

@test "option values: init --backend, and nothing to guess for numbers" {
	comp init --backend ""
	run replies
	assert_output "$(printf '%s\n' fcntl sanlock)"
	comp init --host-id ""
	[ ${#COMPREPLY[@]} -eq 0 ]
	comp acquire -E ""
	[ ${#COMPREPLY[@]} -eq 0 ]
	comp acquire --for-pid "$$"
	assert [ ${#COMPREPLY[@]} -ge 1 ]
}

@test "nothing is completed after --help, --usage or --version" {
	comp --help ""
	[ ${#COMPREPLY[@]} -eq 0 ]
	comp list --help -
	[ ${#COMPREPLY[@]} -eq 0 ]
	comp acquire -h "$WORK/a"
	[ ${#COMPREPLY[@]} -eq 0 ]
	comp release --usage ""
	[ ${#COMPREPLY[@]} -eq 0 ]
	comp -V ""
	[ ${#COMPREPLY[@]} -eq 0 ]
}

@test "--owner after an opening quote completes inside it, without backslashes" {
	vl acquire --owner "my vm" "$A" 3>&-
	vl acquire --owner "it's \$HOME" "$B" 3>&-
	comp release --owner "'my"
	[ "${COMPREPLY[*]}" = "my vm" ]
	comp release --owner '"my'
	[ "${COMPREPLY[*]}" = "my vm" ]
	comp release --owner my
	[ "${COMPREPLY[*]}" = 'my\ vm' ]
	# What the quote cannot hold is still escaped: ' closes and reopens, "
	# escapes $.
	comp release --owner "'it"
	[ "${COMPREPLY[*]}" = "it'\\''s \$HOME" ]
	comp release -o '"it'
	[ "${COMPREPLY[*]}" = "it's \\\$HOME" ]
	comp release -o it
	[ "${COMPREPLY[*]}" = "it\\'s\\ \\\$HOME" ]
}

@test "a held path with a newline completes whole" {
	local nl=$WORK/new$'\n'line.img
	touch "$nl"
	vl acquire "$nl" 3>&-
	comp release "$WORK/new"
	assert [ ${#COMPREPLY[@]} -eq 1 ]
	assert [ "${COMPREPLY[0]}" = "$(realpath "$WORK")/new"$'\n'"line.img" ]
	comp inspect "$WORK/ne"
	assert [ "${COMPREPLY[0]}" = "$(realpath "$WORK")/new"$'\n'"line.img" ]
}

@test "--hash completes its hashes, and its value is not the command" {
	comp --hash ""
	run replies
	assert_output "$(printf '%s\n' md5 sha256)"
	comp --hash s
	[ "${COMPREPLY[*]}" = sha256 ]
	comp --hash sha256 ""
	run replies
	assert_output "$(help_commands)"
	comp --hash sha256 list -
	run replies
	assert_output "$(help_options list)"
}

@test "acquire --on-lost completes its policies" {
	comp acquire --on-lost ""
	run replies
	assert_output "$(printf '%s\n' ignore kill pause term)"
	comp acquire --on-
	run replies
	assert_output -- "--on-lost"
}
