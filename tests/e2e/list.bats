#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# list.bats: virlock list, every column and option, on locks held by real processes.
# shellcheck disable=SC2016 # jq programs and sh -c scripts take their $variables as they are

load helpers
load list_helpers

setup() {
	common_setup
	list_setup
	touch "$WORK/disk1" "$WORK/disk2" "$WORK/disk3"
	D1=$(realpath "$WORK/disk1")
	D2=$(realpath "$WORK/disk2")
	D3=$(realpath "$WORK/disk3")
}

teardown() {
	stop_all
	stop_holders
}

@test "list, inspect, release and prune of a lockspace that does not exist create nothing" {
	[ ! -e "$LS" ]
	run vl list -n
	assert_success
	assert_output ""
	run vl list -J
	assert_success
	jq -e '.locks == []' <<<"$output"
	run vl inspect "$WORK/disk1"
	assert_failure 66
	assert_output "virlock: $WORK/disk1: no lockspace $LS; nothing has locked anything there yet"
	run vl release "$WORK/disk1"
	assert_failure 66
	assert_output "virlock: $WORK/disk1: not held by anyone; lockspace $LS does not exist"
	run vl release --owner vm1
	assert_failure 66
	assert_output "virlock: release: lockspace $LS does not exist; nothing is held there"
	run vl release --all
	assert_success
	assert_output ""
	run vl prune
	assert_success
	assert_output "removed 0 free lock files and 0 stale holder files"
	[ ! -e "$LS" ]
	# The first acquire makes it.
	run vl acquire "$WORK/disk1" -- true
	assert_success
	[ -d "$LS" ]
}

@test "list shows a held lock in the default columns PATH MODE PID OWNER COMMAND SINCE" {
	local before after since t
	before=$(date +%s)
	hold h1 -o vm1 "$WORK/disk1"
	after=$(date +%s)
	run vl list
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	assert_equal "$(squeeze "${lines[0]}")" "PATH MODE PID OWNER COMMAND SINCE"
	read -r path mode pid owner command since <<<"${lines[1]}"
	assert_equal "$path $mode $pid $owner $command" "$D1 exclusive $(pid_of h1) vm1 lockhold"
	[[ $since =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}$ ]]
	t=$(date -d "$since" +%s)
	[ "$t" -ge "$before" ] && [ "$t" -le "$after" ]
}

@test "list --output-all -J gives every column of a recorded holder, numbers as numbers" {
	local name pid
	hold h1 -o vm1 -c $$ "$WORK/disk1"
	name=$(name_of "$WORK/disk1")
	pid=$(pid_of h1)
	run vl list -J --output-all
	assert_success
	jq_ok '.locks | length == 1'
	jq_ok '[.locks[0] | keys_unsorted[]] == ["name","path","mode","host","hostname","gen","pid","command","owner","child","since","waiters","lockfile","status","filelocks"]'
	jq_ok '.locks[0] | .name == $name and .path == $path and .mode == "exclusive" and .host == null and
		.hostname == null and .gen == null and .pid == $pid and
		.command == "lockhold" and .owner == "vm1" and .child == $child and (.since | type) == "string" and
		.waiters == [] and .lockfile == $lockfile and .status == "ok"' \
		--arg name "$name" --arg path "$D1" --argjson pid "$pid" --argjson child $$ --arg lockfile "$LSDIR/$name"
	python3 -m json.tool <<<"$output" >/dev/null
}

@test "list -r --output-all prints every column of a recorded holder" {
	local name
	hold h1 -o vm1 -c $$ "$WORK/disk1"
	name=$(name_of "$WORK/disk1")
	rows -o NAME,PATH,MODE,PID,COMMAND,OWNER,CHILD,LOCKFILE,STATUS
	assert_success
	assert_output "$name $D1 exclusive $(pid_of h1) lockhold vm1 $$ $LSDIR/$name ok"
}

