#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# release.bats: virlock release: by resource, owner, pid or all, over the holders' control sockets.

# shellcheck disable=SC2030,SC2031 # each test is a subshell
load helpers
load acquire_helpers

bats_require_minimum_version 1.5.0

setup() {
	common_setup
	touch "$WORK/a.img" "$WORK/b.img"
	A=$WORK/a.img
	B=$WORK/b.img
	OTHER_USER=
	SHARED_LS=
}

teardown() {
	cleanup_processes
	if [ -n "$SHARED_LS" ]; then
		LS=$SHARED_LS cleanup_processes
		rm -rf "$SHARED_LS"
	fi
	if [ -n "$OTHER_USER" ]; then
		userdel "$OTHER_USER" 2>/dev/null || true
	fi
}

@test "release --help shows usage, a description, the options and the man page" {
	run vl release --help
	assert_success
	assert_line --index 0 --partial "Usage: virlock release"
	assert_line --index 1 --partial "Ask the holders"
	assert_output --partial "--owner"
	assert_line "See virlock(1)."
	run vl release --usage
	assert_success
	run vl release --version
	assert_success
}

@test "release needs exactly one way of naming what to release" {
	run vl release
	assert_failure 64
	run vl release --all "$A"
	assert_failure 64
	run vl release --owner x --pid 1
	assert_failure 64
	run vl release --nope
	assert_failure 64
	run "$VIRLOCK" --direct release "$A"
	assert_failure 64
}

@test "release of a resource frees it, and a holder with nothing left exits" {
	vl acquire "$A" "$B" 3>&-
	local h
	h=$(holder_pids)
	run vl release "$A"
	assert_success
	run is_free "$A"
	assert_success
	alive "$h"
	run is_busy "$B"
	assert_success
	run vl release "$B"
	assert_success
	wait_for 10 gone "$h"
	[ ! -e "$LS/.holders/$h.sock" ]
	run is_free "$B"
	assert_success
}

@test "release of a resource given by another spelling or by its lock name" {
	vl acquire "$A" "$B" 3>&-
	cd "$WORK"
	run vl release ./a.img
	assert_success
	run is_free "$A"
	assert_success
	local name
	name=$(printf %s "$(realpath "$B")" | md5sum | cut -c1-32)
	[ -f "$LS/$name" ]
	rm "$B"
	run vl release "$name"
	assert_success
	run is_free --literal "$(realpath -m "$B")"
	assert_success
}

@test "release of a resource nobody holds exits 66 with a clear message" {
	run vl release "$A"
	assert_failure 66
	assert_output --partial "$A: not held by anyone"
	vl acquire "$A" 3>&-
	vl release "$A"
	run vl release "$A"
	assert_failure 66
	run vl release "$WORK/missing.img"
	assert_failure 66
	run vl release --literal lease-never
	assert_failure 66
}

@test "release --literal releases a lease name" {
	vl acquire --literal lease-1 "$A" 3>&-
	run vl release lease-1
	assert_failure 66
	run vl release --literal lease-1
	assert_success
	run is_free --literal lease-1
	assert_success
	run is_busy "$A"
	assert_success
}

@test "release --owner releases every lock of that holder, other holders keep theirs" {
	vl acquire -o vm1 "$A" 3>&-
	vl acquire -o vm2 "$B" 3>&-
	run vl release --owner vm1
	assert_success
	run is_free "$A"
	assert_success
	run is_busy "$B"
	assert_success
	run vl release --owner vm1
	assert_failure 66
	assert_output --partial "owner vm1"
}

