#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# sanlock_views.bats: what list and inspect say about sanlock leases, from either host.
#
# Two sanlock daemons stand for two hosts sharing one lockspace directory
# (see sanlock_helpers.bash). Root and the sanlock package are needed.

load helpers
load list_helpers
load sanlock_helpers

setup_file() {
	sanlock_setup_file
}

teardown_file() {
	sanlock_hosts_stop
}

setup() {
	sanlock_setup
	list_setup
	touch "$WORK/disk.img" "$WORK/other.img"
	PIDS=()
}

teardown() {
	local pid
	stop_all
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
		wait_for 5 gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
	done
	true
}

# lsname DIR: the sanlock lockspace name of the lockspace DIR.
lsname() {
	sed -n 2p "$1/.backend"
}

# gen_of RUN HOST [DIR]: the generation of HOST in the lockspace DIR ($LS),
# as the daemon of RUN knows it.
gen_of() {
	SANLOCK_RUN_DIR=$1 sanlock client gets -h 1 | awk -v ls="$(lsname "${3:-$LS}")" -v h="$2" '
		$1 == "s" { on = index($2, ls ":") == 1 } on && $1 == "h" && $2 == h && $3 == "gen" { print $4 }'
}

# gen_is RUN HOST GEN: the daemon of RUN knows HOST as generation GEN in $LS.
gen_is() {
	[ "$(gen_of "$1" "$2")" = "$3" ]
}

# gen_known RUN HOST: the daemon of RUN knows the generation of HOST in $LS.
gen_known() {
	[ -n "$(gen_of "$1" "$2")" ]
}

# waiters_are HOSTCMD JSON-PIDS JSON-HOSTS: inspect on that host shows
# those waiters of disk.img, each with its host.
waiters_are() {
	local out
	out=$("$1" inspect -J "$WORK/disk.img") || return 1
	jq -e --argjson p "$2" --argjson h "$3" '.waiters == $p and .waiter_hosts == $h' <<<"$out" >/dev/null
}

# holds_none HOSTCMD: list on that host shows no holder.
holds_none() {
	[ -z "$("$1" list -r -n)" ]
}

# h1_reborn: host 1's daemon dies and comes back with the same name; host 1
# joins $LS again.
h1_reborn() {
	local d1 hostname
	d1=$(daemon_pid "$RUN1")
	hostname=$(tr '\0' '\n' <"/proc/$d1/cmdline" | sed -n '/^-e$/{n;p}')
	daemon_kill "$RUN1"
	daemon_restart "$RUN1" "$hostname"
	run h1 -q init --backend sanlock --host-id 1
	assert_success
}

@test "a library user without a record shows its pid and command on its host, and as remote on the other" {
	local pid
	SANLOCK_RUN_DIR=$RUN1 hold lib "$WORK/disk.img"
	pid=$(pid_of lib)
	run h1 list -r -n -o HOST,PID,COMMAND,STATUS
	assert_success
	assert_output "1 $pid lockhold ok"
	run h2 list -r -n -o HOST,PID,COMMAND,STATUS
	assert_success
	assert_output "1 - - remote"
	run h1 inspect "$WORK/disk.img"
	assert_success
	assert_line "holder:    $pid"
	assert_line "  command: lockhold"
	assert_line "  status:  ok"
	run h2 inspect "$WORK/disk.img"
	assert_line "holder:    -"
	assert_line "  status:  remote"
	run h1 inspect -J "$WORK/disk.img"
	jq_ok '.holders == [.holders[0]] and (.holders[0] | .pid == $p and .command == "lockhold" and
		.host == 1 and .status == "ok")' --argjson p "$pid"
	run h2 list -J -o HOST,PID,STATUS
	jq_ok '.locks == [{host: 1, pid: null, status: "remote"}]'
	# The record is the library's own: no control socket, not a holder to ask.
	run h1 release --all
	assert_success
	run h1 list -r -n -o PID
	assert_output "$pid"
	# Shared on both hosts: each host's own row has its pid, the other's is remote.
	run h2 acquire -s --owner s2 "$WORK/other.img"
	assert_success
	SANLOCK_RUN_DIR=$RUN1 hold lib2 -s "$WORK/other.img"
	run h1 list -r -n -o PATH,HOST,PID,MODE,STATUS
	assert_line "$(realpath "$WORK/other.img") 1 $(pid_of lib2) shared ok"
	assert_line "$(realpath "$WORK/other.img") 2 - shared remote"
	run h2 list -r -n -o PATH,HOST,OWNER,STATUS
	assert_line "$(realpath "$WORK/other.img") 1 - remote"
	assert_line "$(realpath "$WORK/other.img") 2 s2 ok"
	run h2 release --owner s2
	assert_success
	unhold lib
	unhold lib2
	run h1 list -r -n
	assert_output ""
}

