/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* prune.c: remove free lock files and stale holder records without racing acquirers. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "internal.h"

struct prune {
	struct lockspace *ls;
	unsigned flags;
	lockspace_prune_file_fn fn;
	void *arg;
	int count;
	char holders[64]; /* this host's records directory, relative to the lockspace */
	char path[4096 + 64];
};

/* Tell of a file removed (@err 0) or kept because it cannot be judged. */
static void report(struct prune *p, const char *sub, const char *name, int err)
{
	if (!err)
		p->count++;
	if (!p->fn)
		return;
	snprintf(p->path, sizeof(p->path), "%s/%s%s%s", p->ls->dir, sub ? sub : "", sub ? "/" : "", name);
	p->fn(p->path, err, p->arg);
}

static void removed(struct prune *p, const char *sub, const char *name)
{
	report(p, sub, name, 0);
}

/* An error that is the lockspace's, not one file's: stop there. */
static int whole(int err)
{
	return err == -ENOMEM || err == -EMFILE || err == -ENFILE || err == -ENOTCONN ||
	       err == -ECONNREFUSED || err == -ENOPKG || err == -ESTALE;
}

/* After a file's prune: report what kept it; 0 to go on, or the error that stops the prune. */
static int judged(struct prune *p, const char *sub, const char *name, int err)
{
	if (err >= 0)
		return 0;
	if (whole(err))
		return err;
	report(p, sub, name, err);
	return 0;
}

/*
 * A lock file (or a label file, in @sub of the lockspace) is removed only
 * while we hold its exclusive lock. An acquirer that opened it before the
 * unlink gets the lock after us, sees that the name no longer leads to its
 * inode, and retries on a new file (backend_fcntl.c, label.c), so two holders never
 * hold one resource, or one label, through two files.
 */
static int prune_file(struct prune *p, int dirfd, const char *sub, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISREG(st.st_mode)) /* not a lock file: kept, and said (inspect tells more) */
		return S_ISLNK(st.st_mode) ? -ELOOP : -EBADMSG;
	lsi_table_lock();
	struct lsi_entry *held = lsi_table_find(st.st_dev, st.st_ino);
	lsi_table_unlock();
	if (held)
		return 0; /* this process holds (or is taking) it */
	int fd = openat(dirfd, name,
			(p->flags & LOCKSPACE_DRY_RUN ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_CLOEXEC |
				O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		lsi_close_unheld(fd);
		return -EBADMSG;
	}
	if (!sub && lsi_handoff_marked(p->ls, name, &st)) {
		lsi_close_unheld(fd); /* kept for the hand-off, until the next acquire */
		return 0;
	}
	if (p->flags & LOCKSPACE_DRY_RUN) {
		enum lockspace_state state;
		pid_t pid;
		if (lsi_fcntl_probe(fd, &state, &pid) == 0 && state == LOCKSPACE_STATE_FREE)
			removed(p, sub, name);
		lsi_close_unheld(fd);
		return 0;
	}
	/* Enter the file in the table first, so that our own threads wait for
	 * us instead of opening (and later closing) it behind our back. */
	lsi_table_lock();
	struct lsi_entry *e = lsi_table_find(st.st_dev, st.st_ino);
	if (e) {
		(void)lsi_entry_stash(e, fd);
		lsi_table_unlock();
		return 0;
	}
	e = lsi_table_insert(st.st_dev, st.st_ino, fd, 0, NULL, 0);
	lsi_table_unlock();
	if (!e) {
		close(fd);
		return -ENOMEM;
	}
	int err = lsi_fcntl_lock(fd, 0, 0, NULL);
	struct stat now;
	/* An fcntl handle whose directory became a sanlock lockspace must not
	 * remove lease files, whose holders no fcntl lock shows. */
	if (err == 0)
		err = lsi_backend_changed(p->ls);
	/* A hand-off marked it between our look and our lock: keep it. */
	if (err == 0 && !sub && fstat(fd, &now) == 0 && now.st_nlink > 1)
		err = -EBUSY;
	if (err == 0 && fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_dev == st.st_dev &&
	    now.st_ino == st.st_ino) {
		if (unlinkat(dirfd, name, 0) == 0)
			removed(p, sub, name);
		else if (errno != ENOENT)
			err = -errno;
	} else if (err == -EBUSY) {
		err = 0; /* held: not free, keep it */
	}
	lsi_table_lock();
	lsi_table_drop(e); /* closes, and so unlocks, after the unlink */
	lsi_table_unlock();
	return err;
}

/* Is the holder behind .holders/<pid>... gone? The record (when readable)
 * gives the start time that tells a reused pid. */
