/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* probe.c: the lock state of lock files and their owners: one F_GETLK per file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "backend.h"
#include "internal.h"

/* What the kernel and the table say about one lock file. */
struct state {
	enum lockspace_state state;
	pid_t pid;  /* another process holding it, 0 if none known */
	int seen;   /* F_GETLK found another process's lock (pid as it says) */
	int remote; /* that lock is held on another host (pid 0) */
	int self;   /* this process holds it */
	int self_shared;
	time_t self_since;
};

struct walk {
	struct lockspace *ls;
	unsigned flags;
	struct lsi_waiter *waiters;
	size_t nwaiters;
	pid_t self;
	/* Buffers reused from one lock file to the next. */
	pid_t *wpids;
	size_t cap_wpids;
	pid_t *kpids; /* the holders /proc/locks shows on the current file */
	size_t cap_kpids, nkpids;
	struct lsi_owner *owners; /* the current file's */
	size_t cap_owners;
	char *path;    /* the current file's */
	int proc_read; /* kpids is known for the current file */
	int have_st;   /* dev and ino are the current file's */
	dev_t dev;
	ino_t ino;
	struct state cur; /* the current file's, for lsi_fcntl_verdict() */
	long fs_type;	  /* the lockspace directory's statfs type */
};

/* One lock file looked at (look()), not yet reported. */
struct look {
	struct state s;
	char *path; /* its content (malloc'd), or NULL */
	int integrity;
	int have_st; /* dev and ino are known */
	int later;   /* the table holds it: to be looked at by the walk's thread */
	dev_t dev;
	ino_t ino;
};

static int walk_init(struct walk *w, struct lockspace *ls, unsigned flags)
{
	memset(w, 0, sizeof(*w));
	w->ls = ls;
	w->flags = flags;
	w->self = getpid();
	/* Asked here, once, not by the threads that look at the files. */
	struct statfs sf;
	if (ls->dirfd >= 0)
		w->fs_type = fstatfs(ls->dirfd, &sf) == 0 ? (long)sf.f_type : 0;
	if (flags & LOCKSPACE_WAITERS)
		return lsi_read_waiters(&w->waiters, &w->nwaiters);
	return 0;
}

static void walk_free(struct walk *w)
{
	free(w->waiters);
	free(w->owners);
	free(w->path);
	free(w->wpids);
	free(w->kpids);
}

/* Room for one more of @n elements of @size in @buf, whose capacity is *@cap:
 * returns the buffer to use from now on, or NULL (then @buf is left as it was). */
static void *grow(void *buf, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return buf;
	size_t ncap = *cap ? *cap * 2 : 8;
	void *nb = realloc(buf, ncap * size);
	if (nb)
		*cap = ncap;
	return nb;
}

static int kernel_shows(const struct walk *w, pid_t pid)
{
	for (size_t i = 0; i < w->nkpids; i++)
		if (w->kpids[i] == pid)
			return 1;
	return 0;
}

/*
 * Does the kernel confirm the claim of @r (@shared or exclusive) on a file in state @s?
 * The pid F_GETLK names holds it (its record may be live, or of a process
 * whose /proc entry is hidden), and so does this process if the table holds
 * it. F_GETLK names one holder of a shared lock: a further shared holder's
 * live record is confirmed by /proc/locks when that was read anyway, else by
 * the lock lines of its own /proc/PID/fdinfo; when those cannot be read it
 * is unconfirmed.
 */
static int claim_confirmed(const struct walk *w, const struct state *s, const struct lsi_record *r,
			   int shared)
{
	if (r->pid == w->self)
		return s->self && !s->self_shared == !shared ? LSI_CLAIM_HOLDS : LSI_CLAIM_STALE;
	if (!(r->live || r->unknown) ||
	    s->state != (shared ? LOCKSPACE_STATE_SHARED : LOCKSPACE_STATE_EXCLUSIVE))
		return LSI_CLAIM_STALE;
	if (r->pid == s->pid)
		return LSI_CLAIM_HOLDS;
	if (!shared)
		return LSI_CLAIM_STALE;
	if (w->proc_read)
		return kernel_shows(w, r->pid) ? LSI_CLAIM_HOLDS : LSI_CLAIM_STALE;
	if (!w->have_st)
		return LSI_CLAIM_UNCONFIRMED;
	int rc = lsi_fdinfo_read_lock(r->pid, w->dev, (unsigned long long)w->ino);
	return rc > 0 ? LSI_CLAIM_HOLDS : rc == 0 ? LSI_CLAIM_STALE : LSI_CLAIM_UNCONFIRMED;
}

