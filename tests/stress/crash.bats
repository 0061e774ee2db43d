#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# crash.bats: SIGKILL random holders at random moments while others acquire; nothing stays held by the dead.

load ../e2e/helpers
load stress_helpers

setup() {
	common_setup
	mkdir -p "$LS"
	chmod 0700 "$LS"
	RES=(vm-a vm-b vm-c vm-d vm-e vm-f)
	SUPS=()   # supervisors: virlock acquire -w R -- sleep
	FRONTS=() # virlock acquire --owner (the front, until its holder holds)
	CHURNS=() # library users
	SEQ=0
}

teardown() {
	stress_teardown
}

pick_res() {
	echo "${RES[RANDOM % ${#RES[@]}]}"
}

# Starters: each keeps its pid in its list and in BG_PIDS.
start_supervisor() {
	SEQ=$((SEQ + 1))
	"$VIRLOCK" -L "$LS" acquire -w 5 --literal "$(pick_res)" -- sleep 1000 \
		</dev/null >/dev/null 2>>"$WORK/supervisors.err" 3>&- &
	SUPS+=("$!")
	bg_track "$!"
}

start_detached() {
	SEQ=$((SEQ + 1))
	"$VIRLOCK" -L "$LS" acquire -w 5 --literal --owner "d$SEQ" "$(pick_res)" \
		</dev/null >/dev/null 2>>"$WORK/detached.err" 3>&- &
	FRONTS+=("$!")
	bg_track "$!"
}

start_churn() {
	SEQ=$((SEQ + 1))
	"$STRESS_BIN/churn" -s "$RANDOM" -t 600 -o "c$SEQ" "$LS" "${RES[@]}" \
		</dev/null >/dev/null 2>>"$WORK/churn.err" 3>&- &
	CHURNS+=("$!")
	bg_track "$!"
}

# live_of LIST...: the live pids among LIST.
live_of() {
	local p
	for p in "$@"; do
		alive "$p" && echo "$p"
	done
	return 0
}

# detached_holders: live holders in the lockspace that no supervisor of ours is.
detached_holders() {
	local p s
	for p in $(lockspace_holders); do
		for s in "${SUPS[@]}"; do
			[ "$p" = "$s" ] && continue 2
		done
		echo "$p"
	done
}

