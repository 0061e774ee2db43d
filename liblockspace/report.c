/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* report.c: what is held, for every backend: the directory walk, each file's owners joined with records. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "internal.h"

static void report_close(struct lsi_report *r)
{
	if (r->view)
		r->ls->backend->view_close(r->view);
	lsi_join_free(&r->join);
	lsi_claims_free(&r->claims);
	lsi_records_free(r->recs, r->nrecs);
	free(r->lockfile);
}

/* The backend's view first (it may refuse the lockspace), then the records of its holders. */
static int report_open(struct lsi_report *r, struct lockspace *ls, unsigned flags, lockspace_info_fn fn,
		       void *arg)
{
	*r = (struct lsi_report){.ls = ls, .flags = flags, .fn = fn, .arg = arg};
	if (ls->dir) { /* every file's lock file: the directory's name, and the file's */
		r->dirlen = strlen(ls->dir);
		if (!(r->lockfile = malloc(r->dirlen + LOCKSPACE_NAME_LEN + 2)))
			return -ENOMEM;
		memcpy(r->lockfile, ls->dir, r->dirlen);
		r->lockfile[r->dirlen] = '/';
	}
	int err = ls->backend->view_open(ls, r, &r->view);
	if (err) {
		r->view = NULL;
		report_close(r);
		return err;
	}
	if (ls->dir && (err = lsi_records_load(ls, &r->recs, &r->nrecs)) < 0)
		goto fail;
	if ((err = lsi_claims_index(&r->claims, r->recs, r->nrecs)) < 0)
		goto fail;
	r->join.claims = &r->claims;
	r->join.verdict = ls->backend->verdict;
	r->join.arg = r->view;
	return 0;
fail:
	report_close(r);
	return err;
}

/* The lockspace_info of the file @name (in direct mode, the resource file @direct_path), as far as the
 * library knows it before the backend looks. */
static void report_start(struct lsi_report *r, const char *name, const char *direct_path,
			 struct lockspace_info *info)
{
	size_t nlen = strnlen(name, LOCKSPACE_NAME_LEN); /* 32 or 64 digits */
	memcpy(info->name, name, nlen);
	info->name[nlen] = '\0';
	if (direct_path) {
		info->lockfile = direct_path;
	} else {
		memcpy(r->lockfile + r->dirlen + 1, name, nlen + 1);
		info->lockfile = r->lockfile;
	}
}

/* Join the owners @ow of the file of @info (or the backend's @err) with the records, and report it. */
static int report_end(struct lsi_report *r, struct lockspace_info *info, const struct lsi_owners *ow, int err)
{
	if (err)
		return err > 0 ? 0 : err;
	err = lsi_join(&r->join, info->name, ow, &info->nholders, &info->nstale);
	if (err)
		return err;
	info->holders = r->join.holders;
	info->stale = r->join.stale;
	return r->fn(info, r->arg);
}

/* Report the file @name (in direct mode, the resource file @direct_path). */
static int report_one(struct lsi_report *r, const char *name, const char *direct_path, int always)
{
	struct lockspace_info info = {0};
	struct lsi_owners ow = {0};
	report_start(r, name, direct_path, &info);
	int err = r->ls->backend->owners(r->view, name, direct_path, always, &info, &ow);
	return report_end(r, &info, &ow, err);
}

/*
 * The walk of a big lockspace. Its cost is the kernel's, four system calls a
 * file (open, F_GETLK, pread, close), and files are independent: the
 * directory is read a batch of names at a time, the files of a batch are
 * looked at (the backend's look verb) by the calling thread and up to
 * SCAN_THREADS - 1 workers at once, and the calling thread alone reports
 * them in directory order, as the serial walk does, while the workers look
 * at the next batch. Two batches bound the memory whatever the number of
 * files. A file that this process holds is never opened: look checks the
 * table first, on any thread.
 */
#define SCAN_BATCH	 1024
#define SCAN_MIN	 512 /* fewer files are walked by the calling thread alone */
#define SCAN_THREADS	 4   /* at most, the calling thread's included, unless the environment says */
#define SCAN_THREADS_MAX 64
#define SCAN_PENDING	 2 /* the rc of a file not looked at yet */

struct batch {
	char (*names)[LOCKSPACE_NAME_LEN + 1];
	int *rc;	      /* look's for each name, or SCAN_PENDING */
	unsigned char *slots; /* the backend's, look_size bytes each */
	size_t n;	      /* names in the batch */
	size_t next;	      /* the next to look at (atomic) */
};

