/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* control_socket.c: a holder's control socket in its records directory, both ends, with deadlines. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <lockspace.h>

#include "control.h"

static long long cs_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int cs_left(long long deadline)
{
	long long left = deadline - cs_now_ms();
	return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/* Wait for @events on @fd until @deadline: 0, -ETIMEDOUT or -errno. */
static int cs_wait(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, cs_left(deadline));
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* Open the holders directory as a path descriptor, for names longer than sun_path. */
static int cs_holders_dir(const char *holders)
{
	int fd = open(holders, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * The socket's address: the plain path when it fits in sun_path, else the
 * same file reached through the directory descriptor @dfd, never truncated.
 */
static void cs_address(const char *holders, int dfd, pid_t pid, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	int n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%d" LOCKSPACE_CONTROL_SUFFIX, holders,
			 (int)pid);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
		snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%d" LOCKSPACE_CONTROL_SUFFIX,
			 dfd, (int)pid);
}

int control_listen(const char *holders, int *fd)
{
	*fd = -1;
	int dfd = cs_holders_dir(holders);
	if (dfd < 0)
		return dfd;
	char name[32];
	snprintf(name, sizeof(name), "%d" LOCKSPACE_CONTROL_SUFFIX, (int)getpid());
	/* Our pid is ours now: a file of that name is a dead holder's. */
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT) {
		int err = -errno;
		close(dfd);
		return err;
	}
	struct sockaddr_un sa;
	cs_address(holders, dfd, getpid(), &sa);
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
		*fd = s;
	}
	close(dfd);
	return err;
}

void control_unlisten(const char *holders, int fd)
{
	if (fd < 0)
		return;
	close(fd);
	int dfd = cs_holders_dir(holders);
	if (dfd < 0)
		return;
	char name[32];
	snprintf(name, sizeof(name), "%d" LOCKSPACE_CONTROL_SUFFIX, (int)getpid());
	unlinkat(dfd, name, 0);
	close(dfd);
}

static int cs_send_all(int fd, const char *buf, size_t len, long long deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		int err = cs_wait(fd, POLLOUT, deadline);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Read one line of at most @max bytes (newline included) into a malloc'd
 * *out, NUL-terminated without its newline. 0, -ETIMEDOUT, -E2BIG, -EPROTO
 * (end of stream or a NUL byte before the newline), -ENOMEM or -errno.
 */
static int cs_read_line(int fd, size_t max, long long deadline, char **out)
{
	size_t len = 0, cap = 256;
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	int err = 0;
	for (;;) {
		if (len == cap) {
			cap = cap * 2 > max ? max : cap * 2;
			char *nbuf = realloc(buf, cap);
			if (!nbuf) {
				err = -ENOMEM;
				break;
			}
			buf = nbuf;
		}
		ssize_t n = recv(fd, buf + len, cap - len, 0);
		if (n == 0) {
			err = -EPROTO;
			break;
		}
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				err = -errno;
				break;
			}
			err = cs_wait(fd, POLLIN, deadline);
			if (err)
				break;
			continue;
		}
		char *nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl) {
			*nl = '\0';
			if (strlen(buf) != (size_t)(nl - buf))
				err = -EPROTO;
			break;
		}
		if (len >= max) {
			err = -E2BIG;
			break;
		}
	}
	if (err)
		free(buf);
	else
		*out = buf;
	return err;
}

static void cs_answer(int fd, int code, const char *text, long long deadline)
{
	char buf[CONTROL_MAX_ANSWER];
	control_format_answer(code, text, buf, sizeof(buf));
	cs_send_all(fd, buf, strlen(buf), deadline);
}

/* A client that gave up (timed out and closed) must not have its request done late. */
static int cs_peer_gone(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLRDHUP};
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

int control_read_line(int fd, size_t max, int timeout_ms, char **out)
{
	return cs_read_line(fd, max, cs_now_ms() + timeout_ms, out);
}