@test "release of a live holder whose control socket was removed says so: 71, nothing released" {
	# A holder on a socket file (as earlier versions, or LOCKSPACE_CONTROL=file), which can be removed.
	LOCKSPACE_CONTROL=file vl acquire -o ns "$A" 3>&-
	local h
	h=$(holder_pids)
	rm "$LS/.holders/$h.sock"
	run --separate-stderr vl release --owner ns
	assert_failure 71
	assert_equal "$stderr" "virlock: owner ns: holder $h runs but has no control socket (not a virlock holder, or its socket was removed); it cannot be asked; nothing was released; stop its command or kill it"
	run --separate-stderr vl release "$A"
	assert_failure 71
	assert_equal "$stderr" "virlock: $A: holder $h runs but has no control socket (not a virlock holder, or its socket was removed); it cannot be asked; nothing was released; stop its command or kill it"
	run is_busy "$A"
	assert_success
	alive "$h"
	kill -TERM "$h"
	wait_for 10 gone "$h"
}

@test "release --pid releases every lock of that holder" {
	vl acquire "$A" "$B" 3>&-
	local h
	h=$(holder_pids)
	run vl release --pid "$h"
	assert_success
	wait_for 10 gone "$h"
	run is_free "$A" "$B"
	assert_success
	run vl release --pid "$h"
	assert_failure 66
}

@test "release --pid of a supervised command asks its supervisor" {
	bg_supervise sv "$A"
	local child
	child=$(cat "$WORK/sv.child")
	run vl release --pid "$child"
	assert_success
	run is_free "$A"
	assert_success
	alive "$child"
	bg_finish sv
	assert_equal "$status" 0
}

@test "release --pid asks only a holder the kernel confirms: a process that merely listens gets nothing (66)" {
	# A process that holds no lock and no label of the lockspace, but
	# listens where a holder would and answers "ok" to everything.
	mkdir -p "$LS/.holders"
	: >"$LS/.holders/junk"
	mkfifo "$WORK/fake.out"
	"$HELPERS/fakeholder" holder lie "$LS" .holders/junk >"$WORK/fake.out" 2>"$WORK/fake.err" </dev/null 3>&- &
	local fake=$! line=
	BG_PIDS+=("$fake")
	read -r -t 10 line <>"$WORK/fake.out"
	assert_equal "$line" ready
	run --separate-stderr vl release --pid "$fake"
	assert_failure 66
	assert_equal "$stderr" "virlock: pid $fake: not a holder in $(realpath "$LS"): the kernel shows it holding no lock and no label; see 'virlock list'"
	kill -TERM "$fake"
	wait "$fake" || true
	# A supervisor that released its locks still owns its label: it is asked.
	bg_supervise sv --owner vmp "$A"
	local sv
	sv=$(cat "$WORK/sv.pid")
	run vl release "$A"
	assert_success
	run vl release --pid "$sv"
	assert_success
	bg_finish sv
	assert_equal "$status" 0
}

@test "release checks with the kernel: a holder that answers ok and keeps its locks gets 71" {
	# A process that owns the label fakevm and B's lock, listens on its
	# socket and answers "ok" to everything, releasing nothing.
	local label name fake line=
	mkdir -p "$LS/.holders"
	label=owner.$(printf %s fakevm | md5sum | cut -c1-32)
	name=$(printf %s "$(realpath "$B")" | md5sum | cut -c1-32)
	: >"$LS/.holders/$label"
	printf %s "$(realpath "$B")" >"$LS/$name"
	mkfifo "$WORK/fake.out"
	"$HELPERS/fakeholder" holder lie "$LS" ".holders/$label:$name" >"$WORK/fake.out" 2>"$WORK/fake.err" \
		</dev/null 3>&- &
	fake=$!
	BG_PIDS+=("$fake")
	read -r -t 10 line <>"$WORK/fake.out"
	assert_equal "$line" ready
	run --separate-stderr vl release --owner fakevm
	assert_failure 71
	assert_equal "$stderr" "virlock: owner fakevm: holder $fake answered that it released everything, but the kernel still shows $(realpath "$B") held by that process; do not trust that holder"
	run --separate-stderr vl release "$B"
	assert_failure 71
	assert_equal "$stderr" "virlock: $B: holder $fake answered that it released $B, but the kernel still shows it held by that process; do not trust that holder"
	run --separate-stderr vl release --pid "$fake"
	assert_failure 71
	assert_equal "$stderr" "virlock: pid $fake: holder $fake answered that it released everything, but the kernel still shows $(realpath "$B") held by that process; do not trust that holder"
	run is_busy "$B"
	assert_success
	kill -TERM "$fake"
	wait "$fake" || true
	run vl release "$B"
	assert_failure 66
}

