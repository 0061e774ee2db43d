# SPDX-License-Identifier: LGPL-2.1-or-later
# members_helpers.bash: a group of new users sharing a directory, for tests of group lockspaces.
# shellcheck shell=bash
#
# Load helpers.bash first. Call members_reset in setup and drop_members in
# teardown.

# members_reset: no members, no group, no shared directory yet.
members_reset() {
	MEMBERS=()
	MEMBER_GROUP=
	SHARED=
}

# members GROUP USER...: create GROUP and the USERs in it (removed by
# drop_members), and $SHARED, a directory they can reach, with a copy of
# virlock; skips without root or useradd.
members() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to create users"
	command -v useradd >/dev/null || skip "useradd is missing"
	local group=$1 user
	shift
	groupadd "$group" || skip "cannot create a group"
	MEMBER_GROUP=$group
	for user in "$@"; do
		useradd -M -N -G "$group" -s /bin/sh "$user" || skip "cannot create a user"
		MEMBERS+=("$user")
	done
	SHARED=$(mktemp -d /tmp/virlock-members.XXXXXX)
	chmod 0755 "$SHARED"
	# The plain build: valgrind's logs would need a directory they can write.
	cp "${VIRLOCK_REAL:-$VIRLOCK}" "$SHARED/virlock"
	chmod 0755 "$SHARED/virlock"
}

# drop_members: end every process of the members, remove them, their group
# and $SHARED.
drop_members() {
	local user
	for user in "${MEMBERS[@]}"; do
		pkill -KILL -U "$user" 2>/dev/null || true
		wait_for 10 no_process_of "$user" || true
		userdel "$user" 2>/dev/null || true
	done
	MEMBERS=()
	if [ -n "${MEMBER_GROUP:-}" ]; then
		groupdel "$MEMBER_GROUP" 2>/dev/null || true
	fi
	if [ -n "${SHARED:-}" ]; then
		rm -rf "$SHARED"
	fi
}

# no_process_of USER: USER runs nothing.
no_process_of() {
	! pgrep -U "$1" >/dev/null
}