struct scan {
	struct lsi_report *r;
	const struct lsi_backend *be;
	size_t size; /* look_size */
	struct batch b[2];
	struct batch *cur; /* the batch the workers look at */
	pthread_mutex_t mutex;
	pthread_cond_t go;   /* a new batch, or quit */
	pthread_cond_t done; /* busy fell to 0 */
	unsigned handed;     /* counts the batches handed to the workers */
	unsigned busy;	     /* workers still looking at the current batch */
	int quit;
	pthread_t tid[SCAN_THREADS_MAX];
	unsigned nworkers;
};

/* The child of fork() has none of the workers: a walk that finds this
 * changed after calling back (a callback that forked) goes on alone. */
static unsigned fork_count;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void scan_forked(void)
{
	__atomic_add_fetch(&fork_count, 1, __ATOMIC_RELAXED);
}

static void scan_fork_init(void)
{
	pthread_atfork(NULL, NULL, scan_forked);
}

static void *slot_of(const struct scan *s, const struct batch *b, size_t i)
{
	return b->slots + i * s->size;
}

static void scan_look(struct scan *s, struct batch *b, int own_fds)
{
	size_t i;
	while ((i = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED)) < b->n)
		b->rc[i] = s->be->look(s->r->view, b->names[i], slot_of(s, b, i), own_fds);
}

/*
 * A worker looks at files with a descriptor table of its own: a POSIX lock
 * belongs to the process's table of descriptors, so closing a lock file
 * there can never drop a lock of the process, and the worker need not close
 * through the table's mutex (which every thread would then wait for). Of
 * the process's descriptors it keeps only the lockspace directory's: a
 * copy would keep open, until the walk ends, a file (a pipe's end, a lock)
 * that another thread closes meanwhile. Where the kernel has no
 * close_range() (before 5.9), the worker shares the process's table and
 * closes through the table.
 */
static int scan_own_fds(const struct scan *s)
{
	unsigned dirfd = (unsigned)s->r->ls->dirfd;
	if (close_range(dirfd + 1, ~0U, CLOSE_RANGE_UNSHARE) < 0)
		return 0;
	if (dirfd > 0)
		close_range(0, dirfd - 1, 0);
	return 1;
}

static void *scan_worker(void *arg)
{
	struct scan *s = arg;
	unsigned seen = 0;
	int own_fds = scan_own_fds(s);
	pthread_mutex_lock(&s->mutex);
	for (;;) {
		while (s->handed == seen && !s->quit)
			pthread_cond_wait(&s->go, &s->mutex);
		if (s->quit)
			break;
		seen = s->handed;
		struct batch *b = s->cur;
		pthread_mutex_unlock(&s->mutex);
		scan_look(s, b, own_fds);
		pthread_mutex_lock(&s->mutex);
		if (--s->busy == 0)
			pthread_cond_signal(&s->done);
	}
	pthread_mutex_unlock(&s->mutex);
	return NULL;
}

/* How many threads may look at the files: the CPUs this process may run
 * on, at most SCAN_THREADS, or what LOCKSPACE_SCAN_THREADS says (digits
 * only, 1 or more; more than SCAN_THREADS_MAX is that many; anything else,
 * 0 included, is the default). */
static unsigned scan_threads(void)
{
	const char *env = getenv(LOCKSPACE_SCAN_THREADS_ENV);
	if (env && *env >= '0' && *env <= '9') {
		char *end;
		errno = 0;
		unsigned long n = strtoul(env, &end, 10);
		if (!*end && n >= 1)
			return errno || n > SCAN_THREADS_MAX ? SCAN_THREADS_MAX : (unsigned)n;
	}
	cpu_set_t cpus;
	if (sched_getaffinity(0, sizeof(cpus), &cpus) < 0)
		return 1;
	int n = CPU_COUNT(&cpus);
	return n < 1 ? 1 : n < SCAN_THREADS ? (unsigned)n : SCAN_THREADS;
}

/* Start up to @n - 1 workers, with every signal blocked (the caller's
 * handling of signals stays as it was): as many as can be started. */
static void scan_start(struct scan *s, unsigned n)
{
	if (pthread_mutex_init(&s->mutex, NULL))
		return;
	if (pthread_cond_init(&s->go, NULL)) {
		pthread_mutex_destroy(&s->mutex);
		return;
	}
	if (pthread_cond_init(&s->done, NULL)) {
		pthread_cond_destroy(&s->go);
		pthread_mutex_destroy(&s->mutex);
		return;
	}
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (s->nworkers + 1 < n && pthread_create(&s->tid[s->nworkers], NULL, scan_worker, s) == 0)
		s->nworkers++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!s->nworkers) {
		pthread_cond_destroy(&s->done);
		pthread_cond_destroy(&s->go);
		pthread_mutex_destroy(&s->mutex);
	}
}

