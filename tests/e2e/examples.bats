#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# examples.bats: every entry of EXAMPLES in virlock(1), run as written, with test
# directories for /srv and /run and stand-ins for QEMU, qemu-img and a daemon
# (see examples_helpers.bash). The entries that need an owner label to wait or
# to be attached to are in examples_labels.bats.

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

@test "vm-start: a wrapper starts a virtual machine with all its disks locked" {
	vm_start_script
	touch "$IMAGES/web1-root.qcow2" "$IMAGES/web1-data.qcow2"
	vm-start web1 "$IMAGES/web1-root.qcow2" \
		"$IMAGES/web1-data.qcow2" </dev/null >"$WORK/vm.out" 2>"$WORK/vm.err" 3>&- &
	local sv=$! rc=0
	EX_PIDS+=("$sv")
	wait_for 10 vm_running web1
	run cat "$FAKE/web1.args"
	assert_output "$(printf '%s\n' -name web1 -m 2048 -nographic \
		-drive "file=$IMAGES/web1-root.qcow2,if=virtio" -drive "file=$IMAGES/web1-data.qcow2,if=virtio")"
	run is_busy "$IMAGES/web1-root.qcow2"
	assert_success
	run is_busy "$IMAGES/web1-data.qcow2"
	assert_success
	wait_for 10 holder_listening "$sv"
	run vl list --owner web1 -r -n -o PATH,PID,CHILD
	assert_success
	assert_output "$(printf '%s %s %s\n' "$IMAGES/web1-data.qcow2" "$sv" "$(cat "$FAKE/web1.pid")" \
		"$IMAGES/web1-root.qcow2" "$sv" "$(cat "$FAKE/web1.pid")")"
	vm_stop web1
	wait "$sv" || rc=$?
	assert_equal "$rc" 0
	run is_free "$IMAGES/web1-root.qcow2" "$IMAGES/web1-data.qcow2"
	assert_success
}

@test "vm-start: fails with status 75, starting nothing, if one of its disks is in use" {
	vm_start_script
	touch "$IMAGES/web1-root.qcow2" "$IMAGES/web1-data.qcow2"
	vl acquire --owner backup -s "$IMAGES/web1-data.qcow2" 3>&-
	run --separate-stderr vm-start web1 "$IMAGES/web1-root.qcow2" \
		"$IMAGES/web1-data.qcow2"
	assert_failure 75
	assert_equal "$output" ""
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ ${stderr_lines[0]} == "virlock: $IMAGES/web1-data.qcow2: held by "*" (pid "*", owner backup, since "*"); "* ]]
	[ ! -e "$FAKE/web1.args" ]
	run is_free "$IMAGES/web1-root.qcow2"
	assert_success
	run vl release --owner backup
	assert_success
}

@test "a base image shared read-only by several virtual machines, each with its own overlay; a job that would write the base fails while any of them runs" {
	touch "$IMAGES/base.qcow2" "$IMAGES/web1.qcow2" "$IMAGES/web2.qcow2"
	cd "$IMAGES"
	virlock acquire -s base.qcow2 -- \
		virlock acquire --owner web1 web1.qcow2 -- \
		qemu-system-x86_64 -name web1 -drive file=web1.qcow2 </dev/null >/dev/null 2>"$WORK/web1.err" 3>&- &
	local web1=$!
	virlock acquire -s base.qcow2 -- \
		virlock acquire --owner web2 web2.qcow2 -- \
		qemu-system-x86_64 -name web2 -drive file=web2.qcow2 </dev/null >/dev/null 2>"$WORK/web2.err" 3>&- &
	local web2=$! rc=0
	EX_PIDS+=("$web1" "$web2")
	wait_for 10 vm_running web1
	wait_for 10 vm_running web2
	run vl list -r -n -o PATH,MODE
	assert_success
	assert_output "$(printf '%s\n' "$IMAGES/base.qcow2 shared" "$IMAGES/base.qcow2 shared" \
		"$IMAGES/web1.qcow2 exclusive" "$IMAGES/web2.qcow2 exclusive")"

	run --separate-stderr virlock acquire base.qcow2 -- qemu-img commit web1.qcow2
	assert_failure 75
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ ${stderr_lines[0]} == "virlock: base.qcow2: held by "*" (pid "*", since "*") and 1 more; "* ]]
	[ ! -e "$FAKE/qemu-img.args" ]

	# While any of them runs.
	vm_stop web1
	wait "$web1" || rc=$?
	assert_equal "$rc" 0
	run virlock acquire base.qcow2 -- qemu-img commit web1.qcow2
	assert_failure 75
	[ ! -e "$FAKE/qemu-img.args" ]
	vm_stop web2
	wait "$web2" || rc=$?
	assert_equal "$rc" 0
	run virlock acquire base.qcow2 -- qemu-img commit web1.qcow2
	assert_success
	run cat "$FAKE/qemu-img.args"
	assert_output "$(printf '%s\n' commit web1.qcow2)"
}

