#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# sanlock_stray.bats: a handle older than its lockspace's sanlock backend, and files in a sanlock lockspace that are not its leases.
#
# Two sanlock daemons stand for two hosts sharing one lockspace directory
# (see sanlock_helpers.bash). Root and the sanlock package are needed.

load helpers
load sanlock_helpers

bats_require_minimum_version 1.5.0

setup_file() {
	sanlock_setup_file
}

teardown_file() {
	sanlock_hosts_stop
}

setup() {
	sanlock_setup
	touch "$WORK/disk.img"
	DISK=$(realpath "$WORK/disk.img")
	NAME=$("$VIRLOCK" hash "$DISK")
	STALE=
}

teardown() {
	[ -z "$STALE" ] || kill "$STALE" 2>/dev/null || true
	for pid in $(LS=$SHARED holder_pids); do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = virlock ] && kill -TERM "$pid" 2>/dev/null
		wait_for 5 gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
	done
	true
}

# stale_start DIR ARGS...: run tests/helpers/stalehandle on DIR (host 1),
# and wait until it has opened the lockspace; its backend is in BACKEND.
stale_start() {
	local dir=$1
	shift
	rm -f "$WORK/stale.in" "$WORK/stale.out"
	mkfifo "$WORK/stale.in" "$WORK/stale.out"
	SANLOCK_RUN_DIR=$RUN1 "$HELPERS/stalehandle" "$@" "$dir" "$DISK" <"$WORK/stale.in" >"$WORK/stale.out" 3>&- &
	STALE=$!
	exec 4>"$WORK/stale.in" 5<"$WORK/stale.out"
	read -r BACKEND <&5
	read -r ready <&5
	assert_equal "$ready" ready
}

# stale_go: let the handle act; its answer is in ANSWER, its status in STALE_STATUS.
stale_go() {
	echo go >&4
	read -r ANSWER <&5 || true
	STALE_STATUS=0
	wait "$STALE" || STALE_STATUS=$?
	STALE=
	exec 4>&- 5<&-
}

# on_both CMD...: run `run --separate-stderr` of CMD on host 1 then host 2,
# and check that both gave the same status, output and error.
on_both() {
	local s1 o1 e1
	run --separate-stderr h1 "$@"
	s1=$status o1=$output e1=$stderr
	run --separate-stderr h2 "$@"
	assert_equal "$status" "$s1"
	assert_equal "$output" "$o1"
	assert_equal "$stderr" "$e1"
}

@test "a handle opened before init --backend sanlock refuses to acquire and leaves no lock file" {
	LS=$SL_TOP/stale-$BATS_TEST_NUMBER
	"$VIRLOCK" -q -L "$LS" init
	stale_start "$LS"
	assert_equal "$BACKEND" fcntl
	run h1 -q init --backend sanlock --host-id 1
	assert_success
	stale_go
	assert_equal "$ANSWER" "error -116: the lockspace became a sanlock lockspace after it was opened; open it again"
	assert_equal "$STALE_STATUS" 1
	[ ! -e "$LS/$NAME" ]
	# Both hosts use the resource as a lease.
	run h2 -q init --backend sanlock --host-id 2
	assert_success
	run h1 acquire "$DISK" -- true
	assert_success
	run h2 acquire "$DISK" -- true
	assert_success
	assert_equal "$(stat -c %s "$LS/$NAME")" 1048576
	h1 leave
	h2 leave
}