@test "list shows a lock held by a process without a holder record as norecord, unknowns as null" {
	hold h1 "$WORK/disk1"
	rows -o PATH,MODE,PID,COMMAND,STATUS
	assert_output "$D1 exclusive $(pid_of h1) lockhold norecord"
	run vl list -J --output-all
	jq_ok '.locks[0] | .pid == $pid and .status == "norecord" and .owner == null and .child == null and
		.since == null' --argjson pid "$(pid_of h1)"
}

@test "list shows one row per holder of a shared lock, in pid order" {
	local p1 p2
	hold s1 -s -o vm1 "$WORK/disk1"
	hold s2 -s -o vm2 "$WORK/disk1"
	p1=$(pid_of s1)
	p2=$(pid_of s2)
	rows -o PATH,MODE,PID,OWNER,STATUS
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	if [ "$p1" -lt "$p2" ]; then
		assert_line --index 0 "$D1 shared $p1 vm1 ok"
		assert_line --index 1 "$D1 shared $p2 vm2 ok"
	else
		assert_line --index 0 "$D1 shared $p2 vm2 ok"
		assert_line --index 1 "$D1 shared $p1 vm1 ok"
	fi
	run vl list -J -o pid,mode
	jq_ok '[.locks[].pid] | sort == ([$p1, $p2] | sort)' --argjson p1 "$p1" --argjson p2 "$p2"
}

@test "list shows several locks of one holder and of several holders" {
	hold a -o vm1 "$WORK/disk1" "$WORK/disk2"
	hold b "$WORK/disk3"
	rows -o PATH,PID
	assert_output "$(printf '%s %s\n' "$D1" "$(pid_of a)" "$D2" "$(pid_of a)" "$D3" "$(pid_of b)")"
}

# held_by_other_than PID: the one lock is held, by someone other than PID.
held_by_other_than() {
	local p
	p=$(vl list -r -n -o PID)
	[ -n "$p" ] && [ "$p" != "$1" ]
}

# waiters_include PID: PID waits for the one lock.
waiters_include() {
	[[ ",$(vl list -r -n -o WAITERS)," == *",$1,"* ]]
}

# waiters_are PID,PID: the lock of h1 has these waiters, in that order.
waiters_are() {
	[ "$(vl list -r -n -o PID,WAITERS | awk -v h="$(pid_of h1)" '$1 == h { print $2 }')" = "$1" ]
}

# waiters_json_ok JQ-FILTER JQ-OPTIONS...: 'list -J -o pid,waiters' passes the filter.
waiters_json_ok() {
	run vl list -J -o pid,waiters
	jq_ok "$@"
}


@test "list -o WAITERS shows the processes blocked on a lock, JSON as an array" {
	local h w1 w2
	hold h1 -o vm1 "$WORK/disk1"
	h=$(pid_of h1)
	hold_start w1 "$LS" -w "$WORK/disk1"
	hold_start w2 "$LS" -w -s "$WORK/disk1"
	w1=$(pid_of w1)
	w2=$(pid_of w2)
	wait_for 10 waiters_include "$w1"
	wait_for 10 waiters_include "$w2"
	settle 10 waiters_json_ok '.locks | length == 1 and .[0].pid == $h and .[0].waiters == ([$w1, $w2] | sort)' \
		--argjson h "$h" --argjson w1 "$w1" --argjson w2 "$w2"
	if [ "$w1" -lt "$w2" ]; then
		settle 10 rows_are "$h $w1,$w2" -o PID,WAITERS
	else
		settle 10 rows_are "$h $w2,$w1" -o PID,WAITERS
	fi
	# The holder goes: the shared waiter or the exclusive one gets the lock.
	unhold h1
	wait_for 10 held_by_other_than "$h"
	settle 10 waiters_json_ok '.locks | length == 1 and ((.[0].pid == $w1 and .[0].waiters == [$w2]) or
		(.[0].pid == $w2 and .[0].waiters == [$w1]))' --argjson w1 "$w1" --argjson w2 "$w2"
}