@test "hotplug a disk into the running virtual machine labelled web1, release it after the unplug; the lock goes with web1's others when it stops" {
	touch "$IMAGES/web1.qcow2" "$IMAGES/web1-data.qcow2"
	virlock acquire --owner web1 "$IMAGES/web1.qcow2" -- \
		qemu-system-x86_64 -name web1 -drive "file=$IMAGES/web1.qcow2" </dev/null >/dev/null 2>"$WORK/web1.err" 3>&- &
	local sv=$! rc=0
	EX_PIDS+=("$sv")
	wait_for 10 vm_running web1
	# The label is web1's once its supervisor publishes it, which it does
	# while QEMU starts.
	wait_for 10 holder_listening "$sv"

	run bash -c 'virlock acquire --owner web1 "$1" &&
		echo "now attach it, e.g. with QMP blockdev-add and device_add"' sh "$IMAGES/web1-data.qcow2"
	assert_success
	assert_output "now attach it, e.g. with QMP blockdev-add and device_add"
	run is_busy "$IMAGES/web1-data.qcow2"
	assert_success
	run holder_pids
	assert_output "$sv"
	# ... later, after device_del:
	run virlock release "$IMAGES/web1-data.qcow2"
	assert_success
	run is_free "$IMAGES/web1-data.qcow2"
	assert_success
	vm_running web1
	run is_busy "$IMAGES/web1.qcow2"
	assert_success

	run bash -c 'virlock acquire --owner web1 "$1" &&
		echo "now attach it, e.g. with QMP blockdev-add and device_add"' sh "$IMAGES/web1-data.qcow2"
	assert_success
	assert_output "now attach it, e.g. with QMP blockdev-add and device_add"
	vm_stop web1
	wait "$sv" || rc=$?
	assert_equal "$rc" 0
	run is_free "$IMAGES/web1.qcow2" "$IMAGES/web1-data.qcow2"
	assert_success
}

@test "a daemon tied to a detached holder with --for-pid, stopped if the lock fails" {
	touch "$DATA/shared.img"
	mydaemon --pidfile "$RUN/mydaemon.pid"
	pid=$(cat "$RUN/mydaemon.pid")
	virlock acquire --owner mydaemon --for-pid "$pid" \
		"$DATA/shared.img" 3>&- || kill "$pid"
	kill -0 "$pid"
	run vl list --owner mydaemon -r -n -o PATH
	assert_output "$DATA/shared.img"
	run is_busy "$DATA/shared.img"
	assert_success
	# It releases when the daemon ends.
	kill "$pid"
	wait_for 10 is_free "$DATA/shared.img"

	# The lock fails: the daemon is stopped.
	vl acquire --owner other "$DATA/shared.img" 3>&-
	mydaemon --pidfile "$RUN/mydaemon.pid"
	pid=$(cat "$RUN/mydaemon.pid")
	kill -0 "$pid"
	virlock acquire --owner mydaemon --for-pid "$pid" \
		"$DATA/shared.img" 2>"$WORK/err" 3>&- || kill "$pid"
	wait_for 10 exited "$pid"
	run cat "$WORK/err"
	assert_output --regexp "$DATA/shared.img: held by .* \(pid [0-9]+, owner other, since "
	run vl list --owner mydaemon
	assert_output ""
	run vl release --owner other
	assert_success
}