@test "a handle opened before init --backend sanlock refuses a lease file, and its prune removes no held lease" {
	local pruner answer
	LS=$SL_TOP/stale-$BATS_TEST_NUMBER
	"$VIRLOCK" -q -L "$LS" init
	# A second old handle, that will prune.
	mkfifo "$WORK/prune.in" "$WORK/prune.out"
	"$HELPERS/stalehandle" -p "$LS" x <"$WORK/prune.in" >"$WORK/prune.out" 3>&- &
	pruner=$!
	exec 6>"$WORK/prune.in" 7<"$WORK/prune.out"
	read -r answer <&7
	read -r answer <&7
	assert_equal "$answer" ready
	stale_start "$LS"
	run h1 -q init --backend sanlock --host-id 1
	assert_success
	run h1 acquire "$DISK" -- true
	assert_success
	stale_go
	assert_equal "$ANSWER" "error -116: the lockspace became a sanlock lockspace after it was opened; open it again"
	assert_equal "$(stat -c %s "$LS/$NAME")" 1048576
	# A lease held on host 1: an fcntl prune sees no fcntl lock on it.
	run h1 acquire --owner vm1 "$DISK"
	assert_success
	echo go >&6
	read -r answer <&7
	exec 6>&- 7<&-
	wait "$pruner" || true
	assert_equal "$answer" "error -116: the lockspace became a sanlock lockspace after it was opened; open it again"
	[ -f "$LS/$NAME" ]
	run h1 list -r -n -o NAME,OWNER
	assert_output "$NAME vm1"
	run h1 release --owner vm1
	assert_success
	h1 leave
}

@test "a stray fcntl lock file in a sanlock lockspace: corrupt (65) on both hosts, named by list and inspect, pruned" {
	local free held
	# What an fcntl handle writes: the resource's path, in a small file.
	printf '%s' "$DISK" >"$SHARED/$NAME"
	on_both acquire "$DISK" -- true
	assert_equal "$status" 65
	assert_equal "$stderr" "virlock: $DISK: corrupt lock file or record: its lock file $NAME is not one this lockspace can use; check it with 'virlock inspect $NAME' and remove it if no one holds it"
	on_both acquire "$DISK"
	assert_equal "$status" 65
	on_both list -a -r -n -o NAME,PATH,MODE,STATUS
	assert_success
	assert_line "$NAME $DISK free corrupt"
	on_both inspect "$DISK"
	assert_success
	assert_line "lock file: $SHARED/$NAME"
	assert_line "integrity: corrupt (not a lease of this lockspace, or its path does not hash to the name)"
	# prune goes on with the others: a free lease is removed, a held one kept.
	run h1 acquire --literal free-lease -- true
	assert_success
	run h2 acquire --owner keep --literal held-lease
	assert_success
	free=$("$VIRLOCK" hash --literal free-lease)
	held=$("$VIRLOCK" hash --literal held-lease)
	run --separate-stderr h2 prune --dry-run -v
	assert_success
	assert_line "would remove $SHARED/$NAME"
	assert_line "would remove $SHARED/$free"
	run --separate-stderr h2 prune -v
	assert_success
	assert_line "removed $SHARED/$NAME"
	assert_line "removed $SHARED/$free"
	assert_line "removed 2 free lock files and 0 stale holder files"
	[ ! -e "$SHARED/$NAME" ] && [ -f "$SHARED/$held" ]
	run h1 acquire "$DISK" -- true
	assert_success
	run h2 acquire "$DISK" -- true
	assert_success
	run h2 release --owner keep
	assert_success
}

@test "a stray fcntl lock file that an fcntl holder holds is kept by prune and stays corrupt" {
	h1 -q prune # what earlier tests left
	printf '%s' "$DISK" >"$SHARED/$NAME"
	mkfifo "$WORK/hold.out"
	"$HELPERS/lockhold" -F "$SHARED/$NAME" >"$WORK/hold.out" 3>&- &
	STALE=$!
	read -r ready <"$WORK/hold.out"
	assert_equal "$ready" ready
	run --separate-stderr h1 prune -v
	assert_success
	assert_output "removed 0 free lock files and 0 stale holder files"
	[ -f "$SHARED/$NAME" ]
	on_both acquire "$DISK" -- true
	assert_equal "$status" 65
	kill "$STALE"
	wait "$STALE" || true
	STALE=
	rm "$SHARED/$NAME"
}

