/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* endpoint.c: a holder's control socket: a random abstract name that its record publishes, or the file
 * <records directory>/<pid>.sock. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend.h"
#include "internal.h"

/*
 * Where a holder listens. An abstract socket (Linux): a name, not a file,
 * so that a supervisor creates and removes nothing in the records directory
 * for it (directory metadata that a journalling filesystem makes slow in
 * bursts), and no stale file outlives a crash. Anyone may bind any abstract
 * name, so the name is one nobody can guess before it is bound: "virlock/"
 * and 128 random bits, bound before it is written in the holder's record.
 * Once bound, /proc/net/unix shows it to everyone, but nobody can take it
 * any more. A client connects only to the name a record gives that the
 * holder's own user owns and that bears the holder's start time, and still
 * talks only to the pid the kernel confirms (SO_PEERCRED).
 * A record without a name (LOCKSPACE_CONTROL=file, or a holder of an earlier
 * version): the file <records directory>/<pid>.sock.
 */
static socklen_t ep_abstract(const char *name, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	int n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "%s", name);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

/* A fresh random name into @name: 0 or -errno. */
static int ep_random_name(char name[LSI_CONTROL_NAME_LEN + 1])
{
	unsigned char bits[16];
	size_t got = 0;
	while (got < sizeof(bits)) {
		ssize_t n = getrandom(bits + got, sizeof(bits) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		got += (size_t)n;
	}
	int len = snprintf(name, LSI_CONTROL_NAME_LEN + 1, "%s", LSI_CONTROL_PREFIX);
	for (size_t i = 0; i < sizeof(bits); i++)
		len += snprintf(name + len, 3, "%02x", bits[i]);
	return 0;
}

const char *lsi_control_name(const struct lockspace *ls)
{
	return ls->control_pid == getpid() ? ls->control_name : "";
}

static void ep_name(pid_t pid, char name[32])
{
	snprintf(name, 32, "%d" LOCKSPACE_CONTROL_SUFFIX, (int)pid);
}

int lockspace_control_path(struct lockspace *ls, pid_t pid, char **path)
{
	if (path)
		*path = NULL;
	if (!ls || !path || pid <= 0)
		return -EINVAL;
	char *holders = NULL;
	int err = lsi_holders_path(ls, &holders);
	if (err < 0)
		return err;
	char name[32];
	ep_name(pid, name);
	if (asprintf(path, "%s/%s", holders, name) < 0) {
		*path = NULL;
		err = -ENOMEM;
	}
	free(holders);
	return err;
}

/*
 * The socket file's address: the plain path when it fits in sun_path, else
 * the same file reached through the records directory's descriptor @dfd,
 * never truncated.
 */
static void ep_address(struct lockspace *ls, int dfd, pid_t pid, struct sockaddr_un *sa)
{
	char *path = NULL;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	int n = lockspace_control_path(ls, pid, &path) == 0
			? snprintf(sa->sun_path, sizeof(sa->sun_path), "%s", path)
			: -1;
	free(path);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path)) {
		char name[32];
		ep_name(pid, name);
		snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", dfd, name);
	}
}

/* Where @ls keeps this host's records: -EOPNOTSUPP in direct mode,
 * -ENOTCONN (or the backend's error) where a sanlock host has not joined. */
static int ep_usable(struct lockspace *ls, int how)
{
	if (ls->dirfd < 0)
		return -EOPNOTSUPP;
	char sub[32];
	if (ls->backend->holders_sub && !(how & LSI_HOLDERS_OWN)) {
		int err = ls->backend->holders_sub(ls, 0, sub, sizeof(sub));
		if (err < 0)
			return err;
	}
	return 0;
}

/* This host's records directory, opened and checked (@how as for lsi_holders_dir()). */
static int ep_dir(struct lockspace *ls, int how)
{
	int err = ep_usable(ls, how);
	return err < 0 ? err : lsi_holders_dir(ls, how);
}