int lsi_fcntl_verdict(void *view, const struct lsi_record *r, const struct lsi_claim *claim)
{
	const struct walk *w = view;
	return claim_confirmed(w, &w->cur, r, claim->shared);
}

/*
 * The owners of the file beside the records' claims: this process, the pid
 * F_GETLK names and the further holders /proc/locks shows, each unless a
 * record that holds names it.
 */
static int build_owners(struct walk *w, const struct state *s, struct lsi_owners *out)
{
	size_t n = 0, need = 2 + w->nkpids;
	if (need > w->cap_owners) {
		struct lsi_owner *o = realloc(w->owners, need * sizeof(*o));
		if (!o)
			return -ENOMEM;
		w->owners = o;
		w->cap_owners = need;
	}
	struct lsi_owner *o = w->owners;
	if (s->self)
		o[n++] = (struct lsi_owner){
			.h = {.pid = w->self,
			      .mode = s->self_shared ? LOCKSPACE_STATE_SHARED : LOCKSPACE_STATE_EXCLUSIVE,
			      .flags = LOCKSPACE_HOLDER_SELF | LOCKSPACE_HOLDER_NORECORD,
			      .since = s->self_since},
			.late = 1,
			.cover = LSI_COVER_PID,
		};
	if (s->remote) /* on another host: no pid, command or record of ours */
		o[n++] = (struct lsi_owner){
			.h = {.mode = s->state, .flags = LOCKSPACE_HOLDER_REMOTE},
			.late = 1,
		};
	else if (s->pid > 0)
		o[n++] = (struct lsi_owner){
			.h = {.pid = s->pid, .mode = s->state, .flags = LOCKSPACE_HOLDER_NORECORD},
			.late = 1,
			.cover = LSI_COVER_PID,
		};
	for (size_t i = 0; i < w->nkpids; i++)
		if (w->kpids[i] != w->self)
			o[n++] = (struct lsi_owner){
				.h = {.pid = w->kpids[i],
				      .mode = s->state,
				      .flags = LOCKSPACE_HOLDER_NORECORD},
				.late = 1,
				.cover = LSI_COVER_PID,
			};
	*out = (struct lsi_owners){.o = o, .n = n};
	return 0;
}

