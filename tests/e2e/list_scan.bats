#!/usr/bin/env bats
# SPDX-License-Identifier: LGPL-2.1-or-later
# list_scan.bats: virlock list -a over thousands of lock files, walked on several threads, against one thread and the kernel.

load helpers
load list_helpers

setup() {
	common_setup
	list_setup
	# 2,000 lock files (the walk takes several threads from 512 on), made
	# by an acquire that lets them go again.
	mapfile -t RES < <(seq -f 'r%g' 0 1999)
	vl acquire --literal "${RES[@]}" -- true
}

teardown() {
	stop_all
	stop_holders
}

# scan_rows THREADS FILE [LIST OPTIONS]: list -a -r -n with LOCKSPACE_SCAN_THREADS=THREADS into FILE.
scan_rows() {
	local threads=$1 file=$2
	shift 2
	LOCKSPACE_SCAN_THREADS=$threads vl list -a -r -n -o NAME,MODE,PID,PATH,STATUS "$@" >"$file"
}

@test "list -a over 2,000 lock files: the same rows on one thread and on several, as the kernel sees them" {
	local i name
	for i in 5 700 1500; do
		corrupt_lockfile "$(name_of --literal "r$i")" "/elsewhere/$i"
	done
	hold x1 -l -R r10 r11 r12 r1999
	hold s1 -l -R -s r20 r21
	hold s2 -l -R -s r20 r21
	name=$(name_of --literal r1000)
	hold_raw raw "$LS/$name"
	scan_rows 1 "$WORK/one"
	scan_rows 2 "$WORK/two"
	scan_rows 4 "$WORK/four"
	scan_rows "" "$WORK/default"
	# One row a file, two for each file two processes share.
	[ "$(wc -l <"$WORK/one")" -eq 2002 ]
	cmp "$WORK/one" "$WORK/two"
	cmp "$WORK/one" "$WORK/four"
	cmp "$WORK/one" "$WORK/default"
	LOCKSPACE_SCAN_THREADS=1 vl list -a -J >"$WORK/one.json"
	vl list -a -J >"$WORK/default.json"
	cmp "$WORK/one.json" "$WORK/default.json"

	# Against the kernel: every held file, its mode and its holders, as /proc/locks shows them.
	awk '$2 != "free" { print $1, $2, $3 }' "$WORK/default" | sort >"$WORK/held"
	(cd "$LS" && stat -c '%i %n' -- *) >"$WORK/inodes"
	awk 'NR == FNR { name[$1] = $2; next }
		$2 == "POSIX" { n = split($6, id, ":"); if (id[n] in name)
			print name[id[n]], ($4 == "READ" ? "shared" : "exclusive"), $5 }' \
		"$WORK/inodes" /proc/locks | sort >"$WORK/kernel"
	diff "$WORK/kernel" "$WORK/held"
	[ "$(wc -l <"$WORK/held")" -eq 9 ]
	grep -qx "$name exclusive $(pid_of raw) r1000 norecord" "$WORK/default" || {
		grep "^$name" "$WORK/default"
		false
	}
	# And the corrupt files, free.
	[ "$(awk '$5 == "corrupt" && $2 == "free"' "$WORK/default" | wc -l)" -eq 3 ]
	grep -q " /elsewhere/700 corrupt$" "$WORK/default"
}

@test "list -a of a lockspace that shrinks and grows while it is walked lists each file that stays, once" {
	local i
	# A prune that removes the free files races the walk: a file is listed or not, never twice, and the walk never fails.
	hold x1 -l r3 r1998
	bg_start pruner "$WORK/pruner.out" "$VIRLOCK" -L "$LS" prune
	scan_rows 4 "$WORK/during"
	wait "$(pid_of pruner)"
	rm -f "$BG/pruner.pid"
	[ "$(sort "$WORK/during" | uniq -d | wc -l)" -eq 0 ]
	grep -q "^$(name_of --literal r3) exclusive " "$WORK/during"
	grep -q "^$(name_of --literal r1998) exclusive " "$WORK/during"
	scan_rows 4 "$WORK/after"
	[ "$(wc -l <"$WORK/after")" -eq 2 ]
	# The files made again are all there.
	vl acquire --literal "${RES[@]:500:1000}" -- true
	scan_rows 4 "$WORK/again"
	[ "$(wc -l <"$WORK/again")" -eq 1002 ]
	for i in 500 1499; do
		grep -q "^$(name_of --literal "r$i") free - r$i ok$" "$WORK/again"
	done
}