@test "a SIGKILLed supervisor's record is stale: shown only with --stale and in inspect's stale records" {
	local sup name
	name=$(name_of "$WORK/disk.img")
	SANLOCK_RUN_DIR=$RUN1 "$VIRLOCK" -L "$LS" acquire --owner st "$WORK/disk.img" -- sleep 60 3>&- &
	sup=$!
	PIDS+=("$sup")
	wait_for 10 h1_holds
	kill -KILL "$sup"
	wait_for 10 gone "$sup"
	# The daemon frees the lease of its dead client; the record stays.
	wait_for 10 holds_none h1
	[ -f "$LS/.holders/h1/$sup" ]
	run h1 list -a -r -n -o NAME,MODE,PID,STATUS
	assert_line "$name free - ok"
	refute_line --regexp "^$name [^f]"
	run h1 list --stale -r -n -o NAME,MODE,PID,OWNER,STATUS
	assert_line "$name stale $sup st stale"
	assert_equal "$(grep -c "^$name " <<<"$output")" 1
	run h1 inspect "$WORK/disk.img"
	assert_success
	assert_line "state:     free"
	assert_line "holders:   0"
	assert_line "stale records: 1 (no lock behind them; 'virlock prune' removes those of ended processes)"
	assert_line "record:    $sup"
	run h1 inspect -J "$WORK/disk.img"
	jq_ok '.state == "free" and .holders == [] and
		(.stale_records | length == 1 and (.[0] | .pid == $p and .owner == "st" and .status == "stale"))' \
		--argjson p "$sup"
	# Host 2 cannot judge host 1's pids: it shows the lease free, with no holder.
	run h2 inspect -J "$WORK/disk.img"
	jq_ok '.state == "free" and .holders == [] and .stale_records == []'
	run h1 prune
	assert_success
	[ ! -e "$LS/.holders/h1/$sup" ]
	run h1 list --stale -r -n -o PID
	assert_success
	! grep -qx "$sup" <<<"$output"
}

@test "a supervisor's record in a sanlock lockspace names its child by pid, as other hosts read it" {
	local sup child
	SANLOCK_RUN_DIR=$RUN1 "$VIRLOCK" -L "$LS" acquire --owner ch "$WORK/disk.img" -- sleep 60 3>&- &
	sup=$!
	PIDS+=("$sup")
	wait_for 10 h1_holds
	wait_for 10 grep -qx "child [0-9]*" "$LS/.holders/h1/$sup"
	child=$(sed -n 's/^child //p' "$LS/.holders/h1/$sup")
	assert_equal "$(ps -o ppid= -p "$child" | tr -d ' ')" "$sup"
	run h1 list -r -n -o PID,CHILD,OWNER
	assert_output "$sup $child ch"
}

@test "a waiter on host 2 is shown on host 1 and host 2" {
	local w
	run h1 acquire --owner w1 "$WORK/disk.img"
	assert_success
	SANLOCK_RUN_DIR=$RUN2 "$VIRLOCK" -L "$LS" acquire -w --owner w2 "$WORK/disk.img" -- true 3>&- &
	w=$!
	PIDS+=("$w")
	wait_for 10 waiters_are h2 "[$w]" "[2]"
	wait_for 10 waiters_are h1 "[$w]" "[2]"
	# Its host by name, from either host.
	run h1 inspect "$WORK/disk.img"
	assert_line "waiters:   $w (host $SL_NAME2, id 2)"
	run h2 inspect "$WORK/disk.img"
	assert_line "waiters:   $w (host $SL_NAME2, id 2)"
	run h1 inspect -J "$WORK/disk.img"
	jq_ok '.waiter_hosts == [2] and .waiter_hostnames == [$n]' --arg n "$SL_NAME2"
	run h1 list -r -n -o OWNER,WAITERS
	assert_output "w1 $w"
	run h2 list -J -o HOST,WAITERS
	jq_ok '.locks == [{host: 1, waiters: [$w]}]' --argjson w "$w"
	# It gets the lease once host 1 lets it go, and is no waiter any more.
	run h1 release --owner w1
	assert_success
	wait "$w"
	run h1 inspect "$WORK/disk.img"
	assert_line "waiters:   none"
	run h2 inspect -J "$WORK/disk.img"
	jq_ok '.waiters == [] and .waiter_hosts == [] and .waiter_hostnames == []'
}

