/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lockfile.c: open lock files safely, check they are still named, verify their content. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* O_NONBLOCK: a FIFO planted as a lock file must not hang the open. */
#define LSI_OPEN_FLAGS (O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)

static int open_direct(const char *path, int shared, struct stat *st)
{
	/* Direct mode locks the resource itself (a disk image): open it, never
	 * create, write or truncate it. The path is already canonical. */
	int fd = open(path, (shared ? O_RDONLY : O_RDWR) | LSI_OPEN_FLAGS);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0 || !(S_ISREG(st->st_mode) || S_ISBLK(st->st_mode))) {
		int err = S_ISDIR(st->st_mode) ? -EISDIR : -EBADMSG;
		lsi_close_unheld(fd);
		return err;
	}
	return fd;
}

int lsi_lockfile_open(const struct lockspace *ls, const char *name, const char *content, int shared,
		      int create, struct stat *st)
{
	if (ls->dirfd < 0)
		return open_direct(content, shared, st);
	for (;;) {
		int fd = openat(ls->dirfd, name, O_RDWR | LSI_OPEN_FLAGS);
		if (fd < 0 && shared && (errno == EACCES || errno == EROFS))
			fd = openat(ls->dirfd, name, O_RDONLY | LSI_OPEN_FLAGS);
		if (fd < 0 && errno == ENOENT && create) {
			mode_t mode = ls->group ? 0660 : 0600;
			fd = openat(ls->dirfd, name, O_RDWR | O_CREAT | O_EXCL | LSI_OPEN_FLAGS, mode);
			if (fd < 0 && errno == EEXIST)
				continue; /* created by someone else meanwhile: open theirs */
			if (fd >= 0 && ls->group)
				(void)fchmod(fd, mode); /* the umask must not shut the group out */
		}
		if (fd < 0 && (errno == EISDIR || errno == ENXIO))
			return -EBADMSG; /* a directory, or a socket: not a lock file */
		if (fd < 0)
			return errno == ELOOP || errno == EMLINK ? -ELOOP : -errno;
		/* A second link could lead outside the lockspace: we would write
		 * the resource's path into whatever file it names. One in
		 * .holders, a hand-off marker, is ours (looked for only then;
		 * an acquire may have consumed it since the fstat: look again). */
		int bad = fstat(fd, st) < 0 || !S_ISREG(st->st_mode) ||
			  (st->st_nlink > 1 && !lsi_handoff_marked(ls, name, st) &&
			   (fstat(fd, st) < 0 || st->st_nlink > 1));
		if (bad || st->st_nlink == 0) {
			lsi_close_unheld(fd);
			if (bad)
				return -EBADMSG;
			continue; /* pruned between our open and fstat: open the new one */
		}
		return fd;
	}
}

int lsi_lockfile_still_named(const struct lockspace *ls, const char *name, const char *content,
			     const struct stat *st, nlink_t *nlink)
{
	struct stat now;
	int rc = ls->dirfd < 0 ? stat(content, &now) : fstatat(ls->dirfd, name, &now, AT_SYMLINK_NOFOLLOW);
	*nlink = rc == 0 ? now.st_nlink : 0;
	return rc == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino;
}

/* Read up to @len bytes from the start of a lock file. A regular file
 * returns less than asked only at its end: no second read to see 0 (one
 * system call less on every acquire, and on every row of list -a). */
static ssize_t read_all(int fd, char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		got += (size_t)n;
		if (n == 0 || got < len)
			break;
	}
	return (ssize_t)got;
}

int lsi_lockfile_verify(int fd, const char *name, const char *content)
{
	char buf[LSI_CONTENT_MAX + 1];
	/* One read tells empty, too large, or the bytes to compare. */
	ssize_t n = read_all(fd, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	if (n == 0) {
		if (!content)
			return 0; /* taken by name: nothing to write */
		size_t len = strlen(content);
		/* Under the lock; a shared co-holder writes the very same bytes. */
		ssize_t w = pwrite(fd, content, len, 0);
		if (w < 0 && errno == EBADF)
			return 0; /* opened read-only for a shared lock: leave it empty */
		return w == (ssize_t)len ? 0 : (w < 0 ? -errno : -EIO);
	}
	if (n > LSI_CONTENT_MAX)
		return -EBADMSG;
	if (content)
		return (size_t)n == strlen(content) && memcmp(buf, content, (size_t)n) == 0 ? 0 : -EBADMSG;
	char sum[LOCKSPACE_NAME_LEN + 1];
	lsi_name_hash(strlen(name), buf, (size_t)n, sum);
	return strcmp(sum, name) == 0 ? 0 : -EBADMSG;
}

int lsi_lockfile_read(int fd, const char *name, char **path)
{
	char buf[LSI_CONTENT_MAX + 1];
	*path = NULL;
	ssize_t n = read_all(fd, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	if (n == 0)
		return -ENODATA;
	if (n > LSI_CONTENT_MAX)
		return -EBADMSG;
	*path = strndup(buf, (size_t)n);
	if (!*path)
		return -ENOMEM;
	char sum[LOCKSPACE_NAME_LEN + 1];
	lsi_name_hash(strlen(name), buf, (size_t)n, sum);
	return strcmp(sum, name) == 0 ? 0 : -EBADMSG;
}
