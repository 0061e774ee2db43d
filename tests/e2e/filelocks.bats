#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# filelocks.bats: virlock inspect names every lock on the image itself: real QEMU, qemu-img, flock(1), fcntl holders.
# shellcheck disable=SC2016 # jq programs take their $variables as they are

load helpers
load list_helpers
load qemu_helpers

setup() {
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed (make deps)"
	common_setup
	list_setup
	IMG=$WORK/disk.qcow2
	qemu-img create -q -f qcow2 "$IMG" 16M
	INO=$(stat -c %i "$IMG")
	PUBLIC=
}

teardown() {
	stop_all
	stop_holders
	[ -z "$PUBLIC" ] || rm -rf "$PUBLIC"
}

# decoded: what the OFD locks on $IMG in /proc/locks mean, in inspect's words,
# from the bytes alone: 100+n held, 200+n not shared (n as in QEMU's BLK_PERM_*).
decoded() {
	local words=(consistent-read write write-unchanged resize) held=() unshared=() s e b n
	local -A bytes=()
	while read -r s e; do
		for ((b = s; b <= e; b++)); do bytes[$b]=1; done
	done < <(awk -v ino=":$INO\$" '$2 == "OFDLCK" && $6 ~ ino { print $7, $8 }' /proc/locks)
	for n in 0 1 2 3; do
		[ -z "${bytes[$((100 + n))]:-}" ] || held+=("${words[n]}")
		[ -z "${bytes[$((200 + n))]:-}" ] || unshared+=("${words[n]}")
	done
	local IFS=,
	s="holds ${held[*]:-nothing}"
	[ "${#unshared[@]}" -eq 0 ] || s="$s; does not share ${unshared[*]}"
	echo "${s//,/, }"
}

# file_lock PID: the "file locks:" line of $output for PID, without its indent.
file_lock() {
	local line
	for line in "${lines[@]}"; do
		if [[ $line == *" (pid $1) "* ]]; then
			echo "${line#  }"
			return 0
		fi
	done
	return 1
}

@test "inspect decodes a read-write QEMU's image locks, as its bytes and its own error say" {
	start_qemu q1 "$IMG"
	local q1
	q1=$(pid_of q1)
	# The bytes this QEMU locks: 100+n for each permission n it holds, 200+n for each it does not share.
	run awk -v ino=":$INO\$" '$2 == "OFDLCK" && $6 ~ ino { print $7 "-" $8 }' /proc/locks
	assert_equal "$(sort -n <<<"$output" | tr '\n' ' ')" "100-101 103-103 201-201 203-203 "
	run "$VIRLOCK" --direct inspect "$IMG"
	assert_success
	assert_line "file locks: 1"
	assert_equal "$(file_lock "$q1")" \
		"qemu-system-x86 (pid $q1) holds consistent-read, write, resize; does not share write, resize"
	assert_equal "$(file_lock "$q1")" "qemu-system-x86 (pid $q1) $(decoded)"
	# A second QEMU wants write, which the first does not share.
	run qemu-system-x86_64 -machine none -nographic -monitor none -serial none -drive "file=$IMG,if=none"
	assert_failure
	assert_output --partial 'Failed to get "write" lock'
	# The same in a lockspace, where nothing holds the lock file (told to go past the image check).
	run vl acquire --no-image-check "$IMG" -- "$VIRLOCK" -L "$LS" inspect "$IMG"
	assert_success
	assert_line "state:     exclusive"
	assert_equal "$(file_lock "$q1")" "qemu-system-x86 (pid $q1) $(decoded)"
}

@test "qemu-img fails next to a running QEMU, and inspect names that QEMU" {
	start_qemu q1 "$IMG"
	run qemu-img info "$IMG"
	assert_failure
	assert_output --partial 'Failed to get shared "write" lock'
	run qemu-img check "$IMG"
	assert_failure
	assert_output --partial 'Failed to get shared "write" lock'
	run "$VIRLOCK" --direct inspect "$IMG"
	assert_success
	# QEMU's word for what it does not share is among the words inspect prints.
	[[ $(file_lock "$(pid_of q1)") == *"; does not share write"* ]]
}

@test "inspect decodes a QEMU with readonly=on, and qemu-img reads next to it" {
	start_qemu r1 "$IMG" readonly=on
	run "$VIRLOCK" --direct inspect "$IMG"
	assert_success
	assert_equal "$(file_lock "$(pid_of r1)")" \
		"qemu-system-x86 (pid $(pid_of r1)) holds consistent-read; does not share write, resize"
	assert_equal "$(file_lock "$(pid_of r1)")" "qemu-system-x86 (pid $(pid_of r1)) $(decoded)"
	run qemu-img info "$IMG"
	assert_success
	# A writer is refused: the readonly QEMU does not share write.
	run qemu-system-x86_64 -machine none -nographic -monitor none -serial none -drive "file=$IMG,if=none"
	assert_failure
	assert_output --partial 'Failed to get "write" lock'
}

