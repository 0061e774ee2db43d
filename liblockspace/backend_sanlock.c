/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* backend_sanlock.c: sanlock resource leases on shared storage, one 1 MiB lease file per resource. */
#ifdef HAVE_SANLOCK
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sanlock_rv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "internal.h"
#include "sanlock_client.h" /* the sanlock_* calls, through the library opened on first use */
#include "sanlock_delta.h"
#include "sanlock_lease.h"

/*
 * The directory holds:
 *   .backend          "sanlock\n" and the sanlock lockspace name and "\n"
 *   .lockspace.lease  the sanlock lockspace (delta leases of host ids)
 *   <md5>             a resource lease of 1 MiB, made on first use
 * Host ids are not stored: each host's daemon knows the id it joined with.
 * The sanlock daemon does all the I/O, with O_DIRECT, as its own user.
 */
#define SL_LOCKSPACE_LEASE ".lockspace.lease"
#define SL_LEASE_SIZE	   (1 << 20)
#define SL_PATH_OFFSET	   (SL_LEASE_SIZE - SL_PATH_AREA)
#define SL_IO_TIMEOUT	   1	/* seconds: a join takes about 3 s, not 21 */
#define SL_MAX_HOST_ID	   2000 /* what a 1 MiB lockspace lease with 512-byte sectors holds */
#define SL_RETRY_MS	   500
#define SL_STALE_TRIES	   100 /* leases of pruned files in a row before giving up */
#define SL_STALE_PAUSE_MS  10

/* The leases this process holds, whichever handle took them. */
struct sl_hold {
	struct sl_hold *next;
	struct lockspace *ls;
	char lsname[SANLK_NAME_LEN + 1];
	char name[LOCKSPACE_NAME_LEN + 1];
	int shared;
	time_t since;
};

/* A lease an acquire of this process waits for: its record says so. */
struct sl_wait {
	struct sl_wait *next;
	struct lockspace *ls;
	const void *call; /* the acquire that waits: two threads of a handle may */
	char name[LOCKSPACE_NAME_LEN + 1];
	int shared;
	time_t since;
};

static pthread_mutex_t sl_mutex = PTHREAD_MUTEX_INITIALIZER; /* libsanlock wants one caller per socket */
static struct sl_hold *sl_holds;
static struct sl_wait *sl_waits;
static int sl_sock = -1;
static pid_t sl_pid;
static pid_t sl_daemon_pid; /* the daemon at the other end of sl_sock */
static int sl_gone;	    /* sl_sock's daemon went away or revoked our leases */

/* A forked child holds nothing: the daemon tied the leases to the parent. */
static void sl_forget_if_forked(void)
{
	if (sl_pid == getpid())
		return;
	while (sl_holds) {
		struct sl_hold *h = sl_holds;
		sl_holds = h->next;
		free(h);
	}
	while (sl_waits) {
		struct sl_wait *w = sl_waits;
		sl_waits = w->next;
		free(w);
	}
	if (sl_sock >= 0)
		close(sl_sock);
	sl_sock = -1;
	sl_daemon_pid = 0;
	sl_gone = 0;
	sl_pid = getpid();
}

