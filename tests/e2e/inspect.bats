#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# inspect.bats: virlock inspect, one resource by path, name, lock file or literal string.
# shellcheck disable=SC2016 # jq programs and sh -c scripts take their $variables as they are

load helpers
load list_helpers

setup() {
	common_setup
	list_setup
	touch "$WORK/disk"
	DISK=$(realpath "$WORK/disk")
	NAME=$(name_of "$WORK/disk")
}

teardown() {
	stop_all
	stop_holders
}

# value KEY: the value of the first "KEY: value" line of $output.
value() {
	local line
	for line in "${lines[@]}"; do
		if [[ $line == "$1:"* ]]; then
			squeeze "${line#"$1:"}"
			return 0
		fi
	done
	return 1
}

# waiters_are PIDS: inspect shows exactly PIDS waiting for $NAME.
waiters_are() {
	run vl inspect "$NAME"
	[ "$(value waiters)" = "$1" ]
}

# inspect_json_ok JQ-FILTER JQ-OPTIONS...: 'inspect -J $NAME' passes the filter.
inspect_json_ok() {
	run vl inspect -J "$NAME"
	jq_ok "$@"
}

@test "inspect by path shows name, path, lock file, integrity, state, holder and waiters" {
	hold h1 -o vm1 -c $$ "$WORK/disk"
	run env TZ=UTC "$VIRLOCK" -L "$LS" inspect "$WORK/disk"
	assert_success
	assert_equal "$(value name)" "$NAME"
	assert_equal "$(value path)" "$DISK"
	assert_equal "$(value 'lock file')" "$LSDIR/$NAME"
	assert_equal "$(value integrity)" verified
	assert_equal "$(value state)" exclusive
	assert_equal "$(value holders)" 1
	assert_equal "$(value holder)" "$(pid_of h1)"
	assert_equal "$(value '  mode')" exclusive
	assert_equal "$(value '  command')" lockhold
	assert_equal "$(value '  owner')" vm1
	assert_equal "$(value '  child')" $$
	assert_equal "$(value '  status')" ok
	[[ "$(value '  since')" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\+00:00$ ]]
	assert_equal "$(value waiters)" none
	assert_equal "$(value 'file locks')" none
	[ "${#lines[@]}" -eq 15 ]
}

@test "inspect by name, by upper-case name, by lock file path and by another spelling agree" {
	hold h1 -o vm1 "$WORK/disk"
	run vl inspect "$WORK/disk"
	assert_success
	local want=$output
	run vl inspect "$NAME"
	assert_success
	assert_output "$want"
	run vl inspect "${NAME^^}"
	assert_output "$want"
	run vl inspect "$LS/$NAME"
	assert_output "$want"
	ln -s disk "$WORK/link"
	run vl inspect "$WORK/link"
	assert_output "$want"
	cd "$WORK"
	run vl inspect ./disk
	assert_output "$want"
}

@test "inspect --literal takes a string resource" {
	hold h1 -l -o vm1 "lease:db/primary"
	run vl inspect --literal "lease:db/primary"
	assert_success
	assert_equal "$(value path)" "lease:db/primary"
	assert_equal "$(value name)" "$(name_of --literal "lease:db/primary")"
	assert_equal "$(value '  owner')" vm1
}

@test "inspect -J gives one JSON object with holders and waiters" {
	local h w
	hold h1 -o vm1 -c $$ "$WORK/disk"
	hold_start w1 "$LS" -w "$WORK/disk"
	h=$(pid_of h1)
	w=$(pid_of w1)
	wait_for 10 waiters_are "$w"
	run env TZ=UTC "$VIRLOCK" -L "$LS" inspect -J "$WORK/disk"
	assert_success
	jq_ok '[keys_unsorted[]] == ["name","path","lockfile","integrity","state","holders","waiters","stale_records","file_locks","file_locks_incomplete"]'
	jq_ok '.name == $name and .path == $path and .lockfile == $lf and .integrity == "verified" and
		.state == "exclusive"' --arg name "$NAME" --arg path "$DISK" --arg lf "$LSDIR/$NAME"
	jq_ok '.holders | length == 1 and (.[0] | .pid == $h and .host == null and .gen == null and .mode == "exclusive" and .command == "lockhold"
		and .owner == "vm1" and .child == $me and (.since | test("^[0-9-]{10}T[0-9:]{8}\\+00:00$")) and
		.status == "ok")' --argjson h "$h" --argjson me $$
	python3 -m json.tool <<<"$output" >/dev/null
	settle 10 inspect_json_ok '.waiters == [$w]' --argjson w "$w"
}

