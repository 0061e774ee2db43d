#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# packages.sh: the Debian packages installed, tested and purged, in the fresh root (TAP).
# Usage: tests/packages.sh DEB_DIR (run as root by tests/fresh-root.sh, in a
# clone where `make deps check` has run: the end-to-end tests take their
# helper programs from its build/)
#
# DEB_DIR holds what dpkg-buildpackage -b made: virlock, liblockspace0 and
# liblockspace-dev, their .changes. In order: lintian on the .changes (no
# error, no warning), apt-get install of the three (dependencies resolved by
# apt), every end-to-end suite against the installed /usr/bin/virlock and its
# installed bash completion, the lockspace(3) example from the installed
# manual page built with pkg-config against the installed liblockspace-dev
# (shared and static) and run, then apt-get purge and a check that no file,
# link or directory the packages installed is left. The end-to-end results
# are counted with the others; the last line is "N passed, N failed".
set -u
debs=$(cd "${1:?usage: tests/packages.sh DEB_DIR}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
packages=(virlock liblockspace0 liblockspace-dev)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
n=0
passed=0
failed=0
ok() {
	n=$((n + 1))
	passed=$((passed + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
}
# check NAME COMMAND...: one test; when it fails, the command's output shown
# as diagnostics (its last 40 lines).
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		not_ok "$name"
		printf '%s\n' "$out" | tail -n 40 | sed 's/^/# /'
	fi
}
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

shopt -s nullglob
changes=("$debs"/virlock_*.changes)
files=()
for p in "${packages[@]}"; do
	files+=("$debs/${p}"_*.deb)
done
shopt -u nullglob
if [ "${#changes[@]}" -ne 1 ] || [ "${#files[@]}" -ne "${#packages[@]}" ]; then
	not_ok "the packages ${packages[*]} and their .changes are in $debs"
	finish
fi

t0=$(date +%s)
check "lintian installed" apt-get install -y -qq --no-install-recommends lintian
check "lintian: no error and no warning in ${changes[0]##*/} (overrides in debian/*.lintian-overrides)" \
	lintian --fail-on error,warning "${changes[0]}"
echo "# lintian: $(($(date +%s) - t0)) s"

# apt resolves what they depend on (and installs what they recommend).
check "apt-get install ${files[*]##*/}" apt-get install -y -qq "${files[@]}"
for p in "${packages[@]}"; do
	dpkg-query -L "$p" 2>/dev/null
done | grep -vx '/\.' | sort -u >"$scratch/owned"
check "dpkg -L lists the installed packages' files" test -s "$scratch/owned"
# The symbols file shipped is the version script's list, neither more nor less.
sym_names() { sed -n 's/^[[:space:]]*\(lockspace_[a-z_]*\)[;@].*/\1/p' | sort; }
check "liblockspace0's symbols file lists exactly the functions of liblockspace.sym" \
	test "$(dpkg-deb -I "${files[1]}" symbols | sym_names)" = "$(sym_names <"$top/liblockspace/liblockspace.sym")"
version=$(dpkg-query -W -f '${Version}' virlock 2>/dev/null)
check "/usr/bin/virlock --version says ${version%-*}" sh -c "/usr/bin/virlock --version | grep -Fw -- '${version%-*}'"

# Every end-to-end suite against the installed command; the helper programs
# the tests hold locks with come from the build tree.
t0=$(date +%s)
env VIRLOCK=/usr/bin/virlock HELPERS="$top/build/tests/helpers" \
	COMPLETION=/usr/share/bash-completion/completions/virlock \
	bats --tap "$top/tests/e2e" 2>&1 | tee "$scratch/e2e" | sed 's/^/    /'
rc=${PIPESTATUS[0]}
p=$(grep -c '^ok ' "$scratch/e2e")
f=$(grep -c '^not ok ' "$scratch/e2e")
echo "# e2e (installed /usr/bin/virlock): $p passed, $f failed, $(($(date +%s) - t0)) s"
passed=$((passed + p))
failed=$((failed + f))
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
	not_ok "bats exited with status $rc"
fi

# The lockspace(3) example, as a user of liblockspace-dev writes it: the
# installed manual page, header and pkg-config file, nothing else.
zcat /usr/share/man/man3/lockspace.3.gz | sed -n '/^\.Bd -literal/,/^\.Ed/p' |
	sed -e '1d' -e '$d' -e 's/\\e/\\/g' >"$scratch/example.c"
check "lockspace_open(3) is a link to lockspace(3)" \
	test "$(readlink /usr/share/man/man3/lockspace_open.3.gz)" = lockspace.3.gz
# shellcheck disable=SC2046 # pkg-config prints words
check "the example builds with cc \$(pkg-config --cflags --libs liblockspace)" \
	cc -Wall -Wextra -Werror -o "$scratch/example" "$scratch/example.c" $(pkg-config --cflags --libs liblockspace)
check "the example acquires and releases" "$scratch/example" "$scratch/ls" "$scratch/example.c"
# The loader may name it by /lib (a link to /usr/lib on a merged /usr).
check "it ran the shared library of liblockspace0" \
	sh -c "ldd '$scratch/example' | sed -n 's/^[[:space:]]*liblockspace[.]so[.][0-9]* => \([^ ]*\) .*/\1/p' |
		xargs -r realpath | xargs -r dpkg-query -S | grep -q '^liblockspace0:'"
libdir=$(pkg-config --variable=libdir liblockspace)
# shellcheck disable=SC2046
check "the example links the installed static library with pkg-config --static --libs" \
	cc -Wall -Wextra -Werror -o "$scratch/example-static" "$scratch/example.c" \
	$(pkg-config --cflags liblockspace) "$libdir/liblockspace.a" \
	$(pkg-config --static --libs liblockspace | sed 's/-llockspace//')
check "the statically linked example acquires and releases" "$scratch/example-static" "$scratch/ls2" "$scratch/example.c"

# Purged, nothing of theirs is left: no file or link, and no directory that
# no other package owns.
check "apt-get purge ${packages[*]}" apt-get purge -y -qq "${packages[@]}"
left=()
for p in "${packages[@]}"; do
	s=$(dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null)
	[ -z "$s" ] || [ "${s:0:2}" = un ] || [ "${s:0:2}" = pn ] || left+=("$p: dpkg status '$s'")
done
while IFS= read -r f; do
	if [ -L "$f" ] || { [ -e "$f" ] && [ ! -d "$f" ]; }; then
		left+=("$f")
	elif [ -d "$f" ] && ! dpkg-query -S "$f" >/dev/null 2>&1; then
		left+=("$f/")
	fi
done <"$scratch/owned"
check "purged: nothing of the packages is left (of $(wc -l <"$scratch/owned") paths dpkg -L listed)" \
	test "${#left[@]}" -eq 0
[ "${#left[@]}" -eq 0 ] || printf '# left: %s\n' "${left[@]}"
echo "1..$n"
finish
