/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* probe.c: the lock state of lock files: one F_GETLK per file, joined with the records. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "backend.h"
#include "internal.h"

/* One record's claim on a lock file, sorted by name for lookup. */
struct claim_ref {
	const char *name;
	const struct lsi_record *rec;
	const struct lsi_claim *claim;
};

struct walk {
	struct lockspace *ls;
	unsigned flags;
	lockspace_info_fn fn;
	void *arg;
	struct lsi_record *records;
	size_t nrecords;
	struct claim_ref *claims;
	size_t nclaims;
	struct lsi_waiter *waiters;
	size_t nwaiters;
	pid_t self;
	/* Buffers reused from one lock file to the next. */
	struct lockspace_holder *holders;
	size_t cap_holders;
	pid_t *wpids;
	size_t cap_wpids;
	char *lockfile;
	size_t dirlen;
	struct comm *comms[256]; /* command of each pid seen, for the whole walk */
};

struct comm {
	struct comm *next;
	pid_t pid;
	char *name; /* NULL if unknown */
};

static int claim_cmp(const void *a, const void *b)
{
	return strcmp(((const struct claim_ref *)a)->name, ((const struct claim_ref *)b)->name);
}

static int walk_init(struct walk *w, struct lockspace *ls, unsigned flags, lockspace_info_fn fn, void *arg)
{
	memset(w, 0, sizeof(*w));
	w->ls = ls;
	w->flags = flags;
	w->fn = fn;
	w->arg = arg;
	w->self = getpid();
	size_t dirlen = ls->dir ? strlen(ls->dir) : 0;
	w->dirlen = dirlen;
	w->lockfile = malloc(dirlen + LOCKSPACE_NAME_LEN + 2);
	if (!w->lockfile)
		return -ENOMEM;
	if (ls->dir) {
		memcpy(w->lockfile, ls->dir, dirlen);
		w->lockfile[dirlen] = '/';
		int err = lsi_records_load(ls, &w->records, &w->nrecords);
		if (err < 0)
			return err;
	}
	size_t total = 0;
	for (size_t i = 0; i < w->nrecords; i++)
		total += w->records[i].nclaims;
	if (total) {
		w->claims = malloc(total * sizeof(*w->claims));
		if (!w->claims)
			return -ENOMEM;
		for (size_t i = 0; i < w->nrecords; i++)
			for (size_t j = 0; j < w->records[i].nclaims; j++)
				w->claims[w->nclaims++] = (struct claim_ref){
					.name = w->records[i].claims[j].name,
					.rec = &w->records[i],
					.claim = &w->records[i].claims[j],
				};
		qsort(w->claims, w->nclaims, sizeof(*w->claims), claim_cmp);
	}
	if (flags & LOCKSPACE_WAITERS)
		return lsi_read_waiters(&w->waiters, &w->nwaiters);
	return 0;
}

static void walk_free(struct walk *w)
{
	lsi_records_free(w->records, w->nrecords);
	free(w->claims);
	free(w->waiters);
	free(w->holders);
	free(w->wpids);
	free(w->lockfile);
	for (size_t i = 0; i < 256; i++)
		while (w->comms[i]) {
			struct comm *c = w->comms[i];
			w->comms[i] = c->next;
			free(c->name);
			free(c);
		}
}

/* The claims on @name: a range of w->claims. */
static const struct claim_ref *claims_of(const struct walk *w, const char *name, size_t *n)
{
	*n = 0;
	if (!w->nclaims)
		return NULL;
	struct claim_ref key = {.name = name};
	const struct claim_ref *hit = bsearch(&key, w->claims, w->nclaims, sizeof(key), claim_cmp);
	if (!hit)
		return NULL;
	const struct claim_ref *first = hit, *end = hit + 1;
	while (first > w->claims && strcmp(first[-1].name, name) == 0)
		first--;
	while (end < w->claims + w->nclaims && strcmp(end->name, name) == 0)
		end++;
	*n = (size_t)(end - first);
	return first;
}

static struct lockspace_holder *add_holder(struct walk *w, size_t *n)
{
	if (*n == w->cap_holders) {
		size_t cap = w->cap_holders ? w->cap_holders * 2 : 8;
		struct lockspace_holder *h = realloc(w->holders, cap * sizeof(*h));
		if (!h)
			return NULL;
		w->holders = h;
		w->cap_holders = cap;
	}
	struct lockspace_holder *h = &w->holders[(*n)++];
	memset(h, 0, sizeof(*h));
	return h;
}

static const char *command_of(struct walk *w, pid_t pid)
{
	if (pid <= 0)
		return NULL;
	struct comm **head = &w->comms[(unsigned)pid & 255], *c;
	for (c = *head; c; c = c->next)
		if (c->pid == pid)
			return c->name;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->pid = pid;
	c->name = lsi_proc_comm(pid);
	c->next = *head;
	*head = c;
	return c->name;
}

/* What the kernel and the table say about one lock file. */
struct state {
	enum lockspace_state state;
	pid_t pid; /* another process holding it, 0 if none known */
	int self;  /* this process holds it */
	int self_shared;
	time_t self_since;
};

