#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# handoff.bats: release --handoff and acquire --expect-state in an fcntl lockspace.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	common_setup
	touch "$WORK/a.img" "$WORK/b.img"
	A=$WORK/a.img
	B=$WORK/b.img
}

teardown() {
	vl release --all >/dev/null 2>&1 || true
}

@test "a clean hand-off: the target takes what the source handed off, and the marker is gone" {
	run vl acquire --owner vm1 "$A" "$B"
	assert_success
	run --separate-stderr vl release --handoff "$A" "$B"
	assert_success
	tok=$output
	assert_equal "$stderr" ""
	[[ $tok =~ ^vlh1:f:[0-9a-f]{32}=[0-9a-f]+:[0-9a-f]{32}=[0-9a-f]+$ ]]
	# Released: the lock files have their marker as a second link, and stay free.
	run vl list
	assert_output ""
	assert_equal "$(find "$LS/.holders" -name 'handoff.*' | wc -l)" 2
	# prune keeps a lock file whose hand-off is pending.
	run vl prune
	assert_success
	assert_equal "$(stat -c %h "$LS/$("$VIRLOCK" hash "$A")")" 2
	# The resources in another order: the same token.
	run vl acquire --expect-state "$tok" "$B" "$A" -- true
	assert_success
	assert_equal "$(find "$LS/.holders" -name 'handoff.*' | wc -l)" 0
	assert_equal "$(stat -c %h "$LS/$("$VIRLOCK" hash "$A")")" 1
	# Used once: a second acquire with it is refused (naming the first
	# resource in name order).
	run vl acquire --expect-state "$tok" "$A" "$B" -- true
	assert_failure 75
	assert_output --regexp "^virlock: $WORK/[ab]\.img: taken by another holder in between"
}

@test "an acquire in between makes the target refuse with 75, and takes nothing" {
	vl acquire "$A"
	tok=$(vl release --handoff "$A")
	run vl acquire "$A" -- true
	assert_success
	run vl acquire --expect-state "$tok" "$A" -- true
	assert_failure 75
	assert_output "virlock: $A: taken by another holder in between; the hand-off state is gone, nothing was acquired; see 'virlock inspect $A'"
	run vl list
	assert_output ""
	# -E changes that status too.
	run vl acquire -E 3 --expect-state "$tok" "$A" -- true
	assert_failure 3
}

@test "a hand-off while the third party still holds it: busy, and void once it lets go" {
	vl acquire "$A"
	tok=$(vl release --handoff "$A")
	vl acquire --owner intruder "$A"
	run vl acquire --expect-state "$tok" "$A" -- true
	assert_failure 75
	assert_output --partial "held by"
	vl release --owner intruder
	run vl acquire -w 5 --expect-state "$tok" "$A" -- true
	assert_failure 75
	assert_output --partial "taken by another holder in between"
}

@test "a second hand-off replaces the first one's marker" {
	vl acquire "$A"
	tok=$(vl release --handoff "$A")
	vl acquire --expect-state "$tok" "$A"
	tok2=$(vl release --handoff "$A")
	assert_equal "$(find "$LS/.holders" -name 'handoff.*' | wc -l)" 1
	run vl acquire --expect-state "$tok" "$A" -- true
	assert_failure 75
	run vl acquire --expect-state "$tok2" "$A" -- true
	assert_success
}

@test "a malformed token is 64 in one line; a token of other resources or another backend is 64" {
	vl acquire "$A" "$B"
	tok=$(vl release --handoff "$A")
	for bad in "" garbage "vlh1:f:" "vlh1:x:$("$VIRLOCK" hash "$A")=1" "vlh1:f:$("$VIRLOCK" hash "$A")=0" \
		"vlh1:f:$("$VIRLOCK" hash "$A")=1:$("$VIRLOCK" hash "$A")=2" "$tok:" "$tok "; do
		run vl acquire --expect-state "$bad" "$A" -- true
		assert_failure 64
		assert_output "virlock: acquire: --expect-state: not a hand-off token; give the line 'virlock release --handoff' printed"
	done
	run vl acquire --expect-state "$tok" "$B" -- true
	assert_failure 64
	assert_output "virlock: $B: not in the hand-off token; it hands off other resources"
	run vl acquire --expect-state "$tok" "$A" "$WORK/c.img" -- true
	assert_failure
	run vl acquire --expect-state "${tok/vlh1:f:/vlh1:s:}" "$A" -- true
	assert_failure 64
	assert_output --partial "the token is of another kind of lockspace"
	run vl --direct acquire --expect-state "$tok" "$A" -- true
	assert_failure 64
	# Nothing of that consumed the marker.
	run vl acquire --expect-state "$tok" "$A" -- true
	assert_success
}