# flock_shows PID: /proc/PID/fdinfo shows its flock(2) lock on $IMG.
flock_shows() {
	grep -qs "FLOCK .*:$INO " "/proc/$1/fdinfo/"*
}

# start_flock ID MODE-OPTION: flock(1) holds $IMG (its command in its place: --no-fork).
start_flock() {
	bg_start "$1" /dev/null flock "$2" --no-fork "$IMG" sleep 600
	wait_for 10 flock_shows "$(pid_of "$1")"
}

@test "inspect names flock(1) holding the image, exclusive and shared" {
	start_flock f1 -x
	run "$VIRLOCK" --direct inspect "$IMG"
	assert_success
	assert_equal "$(file_lock "$(pid_of f1)")" "sleep (pid $(pid_of f1)) flock exclusive"
	run unhold f1 # sleep dies of the SIGTERM: 143
	start_flock f2 -s
	start_flock f3 -s
	run "$VIRLOCK" --direct inspect "$IMG"
	assert_success
	assert_line "file locks: 2"
	assert_equal "$(file_lock "$(pid_of f2)")" "sleep (pid $(pid_of f2)) flock shared"
	assert_equal "$(file_lock "$(pid_of f3)")" "sleep (pid $(pid_of f3)) flock shared"
	run "$VIRLOCK" --direct inspect -J "$IMG"
	assert_success
	jq -e --argjson p "$(pid_of f2)" '.file_locks[] | select(.pid == $p) |
		.type == "flock" and .mode == "shared" and .command == "sleep" and
		.ranges == [{"start": 0, "end": null, "mode": "shared"}] and
		.qemu_perms == null and .qemu_unshared == null' <<<"$output"
}

@test "inspect names a POSIX byte-0 holder and an OFD holder with their ranges" {
	hold_raw p1 "$IMG"
	run "$VIRLOCK" --direct inspect "$IMG"
	assert_success
	assert_line "state:     exclusive"
	assert_equal "$(file_lock "$(pid_of p1)")" "lockhold (pid $(pid_of p1)) posix exclusive bytes 0-0"
	unhold p1
	hold_raw p2 -s "$IMG"
	hold_raw o1 -O -s "$IMG"
	run "$VIRLOCK" --direct inspect "$IMG"
	assert_success
	assert_equal "$(file_lock "$(pid_of p2)")" "lockhold (pid $(pid_of p2)) posix shared bytes 0-0"
	assert_equal "$(file_lock "$(pid_of o1)")" "lockhold (pid $(pid_of o1)) ofd shared bytes 0-0"
	run "$VIRLOCK" --direct inspect -J "$IMG"
	assert_success
	jq -e --argjson p "$(pid_of o1)" '.file_locks[] | select(.pid == $p) |
		.type == "ofd" and .mode == "shared" and .ranges == [{"start": 0, "end": 0, "mode": "shared"}] and
		.qemu_perms == null' <<<"$output"
}

@test "direct mode: virlock's own byte-0 lock shows next to QEMU's" {
	start_qemu q1 "$IMG"
	# The supervisor's command is virlock, or valgrind's tool under valgrind.
	run "$VIRLOCK" --direct acquire --no-image-check "$IMG" -- \
		sh -c 'echo "sup $PPID $(cat /proc/$PPID/comm)"; exec "$0" --direct inspect -J "$1"' "$VIRLOCK" "$IMG"
	assert_success
	local sup comm q1 json
	read -r sup comm < <(sed -n 's/^sup //p' <<<"$output")
	json=$(sed '/^sup /d' <<<"$output")
	q1=$(pid_of q1)
	jq -e --argjson s "$sup" '.state == "exclusive" and .holders[0].pid == $s' <<<"$json"
	jq -e --argjson s "$sup" --arg c "$comm" '.file_locks[] | select(.pid == $s) |
		.type == "posix" and .mode == "exclusive" and .command == $c and
		.ranges == [{"start": 0, "end": 0, "mode": "exclusive"}]' <<<"$json"
	jq -e --argjson q "$q1" '.file_locks[] | select(.pid == $q) |
		.type == "ofd" and .mode == "shared" and .command == "qemu-system-x86" and
		.qemu_perms == ["consistent-read", "write", "resize"] and .qemu_unshared == ["write", "resize"] and
		([.ranges[] | "\(.start)-\(.end)"] == ["100-101", "103-103", "201-201", "203-203"])' <<<"$json"
}

