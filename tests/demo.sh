#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# demo.sh: a short tour: acquire around a command, see it listed, contention, release.
set -eu
build=${1:-build}
virlock=$(cd "$(dirname "$0")/.." && pwd)/$build/virlock
ls=$(mktemp -d)/lockspace
image=$(mktemp)
trap 'rm -rf "$(dirname "$ls")" "$image"' EXIT
say() { printf '\n$ %s\n' "$*"; }
run() {
	say "$*"
	"$@" || echo "(exit status $?)"
}

echo "A lockspace in $ls; a disk image $image."
run "$virlock" -L "$ls" hash "$image"
run "$virlock" -L "$ls" acquire --owner demo-vm "$image"
run "$virlock" -L "$ls" list
echo
echo "A second VM tries the same image and is told it is busy (exit status 75):"
run "$virlock" -L "$ls" acquire "$image" -- echo "this never runs"
run "$virlock" -L "$ls" inspect "$image"
run "$virlock" -L "$ls" release "$image"
echo
echo "Now it is free, and a supervised command can hold it for its lifetime:"
run "$virlock" -L "$ls" acquire "$image" -- sh -c 'echo "holding the image while this runs"'
run "$virlock" -v -L "$ls" prune