@test "or a supervisor alive as long as the daemon, which takes the lock before the daemon starts" {
	touch "$DATA/shared.img"
	virlock acquire "$DATA/shared.img" -- sh -c \
		'mydaemon --pidfile "$1" &&
		exec tail --pid="$(cat "$1")" -f /dev/null' sh "$RUN/mydaemon.pid" </dev/null >/dev/null 2>"$WORK/sv.err" 3>&- &
	local sv=$! rc=0
	EX_PIDS+=("$sv")
	wait_for 10 test -s "$RUN/mydaemon.pid"
	local pid
	pid=$(cat "$RUN/mydaemon.pid")
	run is_busy "$DATA/shared.img"
	assert_success
	kill -0 "$sv"
	kill "$pid"
	wait "$sv" || rc=$?
	assert_equal "$rc" 0
	run is_free "$DATA/shared.img"
	assert_success
}

@test "find who holds an image: its holder, label, command and waiters; the locks of one VM; the supervisor of a QEMU process; a few columns; the owner alone" {
	# A name of this run's own: pgrep looks at every process of the host.
	local vm=web1-$$
	touch "$IMAGES/web1.qcow2"
	virlock acquire --owner "$vm" "$IMAGES/web1.qcow2" -- \
		qemu-system-x86_64 -name "$vm" -drive "file=$IMAGES/web1.qcow2" </dev/null >/dev/null 2>"$WORK/vm.err" 3>&- &
	local sv=$!
	EX_PIDS+=("$sv")
	wait_for 10 vm_running "$vm"
	wait_for 10 holder_listening "$sv"
	local qemu
	qemu=$(cat "$FAKE/$vm.pid")
	virlock acquire -w "$IMAGES/web1.qcow2" -- true </dev/null >/dev/null 2>&1 3>&- &
	local waiter=$!
	EX_PIDS+=("$waiter")

	# /proc/locks, where inspect finds waiters, is read a page at a time
	# and can miss an entry while other locks of the host change: retry.
	wait_for 10 inspect_shows_waiter "$IMAGES/web1.qcow2" "$waiter" || true
	run virlock inspect "$IMAGES/web1.qcow2"
	assert_success
	assert_line --regexp "^path: +$IMAGES/web1.qcow2\$"
	assert_line --regexp '^state: +exclusive$'
	assert_line --regexp '^holders: +1$'
	assert_line --regexp "^holder: +$sv\$"
	assert_line --regexp "^  command: +$(virlock_comm "$sv")\$"
	assert_line --regexp "^  owner: +$vm\$"
	assert_line --regexp "^  child: +$qemu\$"
	assert_line --regexp "^waiters: +$waiter\$"

	run virlock list --owner "$vm"
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 --regexp '^PATH +MODE +PID +OWNER +COMMAND +SINCE$'
	assert_line --index 1 --regexp "^$IMAGES/web1.qcow2 +exclusive +$sv +$vm +$(virlock_comm "$sv") +[0-9T:+-]+\$"

	run virlock list -p "$(pgrep -xf "qemu-system-x86_64 -name $vm .*")"
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_line --index 1 --regexp "^$IMAGES/web1.qcow2 +exclusive +$sv +$vm +$(virlock_comm "$sv") "

	run virlock list -o PATH,OWNER,PID,CHILD
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 --regexp '^PATH +OWNER +PID +CHILD$'
	assert_line --index 1 --regexp "^$IMAGES/web1.qcow2 +$vm +$sv +$qemu\$"

	run bash -c 'virlock list -J | jq -r --arg p "$1" \
		'\''.locks[] | select(.path == $p) | .owner'\''' sh "$IMAGES/web1.qcow2"
	assert_success
	assert_output "$vm"
}