@test "inspect shows both holders of a shared lock, the one without a record as norecord" {
	# F_GETLK names the first holder, the one without a record; the other is
	# known from its record. (The reverse order hides the unrecorded holder:
	# see the report of issue 4.)
	hold s1 -s "$WORK/disk"
	hold s2 -s -o vm1 "$WORK/disk"
	run vl inspect -J "$WORK/disk"
	assert_success
	jq_ok '.state == "shared" and (.holders | length) == 2'
	jq_ok '[.holders[] | {pid, mode, owner, status}] | sort_by(.pid) ==
		([{pid: $p1, mode: "shared", owner: null, status: "norecord"},
		  {pid: $p2, mode: "shared", owner: "vm1", status: "ok"}] | sort_by(.pid))' \
		--argjson p1 "$(pid_of s1)" --argjson p2 "$(pid_of s2)"
	jq_ok '.holders[] | select(.owner == null) | .since == null and .child == null'
	run vl inspect "$WORK/disk"
	assert_equal "$(value holders)" 2
	assert_line --regexp "^holder: +$(pid_of s1)\$"
	assert_line --regexp "^holder: +$(pid_of s2)\$"
}

@test "a shared lock: list shows the holder the kernel names and the recorded ones; +WAITERS and inspect show all" {
	# Two programs with shared locks and no record, and a labelled virlock holder.
	hold s1 -s "$WORK/disk"
	hold s2 -s "$WORK/disk"
	vl acquire -s --owner s3 "$WORK/disk"
	local s3
	s3=$(vl list -r -n -o PID --owner s3)
	# The default list (no /proc/locks): F_GETLK's one holder and the record's.
	run vl list -r -n -o PID,MODE,OWNER,STATUS
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_line "$s3 shared s3 ok"
	assert_line --regexp "^($(pid_of s1)|$(pid_of s2)) shared - norecord\$"
	# Asking for WAITERS reads /proc/locks: every holder the kernel has.
	run vl list -r -n -o PID,MODE,OWNER,STATUS,WAITERS
	assert_equal "${#lines[@]}" 3
	assert_line "$(pid_of s1) shared - norecord -"
	assert_line "$(pid_of s2) shared - norecord -"
	assert_line "$s3 shared s3 ok -"
	run vl inspect "$WORK/disk"
	assert_equal "$(value holders)" 3
	vl release --owner s3
}

@test "inspect shows a free lock file with no holders" {
	hold h1 "$WORK/disk"
	unhold h1
	run vl inspect "$WORK/disk"
	assert_success
	assert_equal "$(value state)" free
	assert_equal "$(value holders)" 0
	refute_line --partial "holder:"
	run vl inspect -J "$NAME"
	jq_ok '.state == "free" and .holders == [] and .waiters == []'
}

@test "inspect reports a corrupt lock file and its holder, exit 0" {
	corrupt_lockfile "$NAME" "/elsewhere"
	hold_raw r1 "$LS/$NAME"
	run vl inspect "$NAME"
	assert_success
	assert_equal "$(value integrity)" "corrupt (the content does not hash to the name)"
	assert_equal "$(value path)" "/elsewhere"
	assert_equal "$(value holder)" "$(pid_of r1)"
	assert_equal "$(value '  status')" norecord
	run vl inspect -J "$WORK/disk"
	jq_ok '.integrity == "corrupt" and .path == "/elsewhere" and .holders[0].pid == $p' \
		--argjson p "$(pid_of r1)"
}

