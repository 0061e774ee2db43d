#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# fresh-root.sh: the README's quick start on a machine that has nothing.
# Usage: tests/fresh-root.sh [COMMIT] (default HEAD; make fresh-root)
#
# Builds a minimal Debian 12 root with mmdebstrap (--variant=minbase, plus
# git, make, sudo and ca-certificates), enters it with chroot (/proc, /dev,
# /dev/pts, /dev/shm and /sys bind-mounted, a fresh /run, /etc/resolv.conf
# copied; all unmounted when it ends, failed or not), puts a clean git clone
# of COMMIT in /root/virlock (a 0700 directory: no test may depend on where
# the checkout lives) and runs the README's two commands there, each once,
# exactly as the README writes them. Everything they print comes
# through; the last line is the one of `make deps check`, "N passed, N failed".
# Exits non-zero when either command fails.
#
# The packages come from this machine's own Debian mirror (the deb.debian.org
# or other Debian entries of /etc/apt/sources.list*). The bare root, before
# any `make deps`, is kept as a tarball in $VIRLOCK_CI_CACHE (default
# /var/cache/virlock-ci), named by the mirror, the suite and the packages, and
# rebuilt when older than a week; installed packages are never kept. Needs root.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
commit=$(git -C "$top" rev-parse --verify "${1:-HEAD}^{commit}")
suite=bookworm
include=git,make,sudo,ca-certificates
cache=${VIRLOCK_CI_CACHE:-/var/cache/virlock-ci}
say() { printf 'fresh-root: %s\n' "$*" >&2; }

[ "$(id -u)" -eq 0 ] || {
	say "needs root (mmdebstrap, chroot and mounts)"
	exit 1
}
command -v mmdebstrap >/dev/null || {
	say "mmdebstrap is not installed; run 'make deps'"
	exit 1
}

# debian_sources: one "deb URI SUITE COMPONENTS" line per Debian suite this
# machine's apt uses (one-line and deb822 files), the Debian archive's own
# entries only: no third-party repository goes into the root.
debian_sources() {
	{
		cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) while ($i !~ /\]$/) i++; if ($2 ~ /^\[/) i++;
				line = "deb " $i; for (j = i + 1; j <= NF; j++) line = line " " $j; print line }' || true
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -e "$f" ] || continue
			awk 'function flush() { if (types ~ /(^| )deb( |$)/) { n = split(suites, s, " ");
					m = split(uris, u, " "); for (a = 1; a <= m; a++) for (b = 1; b <= n; b++)
					print "deb " u[a] " " s[b] " " comps }; types = uris = suites = comps = "" }
				/^[ \t]*$/ { flush(); next }
				/^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
				/^URIs:/ { sub(/^URIs:[ \t]*/, ""); uris = $0 }
				/^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
				/^Components:/ { sub(/^Components:[ \t]*/, ""); comps = $0 }
				END { flush() }' "$f"
		done
	} | awk -v suite="$suite" '$2 ~ /\/debian(-security)?\/?$/ && $3 ~ ("^" suite "(-updates|-security)?$")' | sort -u
}

mapfile -t sources < <(debian_sources)
if [ "${#sources[@]}" -eq 0 ]; then
	say "no Debian $suite entry in /etc/apt/sources.list*: cannot tell which mirror to use"
	exit 1
fi
key=$(printf '%s\n' "$suite" minbase "$include" "${sources[@]}" | sha256sum | cut -c1-16)
tarball=$cache/$suite-minbase-$key.tar
mkdir -p "$cache"
if [ -f "$tarball" ] && [ -z "$(find "$tarball" -mtime +7)" ]; then
	say "bare root: $tarball (cached)"
else
	rm -f "$cache/$suite-minbase-"*.tar
	say "building a bare $suite root with mmdebstrap from: ${sources[*]}"
	t0=$(date +%s)
	mmdebstrap --quiet --format=tar --variant=minbase --include="$include" "$suite" "$tarball.new" "${sources[@]}"
	mv "$tarball.new" "$tarball"
	say "mmdebstrap took $(($(date +%s) - t0)) s, $(du -m "$tarball" | cut -f1) MB"
fi

root=$(mktemp -d /var/tmp/virlock-fresh-root.XXXXXX)
mounted=()
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	local i p rc=$?
	# Whatever the run left running in the root (a daemon a test did not
	# stop) would keep its mounts busy.
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" != "$root" ] || kill -KILL "${p#/proc/}" 2>/dev/null || true
	done
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" || true
	done
	# Only once nothing is mounted in it.
	if ! grep -qF -e " $root " -e " $root/" /proc/mounts; then
		rm -rf --one-file-system "$root"
	else
		say "left $root: something is still mounted in it"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
tar -xf "$tarball" -C "$root" --numeric-owner
# The root is a mount point of its own, as / is on a machine: tests make
# their mounts private (unshare --propagation private), which needs one.
mount --bind "$root" "$root"
mounted+=("$root")
mount --make-private "$root"
for m in proc sys dev dev/pts dev/shm; do
	[ -d "/$m" ] || continue
	mkdir -p "$root/$m"
	mount --bind "/$m" "$root/$m"
	mounted+=("$root/$m")
	# Nothing mounted below it afterwards reaches the host's tree.
	mount --make-rslave "$root/$m"
done
# Fresh, empty /run and /tmp, as a booted machine has.
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$root/run"
mounted+=("$root/run")
chmod 1777 "$root/tmp"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"

src=$root/root/virlock
git clone --quiet --no-local --no-checkout "$top" "$src"
git -C "$src" checkout --quiet --detach "$commit"
chmod 0700 "$root/root"
say "clean clone of $commit in /root/virlock (under a 0700 /root)"

# in_root CMD: run the shell command CMD in the root, in the clone, as a
# fresh login of root would: a clean environment.
in_root() {
	chroot "$root" /usr/bin/env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM=dumb \
		LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/bash -c "cd /root/virlock && $1"
}

rc=0
for cmd in "make deps demo" "make deps check"; do
	say "# $cmd"
	t0=$(date +%s)
	status=ok
	in_root "$cmd" || status=FAILED
	say "$cmd: $status in $(($(date +%s) - t0)) s"
	if [ "$status" != ok ]; then
		rc=1
		break
	fi
done
exit "$rc"
