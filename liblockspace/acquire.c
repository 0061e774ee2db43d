/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* acquire.c: acquire and release resources, all-or-nothing, through the table. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "internal.h"

struct target {
	size_t index;	      /* in the caller's array */
	const char *resource; /* as the caller named it */
	unsigned rflags;      /* LOCKSPACE_LITERAL / BYNAME */
	char name[LOCKSPACE_NAME_LEN + 1];
	char *content; /* canonical path or literal; NULL when taken by name */
	int have_id;   /* direct mode: dev and ino of the file, the table's key */
	dev_t dev;
	ino_t ino;
};

void lsi_deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

long lsi_ms_left(const struct timespec *ts)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long ms = (long)(ts->tv_sec - now.tv_sec) * 1000 + (ts->tv_nsec - now.tv_nsec) / 1000000L;
	return ms > 0 ? ms : 0;
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

/* Take one resource; returns 0 with one more hold of @ls, or an error. */
static int acquire_one(struct lockspace *ls, const struct target *t, int shared, int wait,
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
				err = join_or_wait(e, ls, shared, wait, deadline);
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
				err = join_or_wait(e, ls, shared, wait, deadline);
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

		err = lsi_backend_fcntl.acquire(fd, shared, wait, deadline);
		if (err == 0 && !lsi_lockfile_still_named(ls, name, t->content, &st))
			err = -EAGAIN; /* pruned while we waited: lock the new file */
		/* A new (empty) lock file: is the directory still an fcntl
		 * lockspace? If not, take the file back, unless another holder
		 * shares it; a lease is never empty, so it is not one. */
		if (err == 0 && ls->dirfd >= 0 && st.st_size == 0 && (err = lsi_backend_changed(ls)) != 0 &&
		    (!shared || lsi_backend_fcntl.acquire(fd, 0, 0, NULL) == 0))
			(void)unlinkat(ls->dirfd, name, 0);
		if (err == 0 && ls->dirfd >= 0)
			err = lsi_lockfile_verify(fd, name, t->content);
		if (err == -EBADMSG && ls->dirfd >= 0 && lsi_backend_changed(ls) == -ESTALE)
			err = -ESTALE; /* a lease file, not a corrupt lock file */

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

static int target_cmp(const void *a, const void *b)
{
	const struct target *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* By the file's identity (those without one last), then by the caller's order. */
static int target_id_cmp(const void *a, const void *b)
{
	const struct target *x = *(const struct target *const *)a, *y = *(const struct target *const *)b;
	if (x->have_id != y->have_id)
		return y->have_id - x->have_id;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

/*
 * The first resource of @t[0..@m) (sorted by name) that repeats an earlier
 * one, in the caller's order: the same name or, in direct mode, where the
 * file itself is the table's key, the same device and inode (two hard links
 * of one file). Returns its caller's index, or @none if none repeats.
 */
static size_t first_repeat(const struct target *t, size_t m, int direct, size_t none, int *nomem)
{
	size_t rep = none;
	for (size_t i = 1; i < m; i++)
		if (strcmp(t[i - 1].name, t[i].name) == 0 && (rep == none || t[i].index < rep))
			rep = t[i].index;
	const struct target **by_id = direct && m > 1 ? malloc(m * sizeof(*by_id)) : NULL;
	if (direct && m > 1 && !by_id) {
		*nomem = 1;
		return rep;
	}
	for (size_t i = 0; by_id && i < m; i++)
		by_id[i] = &t[i];
	if (by_id)
		qsort(by_id, m, sizeof(*by_id), target_id_cmp);
	for (size_t i = 1; by_id && i < m; i++)
		if (by_id[i]->have_id && by_id[i - 1]->have_id && by_id[i]->dev == by_id[i - 1]->dev &&
		    by_id[i]->ino == by_id[i - 1]->ino && (rep == none || by_id[i]->index < rep))
			rep = by_id[i]->index;
	free(by_id);
	return rep;
}

/* Find the entry @ls holds for @name: by the file's inode, else by a scan
 * (the file may have been renamed or removed by someone careless). */
static struct lsi_entry *held_entry(struct lockspace *ls, const char *name, const char *content);

static void release_target(struct lockspace *ls, const struct target *t)
{
	lsi_table_lock();
	struct lsi_entry *e = held_entry(ls, t->name, t->content);
	if (e)
		lsi_entry_unref(e, ls, 0);
	lsi_table_unlock();
}

int lockspace_acquire_many(struct lockspace *ls, const char *const *resources, size_t n, unsigned flags,
			   int timeout_ms, size_t *failed)
{
	if (!ls || (!resources && n) || !LSI_FLAGS_OK(flags, LSI_ACQUIRE_FLAGS) ||
	    !LSI_TIMEOUT_OK(timeout_ms))
		return -EINVAL;
	if (ls->backend->acquire_many)
		return ls->backend->acquire_many(ls, resources, n, flags, timeout_ms, failed);
	struct target *t = calloc(n ? n : 1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	int err = 0;
	size_t i, taken = 0, bad = 0, resolved = 0;
	for (i = 0; i < n && err == 0; i++) {
		t[i].index = i;
		t[i].resource = resources[i];
		t[i].rflags = flags & (LOCKSPACE_LITERAL | LOCKSPACE_BYNAME);
		err = lsi_resolve(resources[i], flags, t[i].name, &t[i].content);
		if (err == 0 && !t[i].content && ls->dirfd < 0)
			err = -EINVAL; /* direct mode needs the path itself */
		struct stat st;
		if (err == 0 && ls->dirfd < 0 && stat(t[i].content, &st) == 0) {
			t[i].have_id = 1;
			t[i].dev = st.st_dev;
			t[i].ino = st.st_ino;
		}
		bad = i;
		if (err == 0)
			resolved = i + 1;
	}
	/* Name order: two callers taking overlapping sets never deadlock. */
	qsort(t, resolved, sizeof(*t), target_cmp);
	/* One resource named twice is the caller's mistake, not contention:
	 * report the first repeat in the caller's order, or the first name
	 * that does not resolve if it comes earlier. */
	int nomem = 0;
	size_t rep = first_repeat(t, resolved, ls->dirfd < 0, n, &nomem);
	if (nomem && err == 0)
		err = -ENOMEM;
	else if (rep < n && (err == 0 || rep < bad)) {
		err = -EINVAL;
		bad = rep;
	}
	struct timespec deadline_ts, *deadline = NULL;
	int wait = !!(flags & LOCKSPACE_WAIT);
	if (wait && timeout_ms >= 0) {
		lsi_deadline(&deadline_ts, timeout_ms);
		deadline = &deadline_ts;
	}
	for (i = 0; i < n && err == 0; i++) {
		err = acquire_one(ls, &t[i], !!(flags & LOCKSPACE_SHARED), wait, deadline);
		if (err == 0)
			taken++;
		else
			bad = t[i].index;
	}
	if (err < 0) {
		while (taken)
			release_target(ls, &t[--taken]);
		if (failed)
			*failed = bad;
	} else if (n) {
		(void)lsi_record_sync(ls); /* the locks are held; a record is only a report */
	}
	for (i = 0; i < n; i++)
		free(t[i].content);
	free(t);
	return err;
}

int lockspace_acquire(struct lockspace *ls, const char *resource, unsigned flags)
{
	return lockspace_acquire_many(ls, &resource, 1, flags, -1, NULL);
}

struct find_arg {
	struct lockspace *ls;
	unsigned char digest[LOCKSPACE_NAME_LEN / 2];
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

int lockspace_release(struct lockspace *ls, const char *resource, unsigned flags)
{
	if (!ls || !resource || !LSI_FLAGS_OK(flags, LSI_NAME_FLAGS))
		return -EINVAL;
	if (ls->backend->release_one)
		return ls->backend->release_one(ls, resource, flags);
	unsigned rflags = flags & (LOCKSPACE_LITERAL | LOCKSPACE_BYNAME);
	/* The string the caller acquired by finds the entry without another
	 * realpath and MD5; any other spelling goes by the canonical name. */
	lsi_table_lock();
	struct lsi_entry *e = lsi_table_find_resource(resource, rflags, ls);
	int err = e ? lsi_entry_unref(e, ls, 0) : -ENOENT;
	lsi_table_unlock();
	if (!e) {
		struct target t = {0};
		err = lsi_resolve(resource, flags, t.name, &t.content);
		if (err == 0) {
			lsi_table_lock();
			e = held_entry(ls, t.name, t.content);
			err = e ? lsi_entry_unref(e, ls, 0) : -ENOENT;
			lsi_table_unlock();
		}
		free(t.content);
	}
	if (err == 0)
		(void)lsi_record_sync(ls);
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

int lockspace_release_all(struct lockspace *ls)
{
	if (!ls)
		return -EINVAL;
	if (ls->backend->release_all)
		return ls->backend->release_all(ls);
	struct release_all_arg a = {.ls = ls};
	lsi_table_lock();
	lsi_table_each(release_if_ours, &a);
	lsi_table_unlock();
	if (a.count)
		(void)lsi_record_sync(ls);
	return a.count;
}
