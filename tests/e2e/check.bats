#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# check.bats: virlock check on real mounts in a private mount namespace, with real holders and files.
# shellcheck disable=SC2016 # in_ns scripts expand their variables in the namespace

load helpers
load list_helpers
load check_helpers

bats_require_minimum_version 1.5.0

setup() {
	common_setup
	list_setup
	MNT=$BATS_TEST_TMPDIR/mnt
	mkdir -p "$MNT"
	touch "$WORK/disk1" "$WORK/disk2"
}

teardown() {
	stop_all
	stop_holders
	[ -z "${PUBLIC:-}" ] || rm -rf "$PUBLIC"
}

# can_unshare: root, and unshare(1) makes a mount namespace here.
can_unshare() {
	[ "$(id -u)" = 0 ] && unshare -m --propagation private true 2>/dev/null
}

# in_ns SCRIPT: run the bash SCRIPT in a mount namespace of its own (its
# mounts vanish with it), with VIRLOCK, MNT, WORK and LS in its environment.
in_ns() {
	can_unshare || skip "mount namespaces need root and unshare(1)"
	VIRLOCK=$VIRLOCK MNT=$MNT WORK=$WORK LS=$LS unshare -m --propagation private bash -c "set -e; $1"
}

# lock_free FILE: no one holds FILE's lock in $LS.
lock_free() {
	vl inspect "$1" 2>/dev/null | grep -q '^state: *free'
}

@test "a private lockspace on a local filesystem: ok, with the note that other hosts are not protected" {
	run in_ns 'mount -t tmpfs -o size=4m virlock-test "$MNT"
		"$VIRLOCK" -q -L "$MNT/ls" init
		"$VIRLOCK" -L "$MNT/ls" check'
	assert_success
	finding ok lockspace "$MNT/ls: fcntl backend"
	finding ok ownership "$MNT/ls: private: owner root, mode 0700"
	finding ok filesystem "tmpfs on virlock-test at $MNT: a local filesystem: locks protect this host only"
	finding info hosts "locks do not protect other hosts"
	finding ok locks "0 lock files, 0 held"
	finding ok records "no stale holder records"
	[ "${#lines[@]}" -eq 6 ]
}

@test "--cluster: a local filesystem is an error (2), and -q shows only it" {
	run -2 in_ns 'mount -t tmpfs virlock-test "$MNT"
		"$VIRLOCK" -q -L "$MNT/ls" init
		"$VIRLOCK" -L "$MNT/ls" check --cluster -q'
	assert_output "error  filesystem: tmpfs on virlock-test at $MNT: a local filesystem: locks protect this host only, not other hosts; put the lockspace on NFSv4, GFS2, OCFS2 or CephFS, or use the sanlock backend"
}

@test "the mount is found through a bind mount, and a filesystem mounted over another is the one seen" {
	run in_ns 'mkdir -p "$MNT/a" "$MNT/b" "$MNT/c"
		mount -t tmpfs -o size=1m first "$MNT/a"
		mkdir -p "$MNT/a/real"
		mount --bind "$MNT/a/real" "$MNT/b"
		"$VIRLOCK" -q -L "$MNT/b/ls" init
		"$VIRLOCK" -L "$MNT/b/ls" check -J >"$WORK/bind.json"
		mount -t tmpfs -o size=2m under "$MNT/c"
		mount -t tmpfs -o size=3m over "$MNT/c"
		"$VIRLOCK" -q -L "$MNT/c/ls" init
		"$VIRLOCK" -L "$MNT/c/ls" check -J >"$WORK/over.json"'
	assert_success
	run jq -r '.mount | "\(.target) \(.root) \(.source) \(.fstype) \(.reach) \(.shared)"' "$WORK/bind.json"
	assert_output "$MNT/b /real first tmpfs host false"
	run jq -r '.mount | "\(.target) \(.source) \(.super_options | test("size=3072k"))"' "$WORK/over.json"
	assert_output "$MNT/c over true"
}

@test "a mount point with a space and a tab is decoded (mountinfo's octal escapes)" {
	run in_ns 'mkdir -p "$MNT/my disk	x"
		mount -t tmpfs virlock-test "$MNT/my disk	x"
		"$VIRLOCK" -q -L "$MNT/my disk	x/ls" init
		"$VIRLOCK" -L "$MNT/my disk	x/ls" check -J'
	assert_success
	run jq -r '.mount.target' <<<"$output"
	assert_output "$MNT/my disk	x"
}