/* Join the kernel's view with the records' claims into w->holders. */
static int build_holders(struct walk *w, const char *name, const struct state *s, size_t *nh)
{
	size_t nc;
	const struct claim_ref *c = claims_of(w, name, &nc);
	int kernel_named = 0, self_named = 0;
	*nh = 0;
	for (size_t i = 0; i < nc; i++) {
		const struct lsi_record *r = c[i].rec;
		int is_self = r->pid == w->self;
		/* A claim stands only if the kernel's state agrees with its mode. */
		int mode_ok = c[i].claim->shared ? s->state == LOCKSPACE_STATE_SHARED
						 : s->state == LOCKSPACE_STATE_EXCLUSIVE;
		int holds = r->live && mode_ok &&
			    (is_self ? s->self : (s->state == LOCKSPACE_STATE_SHARED || r->pid == s->pid));
		struct lockspace_holder *h = add_holder(w, nh);
		if (!h)
			return -ENOMEM;
		h->pid = r->pid;
		h->mode = c[i].claim->shared ? LOCKSPACE_STATE_SHARED : LOCKSPACE_STATE_EXCLUSIVE;
		h->flags = (holds ? LOCKSPACE_HOLDER_RECORD : LOCKSPACE_HOLDER_STALE) |
			   (is_self ? LOCKSPACE_HOLDER_SELF : 0);
		h->command = r->live ? r->command : NULL;
		h->owner = r->owner;
		h->child = r->child;
		h->since = c[i].claim->since;
		if (holds && r->pid == s->pid)
			kernel_named = 1;
		if (holds && is_self)
			self_named = 1;
	}
	if (s->self && !self_named) {
		struct lockspace_holder *h = add_holder(w, nh);
		if (!h)
			return -ENOMEM;
		*h = (struct lockspace_holder){
			.pid = w->self,
			.mode = s->self_shared ? LOCKSPACE_STATE_SHARED : LOCKSPACE_STATE_EXCLUSIVE,
			.flags = LOCKSPACE_HOLDER_SELF | LOCKSPACE_HOLDER_NORECORD,
			.since = s->self_since,
		};
		h->command = command_of(w, w->self);
	}
	if (s->pid > 0 && !kernel_named) {
		struct lockspace_holder *h = add_holder(w, nh);
		if (!h)
			return -ENOMEM;
		*h = (struct lockspace_holder){
			.pid = s->pid,
			.mode = s->state,
			.flags = LOCKSPACE_HOLDER_NORECORD,
		};
		h->command = command_of(w, s->pid);
	}
	return 0;
}

/* Waiters of the file @st, and the holders only /proc/locks shows. */
static int join_proc_locks(struct walk *w, const struct stat *st, enum lockspace_state state, size_t *n,
			   size_t *nh)
{
	*n = 0;
	for (size_t i = 0; i < w->nwaiters; i++) {
		const struct lsi_waiter *x = &w->waiters[i];
		if (x->ino != (unsigned long long)st->st_ino || x->major != major(st->st_dev) ||
		    x->minor != minor(st->st_dev))
			continue;
		if (!x->blocked) {
			int known = x->pid == w->self;
			for (size_t j = 0; j < *nh && !known; j++)
				known = w->holders[j].pid == x->pid &&
					!(w->holders[j].flags & LOCKSPACE_HOLDER_STALE);
			struct lockspace_holder *h = known ? NULL : add_holder(w, nh);
			if (!known && !h)
				return -ENOMEM;
			if (h)
				*h = (struct lockspace_holder){.pid = x->pid,
							       .mode = state,
							       .flags = LOCKSPACE_HOLDER_NORECORD,
							       .command = command_of(w, x->pid)};
			continue;
		}
		if (*n == w->cap_wpids) {
			size_t cap = w->cap_wpids ? w->cap_wpids * 2 : 8;
			pid_t *p = realloc(w->wpids, cap * sizeof(*p));
			if (!p)
				return -ENOMEM;
			w->wpids = p;
			w->cap_wpids = cap;
		}
		w->wpids[(*n)++] = x->pid;
	}
	return 0;
}

/* Look at the file the table holds, through the table's own descriptor: a
 * descriptor of our own must never be opened and closed on a held file. */
static int probe_self(struct lsi_entry *e, struct state *s, char **path, int *integrity, const char *name)
{
	s->self = 1;
	s->self_shared = e->shared;
	s->self_since = e->since;
	s->state = e->shared ? LOCKSPACE_STATE_SHARED : LOCKSPACE_STATE_EXCLUSIVE;
	enum lockspace_state other;
	pid_t pid;
	/* F_GETLK ignores our own locks: it names another shared holder, if any. */
	if (lsi_backend_fcntl.probe(e->fd, &other, &pid) == 0 && other != LOCKSPACE_STATE_FREE)
		s->pid = pid;
	*integrity = name ? lsi_lockfile_read(e->fd, name, path) : 0;
	return 0;
}