@test "a waiter that gives up is no waiter any more; a library waiter without a record is shown too" {
	run h2 acquire --owner w1 "$WORK/disk.img"
	assert_success
	SANLOCK_RUN_DIR=$RUN1 hold_start lw -w "$LS" "$WORK/disk.img"
	wait_for 10 waiters_are h1 "[$(pid_of lw)]" "[1]"
	wait_for 10 waiters_are h2 "[$(pid_of lw)]" "[1]"
	run h1 list -r -n -o HOST,OWNER,WAITERS,STATUS
	assert_output "2 - $(pid_of lw) remote"
	run h1 acquire -w 1 "$WORK/disk.img"
	assert_failure 75
	run h1 inspect -J "$WORK/disk.img"
	jq_ok '.waiters == [$w]' --argjson w "$(pid_of lw)"
	unhold lw || true
	run h1 inspect "$WORK/disk.img"
	assert_line "waiters:   none"
	run h2 release --owner w1
	assert_success
}

@test "a lease of an older generation of its host is lost on both hosts; acquire and prune treat it as free" {
	local name gen pid
	LS=$SL_TOP/gen-$BATS_TEST_NUMBER
	run h1 -q init --backend sanlock --host-id 1
	assert_success
	run h2 -q init --backend sanlock --host-id 2
	assert_success
	name=$(name_of "$WORK/disk.img")
	SANLOCK_RUN_DIR=$RUN1 hold lib "$WORK/disk.img"
	pid=$(pid_of lib)
	wait_for 10 gen_known "$RUN1" 1
	wait_for 10 gen_known "$RUN2" 1
	gen=$(gen_of "$RUN1" 1)
	h1_reborn
	wait_for 20 gen_is "$RUN1" 1 $((gen + 1))
	wait_for 20 gen_is "$RUN2" 1 $((gen + 1))
	# The lease still names host 1 as generation $gen: lost, not held. Its
	# name is not shown: the delta lease names the new generation's daemon.
	for host in h1 h2; do
		run "$host" list -r -n
		assert_output ""
		run "$host" list --stale -r -n -o NAME,MODE,HOST,GEN,PID,STATUS
		assert_line "$name stale 1 $gen - stale"
		run "$host" inspect "$WORK/disk.img"
		assert_line "state:     free"
		assert_line "holders:   0"
		assert_line "  host:    1 (generation $gen, older than the host's current one: the lease is lost)"
		run "$host" inspect -J "$WORK/disk.img"
		jq_ok '.state == "free" and .holders == [] and
			any(.stale_records[]; .pid == null and .host == 1 and .gen == $g and .status == "stale") and
			all(.stale_records[]; .hostname == null)' \
			--argjson g "$gen"
	done
	# Host 1 also shows the library user's record as stale: the new daemon does not know it.
	run h1 list --stale -r -n -o PID,HOST,GEN,STATUS
	assert_line "$pid 1 $gen stale"
	run h1 inspect -J "$WORK/disk.img"
	jq_ok 'any(.stale_records[]; .pid == $p and .command == "lockhold" and .host == 1 and .gen == $g)' \
		--argjson p "$pid" --argjson g "$gen"
	run h2 acquire "$WORK/disk.img" -- true
	assert_success
	run h2 prune
	assert_success
	run h2 list -a -r -n
	assert_output ""
	kill -KILL "$pid"
	# Host 1 joins the shared lockspace again, for the tests after this one.
	LS=$SHARED
	run h1 -q init --backend sanlock --host-id 1
}