@test "inspect counts no stale record as a holder: it shows them apart, as stale records" {
	local dead
	hold h1 "$WORK/disk"
	dead=$(dead_pid)
	write_record "$dead" 777 "owner ghost" "child 4242" "lock $NAME exclusive 1700000000"
	run env TZ=UTC "$VIRLOCK" -L "$LS" inspect -J "$WORK/disk"
	assert_success
	jq_ok '.holders | length == 1'
	jq_ok '.holders[0] | .pid == $h and .status == "norecord"' --argjson h "$(pid_of h1)"
	jq_ok '.stale_records == [{pid: $d, claimed: "exclusive", command: null, owner: "ghost", child: 4242,
		since: "2023-11-14T22:13:20+00:00", status: "stale"}]' --argjson d "$dead"
	run vl inspect "$WORK/disk"
	assert_equal "$(value holders)" 1
	assert_line --regexp "^stale records: 1 .*virlock prune"
	assert_line --regexp "^record: +$dead\$"
	assert_line "  owner:   ghost"
}

@test "inspect escapes control characters in the text block and keeps JSON valid" {
	hold h1 -l "$(printf 'a\nb\377')"
	run vl inspect --literal "$(printf 'a\nb\377')"
	assert_success
	assert_equal "$(value path)" 'a\x0ab\xff'
	run vl inspect -J --literal "$(printf 'a\nb\377')"
	jq_ok '.path == "a\nb\ufffd"'
}

@test "inspect escapes C1 controls (a UTF-8 CSI acts on a terminal as ESC [ does); JSON keeps them" {
	hold h1 -l "$(printf 'x\302\2331mred')"
	run vl inspect --literal "$(printf 'x\302\2331mred')"
	assert_success
	assert_equal "$(value path)" 'x\xc2\x9b1mred'
	run vl inspect -J --literal "$(printf 'x\302\2331mred')"
	jq_ok '.path == "x\u009b1mred"'
}

@test "inspect: no such file and no lock is 66, as for acquire and hash" {
	run vl inspect "$WORK/nonexistent"
	assert_failure 66
	assert_output "virlock: $WORK/nonexistent: no such file; give an existing path, a name from 'virlock list -o NAME', or --literal for a string resource"
	run vl inspect 0123456789abcdef0123456789abcdeg
	assert_failure 66
	assert_output --partial "0123456789abcdef0123456789abcdeg: no such file; "
	run vl inspect 0123456789abcdef0123456789abcdef
	assert_failure 66
	assert_output --partial "0123456789abcdef0123456789abcdef: no lockspace $LSDIR; nothing has locked anything there yet"
	[ ! -e "$LS" ]
	vl acquire --literal something -- true
	run vl inspect 0123456789abcdef0123456789abcdef
	assert_failure 66
	assert_output --partial "0123456789abcdef0123456789abcdef: no lock file in $LSDIR"
	run vl inspect "$WORK/disk"
	assert_failure 66
	assert_output --partial "$WORK/disk: no lock file"
	run vl inspect "$WORK/nonexistent"
	assert_failure 66
	assert_output --partial "$WORK/nonexistent: no such file; "
	run vl acquire "$WORK/nonexistent"
	assert_failure 66
	assert_output --partial "$WORK/nonexistent: no such file; "
	run vl hash "$WORK/nonexistent"
	assert_failure 66
	assert_output --partial "$WORK/nonexistent: no such file; "
	run vl hash "$WORK/nodir/nonexistent"
	assert_failure 66
	assert_output --partial "$WORK/nodir/nonexistent: no such file; "
	run vl inspect --literal never-locked
	assert_failure 66
	[ "${#lines[@]}" -eq 1 ]
}

@test "inspect writes an unknown value as - and a value - as \\x2d" {
	vl acquire --literal --owner=- -
	run vl inspect --literal -
	assert_success
	assert_line "path:      \\x2d"
	assert_line "  owner:   \\x2d"
	assert_line "  child:   -"
	vl release --literal -
}

