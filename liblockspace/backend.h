/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* backend.h: the lock mechanism behind one small interface (fcntl now, sanlock later). */
#ifndef LOCKSPACE_BACKEND_H
#define LOCKSPACE_BACKEND_H

#include <sys/types.h>
#include <time.h>

#include "lockspace.h"

struct lsi_backend {
	const char *name;
	/* Lock byte 0 of @fd. @wait: 0 try once, 1 wait; @deadline NULL for
	 * ever. Returns 0, -EBUSY, -ETIMEDOUT, -EINTR, -EDEADLK or -errno. */
	int (*acquire)(int fd, int shared, int wait, const struct timespec *deadline);
	/* Unlock byte 0 of @fd (closing the descriptor would too). */
	int (*release)(int fd);
	/* Who holds byte 0 of @fd, as another process sees it. */
	int (*probe)(int fd, enum lockspace_state *state, pid_t *pid);
};

extern const struct lsi_backend lsi_backend_fcntl;

#endif