/* From /proc/locks, the waiters of the current file into w->wpids and its holders into w->kpids. */
static int join_proc_locks(struct walk *w, size_t *n)
{
	*n = 0;
	w->nkpids = 0;
	w->proc_read = 1;
	for (size_t i = 0; i < w->nwaiters; i++) {
		const struct lsi_waiter *x = &w->waiters[i];
		if (x->ino != (unsigned long long)w->ino || x->major != major(w->dev) ||
		    x->minor != minor(w->dev))
			continue;
		pid_t **buf = x->blocked ? &w->wpids : &w->kpids;
		size_t *cnt = x->blocked ? n : &w->nkpids;
		pid_t *p = grow(*buf, x->blocked ? &w->cap_wpids : &w->cap_kpids, *cnt, sizeof(*p));
		if (!p)
			return -ENOMEM;
		*buf = p;
		p[(*cnt)++] = x->pid;
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
	if (lsi_fcntl_probe(e->fd, &other, &pid) == 0 && other != LOCKSPACE_STATE_FREE) {
		s->pid = pid;
		s->seen = 1;
	}
	*integrity = name ? lsi_lockfile_read(e->fd, name, path) : 0;
	return 0;
}

/* The statfs type of the filesystem of the lock file (@direct_path, or the
 * lockspace directory's); 0 if unknown. */
static long look_fs_type(const struct walk *w, const char *direct_path)
{
	struct statfs sf;
	if (direct_path)
		return statfs(direct_path, &sf) == 0 ? (long)sf.f_type : 0;
	return w->fs_type;
}

/* Close a lock file's descriptor that look() opened. */
static void look_close(int fd, int own_fds)
{
	if (own_fds)
		close(fd); /* no lock of the process can go with it */
	else
		lsi_close_unheld(fd);
}

/*
 * What the kernel and the table show of one lock file: everything owners()
 * asks with a system call, written into @l and nowhere else (of @w it reads
 * what the view fixed when it opened), so that the files of a walk can be
 * looked at by several threads at once. @own_fds: see backend.h's look; such
 * a thread leaves a file that the table holds to the walk's thread
 * (l->later), whose descriptors the table's are. Returns 0, 1 to skip the
 * file, or -ENOENT.
 */
static int look(const struct walk *w, const char *name, const char *direct_path, int always, int own_fds,
		struct look *l)
{
	struct state *s = &l->s;
	struct stat st;
	int fd = -1, err = 0, have_st = 0;
	struct lockspace *ls = w->ls;
	/* Held by this very process? Then never open it. (An acquire adds the
	 * file to the table before it locks it: none is held while the table
	 * is empty, and one held since is the close's to mind.) */
	if (lsi_table_count_unlocked()) {
		lsi_table_lock();
		int rc = direct_path ? stat(direct_path, &st)
				     : fstatat(ls->dirfd, name, &st, AT_SYMLINK_NOFOLLOW);
		struct lsi_entry *e = rc == 0 ? lsi_table_find(st.st_dev, st.st_ino) : NULL;
		if (e && !e->pending && own_fds)
			l->later = 1;
		else if (e && !e->pending) {
			have_st = 1;
			probe_self(e, s, &l->path, &l->integrity, direct_path ? NULL : name);
		}
		lsi_table_unlock();
		if (l->later)
			return 0;
	}
	if (!s->self) {
		fd = direct_path ? open(direct_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
				 : openat(ls->dirfd, name,
					  O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd < 0) {
			if (errno == ENOENT && !always)
				return 1; /* pruned since readdir */
			err = errno == ELOOP || errno == EMLINK ? -ELOOP : -errno;
			if (err == -ENOENT)
				return err;
			l->integrity = err;
		} else {
			err = lsi_fcntl_probe(fd, &s->state, &s->pid);
			if (err < 0)
				l->integrity = err;
			s->seen = s->state != LOCKSPACE_STATE_FREE;
			if (own_fds && s->seen &&
			    (s->pid == w->self || lsi_fs_cluster(look_fs_type(w, direct_path)))) {
				/* Locked by another thread since the table was
				 * asked: this thread sees the process's lock as
				 * another's (on a cluster filesystem, perhaps
				 * under a pid that is not ours: any holder is
				 * asked again there). The walk's thread asks again. */
				close(fd);
				*l = (struct look){.later = 1};
				return 0;
			}
		}
	}
	/* A holder on another host of a cluster filesystem has no pid here:
	 * never show its number as a process of this host. */
	if (s->seen && s->pid < 0 && !have_st && fd >= 0)
		have_st = fstat(fd, &st) == 0;
	if (s->seen && lsi_holder_remote(&s->pid, look_fs_type(w, direct_path), have_st ? &st : NULL) > 0) {
		s->remote = 1;
		s->pid = 0;
	}
	if (!always && s->state == LOCKSPACE_STATE_FREE && !(w->flags & LOCKSPACE_ALL)) {
		if (fd >= 0)
			look_close(fd, own_fds);
		free(l->path);
		l->path = NULL;
		return 1;
	}
	if (fd >= 0) {
		if (!direct_path && l->integrity == 0)
			l->integrity = lsi_lockfile_read(fd, name, &l->path);
		/* The file's identity: for the waiters, or to find a further
		 * shared holder's lock in its fdinfo. */
		if (!have_st && s->state != LOCKSPACE_STATE_FREE)
			have_st = fstat(fd, &st) == 0;
		look_close(fd, own_fds);
	}
	l->have_st = have_st;
	if (have_st) {
		l->dev = st.st_dev;
		l->ino = st.st_ino;
	}
	return 0;
}

/* The rest of owners() for the file @l looked at: the report's side, on the
 * calling thread; the view takes the path @l holds. */
static int looked(struct walk *w, struct look *l, const char *direct_path, struct lockspace_info *info,
		  struct lsi_owners *out)
{
	free(w->path);
	w->path = l->path;
	l->path = NULL;
	if (direct_path) {
		free(w->path);
		if (!(w->path = strdup(direct_path)))
			return -ENOMEM;
	}
	info->path = w->path;
	info->integrity = l->integrity;
	info->state = l->s.state;
	w->nkpids = 0;
	w->proc_read = 0;
	w->have_st = l->have_st;
	w->dev = l->dev;
	w->ino = l->ino;
	w->cur = l->s;
	int err = 0; /* an error of the file is in info->integrity */
	if (l->have_st && (w->flags & LOCKSPACE_WAITERS) && l->s.state != LOCKSPACE_STATE_FREE)
		err = join_proc_locks(w, &info->nwaiters);
	info->waiters = w->wpids;
	return err ? err : build_owners(w, &l->s, out);
}

int lsi_fcntl_owners(void *view, const char *name, const char *direct_path, int always,
		     struct lockspace_info *info, struct lsi_owners *out)
{
	struct walk *w = view;
	struct look l = {0};
	free(w->path);
	w->path = NULL;
	int rc = look(w, name, direct_path, always, 0, &l);
	return rc ? rc : looked(w, &l, direct_path, info, out);
}

size_t lsi_fcntl_look_size(void)
{
	return sizeof(struct look);
}

int lsi_fcntl_look(const void *view, const char *name, void *slot, int own_fds)
{
	return look(view, name, NULL, 0, own_fds, slot);
}

int lsi_fcntl_look_owners(void *view, const char *name, void *slot, struct lockspace_info *info,
			  struct lsi_owners *out)
{
	struct look *l = slot;
	const struct walk *w = view;
	if (!l->later && lsi_table_count_unlocked()) {
		/* Held since it was looked at (by the callback, or another
		 * thread)? The table says, as in the walk of one thread. */
		struct stat st;
		struct lsi_entry *e = NULL;
		lsi_table_lock();
		if (fstatat(w->ls->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			e = lsi_table_find(st.st_dev, st.st_ino);
		l->later = e && !e->pending;
		lsi_table_unlock();
		if (l->later)
			free(l->path);
	}
	if (l->later) { /* held by this process: looked at here, through the table */
		*l = (struct look){0};
		int rc = look(view, name, NULL, 0, 0, l);
		if (rc)
			return rc;
	}
	return looked(view, l, NULL, info, out);
}

void lsi_fcntl_look_free(void *slot)
{
	struct look *l = slot;
	free(l->path);
	l->path = NULL;
}

int lsi_fcntl_view_open(struct lockspace *ls, const struct lsi_report *rep, void **view)
{
	int err = lsi_backend_changed(ls); /* lease files would all read as corrupt lock files */
	if (err)
		return err;
	struct walk *w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	err = walk_init(w, ls, rep->flags);
	if (err) {
		walk_free(w);
		free(w);
		return err;
	}
	*view = w;
	return 0;
}

void lsi_fcntl_view_close(void *view)
{
	walk_free(view);
	free(view);
}

int lsi_fcntl_probe_one(struct lockspace *ls, const char *name, const char *direct,
			enum lockspace_state *state, pid_t *pid)
{
	/* Held by this process: the table says so, and the file is never opened. */
	struct stat st;
	lsi_table_lock();
	if (lsi_table_count() &&
	    (direct ? stat(direct, &st) : fstatat(ls->dirfd, name, &st, AT_SYMLINK_NOFOLLOW)) == 0) {
		struct lsi_entry *e = lsi_table_find(st.st_dev, st.st_ino);
		if (e && !e->pending) {
			*state = e->shared ? LOCKSPACE_STATE_SHARED : LOCKSPACE_STATE_EXCLUSIVE;
			*pid = getpid();
		}
	}
	lsi_table_unlock();
	if (*pid)
		return 0;
	int fd = direct ? open(direct, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
			: openat(ls->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return errno == ELOOP || errno == EMLINK ? -ELOOP : -errno;
	int err = lsi_fcntl_probe(fd, state, pid);
	struct statfs sf;
	/* A holder on another host, or one this host cannot name: no pid. */
	if (err == 0 && *pid != 0 &&
	    lsi_holder_remote(pid, fstatfs(fd, &sf) == 0 ? (long)sf.f_type : 0,
			      *pid < 0 && fstat(fd, &st) == 0 ? &st : NULL) != 0)
		*pid = 0;
	lsi_close_unheld(fd);
	if (err < 0) {
		*state = LOCKSPACE_STATE_FREE;
		*pid = 0;
	}
	return err;
}
