#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# examples_labels.bats: the EXAMPLES of virlock(1) that meet an owner label
# already in use: run twice, the vm-start wrapper is busy (75) like its disks;
# with -w an acquire waits for the label as for the lock; and a hotplug is
# attached to a live holder only (acquire --attach, 66 if there is none).
# Also the lookup of a QEMU process that is not running: list -p "" is a
# usage error, not a list of every lock; and the migration, where the source's
# supervisor keeps its label while the target starts its own.
# Run as written, on the stage of examples_helpers.bash.

# shellcheck disable=SC2016,SC2030,SC2031 # the examples quote their own commands; each test is a subshell
# shellcheck disable=SC2154 # bats' run sets output, lines, stderr_lines
bats_require_minimum_version 1.5.0

load helpers
load examples_helpers

setup() {
	common_setup
	examples_setup
}

teardown() {
	examples_teardown
}

# blocked_on_lock PID: the kernel lists PID as blocked on a POSIX lock.
blocked_on_lock() {
	awk -v p="$1" '$2 == "->" && $6 == p { found = 1 } END { exit !found }' /proc/locks
}

# start_web1: the previous run of web1, a supervisor of the stand-in QEMU
# holding web1.qcow2 under the label web1; its pid goes to $PREV.
start_web1() {
	touch "$IMAGES/web1.qcow2"
	virlock acquire --owner web1 "$IMAGES/web1.qcow2" -- \
		qemu-system-x86_64 -name web1 -drive "file=$IMAGES/web1.qcow2" \
		</dev/null >/dev/null 2>"$WORK/prev.err" 3>&- &
	PREV=$!
	EX_PIDS+=("$PREV")
	wait_for 10 vm_running web1
	wait_for 10 holder_listening "$PREV"
}

@test "vm-start run twice: the second run fails with status 75, starting nothing" {
	vm_start_script
	touch "$IMAGES/web1-root.qcow2" "$IMAGES/web1-data.qcow2"
	vm-start web1 "$IMAGES/web1-root.qcow2" \
		"$IMAGES/web1-data.qcow2" </dev/null >/dev/null 2>"$WORK/first.err" 3>&- &
	local sv=$! rc=0
	EX_PIDS+=("$sv")
	wait_for 10 vm_running web1
	wait_for 10 holder_listening "$sv"
	run --separate-stderr vm-start web1 "$IMAGES/web1-root.qcow2" \
		"$IMAGES/web1-data.qcow2"
	assert_failure 75
	[ "${#stderr_lines[@]}" -eq 1 ]
	run cat "$FAKE/web1.log"
	assert_output "start $(cat "$FAKE/web1.pid")"
	vm_stop web1
	wait "$sv" || rc=$?
	assert_equal "$rc" 0
}

@test "a supervised acquire whose label a live holder has is busy: 75, or the status -E gives" {
	start_web1
	touch "$IMAGES/other.qcow2"
	run --separate-stderr virlock acquire --owner web1 "$IMAGES/other.qcow2" -- true
	assert_failure 75
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ ${stderr_lines[0]} == *web1* ]]
	run virlock acquire -E 9 --owner web1 "$IMAGES/other.qcow2" -- true
	assert_failure 9
	run is_free "$IMAGES/other.qcow2"
	assert_success
}

@test "wait at most 30 seconds for the previous run of a virtual machine to let go of its disk" {
	start_web1
	local first
	first=$(cat "$FAKE/web1.pid")
	virlock acquire -w 30 --owner web1 "$IMAGES/web1.qcow2" -- \
		qemu-system-x86_64 -name web1 -drive "file=$IMAGES/web1.qcow2" \
		</dev/null >/dev/null 2>"$WORK/next.err" 3>&- &
	local next=$! rc=0
	EX_PIDS+=("$next")
	# Give it the time to go wrong: until the kernel shows it blocked on the
	# disk's lock, or it ended, or its QEMU started (a wait that the kernel
	# does not show costs this deadline, and still proves the rest).
	wait_for 10 eval 'blocked_on_lock "$next" || exited "$next" || [ "$(grep -c "^start" "$FAKE/web1.log")" -gt 1 ]' || true
	run exited "$next"
	assert_failure
	run cat "$FAKE/web1.log"
	assert_output "start $first"
	# The previous run lets go: the next one runs.
	vm_stop web1
	wait "$PREV" || rc=$?
	assert_equal "$rc" 0
	wait "$next" || rc=$?
	assert_equal "$rc" 0
	run alternating "$FAKE/web1.log"
	assert_success
	run grep -c '^start' "$FAKE/web1.log"
	assert_output 2
	run cat "$WORK/next.err"
	assert_output ""
}

@test "wait at most 30 seconds for the previous run: 75 if it does not let go (-w 1 here)" {
	start_web1
	local t0 ms
	t0=$(date +%s%N)
	run --separate-stderr virlock acquire -w 1 --owner web1 "$IMAGES/web1.qcow2" -- \
		qemu-system-x86_64 -name web1 -drive "file=$IMAGES/web1.qcow2"
	ms=$((($(date +%s%N) - t0) / 1000000))
	assert_failure 75
	[ "${#stderr_lines[@]}" -eq 1 ]
	[ "$ms" -ge 900 ]
	run grep -c '^start' "$FAKE/web1.log"
	assert_output 1
	run virlock acquire -w 0.3 -E 9 --owner web1 "$IMAGES/web1.qcow2" -- true
	assert_failure 9
	vm_running web1
}