# zombie PID: PID has died but its parent has not reaped it yet.
zombie() {
	local stat
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	stat=${stat##*) }
	[ "${stat:0:1}" = Z ]
}

# check_list: every row of list -a whose STATUS is "ok" names a live pid (a
# row computed just before a pid exited on its own is looked at again). A
# zombie counts as dead: it holds no lock any more.
check_list() {
	local json bad pid name
	json=$(vl list -a -J -o name,pid,status) || {
		echo "list failed" >&2
		return 1
	}
	bad=$(jq -r '.locks[] | select(.status == "ok" and .pid != null) | "\(.name) \(.pid)"' <<<"$json")
	while read -r name pid; do
		[ -n "$pid" ] || continue
		alive "$pid" && continue
		if vl list -a -J -o name,pid,status |
			jq -e --arg n "$name" --argjson p "$pid" \
				'.locks[] | select(.name == $n and .pid == $p and .status == "ok")' >/dev/null; then
			echo "list shows $name held by dead pid $pid with STATUS ok" >&2
			return 1
		fi
	done <<<"$bad"
	return 0
}

# all_stopped: ask what is left to stop; true once no process of ours is left.
all_stopped() {
	local p c left=0
	for p in $(live_of "${SUPS[@]}"); do
		for c in $(pgrep -P "$p"); do kill -TERM "$c" 2>/dev/null || true; done
		left=1
	done
	if [ -n "$(lockspace_holders)" ]; then
		vl release --all >/dev/null 2>&1 || true
		left=1
	fi
	[ -z "$(live_of "${SUPS[@]}" "${FRONTS[@]}" "${CHURNS[@]}")" ] && [ "$left" -eq 0 ]
}

@test "SIGKILL of random supervisors, detached holders and library users: no lock outlives its holder" {
	local seed=${STRESS_SEED:-$((${EPOCHREALTIME/[.,]/} % 1000000))}
	RANDOM=$seed
	diag "crash loop seed=$seed (STRESS_SEED=$seed repeats the random choices, not the timing)"
	local kills limit deadline t0 k=0 checks=0
	kills=$(scale 40 400)
	limit=$(scale 25 300)
	deadline=$((EPOCHSECONDS + limit))
	local n_sup=0 n_front=0 n_det=0 n_churn=0 orphans=0 prunes=0
	local victim kind kids c cands
	watch_start
	t0=$(now_ms)
	while [ "$k" -lt "$kills" ] && [ "$EPOCHSECONDS" -lt "$deadline" ]; do
		# Keep the population up: 3 supervisors, 2 detached, 2 library users.
		mapfile -t SUPS < <(live_of "${SUPS[@]}")
		mapfile -t FRONTS < <(live_of "${FRONTS[@]}")
		mapfile -t CHURNS < <(live_of "${CHURNS[@]}")
		while [ "${#SUPS[@]}" -lt 3 ]; do start_supervisor; done
		while [ "$(detached_holders | wc -l)" -lt 2 ] && [ "${#FRONTS[@]}" -lt 2 ]; do start_detached; done
		while [ "${#CHURNS[@]}" -lt 2 ]; do start_churn; done

		# A random moment: at once (mid-start, mid-acquire) or after a random
		# jitter (this sleep only spreads the moments; nothing waits on it).
		if [ $((RANDOM % 3)) -ne 0 ]; then
			sleep "0.0$((RANDOM % 10))"
		fi
		kind=$((RANDOM % 4))
		case $kind in
		0) mapfile -t cands < <(live_of "${SUPS[@]}") ;;
		1) mapfile -t cands < <(detached_holders) ;;
		2) mapfile -t cands < <(live_of "${FRONTS[@]}") ;;
		3) mapfile -t cands < <(live_of "${CHURNS[@]}") ;;
		esac
		[ "${#cands[@]}" -gt 0 ] || continue
		victim=${cands[RANDOM % ${#cands[@]}]}
		kids=$(pgrep -P "$victim" || true)
		kill -KILL "$victim" 2>/dev/null || continue
		# Reap our own children at once, as a parent should.
		[ "$kind" = 1 ] || wait "$victim" 2>/dev/null || true
		wait_for 10 gone "$victim" || {
			echo "pid $victim survived SIGKILL" >&2
			return 1
		}
		case $kind in
		0) n_sup=$((n_sup + 1)) ;;
		1) n_det=$((n_det + 1)) ;;
		2) n_front=$((n_front + 1)) ;;
		3) n_churn=$((n_churn + 1)) ;;
		esac
		k=$((k + 1))
		# A supervised command never runs on without its locks (PR_SET_PDEATHSIG).
		if [ "$kind" = 0 ]; then
			for c in $kids; do
				wait_for 10 gone "$c" || {
					echo "supervised child $c of killed supervisor $victim still runs" >&2
					orphans=$((orphans + 1))
				}
			done
		fi
		# After every kill: the kernel names no dead holder, list no live-looking dead one.
		run "$STRESS_BIN/checklocks" "$LS"
		[ "$status" -eq 0 ] || {
			echo "after kill $k (pid $victim): $output" >&2
			return 1
		}
		check_list
		checks=$((checks + 1))
		# Now and then a prune, racing the acquirers; it keeps list -a short.
		if [ $((k % 25)) -eq 0 ]; then
			vl prune >/dev/null
			prunes=$((prunes + 1))
		fi
	done
	local ms
	ms=$(($(now_ms) - t0))
	[ "$orphans" -eq 0 ]

	# Stop the survivors: the library users, then, until nothing is left, the
	# detached holders (release) and the supervisors (their children end, they
	# release and exit); waiting ones may still get their locks meanwhile.
	local p
	for p in "${CHURNS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait_for 30 all_stopped || {
		echo "survivors did not stop:" >&2
		for p in $(live_of "${SUPS[@]}" "${FRONTS[@]}" "${CHURNS[@]}") $(lockspace_holders); do
			ps -o pid,ppid,stat,etime,wchan:20,args -p "$p" $(pgrep -P "$p") | cut -c1-200 >&2
			cat "/proc/$p/stack" >&2 2>/dev/null || true
		done
		vl list -a -o name,path,mode,pid,owner,child,status >&2
		return 1
	}

	watch_stop
	run "$STRESS_BIN/checklocks" -f "$LS"
	assert_success
	diag "lock files after the loop: $output"
	check_list
	# Stale records of the killed show "stale" until prune takes them.
	local stale
	stale=$(vl list -a --stale -J -o pid,status | jq '[.locks[] | select(.status == "stale")] | length')
	vl prune >/dev/null
	run vl list -a --stale -J -o status
	assert_success
	refute_output --partial '"stale"'
	local r
	for r in "${RES[@]}"; do
		vl acquire --literal "$r" -- true
	done
	# The library users met nothing but busy and timed out.
	if [ -s "$WORK/churn.err" ]; then
		cat "$WORK/churn.err" >&2
		return 1
	fi
	diag "kills survived: $k in ${ms}ms (supervisors $n_sup, detached holders $n_det," \
		"acquiring fronts $n_front, library users $n_churn); invariant checks $checks;" \
		"prunes during the loop $prunes;" \
		"stale rows before prune $stale; all ${#RES[@]} resources acquirable"
	[ "$k" -gt 0 ]
}

