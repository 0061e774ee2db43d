# SPDX-License-Identifier: LGPL-2.1-or-later
# check_helpers.bash: reading the findings of virlock check.
# shellcheck shell=bash
# shellcheck disable=SC2154 # lines is set by bats' run

# finding SEVERITY TOPIC TEXT: $lines (of the last `run`) has a finding of
# that severity and topic whose text contains TEXT.
finding() {
	local line
	for line in "${lines[@]}"; do
		case $line in
		"$(printf '%-6s %s: ' "$1" "$2")"*"$3"*) return 0 ;;
		esac
	done
	echo "no '$1 $2: ...$3...' in:" >&2
	printf '%s\n' "${lines[@]}" >&2
	return 1
}