@test "a symbolic link loop in a resource path is a bad resource (66) naming it, in every command" {
	local c
	ln -s loop1 "$WORK/loop2"
	ln -s loop2 "$WORK/loop1"
	vl acquire --literal something -- true
	for c in acquire hash inspect release; do
		run vl "$c" "$WORK/loop1/disk.img"
		assert_failure 66
		assert_output "virlock: $WORK/loop1/disk.img: a symbolic link loop in the path; check the links it goes through"
	done
	run vl acquire "$WORK/loop1" -- true
	assert_failure 66
	run vl inspect "$WORK/loop2"
	assert_failure 66
}

@test "inspect and release find the lock of an image deleted while held, as its holder named it" {
	local pid
	mkdir "$WORK/vm"
	touch "$WORK/vm/gone.img"
	vl acquire --owner g1 "$WORK/vm/gone.img"
	pid=$(vl list -r -n -o PID --owner g1)
	rm "$WORK/vm/gone.img"
	run vl inspect "$WORK/vm/gone.img"
	assert_success
	assert_equal "$(value path)" "$(realpath "$WORK")/vm/gone.img"
	assert_equal "$(value holder)" "$pid"
	run vl inspect -J "$WORK/vm/../vm//gone.img"
	jq_ok '.holders[0].owner == "g1"'
	run vl release "$WORK/vm/gone.img"
	assert_success
	wait_for 10 gone "$pid"
	rows
	assert_output ""
	# Its directory deleted too: the path is still named as it was.
	touch "$WORK/vm/gone.img"
	vl acquire --owner g2 "$WORK/vm/gone.img"
	pid=$(vl list -r -n -o PID --owner g2)
	rm -r "$WORK/vm"
	run vl inspect "$WORK/vm/gone.img"
	assert_success
	assert_equal "$(value holder)" "$pid"
	(cd "$WORK" && "$VIRLOCK" -L "$LS" release ./vm/gone.img)
	wait_for 10 gone "$pid"
	# acquire still wants an existing file.
	run vl acquire "$WORK/vm/gone.img"
	assert_failure 66
	assert_output --partial "no such file"
}

@test "inspect and release follow a dangling link to an image deleted while held, as its holder named it" {
	local pid real
	real=$(realpath "$WORK")
	mkdir "$WORK/vm" "$WORK/images"
	touch "$WORK/vm/real2.img" "$WORK/images/disk.img"
	ln -s real2.img "$WORK/vm/link2.img"
	ln -s images "$WORK/imglink"
	ln -s "$WORK/vm/link2.img" "$WORK/chain"
	vl acquire --owner g1 "$WORK/vm/link2.img" "$WORK/imglink/disk.img"
	pid=$(vl list -r -n -o PID --owner g1 | sort -u)
	rm "$WORK/vm/real2.img"
	rm -r "$WORK/images"
	# The link names its target, as the holder named it when it acquired.
	run vl inspect "$WORK/vm/link2.img"
	assert_success
	assert_equal "$(value path)" "$real/vm/real2.img"
	assert_equal "$(value holder)" "$pid"
	run vl inspect "$WORK/chain"
	assert_success
	assert_equal "$(value holder)" "$pid"
	# A dangling link to a directory: the file in its target.
	run vl inspect "$WORK/imglink/disk.img"
	assert_success
	assert_equal "$(value path)" "$real/images/disk.img"
	assert_equal "$(value holder)" "$pid"
	(cd "$WORK/vm" && "$VIRLOCK" -L "$LS" release link2.img)
	run vl list -r -n -o PATH --owner g1
	assert_output "$real/images/disk.img"
	run vl release "$WORK/imglink/disk.img"
	assert_success
	wait_for 10 gone "$pid"
	# Released: the lock file of the target is free.
	run vl inspect "$WORK/chain"
	assert_success
	assert_equal "$(value path)" "$real/vm/real2.img"
	assert_equal "$(value state)" free
}

@test "inspect wants exactly one resource" {
	run vl inspect
	assert_failure 64
	assert_output --partial "no resource given"
	run vl inspect "$WORK/disk" "$WORK/disk"
	assert_failure 64
	run vl inspect --bogus "$WORK/disk"
	assert_failure 64
}