@test "list reads /proc/locks only when the WAITERS column is asked for" {
	strace -f -o /dev/null true 2>/dev/null || skip "strace cannot trace here"
	# LeakSanitizer cannot run under ptrace: keep it off for the traced runs.
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	hold h1 -o vm1 "$WORK/disk1"
	strace -f -e trace=open,openat -o "$WORK/trace" "$VIRLOCK" -L "$LS" list -a \
		-o NAME,PATH,MODE,PID,COMMAND,OWNER,CHILD,SINCE,LOCKFILE,STATUS >/dev/null
	grep -q "$LSDIR" "$WORK/trace"
	run grep -c '"/proc/locks"' "$WORK/trace"
	assert_output 0
	strace -f -e trace=open,openat -o "$WORK/trace" "$VIRLOCK" -L "$LS" list -o +WAITERS >/dev/null
	run grep -c '"/proc/locks"' "$WORK/trace"
	assert_output 1
}

@test "list flags a corrupt lock file, free with -a and held" {
	local name
	name=$(name_of "$WORK/disk1")
	corrupt_lockfile "$name" "/somewhere/else"
	run vl list -n
	assert_success
	assert_output ""
	rows -a -o NAME,PATH,MODE,STATUS
	assert_output "$name /somewhere/else free corrupt"
	hold_raw r1 "$LS/$name"
	rows -o NAME,MODE,PID,STATUS
	assert_output "$name exclusive $(pid_of r1) corrupt"
	run vl list -J -o name,status
	jq_ok '.locks == [{"name": $name, "status": "corrupt"}]' --arg name "$name"
}

@test "list flags an empty lock file, its path null in JSON" {
	local name
	name=$(name_of "$WORK/disk1")
	corrupt_lockfile "$name" ""
	run vl list -a -J -o name,path,mode,status
	jq_ok '.locks == [{"name": $name, "path": null, "mode": "free", "status": "empty"}]' --arg name "$name"
}

@test "list shows no stale record of a dead process or a reused pid; --stale adds them as MODE stale" {
	local name dead h
	hold h1 "$WORK/disk1"
	h=$(pid_of h1)
	name=$(name_of "$WORK/disk1")
	dead=$(dead_pid)
	write_record "$dead" 12345 "owner ghost" "lock $name exclusive 1700000000"
	write_record $$ 1 "owner reused" "lock $name shared 1700000000"
	run env TZ=UTC "$VIRLOCK" -L "$LS" list -J --output-all
	assert_success
	jq_ok '[.locks[] | {pid, mode, owner, status}] == [{pid: $h, mode: "exclusive", owner: null, status: "norecord"}]' \
		--argjson h "$h"
	run env TZ=UTC "$VIRLOCK" -L "$LS" list -J --output-all --stale
	assert_success
	jq_ok '.locks | length == 3'
	jq_ok '[.locks[] | select(.pid == $h)] == [.locks[] | select(.status == "norecord")]' --argjson h "$h"
	jq_ok '.locks[] | select(.pid == $dead) | .status == "stale" and .owner == "ghost" and
		.since == "2023-11-14T22:13:20+00:00" and .mode == "stale"' --argjson dead "$dead"
	jq_ok '.locks[] | select(.pid == $me) | .status == "stale" and .owner == "reused" and .mode == "stale"' \
		--argjson me $$
	run vl list --owner ghost
	assert_success
	assert_output ""
	rows --stale --owner ghost -o PID,MODE,STATUS
	assert_output "$dead stale stale"
}

@test "list -a shows a free lock file with stale claims as free only; --stale adds the claims" {
	local name dead
	hold h1 "$WORK/disk1"
	unhold h1
	name=$(name_of "$WORK/disk1")
	dead=$(dead_pid)
	write_record "$dead" 12345 "lock $name exclusive 1700000000"
	rows -a -o NAME,MODE,PID,STATUS
	assert_output "$name free - ok"
	rows -a --stale -o NAME,MODE,PID,STATUS
	assert_output "$(printf '%s free - ok\n%s stale %s stale' "$name" "$name" "$dead")"
	rows --stale -o NAME,MODE,PID,STATUS
	assert_output "$name stale $dead stale"
	rows
	assert_success
	assert_output ""
}

