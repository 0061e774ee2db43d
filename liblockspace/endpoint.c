/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* endpoint.c: a holder's control socket, <records directory>/<pid>.sock: made, reached and removed here. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend.h"
#include "internal.h"

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
 * The socket's address: the plain path when it fits in sun_path, else the
 * same file reached through the records directory's descriptor @dfd, never
 * truncated.
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

/* This host's records directory, opened and checked (@how as for
 * lsi_holders_dir()); -ENOTCONN where a sanlock host has not joined. */
static int ep_dir(struct lockspace *ls, int how)
{
	if (ls->dirfd < 0)
		return -EOPNOTSUPP;
	char sub[32];
	if (ls->backend->holders_sub && !(how & LSI_HOLDERS_OWN)) {
		int err = ls->backend->holders_sub(ls, 0, sub, sizeof(sub));
		if (err < 0)
			return err;
	}
	return lsi_holders_dir(ls, how);
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
	int dfd = ep_dir(ls, LSI_HOLDERS_CREATE);
	if (dfd < 0)
		return dfd;
	char name[32];
	ep_name(getpid(), name);
	/* Our pid is ours now: a file of that name is a dead holder's. */
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT) {
		int err = -errno;
		close(dfd);
		return err;
	}
	struct sockaddr_un sa;
	ep_address(ls, dfd, getpid(), &sa);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int err = 0;
	/* bind() makes the socket file with the umask: keep it closed to others
	 * (the peer check refuses them anyway; no file here is world-writable). */
	mode_t mask = umask(077);
	int bound = s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	umask(mask);
	if (!bound || listen(s, 64) < 0) {
		err = -errno;
		if (s >= 0)
			close(s);
	} else {
		if (ls->control_pid) /* a forked child's copy of its parent's */
			close(ls->control_fd);
		ls->control_fd = *fd = s;
		ls->control_pid = getpid();
	}
	close(dfd);
	return err;
}

void lsi_control_drop(struct lockspace *ls)
{
	if (!ls->control_pid)
		return;
	close(ls->control_fd);
	pid_t maker = ls->control_pid;
	ls->control_pid = 0;
	if (maker != getpid()) /* a forked child's copy: the file is its parent's */
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

int lockspace_control_connect(struct lockspace *ls, pid_t pid, int timeout_ms)
{
	if (!ls || pid <= 0 || !LSI_TIMEOUT_OK(timeout_ms))
		return -EINVAL;
	int dfd = ep_dir(ls, 0);
	if (dfd < 0)
		return dfd;
	struct sockaddr_un sa;
	ep_address(ls, dfd, pid, &sa);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int err = -errno;
		close(dfd);
		return err;
	}
	/* A connect to a full backlog blocks up to the send timeout; to the
	 * kernel a zero timeout is none, so -1 (for ever) is zero and 0 is 1 ms. */
	int ms = timeout_ms < 0 ? 0 : timeout_ms ? timeout_ms : 1;
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	int err = 0;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		err = -errno;
	while (!err && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		err = errno == EAGAIN || errno == EINPROGRESS ? -ETIMEDOUT : -errno;
	}
	close(dfd);
	/* The file may be a planted link to another process's socket: talk only
	 * to the process meant, which the caller knows the kernel confirms as
	 * a holder. Root talks to every user's holders (the members of a group
	 * lockspace release each other's locks through root); others to their
	 * own and root's, which refuse them anyway. */
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	if (!err && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0)
		err = -errno;
	if (!err && (cred.pid != pid || (geteuid() != 0 && cred.uid != 0 && cred.uid != geteuid())))
		err = -ESRCH;
	if (!err && fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}
