#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# races.bats: prune against acquirers, threads on the held-lock table, lockspace spellings; no double holder ever.

load ../e2e/helpers
load stress_helpers

setup() {
	common_setup
	mkdir -p "$LS"
	chmod 0700 "$LS"
}

teardown() {
	stress_teardown
}

# prune_loop TAG: virlock prune until $WORK/prune.stop exists (bounded by
# count and time); one line of prune's output per run goes to $WORK/TAG.log.
prune_loop() {
	local i deadline=$((EPOCHSECONDS + $(scale 60 900)))
	for ((i = 0; i < 1000000; i++)); do
		if [ -e "$WORK/prune.stop" ] || [ "$EPOCHSECONDS" -ge "$deadline" ]; then
			break
		fi
		"$VIRLOCK" -L "$LS" prune >>"$WORK/$1.log" 2>>"$WORK/prune.err" || echo "prune exited $?" >>"$WORK/prune.err"
	done
}

prune_start() {
	local i
	PRUNERS=()
	for i in 1 2; do
		prune_loop "prune$i" </dev/null 3>&- &
		PRUNERS+=("$!")
		bg_track "$!"
	done
}

# prune_stop: stop the loops; report how often they ran and what they removed.
prune_stop() {
	touch "$WORK/prune.stop"
	wait "${PRUNERS[@]}"
	local runs removed
	runs=$(cat "$WORK"/prune*.log | wc -l)
	removed=$(awk '/^removed/ { n += $2 } END { print n + 0 }' "$WORK"/prune*.log)
	diag "prune: $runs runs removed $removed free lock files"
	if [ -s "$WORK/prune.err" ]; then
		cat "$WORK/prune.err" >&2
		return 1
	fi
	# The race was run: prune found free files to remove between the holds.
	[ "$removed" -gt 0 ]
}

# shellcheck disable=SC2016 # expanded by the supervised sh: $1 is the resource's work dir
RMW='mkdir "$1/inside" 2>/dev/null || echo "overlap on $1" >>"$1/../violations"
n=$(cat "$1/count")
echo $((n + 1)) >"$1/count"
rmdir "$1/inside"'

# acquirer N ITERATIONS: supervised read-modify-writes on random resources
# r0..r2 through lockspace spelling N % 3; successes logged per resource.
acquirer() {
	local n=$1 m=$2 i r rc deadline=$((EPOCHSECONDS + $(scale 60 900)))
	local spellings=("$LS" "$WORK/link" "$LS/../ls")
	for ((i = 0; i < m; i++)); do
		[ "$EPOCHSECONDS" -lt "$deadline" ] || break
		r=r$(((n + i) % 3))
		rc=0
		"$VIRLOCK" -L "${spellings[n % 3]}" acquire -w 60 --literal "$r" -- sh -c "$RMW" sh "$WORK/$r" || rc=$?
		if [ "$rc" -eq 0 ]; then
			echo "$r" >>"$WORK/ok.$n"
		else
			echo "acquirer $n: virlock acquire $r exited $rc" >>"$WORK/errors"
		fi
	done
}

@test "prune in a loop against virlock acquirers in a loop, through three spellings of the lockspace" {
	local p=12 m r i t0 ms pids=() total=0 want got
	m=$(scale 15 150)
	ln -s "$LS" "$WORK/link"
	for r in r0 r1 r2; do
		mkdir "$WORK/$r"
		echo 0 >"$WORK/$r/count"
	done
	watch_start
	prune_start
	t0=$(now_ms)
	for ((i = 0; i < p; i++)); do
		acquirer "$i" "$m" </dev/null 3>&- &
		pids+=("$!")
		bg_track "$!"
	done
	wait "${pids[@]}"
	ms=$(($(now_ms) - t0))
	prune_stop
	watch_stop
	if [ -s "$WORK/errors" ] || [ -s "$WORK/violations" ]; then
		cat "$WORK/errors" "$WORK/violations" 2>/dev/null | head -20 >&2
		return 1
	fi
	for r in r0 r1 r2; do
		want=$(cat "$WORK"/ok.* | grep -c "^$r\$" || true)
		got=$(cat "$WORK/$r/count")
		[ "$got" -eq "$want" ] || {
			echo "$r: counter $got, acquires $want" >&2
			return 1
		}
		total=$((total + got))
	done
	[ "$total" -eq $((p * m)) ]
	diag "virlock acquirers against prune: P=$p M=$m acquires=$total elapsed=${ms}ms" \
		"acquires_per_s=$(rate "$total" "$ms")"
}

@test "prune in a loop against 16 library processes in a loop" {
	local m
	m=$(scale 3000 50000)
	watch_start
	prune_start
	# The deadline catches a hang, and more: against prune an ASan+UBSan
	# build on a busy machine takes over a minute for the short run.
	run "$STRESS_BIN/counter" -t "$(scale 110 600)" "$LS" "$WORK/count" 16 "$m"
	prune_stop
	watch_stop
	diag "library against prune: $output"
	assert_success
	assert_output --partial "count=$((16 * m)) expected=$((16 * m)) "
}

@test "16 threads on 8 resources through one handle; another process sees our pid hold each" {
	watch_start
	run "$STRESS_BIN/hammer" -T 16 -r 8 -H 1 -n "$(scale 1000 30000)" -t "$(scale 60 600)" "$LS"
	watch_stop
	diag "one handle: $output"
	assert_success
	assert_output --regexp ' observer_checks=[1-9][0-9]* observer_mismatches=0 '
}

@test "16 threads on 8 resources through 4 handles" {
	run "$STRESS_BIN/hammer" -T 16 -r 8 -H 4 -n "$(scale 1000 30000)" -t "$(scale 60 600)" "$LS"
	diag "four handles: $output"
	assert_success
	assert_output --regexp ' observer_checks=[1-9][0-9]* observer_mismatches=0 '
}

@test "handles through a symlink and dir/../dir in one process are never both granted" {
	ln -s "$LS" "$WORK/link"
	mkdir "$WORK/sub"
	watch_start
	run "$STRESS_BIN/hammer" -T 16 -r 8 -n "$(scale 1000 30000)" -t "$(scale 60 600)" \
		"$LS" "$WORK/link" "$LS/../ls" "$WORK/sub/../link/."
	watch_stop
	diag "four spellings: $output"
	assert_success
	refute_output --partial 'note:'
	assert_output --regexp ' handles=4 .* observer_checks=[1-9][0-9]* observer_mismatches=0 '
}
