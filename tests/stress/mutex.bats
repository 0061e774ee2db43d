#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# mutex.bats: mutual exclusion under contention; P processes bump one counter under one lock and lose nothing.

load ../e2e/helpers
load stress_helpers

setup() {
	common_setup
}

teardown() {
	stress_teardown
}

# The critical sections of the supervised commands ($1 is $WORK). A writer
# makes $1/inside (mkdir fails if anyone is in) and checks that no reader is
# in; a reader checks that no writer is in and that the counter holds still.
# shellcheck disable=SC2016 # expanded by the supervised sh
WRITER='mkdir "$1/inside" 2>/dev/null || echo "overlap: writer $$ found a writer inside" >>"$1/violations"
for r in "$1"/reader.*; do
	[ -e "$r" ] && echo "overlap: writer $$ found $r inside" >>"$1/violations"
done
n=$(cat "$1/count")
echo $((n + 1)) >"$1/count"
rmdir "$1/inside"'
# shellcheck disable=SC2016
READER=': >"$1/reader.$$"
[ -d "$1/inside" ] && echo "overlap: reader $$ found a writer inside" >>"$1/violations"
a=$(cat "$1/count")
b=$(cat "$1/count")
[ "$a" = "$b" ] || echo "changed: reader $$ read $a then $b" >>"$1/violations"
rm -f "$1/reader.$$"'

# cli_worker KIND ITERATIONS DEADLINE: ITERATIONS supervised critical sections
# (KIND writer or reader) on the counter file; each success is one line of the
# worker's log, each failure one line of $WORK/errors.
cli_worker() {
	local kind=$1 m=$2 deadline=$3 i rc mode=() script=$WRITER
	if [ "$kind" = reader ]; then
		mode=(-s)
		script=$READER
	fi
	for ((i = 0; i < m; i++)); do
		[ "$EPOCHSECONDS" -lt "$deadline" ] || {
			echo "deadline passed" >>"$WORK/errors"
			return
		}
		rc=0
		"$VIRLOCK" -L "$LS" acquire "${mode[@]}" -w 60 "$WORK/count" -- sh -c "$script" sh "$WORK" || rc=$?
		if [ "$rc" -eq 0 ]; then
			echo "$kind" >>"$WORK/log.$BASHPID"
		else
			echo "$kind: virlock acquire exited $rc" >>"$WORK/errors"
		fi
	done
}

# cli_run WRITERS READERS ITERATIONS: run them all at once; check and report.
cli_run() {
	local p=$1 r=$2 m=$3 pids=() i t0 ms acquires writes count
	local deadline=$((EPOCHSECONDS + $(scale 60 600)))
	echo 0 >"$WORK/count"
	t0=$(now_ms)
	for ((i = 0; i < p + r; i++)); do
		if [ "$i" -lt "$p" ]; then
			cli_worker writer "$m" "$deadline" </dev/null 3>&- &
		else
			cli_worker reader "$m" "$deadline" </dev/null 3>&- &
		fi
		pids+=("$!")
		bg_track "$!"
	done
	wait "${pids[@]}"
	ms=$(($(now_ms) - t0))
	count=$(cat "$WORK/count")
	acquires=$(cat "$WORK"/log.* | wc -l)
	writes=$(cat "$WORK"/log.* | grep -c writer || true)
	diag "virlock acquire -w: P=$p M=$m readers=$r count=$count expected=$((p * m)) elapsed=${ms}ms" \
		"acquires=$acquires acquires_per_s=$(rate "$acquires" "$ms")"
	if [ -s "$WORK/errors" ] || [ -s "$WORK/violations" ]; then
		sort "$WORK/errors" "$WORK/violations" 2>/dev/null | uniq -c | head -20 >&2
		return 1
	fi
	[ "$writes" -eq $((p * m)) ]
	[ "$count" -eq $((p * m)) ]
	[ "$acquires" -eq $(((p + r) * m)) ]
}

@test "library: 16 processes x M exclusive read-modify-writes lose nothing" {
	local m
	m=$(scale 2000 50000)
	run "$STRESS_BIN/counter" -t "$(scale 60 600)" "$LS" "$WORK/count" 16 "$m"
	diag "library exclusive: $output"
	assert_success
	assert_output --partial "count=$((16 * m)) expected=$((16 * m)) "
	assert_output --partial " overlaps=0 "
}

@test "library: 16 writers and 8 shared readers: readers never see the counter move" {
	local m
	m=$(scale 1000 30000)
	run "$STRESS_BIN/counter" -r 8 -t "$(scale 60 600)" "$LS" "$WORK/count" 16 "$m"
	diag "library shared mix: $output"
	assert_success
	assert_output --partial "count=$((16 * m)) expected=$((16 * m)) "
	assert_output --partial " reader_checks=$((8 * m)) reader_changes=0 "
}

@test "library: 64 writers on one resource" {
	local m
	m=$(scale 200 5000)
	run "$STRESS_BIN/counter" -t "$(scale 60 600)" "$LS" "$WORK/count" 64 "$m"
	diag "library 64 writers: $output"
	assert_success
	assert_output --partial "count=$((64 * m)) expected=$((64 * m)) "
}

@test "virlock acquire -w: 16 supervised sh read-modify-writes x M lose nothing" {
	cli_run 16 0 "$(scale 10 100)"
}

@test "virlock acquire -w: 16 writers and 8 shared readers (-s) keep out of each other" {
	cli_run 16 8 "$(scale 6 60)"
}