static int holder_gone(int dfd, pid_t pid)
{
	if (pid == getpid())
		return 0;
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 1;
	/* A process whose /proc entry is hidden (hidepid) is not known to be
	 * gone: its record stays. */
	char file[32];
	snprintf(file, sizeof(file), "%d", (int)pid);
	int fd = lsi_record_open(dfd, file);
	if (fd < 0) /* no record: a live pid may be writing its first one; a zombie is gone */
		return lsi_pid_judge(pid, 0) == LSI_PID_GONE;
	struct lsi_record r;
	int gone = 0;
	if (lsi_record_read(fd, &r) == 0) { /* garbage is kept: not known to be gone */
		gone = r.pid != pid || !r.start || lsi_pid_judge(pid, r.start) == LSI_PID_GONE;
		lsi_record_free(&r);
	}
	close(fd);
	return gone;
}

/* Remove records, temporary records and sockets of holders that are gone,
 * hand-off markers whose lock file is gone, and the files of labels nobody claims (of this host's holders, in
 * a lockspace that hosts share). */
static int prune_records(struct prune *p)
{
	int dfd = lsi_holders_dir(p->ls, 0);
	if (dfd == -ENOENT)
		return 0;
	if (dfd < 0)
		return dfd;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	struct dirent *de;
	int err = 0;
	while (!err && (de = readdir(d))) {
		pid_t pid = 0;
		enum lsi_holders_file kind = lsi_holders_file(de->d_name, &pid);
		if (kind == LSI_HF_LABEL) {
			err = judged(p, p->holders, de->d_name,
				     prune_file(p, dirfd(d), p->holders, de->d_name));
			continue;
		}
		if (kind == LSI_HF_OTHER && lsi_handoff_orphan(p->ls, dirfd(d), de->d_name)) {
			/* A hand-off marker whose lock file is gone. */
			if (p->flags & LOCKSPACE_DRY_RUN || unlinkat(dirfd(d), de->d_name, 0) == 0)
				removed(p, p->holders, de->d_name);
			continue;
		}
		if (kind == LSI_HF_OTHER || !holder_gone(dirfd(d), pid))
			continue;
		if (p->flags & LOCKSPACE_DRY_RUN || unlinkat(dirfd(d), de->d_name, 0) == 0)
			removed(p, p->holders, de->d_name);
	}
	closedir(d);
	return err;
}

int lockspace_prune_files(struct lockspace *ls, unsigned flags, lockspace_prune_file_fn fn, void *arg)
{
	if (!ls || !LSI_FLAGS_OK(flags, LOCKSPACE_DRY_RUN))
		return -EINVAL;
	if (ls->dirfd < 0)
		return -EOPNOTSUPP;
	struct prune p = {.ls = ls, .flags = flags, .fn = fn, .arg = arg, .holders = LSI_HOLDERS_DIR};
	char sub[32];
	if (ls->backend->holders_sub) { /* a sanlock host must have joined to judge anything */
		int err = ls->backend->holders_sub(ls, 0, sub, sizeof(sub));
		if (err < 0)
			return err;
		snprintf(p.holders, sizeof(p.holders), "%s/%s", LSI_HOLDERS_DIR, sub);
	}
	int err = lsi_backend_changed(ls);
	if (!err)
		err = prune_records(&p);
	int dfd = err ? -1 : openat(ls->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!err && !d) {
		err = -errno;
		if (dfd >= 0)
			close(dfd);
	}
	struct dirent *de;
	while (!err && (de = readdir(d))) {
		if (!lockspace_valid_name(de->d_name) && de->d_name[0] != '.')
			continue;
		err = ls->backend->prune_one(ls, de->d_name, !!(flags & LOCKSPACE_DRY_RUN));
		if (err == LSI_PRUNE_LOCKFILE)
			err = prune_file(&p, ls->dirfd, NULL, de->d_name);
		else if (err > 0)
			removed(&p, NULL, de->d_name);
		err = judged(&p, NULL, de->d_name, err);
	}
	if (d)
		closedir(d);
	return err < 0 ? err : p.count;
}

struct removals {
	lockspace_prune_fn fn;
	void *arg;
};

static void removal_only(const char *what, int err, void *arg)
{
	struct removals *r = arg;
	if (!err && r->fn)
		r->fn(what, r->arg);
}

int lockspace_prune(struct lockspace *ls, unsigned flags, lockspace_prune_fn fn, void *arg)
{
	struct removals r = {.fn = fn, .arg = arg};
	return lockspace_prune_files(ls, flags, removal_only, &r);
}
