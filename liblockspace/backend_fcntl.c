/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* backend_fcntl.c: the fcntl backend: POSIX record locks on byte 0 of lock files, held through the table. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

int lsi_fcntl_lock(int fd, int shared, int wait, const struct timespec *deadline)
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

int lsi_fcntl_probe(int fd, enum lockspace_state *state, pid_t *pid)
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

/*
 * The process already has an entry for this file: share it, or wait for it,
 * or say busy. Called with the table locked; returns 0 (joined), -EAGAIN (the
 * table changed: look again), or an error.
 */
static int join_or_wait(struct lsi_entry *e, struct lockspace *ls, int shared, int wait,
			const struct timespec *deadline)
{
	if (shared && e->shared && !e->pending)
		return lsi_entry_ref(e, ls);
	if (!wait)
		return -EBUSY;
	int err = lsi_table_wait(deadline);
	return err < 0 ? err : -EAGAIN;
}

/* Take one resource, through the table: returns 0 with one more hold of
 * @ls, or an error. */
static int fcntl_lock_one(struct lockspace *ls, const struct lsi_target *t, int shared, int wait,
			  const struct timespec *deadline)
{
	const char *name = t->name;
	for (;;) {
		struct stat st;
		int err;
		/* Held by this process already? Ask the table before opening:
		 * opening and closing a held file would drop its lock. */
		lsi_table_lock();
		if (lsi_table_count()) {
			int rc = ls->dirfd < 0 ? stat(t->content, &st)
					       : fstatat(ls->dirfd, name, &st, AT_SYMLINK_NOFOLLOW);
			struct lsi_entry *e = rc == 0 ? lsi_table_find(st.st_dev, st.st_ino) : NULL;
			if (e) {
				/* Held by this process: not the state of the hand-off. */
				err = t->expect ? -ECANCELED : join_or_wait(e, ls, shared, wait, deadline);
				lsi_table_unlock();
				if (err == -EAGAIN)
					continue;
				return err;
			}
		}
		lsi_table_unlock();

		int fd = lsi_lockfile_open(ls, name, t->content, shared, 1, &st);
		if (fd < 0)
			return fd;

		lsi_table_lock();
		struct lsi_entry *e = lsi_table_find(st.st_dev, st.st_ino);
		if (e) {
			/* Another thread got there between our look and our open. */
			err = lsi_entry_stash(e, fd);
			if (err == 0)
				err = t->expect ? -ECANCELED : join_or_wait(e, ls, shared, wait, deadline);
			lsi_table_unlock();
			if (err == -EAGAIN)
				continue;
			return err;
		}
		e = lsi_table_insert(st.st_dev, st.st_ino, fd, shared, t->resource, t->rflags);
		lsi_table_unlock();
		if (!e) {
			close(fd);
			return -ENOMEM;
		}

		err = lsi_fcntl_lock(fd, shared, wait, deadline);
		nlink_t nlink = 1;
		if (err == 0 && !lsi_lockfile_still_named(ls, name, t->content, &st, &nlink))
			err = -EAGAIN; /* pruned while we waited: lock the new file */
		/* A new (empty) lock file: is the directory still an fcntl
		 * lockspace? If not, take the file back, unless another holder
		 * shares it; a lease is never empty, so it is not one. */
		if (err == 0 && ls->dirfd >= 0 && st.st_size == 0 && (err = lsi_backend_changed(ls)) != 0 &&
		    (!shared || lsi_fcntl_lock(fd, 0, 0, NULL) == 0))
			(void)unlinkat(ls->dirfd, name, 0);
		if (err == 0 && ls->dirfd >= 0)
			err = lsi_lockfile_verify(fd, name, t->content);
		if (err == -EBADMSG && ls->dirfd >= 0 && lsi_backend_changed(ls) == -ESTALE)
			err = -ESTALE; /* a lease file, not a corrupt lock file */
		/* A hand-off marker (a second link, seen under the lock), or an
		 * acquire that expects one: the plain acquire pays nothing more. */
		if (err == 0 && ls->dirfd >= 0 && (nlink > 1 || t->expect))
			err = lsi_handoff_take(ls, t, &st);

		lsi_table_lock();
		if (err == 0) {
			e->pending = 0;
			e->since = time(NULL);
			lsi_name_pack(name, e->digest);
			err = lsi_entry_ref(e, ls);
			lsi_table_broadcast();
		}
		if (err < 0)
			lsi_table_drop(e); /* closes fd: unlocks if we had locked */
		lsi_table_unlock();
		if (err == -EAGAIN)
			continue;
		return err;
	}
}

/* Find the entry @ls holds for @name: by the file's inode, else by a scan
 * (the file may have been renamed or removed by someone careless). */
static struct lsi_entry *held_entry(struct lockspace *ls, const char *name, const char *content);

