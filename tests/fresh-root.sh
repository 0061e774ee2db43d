#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# fresh-root.sh: the README's quick start, the release tarball and the Debian packages on a machine that has nothing.
# Usage: tests/fresh-root.sh [COMMIT] (default HEAD; make fresh-root)
#
# Builds a minimal Debian 12 root with mmdebstrap (--variant=minbase, plus
# git, make, sudo and ca-certificates), enters it with chroot (/proc, /dev,
# /dev/pts, /dev/shm and /sys bind-mounted, a fresh /run, /etc/resolv.conf
# copied; all unmounted when it ends, failed or not), puts a clean git clone
# of COMMIT in /root/virlock (a 0700 directory: no test may depend on where
# the checkout lives), and there, in order:
# 1. on the bare root, `make dist`; the tarball unpacked in an empty
#    directory, `apt-get build-dep` on it and `dpkg-buildpackage -us -uc -b`
#    (a Build-Depends missing from debian/control fails here); what build-dep
#    installed is purged again;
# 2. the README's two commands in the clone, each once, exactly as the
#    README writes them;
# 3. the same two commands in the tarball, unpacked in another empty directory;
# 4. tests/packages.sh: lintian, the packages installed with apt, every
#    end-to-end suite against the installed /usr/bin/virlock, the lockspace(3)
#    example built with pkg-config against liblockspace-dev, the purge.
# Everything they print comes through, then each step's time; the last line
# is "N passed, N failed" over them all (the tests of each `make deps check`
# and of tests/packages.sh; a step without such a line counts as one).
# Exits non-zero when any step fails. FRESH_ROOT_QUICK=1 runs `make deps all`
# in place of 2 and skips 3 (to try the packages alone, in a few minutes).
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
	[ -z "${out:-}" ] || rm -rf "$out"
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

# in_root CMD [DIR]: run the shell command CMD in the root, in DIR (default
# the clone), as a fresh login of root would: a clean environment.
in_root() {
	chroot "$root" /usr/bin/env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM=dumb \
		LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/bash -c "cd ${2:-/root/virlock} && $1"
}

# step NAME CMD [DIR]: one step in the root, timed; its output comes through
# and is kept in $out/NAME. A step that prints its own "N passed, N failed"
# last adds those; any other adds one pass or one failure.
out=$(mktemp -d)
passed=0
failed=0
rc=0
timings=()
step() {
	local name=$1 t0 status=ok line
	say "# $name"
	t0=$(date +%s)
	in_root "$2" "${3:-}" 2>&1 | tee "$out/$name" || status=FAILED
	timings+=("$name: $status in $(($(date +%s) - t0)) s")
	say "${timings[-1]}"
	line=$(tail -n 1 "$out/$name")
	if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
		passed=$((passed + BASH_REMATCH[1]))
		failed=$((failed + BASH_REMATCH[2]))
	elif [ "$status" = ok ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
	[ "$status" = ok ] || rc=1
	[ "$status" = ok ]
}

# 1. On the bare root: the release tarball (make dist), unpacked in an empty
# directory, and the Debian packages built from it with what apt-get
# build-dep installs from debian/control and nothing else (so a missing
# Build-Depends fails here). What build-dep installed is purged afterwards,
# so that the README's `make deps` below still starts from a bare root.
built=
if step "make dist" "make dist"; then
	tarball=$(cd "$src" && ls virlock-*.tar.gz)
	mkdir -m 0755 "$root/root/packages" "$root/root/dist"
	in_root "dpkg-query -W -f '\${Package}\\n' | sort" >"$out/bare-packages"
	if step "dpkg-buildpackage -us -uc -b" "tar -xzf /root/virlock/$tarball && cd ${tarball%.tar.gz} &&
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -qq . &&
		dpkg-buildpackage -us -uc -b" /root/packages; then
		built=1
	fi
	in_root "dpkg-query -W -f '\${Package}\\n' | sort" >"$out/build-packages"
	# A purge that fails is one failure, said, and the run goes on.
	# shellcheck disable=SC2046 # one package name a word
	if in_root "DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $(comm -13 "$out/bare-packages" "$out/build-packages" | tr '\n' ' ')" >/dev/null; then
		say "purged the build dependencies again"
	else
		say "could not purge the build dependencies: the quick start below does not start from a bare root"
		failed=$((failed + 1))
		rc=1
	fi
fi

# 2. The README's two commands in the clone, each once, exactly as written.
if [ -n "${FRESH_ROOT_QUICK:-}" ]; then
	step "make deps all" "make deps all" || true
else
	for cmd in "make deps demo" "make deps check"; do
		step "$cmd" "$cmd" || break
	done
fi

# 3. The same two commands in the release tarball, unpacked in an empty directory.
if [ -n "${tarball:-}" ] && [ -z "${FRESH_ROOT_QUICK:-}" ]; then
	tar -xzf "$src/$tarball" -C "$root/root/dist"
	for cmd in "make deps demo" "make deps check"; do
		step "$cmd (tarball)" "$cmd" "/root/dist/${tarball%.tar.gz}" || break
	done
fi

# 4. The packages installed with apt, tested, purged (tests/packages.sh).
if [ -n "$built" ]; then
	step "packages" "tests/packages.sh /root/packages" || true
fi

for t in "${timings[@]}"; do
	say "$t"
done
echo "$passed passed, $failed failed"
exit "$rc"