# unreaped_hold OPTIONS...: start lockhold OPTIONS under a parent (a sleep)
# that never reaps it, as a busy parent or an init that reaps late would not;
# its pid goes to $WORK/hold.pid once it holds.
unreaped_hold() {
	# shellcheck disable=SC2016 # expanded by that sh
	sh -c 'b=$1 out=$2 pidf=$3; shift 3; "$b" "$@" >"$out" 2>&1 & echo $! >"$pidf"; exec sleep 1000' sh \
		"$HELPERS/lockhold" "$WORK/hold.out" "$WORK/hold.pid" "$@" </dev/null 3>&- &
	bg_track "$!"
	wait_for 10 grep -q ready "$WORK/hold.out"
}

# ok_rows_of PID: how many rows of list -J say STATUS ok for PID.
ok_rows_of() {
	vl list -J -o name,mode,pid,owner,status |
		jq --argjson p "$1" '[.locks[] | select(.pid == $p and .status == "ok")] | length'
}

@test "a killed shared holder not yet reaped (a zombie) is not listed with STATUS ok" {
	vl acquire -s --literal --owner live x
	unreaped_hold -s -l -o dead "$LS" x
	local pid
	pid=$(cat "$WORK/hold.pid")
	[ "$(ok_rows_of "$pid")" -eq 1 ]
	kill -KILL "$pid"
	wait_for 10 zombie "$pid"
	# The kernel knows it holds nothing...
	run "$STRESS_BIN/checklocks" -v "$LS"
	assert_success
	refute_output --partial " $pid "
	[ -z "$(awk -v p="$pid" '$2 != "->" && $5 == p' /proc/locks)" ]
	# ... and list must not say otherwise.
	diag "$(vl list -J -o mode,pid,owner,status | jq -c .locks)"
	[ "$(ok_rows_of "$pid")" -eq 0 ]
}

@test "a zombie's exclusive claim is not listed as an ok exclusive holder of a shared lock" {
	unreaped_hold -l -o dead "$LS" x
	local pid
	pid=$(cat "$WORK/hold.pid")
	kill -KILL "$pid"
	wait_for 10 zombie "$pid"
	vl acquire -s --literal --owner live x
	diag "$(vl list -J -o mode,pid,owner,status | jq -c .locks)"
	[ "$(ok_rows_of "$pid")" -eq 0 ]
}