static void fcntl_unlock_one(struct lockspace *ls, const struct lsi_target *t)
{
	lsi_table_lock();
	struct lsi_entry *e = held_entry(ls, t->name, t->content);
	if (e)
		lsi_entry_unref(e, ls, 0);
	lsi_table_unlock();
}

struct find_arg {
	struct lockspace *ls;
	unsigned char digest[LSI_DIGEST_SIZE];
	struct lsi_entry *found;
};

static void find_by_name(struct lsi_entry *e, void *arg)
{
	struct find_arg *a = arg;
	if (!a->found && !e->pending && memcmp(e->digest, a->digest, sizeof(a->digest)) == 0 &&
	    lsi_entry_refs_of(e, a->ls))
		a->found = e;
}

static struct lsi_entry *held_entry(struct lockspace *ls, const char *name, const char *content)
{
	struct stat st;
	int rc = ls->dirfd < 0 ? (content ? stat(content, &st) : -1)
			       : fstatat(ls->dirfd, name, &st, AT_SYMLINK_NOFOLLOW);
	if (rc == 0) {
		struct lsi_entry *e = lsi_table_find(st.st_dev, st.st_ino);
		if (e && !e->pending && lsi_entry_refs_of(e, ls))
			return e;
	}
	struct find_arg a = {.ls = ls};
	lsi_name_pack(name, a.digest);
	lsi_table_each(find_by_name, &a);
	return a.found;
}

static int fcntl_unlock(struct lockspace *ls, const char *resource, unsigned flags, int *dropped)
{
	unsigned rflags = flags & (LOCKSPACE_LITERAL | LOCKSPACE_BYNAME);
	/* The string the caller acquired by finds the entry without another
	 * realpath and MD5; any other spelling goes by the canonical name. */
	lsi_table_lock();
	struct lsi_entry *e = lsi_table_find_resource(resource, rflags, ls);
	int err = e ? lsi_entry_unref(e, ls, 0) : -ENOENT;
	lsi_table_unlock();
	if (!e) {
		struct lsi_target t = {0};
		err = lsi_resolve(ls, resource, flags, t.name, &t.content);
		if (err == 0) {
			lsi_table_lock();
			e = held_entry(ls, t.name, t.content);
			err = e ? lsi_entry_unref(e, ls, 0) : -ENOENT;
			lsi_table_unlock();
		}
		free(t.content);
	}
	*dropped = err == 0;
	return err;
}

struct release_all_arg {
	struct lockspace *ls;
	int count;
};

static void release_if_ours(struct lsi_entry *e, void *arg)
{
	struct release_all_arg *a = arg;
	unsigned n = lsi_entry_refs_of(e, a->ls);
	if (n && !e->pending) {
		a->count += (int)n;
		lsi_entry_unref(e, a->ls, 1);
	}
}

static int fcntl_unlock_all(struct lockspace *ls)
{
	struct release_all_arg a = {.ls = ls};
	lsi_table_lock();
	lsi_table_each(release_if_ours, &a);
	lsi_table_unlock();
	return a.count;
}

/* Every file with a valid name is a lock file, which the prune removes as
 * one when it is free (prune.c); nothing else in the directory is fcntl's. */
static int fcntl_prune_one(struct lockspace *ls, const char *name, int dry_run)
{
	(void)ls;
	(void)dry_run;
	return lockspace_valid_name(name) ? LSI_PRUNE_LOCKFILE : 0;
}

/* Mark the resource @ls holds exclusively for its hand-off. */
static int fcntl_handoff(struct lockspace *ls, const char *name, const char *content, uint64_t *state)
{
	if (ls->dirfd < 0)
		return -EOPNOTSUPP;
	lsi_table_lock();
	struct lsi_entry *e = held_entry(ls, name, content);
	struct stat st = {0};
	int err = !e ? -ENOENT : e->shared ? -EINVAL : 0;
	if (e) {
		st.st_dev = e->dev;
		st.st_ino = e->ino;
	}
	lsi_table_unlock();
	/* Held: no prune or acquire changes the file until we release it. */
	return err ? err : lsi_handoff_mark(ls, name, &st, state);
}

const struct lsi_backend lsi_backend_fcntl = {
	.name = "fcntl",
	.lock_one = fcntl_lock_one,
	.unlock_one = fcntl_unlock_one,
	.unlock = fcntl_unlock,
	.unlock_all = fcntl_unlock_all,
	.view_open = lsi_fcntl_view_open,
	.owners = lsi_fcntl_owners,
	.verdict = lsi_fcntl_verdict,
	.view_close = lsi_fcntl_view_close,
	.look_size = lsi_fcntl_look_size,
	.look = lsi_fcntl_look,
	.look_owners = lsi_fcntl_look_owners,
	.look_free = lsi_fcntl_look_free,
	.probe = lsi_fcntl_probe_one,
	.prune_one = fcntl_prune_one,
	.handoff = fcntl_handoff,
	.handoff_done = lsi_handoff_consume,
};