@test "list -a adds free lock files as MODE free; without it they are not shown" {
	hold h1 "$WORK/disk1"
	hold h2 -o vm2 "$WORK/disk2"
	unhold h1
	rows -o PATH,MODE
	assert_output "$D2 exclusive"
	rows -a -o PATH,MODE,STATUS
	assert_output "$(printf '%s free ok\n%s exclusive ok' "$D1" "$D2")"
	run vl list --all -J -o path,pid,mode
	jq_ok '.locks == [{"path": $d1, "pid": null, "mode": "free"}, {"path": $d2, "pid": $p, "mode": "exclusive"}]' \
		--arg d1 "$D1" --arg d2 "$D2" --argjson p "$(pid_of h2)"
}

@test "list -p PID shows the locks of that holder, or of the supervisor of that child" {
	hold a -o vm1 -c $$ "$WORK/disk1"
	hold b -o vm2 "$WORK/disk2"
	rows -p "$(pid_of b)" -o PATH
	assert_output "$D2"
	rows --pid "$(pid_of a)" -o PATH
	assert_output "$D1"
	rows -p $$ -o PATH,PID,CHILD
	assert_output "$D1 $(pid_of a) $$"
	rows -p "$(dead_pid)" -a
	assert_success
	assert_output ""
}

@test "list --owner LABEL shows the locks held with that owner label" {
	hold a -o vm1 "$WORK/disk1"
	hold b -o vm2 "$WORK/disk2" "$WORK/disk3"
	hold c -l lease
	rows --owner vm2 -o PATH,OWNER
	assert_output "$(printf '%s vm2\n%s vm2' "$D2" "$D3")"
	rows --owner vm -a
	assert_success
	assert_output ""
}

@test "list -p rejects what is not a process id" {
	run vl list -p -3
	assert_failure 64
	assert_output --partial "not a process id"
	run vl list -p abc
	assert_failure 64
}

@test "list -n drops the headings and -r prints raw, escaped cells" {
	touch "$WORK/my disk"
	hold h1 -o "vm 1" "$WORK/my disk"
	run vl list -n
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	refute_output --partial PATH
	run vl list -r -o PATH,OWNER
	assert_line --index 0 "PATH OWNER"
	assert_line --index 1 "$(realpath "$WORK/my disk" | sed 's/ /\\x20/g') vm\\x201"
}

@test "list -r writes an empty cell as - and a value - as \\x2d, so read gets every field" {
	local path mode pid owner child status n=0
	hold h1 "$WORK/disk1"
	vl acquire --literal --owner=- -
	rows -o PATH,MODE,PID,OWNER,CHILD,STATUS
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	while read -r path mode pid owner child status; do
		[[ $mode == exclusive && $pid =~ ^[0-9]+$ && $child == - && -n $status ]]
		if [ "$path" = '\x2d' ]; then
			assert_equal "$owner" '\x2d'
			assert_equal "$status" ok
		else
			assert_equal "$path" "$D1"
			assert_equal "$pid" "$(pid_of h1)"
			assert_equal "$owner" -
			assert_equal "$status" norecord
		fi
		n=$((n + 1))
	done <<<"$output"
	[ "$n" -eq 2 ]
	# With headings, the heading line has as many words as each row.
	run vl list -r -o PATH,OWNER,CHILD,WAITERS
	assert_line --index 0 "PATH OWNER CHILD WAITERS"
	assert_line "$D1 - - -"
	assert_line '\x2d \x2d - -'
	# The table and JSON are unchanged: blanks there, null in JSON.
	run vl list -J -o path,owner,child
	jq_ok '.locks | map(select(.path == "-")) == [{path: "-", owner: "-", child: null}]'
	vl release --literal -
}

