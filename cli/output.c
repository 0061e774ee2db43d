/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* output.c: what the commands print alike: state words, times, waiters and safe text. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "strutil.h"
#include "virlock.h"

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

int vl_waiters_unique(const pid_t *w, size_t n, pid_t **out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	pid_t *u = malloc(n * sizeof(*u));
	if (!u)
		return -ENOMEM;
	memcpy(u, w, n * sizeof(*u));
	qsort(u, n, sizeof(*u), pid_cmp);
	size_t k = 1;
	for (size_t i = 1; i < n; i++)
		if (u[i] != u[k - 1])
			u[k++] = u[i];
	*out = u;
	*nout = k;
	return 0;
}

const char *vl_state_word(enum lockspace_state state)
{
	switch (state) {
	case LOCKSPACE_STATE_SHARED:
		return "shared";
	case LOCKSPACE_STATE_EXCLUSIVE:
		return "exclusive";
	case LOCKSPACE_STATE_FREE:
	default:
		return "free";
	}
}

const char *vl_integrity_word(int integrity)
{
	if (integrity == 0)
		return "verified";
	if (integrity == -ENODATA)
		return "empty";
	if (integrity == -EBADMSG)
		return "corrupt";
	return "unreadable";
}

const char *vl_holder_word(const struct lockspace_holder *h)
{
	if (h->flags & LOCKSPACE_HOLDER_STALE)
		return "stale";
	if (h->flags & LOCKSPACE_HOLDER_UNCONFIRMED)
		return "unconfirmed";
	if (h->flags & LOCKSPACE_HOLDER_REMOTE)
		return "remote";
	if ((h->flags & LOCKSPACE_HOLDER_NORECORD) || !(h->flags & LOCKSPACE_HOLDER_RECORD))
		return "norecord";
	return "ok";
}

const char *vl_format_time(time_t t, char buf[VL_TIME_LEN])
{
	struct tm tm;
	if (t == 0 || !localtime_r(&t, &tm))
		return NULL;
	long off = tm.tm_gmtoff;
	char sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	size_t len = strftime(buf, VL_TIME_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	if (len == 0)
		return NULL;
	snprintf(buf + len, VL_TIME_LEN - len, "%c%02ld:%02ld", sign, off / 3600, off / 60 % 60);
	return buf;
}

/* "-" for NULL or "" (unknown), and so "\x2d" for "-" itself. */
static void print_escaped(FILE *out, const char *s, unsigned flags)
{
	if (!s || !*s)
		fputc('-', out);
	else if (strcmp(s, "-") == 0)
		fputs("\\x2d", out);
	else
		vl_fputs_escaped(out, s, flags);
}

void vl_print_safe(FILE *out, const char *s)
{
	print_escaped(out, s, VL_ESC_BACKSLASH | VL_ESC_BADUTF8);
}

void vl_print_raw_cell(FILE *out, const char *s)
{
	print_escaped(out, s, VL_ESC_BACKSLASH | VL_ESC_BADUTF8 | VL_ESC_NONASCII | VL_ESC_BLANK);
}

int vl_finish_stdout(int status)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		vl_error("standard output: %s; check the disk or pipe it writes to",
			 strerror(errno ? errno : EIO));
		return VL_EXIT_OSERR;
	}
	return status;
}