/* Bind and listen on @sa (@len long): the socket, or -errno. */
static int ep_bind(const struct sockaddr_un *sa, socklen_t len)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -errno;
	/* bind() makes a socket file with the umask: keep it closed to others
	 * (the peer check refuses them anyway; no file here is world-writable). */
	mode_t mask = umask(077);
	int bound = bind(s, (const struct sockaddr *)sa, len) == 0;
	umask(mask);
	if (!bound || listen(s, 64) < 0) {
		int err = -errno;
		close(s);
		return err;
	}
	return s;
}

/* The fallback: the file <pid>.sock in the records directory. */
static int ep_listen_file(struct lockspace *ls)
{
	int dfd = ep_dir(ls, LSI_HOLDERS_CREATE);
	if (dfd < 0)
		return dfd;
	char name[32];
	ep_name(getpid(), name);
	/* Our pid is ours now: a file of that name is a dead holder's. */
	int s = unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	if (s == 0) {
		struct sockaddr_un sa;
		ep_address(ls, dfd, getpid(), &sa);
		s = ep_bind(&sa, sizeof(sa));
	}
	close(dfd);
	return s;
}

/* Bind and listen on a fresh random name into @name: the socket or -errno.
 * A taken name is drawn again once: 128 random bits are never taken by
 * chance, so a second clash is something else, said as it is. */
static int ep_listen_abstract(char name[LSI_CONTROL_NAME_LEN + 1])
{
	int s = -EADDRINUSE;
	for (int tries = 0; tries < 2 && s == -EADDRINUSE; tries++) {
		struct sockaddr_un sa;
		s = ep_random_name(name);
		if (s == 0)
			s = ep_bind(&sa, ep_abstract(name, &sa));
	}
	return s;
}

int lockspace_control_listen(struct lockspace *ls, int *fd)
{
	if (!ls || !fd)
		return -EINVAL;
	*fd = -1;
	if (ls->control_pid == getpid()) {
		*fd = ls->control_fd;
		return 0;
	}
	int err = ep_usable(ls, 0);
	if (err < 0)
		return err;
	/* LOCKSPACE_CONTROL=file: the file, for clients in another network
	 * namespace (abstract names are per network namespace). */
	const char *how = secure_getenv("LOCKSPACE_CONTROL");
	int file = how && strcmp(how, "file") == 0;
	char name[LSI_CONTROL_NAME_LEN + 1] = "";
	int s = file ? ep_listen_file(ls) : ep_listen_abstract(name);
	if (s < 0)
		return s;
	if (ls->control_pid) /* a forked child's copy of its parent's */
		close(ls->control_fd);
	/* The name before the pid that makes it count (lsi_control_name()). */
	memcpy(ls->control_name, name, sizeof(name));
	ls->control_fd = *fd = s;
	ls->control_pid = getpid();
	ls->control_file = file;
	/* Publish the name: a client that reads it finds the socket bound. A
	 * handle that has no record yet publishes it with its first one. */
	return file ? 0 : lsi_record_sync(ls);
}

void lsi_control_drop(struct lockspace *ls)
{
	if (!ls->control_pid)
		return;
	close(ls->control_fd);
	pid_t maker = ls->control_pid;
	ls->control_pid = 0;
	/* An abstract name goes with the socket. A forked child's copy: the file is its parent's. */
	if (!ls->control_file || maker != getpid())
		return;
	/* Also after a sanlock host left or lost its daemon, as for the record. */
	int dfd = ep_dir(ls, LSI_HOLDERS_OWN);
	if (dfd < 0)
		return;
	char name[32];
	ep_name(maker, name);
	unlinkat(dfd, name, 0);
	close(dfd);
}

/*
 * Connect to @sa and check the peer: the process meant, which the caller
 * knows the kernel confirms as a holder (a file may be a planted link to
 * another process's socket, an abstract name may be squatted). Root talks
 * to every user's holders (the members of a group lockspace release each
 * other's locks through root); others to their own and root's, which
 * refuse them anyway. The descriptor, or -errno (-ESRCH: not @pid's).
 */