@test "list -o takes a comma list of columns in any case; +LIST appends to the default" {
	hold h1 -o vm1 "$WORK/disk1"
	run vl list -o name,Pid
	assert_success
	assert_equal "$(squeeze "${lines[0]}")" "NAME PID"
	run vl list --output +STATUS,lockfile
	assert_equal "$(squeeze "${lines[0]}")" "PATH MODE PID OWNER COMMAND SINCE STATUS LOCKFILE"
	run vl list --output-all
	assert_equal "$(squeeze "${lines[0]}")" \
		"NAME PATH MODE HOST HOSTNAME GEN PID COMMAND OWNER CHILD SINCE WAITERS LOCKFILE STATUS FILELOCKS"
	run vl list -o PID -o +STATUS
	assert_equal "$(squeeze "${lines[0]}")" "PID STATUS"
}

@test "list -o with an unknown or empty column is a usage error naming it" {
	run vl list -o PATH,BOGUS
	assert_failure 64
	assert_output --partial "BOGUS: unknown column"
	run vl list -o PATH,
	assert_failure 64
	assert_output --partial "empty column name"
	run vl list -o ""
	assert_failure 64
}

@test "list refuses exclusive options, arguments and --direct with usage errors" {
	run vl list -J -r
	assert_failure 64
	assert_output --partial "exclude each other"
	run vl list -o PATH --output-all
	assert_failure 64
	run vl list "$WORK/disk1"
	assert_failure 64
	assert_output --partial "virlock inspect"
	run "$VIRLOCK" --direct list
	assert_failure 64
	run vl list --bogus
	assert_failure 64
	assert_output --partial "--bogus"
}

@test "list -J on an empty lockspace is an empty array, valid JSON" {
	run vl list -J
	assert_success
	jq_ok '. == {"locks": []}'
	run vl list -J -a --output-all
	jq_ok '. == {"locks": []}'
}

@test "list SINCE is ISO 8601 local time with the UTC offset, in the table and in JSON" {
	local name dead
	hold h1 "$WORK/disk1"
	name=$(name_of "$WORK/disk1")
	dead=$(dead_pid)
	write_record "$dead" 1 "lock $name exclusive 1700000000"
	run env TZ=UTC "$VIRLOCK" -L "$LS" list --stale -r -n -o PID,SINCE -p "$dead"
	assert_output "$dead 2023-11-14T22:13:20+00:00"
	run env TZ=IST-5:30 "$VIRLOCK" -L "$LS" list --stale -r -n -o PID,SINCE -p "$dead"
	assert_output "$dead 2023-11-15T03:43:20+05:30"
	run env TZ=EST5 "$VIRLOCK" -L "$LS" list --stale -J -o since -p "$dead"
	jq_ok '.locks == [{"since": "2023-11-14T17:13:20-05:00"}]'
	assert_equal "$(TZ=IST-5:30 iso_time 1700000000)" "2023-11-15T03:43:20+05:30"
}

@test "list -J keeps odd bytes of a resource valid UTF-8 JSON" {
	hold h1 -l "$(printf 'lease\377 "x"\tz')"
	run vl list -J -o path
	assert_success
	jq_ok '.locks == [{"path": "lease\ufffd \"x\"\tz"}]'
	python3 -m json.tool <<<"$output" >/dev/null
	rows -o PATH
	assert_output 'lease\xff\x20"x"\x09z'
}

@test "list --help shows usage, summary, options, columns and the man page" {
	run vl list --help
	assert_success
	assert_line --index 0 "Usage: virlock list [OPTION...]"
	assert_line --index 1 --partial "one row per holder"
	assert_output --partial "--output-all"
	assert_output --partial "Available output columns"
	assert_output --partial "  WAITERS "
	assert_equal "${lines[-1]}" "See virlock(1)."
	run vl list --usage
	assert_success
	assert_output --partial "Usage: virlock list"
	run vl list --version
	assert_success
	assert_output --regexp "^virlock [0-9]+\.[0-9]+\.[0-9]+"
}