@test "release --handoff takes resources only, and refuses a shared hold" {
	run vl release --handoff --all
	assert_failure 64
	assert_output "virlock: release: --handoff takes resources, not --owner, --pid or --all; try 'virlock release --help'"
	vl acquire -s "$A"
	run vl release --handoff "$A"
	assert_failure
	assert_output --partial "only an exclusive hold can be handed off"
	run vl list -r -n -o MODE
	assert_output "shared"
}

@test "prune removes a marker whose lock file is gone" {
	vl acquire "$A"
	vl release --handoff "$A" >/dev/null
	rm "$LS/$("$VIRLOCK" hash "$A")"
	run vl prune
	assert_success
	assert_equal "$(find "$LS/.holders" -name 'handoff.*' | wc -l)" 0
}

@test "acquires racing the target: the target never succeeds after another took it" {
	local round i t ok=0 refused=0
	for round in $(seq 15); do
		vl acquire "$A"
		tok=$(vl release --handoff "$A")
		rm -f "$WORK"/t.* "$WORK/target"
		for i in 1 2 3; do
			vl acquire -w 10 "$A" -- sh -c "date +%s%N > $WORK/t.$i" &
		done
		if vl acquire -w 10 --expect-state "$tok" "$A" -- sh -c "date +%s%N > $WORK/target" 2>/dev/null; then
			ok=$((ok + 1))
		else
			refused=$((refused + 1))
		fi
		wait
		# Each command ran under the lock: a target that ran after
		# another holder had the resource would have broken the hand-off.
		if [ -e "$WORK/target" ]; then
			t=$(cat "$WORK/target")
			for i in 1 2 3; do
				[ "$(cat "$WORK/t.$i")" -gt "$t" ]
			done
		fi
	done
	echo "# $ok handed off, $refused refused" >&3
}

@test "release --handoff of two, one not held: nothing is released, no token" {
	vl acquire --owner vm1 "$A"
	run --separate-stderr vl release --handoff "$A" "$B"
	assert_failure 66
	assert_equal "$output" ""
	assert_equal "$stderr" "virlock: $B: not held by anyone; give the path the holder used, or --literal for a name"
	run vl list -r -n -o PATH,MODE
	assert_output "$A exclusive"
	assert_equal "$(find "$LS/.holders" -name 'handoff.*' | wc -l)" 0
}

# Is @1 under a flock(2) of another program, as /proc/locks shows?
image_flocked() {
	grep -q "FLOCK .*:$(stat -c %i "$1") " /proc/locks
}

@test "an expecting acquire refused for an image in use leaves the hand-off" {
	vl acquire "$A"
	tok=$(vl release --handoff "$A")
	# flock holds the image until the test writes to the FIFO.
	mkfifo "$WORK/go"
	flock -x "$A" sh -c 'read -r _ <"$1"' sh "$WORK/go" 3>&- &
	local fp=$!
	wait_for 5 image_flocked "$A"
	run vl acquire --expect-state "$tok" "$A" -- true
	assert_failure 75
	assert_output --partial "$A: in use by"
	echo go >"$WORK/go"
	wait "$fp"
	run vl acquire --expect-state "$tok" "$A" -- true
	assert_success
}

@test "a prune that looked before the hand-off and locks after the release keeps the marked lock file" {
	command -v gdb >/dev/null || skip "gdb is missing"
	# The installed package's virlock is stripped: nothing to stop at.
	gdb -q -batch -ex 'info address lsi_fcntl_lock' "$VIRLOCK" 2>&1 | grep -q '^Symbol "lsi_fcntl_lock"' ||
		skip "virlock has no symbols (stripped)"
	vl acquire "$A"
	# The prune stops before it locks the lock file (it looked: no marker
	# yet); meanwhile the holder hands it off and lets go.
	gdb -q -batch -ex 'set breakpoint pending on' -ex 'break lsi_fcntl_lock' -ex run \
		-ex "shell $VIRLOCK -L $LS release --handoff $A > $WORK/tok" -ex delete -ex continue \
		--args "$VIRLOCK" -L "$LS" prune -v >"$WORK/gdb.out" 2>&1 || true
	grep -q "Breakpoint 1, " "$WORK/gdb.out" || skip "gdb could not stop the prune"
	run vl acquire --expect-state "$(cat "$WORK/tok")" "$A" -- true
	assert_success
}

@test "a hand-off is one taker's, shared too: a second shared expecting acquire is refused while the first holds it" {
	run vl acquire --owner vm1 "$A"
	assert_success
	run vl release --handoff "$A"
	assert_success
	tok=$output
	# The first shared taker holds it (a detached holder) ...
	run vl acquire -s --owner t1 --expect-state "$tok" "$A"
	assert_success
	# ... and a second one, sharing the lock, finds the hand-off used.
	run vl acquire -s --expect-state "$tok" "$A" -- true
	assert_failure 75
	assert_output --regexp "^virlock: $A: taken by [^ ]+ \(pid [0-9]+, owner t1, since [^)]*\) in between; the hand-off state is gone"
	run vl list -n -r -o OWNER,MODE
	assert_output "t1 shared"
	vl release --owner t1
}