/* Map sanlock's return codes onto the library's. */
static int sl_err(int rv)
{
	if (rv >= 0)
		return 0;
	switch (rv) {
	case SANLK_ACQUIRE_IDLIVE:
	case SANLK_ACQUIRE_OWNED:
	case SANLK_ACQUIRE_OTHER:
	case SANLK_ACQUIRE_SHRETRY:
	case SANLK_ACQUIRE_OWNED_RETRY:
	case -EAGAIN:
	case -EBUSY:
	case -EEXIST: /* held by another process of this host */
		return -EBUSY;
	case SANLK_ACQUIRE_LOCKSPACE:
	case -ENOSPC: /* the daemon's "no such lockspace" */
		return -ENOTCONN;
	case SANLK_HOSTID_BUSY:
		return -EADDRINUSE;
	case SANLK_ADDLS_INVALID_HOSTID:
		return -EINVAL;
	case -ECONNREFUSED:
		return -ECONNREFUSED;
	case -EPIPE: /* written to a daemon that is gone (SIGPIPE is blocked around every call) */
	case -ECONNRESET:
		return -ENOLINK;
	case -EMSGSIZE: /* the file is smaller than a lease: not one */
		return -EBADMSG;
	default:
		if (rv <= SANLK_LEADER_READ && rv >= SANLK_LEADER_CHECKSUM)
			return rv == SANLK_LEADER_READ || rv == SANLK_LEADER_WRITE ? -EIO : -EBADMSG;
		if (rv < -200)
			return -EIO;
		return rv > -4096 ? rv : -EIO;
	}
}

/* Is the daemon there? Its socket missing or refusing both mean no. */
static int sl_daemon(void)
{
	uint32_t version, proto;
	int rv = sanlock_version(0, &version, &proto);
	if (rv == -ENOENT || rv == -ECONNREFUSED)
		return -ECONNREFUSED;
	return rv < 0 ? sl_err(rv) : 0;
}

static int sl_copy_name(char *dst, const char *src)
{
	size_t len = strlen(src);
	if (len == 0 || len >= SANLK_NAME_LEN)
		return -EBADMSG;
	memset(dst, 0, SANLK_NAME_LEN);
	memcpy(dst, src, len);
	return 0;
}

static int sl_lockspace_struct(const struct lockspace *ls, struct sanlk_lockspace *sls, uint64_t host_id)
{
	memset(sls, 0, sizeof(*sls));
	int err = sl_copy_name(sls->name, ls->backend_config);
	sls->host_id = host_id;
	if (!err && snprintf(sls->host_id_disk.path, SANLK_PATH_LEN, "%s/%s", ls->dir, SL_LOCKSPACE_LEASE) >=
			    SANLK_PATH_LEN)
		err = -ENAMETOOLONG;
	return err;
}

