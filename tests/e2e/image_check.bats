#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# image_check.bats: acquire refuses an image another program visibly uses: a real QEMU, flock(1), fcntl holders.

bats_require_minimum_version 1.5.0

load helpers
load list_helpers
load qemu_helpers
load acquire_helpers
load hostile_helpers

setup() {
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed (make deps)"
	hostile_setup
	list_setup
	IMG=$WORK/disk.qcow2
	qemu-img create -q -f qcow2 "$IMG" 16M
	PUBLIC=
}

teardown() {
	stop_all
	hostile_teardown
	[ -z "$PUBLIC" ] || rm -rf "$PUBLIC"
}

# as_nobody ARGS...: virlock as the user nobody, on the lockspace $PUBLIC/ls.
# setpriv runs virlock itself: the user may not reach a checkout under a
# 0700 home, which setpriv's own execution still can.
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$VIRLOCK" -L "$PUBLIC/ls" "$@" 3>&-
}

@test "a QEMU started by hand next to the wrapper: an exclusive and a shared acquire are busy, naming it" {
	start_qemu q1 "$IMG"
	local q1
	q1=$(pid_of q1)
	run --separate-stderr tvl acquire "$IMG" -- true
	assert_error 75 "virlock: $IMG: in use by qemu-system-x86 (pid $q1), which holds write; see 'virlock inspect' for more, wait with -w, or skip the check with --no-image-check"
	run --separate-stderr tvl acquire -s "$IMG" -- true
	assert_error 75 "in use by qemu-system-x86 (pid $q1), which holds write;"
	# Detached, and in direct mode, the same.
	run --separate-stderr tvl acquire -w 0 "$IMG"
	assert_error 75 "in use by qemu-system-x86 (pid $q1), which holds write; see 'virlock inspect' for more, or skip"
	run --separate-stderr tvl_bare --direct acquire "$IMG" -- true
	assert_error 75 "in use by qemu-system-x86 (pid $q1), which holds write;"
	# Nothing is left held.
	run vl list -a -r -n -o PATH,MODE
	assert_output "$IMG free"
	# Told to, virlock takes it.
	run --separate-stderr tvl acquire --no-image-check "$IMG" -- true
	assert_success
}

@test "a read-only QEMU: a shared acquire goes with it, an exclusive one is busy (it does not share write)" {
	start_qemu r1 "$IMG" readonly=on
	run --separate-stderr tvl acquire -s "$IMG" -- true
	assert_success
	run --separate-stderr tvl acquire "$IMG" -- true
	assert_error 75 "in use by qemu-system-x86 (pid $(pid_of r1)), which does not share write;"
}

@test "flock(1) on the image: an exclusive flock makes both modes busy, a shared one neither" {
	mkfifo "$WORK/fl"
	flock -x "$IMG" sh -c 'echo held; exec cat' <"$WORK/fl" >"$WORK/fl.out" 3>&- &
	local fl=$!
	FAKE=$fl
	exec 4>"$WORK/fl"
	wait_for 10 grep -q held "$WORK/fl.out"
	run --separate-stderr tvl acquire "$IMG" -- true
	assert_error 75 "in use by " "which holds an exclusive flock lock;"
	run --separate-stderr tvl acquire -s "$IMG" -- true
	assert_error 75 "which holds an exclusive flock lock;"
	exec 4>&-
	wait "$fl"
	flock -s "$IMG" sh -c 'echo held; exec cat' <"$WORK/fl" >"$WORK/fl2.out" 3>&- &
	fl=$!
	FAKE=$fl
	exec 4>"$WORK/fl"
	wait_for 10 grep -q held "$WORK/fl2.out"
	run --separate-stderr tvl acquire "$IMG" -- true
	assert_success
	run --separate-stderr tvl acquire -s "$IMG" -- true
	assert_success
	exec 4>&-
	wait "$fl"
}

