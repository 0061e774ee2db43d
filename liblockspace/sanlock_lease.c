/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sanlock_lease.c: the lease files: made on first use, their shape and path area, checked after a lease. */
#ifdef HAVE_SANLOCK
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "internal.h"
#include "sanlock_backend.h"
#include "sanlock_client.h" /* the sanlock_* calls, through the library opened on first use */

#define SL_PATH_OFFSET (SL_LEASE_SIZE - SL_PATH_AREA)

int lsi_sl_copy_name(char *dst, const char *src)
{
	size_t len = strlen(src);
	if (len == 0 || len >= SANLK_NAME_LEN)
		return -EBADMSG;
	memset(dst, 0, SANLK_NAME_LEN);
	memcpy(dst, src, len);
	return 0;
}

int lsi_sl_res_struct(const struct lockspace *ls, const char *name, const char *path_name, int shared,
		      struct sl_res *res)
{
	memset(res, 0, sizeof(*res));
	int err = lsi_sl_copy_name(res->r.lockspace_name, ls->backend_config);
	if (!err)
		err = lsi_sl_copy_name(res->r.name, name);
	res->r.num_disks = 1;
	res->r.flags = shared ? SANLK_RES_SHARED : 0;
	if (!err && snprintf(res->disk.path, SANLK_PATH_LEN, "%s/%s", ls->dir,
			     path_name ? path_name : name) >= SANLK_PATH_LEN)
		err = -ENAMETOOLONG;
	return err;
}

/* The first four bytes of a resource lease (sanlock's leader magic, as
 * it writes it): a truncated lease still has them, a stray lock file not. */
static const unsigned char sl_leader_magic[4] = {0x10, 0x20, 0x15, 0x06};

/*
 * Can the file @name (lstat'ed as @st) be a lease of this lockspace, as far
 * as its kind and size tell? Returns 0 if it may (sanlock reads the rest),
 * LSI_PRUNE_LOCKFILE for an fcntl lock file (a regular file of at most
 * LSI_CONTENT_MAX bytes without a lease's leader: what an fcntl handle of
 * an older version makes), or why it is not one: -ELOOP a symbolic link,
 * -EBADMSG anything else (a directory, a FIFO, a truncated lease).
 */
int lsi_sl_lease_shape(const struct lockspace *ls, const char *name, const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return -ELOOP;
	if (!S_ISREG(st->st_mode))
		return -EBADMSG;
	if (st->st_size >= SL_LEASE_SIZE)
		return 0;
	if (st->st_size > LSI_CONTENT_MAX)
		return -EBADMSG;
	unsigned char head[sizeof(sl_leader_magic)] = {0};
	int fd = openat(ls->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	ssize_t n = pread(fd, head, sizeof(head), 0);
	close(fd);
	return n == (ssize_t)sizeof(head) && memcmp(head, sl_leader_magic, sizeof(head)) == 0
		       ? -EBADMSG
		       : LSI_PRUNE_LOCKFILE;
}

/* What sanlock's answer on reading a lease file means: a file that is not
 * a lease of this lockspace (leader errors, too small, all zeros) is
 * corrupt. */
int lsi_sl_lease_err(int rv)
{
	return rv == -EINVAL || rv == -EMSGSIZE ? -EBADMSG : lsi_sl_err(rv);
}

/* Write @content (the resource; NULL for a lease named by name only) into
 * the path area of the new lease file @tmp. */
static int sl_write_path(const struct lockspace *ls, const char *tmp, const char *content)
{
	size_t len = content ? strlen(content) : 0;
	if (!len)
		return 0;
	if (len >= SL_NONCE_OFFSET - SL_PATH_OFFSET)
		return -ENAMETOOLONG;
	int fd = openat(ls->dirfd, tmp, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int err = pwrite(fd, content, len, SL_PATH_OFFSET) == (ssize_t)len ? 0 : errno ? -errno : -EIO;
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}

/* Write a new random identity, never 0, into the new lease file @tmp. */
static int sl_write_nonce(const struct lockspace *ls, const char *tmp)
{
	unsigned char b[8];
	uint64_t v = 0;
	while ((v & SL_STATE_LVER) == 0) { /* what a hand-off state carries is not 0 */
		if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v) && errno != EINTR)
			return -errno;
	}
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i)); /* little-endian: hosts of every kind read it */
	int fd = openat(ls->dirfd, tmp, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int err = pwrite(fd, b, sizeof(b), SL_NONCE_OFFSET) == (ssize_t)sizeof(b) ? 0 : errno ? -errno : -EIO;
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}

