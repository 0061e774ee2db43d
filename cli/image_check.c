/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* image_check.c: does another program visibly use an image in a way an acquire must respect? */
#include <stdio.h>
#include <unistd.h>

#include "image_check.h"
#include "strutil.h"

/* What @l does that an acquire (@shared or not) must not go against, or NULL. */
static const char *image_conflict(const struct lockspace_file_lock *l, int shared)
{
	/* QEMU takes only shared locks: an exclusive one is no permission of its. */
	if (l->mode == LOCKSPACE_STATE_EXCLUSIVE)
		return l->type == LOCKSPACE_FILE_LOCK_FLOCK ? "holds an exclusive flock lock"
		       : l->type == LOCKSPACE_FILE_LOCK_OFD ? "holds an exclusive open file description lock"
							    : "holds an exclusive fcntl lock";
	if (!l->qemu)
		return NULL;
	/* QEMU's image locks are shared locks on bytes that mean permissions. */
	if (l->qemu_perms & LOCKSPACE_QEMU_WRITE)
		return "holds write";
	if (!shared && (l->qemu_unshared & LOCKSPACE_QEMU_WRITE))
		return "does not share write";
	if (shared && (l->qemu_unshared & LOCKSPACE_QEMU_CONSISTENT_READ))
		return "does not share consistent-read";
	return NULL;
}

int image_in_use(const char *path, int shared, char who[VL_WHO_LEN])
{
	struct lockspace_file_locks *fl = NULL;
	int found = 0;
	who[0] = '\0';
	/* Every acquire looks: the flock probe spares a read of /proc/locks
	 * (a shared flock lock is nothing an acquire must respect), and
	 * virlock locks images only through its handles. */
	if (lockspace_file_locks(path, LOCKSPACE_FLOCK_PROBE | LOCKSPACE_NO_OWN_FD, &fl) < 0)
		return 0;
	pid_t self = getpid();
	for (size_t i = 0; i < fl->nlocks && !found; i++) {
		const struct lockspace_file_lock *l = &fl->locks[i];
		const char *what = l->pid == self ? NULL : image_conflict(l, shared);
		if (!what)
			continue;
		char command[VL_WHO_LEN / 2] = "";
		if (l->command &&
		    vl_escape(NULL, l->command, VL_ESC_BACKSLASH | VL_ESC_BADUTF8) < sizeof(command))
			vl_escape(command, l->command, VL_ESC_BACKSLASH | VL_ESC_BADUTF8);
		snprintf(who, VL_WHO_LEN, "%s (pid %d), which %s", *command ? command : "a process",
			 (int)l->pid, what);
		found = 1;
	}
	/*
	 * The kernel shows a lock on the file but no process this user may
	 * read holds it (QEMU run by libvirt as a user of its own, say): an
	 * exclusive acquire cannot tell it from a writer, so it does not go
	 * on. A shared one goes on, as it would next to a reader.
	 */
	if (!found && !shared && fl->incomplete && !fl->nlocks) {
		snprintf(who, VL_WHO_LEN,
			 "a process this user may not see (%zu could not be read; root sees "
			 "which)",
			 fl->unreadable);
		found = 1;
	}
	lockspace_file_locks_free(fl);
	return found;
}
