# SPDX-License-Identifier: LGPL-2.1-or-later
# helpers.bash: common set-up of the end-to-end tests; each test gets its own lockspace.
# shellcheck shell=bash

bats_load_library bats-support
bats_load_library bats-assert

VIRLOCK=${VIRLOCK:-$BATS_TEST_DIRNAME/../../build/virlock}
HELPERS=${HELPERS:-$(dirname "$VIRLOCK")/tests/helpers}
# tests/valgrind-virlock runs virlock under valgrind's memcheck: slower, named
# memcheck-amd64- in /proc/PID/comm; the few tests it makes meaningless skip.
if [ "${VIRLOCK##*/}" = valgrind-virlock ]; then
	export VIRLOCK_UNDER_VALGRIND=1
fi

common_setup() {
	LS=$BATS_TEST_TMPDIR/ls
	export VIRLOCK_LOCKSPACE=$LS
	WORK=$BATS_TEST_TMPDIR/work
	mkdir -p "$WORK"
}

# vl ARGS...: run virlock on the test's lockspace.
vl() {
	"$VIRLOCK" -L "$LS" "$@"
}

# wait_for DEADLINE_SECONDS COMMAND...: poll COMMAND until it succeeds or the
# deadline passes (for states no pipe can announce, e.g. a process's death).
wait_for() {
	local deadline=$(($(date +%s%N) + $1 * 1000000000))
	shift
	until "$@"; do
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		sleep 0.01
	done
}

# holder_listening PID: the holder PID (a supervisor or a detached holder)
# accepts connections on its control socket in $LS, so that its record and
# owner label are in place too (it writes them first). A supervisor publishes
# them while its command starts: wait for this before looking for them.
holder_listening() {
	local addr
	addr=$(control_addr "$1") || return 1
	perl -MIO::Socket::UNIX -e '(my $a = $ARGV[0]) =~ s/^@/\0/;
		IO::Socket::UNIX->new(Peer => $a) or exit 1' "$addr" 2>/dev/null
}

# record_control FILE: the address that the holder record FILE publishes
# (virlock-lockspace(5)): @ and its abstract name (a client puts a NUL byte
# for the @); nothing for a holder on its socket file.
record_control() {
	sed -n 's/^control //p' "$1" 2>/dev/null
}

# control_addr PID: the address holder PID listens on in $LS: the abstract
# name its record gives, or the file <pid>.sock (in a sanlock lockspace, in
# this host's directory .holders/hN/).
control_addr() {
	local dir name
	for dir in "$LS/.holders" "$LS"/.holders/h*; do
		if [ -S "$dir/$1.sock" ]; then
			echo "$dir/$1.sock"
			return 0
		fi
		name=$(record_control "$dir/$1")
		if [ -n "$name" ]; then
			echo "$name"
			return 0
		fi
	done
	return 1
}

# under_valgrind: virlock runs under valgrind (tests/valgrind-virlock).
under_valgrind() {
	[ "${VIRLOCK_UNDER_VALGRIND:-0}" = 1 ]
}

# is_virlock PID: PID is a virlock process (run directly, or by valgrind).
is_virlock() {
	local comm
	comm=$(cat "/proc/$1/comm" 2>/dev/null) || return 1
	case $comm in
	virlock) return 0 ;;
	memcheck-*) tr '\0' '\n' 2>/dev/null <"/proc/$1/cmdline" | grep -q '/virlock$' ;;
	*) return 1 ;;
	esac
}

# virlock_comm PID: the command name that list and inspect show for the
# virlock process PID: virlock, or under valgrind the name of valgrind's tool.
virlock_comm() {
	if under_valgrind; then
		cat "/proc/$1/comm"
	else
		echo virlock
	fi
}

# virlock_pids: the pids of every running virlock process.
virlock_pids() {
	local p
	pgrep -x virlock
	for p in $(pgrep '^memcheck-'); do
		is_virlock "$p" && echo "$p"
	done
	return 0
}

# alternating LOG: every "start PID" line of LOG is followed by "end PID" of
# the same PID before the next start: no two holders ever overlapped.
alternating() {
	awk '
		NR % 2 == 1 && $1 != "start" { print "line " NR ": " $0 " (want a start)"; bad = 1; exit }
		NR % 2 == 1 { pid = $2 }
		NR % 2 == 0 && ($1 != "end" || $2 != pid) { print "line " NR ": " $0 " (want end " pid ")"; bad = 1; exit }
		END { if (!bad && NR % 2) { print "odd line count " NR; bad = 1 } exit bad }
	' "$1"
}

# holder_pids: the pids of the holders listening in the test lockspace (on
# the abstract names their records give, or on socket files, in a sanlock lockspace's host
# directories too).
holder_pids() {
	local s r name listening
	# Listening sockets (flag __SO_ACCEPTCON) on abstract names.
	listening=$(awk '$4 == "00010000" && index($8, "@virlock/") == 1 { print $8 }' /proc/net/unix)
	{
		for s in "$LS"/.holders/*.sock "$LS"/.holders/h*/*.sock; do
			[ -e "$s" ] || continue
			s=${s##*/}
			echo "${s%.sock}"
		done
		# Records that name one of them.
		for r in "$LS"/.holders/[0-9]* "$LS"/.holders/h*/[0-9]*; do
			[ -f "$r" ] || continue
			name=$(record_control "$r")
			if [ -n "$name" ] && grep -qxF -- "$name" <<<"$listening"; then
				echo "${r##*/}"
			fi
		done
	} | sort -un
}

# is_free RESOURCE... / is_busy RESOURCE...: probe with a fresh supervisor.
is_free() {
	"$VIRLOCK" -L "$LS" acquire -n "$@" -- true 3>&-
}

is_busy() {
	local rc=0
	"$VIRLOCK" -L "$LS" acquire -n "$@" -- true 2>/dev/null 3>&- || rc=$?
	[ "$rc" -eq 75 ]
}
