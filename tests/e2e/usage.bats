#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# usage.bats: usage mistakes are usage errors (64, one line naming the thing), never a wrong action.

# shellcheck disable=SC2030,SC2031 # each test is a subshell
load helpers
load acquire_helpers
load hostile_helpers
bats_require_minimum_version 1.5.0

setup() {
	hostile_setup
	rmdir "$LS" # a usage error must not even make the lockspace
	touch "$WORK/disk.img" "$WORK/5s" "$WORK/abc"
	cd "$WORK"
}

teardown() {
	hostile_teardown
}

# has_lines FILE N: FILE exists and has N lines.
has_lines() {
	[ -e "$1" ] && [ "$(wc -l <"$1")" -eq "$2" ]
}

# nothing_made: the usage error left no lockspace behind (so took nothing).
nothing_made() {
	[ ! -e "$LS" ] || fail "the lockspace was made: $(ls -A "$LS")"
}

@test "a --wait value attached with = (or to -w) is always the option's: 64, even when a file has that name" {
	local arg value
	for arg in --wait=5s -w5s -w=5s --wait=abc -wabc -sw5s --wait=-1 --wait=1e99 --wait=0x10 --wait=inf; do
		value=${arg#--wait=}
		value=${value#-*w}
		value=${value#=}
		run --separate-stderr tvl acquire "$arg" disk.img -- true
		assert_error 64 "--wait $value: invalid seconds"
	done
	run --separate-stderr tvl acquire --wait= disk.img -- true
	assert_error 64 "--wait=" "no seconds"
	run --separate-stderr tvl acquire -w= disk.img
	assert_error 64 "--wait="
	nothing_made
}

@test "-w alone waits for ever before a resource, and a separate number is its seconds" {
	# "-w disk.img": waits (for ever) for disk.img, which is free.
	run --separate-stderr tvl acquire -w disk.img -- true
	assert_success
	run --separate-stderr tvl acquire --wait=0.5 disk.img -- true
	assert_success
	run --separate-stderr tvl acquire -w 2 disk.img -- true
	assert_success
	run --separate-stderr tvl acquire -w2 disk.img -- true
	assert_success
	# A word that is not a number, after -w, is the first resource: here 5s.
	run --separate-stderr tvl acquire -w 5s -- sh -c 'echo held'
	assert_success
	assert_output held
	# Busy: the seconds were taken as seconds, and the message counts them right.
	bg_supervise hold disk.img
	run --separate-stderr tvl acquire --wait=1 disk.img -- true
	assert_error 75 "disk.img" "still busy after 1 second, held by " " (pid " ", since "
	run --separate-stderr tvl acquire -w 1.5 disk.img -- true
	assert_error 75 "still busy after 1.5 seconds, held by "
	bg_finish hold
	assert_clean
}

@test "one resource named twice is a usage error, even with -w, and nothing is taken" {
	ln -s disk.img "$WORK/alias.img"
	run --separate-stderr tvl acquire disk.img ./disk.img -- true
	assert_error 64 "./disk.img: names the same resource as disk.img; name it once"
	run --separate-stderr tvl acquire -w disk.img abc "$WORK/disk.img"
	assert_error 64 "$WORK/disk.img: names the same resource as disk.img"
	run --separate-stderr tvl acquire -s -w 5 abc alias.img disk.img
	assert_error 64 "disk.img: names the same resource as alias.img"
	run --separate-stderr tvl acquire --literal lease-a lease-b lease-a
	assert_error 64 "lease-a: names the same resource as lease-a"
	nothing_made
	# Named once, each is free: nobody held them.
	run --separate-stderr tvl acquire disk.img abc -- true
	assert_success
	# Adding to a live holder: the same mistake, the same answer.
	run --separate-stderr tvl acquire -o vm1 abc
	assert_success
	run --separate-stderr tvl acquire -o vm1 disk.img ./disk.img
	assert_error 64 "./disk.img: names the same resource as disk.img"
	run --separate-stderr tvl acquire -n disk.img -- true
	assert_success
	run tvl release --owner vm1
	assert_success
	assert_clean
}

@test "a resource that does not exist is one line for every way of acquiring it" {
	local c
	for c in "acquire nosuch" "acquire nosuch -- true" "acquire -w 1 nosuch -- true" \
		"acquire -w 0 nosuch" "acquire -o vm1 nosuch" "--direct acquire nosuch -- true"; do
		[[ $c == --direct* ]] || c="-L $LS $c"
		# shellcheck disable=SC2086 # the words of the command line
		run --separate-stderr timeout -k 5 20 "$VIRLOCK" $c
		assert_error 66
		assert_equal "$stderr" "virlock: nosuch: no such file; give an existing path, or --literal for a string resource"
	done
}

@test "release of one resource named twice is 64 in one line, and nothing is released" {
	ln -s disk.img "$WORK/alias.img"
	run --separate-stderr tvl acquire -o vm1 disk.img
	assert_success
	run --separate-stderr tvl release disk.img ./disk.img
	assert_error 64 "./disk.img: names the same resource as disk.img; name it once"
	run --separate-stderr tvl release alias.img abc disk.img
	assert_error 64 "disk.img: names the same resource as alias.img; name it once"
	run --separate-stderr tvl release --literal lease-a lease-a
	assert_error 64 "lease-a: names the same resource as lease-a; name it once"
	run --separate-stderr "$VIRLOCK" -L "$LS" list -r -n -o PATH,OWNER
	assert_equal "$output" "$WORK/disk.img vm1"
	run --separate-stderr tvl release disk.img
	assert_success
	assert_clean
}

@test "a busy resource with -w 0 is not met with advice to wait with -w" {
	run --separate-stderr tvl acquire -o vm1 disk.img
	assert_success
	local c
	for c in "-w 0 disk.img" "-w 0 disk.img -- true" "--wait=0 -o vm2 abc disk.img -- true"; do
		# shellcheck disable=SC2086 # the words of the command line
		run --separate-stderr tvl acquire $c
		assert_error 75 "virlock: disk.img: held by " ", owner vm1, since " "; see 'virlock inspect' for more (-w 0 does not wait)"
	done
	run --separate-stderr tvl acquire -w 0 -o vm1 abc -- true
	assert_error 75 "virlock: owner vm1: in use by holder" "; add resources to it without a command, or choose another label (-w 0 does not wait)"
	# Without -w, or with -n after it, waiting is still the advice.
	run --separate-stderr tvl acquire disk.img -- true
	assert_error 75 "virlock: disk.img: held by " ", owner vm1, since " "; see 'virlock inspect' for more, or wait with -w"
	run --separate-stderr tvl acquire -w 0 -n disk.img -- true
	assert_error 75 "; see 'virlock inspect' for more, or wait with -w"
	run --separate-stderr tvl release --owner vm1
	assert_success
	assert_clean
}

@test "a pid is a positive number for every option that takes one: 0 or an empty word is 64" {
	mkdir -m 0700 "$LS"
	run --separate-stderr tvl acquire -o vm1 disk.img
	assert_success
	local cmd opt
	for cmd in "list -p" "list --pid" "release -p" "release --pid" "acquire abc --for-pid"; do
		opt=${cmd##* }
		[ "$opt" = -p ] && opt=--pid
		# shellcheck disable=SC2086 # the words of the command line
		run --separate-stderr tvl $cmd 0
		assert_error 64 "$opt 0: not a process id; give a positive pid"
		assert_output ""
		# What list -p "$(pgrep ...)" passes when nothing matches.
		# shellcheck disable=SC2086
		run --separate-stderr tvl $cmd ""
		assert_error 64 "$opt: no process id given" "give a positive pid"
		# shellcheck disable=SC2086
		run --separate-stderr tvl $cmd 0x10
		assert_error 64 "$opt 0x10: not a process id"
		# shellcheck disable=SC2086
		run --separate-stderr tvl $cmd -3
		assert_error 64 "$opt -3: not a process id"
	done
	run --separate-stderr tvl list --pid=
	assert_error 64 "--pid: no process id given"
	run --separate-stderr tvl acquire --for-pid=0 abc
	assert_error 64 "--for-pid 0: not a process id"
	# No holder was started tied to nothing, and the lock is still held.
	run busy_now disk.img
	assert_success
	run busy_now abc
	assert [ "$status" -eq 1 ]
	run tvl list -r -n -o PATH
	assert_output "$WORK/disk.img"
	run tvl release --owner vm1
	assert_success
	assert_clean
}

@test "an --owner label longer than 1024 bytes is named as the problem, and nothing is taken" {
	local long
	long=$(printf 'a%.0s' {1..4000})
	run --separate-stderr tvl acquire --owner "$long" disk.img
	assert_error 64 "--owner: label is 4000 bytes; give at most 1024"
	run --separate-stderr tvl acquire --owner "$long" disk.img -- true
	assert_error 64 "--owner: label is 4000 bytes; give at most 1024"
	run --separate-stderr tvl acquire --owner "${long:0:1025}" disk.img -- true
	assert_error 64 "label is 1025 bytes"
	nothing_made
	run --separate-stderr tvl acquire --owner "$(printf 'vm\t1')" disk.img
	assert_error 64 "--owner" "control characters"
	nothing_made
	# 1024 bytes is a label like any other.
	run --separate-stderr tvl acquire --owner "${long:0:1024}" disk.img
	assert_success
	run tvl list -r -n -o OWNER
	assert_output "${long:0:1024}"
	run tvl release --owner "${long:0:1024}"
	assert_success
	assert_clean
}

@test "each error line is one write(2)" {
	command -v strace >/dev/null || skip "strace is missing"
	under_valgrind && skip "valgrind writes on stderr too"
	# (LeakSanitizer cannot run under ptrace: an ASan build checks leaks elsewhere.)
	run --separate-stderr env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		strace -f -qq -s 4096 -e trace=write -o "$WORK/trace" "$VIRLOCK" -L "$LS" acquire \
		"$(printf 'no\tsuch.img')" -- true
	assert_error 66 'no\x09such.img: '
	# The whole line, control characters escaped, in one call on fd 2.
	run grep -c '^[0-9]* *write(2, "virlock: no\\\\x09such.img: [^"]*\\n", [0-9]*) = [0-9]*$' "$WORK/trace"
	assert_output 1
	run grep -c 'write(2,' "$WORK/trace"
	assert_output 1
}

@test "busy acquires sharing one stderr print whole lines, never mixed" {
	mkdir -m 0700 "$LS"
	# A long line takes long to write byte by byte: mixed lines would show.
	local lease
	lease=lease-$(printf 'x%.0s' {1..2000})
	bg_supervise hold --literal "$lease"
	local i pids=() n=16
	# All start at once: each opens a FIFO, says so, and reads one byte of
	# it; the n bytes are written in one go once every one has it open.
	mkfifo "$WORK/gate"
	for ((i = 0; i < n; i++)); do
		# shellcheck disable=SC2016 # expanded by the inner shell
		sh -c 'exec 4<>"$1"; echo >>"$1.ready"; dd bs=1 count=1 status=none <&4 >/dev/null; exec 4<&-
			exec "$2" -L "$3" acquire -n --literal "$4" -- true' \
			sh "$WORK/gate" "$VIRLOCK" "$LS" "$lease" 2>>"$WORK/shared.err" 3>&- &
		pids+=("$!")
	done
	wait_for 10 has_lines "$WORK/gate.ready" "$n"
	printf '%*s' "$n" '' >"$WORK/gate"
	for i in "${pids[@]}"; do
		wait "$i" || true
	done
	run cat "$WORK/shared.err"
	assert [ "${#lines[@]}" -eq "$n" ]
	local line
	for line in "${lines[@]}"; do
		assert [ "$line" = "${lines[0]}" ]
	done
	assert_line --index 0 --regexp "^virlock: $lease: [^:]*(busy|held)"
	bg_finish hold
	assert_clean
}

@test "acquire --usage shows -s and -x among the short options" {
	run tvl acquire --usage
	assert_success
	assert_line --index 0 --partial "[-sxnhV]"
}

@test "-E takes a decimal status from 1 to 255: an empty word, 0, hex or a space is 64, never success" {
	mkdir -m 0700 "$LS"
	run --separate-stderr tvl acquire -o vm1 disk.img
	assert_success
	# popt read "" as 0 (a busy resource was then a success), "0x10" as 16, " 7" as 7.
	local v
	for v in "" 0 0x10 " 7" 256 -1 1e2 010x; do
		run --separate-stderr tvl acquire -E "$v" disk.img -- echo ran
		assert_error 64 "-E" "give a decimal number from 1 to 255"
		assert_output ""
		run --separate-stderr tvl acquire "--conflict-exit-code=$v" disk.img -- echo ran
		assert_error 64 "-E" "give a decimal number from 1 to 255"
		assert_output ""
	done
	run --separate-stderr tvl acquire -E "" disk.img
	assert_error 64 "-E: no value given"
	run --separate-stderr tvl acquire -E 0x10 disk.img
	assert_error 64 "-E 0x10: not an exit status"
	# A decimal value is the status of a busy resource, 1 and 255 included.
	for v in 1 7 255 010; do
		run --separate-stderr tvl acquire -E "$v" disk.img -- echo ran
		assert_equal "$status" "$((10#$v))"
		assert_output ""
	done
	run tvl release --owner vm1
	assert_success
	assert_clean
}

@test "init --host-id takes a decimal host id from 1 to 2000, else 64 naming it, and makes nothing" {
	local v
	for v in "" 0 0x10 " 7" 2001 -1 abc; do
		run --separate-stderr tvl init --backend sanlock --host-id "$v"
		assert_error 64 "--host-id" "give a decimal number from 1 to 2000"
		run --separate-stderr tvl init "--host-id=$v"
		assert_error 64 "--host-id" "give a decimal number from 1 to 2000"
	done
	run --separate-stderr tvl init --host-id 0x10
	assert_error 64 "--host-id 0x10: not a host id"
	# A valid id for an fcntl lockspace is still the other mistake.
	run --separate-stderr tvl init --host-id 16
	assert_error 64 "only a sanlock lockspace has host ids"
	nothing_made
}

@test "--owner is checked alike by acquire, release and list: 64 naming --owner, nothing done" {
	mkdir -m 0700 "$LS"
	run --separate-stderr tvl acquire -o vm1 disk.img
	assert_success
	local long cmd
	long=$(printf 'a%.0s' {1..4000})
	for cmd in "acquire abc" "acquire abc --attach" "release" "list" "list -a"; do
		# shellcheck disable=SC2086 # the words of the command line
		run --separate-stderr tvl $cmd --owner "$long"
		assert_error 64 "--owner: label is 4000 bytes; give at most 1024"
		assert_output ""
		# shellcheck disable=SC2086
		run --separate-stderr tvl $cmd --owner ""
		assert_error 64 "--owner: an empty label; give a non-empty label"
		assert_output ""
		# shellcheck disable=SC2086
		run --separate-stderr tvl $cmd --owner "$(printf 'vm\t1')"
		assert_error 64 "--owner: a label has no control characters"
		assert_output ""
	done
	run --separate-stderr tvl release -o=
	assert_error 64 "--owner: an empty label"
	# Nothing was released or taken.
	run busy_now disk.img
	assert_success
	run busy_now abc
	assert [ "$status" -eq 1 ]
	run tvl release --owner vm1
	assert_success
	assert_clean
}

@test "-v says what an acquire did: a new detached holder, and resources added to a live one" {
	mkdir -m 0700 "$LS"
	touch data.img log.img
	run --separate-stderr tvl -v acquire --owner vv disk.img abc
	assert_success
	assert_equal "$stderr" "virlock: 2 locks held by a detached holder"
	local h
	h=$(tvl list -r -n -o PID --owner vv | sort -u)
	run --separate-stderr tvl -v acquire --attach --owner vv data.img
	assert_success
	assert_equal "$stderr" "virlock: 3 locks now held by holder $h (owner vv)"
	run --separate-stderr tvl -v acquire --owner vv data.img log.img
	assert_success
	assert_output ""
	# data.img was held already: the notice says so, and -v what is held now.
	assert_equal "${stderr_lines[-1]}" "virlock: 4 locks now held by holder $h (owner vv)"
	# Without -v a hotplug stays silent.
	run --separate-stderr tvl acquire --attach --owner vv 5s
	assert_success
	assert_equal "$stderr" ""
	run tvl list -r -n -o PATH --owner vv
	assert_equal "${#lines[@]}" 5
	run tvl release --owner vv
	assert_success
	assert_clean
}

@test "-L given twice: the last one is the lockspace, as for any option given again" {
	run --separate-stderr "$VIRLOCK" -L "$WORK/first" --lockspace "$LS" init
	assert_success
	assert_output "created fcntl lockspace $LS"
	[ -d "$LS" ]
	[ ! -e "$WORK/first" ]
}
