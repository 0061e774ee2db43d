#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# hostile_lockspace.bats: hostile lockspace directories and lock files: refused or reported, never followed, no hang.

# shellcheck disable=SC2030,SC2031 # each test is a subshell
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

@test "a lockspace whose parent does not exist: 66, nothing created, create the parent first" {
	local ls=$WORK/nonexistent/x/y
	# A -L whose parent is missing too is a mistyped path, for list as for acquire.
	run --separate-stderr tvl_bare -L "$ls" list
	assert_error 66 "lockspace $ls" "create its parent directory first"
	run --separate-stderr tvl_bare -L "$ls" acquire "$A" -- true
	assert_error 66 "lockspace $ls" "create its parent directory first"
	[ ! -e "$WORK/nonexistent" ]
	if [ ! -e /nonexistent ]; then
		run --separate-stderr tvl_bare -L /nonexistent/x/y acquire --literal x -- true
		assert_error 66 "lockspace /nonexistent/x/y" "create its parent directory first"
		[ ! -e /nonexistent ]
	fi
	assert_clean
}

@test "a lockspace path that is a symlink to a directory is resolved, then used" {
	local real=$WORK/real
	mkdir -m 0700 "$real"
	ln -s real "$WORK/link"
	run tvl_bare -L "$WORK/link" acquire "$A"
	assert_success
	[ -f "$real/$(lock_name "$A")" ]
	run tvl_bare -L "$WORK/link" list -n -o LOCKFILE
	assert_success
	assert_output "$real/$(lock_name "$A")"
	run tvl_bare -L "$WORK/link" release "$A"
	assert_success
	assert_clean "$real"
}

@test "a lockspace symlink is checked on its target: world-writable or foreign targets are refused" {
	mkdir -m 0777 "$WORK/open"
	chmod 0777 "$WORK/open"
	ln -s open "$WORK/link-open"
	run --separate-stderr tvl_bare -L "$WORK/link-open" acquire "$A" -- true
	assert_error 77 "lockspace $WORK/link-open" "world-writable"
	[ -z "$(ls -A "$WORK/open")" ]
	if [ "$(id -u)" -eq 0 ]; then
		mkdir -m 0700 "$WORK/foreign"
		chown nobody "$WORK/foreign"
		ln -s foreign "$WORK/link-foreign"
		run --separate-stderr tvl_bare -L "$WORK/link-foreign" acquire "$A" -- true
		assert_error 77 "lockspace $WORK/link-foreign" "owned by another user"
		[ -z "$(ls -A "$WORK/foreign")" ]
	fi
	assert_clean
}

@test "a lockspace that is a regular file: refused, the file untouched" {
	echo data >"$WORK/file"
	local before
	before=$(file_state "$WORK/file")
	local cmd
	for cmd in list prune "acquire $A -- true" "acquire --literal x" "inspect $A" "release $A"; do
		# shellcheck disable=SC2086 # the words of the command line
		run --separate-stderr tvl_bare -L "$WORK/file" $cmd
		assert_error 71 "lockspace $WORK/file" "not a directory"
	done
	assert_equal "$(file_state "$WORK/file")" "$before"
	assert_clean
}

# refused_everywhere CMD-PREFIX...: every command, run by CMD-PREFIX, ends 77
# with one line naming $LS as world-writable, and nothing is made in $LS.
refused_everywhere() {
	local cmd
	for cmd in list prune "acquire $A -- true" "acquire $A" "acquire -o vm1 $A" "acquire --literal x" \
		"inspect $A" "release --all" "release $A" init; do
		# shellcheck disable=SC2086 # the words of the command line
		run --separate-stderr "$@" -L "$LS" $cmd
		assert_error 77 "${WANT:-"lockspace $LS: world-writable; use a private (0700) or group (setgid 2770) directory"}"
	done
	[ -z "$(ls -A "$LS")" ]
}

@test "a world-writable lockspace, sticky bit or not (as /tmp): refused at once with 77, nothing made" {
	chmod 0777 "$LS"
	refused_everywhere tvl_bare
	chmod 1777 "$LS"
	refused_everywhere tvl_bare
	chmod 1773 "$LS"
	refused_everywhere tvl_bare
	chmod 2770 "$LS"
	run tvl acquire "$A" -- true
	assert_success
	chmod 0700 "$LS"
	assert_clean
}

