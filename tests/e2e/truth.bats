#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# truth.bats: after holders are killed with SIGKILL, list and inspect show only what the kernel holds.
# shellcheck disable=SC2016 # jq programs take their $variables as they are

load helpers
load list_helpers

setup() {
	common_setup
	list_setup
	touch "$WORK/disk.img"
	DISK=$(realpath "$WORK/disk.img")
}

teardown() {
	stop_all
	stop_holders
}

# owner_pids LABEL: the pids list shows holding a lock with owner LABEL.
owner_pids() {
	vl list -r -n -o PID --owner "$1" | sort -u
}

# kill_holder PID: SIGKILL PID and wait until it is gone.
kill_holder() {
	kill -KILL "$1"
	wait_for 10 gone "$1"
}

# listed_as LABEL PID: list shows PID holding a lock with owner LABEL.
listed_as() {
	[ "$(owner_pids "$1")" = "$2" ]
}

# only_holder_is PID OWNER MODE: every view of $DISK agrees that PID (owner
# OWNER) is its one holder, in MODE.
only_holder_is() {
	local pid=$1 owner=$2 mode=$3
	rows -o PATH,MODE,PID,OWNER
	assert_output "$DISK $mode $pid $owner"
	run vl list -J
	assert_success
	jq_ok '[.locks[] | {path, mode, pid, owner}] == [{path: $d, mode: $m, pid: $p, owner: $o}]' \
		--arg d "$DISK" --arg m "$mode" --argjson p "$pid" --arg o "$owner"
	# virlock(1)'s example: the owner of an image, for a script.
	run sh -c "\"\$1\" -L \"\$2\" list -J | jq -r --arg p \"\$3\" '.locks[] | select(.path == \$p) | .owner'" \
		sh "$VIRLOCK" "$LS" "$DISK"
	assert_output "$owner"
	run vl inspect "$DISK"
	assert_success
	assert_line --regexp "^state: +$mode\$"
	assert_line --regexp "^holders: +1\$"
	assert_line --regexp "^holder: +$pid\$"
	run vl inspect -J "$DISK"
	jq_ok '.state == $m and ([.holders[] | {pid, mode, owner, status}] ==
		[{pid: $p, mode: $m, owner: $o, status: "ok"}])' \
		--arg m "$mode" --argjson p "$pid" --arg o "$owner"
}

# no_holder_labelled LABEL: list --owner, release --owner and inspect agree
# that no holder has LABEL.
no_holder_labelled() {
	run vl list --owner "$1"
	assert_success
	assert_output ""
	run vl release --owner "$1"
	assert_failure 66
	run vl inspect -J "$DISK"
	jq_ok '[.holders[] | select(.owner == $o)] == []' --arg o "$1"
}

# stale_records_are PID...: inspect and list --stale show exactly the stale
# records of PID..., apart from the holders and never with a live mode.
stale_records_are() {
	local want n=$#
	want=$(printf '%s\n' "$@" | sort -n | jq -s -c .)
	run vl inspect -J "$DISK"
	jq_ok '[.stale_records[] | select(.status == "stale") | .pid] | sort == $w' --argjson w "$want"
	run vl inspect "$DISK"
	assert_line --regexp "^stale records: $n .*'virlock prune'"
	run vl list --stale -J -o pid,mode,status
	jq_ok '[.locks[] | select(.status == "stale") | select(.mode == "stale") | .pid] | sort == $w' \
		--argjson w "$want"
	jq_ok '[.locks[] | select(.mode == "stale")] == [.locks[] | select(.status == "stale")]'
}

@test "a SIGKILLed detached holder leaves no row: list, JSON, --owner, release and inspect agree" {
	local p1 p2
	vl acquire --owner vm1 "$WORK/disk.img"
	p1=$(owner_pids vm1)
	[[ $p1 =~ ^[0-9]+$ ]]
	kill_holder "$p1"
	vl acquire --owner vm2 "$WORK/disk.img"
	p2=$(owner_pids vm2)
	[[ $p2 =~ ^[0-9]+$ ]]
	only_holder_is "$p2" vm2 exclusive
	no_holder_labelled vm1
	stale_records_are "$p1"
	rows --stale -o MODE,PID,OWNER,STATUS
	assert_output "$(printf 'stale %s vm1 stale\nexclusive %s vm2 ok' "$p1" "$p2")"
	run vl inspect "$DISK"
	assert_line --regexp "^record: +$p1\$"
	assert_line "  claimed: exclusive"
	# prune removes the record of the dead holder; the live one stays.
	vl prune >/dev/null
	rows --stale -o MODE,PID,OWNER,STATUS
	assert_output "exclusive $p2 vm2 ok"
}

@test "a free lock file whose holder was SIGKILLed is free in every view, holders 0" {
	local p1
	vl acquire --owner vm1 "$WORK/disk.img"
	p1=$(owner_pids vm1)
	kill_holder "$p1"
	rows
	assert_output ""
	rows -a -o PATH,MODE,PID,OWNER,STATUS
	assert_output "$DISK free - - ok"
	run vl list -a -J -o path,mode,pid,owner
	jq_ok '.locks == [{path: $d, mode: "free", pid: null, owner: null}]' --arg d "$DISK"
	run vl inspect "$DISK"
	assert_line --regexp "^state: +free\$"
	assert_line --regexp "^holders: +0\$"
	refute_line --regexp "^holder:"
	stale_records_are "$p1"
	no_holder_labelled vm1
	rows -a --stale -o MODE,PID,OWNER,STATUS
	assert_output "$(printf 'free - - ok\nstale %s vm1 stale' "$p1")"
}

