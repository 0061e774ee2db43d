/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz_control.c: libFuzzer target for the control protocol: requests, answers, line reader, serving. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A holder waits this long for the rest of a request: no time at all here,
 * where the whole input is sent before the holder reads. */
#include "control.h"
#undef CONTROL_READ_TIMEOUT_MS
#define CONTROL_READ_TIMEOUT_MS 0

/* The protocol lives in the command's sources: compile them in, static helpers included. */
#include "../../cli/control.c"
#include "../../cli/control_socket.c"
#include "../../cli/strutil.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A parsed request formats back to a line that parses to the very same request. */
static void round_trip(const struct control_request *req)
{
	char *line = NULL;
	int err;
	switch (req->op) {
	case CONTROL_PING:
		return;
	case CONTROL_ACQUIRE:
		err = control_format_acquire(req->flags, (const char *const *)req->args, req->n, &line);
		break;
	case CONTROL_RELEASE:
		err = control_format_release((const char *const *)req->args, req->n, &line);
		break;
	case CONTROL_RELEASE_ALL:
		err = control_format_release(NULL, 0, &line);
		break;
	default:
		abort();
	}
	if (err == -E2BIG || err == -ENOMEM)
		return;
	size_t len = err ? 0 : strlen(line);
	if (err || len == 0 || line[len - 1] != '\n' || memchr(line, '\n', len - 1))
		abort();
	line[len - 1] = '\0';
	struct control_request again;
	if (control_parse_request(line, &again) != 0 || again.op != req->op || again.flags != req->flags ||
	    again.n != req->n)
		abort();
	for (size_t i = 0; i < req->n; i++)
		if (strcmp(again.args[i], req->args[i]) != 0)
			abort();
	control_request_free(&again);
	free(line);
}

static void request(const char *s)
{
	struct control_request req;
	int err = control_parse_request(s, &req);
	if (err == 0) {
		if ((req.op == CONTROL_ACQUIRE || req.op == CONTROL_RELEASE) && (req.n == 0 || !req.args))
			abort();
		for (size_t i = 0; i < req.n; i++)
			if (!req.args[i] || !*req.args[i] ||
			    (req.op == CONTROL_RELEASE && !lockspace_valid_name(req.args[i])))
				abort();
		if (req.flags & ~(unsigned)(LOCKSPACE_SHARED | LOCKSPACE_LITERAL))
			abort();
		round_trip(&req);
		control_request_free(&req);
	} else if (err != -EINVAL && err != -ENOMEM) {
		abort();
	} else if (req.args || req.n) {
		abort();
	}
}

static void answer(const char *s, int seed_code)
{
	char text[64], buf[CONTROL_MAX_ANSWER];
	int code = 1;
	int err = control_parse_answer(s, &code, text, sizeof(text));
	if (err == 0 && (code > 0 || code < -4095 || !memchr(text, '\0', sizeof(text))))
		abort();
	if (err && err != -EPROTO)
		abort();
	/* What a holder sends: one line, whatever text it is given, and it parses back. */
	control_format_answer(seed_code, s, buf, sizeof(buf));
	size_t len = strlen(buf);
	if (len == 0 || buf[len - 1] != '\n' || memchr(buf, '\n', len - 1))
		abort();
	buf[len - 1] = '\0';
	if (control_parse_answer(buf, &code, text, sizeof(text)) != 0 || code != seed_code)
		abort();
}

/* The line reader both ends use, over a real socket holding the input. */
static void read_line(const uint8_t *data, size_t size, size_t max)
{
	int sv[2];
	if (size > 100000 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	if (size && write(sv[0], data, size) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	close(sv[0]);
	char *line = NULL;
	int err = cs_read_line(sv[1], max, cs_now_ms() + 1000, &line);
	const char *nl = memchr(data, '\n', size);
	if (err == 0) {
		/* Exactly the bytes before the first newline, none of them NUL, within the limit. */
		size_t len = strlen(line);
		if (!nl || len != (size_t)(nl - (const char *)data) || memcmp(line, data, len) != 0 ||
		    len >= max)
			abort();
		free(line);
	} else if (err == -ETIMEDOUT || (nl && (size_t)(nl - (const char *)data) < max && err == -E2BIG &&
					 !memchr(data, '\0', (size_t)(nl - (const char *)data)))) {
		abort();
	}
	close(sv[1]);
}

/* The holder's handler: answers with the code the input chose and, as its
 * text, the first decoded argument, which may hold any byte but NUL. */
static int handler(const struct control_request *req, char *text, size_t len, void *arg)
{
	int code = *(const int *)arg;
	if (req->n > 0)
		snprintf(text, len, "%s", req->args[0]);
	return code;
}

/* A holder serving the input as one connection: whatever it answers is one valid line. */
static void serve(const uint8_t *data, size_t size, int code)
{
	static int listenfd = -1;
	static struct sockaddr_un sa;
	if (listenfd < 0) {
		sa.sun_family = AF_UNIX;
		snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "virlock-fuzz-%d", (int)getpid());
		listenfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (listenfd < 0 || bind(listenfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(listenfd, 4) < 0)
			abort();
	}
	int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	if (size && send(c, data, size, MSG_NOSIGNAL) != (ssize_t)size)
		abort(); /* inputs are small: the socket buffer takes them whole */
	control_serve(listenfd, handler, &code);
	char buf[CONTROL_MAX_ANSWER + 1];
	ssize_t n = recv(c, buf, sizeof(buf), MSG_DONTWAIT);
	if (n > 0) {
		buf[n] = '\0';
		char *nl = memchr(buf, '\n', (size_t)n);
		int got = 1;
		char text[CONTROL_MAX_ANSWER];
		if (n > CONTROL_MAX_ANSWER || !nl || nl != buf + n - 1 || strlen(buf) != (size_t)n)
			abort();
		*nl = '\0';
		if (control_parse_answer(buf, &got, text, sizeof(text)) != 0)
			abort();
		/* A request that parsed gets the handler's code; one that did not, -EINVAL. */
		if (got != code && got != -EINVAL)
			abort();
	}
	close(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first byte picks the answer code to format; the rest is one line. */
	if (size == 0)
		return 0;
	int seed_code = -(int)data[0] * 16 - 1;
	char *s = strndup((const char *)data + 1, size - 1);
	if (!s)
		return 0;
	request(s);
	answer(s, seed_code);
	free(s);
	read_line(data + 1, size - 1, data[0] & 1 ? CONTROL_MAX_ANSWER : 256);
	if (size <= 65536)
		serve(data + 1, size - 1, data[0] & 2 ? 0 : seed_code);
	return 0;
}