@test "a lost lease is lost at once after the rejoin, and on a host that has not joined" {
	local name gen
	LS=$SL_TOP/gen-$BATS_TEST_NUMBER
	run h1 -q init --backend sanlock --host-id 1
	assert_success
	name=$(name_of "$WORK/disk.img")
	SANLOCK_RUN_DIR=$RUN1 hold lib "$WORK/disk.img"
	wait_for 10 gen_known "$RUN1" 1
	gen=$(gen_of "$RUN1" 1)
	h1_reborn
	# At once: host 1's daemon reports its new generation only after its
	# first renewal; host 2 never joined this lockspace and knows none.
	for host in h1 h2; do
		run "$host" list -a -r -n -o NAME,MODE,HOST,GEN,STATUS
		assert_output "$name free - - ok"
		run "$host" list -a --stale -r -n -o NAME,MODE,HOST,GEN,STATUS
		assert_line "$name stale 1 $gen stale"
	done
	kill -KILL "$(pid_of lib)"
	LS=$SHARED
	run h1 -q init --backend sanlock --host-id 1
}

@test "list -a reads the hosts' delta leases once per listing, not once per lease" {
	command -v strace >/dev/null || skip "strace is not installed"
	local r
	for r in a b c d; do
		touch "$WORK/$r.img"
	done
	run h1 acquire --owner four "$WORK/a.img" "$WORK/b.img" "$WORK/c.img" "$WORK/d.img"
	assert_success
	for run in "$RUN1" "$RUN2"; do
		SANLOCK_RUN_DIR=$run run "$VIRLOCK" -L "$LS" list -r -n -o HOST
		assert_output "$(printf '1\n1\n1\n1')"
		# (LeakSanitizer cannot run under ptrace.)
		SANLOCK_RUN_DIR=$run ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -e trace=openat -o "$BATS_TEST_TMPDIR/trace" \
			"$VIRLOCK" -L "$LS" list -a >/dev/null
		[ "$(grep -c '\.lockspace\.lease"' "$BATS_TEST_TMPDIR/trace")" -le 1 ]
	done
	run h1 release --owner four
	assert_success
}

@test "a library process with two handles of one lockspace shows its pid on the leases of both" {
	local pid
	SANLOCK_RUN_DIR=$RUN1 hold lib -2 "$WORK/disk.img" "$WORK/other.img"
	pid=$(pid_of lib)
	run h1 list -r -n -o PATH,PID,COMMAND,STATUS
	assert_line "$WORK/disk.img $pid lockhold ok"
	assert_line "$WORK/other.img $pid lockhold ok"
	run h1 list --stale -r -n -o PATH,STATUS
	refute_output --partial stale
	unhold lib
}

@test "a second handle of a labelled library process writes its leases into the labelled record at once" {
	local pid
	mkfifo "$WORK/in"
	SANLOCK_RUN_DIR=$RUN1 "$HELPERS/twohandles" "$LS" vm7 "$WORK/disk.img" "$WORK/other.img" \
		<"$WORK/in" >"$WORK/out" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	exec 4>"$WORK/in"
	wait_for 15 grep -q '^ready$' "$WORK/out"
	run h1 list -r -n -o PATH,PID,OWNER
	assert_line "$WORK/disk.img $pid vm7"
	assert_line "$WORK/other.img $pid vm7"
	run h1 inspect "$WORK/disk.img"
	assert_line "  owner:   vm7"
	# Closing the labelled handle hands the record to the other one.
	echo close >&4
	wait_for 15 grep -q '^closed$' "$WORK/out"
	run h1 list -a -r -n -o PATH,MODE,PID
	assert_line "$WORK/disk.img free -"
	assert_line "$WORK/other.img exclusive $pid"
	run h1 list --stale -r -n -o PATH,STATUS
	refute_output --partial stale
	echo release >&4
	wait_for 15 grep -q '^released$' "$WORK/out"
	run h1 list -a -r -n -o PATH,MODE,PID
	assert_line "$WORK/other.img free -"
	run h1 list --stale -r -n -o PATH,STATUS
	refute_output --partial stale
	exec 4>&-
	wait "$pid"
}
