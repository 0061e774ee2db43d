#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# limits.bats: more resources than RLIMIT_NOFILE allows, and a detached holder of 10,000 locks.

# shellcheck disable=SC2154 # $stderr is set by run --separate-stderr
bats_require_minimum_version 1.5.0

load ../e2e/helpers
load stress_helpers

setup() {
	common_setup
	RES100=()
	local i
	for ((i = 0; i < 100; i++)); do RES100+=("r-$i"); done
}

teardown() {
	stress_teardown
}

# nothing_held: no row in list, every lock file free for the kernel, no live holder.
nothing_held() {
	run vl list -n
	assert_success
	assert_output ''
	run "$STRESS_BIN/checklocks" -f "$LS"
	assert_success
	[ -z "$(lockspace_holders)" ]
}

@test "detached holder: 100 resources under ulimit -n 64 fail with status 71 and hold nothing" {
	# ulimit -n sets the hard limit too: the holder cannot raise it back.
	run --separate-stderr bash -c 'ulimit -n 64 && exec "$@"' sh \
		"$VIRLOCK" -L "$LS" acquire --literal --owner many "${RES100[@]}"
	diag "status $status, stderr: $stderr"
	[ "$status" -eq 71 ]
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
	[[ "$stderr" == virlock:* ]]
	[[ "$stderr" == *"open files limit"* ]]
	assert_output ''
	nothing_held
	# The same resources are acquirable at once with the limit back up.
	vl acquire --literal --owner many "${RES100[@]}"
	[ "$(vl list --owner many -n -r | wc -l)" -eq 100 ]
	vl release --owner many
}

@test "supervisor: 100 resources under ulimit -n 64 fail with status 71; the command never runs" {
	run --separate-stderr bash -c 'ulimit -n 64 && exec "$@"' sh \
		"$VIRLOCK" -L "$LS" acquire --literal "${RES100[@]}" -- touch "$WORK/ran"
	diag "status $status, stderr: $stderr"
	[ "$status" -eq 71 ]
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
	[[ "$stderr" == *"open files limit"* ]]
	[ ! -e "$WORK/ran" ]
	nothing_held
}

@test "hotplug into a holder started under ulimit -n 64: 98 more fail whole, the first 2 stay held" {
	bash -c 'ulimit -n 64 && exec "$@"' sh "$VIRLOCK" -L "$LS" acquire --literal --owner grow r-0 r-1 3>&-
	run --separate-stderr vl acquire --literal --owner grow "${RES100[@]:2}"
	diag "hotplug: status $status, stderr: $stderr"
	[ "$status" -eq 71 ]
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
	[[ "$stderr" == *"the holder reached its open files limit: start it under a higher 'ulimit -n'"* ]]
	run vl list --owner grow -n -r -o path
	assert_success
	assert_output "$(printf 'r-0\nr-1')"
	[ "$(vl list -n | wc -l)" -eq 2 ]
	vl acquire -n --literal r-2 r-50 r-99 -- true
	vl release --owner grow
	wait_for 10 no_holders
	nothing_held
}

@test "a lower soft limit alone is raised to the hard one: 100 resources are held" {
	local hard
	hard=$(ulimit -Hn)
	[ "$hard" = unlimited ] || [ "$hard" -ge 200 ] || skip "hard open files limit $hard is too low"
	run bash -c 'ulimit -Sn 64 && exec "$@"' sh \
		"$VIRLOCK" -L "$LS" acquire --literal "${RES100[@]}" -- sh -c 'ulimit -Sn'
	diag "soft limit 64, hard $hard: status $status, the command saw a soft limit of $output"
	assert_success
	# The command runs with the limit it was given, not the raised one.
	assert_output 64
	nothing_held
}

@test "a detached holder of 10,000 locks: acquire, list, release, all free" {
	local n=10000 hard i t0 t_acq t_list t_list_all t_rel t_probe
	hard=$(ulimit -Hn)
	[ "$hard" = unlimited ] || [ "$hard" -ge $((n + 100)) ] ||
		skip "hard open files limit $hard is below $((n + 100))"
	local res=()
	for ((i = 0; i < n; i++)); do res+=("r-$i"); done

	t0=$(now_ms)
	vl acquire --literal --owner big "${res[@]}"
	t_acq=$(($(now_ms) - t0))

	t0=$(now_ms)
	run vl list --owner big -n -r
	t_list=$(($(now_ms) - t0))
	assert_success
	[ "$(printf '%s\n' "$output" | wc -l)" -eq "$n" ]
	t0=$(now_ms)
	run vl list -J -o name,pid,owner,status
	t_list_all=$(($(now_ms) - t0))
	assert_success
	[ "$(jq '[.locks[] | select(.owner == "big" and .status == "ok")] | length' <<<"$output")" -eq "$n" ]

	t0=$(now_ms)
	run "$STRESS_BIN/checklocks" "$LS"
	t_probe=$(($(now_ms) - t0))
	assert_success
	assert_output "files=$n held=$n dead=0"
	run vl acquire -n --literal r-0 r-5000 r-9999 -- true
	[ "$status" -eq 75 ]

	local holder
	holder=$(lockspace_holders)
	t0=$(now_ms)
	vl release --owner big
	t_rel=$(($(now_ms) - t0))
	wait_for 20 gone "$holder"
	nothing_held
	run vl list -a -n -r
	[ "$(printf '%s\n' "$output" | wc -l)" -eq "$n" ]
	vl acquire -n --literal r-0 r-5000 r-9999 -- true
	diag "$n locks: acquire ${t_acq}ms, list --owner ${t_list}ms, list -J ${t_list_all}ms," \
		"F_GETLK probe of all ${t_probe}ms, release ${t_rel}ms"
}