@test "list shows the holder of a virlock acquire with its owner and child" {
	"$VIRLOCK" acquire --help >/dev/null 2>&1 || skip "virlock acquire is not built yet"
	mkfifo "$WORK/go"
	bg_start acq "$WORK/acq.out" "$VIRLOCK" -L "$LS" acquire -o vm7 "$WORK/disk1" -- \
		sh -c 'echo $$ >"$1"; read -r x <"$2"' sh "$WORK/child" "$WORK/go"
	wait_for 10 test -s "$WORK/child"
	# The supervisor records its child once it has started it.
	settle 10 rows_are "$D1 $(pid_of acq) vm7 $(cat "$WORK/child") $(virlock_comm "$(pid_of acq)") ok" \
		-o PATH,PID,OWNER,CHILD,COMMAND,STATUS
	echo go >"$WORK/go"
	wait "$(pid_of acq)"
	rows
	assert_output ""
}

@test "list shows the detached holders of virlock acquire, two owners sharing a lock" {
	"$VIRLOCK" acquire --help >/dev/null 2>&1 || skip "virlock acquire is not built yet"
	local pa pb
	vl acquire -s -o vmA "$WORK/disk1"
	vl acquire -s -o vmB "$WORK/disk1" "$WORK/disk2"
	pa=$(vl list -r -n -o PID --owner vmA)
	pb=$(vl list -r -n -o PID --owner vmB | sort -u)
	[[ $pa =~ ^[0-9]+$ ]] && [[ $pb =~ ^[0-9]+$ ]] && [ "$pa" != "$pb" ]
	rows -o PATH,MODE,PID,OWNER,COMMAND,STATUS
	assert_line "$D1 shared $pa vmA $(virlock_comm "$pa") ok"
	assert_line "$D1 shared $pb vmB $(virlock_comm "$pb") ok"
	assert_line "$D2 shared $pb vmB $(virlock_comm "$pb") ok"
	[ "${#lines[@]}" -eq 3 ]
	rows -p "$pb" -o PATH
	assert_output "$(printf '%s\n%s' "$D1" "$D2")"
	vl release --owner vmA
	wait_for 10 gone "$pa"
	rows -o PATH,OWNER
	assert_output "$(printf '%s vmB\n%s vmB' "$D1" "$D2")"
	vl release --owner vmB
	wait_for 10 gone "$pb"
	rows -a -o PATH,MODE
	assert_output "$(printf '%s free\n%s free' "$D1" "$D2")"
}

