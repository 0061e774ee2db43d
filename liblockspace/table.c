/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* table.c: the process-wide table of held lock files, keyed by device and inode. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

/*
 * A POSIX lock belongs to the process, and closing ANY descriptor of the
 * locked file drops it, even one opened by another thread or another handle.
 * So this table is the one place that knows which lock files the process
 * holds: no code opens a file it lists, and every descriptor of a lock file is
 * closed through it (lsi_table_drop, lsi_close_unheld) under its mutex.
 */
static struct {
	pthread_mutex_t mutex;
	struct lsi_entry **buckets;  /* by device and inode */
	struct lsi_entry **rbuckets; /* by resource string, for release */
	size_t nbuckets;
	size_t count;
} table = {.mutex = PTHREAD_MUTEX_INITIALIZER};

static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_prepare(void)
{
	pthread_mutex_lock(&table.mutex);
}

static void table_parent(void)
{
	pthread_mutex_unlock(&table.mutex);
}

/* The child of fork() holds no POSIX locks: forget every entry. Its copies of
 * the descriptors are closed; that cannot touch the parent's locks. */
static void table_child(void)
{
	for (size_t i = 0; i < table.nbuckets; i++) {
		struct lsi_entry *e = table.buckets[i];
		while (e) {
			struct lsi_entry *next = e->next;
			close(e->fd);
			for (unsigned j = 0; j < e->nspare; j++)
				close(e->spare[j]);
			free(e->spare);
			if (e->refs != &e->one)
				free(e->refs);
			free(e);
			e = next;
		}
		table.buckets[i] = NULL;
		table.rbuckets[i] = NULL;
	}
	__atomic_store_n(&table.count, 0, __ATOMIC_RELEASE);
	pthread_mutex_init(&table.mutex, NULL);
}

static void table_init(void)
{
	pthread_atfork(table_prepare, table_parent, table_child);
}

void lsi_table_lock(void)
{
	pthread_once(&table_once, table_init);
	pthread_mutex_lock(&table.mutex);
}

void lsi_table_unlock(void)
{
	pthread_mutex_unlock(&table.mutex);
}

/*
 * The table's changes are counted in a futex word, not a condition variable:
 * pthread_cond_wait() never returns for a signal, and a wait for ever must
 * end, as F_SETLKW does, when a handler without SA_RESTART interrupts it.
 * FUTEX_WAIT_BITSET takes the deadline as it is (CLOCK_MONOTONIC, absolute).
 */
static uint32_t table_changes;

static void table_changed(void)
{
	__atomic_fetch_add(&table_changes, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &table_changes, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

int lsi_table_wait(const struct timespec *deadline)
{
	uint32_t seen = __atomic_load_n(&table_changes, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&table.mutex);
	int err = 0;
	for (;;) {
		if (syscall(SYS_futex, &table_changes, FUTEX_WAIT_BITSET_PRIVATE, seen, deadline, NULL,
			    FUTEX_BITSET_MATCH_ANY) == 0 ||
		    errno == EAGAIN)
			break; /* woken, or changed before we slept */
		if (errno == EINTR && deadline)
			continue; /* a finite wait runs to its deadline */
		err = errno == ETIMEDOUT || errno == EINTR ? -errno : 0;
		break;
	}
	pthread_mutex_lock(&table.mutex);
	return err;
}

void lsi_table_broadcast(void)
{
	table_changed();
}

size_t lsi_table_count(void)
{
	return table.count;
}

size_t lsi_table_count_unlocked(void)
{
	return __atomic_load_n(&table.count, __ATOMIC_ACQUIRE);
}

static size_t bucket_of(dev_t dev, ino_t ino, size_t n)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev;
	return (size_t)(h >> 17) & (n - 1);
}

struct lsi_entry *lsi_table_find(dev_t dev, ino_t ino)
{
	if (!table.count)
		return NULL;
	for (struct lsi_entry *e = table.buckets[bucket_of(dev, ino, table.nbuckets)]; e; e = e->next)
		if (e->dev == dev && e->ino == ino)
			return e;
	return NULL;
}

static size_t rbucket_of(const char *resource, unsigned rflags, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ rflags; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)resource; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return (size_t)(h ^ (h >> 29)) & (n - 1);
}

static int table_grow(void)
{
	size_t n = table.nbuckets ? table.nbuckets * 2 : 64;
	struct lsi_entry **b = calloc(n, sizeof(*b));
	struct lsi_entry **rb = calloc(n, sizeof(*rb));
	if (!b || !rb) {
		free(b);
		free(rb);
		return -ENOMEM;
	}
	for (size_t i = 0; i < table.nbuckets; i++) {
		struct lsi_entry *e = table.buckets[i];
		while (e) {
			struct lsi_entry *next = e->next;
			size_t k = bucket_of(e->dev, e->ino, n);
			e->next = b[k];
			b[k] = e;
			if (e->resource[0]) {
				k = rbucket_of(e->resource, e->rflags, n);
				e->rnext = rb[k];
				rb[k] = e;
			}
			e = next;
		}
	}
	free(table.buckets);
	free(table.rbuckets);
	table.buckets = b;
	table.rbuckets = rb;
	table.nbuckets = n;
	return 0;
}