/* Report the lock file @name in the lockspace (or, in direct mode, the
 * resource file @direct_path). */
static int report(struct walk *w, const char *name, const char *direct_path, int always)
{
	struct lockspace_info info = {0};
	struct state s = {0};
	struct stat st;
	char *path = NULL;
	int fd = -1, err = 0, have_st = 0;
	struct lockspace *ls = w->ls;
	memcpy(info.name, name, LOCKSPACE_NAME_LEN + 1);
	if (!direct_path) {
		memcpy(w->lockfile + w->dirlen + 1, name, LOCKSPACE_NAME_LEN + 1);
		info.lockfile = w->lockfile;
	} else {
		info.lockfile = direct_path;
	}
	/* Held by this very process? Then never open it. */
	lsi_table_lock();
	if (lsi_table_count()) {
		int rc = direct_path ? stat(direct_path, &st)
				     : fstatat(ls->dirfd, name, &st, AT_SYMLINK_NOFOLLOW);
		struct lsi_entry *e = rc == 0 ? lsi_table_find(st.st_dev, st.st_ino) : NULL;
		if (e && !e->pending) {
			have_st = 1;
			probe_self(e, &s, &path, &info.integrity, direct_path ? NULL : name);
		}
	}
	lsi_table_unlock();
	if (!s.self) {
		fd = direct_path ? open(direct_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
				 : openat(ls->dirfd, name,
					  O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd < 0) {
			if (errno == ENOENT && !always)
				return 0; /* pruned since readdir */
			err = errno == ELOOP || errno == EMLINK ? -ELOOP : -errno;
			if (err == -ENOENT)
				return err;
			info.integrity = err;
		} else {
			err = lsi_backend_fcntl.probe(fd, &s.state, &s.pid);
			if (err < 0)
				info.integrity = err;
		}
	}
	if (!always && s.state == LOCKSPACE_STATE_FREE && !(w->flags & LOCKSPACE_ALL)) {
		if (fd >= 0)
			lsi_close_unheld(fd);
		return 0;
	}
	if (fd >= 0) {
		if (!direct_path && info.integrity == 0)
			info.integrity = lsi_lockfile_read(fd, name, &path);
		if ((w->flags & LOCKSPACE_WAITERS) && !have_st)
			have_st = fstat(fd, &st) == 0;
		lsi_close_unheld(fd);
	}
	if (direct_path) {
		path = strdup(direct_path);
		if (!path)
			return -ENOMEM;
	}
	info.path = path;
	info.state = s.state;
	err = build_holders(w, name, &s, &info.nholders);
	info.holders = w->holders;
	if (!err && have_st && (w->flags & LOCKSPACE_WAITERS) && s.state != LOCKSPACE_STATE_FREE)
		err = join_proc_locks(w, &st, s.state, &info.nwaiters, &info.nholders);
	info.holders = w->holders;
	info.waiters = w->wpids;
	if (!err)
		err = w->fn(&info, w->arg);
	free(path);
	return err;
}

int lockspace_foreach(struct lockspace *ls, unsigned flags, lockspace_info_fn fn, void *arg)
{
	if (!ls || !fn)
		return -EINVAL;
	if (ls->dirfd < 0)
		return -EOPNOTSUPP;
	if (ls->backend->report)
		return ls->backend->report(ls, NULL, flags, fn, arg);
	struct walk w;
	int err = walk_init(&w, ls, flags, fn, arg);
	int dfd = err ? -1 : openat(ls->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!err && !d) {
		err = -errno;
		if (dfd >= 0)
			close(dfd);
	}
	struct dirent *de;
	while (!err && (de = readdir(d))) {
		if (de->d_name[0] == '.' || !lockspace_valid_name(de->d_name))
			continue;
		char name[LOCKSPACE_NAME_LEN + 1];
		for (int i = 0; i <= LOCKSPACE_NAME_LEN; i++)
			name[i] = de->d_name[i];
		err = report(&w, name, NULL, 0);
		if (err == -ENOENT)
			err = 0;
	}
	if (d)
		closedir(d);
	walk_free(&w);
	return err;
}

int lockspace_inspect(struct lockspace *ls, const char *resource, unsigned flags, lockspace_info_fn fn,
		      void *arg)
{
	if (!ls || !fn)
		return -EINVAL;
	char name[LOCKSPACE_NAME_LEN + 1], *content = NULL;
	int err = lsi_resolve(resource, flags, name, &content);
	if (!err && ls->backend->report) {
		free(content);
		return ls->backend->report(ls, name, flags, fn, arg);
	}
	if (!err && ls->dirfd < 0 && !content)
		err = -EINVAL;
	struct walk w;
	if (!err)
		err = walk_init(&w, ls, flags | LOCKSPACE_WAITERS, fn, arg);
	else
		memset(&w, 0, sizeof(w));
	if (!err)
		err = report(&w, name, ls->dirfd < 0 ? content : NULL, 1);
	walk_free(&w);
	free(content);
	return err;
}