/* Wait until the workers are done with the current batch. */
static void scan_wait(struct scan *s)
{
	if (!s->nworkers)
		return;
	pthread_mutex_lock(&s->mutex);
	while (s->busy)
		pthread_cond_wait(&s->done, &s->mutex);
	pthread_mutex_unlock(&s->mutex);
}

static void scan_stop(struct scan *s)
{
	if (!s->nworkers)
		return;
	pthread_mutex_lock(&s->mutex);
	s->quit = 1;
	pthread_cond_broadcast(&s->go);
	pthread_mutex_unlock(&s->mutex);
	for (unsigned i = 0; i < s->nworkers; i++)
		pthread_join(s->tid[i], NULL);
	s->nworkers = 0;
	pthread_cond_destroy(&s->done);
	pthread_cond_destroy(&s->go);
	pthread_mutex_destroy(&s->mutex);
}

/* Hand the batch @b to the workers. */
static void scan_hand(struct scan *s, struct batch *b)
{
	memset(b->slots, 0, b->n * s->size);
	for (size_t i = 0; i < b->n; i++)
		b->rc[i] = SCAN_PENDING;
	b->next = 0;
	if (!s->nworkers)
		return;
	pthread_mutex_lock(&s->mutex);
	s->cur = b;
	s->handed++;
	s->busy = s->nworkers;
	pthread_cond_broadcast(&s->go);
	pthread_mutex_unlock(&s->mutex);
}

/* Free what the files of @b from @i on that were looked at and not reported hold. */
static void scan_drop(struct scan *s, struct batch *b, size_t i)
{
	for (; i < b->n; i++)
		if (b->rc[i] == 0)
			s->be->look_free(slot_of(s, b, i));
}

/*
 * Report the files of the batch @b in order, while the workers look at the
 * batch @next (NULL: none). A callback that forks leaves its child without
 * the workers: there the walk goes on alone, and looks again at the files of
 * @next that a worker had not finished.
 */
static int scan_report(struct scan *s, struct batch *b, struct batch *next)
{
	int err = 0;
	unsigned forks = __atomic_load_n(&fork_count, __ATOMIC_RELAXED);
	size_t i;
	for (i = 0; !err && i < b->n; i++) {
		void *slot = slot_of(s, b, i);
		struct lockspace_info info = {0};
		struct lsi_owners ow = {0};
		report_start(s->r, b->names[i], NULL, &info);
		int rc = b->rc[i] ? b->rc[i] : s->be->look_owners(s->r->view, b->names[i], slot, &info, &ow);
		err = report_end(s->r, &info, &ow, rc);
		if (__atomic_load_n(&fork_count, __ATOMIC_RELAXED) != forks && s->nworkers) {
			s->nworkers = 0; /* the parent's */
			for (size_t k = 0; next && k < next->n; k++)
				if (next->rc[k] == SCAN_PENDING) {
					memset(slot_of(s, next, k), 0, s->size);
					next->rc[k] = s->be->look(s->r->view, next->names[k],
								  slot_of(s, next, k), 0);
				}
			if (next)
				next->next = next->n;
		}
	}
	scan_drop(s, b, i);
	return err;
}

/* Read up to SCAN_BATCH names of @d into @b. As the serial walk does, an
 * error of readdir ends the walk like the end of the directory. */
static void scan_read(struct batch *b, DIR *d)
{
	struct dirent *de;
	b->n = 0;
	while (b->n < SCAN_BATCH && (de = readdir(d)))
		if (de->d_name[0] != '.' && lockspace_valid_name(de->d_name))
			strcpy(b->names[b->n++], de->d_name);
}

/* The files of @d from the batch @a on, looked at by the workers and the
 * calling thread, reported by the calling thread. */
static int scan_batches(struct scan *s, struct batch *a, struct batch *b, DIR *d)
{
	int err = 0;
	scan_hand(s, a);
	while (a->n) {
		scan_look(s, a, 0);
		scan_wait(s);
		b->n = 0;
		if (!err)
			scan_read(b, d);
		if (b->n)
			scan_hand(s, b);
		if (!err)
			err = scan_report(s, a, b);
		else
			scan_drop(s, a, 0);
		/* A walk that ends early looks at no more files. */
		if (err && b->n)
			__atomic_store_n(&b->next, b->n, __ATOMIC_RELAXED);
		struct batch *t = a;
		a = b;
		b = t;
	}
	return err;
}