@test "release --all releases every holder" {
	vl acquire "$A" 3>&-
	vl acquire --literal lease-9 3>&-
	bg_supervise sv "$B"
	run vl release --all
	assert_success
	run is_free "$A" "$B"
	assert_success
	run is_free --literal lease-9
	assert_success
	alive "$(cat "$WORK/sv.child")"
	bg_finish sv
	assert_equal "$status" 0
	run vl release --all
	assert_success
}

@test "release of a shared lock asks every holder" {
	vl acquire -s "$A" 3>&-
	vl acquire -s "$A" 3>&-
	run vl acquire -x "$A" -- true
	assert_failure 75
	run vl release "$A"
	assert_success
	run is_free "$A"
	assert_success
}

@test "release on a supervisor keeps its child running" {
	bg_supervise vm -o vm1 "$A"
	run vl release --owner vm1
	assert_success
	run is_free "$A"
	assert_success
	alive "$(cat "$WORK/vm.child")"
	alive "$(cat "$WORK/vm.pid")"
	bg_finish vm
	assert_equal "$status" 0
}

@test "a holder that does not answer: exit 71 after a few seconds, nothing released" {
	vl acquire "$A" 3>&-
	local h
	h=$(holder_pids)
	kill -STOP "$h"
	local t0=$SECONDS
	run vl release "$A"
	assert_failure 71
	assert_output --partial "did not answer"
	[ $((SECONDS - t0)) -le 10 ]
	kill -CONT "$h"
	# The holder must drop the request its client gave up on: once it answers
	# a later ping, it has handled the stale connection, and must still hold.
	run perl -MIO::Socket::UNIX -e '
		(my $peer = $ARGV[0]) =~ s/^@/\0/;
		my $s = IO::Socket::UNIX->new(Peer => $peer) or die "connect: $!";
		print $s "ping\n";
		print scalar <$s>;' "$(control_addr "$h")"
	assert_success
	assert_output "ok"
	run is_busy "$A"
	assert_success
	alive "$h"
}

@test "release by another user is refused with 77" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to create a second user"
	command -v useradd >/dev/null || skip "useradd is missing"
	OTHER_USER=vlt$$
	useradd -M -N -s /bin/sh "$OTHER_USER" || skip "cannot create a user"
	# A lockspace the other user can reach, outside bats's private 0700 directories.
	SHARED_LS=$(mktemp -d /tmp/virlock-peercred.XXXXXX)
	chmod 0755 "$SHARED_LS"
	LS=$SHARED_LS/ls
	vl acquire -o vm1 --literal lease-p 3>&-
	local h
	h=$(holder_pids)
	chmod 0755 "$LS" "$LS/.holders"
	chmod 0644 "$LS"/.holders/*
	# The socket is an abstract name, which has no file mode: the holder's
	# SO_PEERCRED check itself answers.
	[ ! -e "$LS/.holders/$h.sock" ]
	local bin=$VIRLOCK
	if [[ "$bin" != /usr/* ]]; then
		bin=$SHARED_LS/virlock
		cp "$VIRLOCK" "$bin"
		chmod 0755 "$bin"
	fi
	run runuser -u "$OTHER_USER" -- "$bin" -L "$LS" release --pid "$h"
	assert_failure 77
	assert_output --partial "permission denied"
	run is_busy --literal lease-p
	assert_success
	alive "$h"
	run vl release --pid "$h"
	assert_success
}