struct lsi_entry *lsi_table_find_resource(const char *resource, unsigned rflags, const struct lockspace *ls)
{
	if (!table.count)
		return NULL;
	for (struct lsi_entry *e = table.rbuckets[rbucket_of(resource, rflags, table.nbuckets)]; e;
	     e = e->rnext)
		if (e->rflags == rflags && !e->pending && strcmp(e->resource, resource) == 0 &&
		    lsi_entry_refs_of(e, ls))
			return e;
	return NULL;
}

struct lsi_entry *lsi_table_insert(dev_t dev, ino_t ino, int fd, int shared, const char *resource,
				   unsigned rflags)
{
	/* Two entries a bucket on average at most: chains stay short, and the
	 * two bucket arrays cost 8 bytes a lock, not 16. */
	if (table.count >= 2 * table.nbuckets && table_grow() < 0)
		return NULL;
	size_t len = resource ? strlen(resource) : 0;
	struct lsi_entry *e = calloc(1, offsetof(struct lsi_entry, resource) + len + 1);
	if (!e)
		return NULL;
	e->dev = dev;
	e->ino = ino;
	e->fd = fd;
	e->shared = !!shared;
	e->pending = 1;
	size_t k = bucket_of(dev, ino, table.nbuckets);
	e->next = table.buckets[k];
	table.buckets[k] = e;
	if (len) {
		/* Found by release only once held: lsi_table_find_resource skips pending. */
		memcpy(e->resource, resource, len + 1);
		e->rflags = rflags & (LOCKSPACE_LITERAL | LOCKSPACE_BYNAME);
		k = rbucket_of(e->resource, e->rflags, table.nbuckets);
		e->rnext = table.rbuckets[k];
		table.rbuckets[k] = e;
	}
	__atomic_add_fetch(&table.count, 1, __ATOMIC_RELEASE); /* read unlocked too */
	return e;
}

void lsi_table_drop(struct lsi_entry *e)
{
	struct lsi_entry **p = &table.buckets[bucket_of(e->dev, e->ino, table.nbuckets)];
	while (*p && *p != e)
		p = &(*p)->next;
	if (*p) {
		*p = e->next;
		__atomic_sub_fetch(&table.count, 1, __ATOMIC_RELEASE);
	}
	if (e->resource[0]) {
		p = &table.rbuckets[rbucket_of(e->resource, e->rflags, table.nbuckets)];
		while (*p && *p != e)
			p = &(*p)->rnext;
		if (*p)
			*p = e->rnext;
	}
	close(e->fd);
	for (unsigned i = 0; i < e->nspare; i++)
		close(e->spare[i]);
	free(e->spare);
	if (e->refs != &e->one)
		free(e->refs);
	free(e);
	table_changed();
}

int lsi_entry_stash(struct lsi_entry *e, int fd)
{
	int *s = realloc(e->spare, (e->nspare + 1) * sizeof(*s));
	if (!s)
		return -ENOMEM;
	e->spare = s;
	e->spare[e->nspare++] = fd;
	return 0;
}

int lsi_entry_ref(struct lsi_entry *e, struct lockspace *ls)
{
	for (unsigned i = 0; i < e->nrefs; i++)
		if (e->refs[i].ls == ls) {
			e->refs[i].count++;
			return 0;
		}
	if (e->nrefs == 0) {
		e->refs = &e->one; /* the common case: one handle holds it */
	} else {
		struct lsi_ref *r = malloc((e->nrefs + 1) * sizeof(*r));
		if (!r)
			return -ENOMEM;
		memcpy(r, e->refs, e->nrefs * sizeof(*r));
		if (e->refs != &e->one)
			free(e->refs);
		e->refs = r;
	}
	e->refs[e->nrefs++] = (struct lsi_ref){.ls = ls, .count = 1};
	return 0;
}

unsigned lsi_entry_refs_of(const struct lsi_entry *e, const struct lockspace *ls)
{
	for (unsigned i = 0; i < e->nrefs; i++)
		if (e->refs[i].ls == ls)
			return e->refs[i].count;
	return 0;
}

int lsi_entry_unref(struct lsi_entry *e, struct lockspace *ls, int all)
{
	for (unsigned i = 0; i < e->nrefs; i++) {
		if (e->refs[i].ls != ls)
			continue;
		if (all || --e->refs[i].count == 0)
			e->refs[i] = e->refs[--e->nrefs];
		if (!e->nrefs)
			lsi_table_drop(e);
		return 0;
	}
	return -ENOENT;
}

void lsi_table_each(void (*fn)(struct lsi_entry *e, void *arg), void *arg)
{
	/* fn may drop the entry it is given, never another one. */
	for (size_t i = 0; i < table.nbuckets; i++) {
		struct lsi_entry *e = table.buckets[i];
		while (e) {
			struct lsi_entry *next = e->next;
			fn(e, arg);
			e = next;
		}
	}
}

void lsi_close_unheld(int fd)
{
	lsi_table_lock();
	struct stat st;
	struct lsi_entry *e = NULL;
	if (table.count && fstat(fd, &st) == 0)
		e = lsi_table_find(st.st_dev, st.st_ino);
	if (!e)
		close(fd);
	else
		(void)lsi_entry_stash(e, fd); /* on ENOMEM leak it: closing would drop the lock */
	lsi_table_unlock();
}