/* The walk of one thread: the names of @b already read, then the rest of @d. */
static int scan_alone(struct lsi_report *r, DIR *d, const struct batch *b)
{
	int err = 0;
	for (size_t i = 0; b && !err && i < b->n; i++)
		err = report_one(r, b->names[i], NULL, 0);
	struct dirent *de;
	while (!err && (de = readdir(d))) {
		if (de->d_name[0] == '.' || !lockspace_valid_name(de->d_name))
			continue;
		err = report_one(r, de->d_name, NULL, 0);
	}
	return err;
}

/* The walk of the directory @d: batches of files looked at by several
 * threads once there are SCAN_MIN files or more, else one after another.
 * A small lockspace costs the names of its files, no more. */
static int scan(struct lsi_report *r, DIR *d)
{
	const struct lsi_backend *be = r->ls->backend;
	struct scan s = {.r = r, .be = be};
	unsigned threads = be->look ? scan_threads() : 1;
	int err, many = 0;
	if (threads > 1 && (s.b[0].names = malloc(SCAN_BATCH * sizeof(*s.b[0].names)))) {
		scan_read(&s.b[0], d);
		many = s.b[0].n >= SCAN_MIN;
	}
	if (many) {
		s.size = be->look_size();
		s.b[1].names = malloc(SCAN_BATCH * sizeof(*s.b[1].names));
		for (int k = 0; k < 2; k++) {
			s.b[k].rc = malloc(SCAN_BATCH * sizeof(*s.b[k].rc));
			s.b[k].slots = malloc(SCAN_BATCH * s.size);
			many = many && s.b[k].names && s.b[k].rc && s.b[k].slots;
		}
	}
	if (many) {
		/* Cancelled amid the walk, the calling thread would leave the
		 * workers on its stack: a cancellation waits until the end. */
		int cancel;
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
		pthread_once(&fork_once, scan_fork_init);
		scan_start(&s, threads);
		err = scan_batches(&s, &s.b[0], &s.b[1], d);
		scan_stop(&s);
		pthread_setcancelstate(cancel, NULL);
	} else {
		err = scan_alone(r, d, s.b[0].names ? &s.b[0] : NULL);
	}
	for (int k = 0; k < 2; k++) {
		free(s.b[k].names);
		free(s.b[k].rc);
		free(s.b[k].slots);
	}
	return err;
}

int lockspace_foreach(struct lockspace *ls, unsigned flags, lockspace_info_fn fn, void *arg)
{
	if (!ls || !fn || !LSI_FLAGS_OK(flags, LOCKSPACE_WAITERS | LOCKSPACE_ALL))
		return -EINVAL;
	if (ls->dirfd < 0)
		return -EOPNOTSUPP;
	struct lsi_report rep;
	int err = report_open(&rep, ls, flags, fn, arg);
	if (err)
		return err;
	int dfd = openat(ls->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		err = -errno;
		if (dfd >= 0)
			close(dfd);
	} else {
		err = scan(&rep, d);
		closedir(d);
	}
	report_close(&rep);
	return err;
}

int lockspace_inspect(struct lockspace *ls, const char *resource, unsigned flags, lockspace_info_fn fn,
		      void *arg)
{
	if (!ls || !fn || !LSI_FLAGS_OK(flags, LSI_NAME_FLAGS | LOCKSPACE_WAITERS))
		return -EINVAL;
	char name[LOCKSPACE_NAME_LEN + 1], *content = NULL;
	int err = lsi_resolve_lookup(ls, resource, flags, name, &content);
	if (!err && ls->dirfd < 0 && !content)
		err = -EINVAL; /* direct mode needs the path itself */
	struct lsi_report rep;
	if (!err)
		err = report_open(&rep, ls, flags | LOCKSPACE_WAITERS, fn, arg);
	if (!err) {
		err = report_one(&rep, name, ls->dirfd < 0 ? content : NULL, 1);
		report_close(&rep);
	}
	free(content);
	return err;
}

int lockspace_probe(struct lockspace *ls, const char *resource, unsigned flags, enum lockspace_state *state,
		    pid_t *pid)
{
	if (!ls || !state || !pid || !LSI_FLAGS_OK(flags, LSI_NAME_FLAGS))
		return -EINVAL;
	*state = LOCKSPACE_STATE_FREE;
	*pid = 0;
	if (!ls->backend->probe)
		return -EOPNOTSUPP;
	char name[LOCKSPACE_NAME_LEN + 1], *content = NULL;
	int err = lsi_resolve_lookup(ls, resource, flags, name, &content);
	const char *direct = ls->dirfd < 0 ? content : NULL;
	if (!err && ls->dirfd < 0 && !direct)
		err = -EINVAL;
	if (!err)
		err = ls->backend->probe(ls, name, direct, state, pid);
	free(content);
	return err;
}
