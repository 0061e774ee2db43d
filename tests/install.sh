#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# install.sh: install into a scratch DESTDIR, build a program against it with
# pkg-config, run it, then check that uninstall leaves no file behind (TAP).
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
n=0
fails=0
check() {
	n=$((n + 1))
	if "${@:2}"; then echo "ok $n - $1"; else
		echo "not ok $n - $1"
		fails=$((fails + 1))
	fi
}

make -s -C "$top" --no-print-directory B="$build" install DESTDIR="$dest" PREFIX=/usr >"$dest.log" 2>&1
check "make install DESTDIR PREFIX=/usr" test $? -eq 0
sed "s/^/# /" "$dest.log"
rm -f "$dest.log"
check "virlock installed" test -x "$dest/usr/bin/virlock"
check "header installed" test -f "$dest/usr/include/lockspace.h"
soname=$(cd "$dest/usr/lib" && ls liblockspace.so.? 2>/dev/null)
check "soname link liblockspace.so.MAJOR" test -L "$dest/usr/lib/$soname"
check "development link liblockspace.so" test -L "$dest/usr/lib/liblockspace.so"
check "static library installed" test -f "$dest/usr/lib/liblockspace.a"
check "pkg-config file installed" test -f "$dest/usr/lib/pkgconfig/liblockspace.pc"
check "a man3 link to lockspace(3) for each function it documents" \
	test "$(readlink "$dest/usr/share/man/man3/lockspace_open.3")" = lockspace.3 -a \
	"$(find "$dest/usr/share/man/man3" -type l | wc -l)" -eq "$(grep -c '^\.Nm lockspace_' "$top/man/lockspace.3")"
# man FUNCTION works for every function the library exports.
nolink=
while read -r f; do
	[ "$(readlink "$dest/usr/share/man/man3/$f.3")" = lockspace.3 ] || nolink="$nolink $f"
done < <(sed -n 's/^[[:space:]]*\(lockspace_[a-z_]*\);.*/\1/p' "$top/liblockspace/liblockspace.sym")
check "a man3 link for every function of liblockspace.sym" test -z "$nolink"
[ -z "$nolink" ] || echo "# no man3 link:$nolink"

# The EXAMPLES program of lockspace(3), built with nothing but the installed
# header and pkg-config.
sed -n '/^\.Bd -literal/,/^\.Ed/p' "$top/man/lockspace.3" | sed -e '1d' -e '$d' -e 's/\\e/\\/g' >"$dest/example.c"
pc() {
	PKG_CONFIG_PATH=$dest/usr/lib/pkgconfig pkg-config --define-variable=prefix="$dest/usr" "$@" liblockspace
}
cflags=$(pc --cflags)
libs=$(pc --libs)
# shellcheck disable=SC2086
check "lockspace(3) example builds with pkg-config --cflags --libs liblockspace" \
	cc -Wall -Wextra -Werror -o "$dest/example" "$dest/example.c" $cflags $libs
check "example acquires and releases through the installed shared library" \
	env LD_LIBRARY_PATH="$dest/usr/lib" "$dest/example" "$dest/ls" "$dest/example.c"
check "the shared library it ran was the installed one" \
	sh -c "LD_LIBRARY_PATH='$dest/usr/lib' ldd '$dest/example' | grep -q '$dest/usr/lib/liblockspace.so'"
# shellcheck disable=SC2046,SC2086
check "the example links statically with pkg-config --static --libs (Libs.private complete)" \
	cc -Wall -Wextra -Werror -o "$dest/example-static" "$dest/example.c" $cflags \
	"$dest/usr/lib/liblockspace.a" $(pc --static --libs | sed -e 's/-L[^ ]*//g' -e 's/-llockspace//')
check "the statically linked example acquires and releases" \
	"$dest/example-static" "$dest/ls" "$dest/example.c"
rm -rf "$dest/example" "$dest/example-static" "$dest/example.c" "$dest/ls"

make -s -C "$top" --no-print-directory B="$build" uninstall DESTDIR="$dest" PREFIX=/usr >/dev/null 2>&1
left=$(find "$dest" -type f -o -type l)
check "uninstall leaves no file" test -z "$left"
[ -z "$left" ] || printf '# left: %s\n' "$left"
echo "1..$n"
[ "$fails" -eq 0 ]