@test "hold a base image shared while a backup job copies it, in a detached holder labelled backup, then let go of everything it holds" {
	head -c 100000 /dev/urandom >"$IMAGES/base.qcow2"
	virlock acquire -s --owner backup "$IMAGES/base.qcow2" 3>&-
	local h
	h=$(holder_pids)
	run vl acquire -n -s "$IMAGES/base.qcow2" -- true
	assert_success
	run is_busy "$IMAGES/base.qcow2"
	assert_success
	cp --sparse=always "$IMAGES/base.qcow2" "$BACKUP/base.qcow2"
	cmp "$IMAGES/base.qcow2" "$BACKUP/base.qcow2"
	run virlock release --owner backup
	assert_success
	assert_output ""
	run is_free "$IMAGES/base.qcow2"
	assert_success
	wait_for 10 exited "$h"
}

@test "clean up lock files of images that no one holds and records of holders that were killed: look first, then remove, quietly from cron" {
	touch "$IMAGES/free.qcow2" "$IMAGES/held.qcow2" "$IMAGES/killed.qcow2"
	virlock acquire "$IMAGES/free.qcow2" -- true
	virlock acquire --owner keep "$IMAGES/held.qcow2" 3>&-
	# This one listens on a socket file, as holders of earlier versions did
	# (a holder's abstract socket name leaves nothing behind).
	LOCKSPACE_CONTROL=file virlock acquire --owner killed "$IMAGES/killed.qcow2" 3>&-
	local keep killed
	keep=$(vl list --owner keep -r -n -o PID)
	killed=$(vl list --owner killed -r -n -o PID)
	kill -KILL "$killed"
	# Killed, and reaped by its parent (init): its pid is no one's.
	wait_for 10 test ! -e "/proc/$killed"
	local free_lock killed_lock held_lock
	free_lock=$LS/$("$VIRLOCK" hash "$IMAGES/free.qcow2")
	killed_lock=$LS/$("$VIRLOCK" hash "$IMAGES/killed.qcow2")
	held_lock=$LS/$("$VIRLOCK" hash "$IMAGES/held.qcow2")
	local before
	before=$(find "$LS" | sort)

	run virlock prune --dry-run -v
	assert_success
	assert_line "would remove $free_lock"
	assert_line "would remove $killed_lock"
	assert_line "would remove $LS/.holders/$killed"
	assert_line "would remove $LS/.holders/$killed.sock"
	# The label file the killed holder claimed "killed" with.
	local killed_label
	killed_label=$LS/.holders/owner.$(printf %s killed | md5sum | cut -c1-32)
	assert_line "would remove $killed_label"
	refute_output --partial "$held_lock"
	refute_output --partial "/.holders/$keep"
	assert_equal "${lines[-1]}" "would remove 2 free lock files and 3 stale holder files"
	[ "$(find "$LS" | sort)" = "$before" ]

	run virlock prune
	assert_success
	assert_output "removed 2 free lock files and 3 stale holder files"
	[ ! -e "$free_lock" ]
	[ ! -e "$killed_lock" ]
	[ ! -e "$LS/.holders/$killed" ]
	[ ! -e "$LS/.holders/$killed.sock" ]
	[ ! -e "$killed_label" ]
	[ -e "$held_lock" ]
	[ -e "$LS/.holders/$keep" ]
	run is_busy "$IMAGES/held.qcow2"
	assert_success

	virlock acquire "$IMAGES/free.qcow2" -- true
	run virlock -q prune
	assert_success
	assert_output ""
	[ ! -e "$free_lock" ]
	run vl release --owner keep
	assert_success
}