@test "a wait for an image in use says whom it waits for and takes it once that QEMU quits" {
	start_qemu q1 "$IMG"
	local q1
	q1=$(pid_of q1)
	bg_wait_acquire "$IMG"
	assert_equal "$WAIT_LINE" "virlock: $IMG: in use by qemu-system-x86 (pid $q1), which holds write; waiting"
	# It waits with the lock held: another acquire of ours is busy meanwhile.
	run --separate-stderr tvl acquire --no-image-check "$IMG" -- true
	assert_error 75 "held by "
	kill -TERM "$q1"
	wait "$WAITER"
	assert_equal "$(cat "$WORK/wait.out")" got
}

@test "a wait for an image in use ends at its deadline, saying who still uses it; nothing is held" {
	start_qemu q1 "$IMG"
	run --separate-stderr tvl acquire -w 0.3 "$IMG" -- true
	assert_error 75 "virlock: $IMG: still in use after 0.3 seconds by qemu-system-x86 (pid $(pid_of q1)), which holds write;"
	run vl list -a -r -n -o PATH,MODE
	assert_output "$IMG free"
}

@test "literal resources are not images: no check" {
	run --separate-stderr tvl acquire --literal "$IMG" -- true
	assert_success
}

@test "an exclusive lock inside QEMU's bytes is an exclusive lock all the same, not a QEMU's" {
	mkfifo "$WORK/py"
	python3 -c 'import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 202)
print("held", flush=True)
sys.stdin.read()' "$IMG" <"$WORK/py" >"$WORK/py.out" 3>&- &
	FAKE=$!
	exec 4>"$WORK/py"
	wait_for 10 grep -q held "$WORK/py.out"
	run --separate-stderr tvl acquire -s "$IMG" -- true
	assert_error 75 "in use by python3 (pid $FAKE), which holds an exclusive fcntl lock;"
	exec 4>&-
}

@test "a detached holder's wait for an image in use is told before it starts" {
	start_qemu q1 "$IMG"
	run --separate-stderr tvl -v acquire -w 0.3 "$IMG"
	assert_equal "$status" 75
	assert_equal "${stderr_lines[0]}" "virlock: $IMG: in use by qemu-system-x86 (pid $(pid_of q1)), which holds write; waiting"
	[[ ${stderr_lines[1]} == "virlock: $IMG: still in use after 0.3 seconds by qemu-system-x86"* ]]
}

@test "every acquire looks at its images without a search of its own descriptors" {
	command -v strace >/dev/null || skip "strace is not installed"
	touch "$WORK/a.img" "$WORK/b.img" "$WORK/c.img"
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -e trace=openat \
		-o "$BATS_TEST_TMPDIR/trace" "$VIRLOCK" -L "$LS" acquire "$WORK/a.img" "$WORK/b.img" "$WORK/c.img" -- true
	run grep -c -e '/proc/self/fd"' -e '/proc/locks"' "$BATS_TEST_TMPDIR/trace"
	assert_output 0
	# It did look: each image was opened for the probe.
	run grep -c "\"$WORK/b.img\"" "$BATS_TEST_TMPDIR/trace"
	[ "$output" -ge 1 ]
}

@test "a user who may not see root's QEMU: an exclusive acquire is busy, a shared one goes on, inspect tells" {
	under_valgrind && skip "valgrind's logs are root's"
	PUBLIC=$(mktemp -d /tmp/virlock-image.XXXXXX)
	chmod 755 "$PUBLIC"
	install -d -o nobody -m 0700 "$PUBLIC/ls"
	IMG=$PUBLIC/disk.qcow2
	qemu-img create -q -f qcow2 "$IMG" 16M
	chmod 644 "$IMG"
	start_qemu q1 "$IMG"
	run --separate-stderr as_nobody inspect "$IMG"
	assert_success
	assert_line "lock file: none (no lock file of it here)"
	assert_line "file locks: none visible"
	run --separate-stderr as_nobody acquire "$IMG" -- true
	assert_error 75 "virlock: $IMG: in use by a process this user may not see (" "root sees which"
	run --separate-stderr as_nobody acquire -s "$IMG" -- true
	assert_success
}