@test "inspect --direct probes the resource file itself" {
	hold_raw r1 "$WORK/disk"
	run "$VIRLOCK" --direct inspect -J "$WORK/disk"
	assert_success
	jq_ok '.state == "exclusive" and .holders[0].pid == $p' --argjson p "$(pid_of r1)"
	run "$VIRLOCK" --direct inspect "$NAME"
	assert_failure 64
	assert_output --partial "needs a lockspace"
}

@test "inspect --help shows usage, summary, options and the man page" {
	run vl inspect --help
	assert_success
	assert_line --index 0 "Usage: virlock inspect [OPTION...] RESOURCE-or-NAME"
	assert_line --index 1 --partial "Show everything about one resource"
	assert_output --partial "--literal"
	assert_equal "${lines[-1]}" "See virlock(1)."
}

@test "inspect shows a supervised acquire with its child, and an acquire -w waiting for it" {
	"$VIRLOCK" acquire --help >/dev/null 2>&1 || skip "virlock acquire is not built yet"
	local sup child w
	mkfifo "$WORK/go"
	bg_start sup "$WORK/sup.out" "$VIRLOCK" -L "$LS" acquire -o vm1 "$WORK/disk" -- \
		sh -c 'echo $$ >"$1"; read -r x <"$2"' sh "$WORK/child" "$WORK/go"
	wait_for 10 test -s "$WORK/child"
	sup=$(pid_of sup)
	child=$(cat "$WORK/child")
	# The supervisor records its child once it has started it.
	settle 10 inspect_json_ok '.holders | length == 1 and .[0].pid == $s and .[0].child == $c' \
		--argjson s "$sup" --argjson c "$child"
	bg_start waiter "$WORK/waiter.out" "$VIRLOCK" -L "$LS" acquire -w -o vm2 "$WORK/disk" -- true
	w=$(pid_of waiter)
	wait_for 10 waiters_are "$w"
	assert_equal "$(value holder)" "$sup"
	assert_equal "$(value '  command')" "$(virlock_comm "$sup")"
	assert_equal "$(value '  owner')" vm1
	assert_equal "$(value '  child')" "$child"
	run vl inspect -J "$WORK/disk"
	jq_ok '.holders == [.holders[0]] and .holders[0].pid == $s and .holders[0].child == $c' \
		--argjson s "$sup" --argjson c "$child"
	settle 10 inspect_json_ok '.waiters == [$w]' --argjson w "$w"
	echo go >"$WORK/go"
	bg_wait sup
	bg_wait waiter
	run vl inspect "$WORK/disk"
	assert_equal "$(value state)" free
	assert_equal "$(value waiters)" none
}

@test "a regular file on the way to a resource or a lockspace is 66 naming the path, in every command and mode" {
	vl acquire --literal something -- true
	local c
	for c in "acquire @ -- true" "--direct acquire @ -- true" "acquire @" "acquire -s -o vm1 @" \
		"acquire -w 1 @ -- true" hash inspect release "--direct inspect @"; do
		[[ $c == *@* ]] || c="$c @"
		[[ $c == --direct* ]] || c="-L $LS $c"
		# shellcheck disable=SC2086 # the words of the command line
		run "$VIRLOCK" ${c//@/"$WORK/disk/x.img"}
		assert_failure 66
		assert_output "virlock: $WORK/disk/x.img: no such file: a component of the path is not a directory; give an existing path, or --literal for a string resource"
	done
	# The same for a lockspace: every command, one line naming it.
	local prefix
	for c in list init prune "acquire $WORK/disk -- true" "acquire --literal y" "inspect $WORK/disk" \
		"release --all"; do
		prefix=
		[ "$c" != init ] || prefix="init: "
		# shellcheck disable=SC2086
		run "$VIRLOCK" -L "$WORK/disk/ls" $c
		assert_failure 66
		assert_output "virlock: ${prefix}lockspace $WORK/disk/ls: no such directory: a component of the path is not a directory; check the path"
	done
	[ -f "$WORK/disk" ] && [ ! -s "$WORK/disk" ]
	run vl list -r -n
	assert_output ""
}