@test "list prints a big table for a pipe, and big JSON, byte for byte as libsmartcols does, odd paths and all" {
	# From 256 rows on, a table that is not for a terminal, and JSON, are
	# printed by virlock itself; VIRLOCK_LIST_LAYOUT=own or =scols picks the way.
	local res=() i loc opts
	for i in $(seq 0 99); do
		res+=("plain-$i" "tab$i	x" "nl$i
y" "bs$i\\x41" "bs$i\\n" "inv$i$(printf '\377\376')" "cjk$i漢字" "comb${i}e$(printf '\314\201')"
			"zw$i$(printf '\342\200\213')" "c1$i$(printf '\302\205')" "emoji$i😀" "nbsp$i$(printf '\302\240')"
			"esc$i$(printf '\033[31m')" "del$i$(printf '\177')" "cut$i$(printf '\346\274')" "sp $i x"
			"x-$i" "lat1$(printf '\351')$i" "$(printf '\357\277\275')$i" "rtl$i$(printf '\342\200\256')")
	done
	vl acquire --literal --owner free "${res[@]}" -- true
	vl acquire --literal --owner "held" "cjk1漢字" "tab2	x" "inv3$(printf '\377\376')" "long-$(printf 'w%.0s' {1..300})"
	[ "$(find "$LS" -maxdepth 1 -type f | wc -l)" -ge 2000 ]
	# Two waiters: a WAITERS cell of two pids (a JSON array of two numbers).
	hold h1 -o vm1 "$WORK/disk1"
	hold_start w1 "$LS" -w "$WORK/disk1"
	hold_start w2 "$LS" -w -s "$WORK/disk1"
	wait_for 10 waiters_are "$(printf '%s\n' "$(pid_of w1)" "$(pid_of w2)" | sort -n | paste -sd,)"
	for loc in C C.UTF-8; do
		for opts in "" "-n" "--output-all" "-o +WAITERS" "-o PID" "-o PID,PATH,HOST" "-o NAME,OWNER,MODE" \
			"-J" "-J --output-all" "-J -o WAITERS,PATH" "-J -o PID"; do
			# shellcheck disable=SC2086 # opts are words
			LC_ALL=$loc VIRLOCK_LIST_LAYOUT=own vl list -a $opts >"$BATS_TEST_TMPDIR/own"
			# shellcheck disable=SC2086
			LC_ALL=$loc VIRLOCK_LIST_LAYOUT=scols vl list -a $opts >"$BATS_TEST_TMPDIR/scols"
			cmp "$BATS_TEST_TMPDIR/own" "$BATS_TEST_TMPDIR/scols" || {
				echo "# differs: LC_ALL=$loc list -a $opts" >&2
				return 1
			}
		done
	done
	# The default picks the own layout for this many rows: the same bytes.
	for opts in "" "-J"; do
		# shellcheck disable=SC2086
		vl list -a $opts >"$BATS_TEST_TMPDIR/default"
		# shellcheck disable=SC2086
		VIRLOCK_LIST_LAYOUT=scols vl list -a $opts >"$BATS_TEST_TMPDIR/scols"
		cmp "$BATS_TEST_TMPDIR/default" "$BATS_TEST_TMPDIR/scols"
	done
	# Columns narrower than their heading or hint, all empty, and no rows at all.
	LC_ALL=C.UTF-8 VIRLOCK_LIST_LAYOUT=own vl list -o PID,CHILD,COMMAND,OWNER >"$BATS_TEST_TMPDIR/own"
	LC_ALL=C.UTF-8 VIRLOCK_LIST_LAYOUT=scols vl list -o PID,CHILD,COMMAND,OWNER >"$BATS_TEST_TMPDIR/scols"
	cmp "$BATS_TEST_TMPDIR/own" "$BATS_TEST_TMPDIR/scols"
	VIRLOCK_LIST_LAYOUT=own vl list -p 1 >"$BATS_TEST_TMPDIR/own"
	[ ! -s "$BATS_TEST_TMPDIR/own" ]
}

@test "only list loads libsmartcols: without it, acquire and release work and list says what to install" {
	[ "$(id -u)" = 0 ] && command -v unshare >/dev/null || skip "needs root and unshare(1)"
	lib=$(ldconfig -p | awk '$1 == "libsmartcols.so.1" { print $NF; exit }')
	[ -n "$lib" ]
	# A private mount namespace where the library is an empty file.
	run unshare -m sh -c 'mount --bind /dev/null "$1" || exit 99
		"$2" -L "$3" acquire "$4" || exit 98
		"$2" -L "$3" list -o PATH,MODE; rc=$?
		"$2" -L "$3" list -n -r -o PATH,MODE || exit 97
		"$2" -L "$3" release "$4" || exit 96
		exit $rc' sh "$lib" "$VIRLOCK" "$LS" "$D1"
	[ "$status" != 99 ] || skip "cannot bind-mount over $lib"
	assert_failure 71
	assert_line --index 0 --regexp "^virlock: libsmartcols.so.1 cannot be loaded \(.*\); install libsmartcols1$"
	assert_line --index 1 "$D1 exclusive"
	[ "${#lines[@]}" = 2 ]
	run vl list -n -o PATH
	assert_success
	assert_output ""
}