@test "a btrfs subvolume, whose device no mount shows, is judged by the mount that holds it" {
	command -v mkfs.btrfs >/dev/null && command -v btrfs >/dev/null || skip "btrfs-progs is not installed"
	truncate -s 128M "$WORK/btrfs.img"
	mkfs.btrfs -q "$WORK/btrfs.img" >/dev/null 2>&1 || skip "mkfs.btrfs failed"
	run in_ns 'mount -o loop "$WORK/btrfs.img" "$MNT" 2>/dev/null || exit 99
		btrfs -q subvolume create "$MNT/sub" >/dev/null
		[ "$(stat -c %d "$MNT/sub")" != "$(stat -c %d "$MNT")" ]
		"$VIRLOCK" -q -L "$MNT/sub/ls" init
		"$VIRLOCK" -L "$MNT/sub/ls" check'
	[ "$status" != 99 ] || skip "no loop device"
	assert_success
	finding ok filesystem "btrfs on /dev/loop"
	finding ok filesystem "at $MNT: a local filesystem"
}

@test "a world-writable lockspace, even sticky, is an error" {
	mkdir -p "$LS"
	chmod 1777 "$LS"
	run -2 vl check
	finding error ownership "$LS: mode 1777: writable by every user"
	[[ "$output" == *"use a private (0700) or group (setgid 2770) directory"* ]]
}

@test "a group-writable lockspace without the setgid bit is an error; in a setgid one, a lock file must be the group's" {
	mkdir -p "$LS"
	chmod 0770 "$LS"
	run -2 vl check
	finding error ownership "$LS: mode 0770: group-writable without the setgid bit"
	chmod 2770 "$LS"
	run vl check
	assert_success
	finding ok ownership "$LS: a group lockspace: owner root, group $(id -gn), mode 2770"
	vl acquire "$WORK/disk1" -- true
	run vl check
	assert_success
	chmod 0600 "$LS/$(name_of "$WORK/disk1")"
	run -1 vl check
	finding warn lockfile "$LS/$(name_of "$WORK/disk1"): mode 0600, group $(id -gn): not read-write for the lockspace's group"
}

@test "holder records that do not fit a group lockspace are an error, with what to do" {
	mkdir -p "$LS/.holders"
	chmod 0700 "$LS/.holders"
	chmod 2770 "$LS"
	run -2 vl check
	finding error ownership "$LS/.holders: owner root, mode 0700: holder records that do not fit the lockspace"
	[[ "$output" == *"rm -r $LS/.holders"* ]]
}

@test "a holder killed with SIGKILL leaves a stale record: a warning (1) that says to prune" {
	local pid
	"$VIRLOCK" -L "$LS" acquire -o vm1 "$WORK/disk1" -- sleep 1000 3>&- &
	pid=$!
	wait_for 10 holder_listening "$pid"
	hold h2 -o vm2 "$WORK/disk2"
	kill -KILL "$pid"
	wait "$pid" || true
	wait_for 10 lock_free "$WORK/disk1"
	run -1 vl check
	finding warn records "1 stale holder record, left by holders that ended without releasing"
	[[ "$output" == *"run 'virlock -L $LS prune'"* ]]
	finding ok locks "2 lock files, 1 held"
	finding info locks "1 free lock file; 'virlock -L $LS prune' removes them"
	vl prune -q
	run vl check
	assert_success
	finding ok records "no stale holder records"
}

@test "corrupt, empty and foreign lock files are warnings, each named" {
	local n1
	hold h1 "$WORK/disk1"
	n1=$(name_of "$WORK/disk1")
	corrupt_lockfile 0123456789abcdef0123456789abcdef "/elsewhere"
	corrupt_lockfile fedcba9876543210fedcba9876543210 ""
	mkfifo "$LS/00000000000000000000000000000000"
	run -1 vl check
	finding warn lockfile "$LS/0123456789abcdef0123456789abcdef: corrupt: its content does not hash to its name; check it with 'virlock -L $LS inspect 0123456789abcdef0123456789abcdef'"
	finding warn lockfile "$LS/fedcba9876543210fedcba9876543210: empty: it names no resource"
	finding warn lockfile "$LS/00000000000000000000000000000000: not a lock file or lease of this lockspace"
	finding ok locks "held"
	[[ "$output" != *"$n1:"* ]]
}

@test "-J: one JSON document of findings with severity, topic, message and advice, and the mount" {
	corrupt_lockfile 0123456789abcdef0123456789abcdef "/elsewhere"
	run -1 vl check -J
	jq_ok '.lockspace != null and .backend == "fcntl" and .status == "warn" and
		(.mount | type) == "object" and (.mount.fstype | type) == "string" and
		(.findings | length) > 3 and
		all(.findings[]; (keys == ["advice", "message", "severity", "topic"]) and
			(.severity | IN("ok", "info", "warn", "error"))) and
		any(.findings[]; .severity == "warn" and .topic == "lockfile" and (.advice | test("virlock -L .* inspect")))'
}