@test "lockspace mode: -J gives file_locks, by path and by name; a literal has none" {
	hold_raw p1 "$IMG"
	run vl acquire --no-image-check -s "$IMG" -- "$VIRLOCK" -L "$LS" inspect -J "$IMG"
	assert_success
	# The lock file's lock is not on the image: only lockhold's is.
	jq -e --argjson p "$(pid_of p1)" '.state == "shared" and (.file_locks | length) == 1 and
		.file_locks[0].pid == $p and (.file_locks_incomplete | type) == "boolean"' <<<"$output"
	run vl acquire --literal lease1 -- "$VIRLOCK" -L "$LS" inspect -J --literal lease1
	assert_success
	jq -e '.file_locks == null and .file_locks_incomplete == null' <<<"$output"
	run vl acquire --literal lease1 -- "$VIRLOCK" -L "$LS" inspect --literal lease1
	assert_success
	refute_output --partial "file locks:"
	# A name stands for the path its lock file records.
	run vl inspect -J "$(name_of "$IMG")"
	assert_success
	jq -e --argjson p "$(pid_of p1)" '[.file_locks[].pid] == [$p]' <<<"$output"
}

@test "a user who cannot read root's processes is told the list may be incomplete" {
	under_valgrind && skip "valgrind's logs are root's"
	PUBLIC=$(mktemp -d /tmp/virlock-filelocks.XXXXXX)
	chmod 755 "$PUBLIC"
	IMG=$PUBLIC/disk.qcow2
	qemu-img create -q -f qcow2 "$IMG" 16M
	chmod 644 "$IMG"
	INO=$(stat -c %i "$IMG")
	start_qemu q1 "$IMG"
	run setpriv --reuid=nobody --regid=nogroup --clear-groups "$VIRLOCK" --direct inspect "$IMG"
	assert_success
	assert_line "file locks: none visible"
	assert_line --regexp '^  \(the list may be incomplete: [0-9]+ process(es)? could not be read; root sees more\)$'
	run setpriv --reuid=nobody --regid=nogroup --clear-groups "$VIRLOCK" --direct inspect -J "$IMG"
	assert_success
	jq -e '.file_locks == [] and .file_locks_incomplete == true' <<<"$output"
	# Root sees the QEMU.
	run "$VIRLOCK" --direct inspect "$IMG"
	assert_equal "$(file_lock "$(pid_of q1)")" "qemu-system-x86 (pid $(pid_of q1)) $(decoded)"
}

@test "a file nobody locks has no file locks, and the answer is complete" {
	run "$VIRLOCK" --direct inspect "$IMG"
	assert_success
	assert_line "file locks: none"
	refute_output --partial "incomplete"
	run "$VIRLOCK" --direct inspect -J "$IMG"
	jq -e '.file_locks == [] and .file_locks_incomplete == false' <<<"$output"
}

@test "list -o FILELOCKS names the processes that lock each image itself; a plain list never looks" {
	start_qemu q1 "$IMG"
	touch "$WORK/other.img"
	vl acquire --no-image-check -o vm "$IMG" "$WORK/other.img" 3>&-
	run vl list -r -n -o PATH,FILELOCKS
	assert_success
	assert_line "$IMG qemu-system-x86[$(pid_of q1)]"
	assert_line "$WORK/other.img -"
	run vl list -J -o PATH,FILELOCKS
	jq -e --arg img "$IMG" --arg q "qemu-system-x86[$(pid_of q1)]" --arg other "$WORK/other.img" \
		'(.locks[] | select(.path == $img) | .filelocks) == $q and
		(.locks[] | select(.path == $other) | .filelocks) == null' <<<"$output"
	# Without the column, the images are not even opened.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -e trace=openat \
		-o "$BATS_TEST_TMPDIR/trace" "$VIRLOCK" -L "$LS" list -a >/dev/null
	run grep -c -e "\"$IMG\"" -e '/proc/locks' "$BATS_TEST_TMPDIR/trace"
	assert_output 0
	vl release --owner vm
}

@test "an image nothing has locked through virlock, but a QEMU uses: inspect reports it, free, with no lock file" {
	start_qemu q1 "$IMG"
	local q1
	q1=$(pid_of q1)
	# No lockspace at all yet, then one without the image's lock file.
	for step in none empty; do
		[ "$step" = none ] || vl acquire --literal other -- true
		run vl inspect "$IMG"
		assert_success
		assert_line "lock file: none (no lock file of it here)"
		assert_line "state:     free"
		assert_line "  qemu-system-x86 (pid $q1) $(decoded)"
	done
	run vl inspect -J "$IMG"
	assert_success
	jq -e --argjson q "$q1" '.lockfile == null and .integrity == null and .state == "free" and
		(.file_locks | map(.pid) | index($q)) != null' <<<"$output"
	# Nobody locks it any more: nothing to tell, as before.
	stop_all
	run vl inspect "$IMG"
	assert_failure 66
	assert_output --partial "$IMG: no lock file in "
}