@test "a group-writable lockspace without the setgid bit: refused at once with 77 saying what to do, nothing made" {
	local mode
	for mode in 0770 0775 0730; do
		chmod "$mode" "$LS"
		WANT="lockspace $LS: group-writable without the setgid bit; make it setgid (chmod 2770 $LS) or private (chmod 0700 $LS)" \
			refused_everywhere tvl_bare
	done
	# What it says to do works, either way.
	chmod 2770 "$LS"
	run --separate-stderr tvl acquire -o vm1 "$A"
	assert_success
	[ "$(stat -c %a "$LS/.holders")" = 2770 ]
	run --separate-stderr tvl release --owner vm1
	assert_success
	rm -rf "${LS:?}"/* "$LS/.holders"
	chmod 0700 "$LS"
	run --separate-stderr tvl acquire "$A" -- true
	assert_success
	assert_clean
}

@test "an ordinary user in a root-owned 1777 lockspace: one line naming the lockspace, nothing made" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to run as another user"
	local top
	top=$(mktemp -d /tmp/virlock-sticky.XXXXXX)
	chmod 0755 "$top"
	# The plain build: valgrind's logs would need a directory the user can write.
	cp "${VIRLOCK_REAL:-$VIRLOCK}" "$top/virlock"
	touch "$top/a.img"
	chmod 0666 "$top/a.img"
	install -d -m 1777 -o root "$top/ls"
	LS=$top/ls A=$top/a.img refused_everywhere timeout -k 5 20 runuser -u nobody -- "$top/virlock"
	rm -rf "$top"
}

@test "a lockspace owned by another user: refused with 77 (root included)" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to give a directory to another user"
	chown nobody "$LS"
	local cmd
	for cmd in list prune "acquire $A -- true" "acquire --literal x" "inspect $A" "release --all"; do
		# shellcheck disable=SC2086 # the words of the command line
		run --separate-stderr tvl $cmd
		assert_error 77 "lockspace $LS" "owned by another user"
	done
	[ -z "$(ls -A "$LS")" ]
	chown root "$LS"
	assert_clean
}

@test "a lock file that is a symlink: refused (65), never followed, left alone" {
	echo victim >"$VICTIM"
	local before name
	before=$(file_state "$VICTIM")
	name=$(lock_name "$A")
	ln -s "$VICTIM" "$LS/$name"
	run --separate-stderr tvl acquire "$A" -- true
	assert_error 65 "$A" "symbolic link"
	run --separate-stderr tvl acquire -s "$A" -- true
	assert_error 65 "$A"
	run --separate-stderr tvl acquire "$A"
	assert_error 65 "$A"
	run tvl inspect "$A"
	assert_success
	assert_output --partial "unreadable"
	run tvl list -a -J
	assert_success
	run --separate-stderr tvl prune
	assert_error 65 "$LS/$name: symbolic link refused" "kept"
	[ -L "$LS/$name" ]
	run --separate-stderr tvl release "$A"
	assert_error 66 "$A"
	assert_equal "$(file_state "$VICTIM")" "$before"
	assert_clean
}

@test "a lock file that is a FIFO: refused (65) without hanging, in every command" {
	local name
	name=$(lock_name "$A")
	mkfifo "$LS/$name"
	run --separate-stderr tvl acquire "$A" -- true
	assert_error 65 "$A" "corrupt"
	run --separate-stderr tvl acquire -s -w 1 "$A" -- true
	assert_error 65 "$A"
	run --separate-stderr tvl acquire "$A"
	assert_error 65 "$A"
	run tvl inspect "$A"
	assert_success
	assert_output --partial "unreadable"
	run tvl list -a -J
	assert_success
	run --separate-stderr tvl prune --dry-run
	assert_error 65 "$LS/$name: not a lock file" "kept"
	run --separate-stderr tvl prune
	assert_error 65 "$LS/$name: not a lock file" "kept"
	run --separate-stderr tvl release "$A"
	assert_error 66 "$A"
	[ -p "$LS/$name" ]
	assert_clean
}

@test "a lock file that is a directory: refused (65), left alone" {
	local name
	name=$(lock_name "$A")
	mkdir "$LS/$name"
	touch "$LS/$name/inside"
	run --separate-stderr tvl acquire "$A" -- true
	assert_error 65 "$A" "corrupt"
	run --separate-stderr tvl acquire -s "$A" -- true
	assert_error 65 "$A"
	run tvl inspect "$A"
	assert_success
	run tvl list -a -J
	assert_success
	run --separate-stderr tvl prune
	assert_error 65 "$LS/$name: not a lock file" "kept"
	[ -f "$LS/$name/inside" ]
	assert_clean
}

@test "a lock file larger than 4096 bytes: corrupt (65), never read whole nor truncated" {
	local name before
	name=$(lock_name "$A")
	head -c 100000 /dev/zero | tr '\0' x >"$LS/$name"
	before=$(file_state "$LS/$name")
	run --separate-stderr tvl acquire "$A" -- true
	assert_error 65 "$A" "corrupt" "virlock inspect"
	run --separate-stderr tvl acquire -s "$A" -- true
	assert_error 65 "$A"
	run tvl inspect "$A"
	assert_success
	assert_output --partial "corrupt"
	assert_equal "$(file_state "$LS/$name")" "$before"
	assert_clean
}

@test "a lock file with corrupt content: 65 for acquire, reported by inspect, kept intact" {
	local name before
	name=$(lock_name "$A")
	printf '/some/other/path' >"$LS/$name"
	before=$(file_state "$LS/$name")
	run --separate-stderr tvl acquire "$A" -- true
	assert_error 65 "$A" "corrupt" "remove it if no one holds it"
	run --separate-stderr tvl acquire -s "$A" -- true
	assert_error 65 "$A"
	run --separate-stderr tvl acquire "$A"
	assert_error 65 "$A"
	run tvl inspect "$A"
	assert_success
	assert_output --partial "corrupt"
	run tvl list -a -o NAME,STATUS -J
	assert_success
	jq -e --arg n "$name" '.locks[] | select(.name == $n) | .status == "corrupt"' <<<"$output"
	assert_equal "$(file_state "$LS/$name")" "$before"
	# Binary garbage, a trailing newline, a NUL: all corrupt.
	local content
	for content in $'\xff\xfe\x00\x01' "$(realpath "$A")"$'\n' $'\n'; do
		printf %s "$content" >"$LS/$name"
		run --separate-stderr tvl acquire "$A" -- true
		assert_error 65 "$A" "corrupt"
	done
	rm "$LS/$name"
	run tvl acquire "$A" -- true
	assert_success
	assert_clean
}

@test "a lock file held by a raw fcntl lock of a foreign process: busy, not corrupt" {
	local name
	name=$(lock_name "$A")
	printf %s "$(realpath "$A")" >"$LS/$name"
	raw_hold "$LS/$name"
	run --separate-stderr tvl acquire "$A" -- true
	assert_error 75 "$A" "virlock inspect"
	run tvl list -J
	assert_success
	jq -e --argjson p "$FAKE" '.locks[0].pid == $p' <<<"$output"
	stop_fake
	assert_clean
}