@test "a missing lockspace is 66, an argument or --direct 64, and nothing is made" {
	run -66 vl check
	assert_output "virlock: check: lockspace $LS: no such directory; give the lockspace with -L DIR, or make it with 'virlock -L $LS init'"
	[ ! -e "$LS" ]
	run -64 vl check extra
	assert_output --partial "unexpected argument"
	run -64 "$VIRLOCK" --direct check
	assert_output --partial "--direct has no lockspace to check"
}

@test "a FUSE lockspace is judged (bindfs)" {
	[ -e /dev/fuse ] || skip "no /dev/fuse"
	# bindfs is in the Makefile's DEB_PKGS: missing, it is a failure.
	run in_ns 'mkdir -p "$MNT/src" "$MNT/fuse"
		# Its daemon keeps no descriptor of the test: bats waits for those.
		bindfs "$MNT/src" "$MNT/fuse" </dev/null >/dev/null 2>&1 3>&- || exit 98
		rc=0
		{ "$VIRLOCK" -q -L "$MNT/fuse/ls" init && "$VIRLOCK" -L "$MNT/fuse/ls" check; } || rc=$?
		fusermount -u "$MNT/fuse"; exit $rc'
	assert_failure 1
	finding warn filesystem "a FUSE filesystem"
	# The type the kernel shows: fuse.bindfs, or fuse with libfuse2's bindfs.
	[[ "$output" =~ "warn   filesystem: fuse"(\.bindfs)?" on " ]]
}

@test "the advised commands name the lockspace (-L, shell-quoted), and do what they say when followed" {
	LS="$BATS_TEST_TMPDIR/it's a lockspace"
	corrupt_lockfile 0123456789abcdef0123456789abcdef "/elsewhere"
	corrupt_lockfile fedcba9876543210fedcba9876543210 ""
	run -1 vl check
	finding warn lockfile "check it with 'virlock -L '$BATS_TEST_TMPDIR/it'\"'\"'s a lockspace' inspect 0123456789abcdef0123456789abcdef'"
	finding warn lockfile "(virlock -L '$BATS_TEST_TMPDIR/it'\"'\"'s a lockspace' prune does when it is free)"
	local advised
	advised=$(sed -n "s/.*check it with '\(virlock .* inspect [0-9a-f]*\)'.*/\1/p" <<<"$output")
	[ -n "$advised" ]
	# The advice is a shell command: run as written, it inspects this lockspace.
	run eval "\"\$VIRLOCK\"${advised#virlock}"
	assert_success
	assert_output --partial "state:"
	# The default lockspace is named by no -L.
	run -1 env VIRLOCK_LOCKSPACE="$LS" "$VIRLOCK" check
	finding warn lockfile "check it with 'virlock inspect 0123456789abcdef0123456789abcdef'"
}

@test "a lockspace this user cannot read: one line, permission denied, 77" {
	command -v setpriv >/dev/null || skip "no setpriv"
	[ "$(id -u)" = 0 ] || skip "needs root to run as nobody"
	PUBLIC=$(mktemp -d /tmp/virlock-check.XXXXXX)
	chmod 755 "$PUBLIC"
	install -d -m 0700 "$PUBLIC/ls"
	run -77 setpriv --reuid=nobody --regid=nogroup --clear-groups "$VIRLOCK" -L "$PUBLIC/ls" check 3>&-
	assert_output "virlock: check: lockspace $PUBLIC/ls: permission denied; run as its owner, root or a member of its group"
}

@test "a lockspace that is a file is not a directory, with no init to advise" {
	touch "$WORK/file"
	run -66 "$VIRLOCK" -L "$WORK/file" check
	assert_output "virlock: check: lockspace $WORK/file: not a directory; give the lockspace with -L DIR"
}

@test "a mount with an empty source: its fields are read in their places" {
	run in_ns 'mount -t tmpfs -o size=1m "" "$MNT"
		"$VIRLOCK" -q -L "$MNT/ls" init
		"$VIRLOCK" -L "$MNT/ls" check -J'
	assert_success
	run jq -r '.mount | "\(.fstype)|\(.source)|\(.super_options | test("size=1024k"))|\(.reach)"' <<<"$output"
	assert_output "tmpfs||true|host"
}

@test "a stale control socket file with no record beside it: a warning (1), as prune removes it" {
	local pid
	LOCKSPACE_CONTROL=file "$VIRLOCK" -L "$LS" acquire -o vm1 "$WORK/disk1" -- sleep 1000 3>&- &
	pid=$!
	wait_for 10 holder_listening "$pid"
	kill -KILL "$pid"
	wait "$pid" || true
	wait_for 10 lock_free "$WORK/disk1"
	rm "$LS/.holders/$pid"
	[ -S "$LS/.holders/$pid.sock" ]
	run -1 vl check
	finding warn records "1 stale holder record, left by holders that ended without releasing"
	vl prune -q
	[ ! -e "$LS/.holders/$pid.sock" ]
	run vl check
	assert_success
	finding ok records "no stale holder records"
}
