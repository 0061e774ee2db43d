/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* acquire.c: acquire and release resources, all-or-nothing, through the backend's verbs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "backend.h"
#include "internal.h"

static int target_cmp(const void *a, const void *b)
{
	const struct lsi_target *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* By the file's identity (those without one last), then by the caller's order. */
static int target_id_cmp(const void *a, const void *b)
{
	const struct lsi_target *x = *(const struct lsi_target *const *)a,
				*y = *(const struct lsi_target *const *)b;
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
static size_t first_repeat(const struct lsi_target *t, size_t m, int direct, size_t none, int *nomem)
{
	size_t rep = none;
	for (size_t i = 1; i < m; i++)
		if (strcmp(t[i - 1].name, t[i].name) == 0 && (rep == none || t[i].index < rep))
			rep = t[i].index;
	const struct lsi_target **by_id = direct && m > 1 ? malloc(m * sizeof(*by_id)) : NULL;
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

int lsi_acquire(struct lockspace *ls, const char *const *resources, size_t n, unsigned flags, int timeout_ms,
		const uint64_t *states, size_t *failed)
{
	if (!ls || (!resources && n) || !LSI_FLAGS_OK(flags, LSI_ACQUIRE_FLAGS) ||
	    !LSI_TIMEOUT_OK(timeout_ms))
		return -EINVAL;
	struct lsi_target *t = calloc(n ? n : 1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	int err = 0;
	size_t i, taken = 0, bad = 0, resolved = 0;
	for (i = 0; i < n && err == 0; i++) {
		t[i].index = i;
		t[i].resource = resources[i];
		t[i].rflags = flags & (LOCKSPACE_LITERAL | LOCKSPACE_BYNAME);
		t[i].expect = states != NULL;
		t[i].state = states ? states[i] : 0;
		err = lsi_resolve(ls, resources[i], flags, t[i].name, &t[i].content);
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
	const struct lsi_backend *b = ls->backend;
	int shared = !!(flags & LOCKSPACE_SHARED);
	if (err == 0 && n && b->lock_set) {
		size_t pos = 0;
		err = b->lock_set(ls, t, n, shared, wait, deadline, &pos);
		if (err < 0)
			bad = pos < n ? t[pos].index : pos;
	}
	for (i = 0; i < n && err == 0 && !b->lock_set; i++) {
		err = b->lock_one(ls, &t[i], shared, wait, deadline);
		if (err == 0)
			taken++;
		else
			bad = t[i].index;
	}
	/* Every resource is held: only now consume the hand-offs, so that a
	 * failed expecting acquire leaves every marker as it was. */
	for (i = 0; i < n && err == 0 && states && b->handoff_done && !b->lock_set; i++)
		if ((err = b->handoff_done(ls, &t[i])) != 0)
			bad = t[i].index;
	if (err < 0) {
		/* A record written meanwhile, by another handle of the lockspace,
		 * may list the ones taken: write it again without them. */
		int gave_back = taken > 0;
		while (taken)
			b->unlock_one(ls, &t[--taken]);
		if (gave_back)
			(void)lsi_record_sync(ls);
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

int lockspace_acquire_many(struct lockspace *ls, const char *const *resources, size_t n, unsigned flags,
			   int timeout_ms, size_t *failed)
{
	return lsi_acquire(ls, resources, n, flags, timeout_ms, NULL, failed);
}

int lockspace_acquire(struct lockspace *ls, const char *resource, unsigned flags)
{
	return lockspace_acquire_many(ls, &resource, 1, flags, -1, NULL);
}

int lockspace_release(struct lockspace *ls, const char *resource, unsigned flags)
{
	if (!ls || !resource || !LSI_FLAGS_OK(flags, LSI_NAME_FLAGS))
		return -EINVAL;
	int dropped = 0;
	int err = ls->backend->unlock(ls, resource, flags, &dropped);
	if (dropped)
		(void)lsi_record_sync(ls);
	return err;
}

int lockspace_release_all(struct lockspace *ls)
{
	if (!ls)
		return -EINVAL;
	int count = ls->backend->unlock_all(ls);
	if (count)
		(void)lsi_record_sync(ls);
	return count;
}