# foreign KIND NAME: make the file NAME in $SHARED something that is not one of its leases.
foreign() {
	local f=$SHARED/$2
	case $1 in
	empty) : >"$f" ;;
	directory) mkdir "$f" ;;
	symlink) ln -s "$SHARED/.lockspace.lease" "$f" ;;
	foreign-lease)
		truncate -s 1048576 "$f"
		SANLOCK_RUN_DIR=$RUN1 sanlock direct init -r "virlock-elsewhere:$2:$f:0" >/dev/null
		;;
	truncated-lease)
		h1 acquire --literal "$KIND" -- true
		truncate -s 524288 "$f"
		;;
	esac
}

@test "other files that are not leases: empty, a directory, a symlink, a lease of another lockspace, a truncated lease" {
	local kind name
	h1 -q prune # what earlier tests left
	for kind in empty directory symlink foreign-lease truncated-lease; do
		KIND=$kind
		name=$("$VIRLOCK" hash --literal "$kind")
		foreign "$kind" "$name"
		on_both acquire --literal "$kind" -- true
		assert_equal "$status" 65
		if [ "$kind" = symlink ]; then
			assert_equal "$stderr" "virlock: $kind: symbolic link refused (or too many levels of links); a lock file must not be a symbolic link: check it with 'virlock inspect'"
		else
			assert_equal "$stderr" "virlock: $kind: corrupt lock file or record: its lock file $name is not one this lockspace can use; check it with 'virlock inspect $name' and remove it if no one holds it"
		fi
		on_both list -a -r -n -o NAME,MODE,STATUS
		assert_success
		assert_line "$name free corrupt"
		on_both inspect --literal "$kind"
		assert_success
		assert_line "integrity: corrupt (not a lease of this lockspace, or its path does not hash to the name)"
		# prune: an empty file is a free fcntl lock file; the others are kept and said.
		on_both prune --dry-run
		case $kind in
		empty)
			assert_equal "$status" 0
			assert_output "would remove 1 free lock file and 0 stale holder files"
			;;
		symlink)
			assert_equal "$status" 65
			assert_equal "$stderr" "virlock: prune: $SHARED/$name: symbolic link refused (or too many levels of links); kept: check it with 'virlock inspect $name' and remove it once no one uses that resource"
			;;
		*)
			assert_equal "$status" 65
			assert_equal "$stderr" "virlock: prune: $SHARED/$name: not a lock file or lease of this lockspace; kept: check it with 'virlock inspect $name' and remove it once no one uses that resource"
			;;
		esac
		run --separate-stderr h1 prune
		if [ "$kind" = empty ]; then
			assert_success
			[ ! -e "$SHARED/$name" ]
		else
			assert_failure 65
			[ -e "$SHARED/$name" ] || [ -L "$SHARED/$name" ]
			rm -rf "$SHARED/$name"
		fi
	done
}

@test "init --backend sanlock racing an old handle that makes lock files in a loop: no lock file is left in the sanlock lockspace" {
	local end lockfiles
	LS=$SL_TOP/race-$BATS_TEST_NUMBER
	"$VIRLOCK" -q -L "$LS" init
	stale_start "$LS" -L
	echo go >&4
	# Each init the old handle's lock file of the moment refuses is tried
	# again, until one finds the directory without lock files.
	end=$(($(date +%s) + 30))
	until h1 -q init --backend sanlock --host-id 1 2>/dev/null; do
		[ "$(date +%s)" -lt "$end" ] || fail "no init got through in 30 s"
		[ ! -e "$LS/.backend" ] # a refused init leaves an fcntl lockspace
	done
	read -r ANSWER <&5
	wait "$STALE" || true
	STALE=
	exec 4>&- 5<&-
	assert_equal "$ANSWER" "error -116: the lockspace became a sanlock lockspace after it was opened; open it again"
	lockfiles=$(find "$LS" -maxdepth 1 -regextype posix-extended -regex '.*/[0-9a-f]{32}' | wc -l)
	assert_equal "$lockfiles" 0
	run h1 acquire --literal after -- true
	assert_success
	h1 leave
}
