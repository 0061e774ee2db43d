# SPDX-License-Identifier: LGPL-2.1-or-later
# libvirt_helpers.bash: a private libvirt host (libvirtd, virtlockd, virtlogd) for libvirt.bats.
# shellcheck shell=bash

# The daemons run in a mount namespace of their own, where private
# directories are bound over /etc/libvirt, /run/libvirt, /var/lib/libvirt,
# /var/cache/libvirt and /var/log/libvirt: the host's configuration and any
# libvirt of its own are left alone, and nothing of the test stays behind but
# the empty mount points made where they were missing (/run/libvirt, when no
# libvirt ran since boot), which another file's daemons may still use.
# (libvirtd run as root reads qemu.conf and qemu-lockd.conf from
# /etc/libvirt only, and puts its sockets in /run/libvirt only.) The
# directory is short, for the socket paths virsh connects to.
LV_BOUND="etc/libvirt run/libvirt var/lib/libvirt var/cache/libvirt var/log/libvirt"

# lv_gone PID: the process has ended (a zombie has ended too).
lv_gone() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	stat=${stat##*) }
	[ "${stat%% *}" = Z ]
}

# lv_virsh ARGS...: virsh on the private libvirtd.
lv_virsh() {
	virsh -q -c "qemu:///system?socket=$LV/run/libvirt/libvirt-sock" "$@"
}

# lv_skip_unless_possible: skip the file, saying why, where libvirt cannot run.
lv_skip_unless_possible() {
	[ "$(id -u)" = 0 ] || skip "libvirtd with virtlockd runs as root only"
	local p
	for p in libvirtd virtlockd virtlogd virsh qemu-system-x86_64 qemu-img unshare; do
		command -v "$p" >/dev/null || PATH=$PATH:/usr/sbin command -v "$p" >/dev/null ||
			fail "$p is missing: run 'make deps'"
	done
}

# lv_users: the user and groups libvirt's packages make, if they are missing
# (libvirtd refuses to start without them); qemu.conf runs QEMU as root.
# Test files run at once may both find one missing: whichever makes it
# second is told it exists, which is as good.
lv_users() {
	getent group kvm >/dev/null || groupadd --system kvm || getent group kvm >/dev/null
	getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu ||
		getent group libvirt-qemu >/dev/null
	getent passwd libvirt-qemu >/dev/null ||
		useradd --system --gid libvirt-qemu --groups kvm --home-dir /var/lib/libvirt \
			--shell /usr/sbin/nologin libvirt-qemu ||
		getent passwd libvirt-qemu >/dev/null
}

# lv_config [direct]: the private configuration. QEMU runs as root,
# unconfined, in no cgroup or namespace of libvirt's (a container may not
# allow them); the lockd lock manager puts the disks' locks in $LV/locks, or
# with "direct" (no file_lockspace_dir) on the disk images themselves.
lv_config() {
	local d
	for d in $LV_BOUND; do
		mkdir -p "$LV/$d"
	done
	mkdir -m 0700 "$LV/locks"
	cat >"$LV/etc/libvirt/qemu.conf" <<-EOF
		user = "root"
		group = "root"
		lock_manager = "lockd"
		security_driver = "none"
		cgroup_controllers = [ ]
		namespaces = [ ]
		remember_owner = 0
	EOF
	cat >"$LV/etc/libvirt/qemu-lockd.conf" <<-EOF
		auto_disk_leases = 1
		require_lease_for_disks = 1
	EOF
	[ "${1:-}" = direct ] || echo "file_lockspace_dir = \"$LV/locks\"" >>"$LV/etc/libvirt/qemu-lockd.conf"
	cat >"$LV/etc/libvirt/libvirtd.conf" <<-EOF
		unix_sock_group = "root"
		unix_sock_rw_perms = "0700"
		auth_unix_rw = "none"
		auth_unix_ro = "none"
	EOF
	: >"$LV/etc/libvirt/virtlockd.conf"
	: >"$LV/etc/libvirt/virtlogd.conf"
}

