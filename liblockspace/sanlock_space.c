/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sanlock_space.c: a sanlock lockspace's life: made, joined by this host, left; the host's id in it. */
#ifdef HAVE_SANLOCK
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "internal.h"
#include "sanlock_backend.h"
#include "sanlock_client.h" /* the sanlock_* calls, through the library opened on first use */
#include "sanlock_delta.h"

#define SL_IO_TIMEOUT  1    /* seconds: a join takes about 3 s, not 21 */
#define SL_MAX_HOST_ID 2000 /* what a 1 MiB lockspace lease with 512-byte sectors holds */

/* Is the daemon there? Its socket missing or refusing both mean no. */
int lsi_sl_daemon(void)
{
	uint32_t version, proto;
	int rv = sanlock_version(0, &version, &proto);
	if (rv == -ENOENT || rv == -ECONNREFUSED)
		return -ECONNREFUSED;
	return rv < 0 ? lsi_sl_err(rv) : 0;
}

static int sl_lockspace_struct(const struct lockspace *ls, struct sanlk_lockspace *sls, uint64_t host_id)
{
	memset(sls, 0, sizeof(*sls));
	int err = lsi_sl_copy_name(sls->name, ls->backend_config);
	sls->host_id = host_id;
	if (!err && snprintf(sls->host_id_disk.path, SANLK_PATH_LEN, "%s/%s", ls->dir, SL_LOCKSPACE_LEASE) >=
			    SANLK_PATH_LEN)
		err = -ENAMETOOLONG;
	return err;
}

/* This host's id in the lockspace: 0 if not joined (or joining), or -errno. */
long long lsi_sl_host_id(const struct lockspace *ls)
{
	struct sanlk_lockspace *lss = NULL;
	int count = 0;
	int rv = sanlock_get_lockspaces(&lss, &count, 0);
	if (rv < 0 && rv != -ENOSPC) {
		free(lss);
		return rv == -ENOENT || rv == -ECONNREFUSED ? -ECONNREFUSED : lsi_sl_err(rv);
	}
	long long id = 0;
	for (int i = 0; i < count; i++)
		if (strncmp(lss[i].name, ls->backend_config, SANLK_NAME_LEN) == 0)
			id = (long long)lss[i].host_id;
	free(lss);
	return id;
}

/* This host's records live in .holders/h<host id>: pids of two hosts may be
 * equal, and only this host can tell whether one of its pids is alive. */
static pthread_mutex_t sl_sub_mutex = PTHREAD_MUTEX_INITIALIZER;
static char sl_sub_lsname[SANLK_NAME_LEN + 1]; /* the last answer, under sl_sub_mutex */
static long long sl_sub_id;

int lsi_sl_holders_sub(const struct lockspace *ls, int own, char *buf, size_t len)
{
	long long id = lsi_sl_host_id(ls);
	pthread_mutex_lock(&sl_sub_mutex);
	if (id > 0) {
		snprintf(sl_sub_lsname, sizeof(sl_sub_lsname), "%s", ls->backend_config);
		sl_sub_id = id;
	} else if (own && sl_sub_id > 0 && strcmp(sl_sub_lsname, ls->backend_config) == 0) {
		/* The host left, or its daemon went away (or came back and has
		 * not joined again): this process's record is where it wrote it,
		 * and must go. Nothing else is served from this memory. */
		id = sl_sub_id;
	}
	pthread_mutex_unlock(&sl_sub_mutex);
	if (id <= 0)
		return id < 0 ? (int)id : -ENOTCONN;
	snprintf(buf, len, "h%lld", id);
	return 0;
}

/* This host's id and generation in the lockspace, as its daemon knows them.
 * The daemon reports host generations only after its first renewal, about
 * two seconds after a join: until then *generation is 0, unknown. */
int lsi_sl_self(const struct lockspace *ls, uint64_t *id, uint64_t *generation)
{
	long long hid = lsi_sl_host_id(ls);
	if (hid <= 0)
		return hid < 0 ? (int)hid : -ENOTCONN;
	struct sanlk_host *hss = NULL;
	int n = 0;
	int rv = sanlock_get_hosts(ls->backend_config, (uint64_t)hid, &hss, &n, 0);
	*id = (uint64_t)hid;
	*generation = 0;
	for (int i = 0; rv >= 0 && i < n; i++)
		if (hss[i].host_id == (uint64_t)hid)
			*generation = hss[i].generation;
	free(hss);
	return 0; /* a daemon that cannot say (EAGAIN just after a join) leaves it unknown */
}

/* Put the new file @tmp in place as @final, atomically and never over an
 * existing one (another host may make it at the same time). Returns 0, 1 if
 * it existed already, or -errno. */
