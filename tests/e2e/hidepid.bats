#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# hidepid.bats: a /proc that hides other users' processes, or their fdinfo, never makes a live holder look gone or confirmed.

load helpers
load members_helpers
bats_require_minimum_version 1.5.0

setup() {
	common_setup
	members_reset
}

teardown() {
	if [ -n "$SHARED" ]; then
		"$VIRLOCK" -L "$SHARED/ls" release --owner u1vm >/dev/null 2>&1 || true
		"$VIRLOCK" -L "$SHARED/ls" release --owner u2vm >/dev/null 2>&1 || true
	fi
	drop_members
}

# hidepid_members GROUP USER...: members (members_helpers.bash), skipping
# also without unshare or a /proc that takes hidepid.
hidepid_members() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to create users and mount /proc"
	command -v unshare >/dev/null || skip "unshare is missing"
	unshare -m sh -c 'mount -t proc -o hidepid=2 proc /proc' 2>/dev/null ||
		skip "cannot mount a hidepid=2 /proc in a mount namespace"
	members "$@"
}

# as USER VIRLOCK-ARGS...: run virlock on $SHARED/ls as USER, under a deadline.
as() {
	local user=$1
	shift
	timeout -k 5 20 runuser -u "$user" -- "$SHARED/virlock" -L "$SHARED/ls" "$@" 3>&-
}

# hidden_as USER VIRLOCK-ARGS...: as, in a mount namespace whose /proc is
# mounted hidepid=2: USER sees only its own processes there.
hidden_as() {
	local user=$1
	shift
	# shellcheck disable=SC2016 # expanded by the inner shell
	timeout -k 5 20 unshare -m sh -c \
		'u=$1 v=$2 l=$3; shift 3; mount -t proc -o hidepid=2 proc /proc && exec runuser -u "$u" -- "$v" -L "$l" "$@"' \
		sh "$user" "$SHARED/virlock" "$SHARED/ls" "$@" 3>&-
}

@test "under a hidepid /proc, a member's prune keeps a live holder's record and list still labels it" {
	hidepid_members "vlh$$" "vlh$$a" "vlh$$b"
	local u1=vlh$$a u2=vlh$$b h
	install -d -m 2770 -o root -g "vlh$$" "$SHARED/ls"
	touch "$SHARED/g.img"
	chgrp "vlh$$" "$SHARED/g.img"
	chmod 0660 "$SHARED/g.img"
	run --separate-stderr as "$u1" acquire --owner u1vm "$SHARED/g.img"
	assert_success
	h=$(find "$SHARED/ls/.holders" -maxdepth 1 -name '[0-9]*' ! -name '*.*' -printf '%f\n')
	[[ $h =~ ^[0-9]+$ ]]
	# The other member cannot see the holder's process, but it runs.
	run --separate-stderr hidden_as "$u2" prune
	assert_success
	[ -f "$SHARED/ls/.holders/$h" ]
	# The kernel names the holder: its record labels it even unseen.
	run --separate-stderr hidden_as "$u2" list -r -n -o OWNER,PID,STATUS
	assert_success
	assert_output "u1vm $h ok"
	# Nor may it release the holder it cannot see: permission denied, as
	# for one it sees (the name of its control socket needs its start time).
	run --separate-stderr hidden_as "$u2" release --owner u1vm
	assert_failure 77
	[[ "$stderr" == *"holder $h: permission denied"* ]]
	run --separate-stderr "$SHARED/virlock" -L "$SHARED/ls" release --owner u1vm
	assert_success
	wait_for 10 no_process_of "$u1"
}

@test "a further shared holder whose fdinfo this user cannot read is unconfirmed, never a holder" {
	hidepid_members "vlh$$" "vlh$$a" "vlh$$b"
	local u1=vlh$$a u2=vlh$$b h1 h2
	install -d -m 2770 -o root -g "vlh$$" "$SHARED/ls"
	touch "$SHARED/g.img"
	chgrp "vlh$$" "$SHARED/g.img"
	chmod 0660 "$SHARED/g.img"
	# u2 first: F_GETLK names the first holder of a shared lock.
	run --separate-stderr as "$u2" acquire -s --owner u2vm "$SHARED/g.img"
	assert_success
	run --separate-stderr as "$u1" acquire -s --owner u1vm "$SHARED/g.img"
	assert_success
	h1=$(pgrep -U "$u1" -f "acquire -s --owner u1vm")
	h2=$(pgrep -U "$u2" -f "acquire -s --owner u2vm")
	[[ $h1 =~ ^[0-9]+$ && $h2 =~ ^[0-9]+$ ]]
	# Root reads every fdinfo: two holders.
	run --separate-stderr "$SHARED/virlock" -L "$SHARED/ls" list -r -n -o OWNER,STATUS
	assert_equal "$(sort <<<"$output")" "$(printf 'u1vm ok\nu2vm ok')"
	# u2 cannot read u1's: u1's record is unconfirmed, shown only with --stale.
	run --separate-stderr as "$u2" list -r -n -o OWNER,PID,STATUS
	assert_success
	assert_output "u2vm $h2 ok"
	run --separate-stderr as "$u2" list --stale -r -n -o OWNER,MODE,STATUS
	assert_equal "$(sort <<<"$output")" "$(printf 'u1vm unconfirmed unconfirmed\nu2vm shared ok')"
	run --separate-stderr as "$u2" list --stale -J -o pid,mode,status
	jq -e --argjson p "$h1" '[.locks[] | select(.status == "unconfirmed")] == [{pid: $p, mode: "unconfirmed",
		status: "unconfirmed"}]' <<<"$output"
	# inspect reads /proc/locks, which shows every holder: both are confirmed there.
	run --separate-stderr as "$u2" inspect "$SHARED/g.img"
	assert_line --regexp '^holders: +2$'
	refute_line --regexp '^unconfirmed records:'
	# And prune keeps it: its process runs.
	run --separate-stderr as "$u2" prune
	assert_success
	[ -f "$SHARED/ls/.holders/$h1" ]
	"$SHARED/virlock" -L "$SHARED/ls" release --owner u2vm
	"$SHARED/virlock" -L "$SHARED/ls" release --owner u1vm
	wait_for 10 no_process_of "$u1"
	wait_for 10 no_process_of "$u2"
}
