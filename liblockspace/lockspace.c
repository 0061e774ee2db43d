/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lockspace.c: lockspace handles: open (with the directory's safety checks) and close. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "internal.h"

#define STR_(x) #x
#define STR(x)	STR_(x)

const char *lockspace_version(void)
{
	return STR(LOCKSPACE_VERSION_MAJOR) "." STR(LOCKSPACE_VERSION_MINOR) "." STR(LOCKSPACE_VERSION_PATCH);
}

int lockspace_default_dir(char **out)
{
	if (!out)
		return -EINVAL;
	const char *env;
	int n;
	*out = NULL;
	if (geteuid() == 0)
		n = asprintf(out, "/var/lib/virlock/lockspace");
	else if ((env = getenv("XDG_RUNTIME_DIR")) && *env == '/')
		n = asprintf(out, "%s/virlock", env);
	else
		n = asprintf(out, "/tmp/virlock-%u", (unsigned)geteuid());
	if (n < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* mkdir -p of the parents of @dir (mode 0755). */
static int make_parents(const char *dir)
{
	char *copy = strdup(dir);
	if (!copy)
		return -ENOMEM;
	int err = 0;
	for (char *p = copy + 1; *p && !err; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			err = -errno;
		*p = '/';
	}
	free(copy);
	return err;
}

static int open_dir(const char *dir, unsigned flags)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT || (flags & LOCKSPACE_OPEN_NOCREATE))
		return fd >= 0 ? fd : -errno;
	if (flags & LOCKSPACE_OPEN_PARENTS) {
		int err = make_parents(dir);
		if (err < 0)
			return err;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd >= 0 ? fd : -errno;
}

static const struct lsi_backend *backend_by_name(const char *name)
{
	if (!name || strcmp(name, LOCKSPACE_BACKEND_FCNTL) == 0)
		return &lsi_backend_fcntl;
#ifdef HAVE_SANLOCK
	if (strcmp(name, LOCKSPACE_BACKEND_SANLOCK) == 0)
		return &lsi_backend_sanlock;
#endif
	return NULL;
}

/* Read <dir>/.backend into @buf: 0 and @buf its text, 1 if there is none
 * (fcntl), or -errno. */
static int backend_file_read(int dirfd, char *buf, size_t len)
{
	int fd = openat(dirfd, LSI_BACKEND_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? 1 : -errno;
	ssize_t n;
	do
		n = read(fd, buf, len - 1);
	while (n < 0 && errno == EINTR);
	int err = n < 0 ? -errno : 0;
	close(fd);
	if (err < 0)
		return err;
	buf[n] = '\0';
	return (size_t)n == strlen(buf) ? 0 : -EBADMSG;
}

/* Read <dir>/.backend: "BACKEND\nCONFIG...". One failed openat for an fcntl
 * lockspace is all it costs the common path. */
static int lsi_backend_load(struct lockspace *ls)
{
	char buf[512];
	int err = backend_file_read(ls->dirfd, buf, sizeof(buf));
	if (err)
		return err > 0 ? 0 : err;
	char *nl = strchr(buf, '\n');
	if (!nl)
		return -EBADMSG;
	*nl = '\0';
	const struct lsi_backend *b = backend_by_name(buf);
	if (!b)
		return strcmp(buf, LOCKSPACE_BACKEND_SANLOCK) == 0 ? -EOPNOTSUPP : -EBADMSG;
	ls->backend = b;
	if (b->open) {
		ls->backend_config = strdup(nl + 1);
		if (!ls->backend_config)
			return -ENOMEM;
		return b->open(ls, ls->backend_config);
	}
	return 0;
}

/*
 * A handle keeps the backend it found at open: an fcntl handle opened
 * before `init --backend sanlock` would otherwise go on making fcntl lock
 * files in what is now a lease directory. The check costs a system call, so
 * it is made only where a lock file is made (or found empty), where a lock
 * file turns out not to be one, and in prune and the views; sanlock init
 * refuses a directory with lock files in it and looks again once its
 * .backend is in place, so a lock file made during the init is seen by one
 * of the two (see sl_make, sanlock_space.c).
 */
int lsi_backend_changed(const struct lockspace *ls)
{
	if (ls->dirfd < 0 || ls->backend != &lsi_backend_fcntl)
		return 0;
	/* Without a descriptor: a process at its open files limit must get
	 * -EMFILE where it opens its lock files, not a changed backend here. */
	struct stat st;
	if (fstatat(ls->dirfd, LSI_BACKEND_FILE, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	char buf[512];
	int err = backend_file_read(ls->dirfd, buf, sizeof(buf));
	if (err > 0)
		return 0;
	if (err < 0 && err != -EBADMSG)
		return err; /* cannot tell (-EMFILE, -EACCES): say why, not that it changed */
	char *nl = err == 0 ? strchr(buf, '\n') : NULL;
	if (nl)
		*nl = '\0';
	/* An unreadable .backend is not known to be fcntl either. */
	return nl && backend_by_name(buf) == &lsi_backend_fcntl ? 0 : -ESTALE;
}

int lockspace_open(const char *dir, unsigned flags, struct lockspace **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if ((dir && !*dir) ||
	    !LSI_FLAGS_OK(flags, LOCKSPACE_OPEN_NOCREATE | LOCKSPACE_OPEN_PARENTS | LOCKSPACE_OPEN_SHA256))
		return -EINVAL;
	if (dir && strlen(dir) >= PATH_MAX)
		return -ENAMETOOLONG;
	struct lockspace *ls = calloc(1, sizeof(*ls));
	if (!ls)
		return -ENOMEM;
	ls->dirfd = -1;
	ls->backend = &lsi_backend_fcntl;
	ls->hash = flags & LOCKSPACE_OPEN_SHA256 ? LOCKSPACE_SHA256 : 0;
	pthread_mutex_init(&ls->record_lock, NULL);
	if (!dir) {
		*out = ls;
		return 0;
	}
	int err = open_dir(dir, flags);
	if (err < 0)
		goto fail;
	ls->dirfd = err;
	struct stat st;
	if (fstat(ls->dirfd, &st) < 0) {
		err = -errno;
		goto fail;
	}
	ls->dir_dev = st.st_dev;
	ls->dir_ino = st.st_ino;
	/* Anyone who can write the directory can swap lock files under us.
	 * The sticky bit does not make it safe: anyone could still create a
	 * resource's lock file (or .holders) first, as their own, and lock
	 * the others out; see virlock-lockspace(5). */
	if ((st.st_mode & S_IWOTH) || (st.st_uid != 0 && st.st_uid != geteuid())) {
		err = -EPERM;
		goto fail;
	}
	/* A group-writable directory without the setgid bit gives each member's
	 * files (.holders first) that member's own group: the others cannot use
	 * them, and the lockspace breaks for everyone. Refuse it before making
	 * anything in it. */
	if ((st.st_mode & S_IWGRP) && !(st.st_mode & S_ISGID)) {
		err = -EPERM;
		goto fail;
	}
	ls->group = (st.st_mode & S_ISGID) && (st.st_mode & S_IWGRP);
	ls->dir_uid = st.st_uid;
	ls->dir_gid = st.st_gid;
	/* A .holders left by an earlier run that does not fit the lockspace
	 * (another owner or group, a mode the members cannot use) is refused
	 * here, for every command alike, rather than by whichever call first
	 * reads or writes a record. */
	struct stat hst;
	if (fstatat(ls->dirfd, LSI_HOLDERS_DIR, &hst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(hst.st_mode) &&
	    !lsi_holders_fit(ls, &hst)) {
		err = -EPERM;
		goto fail;
	}
	ls->dir = realpath(dir, NULL);
	if (!ls->dir) {
		err = -errno;
		goto fail;
	}
	err = lsi_backend_load(ls);
	/* Leases are named by MD5, as libvirt's sanlock driver names them. */
	if (err == 0 && ls->hash && ls->backend != &lsi_backend_fcntl)
		err = -EOPNOTSUPP;
	if (err < 0)
		goto fail;
	*out = ls;
	return 0;
fail:
	lockspace_close(ls);
	return err;
}

void lockspace_close(struct lockspace *ls)
{
	if (!ls)
		return;
	/* Remove the record first: rewriting it empty on the way out is waste. */
	lsi_record_remove(ls);
	lockspace_release_all(ls);
	if (ls->label && ls->label_pid == getpid())
		lsi_label_drop(ls); /* after the locks: a new claimer of the label finds them free */
	lsi_control_drop(ls);	    /* last: a client that finds no socket finds all of it free */
	free(ls->label_owner);
	if (ls->backend && ls->backend->close)
		ls->backend->close(ls);
	free(ls->backend_config);
	if (ls->dirfd >= 0)
		close(ls->dirfd);
	pthread_mutex_destroy(&ls->record_lock);
	free(ls->dir);
	free(ls->owner);
	free(ls);
}

const char *lockspace_dir(const struct lockspace *ls)
{
	return ls ? ls->dir : NULL;
}

const char *lockspace_backend(const struct lockspace *ls)
{
	return ls && ls->backend ? ls->backend->name : LOCKSPACE_BACKEND_FCNTL;
}

/* The directories of @dir's path (itself first, then its parents) that do
 * not exist: what an init may create, and must remove if it fails. Returns
 * a malloc'd copy of the highest one, or NULL if @dir exists. */
static char *missing_top(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) == 0)
		return NULL;
	char *top = strdup(dir);
	while (top) {
		char *slash = strrchr(top, '/');
		while (slash && slash > top && slash[1] == '\0') { /* trailing slashes */
			*slash = '\0';
			slash = strrchr(top, '/');
		}
		if (!slash || slash == top)
			break;
		*slash = '\0';
		if (stat(top, &st) == 0) {
			*slash = '/';
			break;
		}
	}
	return top;
}

/* Remove the empty directories from @dir up to @top (a prefix of it). */
static void remove_made(const char *dir, const char *top)
{
	char *path = strdup(dir);
	size_t keep = strlen(top);
	while (path && strlen(path) >= keep) {
		if (rmdir(path) < 0)
			break;
		char *slash = strrchr(path, '/');
		if (!slash || slash == path)
			break;
		*slash = '\0';
	}
	free(path);
}

int lockspace_init(const char *dir, const char *backend, unsigned host_id, unsigned flags)
{
	return lockspace_init_notify(dir, backend, host_id, flags, NULL, NULL);
}

int lockspace_init_notify(const char *dir, const char *backend, unsigned host_id, unsigned flags,
			  lockspace_join_fn fn, void *arg)
{
	if (!dir || !LSI_FLAGS_OK(flags, LOCKSPACE_OPEN_NOCREATE | LOCKSPACE_OPEN_PARENTS))
		return -EINVAL;
	const struct lsi_backend *want = backend_by_name(backend);
	if (!want) {
		if (backend && strcmp(backend, LOCKSPACE_BACKEND_SANLOCK) == 0)
			return -EOPNOTSUPP;
		return -EINVAL;
	}
	if ((want == &lsi_backend_fcntl) != (host_id == 0))
		return -EINVAL;
	struct stat st;
	int existed = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
	char *top = existed ? NULL : missing_top(dir);
	struct lockspace *ls;
	int err = lockspace_open(dir, flags, &ls);
	if (err < 0) {
		free(top);
		return err;
	}
	if (ls->backend != want && ls->backend != &lsi_backend_fcntl)
		err = -EEXIST; /* already a lockspace of another backend */
	else if (want->init)
		err = want->init(ls, host_id, fn, arg);
	else if (ls->backend != want)
		err = -EEXIST;
	else
		err = existed;
	lockspace_close(ls);
	if (err < 0 && top)
		remove_made(dir, top);
	free(top);
	return err;
}

int lockspace_leave(const char *dir)
{
	if (!dir)
		return -EINVAL;
	struct lockspace *ls;
	int err = lockspace_open(dir, LOCKSPACE_OPEN_NOCREATE, &ls);
	if (err < 0)
		return err;
	err = ls->backend->leave ? ls->backend->leave(ls) : -EOPNOTSUPP;
	lockspace_close(ls);
	return err;
}

int lockspace_watch_fd(struct lockspace *ls)
{
	if (!ls)
		return -EINVAL;
	return ls->backend && ls->backend->watch_fd ? ls->backend->watch_fd(ls) : -ENOENT;
}

int lockspace_lost(struct lockspace *ls, pid_t sender)
{
	if (!ls)
		return -EINVAL;
	return ls->backend && ls->backend->lost ? ls->backend->lost(ls, sender) : 0;
}
