/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* control.c: the holder control protocol: request and answer lines, both ends. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lockspace.h>

#include "control.h"
#include "strutil.h"

static int ctl_plain(unsigned char c)
{
	return c > ' ' && c < 0x7f && c != '%';
}

static size_t ctl_encoded_len(const char *s)
{
	size_t len = 0;
	for (; *s; s++)
		len += ctl_plain((unsigned char)*s) ? 1 : 3;
	return len;
}

static char *ctl_encode(char *p, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (ctl_plain(c)) {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	return p;
}

static int ctl_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode one word of @len bytes; a NUL byte or a bad escape is refused. */
static char *ctl_decode(const char *s, size_t len)
{
	char *out = malloc(len + 1), *p = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '%') {
			*p++ = s[i];
			continue;
		}
		int hi = i + 2 < len ? ctl_hexval(s[i + 1]) : -1;
		int lo = i + 2 < len ? ctl_hexval(s[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		*p++ = (char)(hi << 4 | lo);
		i += 2;
	}
	*p = '\0';
	return out;
}

static int ctl_format(const char *verb, const char *mode, const char *const *words, size_t n, char **out)
{
	size_t len = strlen(verb) + (mode ? strlen(mode) + 1 : 0) + 2;
	for (size_t i = 0; i < n; i++) {
		len += ctl_encoded_len(words[i]) + 1;
		if (len > CONTROL_MAX_REQUEST)
			return -E2BIG;
	}
	char *buf = malloc(len), *p = buf;
	if (!buf)
		return -ENOMEM;
	p = stpcpy(p, verb);
	if (mode) {
		*p++ = ' ';
		p = stpcpy(p, mode);
	}
	for (size_t i = 0; i < n; i++) {
		*p++ = ' ';
		p = ctl_encode(p, words[i]);
	}
	*p++ = '\n';
	*p = '\0';
	*out = buf;
	return 0;
}

int control_format_acquire_wait(unsigned flags, int wait_ms, const char *const *resources, size_t n,
				char **out)
{
	char mode[32];
	int len = snprintf(mode, sizeof(mode), "%c%s", flags & LOCKSPACE_SHARED ? 's' : 'x',
			   flags & LOCKSPACE_LITERAL ? "l" : "");
	if (wait_ms)
		snprintf(mode + len, sizeof(mode) - (size_t)len, "w%d", wait_ms < 0 ? -1 : wait_ms);
	return ctl_format("acquire", mode, resources, n, out);
}

int control_format_acquire(unsigned flags, const char *const *resources, size_t n, char **out)
{
	return control_format_acquire_wait(flags, 0, resources, n, out);
}

int control_format_release(const char *const *names, size_t n, char **out)
{
	if (n == 0)
		return ctl_format("release-all", NULL, NULL, 0, out);
	return ctl_format("release", NULL, names, n, out);
}

int control_format_handoff(const char *name, char **out)
{
	return ctl_format("handoff", NULL, &name, 1, out);
}

void control_request_free(struct control_request *req)
{
	for (size_t i = 0; i < req->n; i++)
		free(req->args[i]);
	free(req->args);
	req->args = NULL;
	req->n = 0;
}

/* Split the words after the verb into req->args. */
static int ctl_parse_args(const char *p, struct control_request *req)
{
	size_t cap = 0;
	while (*p) {
		if (*p != ' ')
			return -EINVAL;
		p++;
		size_t len = strcspn(p, " ");
		if (len == 0)
			return -EINVAL;
		if (req->n == cap) {
			cap = cap ? cap * 2 : 8;
			char **args = realloc(req->args, cap * sizeof(*args));
			if (!args)
				return -ENOMEM;
			req->args = args;
		}
		req->args[req->n] = ctl_decode(p, len);
		if (!req->args[req->n])
			return -EINVAL;
		req->n++;
		p += len;
	}
	return 0;
}

/* x|s, then l, then wMS (-1 or 1 to 2^31-1): "x", "sl", "xw500", "slw-1". */
static int ctl_parse_mode(const char *mode, size_t len, unsigned *flags, int *wait_ms)
{
	if (len < 1 || (mode[0] != 'x' && mode[0] != 's'))
		return -EINVAL;
	*flags = mode[0] == 's' ? LOCKSPACE_SHARED : 0;
	*wait_ms = 0;
	size_t i = 1;
	if (i < len && mode[i] == 'l') {
		*flags |= LOCKSPACE_LITERAL;
		i++;
	}
	if (i == len)
		return 0;
	if (mode[i] != 'w' || len - i > 12)
		return -EINVAL;
	char num[16];
	memcpy(num, mode + i + 1, len - i - 1);
	num[len - i - 1] = '\0';
	char *end;
	errno = 0;
	long v = strtol(num, &end, 10);
	if (errno || end == num || *end || (v != -1 && v < 1) || v > 0x7fffffff || (num[0] == '0') ||
	    (num[0] == '+'))
		return -EINVAL;
	*wait_ms = (int)v;
	return 0;
}

int control_parse_request(const char *line, struct control_request *req)
{
	memset(req, 0, sizeof(*req));
	size_t vlen = strcspn(line, " ");
	const char *rest = line + vlen;
	int err = 0;
	if (vlen == 4 && strncmp(line, "ping", 4) == 0) {
		req->op = CONTROL_PING;
		err = *rest ? -EINVAL : 0;
	} else if (vlen == 11 && strncmp(line, "release-all", 11) == 0) {
		req->op = CONTROL_RELEASE_ALL;
		err = *rest ? -EINVAL : 0;
	} else if ((vlen == 7 && strncmp(line, "release", 7) == 0) ||
		   (vlen == 7 && strncmp(line, "handoff", 7) == 0)) {
		req->op = line[0] == 'r' ? CONTROL_RELEASE : CONTROL_HANDOFF;
		err = ctl_parse_args(rest, req);
		for (size_t i = 0; !err && i < req->n; i++)
			if (!lockspace_valid_name(req->args[i]))
				err = -EINVAL;
		if (!err && (req->n == 0 || (req->op == CONTROL_HANDOFF && req->n != 1)))
			err = -EINVAL;
	} else if (vlen == 7 && strncmp(line, "acquire", 7) == 0 && *rest == ' ') {
		req->op = CONTROL_ACQUIRE;
		size_t mlen = strcspn(rest + 1, " ");
		err = ctl_parse_mode(rest + 1, mlen, &req->flags, &req->wait_ms);
		if (!err)
			err = ctl_parse_args(rest + 1 + mlen, req);
		if (!err && req->n == 0)
			err = -EINVAL;
	} else {
		err = -EINVAL;
	}
	if (err)
		control_request_free(req);
	return err;
}

void control_format_answer(int code, const char *text, char *buf, size_t len)
{
	if (code == 0)
		snprintf(buf, len - 1, "ok%s%s", text && *text ? " " : "", text ? text : "");
	else
		snprintf(buf, len - 1, "err %d %s", code, text && *text ? text : lockspace_strerror(code));
	vl_escape(buf, buf, VL_ESC_QMARK); /* one line: control characters become '?' */
	strcat(buf, "\n");
}

int control_parse_answer(const char *line, int *code, char *text, size_t len)
{
	if (strcmp(line, "ok") == 0 || strncmp(line, "ok ", 3) == 0) {
		*code = 0;
		snprintf(text, len, "%s", line[2] ? line + 3 : "");
		return 0;
	}
	if (strncmp(line, "err ", 4) != 0)
		return -EPROTO;
	char *end;
	errno = 0;
	long v = strtol(line + 4, &end, 10);
	if (errno || end == line + 4 || v >= 0 || v < -4095 || (*end != ' ' && *end != '\0'))
		return -EPROTO;
	*code = (int)v;
	snprintf(text, len, "%s", *end ? end + 1 : lockspace_strerror(*code));
	return 0;
}