int lsi_sl_read_nonce(const struct lockspace *ls, const char *name, uint64_t *nonce)
{
	unsigned char b[8] = {0};
	int fd = openat(ls->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	ssize_t got = pread(fd, b, sizeof(b), SL_NONCE_OFFSET);
	int err = got < 0 ? -errno : got != (ssize_t)sizeof(b) ? -EBADMSG : 0;
	close(fd);
	*nonce = 0;
	for (int i = 0; !err && i < 8; i++)
		*nonce |= (uint64_t)b[i] << (8 * i);
	return err;
}

int lsi_sl_handoff_state(const struct lockspace *ls, const char *name, uint64_t *state)
{
	struct sl_res res;
	int err = lsi_sl_res_struct(ls, name, NULL, 0, &res);
	struct sanlk_host *hosts = NULL;
	int nhosts = 0;
	uint64_t nonce = 0;
	if (!err)
		err = lsi_sl_lease_err(sanlock_read_resource_owners(&res.r, 0, &hosts, &nhosts));
	free(hosts);
	if (!err)
		err = lsi_sl_read_nonce(ls, name, &nonce);
	if (!err && res.r.lver > SL_STATE_LVER)
		err = -EOVERFLOW;
	if (!err)
		*state = (nonce & SL_STATE_LVER) << 32 | res.r.lver;
	return err;
}

/* Read the path area of the lease file @name into @buf: 0 (with @buf the
 * content, verified against the name), -ENODATA if it is empty, -EBADMSG if
 * it does not hash to the name, or -errno. */
int lsi_sl_read_path(const struct lockspace *ls, const char *name, char buf[SL_PATH_AREA])
{
	int fd = openat(ls->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	ssize_t got = pread(fd, buf, SL_PATH_AREA, SL_PATH_OFFSET);
	int err = got < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	size_t n = (size_t)got < SL_PATH_AREA ? (size_t)got : SL_PATH_AREA;
	size_t len = strnlen(buf, n);
	if (len == 0)
		return -ENODATA;
	if (len == n)
		return -EBADMSG; /* no NUL in the area */
	char hex[LOCKSPACE_NAME_LEN + 1];
	lsi_md5_hex(buf, len, hex);
	return strcmp(hex, name) == 0 ? 0 : -EBADMSG;
}

/* Make the lease file of @name if it is missing: initialised under a
 * temporary name, with @content in its path area, and linked into place, so
 * that no host ever sees a lease file that is not a lease. */
int lsi_sl_ensure_lease(const struct lockspace *ls, const char *name, const char *content)
{
	struct stat st;
	if (fstatat(ls->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		/* Not a lease (a stray fcntl lock file, an empty or truncated
		 * file, a directory): that resource's problem, reported as
		 * corrupt, never made into a lease nor handed to sanlock. */
		int err = lsi_sl_lease_shape(ls, name, &st);
		if (err)
			return err == -ENOENT ? 0 : err < 0 ? err : -EBADMSG;
		/* As a lock file's content: a path that does not hash to the
		 * name is corrupt, never trusted (none, by name only, is fine). */
		char path[SL_PATH_AREA];
		err = content ? lsi_sl_read_path(ls, name, path) : 0;
		return err == -EBADMSG ? err : 0;
	}
	if (errno != ENOENT)
		return -errno;
	/* The temporary name has the host id: another host's process may have
	 * our pid, and each removes its own name before it starts. */
	long long host = lsi_sl_host_id(ls);
	if (host <= 0)
		return host < 0 ? (int)host : -ENOTCONN;
	/* ... and a count, for two threads of this process making one lease. */
	static atomic_uint made;
	char tmp[LOCKSPACE_NAME_LEN + 64];
	snprintf(tmp, sizeof(tmp), ".%.32s.h%lld.%d.%u.tmp", name, host, (int)getpid(),
		 atomic_fetch_add(&made, 1));
	int err = lsi_sl_create_file(ls, tmp, NULL, SL_LEASE_SIZE);
	struct sl_res res;
	if (!err)
		err = lsi_sl_res_struct(ls, name, tmp, 0, &res);
	if (!err) {
		int rv = sanlock_write_resource(&res.r, 0, 0, 0);
		err = rv == -ENOENT || rv == -ECONNREFUSED ? lsi_sl_daemon() : 0;
		if (!err)
			err = lsi_sl_err(rv);
	}
	if (!err) /* after sanlock, which writes zeros over its whole megabyte */
		err = sl_write_path(ls, tmp, content);
	if (!err)
		err = sl_write_nonce(ls, tmp);
	if (err < 0) {
		unlinkat(ls->dirfd, tmp, 0);
		return err;
	}
	err = lsi_sl_publish(ls, tmp, name);
	return err < 0 ? err : 0;
}

/*
 * Does the lease file now at <dir>/@name name this host (@id, @generation;
 * a @generation of 0 matches any) as an owner? The daemon opens a lease file by its path for each acquire,
 * so an acquire that races a prune (which unlinks a lease file while it
 * holds the lease) may get the lease in the file just unlinked, while a new
 * file at the path is leased by another host. The daemon keeps one lease
 * per resource name, so if the file at the path has this host as an owner,
 * that file is the one it leased. Returns 0 yes, -ESTALE no, or -errno.
 */
int lsi_sl_verify(const struct lockspace *ls, const char *name, uint64_t id, uint64_t generation)
{
	struct sl_res res;
	int err = lsi_sl_res_struct(ls, name, NULL, 0, &res);
	if (err)
		return err;
	struct sanlk_host *hosts = NULL;
	int n = 0;
	int rv = sanlock_read_resource_owners(&res.r, 0, &hosts, &n);
	if (rv == -ENOENT)
		err = -ESTALE; /* pruned: the path leads nowhere */
	else if (rv < 0)
		err = lsi_sl_err(rv);
	else
		err = -ESTALE;
	for (int i = 0; rv >= 0 && i < n; i++)
		if (hosts[i].host_id == id && (hosts[i].generation == generation || !generation))
			err = 0;
	free(hosts);
	return err;
}

/* A temporary lease file of this host whose process is gone:
 * .<name>.h<host id>.<pid>.<count>.tmp (see lsi_sl_ensure_lease). */
int lsi_sl_stale_tmp(const struct lockspace *ls, const char *file)
{
	char name[LOCKSPACE_NAME_LEN + 1];
	long long host;
	int pid, end = 0;
	unsigned count;
	/* Lease names are MD5 names: a sanlock lockspace never has SHA-256. */
	if (file[0] != '.' || strlen(file) < LOCKSPACE_MD5_NAME_LEN + 1)
		return 0;
	memcpy(name, file + 1, LOCKSPACE_MD5_NAME_LEN);
	name[LOCKSPACE_MD5_NAME_LEN] = '\0';
	if (!lockspace_valid_name(name) ||
	    sscanf(file + 1 + LOCKSPACE_MD5_NAME_LEN, ".h%lld.%d.%u.tmp%n", &host, &pid, &count, &end) != 3 ||
	    file[1 + LOCKSPACE_MD5_NAME_LEN + end] != '\0' || pid <= 0)
		return 0;
	return host == lsi_sl_host_id(ls) && kill(pid, 0) < 0 && errno == ESRCH;
}
#endif
