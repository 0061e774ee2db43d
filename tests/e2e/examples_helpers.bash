# SPDX-License-Identifier: LGPL-2.1-or-later
# examples_helpers.bash: the stage on which the EXAMPLES of virlock(1) run as
# written: `virlock` on PATH, stand-ins for qemu-system-x86_64, qemu-img and a
# daemon, and test directories in place of /srv and /run.
# shellcheck shell=bash

# examples_setup: call from setup() after common_setup. Makes $BIN (first on
# PATH) with virlock and the stand-ins, $IMAGES (for /srv/images), $DATA (for
# /srv/data), $BACKUP (for /srv/backup), $RUN (for /run), and $FAKE, where the
# stand-ins report: qemu-system-x86_64 -name N writes N.args (its arguments,
# one a line), a line "start PID" to N.log and then N.pid, and runs until
# N.stop exists or it gets SIGTERM, when it writes "end PID" to N.log;
# qemu-img writes qemu-img.args; mydaemon --pidfile F starts a daemon (a
# sleep in its own session) and writes its pid to F before it exits.
examples_setup() {
	BIN=$BATS_TEST_TMPDIR/bin
	IMAGES=$BATS_TEST_TMPDIR/srv/images
	DATA=$BATS_TEST_TMPDIR/srv/data
	BACKUP=$BATS_TEST_TMPDIR/srv/backup
	RUN=$BATS_TEST_TMPDIR/run
	FAKE=$BATS_TEST_TMPDIR/fake
	mkdir -p "$BIN" "$IMAGES" "$DATA" "$BACKUP" "$RUN" "$FAKE"
	export FAKE PATH="$BIN:$PATH"
	printf '#!/bin/sh\nexec %q "$@"\n' "$VIRLOCK" >"$BIN/virlock"
	# The name alone, like QEMU's, so that pgrep -xf 'qemu-system-x86_64 -name N .*' finds it.
	cat >"$BIN/qemu-system-x86_64" <<'EOF'
#!/usr/bin/perl
use strict;
my @args = @ARGV;
my ($name) = map { $args[$_ + 1] } grep { $args[$_] eq '-name' } 0 .. $#args - 1;
die "qemu-system-x86_64: no -name\n" unless defined $name;
$0 = join(' ', 'qemu-system-x86_64', @args);
my $f = "$ENV{FAKE}/$name";
sub logline { open(my $o, '>>', "$f.log") or die "$f.log: $!"; print $o "$_[0] $$\n"; close($o); }
$SIG{TERM} = sub { logline('end'); exit 0 };
sub put { my ($file, $text) = @_; open(my $o, '>', "$file.tmp") or die "$file: $!"; print $o $text; close($o); rename("$file.tmp", $file) or die "$file: $!"; }
put("$f.args", join('', map { "$_\n" } @args));
logline('start');
put("$f.pid", "$$\n");
select(undef, undef, undef, 0.02) until -e "$f.stop";
logline('end');
exit 0;
EOF
	cat >"$BIN/qemu-img" <<'EOF'
#!/bin/sh
printf '%s\n' "$@" >"$FAKE/qemu-img.args"
EOF
	cat >"$BIN/mydaemon" <<'EOF'
#!/bin/sh
# mydaemon --pidfile FILE: daemonize, as daemons do: the daemon runs on in its
# own session, with its pid in FILE, once this first process exits.
[ "$1" = --pidfile ] && [ -n "$2" ] || { echo "usage: mydaemon --pidfile FILE" >&2; exit 64; }
setsid sleep 1000 </dev/null >/dev/null 2>&1 3>&- &
echo $! >"$2.tmp" && mv "$2.tmp" "$2"
EOF
	chmod +x "$BIN"/*
}

# vm_start_script: the vm-start wrapper of the first example, as written, in $BIN.
vm_start_script() {
	cat >"$BIN/vm-start" <<'EOF'
#!/bin/bash
# vm-start NAME DISK...: run VM NAME with all its disks locked.
set -eu
name=$1
shift
drives=()
for disk in "$@"; do
    drives+=(-drive "file=$disk,if=virtio")
done
exec virlock acquire --owner "$name" "$@" -- \
    qemu-system-x86_64 -name "$name" -m 2048 -nographic \
    "${drives[@]}"
EOF
	chmod +x "$BIN/vm-start"
}

# vm_running NAME: the stand-in QEMU named NAME runs; its pid is in $FAKE/NAME.pid.
vm_running() {
	[ -s "$FAKE/$1.pid" ] && kill -0 "$(cat "$FAKE/$1.pid")" 2>/dev/null
}

# vm_stop NAME: let the stand-in QEMU named NAME end.
vm_stop() {
	touch "$FAKE/$1.stop"
}

# exited PID: the process PID has ended (a zombie counts as ended).
exited() {
	[ ! -e "/proc/$1" ] || [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" = Z ]
}

# inspect_shows_waiter RESOURCE PID: inspect lists PID among RESOURCE's waiters.
inspect_shows_waiter() {
	"$VIRLOCK" -L "$LS" inspect "$1" | grep -Eq "^waiters: +([0-9]+, *)*$2(,|\$)"
}

# examples_teardown: end the stand-ins and the holders the test left.
examples_teardown() {
	local f p
	for f in "$FAKE"/*.pid; do
		[ -e "$f" ] || continue
		kill -TERM "$(cat "$f")" 2>/dev/null || true
	done
	for f in "$RUN"/*.pid; do
		[ -e "$f" ] || continue
		kill -TERM "$(cat "$f")" 2>/dev/null || true
	done
	for p in "${EX_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	if [ -d "$LS" ]; then
		for p in $(holder_pids); do
			if is_virlock "$p"; then
				kill -TERM "$p" 2>/dev/null || true
			fi
		done
	fi
	for p in "${EX_PIDS[@]}"; do
		wait_for 10 exited "$p" || kill -KILL "$p" 2>/dev/null || true
	done
	EX_PIDS=()
}

EX_PIDS=()