# lv_wait_socket NAME: the daemon's socket $LV/run/libvirt/NAME is there.
lv_wait_socket() {
	wait_for 20 test -S "$LV/run/libvirt/$1" || fail "libvirt: no $1 after 20 s; see $LV/var/log/libvirt"
}

# lv_start: make the mount points the binds need, then start virtlogd,
# virtlockd and libvirtd, each once the one before listens.
lv_start() {
	local d binds=
	for d in $LV_BOUND; do
		mkdir -p "/$d"
	done
	for d in $LV_BOUND; do
		binds="$binds mount --bind '$LV/$d' '/$d' &&"
	done
	PATH=$PATH:/usr/sbin unshare --mount --propagation private sh -c "$binds
		virtlogd -d -p '$LV/virtlogd.pid'" || fail "virtlogd did not start"
	lv_wait_socket virtlogd-sock
	lv_in_ns virtlockd -d -p "$LV/virtlockd.pid"
	lv_wait_socket virtlockd-sock
	lv_in_ns libvirtd -d -p "$LV/libvirtd.pid"
	lv_wait_socket libvirt-sock
	wait_for 20 lv_virsh version >/dev/null || fail "libvirtd does not answer"
}

# lv_in_ns DAEMON ARGS...: start DAEMON in virtlogd's mount namespace, and
# in its root and working directory: entering a mount namespace moves a
# process to that namespace's root, which in a chroot (the fresh root of
# make fresh-root) is not the test's.
lv_in_ns() {
	PATH=$PATH:/usr/sbin nsenter --target "$(cat "$LV/virtlogd.pid")" --mount --root --wd "$@" ||
		fail "$1 did not start"
}

# lv_stop: stop the daemons by pid (virtlockd, which keeps its locks, may need
# SIGKILL), then remove the private directory.
lv_stop() {
	[ -n "${LV:-}" ] && [ -d "$LV" ] || return 0
	local name pid
	for name in libvirtd virtlockd virtlogd; do
		pid=$(cat "$LV/$name.pid" 2>/dev/null) || continue
		kill "$pid" 2>/dev/null
		wait_for 10 lv_gone "$pid" || kill -KILL "$pid" 2>/dev/null
		wait_for 5 lv_gone "$pid"
	done
	rm -rf "$LV"
}

# lv_domain NAME DISK: define the domain NAME, TCG with 32 MiB and no network,
# its one disk the qcow2 image DISK (16 MiB, made here).
lv_domain() {
	qemu-img create -q -f qcow2 "$2" 16M
	cat >"$LV/$1.xml" <<-EOF
		<domain type='qemu'>
		  <name>$1</name>
		  <memory unit='MiB'>32</memory>
		  <vcpu>1</vcpu>
		  <os><type arch='x86_64' machine='pc'>hvm</type></os>
		  <devices>
		    <emulator>$(command -v qemu-system-x86_64)</emulator>
		    <disk type='file' device='disk'>
		      <driver name='qemu' type='qcow2'/>
		      <source file='$2'/>
		      <target dev='vda' bus='virtio'/>
		    </disk>
		  </devices>
		</domain>
	EOF
	lv_virsh define "$LV/$1.xml" >/dev/null
}

# lv_setup_file [direct]: the private libvirt host of a test file, its
# directory in $LV (lv_config says what "direct" changes).
lv_setup_file() {
	lv_skip_unless_possible
	lv_users
	LV=$(mktemp -d /tmp/vl-libvirt.XXXXXX)
	export LV
	lv_config "$@"
	lv_start
}

# lv_setup PREFIX: the test's domain $DOM, PREFIX and the test's number,
# defined with its disk $DISK.
lv_setup() {
	DOM=$1-$BATS_TEST_NUMBER
	DISK=$LV/$DOM.qcow2
	lv_domain "$DOM" "$DISK"
}

# lv_state NAME: the domain's state as virsh says it ("running", "shut off").
lv_state() {
	lv_virsh domstate "$1"
}

# lv_drop NAME: destroy the domain if it runs, and undefine it.
lv_drop() {
	[ "$(lv_state "$1" 2>/dev/null)" != running ] || lv_virsh destroy "$1" >/dev/null
	lv_virsh undefine "$1" >/dev/null 2>&1 || true
}