@test "SIGKILLed supervisors leave no rows; the supervisor that runs is the one holder" {
	local s sups=()
	for s in 1 2 3; do
		mkfifo "$WORK/go$s"
		bg_start sup$s "$BG/sup$s.out" "$VIRLOCK" -L "$LS" acquire --owner "vm$s" "$WORK/disk.img" -- \
			sh -c 'echo $$ >"$1"; read -r x <"$2"' sh "$WORK/child$s" "$WORK/go$s"
		sups+=("$(pid_of sup$s)")
		wait_for 10 test -s "$WORK/child$s"
		wait_for 10 listed_as "vm$s" "$(pid_of sup$s)"
		[ "$s" = 3 ] && break
		kill -KILL "$(pid_of sup$s)"
		bg_wait sup$s || true
		# The child dies with its supervisor, and the lock with both.
		wait_for 10 gone "$(cat "$WORK/child$s")"
	done
	only_holder_is "${sups[2]}" vm3 exclusive
	no_holder_labelled vm1
	no_holder_labelled vm2
	stale_records_are "${sups[0]}" "${sups[1]}"
	rows --stale -o MODE,PID,OWNER,STATUS
	# Both sides sorted alike: pids of different lengths sort as text, not by age.
	assert_equal "$(sort <<<"$output")" "$(printf 'exclusive %s vm3 ok\nstale %s vm1 stale\nstale %s vm2 stale\n' \
		"${sups[2]}" "${sups[0]}" "${sups[1]}" | sort)"
	echo go >"$WORK/go3"
	bg_wait sup3
}

@test "one of two shared holders SIGKILLed: the survivor is the one holder" {
	local p1 p2
	vl acquire -s --owner vm1 "$WORK/disk.img"
	vl acquire -s --owner vm2 "$WORK/disk.img"
	p1=$(owner_pids vm1)
	p2=$(owner_pids vm2)
	rows -o MODE,OWNER
	assert_equal "$(sort <<<"$output")" "$(printf 'shared vm1\nshared vm2')"
	kill_holder "$p1"
	only_holder_is "$p2" vm2 shared
	no_holder_labelled vm1
	stale_records_are "$p1"
	# An exclusive acquire still waits for the survivor.
	run vl acquire --owner vm3 "$WORK/disk.img" -- true
	assert_failure 75
}

@test "inspect confirms a shared holder's record in /proc/locks: a live record without the lock is stale" {
	local name
	name=$(name_of "$WORK/disk.img")
	hold s1 -s -o vm1 "$WORK/disk.img"
	hold s2 -s -o vm2 "$WORK/disk.img"
	# This shell runs and its record says it shares the lock, but it holds nothing.
	write_record $$ "$(proc_start $$)" "owner liar" "lock $name shared 1700000000"
	run vl inspect -J "$DISK"
	jq_ok '.state == "shared" and ([.holders[].owner] | sort) == ["vm1", "vm2"]'
	jq_ok '[.stale_records[] | {pid, owner}] == [{pid: $me, owner: "liar"}]' --argjson me $$
	run vl inspect "$DISK"
	assert_line --regexp "^holders: +2\$"
	refute_line --regexp "^holder: +$$\$"
	assert_line --regexp "^record: +$$\$"
	# list reads /proc/locks when asked for WAITERS, and then agrees.
	rows -o OWNER,MODE,WAITERS
	assert_equal "$(sort <<<"$output")" "$(printf 'vm1 shared -\nvm2 shared -')"
	rows --stale -o OWNER,MODE,WAITERS
	assert_line "liar stale -"
}

@test "plain list confirms a further shared holder in its fdinfo: a live record whose lock was dropped is stale" {
	local real ghost second
	vl acquire -s --owner real "$WORK/disk.img"
	real=$(owner_pids real)
	# ghost records a shared hold, then drops it (POSIX: any close does).
	hold ghost -s -o ghost -D "$WORK/disk.img"
	ghost=$(pid_of ghost)
	[ -d "/proc/$ghost" ]
	rows -o OWNER,MODE,PID,STATUS
	assert_output "real shared $real ok"
	run vl list -J -o owner,mode
	assert_success
	jq_ok '.locks == [{owner: "real", mode: "shared"}]'
	run vl inspect "$DISK"
	assert_line --regexp "^holders: +1\$"
	rows --stale -o OWNER,MODE,PID,STATUS
	assert_equal "$(sort <<<"$output")" "$(printf 'ghost stale %s stale\nreal shared %s ok' "$ghost" "$real")"
	stale_records_are "$ghost"
	# A further holder that does hold the lock is confirmed, whichever F_GETLK names.
	hold second -s -o second "$WORK/disk.img"
	second=$(pid_of second)
	rows -o OWNER,PID
	assert_equal "$(sort <<<"$output")" "$(printf 'real %s\nsecond %s' "$real" "$second")"
	rows -o OWNER,PID,WAITERS
	assert_equal "$(sort <<<"$output")" "$(printf 'real %s -\nsecond %s -' "$real" "$second")"
}