static int ep_connect(const struct sockaddr_un *sa, socklen_t len, pid_t pid, int timeout_ms)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A connect to a full backlog blocks up to the send timeout; to the
	 * kernel a zero timeout is none, so -1 (for ever) is zero and 0 is 1 ms. */
	int ms = timeout_ms < 0 ? 0 : timeout_ms ? timeout_ms : 1;
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	int err = 0;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		err = -errno;
	while (!err && connect(fd, (const struct sockaddr *)sa, len) < 0) {
		if (errno == EINTR)
			continue;
		err = errno == EAGAIN || errno == EINPROGRESS ? -ETIMEDOUT : -errno;
	}
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	if (!err && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0)
		err = -errno;
	if (!err && cred.pid != pid)
		err = -ESRCH;
	/* The holder, as another user: what a socket file's mode said before. */
	if (!err && geteuid() != 0 && cred.uid != 0 && cred.uid != geteuid())
		err = -EACCES;
	if (!err && fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* Does @pid run, but /proc hides it from this process? */
static int ep_hidden(pid_t pid)
{
	char path[32];
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return (kill(pid, 0) == 0 || errno == EPERM) && access(path, F_OK) < 0 && errno == ENOENT;
}

/* Does @pid run in another network namespace than this process? 0 also
 * when either cannot be read (nothing is said then). */
static int ep_other_netns(pid_t pid)
{
	char path[64], theirs[64], ours[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	ssize_t a = readlink(path, theirs, sizeof(theirs) - 1);
	ssize_t b = readlink("/proc/self/ns/net", ours, sizeof(ours) - 1);
	if (a <= 0 || b <= 0)
		return 0;
	return a != b || memcmp(theirs, ours, (size_t)a) != 0;
}

/* Holder @pid's record in the records directory @dfd: 0 and its abstract
 * name in @name ("" for none, or no record: the file), or -EACCES where
 * the record is closed to us. */
static int ep_record_name(int dfd, pid_t pid, char name[LSI_CONTROL_NAME_LEN + 1])
{
	char file[32];
	*name = '\0';
	snprintf(file, sizeof(file), "%d", (int)pid);
	int fd = lsi_record_open(dfd, file);
	if (fd < 0)
		return fd == -EACCES || fd == -EPERM ? -EACCES : 0;
	/* In a group lockspace any member may replace another's record: a
	 * record that is not the holder's own user's names nothing of it (the
	 * name it gives could be a socket that never answers). */
	struct stat rec, proc;
	char dir[32];
	snprintf(dir, sizeof(dir), "/proc/%d", (int)pid);
	if (fstat(fd, &rec) == 0 && stat(dir, &proc) == 0 && rec.st_uid != proc.st_uid) {
		close(fd);
		return -EBADMSG;
	}
	lsi_record_control(fd, lsi_proc_start(pid), name);
	close(fd);
	return 0;
}

int lockspace_control_connect(struct lockspace *ls, pid_t pid, int timeout_ms)
{
	if (!ls || pid <= 0 || !LSI_TIMEOUT_OK(timeout_ms))
		return -EINVAL;
	int dfd = ep_dir(ls, 0);
	if (dfd < 0)
		return dfd;
	char name[LSI_CONTROL_NAME_LEN + 1];
	int fd = ep_record_name(dfd, pid, name);
	if (fd == -EBADMSG) {
		close(dfd);
		return fd;
	}
	struct sockaddr_un sa;
	if (fd == 0 && *name) {
		close(dfd);
		fd = ep_connect(&sa, ep_abstract(name, &sa), pid, timeout_ms);
		/* Abstract names are per network namespace. */
		if (fd == -ECONNREFUSED && (kill(pid, 0) == 0 || errno == EPERM) && ep_other_netns(pid))
			return -ENETUNREACH;
		return fd;
	}
	if (fd == 0) {
		ep_address(ls, dfd, pid, &sa);
		fd = ep_connect(&sa, sizeof(sa), pid, timeout_ms);
	}
	close(dfd);
	/* A holder that runs where /proc hides it from us (hidepid) would refuse us anyway. */
	if ((fd == -ENOENT || fd == -ECONNREFUSED) && !lsi_proc_start(pid) && ep_hidden(pid))
		return -EACCES;
	return fd;
}
