/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* backend_fcntl.c: POSIX fcntl record locks on byte 0 of a lock file. */
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "internal.h"

/* POSIX (not OFD) locks, so that F_GETLK, /proc/locks and lslocks show the
 * holder's pid, and so that they work on NFS. Their one hazard, that closing
 * any descriptor of the file drops them, is what the table in table.c is for. */
static int set_lock(int fd, short type, int cmd)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	return fcntl(fd, cmd, &fl);
}

static int fcntl_acquire(int fd, int shared, int wait, const struct timespec *deadline)
{
	short type = shared ? F_RDLCK : F_WRLCK;
	if (wait && !deadline) {
		/* Blocking in F_SETLKW puts us in the kernel's list of waiters,
		 * where inspect can see us. A handler without SA_RESTART ends it. */
		if (set_lock(fd, type, F_SETLKW) == 0)
			return 0;
		return -errno;
	}
	/* A finite wait cannot block in F_SETLKW without a signal of our own
	 * to end it, and a library must not take one: retry with backoff. */
	long backoff_us = 500;
	for (;;) {
		if (set_lock(fd, type, F_SETLK) == 0)
			return 0;
		if (errno != EAGAIN && errno != EACCES && errno != EINTR)
			return -errno;
		if (!wait)
			return -EBUSY;
		long left_ms = lsi_ms_left(deadline);
		if (left_ms <= 0)
			return -ETIMEDOUT;
		long us = backoff_us < left_ms * 1000 ? backoff_us : left_ms * 1000;
		struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
		nanosleep(&ts, NULL); /* a caught signal only shortens one pause */
		if (backoff_us < 20000)
			backoff_us *= 2;
	}
}

static int fcntl_release(int fd)
{
	return set_lock(fd, F_UNLCK, F_SETLK) == 0 ? 0 : -errno;
}

static int fcntl_probe(int fd, enum lockspace_state *state, pid_t *pid)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	if (fcntl(fd, F_GETLK, &fl) < 0)
		return -errno;
	*pid = fl.l_type == F_UNLCK ? 0 : fl.l_pid;
	*state = fl.l_type == F_UNLCK	? LOCKSPACE_STATE_FREE
		 : fl.l_type == F_RDLCK ? LOCKSPACE_STATE_SHARED
					: LOCKSPACE_STATE_EXCLUSIVE;
	return 0;
}

const struct lsi_backend lsi_backend_fcntl = {
	.name = "fcntl",
	.acquire = fcntl_acquire,
	.release = fcntl_release,
	.probe = fcntl_probe,
};