@test "hotplug with --attach: lock a disk in web1's holder, then attach it; release it after the unplug" {
	start_web1
	touch "$IMAGES/web1-data.qcow2"
	run bash -c 'virlock acquire --attach --owner web1 "$1" &&
		echo "now attach it, e.g. with QMP blockdev-add and device_add"' sh "$IMAGES/web1-data.qcow2"
	assert_success
	assert_output "now attach it, e.g. with QMP blockdev-add and device_add"
	run is_busy "$IMAGES/web1-data.qcow2"
	assert_success
	run holder_pids
	assert_output "$PREV"
	# ... later, after device_del:
	run virlock release "$IMAGES/web1-data.qcow2"
	assert_success
	run is_free "$IMAGES/web1-data.qcow2"
	assert_success
	vm_running web1
}

@test "hotplug with --attach of a mistyped label: 66, nothing attached, no holder started" {
	start_web1
	touch "$IMAGES/web1-data.qcow2"
	run --separate-stderr bash -c 'virlock acquire --attach --owner wbe1 "$1" &&
		echo "now attach it, e.g. with QMP blockdev-add and device_add"' sh "$IMAGES/web1-data.qcow2"
	assert_failure 66
	assert_equal "$output" ""
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ ${stderr_lines[0]} == *wbe1* ]]
	run is_free "$IMAGES/web1-data.qcow2"
	assert_success
	run holder_pids
	assert_output "$PREV"
	run vl list --owner wbe1
	assert_output ""

	# Nor once web1 has stopped.
	vm_stop web1
	wait "$PREV" || true
	run bash -c 'virlock acquire --attach --owner web1 "$1" &&
		echo "now attach it"' sh "$IMAGES/web1-data.qcow2"
	assert_failure 66
	refute_output --partial "now attach it"
	run holder_pids
	assert_output ""
	run is_free "$IMAGES/web1-data.qcow2"
	assert_success
}

@test "find the supervisor of a QEMU process that is not running: list -p of no pid is a usage error (64), listing nothing" {
	# A name of this run's own: pgrep looks at every process of the host.
	local vm=web1-$$
	touch "$IMAGES/web2.qcow2"
	virlock acquire --owner web2 "$IMAGES/web2.qcow2" 3>&-
	run --separate-stderr virlock list -p "$(pgrep -xf "qemu-system-x86_64 -name $vm .*")"
	assert_failure 64
	assert_equal "$output" ""
	[ "${#stderr_lines[@]}" -eq 1 ]
	run virlock release --owner web2
	assert_success
}

# migrate_scripts: vm-migrate and vm-incoming of the migration example, as
# written, in $BIN, and an ssh that runs its command on this host as if on
# HOST: hostname says HOST, and the stand-ins report in $FAKE/HOST.
migrate_scripts() {
	cat >"$BIN/vm-migrate" <<'EOF2'
#!/bin/bash
# vm-migrate NAME HOST DISK...: on the source, VM NAME paused.
set -eu
name=$1 host=$2
shift 2
tok=$(virlock release --handoff "$@")
ssh "$host" vm-incoming "$name" "$tok" "$@"
EOF2
	cat >"$BIN/vm-incoming" <<'EOF2'
#!/bin/bash
# vm-incoming NAME TOKEN DISK...: on the target.
set -eu
name=$1 tok=$2
shift 2
drives=()
for disk in "$@"; do
    drives+=(-drive "file=$disk,if=virtio")
done
exec virlock acquire --owner "$name@$(hostname)" --expect-state "$tok" "$@" -- \
    qemu-system-x86_64 -name "$name" -incoming tcp:0:4444 "${drives[@]}"
EOF2
	cat >"$BIN/ssh" <<'EOF2'
#!/bin/sh
host=$1
shift
there=$FAKE/$host
mkdir -p "$there/bin"
printf '#!/bin/sh\necho %s\n' "$host" >"$there/bin/hostname"
chmod +x "$there/bin/hostname"
FAKE=$there PATH=$there/bin:$PATH exec "$@"
EOF2
	chmod +x "$BIN/vm-migrate" "$BIN/vm-incoming" "$BIN/ssh"
}

@test "migrate a virtual machine: the source hands its disks off, the target takes them, with both running" {
	migrate_scripts
	local root=$IMAGES/web1-root.qcow2 data=$IMAGES/web1-data.qcow2 rc=0
	touch "$root" "$data"
	virlock acquire --owner "web1@$(hostname)" "$root" "$data" -- \
		qemu-system-x86_64 -name web1 -drive "file=$root,if=virtio" -drive "file=$data,if=virtio" \
		</dev/null >/dev/null 2>"$WORK/src.err" 3>&- &
	local src=$!
	EX_PIDS+=("$src")
	wait_for 10 vm_running web1
	wait_for 10 holder_listening "$src"
	vm-migrate web1 target "$root" "$data" </dev/null >"$WORK/mig.out" 2>"$WORK/mig.err" 3>&- &
	local mig=$!
	EX_PIDS+=("$mig")
	FAKE=$FAKE/target wait_for 10 vm_running web1
	run cat "$FAKE/target/web1.args"
	assert_output "$(printf '%s\n' -name web1 -incoming tcp:0:4444 \
		-drive "file=$root,if=virtio" -drive "file=$data,if=virtio")"
	run vl list -r -n -o PATH,OWNER
	assert_output "$(printf '%s web1@target\n' "$data" "$root")"
	# The source's QEMU ends once the migration is done, and the target's later.
	vm_stop web1
	wait "$src" || rc=$?
	assert_equal "$rc" 0
	FAKE=$FAKE/target vm_stop web1
	wait "$mig" || rc=$?
	assert_equal "$rc" 0
	run is_free "$root" "$data"
	assert_success
}
