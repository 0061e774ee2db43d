# SPDX-License-Identifier: LGPL-2.1-or-later
# qemu_helpers.bash: a real QEMU holding a disk image, for the tests of what virlock sees of it.
# shellcheck shell=bash
# shellcheck disable=SC2154 # BG is set by list_setup (list_helpers.bash)

# qmp_greets SOCKET: QEMU's monitor says hello, which it does only once every
# -drive is open and locked.
qmp_greets() {
	perl -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or exit 1;
		local $SIG{ALRM} = sub { exit 1 }; alarm 5;
		my $l = <$s>; exit(defined $l && $l =~ /"QMP"/ ? 0 : 1)' "$1" 2>/dev/null
}

# start_qemu ID IMAGE [DRIVE-OPTIONS]: a QEMU with IMAGE as a drive, in the
# background until teardown; returns once its image locks are taken.
start_qemu() {
	local id=$1 img=$2 opts=${3:+,$3}
	bg_start "$id" "$BG/$id.log" qemu-system-x86_64 -machine none -nographic -monitor none -serial none \
		-qmp "unix:$BG/$id.qmp,server=on,wait=off" -drive "file=$img,if=none$opts"
	wait_for 10 qmp_greets "$BG/$id.qmp" || {
		echo "# qemu $id did not start: $(cat "$BG/$id.err")" >&2
		return 1
	}
}