int control_serve(int listenfd, control_handler_fn fn, void *arg)
{
	return control_serve_within(listenfd, CONTROL_READ_TIMEOUT_MS, fn, arg);
}

int control_serve_within(int listenfd, int read_timeout_ms, control_handler_fn fn, void *arg)
{
	int fd = accept4(listenfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return -1;
	long long deadline = cs_now_ms() + read_timeout_ms;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		cs_answer(fd, -EACCES, "permission denied: only the holder's user or root may control it",
			  deadline);
		close(fd);
		return -1;
	}
	char *line = NULL;
	int err = cs_read_line(fd, CONTROL_MAX_REQUEST, deadline, &line);
	if (err == -E2BIG || (err == -EPROTO && !cs_peer_gone(fd))) {
		cs_answer(fd, -EINVAL, "bad request", deadline);
	} else if (err == 0 && !cs_peer_gone(fd)) {
		struct control_request req;
		char text[CONTROL_MAX_ANSWER - 32] = "";
		int code = control_parse_request(line, &req);
		if (code == 0) {
			code = fn(&req, text, sizeof(text), arg);
			control_request_free(&req);
		} else {
			snprintf(text, sizeof(text), "bad request");
		}
		if (code == CONTROL_DEFER) {
			/* Tell the client we took its request: if we end before the
			 * answer, it knows not to start anew elsewhere. */
			cs_send_all(fd, CONTROL_TAKEN "\n", strlen(CONTROL_TAKEN) + 1,
				    cs_now_ms() + read_timeout_ms);
			free(line);
			return fd;
		}
		cs_answer(fd, code, text, cs_now_ms() + read_timeout_ms);
	}
	free(line);
	close(fd);
	return -1;
}

void control_answer(int fd, int code, const char *text)
{
	cs_answer(fd, code, text, cs_now_ms() + CONTROL_READ_TIMEOUT_MS);
	close(fd);
}

static int cs_connect(const char *holders, pid_t pid, long long deadline)
{
	int dfd = cs_holders_dir(holders);
	if (dfd < 0)
		return dfd;
	struct sockaddr_un sa;
	cs_address(holders, dfd, pid, &sa);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int err = -errno;
		close(dfd);
		return err;
	}
	/* A connect to a full backlog blocks up to the send timeout. */
	int left = cs_left(deadline);
	struct timeval tv = {.tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000};
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
	 * to the process we mean, which the caller knows the kernel confirms as
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

int control_call_timeout(const char *holders, pid_t pid, const char *request, int timeout_ms, int *code,
			 char *text, size_t len)
{
	/* For ever is a day at a time: the holder answers or hangs up when it ends. */
	long long deadline = cs_now_ms() + (timeout_ms < 0 ? 86400000LL * 365 * 100 : timeout_ms);
	int fd = cs_connect(holders, pid, cs_now_ms() + CONTROL_TIMEOUT_MS);
	if (fd < 0)
		return fd;
	char *line = NULL;
	int err = cs_send_all(fd, request, strlen(request), deadline);
	/* A holder that refuses us answers without reading: its answer is still there. */
	if (!err || err == -EPIPE || err == -ECONNRESET)
		err = cs_read_line(fd, CONTROL_MAX_ANSWER, deadline, &line);
	if (!err && strcmp(line, CONTROL_TAKEN) == 0) {
		/* The holder took the request: losing it now means it ended. */
		free(line);
		line = NULL;
		err = cs_read_line(fd, CONTROL_MAX_ANSWER, deadline, &line);
		if (err == -EPROTO || err == -ECONNRESET)
			err = -ECONNABORTED;
	}
	if (err == -E2BIG)
		err = -EPROTO;
	if (!err)
		err = control_parse_answer(line, code, text, len);
	free(line);
	close(fd);
	return err;
}

int control_call(const char *holders, pid_t pid, const char *request, int *code, char *text, size_t len)
{
	return control_call_timeout(holders, pid, request, CONTROL_TIMEOUT_MS, code, text, len);
}
