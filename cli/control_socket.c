/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* control_socket.c: the protocol over a holder's control socket (lockspace_control_*()), both ends, with
 * deadlines. */
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

#include "clock.h"
#include "control.h"

static int cs_left(long long deadline)
{
	long long left = deadline - vl_now_ms();
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
	return cs_read_line(fd, max, vl_now_ms() + timeout_ms, out);
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
	long long deadline = vl_now_ms() + read_timeout_ms;
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
				    vl_now_ms() + read_timeout_ms);
			free(line);
			return fd;
		}
		cs_answer(fd, code, text, vl_now_ms() + read_timeout_ms);
	}
	free(line);
	close(fd);
	return -1;
}

void control_answer(int fd, int code, const char *text)
{
	cs_answer(fd, code, text, vl_now_ms() + CONTROL_READ_TIMEOUT_MS);
	close(fd);
}

int control_call_timeout(struct lockspace *ls, pid_t pid, const char *request, int timeout_ms, int *code,
			 char *text, size_t len)
{
	/* For ever is a day at a time: the holder answers or hangs up when it ends. */
	long long deadline = vl_now_ms() + (timeout_ms < 0 ? 86400000LL * 365 * 100 : timeout_ms);
	int fd = lockspace_control_connect(ls, pid, CONTROL_TIMEOUT_MS);
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

int control_call(struct lockspace *ls, pid_t pid, const char *request, int *code, char *text, size_t len)
{
	return control_call_timeout(ls, pid, request, CONTROL_TIMEOUT_MS, code, text, len);
}

int control_file_exists(const char *path)
{
	struct stat st;
	return path && lstat(path, &st) == 0;
}