int lsi_sl_publish(const struct lockspace *ls, const char *tmp, const char *final)
{
	if (linkat(ls->dirfd, tmp, ls->dirfd, final, 0) < 0) {
		int err = errno == EEXIST ? 1 : -errno;
		unlinkat(ls->dirfd, tmp, 0);
		return err;
	}
	unlinkat(ls->dirfd, tmp, 0);
	return 0;
}

/* A new file, under a temporary name until lsi_sl_publish() puts it in place. */
int lsi_sl_create_file(const struct lockspace *ls, const char *tmp, const char *content, off_t size)
{
	unlinkat(ls->dirfd, tmp, 0);
	int fd = openat(ls->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			ls->group ? 0660 : 0600);
	if (fd < 0)
		return -errno;
	int err = 0;
	size_t len = content ? strlen(content) : 0;
	if (len && write(fd, content, len) != (ssize_t)len)
		err = errno ? -errno : -EIO;
	if (!err && size && ftruncate(fd, size) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (err)
		unlinkat(ls->dirfd, tmp, 0);
	return err;
}

/* -ENOTEMPTY if the directory holds an fcntl lock file (no host has joined
 * yet, so anything named as one is one), 0 if not, or -errno. */
static int sl_no_lockfiles(const struct lockspace *ls)
{
	DIR *d;
	struct dirent *de;
	int fd = openat(ls->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	int err = 0;
	while (!err && (de = readdir(d)))
		if (lockspace_valid_name(de->d_name))
			err = -ENOTEMPTY; /* fcntl lock files: they would become corrupt leases */
	closedir(d);
	return err;
}

/* Undo sl_make() after a failed join, or when an fcntl holder keeps the
 * directory: the lockspace lease and .backend it wrote, .backend first
 * (without it the directory is fcntl again). */
static void sl_unmake(const struct lockspace *ls)
{
	unlinkat(ls->dirfd, LSI_BACKEND_FILE, 0);
	unlinkat(ls->dirfd, SL_LOCKSPACE_LEASE, 0);
}

/*
 * An fcntl handle opened before .backend was published makes a new lock
 * file, then looks for .backend (backend_fcntl.c); we publish .backend, then look
 * for lock files. So one of the two sees the other: the handle takes its
 * file back and refuses, or we see the file. Give such a file a moment to
 * go; one that stays is held by an fcntl holder: the directory goes back to
 * being an fcntl lockspace, and the init fails.
 */
static int sl_settle(struct lockspace *ls)
{
	int err = -ENOTEMPTY;
	for (int i = 0; i < 200 && err == -ENOTEMPTY; i++) {
		err = sl_no_lockfiles(ls);
		if (err == -ENOTEMPTY) {
			struct timespec pause = {.tv_nsec = 10 * 1000000L};
			nanosleep(&pause, NULL);
		}
	}
	if (err)
		sl_unmake(ls);
	return err;
}

/* Make the lockspace lease and the .backend file of a new sanlock lockspace. */
static int sl_make(struct lockspace *ls)
{
	char name[SANLK_NAME_LEN], tmp[64];
	char hex[LOCKSPACE_NAME_LEN + 1];
	int err = sl_no_lockfiles(ls);
	if (err)
		return err;

	/* The lockspace name: the MD5 of the directory, as the first host spells it. */
	lsi_md5_hex(ls->dir, strlen(ls->dir), hex);
	snprintf(name, sizeof(name), "virlock-%.32s", hex);
	free(ls->backend_config);
	ls->backend_config = strdup(name);
	if (!ls->backend_config)
		return -ENOMEM;

	snprintf(tmp, sizeof(tmp), ".lockspace.lease.%d.tmp", (int)getpid());
	err = lsi_sl_create_file(ls, tmp, NULL, SL_LEASE_SIZE);
	struct sanlk_lockspace sls;
	if (!err)
		err = sl_lockspace_struct(ls, &sls, 0);
	if (!err)
		snprintf(sls.host_id_disk.path, SANLK_PATH_LEN, "%s/%s", ls->dir, tmp);
	if (!err) {
		err = lsi_sl_err(sanlock_write_lockspace(&sls, 0, 0, SL_IO_TIMEOUT));
		if (err == 0)
			err = lsi_sl_publish(ls, tmp, SL_LOCKSPACE_LEASE);
		else
			unlinkat(ls->dirfd, tmp, 0);
	}
	if (err < 0)
		return err;
	if (err == 1)
		return -EEXIST; /* a lease without .backend: a host made it just now, or a wreck */

	char text[SANLK_NAME_LEN + 16];
	snprintf(text, sizeof(text), "%s\n%s\n", LOCKSPACE_BACKEND_SANLOCK, name);
	snprintf(tmp, sizeof(tmp), ".backend.%d.tmp", (int)getpid());
	err = lsi_sl_create_file(ls, tmp, text, 0);
	if (!err)
		err = lsi_sl_publish(ls, tmp, LSI_BACKEND_FILE);
	if (!err)
		err = sl_settle(ls);
	return err == 1 ? -EEXIST : err;
}

/* sanlock's delays (src/timeouts.c), for an owner with io timeout @io:
 * a join of a free id takes up to 2 io timeouts and 3 more for its I/O; one
 * whose lease must expire first waits the host's death (8 io timeouts and
 * the watchdog's 60 s) before that, and up to 4 io timeouts more. */
#define SL_JOIN_FREE_SECONDS(io)   (5 * (io))
#define SL_JOIN_EXPIRY_SECONDS(io) (8 * (io) + 60 + 2 * (io) + 4 * (io))
#define SL_WATCH_PAUSE_MS	   200

/*
 * Before asking the daemon to join as @host_id: who has the id? sanlock
 * itself, finding the id's delta lease taken by another host name, waits
 * a minute or more to see whether it is renewed, and only then says "in
 * use". A live owner renews every two of its io timeouts: reading the lease
 * again for three of them tells at once. Returns 0 with @fn told how the
 * join goes, or -EADDRINUSE after telling @fn who has the id.
 */
static int sl_join_check(const struct lockspace *ls, unsigned host_id, lockspace_join_fn fn, void *arg)
{
	struct lockspace_join join = {.event = LOCKSPACE_JOIN_START, .host_id = host_id};
	struct lsi_delta first, now;
	unsigned io = SL_IO_TIMEOUT;
	int err = lsi_delta_read(ls, host_id, &first);
	if (err == 0 && first.timestamp != 0) {
		io = first.io_timeout ? first.io_timeout : SL_IO_TIMEOUT;
		struct timespec deadline;
		lsi_deadline(&deadline, (int)(3 * io * 1000));
		int renewed = 0, released = 0;
		while (!renewed && !released && lsi_ms_left(&deadline) > 0) {
			struct timespec pause = {.tv_nsec = SL_WATCH_PAUSE_MS * 1000000L};
			nanosleep(&pause, NULL);
			if (lsi_delta_read(ls, host_id, &now) != 0)
				break; /* the daemon will say what is wrong with it */
			released = now.timestamp == 0;
			renewed = !released &&
				  (now.timestamp != first.timestamp || now.generation != first.generation ||
				   strcmp(now.host_name, first.host_name) != 0);
		}
		join.host_name = renewed ? now.host_name : first.host_name;
		join.generation = renewed ? now.generation : first.generation;
		if (renewed) {
			join.event = LOCKSPACE_JOIN_IN_USE;
			if (fn)
				fn(&join, arg);
			return -EADDRINUSE;
		}
		if (!released) {
			join.event = LOCKSPACE_JOIN_EXPIRY;
			join.seconds = SL_JOIN_EXPIRY_SECONDS(io);
		}
	}
	if (join.event == LOCKSPACE_JOIN_START) {
		join.host_name = NULL;
		join.generation = 0;
		join.seconds = SL_JOIN_FREE_SECONDS(io);
	}
	if (fn)
		fn(&join, arg);
	return 0;
}

int lsi_sl_init(struct lockspace *ls, unsigned host_id, lockspace_join_fn fn, void *arg)
{
	if (host_id < 1 || host_id > SL_MAX_HOST_ID)
		return -EINVAL;
	int err = lsi_sl_daemon();
	if (err < 0)
		return err;
	int existed = ls->backend == &lsi_backend_sanlock;
	if (!existed) {
		err = sl_make(ls);
		if (err < 0)
			return err;
	}
	long long joined = lsi_sl_host_id(ls);
	if (joined == 0)
		err = sl_join_check(ls, host_id, fn, arg);
	else if (joined < 0)
		err = (int)joined;
	else
		err = joined == (long long)host_id ? 0 : -EEXIST;
	if (!err && !joined) {
		struct sanlk_lockspace sls;
		err = sl_lockspace_struct(ls, &sls, host_id);
		if (!err)
			err = lsi_sl_err(sanlock_add_lockspace_timeout(&sls, 0, SL_IO_TIMEOUT));
	}
	if (err < 0 && !existed)
		sl_unmake(ls);
	if (err < 0)
		return err;
	return joined ? 1 : existed;
}

int lsi_sl_leave(struct lockspace *ls)
{
	int err = lsi_sl_daemon();
	if (err < 0)
		return err;
	long long id = lsi_sl_host_id(ls);
	if (id <= 0)
		return id < 0 ? (int)id : -ENOTCONN;
	struct sanlk_lockspace sls;
	err = sl_lockspace_struct(ls, &sls, (uint64_t)id);
	if (err)
		return err;
	int rv = sanlock_rem_lockspace(&sls, SANLK_REM_UNUSED);
	if (rv == -EBUSY)
		return -EBUSY; /* leases held on this host */
	if (rv == -ENOENT)
		return -ENOTCONN;
	return lsi_sl_err(rv);
}
#endif
