/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sanlock_watch.c: a waiter watches the leader of the lease it waits for, to try again when it changes. */
#ifdef HAVE_SANLOCK
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sanlock_backend.h"

/*
 * A paxos lease begins with its leader record, which sanlock rewrites when
 * a host takes the lease and when it releases it (and not while it holds
 * it: a holder's liveness is its host's delta lease). A waiter reads that
 * sector itself, as the daemon would, with O_DIRECT (a host's page cache
 * knows nothing of other hosts' writes): one small read, no daemon call, no
 * paxos. A change means the lease was released or taken again: worth a try
 * at once. Nothing here is parsed: the bytes are only compared.
 */
#define SL_WATCH_BLOCK 4096 /* aligned for O_DIRECT on 512 and 4096-byte sectors */
#define SL_WATCH_LEN   512  /* the leader record's sector */

static int sl_watch_read(struct sl_watch *w, unsigned char *out)
{
	ssize_t got;
	do
		got = pread(w->fd, w->block, SL_WATCH_BLOCK, 0);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return -errno;
	if (got < SL_WATCH_LEN)
		return -EBADMSG;
	memcpy(out, w->block, SL_WATCH_LEN);
	return 0;
}

int lsi_sl_watch_start(struct sl_watch *w, const struct lockspace *ls, const char *name)
{
	lsi_sl_watch_end(w);
	/* O_NONBLOCK: a FIFO put in the lease's place must not block the open. */
	int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(ls->dirfd, name, flags | O_DIRECT);
	if (fd < 0 && errno == EINVAL) /* no O_DIRECT here: sanlock could not use it either */
		fd = openat(ls->dirfd, name, flags);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EBADMSG; /* not a lease: the paced tries will say what it is */
	}
	w->fd = fd;
	int err = 0;
	if (!w->block && posix_memalign((void **)&w->block, SL_WATCH_BLOCK, SL_WATCH_BLOCK) != 0) {
		w->block = NULL;
		err = -ENOMEM;
	}
	if (!err && !w->seen && !(w->seen = malloc(SL_WATCH_LEN)))
		err = -ENOMEM;
	if (!err)
		err = sl_watch_read(w, w->seen);
	if (err) {
		close(w->fd);
		w->fd = -1;
	}
	return err;
}

int lsi_sl_watch_changed(struct sl_watch *w)
{
	unsigned char now[SL_WATCH_LEN];
	if (w->fd < 0 || sl_watch_read(w, now) != 0)
		return 0; /* the pauses alone tell when to try */
	return memcmp(now, w->seen, SL_WATCH_LEN) != 0;
}

void lsi_sl_watch_end(struct sl_watch *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}

void lsi_sl_watch_free(struct sl_watch *w)
{
	lsi_sl_watch_end(w);
	free(w->block);
	free(w->seen);
	w->block = w->seen = NULL;
}
#endif