int lsi_sl_res_struct(const struct lockspace *ls, const char *name, const char *path_name, int shared,
		      struct sl_res *res)
{
	memset(res, 0, sizeof(*res));
	int err = sl_copy_name(res->r.lockspace_name, ls->backend_config);
	if (!err)
		err = sl_copy_name(res->r.name, name);
	res->r.num_disks = 1;
	res->r.flags = shared ? SANLK_RES_SHARED : 0;
	if (!err && snprintf(res->disk.path, SANLK_PATH_LEN, "%s/%s", ls->dir,
			     path_name ? path_name : name) >= SANLK_PATH_LEN)
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
		return rv == -ENOENT || rv == -ECONNREFUSED ? -ECONNREFUSED : sl_err(rv);
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
static char sl_sub_lsname[SANLK_NAME_LEN + 1]; /* the last answer, under sl_mutex */
static long long sl_sub_id;

static int sl_holders_sub(const struct lockspace *ls, int own, char *buf, size_t len)
{
	long long id = lsi_sl_host_id(ls);
	pthread_mutex_lock(&sl_mutex);
	if (id > 0) {
		snprintf(sl_sub_lsname, sizeof(sl_sub_lsname), "%s", ls->backend_config);
		sl_sub_id = id;
	} else if (own && sl_sub_id > 0 && strcmp(sl_sub_lsname, ls->backend_config) == 0) {
		/* The host left, or its daemon went away (or came back and has
		 * not joined again): this process's record is where it wrote it,
		 * and must go. Nothing else is served from this memory. */
		id = sl_sub_id;
	}
	pthread_mutex_unlock(&sl_mutex);
	if (id <= 0)
		return id < 0 ? (int)id : -ENOTCONN;
	snprintf(buf, len, "h%lld", id);
	return 0;
}

/* This host's id and generation in the lockspace, as its daemon knows them.
 * The daemon reports host generations only after its first renewal, about
 * two seconds after a join: until then *generation is 0, unknown. */
static int sl_self(const struct lockspace *ls, uint64_t *id, uint64_t *generation)
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

static int sl_open(struct lockspace *ls, char *config)
{
	(void)ls;
	/* The config is the lockspace name and a newline. */
	char *nl = strchr(config, '\n');
	if (!nl || nl[1] || nl == config || nl - config >= SANLK_NAME_LEN)
		return -EBADMSG;
	*nl = '\0';
	return 0;
}

/* Write a new file @final in the directory with @content, atomically and
 * never over an existing one (another host may make it at the same time).
 * Returns 0, 1 if it existed already, or -errno. */
static int sl_publish(const struct lockspace *ls, const char *tmp, const char *final)
{
	if (linkat(ls->dirfd, tmp, ls->dirfd, final, 0) < 0) {
		int err = errno == EEXIST ? 1 : -errno;
		unlinkat(ls->dirfd, tmp, 0);
		return err;
	}
	unlinkat(ls->dirfd, tmp, 0);
	return 0;
}

static int sl_create_file(const struct lockspace *ls, const char *tmp, const char *content, off_t size)
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
	if (err) {
		unlinkat(ls->dirfd, LSI_BACKEND_FILE, 0);
		unlinkat(ls->dirfd, SL_LOCKSPACE_LEASE, 0);
	}
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
	err = sl_create_file(ls, tmp, NULL, SL_LEASE_SIZE);
	struct sanlk_lockspace sls;
	if (!err)
		err = sl_lockspace_struct(ls, &sls, 0);
	if (!err)
		snprintf(sls.host_id_disk.path, SANLK_PATH_LEN, "%s/%s", ls->dir, tmp);
	if (!err) {
		err = sl_err(sanlock_write_lockspace(&sls, 0, 0, SL_IO_TIMEOUT));
		if (err == 0)
			err = sl_publish(ls, tmp, SL_LOCKSPACE_LEASE);
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
	err = sl_create_file(ls, tmp, text, 0);
	if (!err)
		err = sl_publish(ls, tmp, LSI_BACKEND_FILE);
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

/* Undo sl_make() after a failed join: the lockspace lease and .backend it
 * wrote, .backend first (without it the directory is fcntl again). */
static void sl_unmake(const struct lockspace *ls)
{
	unlinkat(ls->dirfd, LSI_BACKEND_FILE, 0);
	unlinkat(ls->dirfd, SL_LOCKSPACE_LEASE, 0);
}

static int sl_init(struct lockspace *ls, unsigned host_id, lockspace_join_fn fn, void *arg)
{
	if (host_id < 1 || host_id > SL_MAX_HOST_ID)
		return -EINVAL;
	int err = sl_daemon();
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
			err = sl_err(sanlock_add_lockspace_timeout(&sls, 0, SL_IO_TIMEOUT));
	}
	if (err < 0 && !existed)
		sl_unmake(ls);
	if (err < 0)
		return err;
	return joined ? 1 : existed;
}

static int sl_leave(struct lockspace *ls)
{
	int err = sl_daemon();
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
	return sl_err(rv);
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
	return rv == -EINVAL || rv == -EMSGSIZE ? -EBADMSG : sl_err(rv);
}

/* Write @content (the resource; NULL for a lease named by name only) into
 * the path area of the new lease file @tmp. */
static int sl_write_path(const struct lockspace *ls, const char *tmp, const char *content)
{
	size_t len = content ? strlen(content) : 0;
	if (!len)
		return 0;
	if (len >= SL_PATH_AREA)
		return -ENAMETOOLONG;
	int fd = openat(ls->dirfd, tmp, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int err = pwrite(fd, content, len, SL_PATH_OFFSET) == (ssize_t)len ? 0 : errno ? -errno : -EIO;
	if (close(fd) < 0 && !err)
		err = -errno;
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
static int sl_ensure_lease(const struct lockspace *ls, const char *name, const char *content)
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
	int err = sl_create_file(ls, tmp, NULL, SL_LEASE_SIZE);
	struct sl_res res;
	if (!err)
		err = lsi_sl_res_struct(ls, name, tmp, 0, &res);
	if (!err) {
		int rv = sanlock_write_resource(&res.r, 0, 0, 0);
		err = rv == -ENOENT || rv == -ECONNREFUSED ? sl_daemon() : 0;
		if (!err)
			err = sl_err(rv);
	}
	if (!err) /* after sanlock, which writes zeros over its whole megabyte */
		err = sl_write_path(ls, tmp, content);
	if (err < 0) {
		unlinkat(ls->dirfd, tmp, 0);
		return err;
	}
	err = sl_publish(ls, tmp, name);
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
static int sl_verify(const struct lockspace *ls, const char *name, uint64_t id, uint64_t generation)
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
		err = sl_err(rv);
	else
		err = -ESTALE;
	for (int i = 0; rv >= 0 && i < n; i++)
		if (hosts[i].host_id == id && (hosts[i].generation == generation || !generation))
			err = 0;
	free(hosts);
	return err;
}

static struct sl_hold *sl_find(const struct lockspace *ls, const char *name, int any_handle)
{
	for (struct sl_hold *h = sl_holds; h; h = h->next)
		if ((any_handle || h->ls == ls) && strcmp(h->name, name) == 0 &&
		    strcmp(h->lsname, ls->backend_config) == 0)
			return h;
	return NULL;
}

/* Did sl_sock's connection end (sl_mutex held)? The daemon writes to it only
 * its replies to sanlock_acquire() and sanlock_release(), which read them
 * under sl_mutex: readable here, with the mutex held, means its end. */
static int sl_sock_ended(void)
{
	struct pollfd p = {.fd = sl_sock, .events = POLLIN};
	char c;
	return poll(&p, 1, 0) == 1 && ((p.revents & (POLLHUP | POLLERR | POLLNVAL)) ||
				       recv(sl_sock, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0);
}

/* Register this process with the daemon (sl_mutex held): the daemon then
 * frees its leases when it dies. Once: again only after the registration
 * was lost (the daemon went away, or revoked the leases) and every hold of
 * it released, so that a long-lived process can take leases again from the
 * daemon that replaced it. */
static int sl_register(void)
{
	if (sl_sock >= 0 && (sl_holds || !(sl_gone || sl_sock_ended())))
		return 0;
	if (sl_sock >= 0)
		close(sl_sock);
	sl_sock = -1;
	int sock = sanlock_register();
	if (sock < 0)
		return sock == -ENOENT || sock == -ECONNREFUSED ? -ECONNREFUSED : sl_err(sock);
	fcntl(sock, F_SETFD, FD_CLOEXEC);
	struct ucred cred;
	socklen_t len = sizeof(cred);
	sl_daemon_pid = getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 ? cred.pid : 0;
	sl_sock = sock;
	sl_gone = 0;
	return 0;
}

/* Drop the holds of @ls on @names[0..@n) (sl_mutex held). */
static void sl_drop_names(struct lockspace *ls, char (*names)[LOCKSPACE_NAME_LEN + 1], size_t n);

/* One try: take every lease or none. One lease per sanlock call (it takes 8
 * at most, and would not say which one failed); a failure gives back the
 * ones before it, so that a waiter never holds some while it waits. */
static int sl_try(struct lockspace *ls, char (*names)[LOCKSPACE_NAME_LEN + 1], struct sanlk_resource **rp,
		  struct sl_hold **spare, size_t n, int shared, size_t *bad)
{
	size_t i, got = 0;
	for (i = 0; i < n; i++)
		if (sl_find(ls, names[i], 1)) {
			*bad = i;
			return -EBUSY; /* held by this process: never twice */
		}
	uint64_t self_id = 0, self_gen = 0;
	int err = sl_register();
	if (!err)
		err = sl_self(ls, &self_id, &self_gen);
	if (err)
		return err;
	for (; got < n; got++) {
		/* OWNER_NOWAIT: a lease whose owner host stopped renewing is busy
		 * at once, as a held one, not a wait of a minute inside the daemon
		 * (a waiter tries again until that host's lease expired). */
		int rv = sanlock_acquire(sl_sock, -1, SANLK_ACQUIRE_OWNER_NOWAIT, 1, rp + got, NULL);
		/* sl_self() found this host joined: the daemon could not open the
		 * file, which a prune removed since sl_ensure_lease() saw it. */
		err = rv == -ENOENT ? -ESTALE : sl_err(rv);
		if (!err && (err = sl_verify(ls, names[got], self_id, self_gen)) != 0)
			(void)sanlock_release(sl_sock, -1, 0, 1, rp + got); /* the lease of a pruned file */
		if (err) {
			*bad = got;
			break;
		}
		struct sl_hold *h = spare[got];
		spare[got] = NULL;
		h->ls = ls;
		snprintf(h->lsname, sizeof(h->lsname), "%s", ls->backend_config);
		memcpy(h->name, names[got], sizeof(h->name));
		h->shared = shared;
		h->since = time(NULL);
		h->next = sl_holds;
		sl_holds = h;
	}
	if (err) {
		sl_drop_names(ls, names, got);
		for (i = 0; i < got; i++) /* sl_drop freed them: make new ones for a retry */
			if (!(spare[i] = calloc(1, sizeof(**spare))))
				err = -ENOMEM;
	}
	return err;
}

/* Add @names[0..@n) to the waits of @ls for the acquire @call; with @n 0,
 * take @call's out. Without memory a wait is only not reported. */
static void sl_wait_set(struct lockspace *ls, const void *call, char (*names)[LOCKSPACE_NAME_LEN + 1],
			size_t n, int shared)
{
	pthread_mutex_lock(&sl_mutex);
	sl_forget_if_forked();
	for (struct sl_wait **p = &sl_waits; *p;) {
		struct sl_wait *w = *p;
		if (w->call == call) {
			*p = w->next;
			free(w);
		} else {
			p = &w->next;
		}
	}
	time_t now = time(NULL);
	for (size_t i = 0; i < n; i++) {
		struct sl_wait *w = calloc(1, sizeof(*w));
		if (!w)
			break;
		*w = (struct sl_wait){
			.next = sl_waits, .ls = ls, .call = call, .shared = shared, .since = now};
		memcpy(w->name, names[i], sizeof(w->name));
		sl_waits = w;
	}
	pthread_mutex_unlock(&sl_mutex);
}

/* Take the leases of @t[0..@n) all or none, trying again while one is busy
 * and @wait: the daemon queues no waiter, and one holding some would
 * deadlock another. */
static int sl_lock_set(struct lockspace *ls, const struct lsi_target *t, size_t n, int shared, int wait,
		       const struct timespec *deadline, size_t *bad)
{
	int err = 0;
	size_t i;
	char(*names)[LOCKSPACE_NAME_LEN + 1] = calloc(n, sizeof(*names));
	struct sl_res *res = calloc(n, sizeof(*res));
	struct sanlk_resource **rp = calloc(n, sizeof(*rp));
	struct sl_hold **spare = calloc(n, sizeof(*spare)); /* allocated before: no ENOMEM once held */
	*bad = 0;
	if (!names || !res || !rp || !spare)
		err = -ENOMEM;
	for (i = 0; i < n && !err; i++) {
		memcpy(names[i], t[i].name, sizeof(names[i]));
		*bad = i;
		if (!(spare[i] = calloc(1, sizeof(**spare))))
			err = -ENOMEM;
		else
			err = lsi_sl_res_struct(ls, names[i], NULL, shared, &res[i]);
		rp[i] = &res[i].r;
	}
	int stale = 0, waiting = 0;
	/* The daemon names no holder process: every holder keeps a record. */
	if (!err)
		lsi_record_start(ls);
	while (!err) {
		/* Before every try: a prune may have removed a free lease file. */
		for (i = 0; i < n && !err; i++)
			if ((err = sl_ensure_lease(ls, names[i], t[i].content)) != 0)
				*bad = i;
		if (err)
			break;
		pthread_mutex_lock(&sl_mutex);
		sl_forget_if_forked();
		err = sl_try(ls, names, rp, spare, n, shared, bad);
		pthread_mutex_unlock(&sl_mutex);
		if (err == -ESTALE && deadline && lsi_ms_left(deadline) <= 0) {
			err = -ETIMEDOUT;
			break;
		}
		if (err == -ESTALE && ++stale <= SL_STALE_TRIES) {
			/* Leased a pruned file: try again on the new one. */
			struct timespec pause = {.tv_nsec = SL_STALE_PAUSE_MS * 1000000L};
			nanosleep(&pause, NULL);
			err = 0;
			continue;
		}
		if (err == -ESTALE)
			err = -EBUSY; /* pruned again and again: say busy rather than spin */
		if (err != -EBUSY || !wait)
			break;
		/* A waiter is shown on every host from its record, rewritten at
		 * each try: another host trusts only a recent one. */
		if (!waiting)
			sl_wait_set(ls, names, names, n, shared);
		waiting = 1;
		(void)lsi_record_sync(ls);
		long left = deadline ? lsi_ms_left(deadline) : SL_RETRY_MS;
		if (left <= 0) {
			err = -ETIMEDOUT;
			break;
		}
		struct timespec ts = {.tv_nsec = (left < SL_RETRY_MS ? left : SL_RETRY_MS) * 1000000L};
		/* As F_SETLKW does: a caught signal ends a wait for ever; a
		 * finite one only loses a pause. */
		if (nanosleep(&ts, NULL) < 0 && errno == EINTR && !deadline) {
			err = -EINTR;
			break;
		}
		err = 0;
	}
	if (waiting)
		sl_wait_set(ls, names, NULL, 0, shared);
	for (i = 0; spare && i < n; i++)
		free(spare[i]);
	free(spare);
	free(rp);
	free(res);
	free(names);
	if (err && waiting)
		(void)lsi_record_sync(ls); /* the waits are gone; on success the caller syncs */
	return err;
}

/* Release @h (sl_mutex held) and free it. */
static int sl_drop(struct lockspace *ls, struct sl_hold *h)
{
	struct sl_res res;
	int err = lsi_sl_res_struct(ls, h->name, NULL, h->shared, &res);
	struct sanlk_resource *rp = &res.r;
	if (sl_gone)
		err = -ENOLINK; /* the daemon holds nothing for us any more: forget it */
	else if (!err && sl_sock >= 0)
		err = sl_err(sanlock_release(sl_sock, -1, 0, 1, &rp));
	for (struct sl_hold **p = &sl_holds; *p; p = &(*p)->next)
		if (*p == h) {
			*p = h->next;
			break;
		}
	free(h);
	return err;
}

static void sl_drop_names(struct lockspace *ls, char (*names)[LOCKSPACE_NAME_LEN + 1], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct sl_hold *h = sl_find(ls, names[i], 0);
		if (h)
			sl_drop(ls, h);
	}
}

static int sl_unlock(struct lockspace *ls, const char *resource, unsigned flags, int *dropped)
{
	char name[LOCKSPACE_NAME_LEN + 1], *content = NULL;
	int err = lsi_resolve(ls, resource, flags, name, &content);
	free(content);
	if (err)
		return err;
	pthread_mutex_lock(&sl_mutex);
	sl_forget_if_forked();
	struct sl_hold *h = sl_find(ls, name, 0);
	err = h ? sl_drop(ls, h) : -ENOENT;
	pthread_mutex_unlock(&sl_mutex);
	*dropped = h != NULL;
	return err;
}

static int sl_unlock_all(struct lockspace *ls)
{
	int count = 0;
	pthread_mutex_lock(&sl_mutex);
	sl_forget_if_forked();
	struct sl_hold **p = &sl_holds;
	while (*p) {
		if ((*p)->ls != ls) {
			p = &(*p)->next;
			continue;
		}
		sl_drop(ls, *p); /* unlinks it: *p is the next one */
		count++;
	}
	pthread_mutex_unlock(&sl_mutex);
	return count;
}

/* The process's record in a lockspace is one file, which every handle of
 * that lockspace rewrites: each lists the holds and waits of them all. */
static void sl_each_held(struct lockspace *ls,
			 void (*fn)(const char *name, int shared, time_t since, void *arg), void *arg)
{
	pthread_mutex_lock(&sl_mutex);
	sl_forget_if_forked();
	for (struct sl_hold *h = sl_holds; h; h = h->next)
		if (h->ls == ls || strcmp(h->lsname, ls->backend_config) == 0)
			fn(h->name, h->shared, h->since, arg);
	pthread_mutex_unlock(&sl_mutex);
}

static void sl_each_waiting(struct lockspace *ls,
			    void (*fn)(const char *name, int shared, time_t since, void *arg), void *arg)
{
	pthread_mutex_lock(&sl_mutex);
	sl_forget_if_forked();
	for (struct sl_wait *w = sl_waits; w; w = w->next)
		if (w->ls == ls || strcmp(w->ls->backend_config, ls->backend_config) == 0)
			fn(w->name, w->shared, w->since, arg);
	pthread_mutex_unlock(&sl_mutex);
}

/*
 * The daemon ties this process's leases to its registration connection,
 * sl_sock: when the daemon dies (or is restarted) the connection ends and,
 * with no watchdog to reset the host, the leases expire on disk while the
 * process runs on. The daemon writes to that connection only its replies to
 * the acquires and releases made on it (under sl_mutex), so a poller may
 * wake while one is in progress on another thread: sl_lost, under the mutex,
 * tells. When the daemon revokes leases (its lockspace lease failed), it
 * sends SIGTERM, repeatedly, then SIGKILL, to the registered process.
 */
static int sl_watch_fd(struct lockspace *ls)
{
	(void)ls;
	pthread_mutex_lock(&sl_mutex);
	sl_forget_if_forked();
	int fd = sl_sock >= 0 ? sl_sock : -ENOENT;
	pthread_mutex_unlock(&sl_mutex);
	return fd;
}

static int sl_lost(struct lockspace *ls, pid_t sender)
{
	(void)ls;
	pthread_mutex_lock(&sl_mutex);
	sl_forget_if_forked();
	/* The daemon's SIGTERMs repeat until its SIGKILL: each is told apart. */
	int from_daemon = sl_sock >= 0 && sender > 0 && sender == sl_daemon_pid;
	if (sl_sock >= 0 && !sl_gone) {
		if (from_daemon)
			sl_gone = 1;
		if (!sl_gone && sl_sock_ended())
			sl_gone = 1;
	}
	int err = from_daemon ? 1 : sl_gone ? -ENOLINK : 0;
	pthread_mutex_unlock(&sl_mutex);
	return err;
}

static void sl_close(struct lockspace *ls)
{
	(void)ls; /* release_all, called by lockspace_close, did the work */
}

/* A temporary lease file of this host whose process is gone:
 * .<name>.h<host id>.<pid>.<count>.tmp (see sl_ensure_lease). */
static int sl_stale_tmp(const struct lockspace *ls, const char *file)
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

/*
 * Remove the lease file @name if it is free. As with fcntl lock files, the
 * file is unlinked only while this process holds its exclusive lease, and
 * only if it is still the file at that path (sl_verify); an acquirer that
 * leases the unlinked file afterwards finds the path changed and retries.
 * The release then goes to the path, which no longer leads to the file the
 * lease is in: the daemon finds the file gone, or another one whose lease
 * it does not own, and writes nothing.
 */
static int sl_prune_one(struct lockspace *ls, const char *name, int dry_run)
{
	if (!lockspace_valid_name(name)) {
		if (!sl_stale_tmp(ls, name))
			return 0;
		if (dry_run)
			return 1;
		return unlinkat(ls->dirfd, name, 0) == 0 ? 1 : errno == ENOENT ? 0 : -errno;
	}
	/* A file that is not a lease is that file's problem: kept and
	 * reported (a stray fcntl lock file is pruned as one), and the prune
	 * goes on with the others. */
	struct stat st;
	if (fstatat(ls->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	int err = lsi_sl_lease_shape(ls, name, &st);
	if (err)
		return err == -ENOENT ? 0 : err;
	struct sl_res res;
	struct sanlk_resource *rp = &res.r;
	err = lsi_sl_res_struct(ls, name, NULL, 0, &res);
	if (err)
		return err;
	if (dry_run) {
		struct sanlk_host *hosts = NULL;
		int n = 0;
		int rv = sanlock_read_resource_owners(&res.r, 0, &hosts, &n);
		free(hosts);
		if (rv == -ENOENT)
			return 0; /* gone */
		return rv < 0 ? lsi_sl_lease_err(rv) : n == 0;
	}
	uint64_t id = 0, gen = 0;
	int removed = 0;
	pthread_mutex_lock(&sl_mutex);
	sl_forget_if_forked();
	if (sl_find(ls, name, 1))
		goto out; /* this process holds it */
	err = sl_register();
	if (!err)
		err = sl_self(ls, &id, &gen);
	if (err)
		goto out;
	int rv = sanlock_acquire(sl_sock, -1, SANLK_ACQUIRE_OWNER_NOWAIT, 1, &rp, NULL);
	if (rv < 0) {
		err = lsi_sl_lease_err(rv);
		/* Gone, or held: keep. Not a lease of this lockspace
		 * (-EBADMSG): kept, and said. */
		if (rv == -ENOENT || err == -EBUSY)
			err = 0;
		goto out;
	}
	err = sl_verify(ls, name, id, gen);
	if (err == 0) {
		if (unlinkat(ls->dirfd, name, 0) == 0)
			removed = 1;
		else if (errno != ENOENT)
			err = -errno;
	} else if (err == -ESTALE) {
		err = 0; /* another prune removed it just now */
	}
	(void)sanlock_release(sl_sock, -1, 0, 1, &rp);
out:
	pthread_mutex_unlock(&sl_mutex);
	return err < 0 ? err : removed;
}

int lsi_sl_self_hold(const struct lockspace *ls, const char *name, time_t *since)
{
	pthread_mutex_lock(&sl_mutex);
	sl_forget_if_forked();
	struct sl_hold *mine = sl_find(ls, name, 1);
	int shared = mine ? mine->shared : -1;
	*since = mine ? mine->since : 0;
	pthread_mutex_unlock(&sl_mutex);
	return shared;
}

const struct lsi_backend lsi_backend_sanlock = {
	.name = LOCKSPACE_BACKEND_SANLOCK,
	.open = sl_open,
	.close = sl_close,
	.lock_set = sl_lock_set,
	.unlock = sl_unlock,
	.unlock_all = sl_unlock_all,
	.view_open = lsi_sl_view_open,
	.owners = lsi_sl_owners,
	.verdict = lsi_sl_verdict,
	.view_close = lsi_sl_view_close,
	.each_held = sl_each_held,
	.each_waiting = sl_each_waiting,
	.init = sl_init,
	.leave = sl_leave,
	.holders_sub = sl_holders_sub,
	.prune_one = sl_prune_one,
	.watch_fd = sl_watch_fd,
	.lost = sl_lost,
};
#endif
