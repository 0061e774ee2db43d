/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* output.c: the column table of list, libsmartcols set-up, words, JSON strings, times and help text. */
#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "output.h"
#include "strutil.h"
#include "virlock.h"

struct vl_coldesc {
	const char *name;
	double whint;
	int flags;
	int json_type;
	const char *help;
};

static const struct vl_coldesc coldescs[VL_NCOLS] = {
	[VL_COL_NAME] = {"NAME", 32, 0, SCOLS_JSON_STRING, "lock file name (MD5 of the resource)"},
	[VL_COL_PATH] = {"PATH", 0.4, SCOLS_FL_NOEXTREMES, SCOLS_JSON_STRING,
			 "resource the lock file stands for"},
	[VL_COL_MODE] = {"MODE", 9, 0, SCOLS_JSON_STRING,
			 "exclusive, shared, free (with --all), stale or unconfirmed (with --stale)"},
	[VL_COL_HOST] = {"HOST", 4, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER,
			 "sanlock: id of the host owning the lease"},
	[VL_COL_GEN] = {"GEN", 4, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER,
			"sanlock: generation of that host (counts its joins)"},
	[VL_COL_PID] = {"PID", 5, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "holder process"},
	[VL_COL_COMMAND] = {"COMMAND", 15, SCOLS_FL_TRUNC, SCOLS_JSON_STRING, "holder's command name"},
	[VL_COL_OWNER] = {"OWNER", 0.1, SCOLS_FL_TRUNC, SCOLS_JSON_STRING, "holder's owner label"},
	[VL_COL_CHILD] = {"CHILD", 5, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "holder's supervised child"},
	[VL_COL_SINCE] = {"SINCE", 25, 0, SCOLS_JSON_STRING, "when the holder took the lock"},
	[VL_COL_WAITERS] =
		{"WAITERS", 0.1, 0, SCOLS_JSON_ARRAY_NUMBER,
		 "processes waiting for the lock (fcntl: reads /proc/locks, slow with many locks)"},
	[VL_COL_LOCKFILE] = {"LOCKFILE", 0.3, SCOLS_FL_TRUNC, SCOLS_JSON_STRING, "lock file path"},
	[VL_COL_STATUS] = {"STATUS", 10, 0, SCOLS_JSON_STRING,
			   "ok, norecord, remote, stale, unconfirmed, corrupt, empty or unreadable"},
};

static const enum vl_col default_cols[] = {VL_COL_PATH,	 VL_COL_MODE,	 VL_COL_PID,
					   VL_COL_OWNER, VL_COL_COMMAND, VL_COL_SINCE};

void vl_columns_default(struct vl_columns *c)
{
	c->n = 0;
	for (size_t i = 0; i < sizeof(default_cols) / sizeof(default_cols[0]); i++)
		c->id[c->n++] = default_cols[i];
}

void vl_columns_sanlock(struct vl_columns *c)
{
	size_t at = c->n;
	for (size_t i = c->n; i-- > 0;) {
		if (c->id[i] == VL_COL_HOST)
			return;
		if (c->id[i] == VL_COL_PID)
			at = i;
	}
	memmove(&c->id[at + 1], &c->id[at], (c->n - at) * sizeof(c->id[0]));
	c->id[at] = VL_COL_HOST;
	c->n++;
}

void vl_columns_all(struct vl_columns *c)
{
	c->n = 0;
	for (int i = 0; i < VL_NCOLS; i++)
		c->id[c->n++] = (enum vl_col)i;
}

int vl_columns_parse(struct vl_columns *c, const char *spec)
{
	const char *p = spec;
	if (*p == '+')
		p++;
	else
		c->n = 0;
	for (;;) {
		size_t len = strcspn(p, ",");
		int found = -1;
		for (int i = 0; i < VL_NCOLS && len; i++)
			if (strlen(coldescs[i].name) == len && strncasecmp(coldescs[i].name, p, len) == 0)
				found = i;
		if (found < 0) {
			if (len)
				vl_error("%.*s: unknown column; see 'virlock list --help' for the columns",
					 (int)len, p);
			else
				vl_error(
					"'%s': empty column name in the list; give names separated by commas",
					spec);
			return -1;
		}
		if (c->n >= VL_MAXCOLS) {
			vl_error("'%s': too many columns; name each column at most twice", spec);
			return -1;
		}
		c->id[c->n++] = (enum vl_col)found;
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

const char *vl_column_name(enum vl_col col)
{
	return coldescs[col].name;
}

void vl_columns_help(FILE *out)
{
	fputs("\nAvailable output columns (default: PATH,MODE,PID,OWNER,COMMAND,SINCE;\n"
	      "in a sanlock lockspace PATH,MODE,HOST,PID,OWNER,COMMAND,SINCE):\n",
	      out);
	for (int i = 0; i < VL_NCOLS; i++)
		fprintf(out, "  %-9s %s\n", coldescs[i].name, coldescs[i].help);
}

struct libscols_table *vl_table_new(const struct vl_columns *c, unsigned outflags)
{
	/* Names in the user's charset, as lslocks shows them. Only here: the
	 * locale files cost every acquire a dozen system calls otherwise. */
	setlocale(LC_CTYPE, "");
	struct libscols_table *tb = scols_new_table();
	if (!tb)
		return NULL;
	if (scols_table_set_name(tb, "locks") != 0)
		goto fail;
	scols_table_enable_json(tb, !!(outflags & VL_OUT_JSON));
	scols_table_enable_raw(tb, !!(outflags & VL_OUT_RAW));
	scols_table_enable_noheadings(tb, !!(outflags & VL_OUT_NOHEADINGS));
	for (size_t i = 0; i < c->n; i++) {
		const struct vl_coldesc *d = &coldescs[c->id[i]];
		struct libscols_column *cl = scols_table_new_column(tb, d->name, d->whint, d->flags);
		if (!cl)
			goto fail;
		if (!(outflags & VL_OUT_JSON))
			continue;
		scols_column_set_json_type(cl, d->json_type);
		/* An array cell is one chunk per line: WAITERS holds one pid a line. */
		if (d->json_type == SCOLS_JSON_ARRAY_NUMBER &&
		    (scols_column_set_flags(cl, d->flags | SCOLS_FL_WRAP) != 0 ||
		     scols_column_set_wrapfunc(cl, scols_wrapnl_chunksize, scols_wrapnl_nextchunk, NULL) !=
			     0))
			goto fail;
	}
	return tb;
fail:
	scols_unref_table(tb);
	return NULL;
}

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

char *vl_waiters_cell(const pid_t *w, size_t n, unsigned outflags, int *oom)
{
	int json = !!(outflags & VL_OUT_JSON);
	pid_t *u;
	char *s = NULL;
	*oom = 0;
	if (vl_waiters_unique(w, n, &u, &n) < 0) {
		*oom = 1;
		return NULL;
	}
	if (n == 0) {
		if (!json)
			return NULL;
		s = strdup(" ");
		*oom = !s;
		return s;
	}
	/* A pid has at most 10 digits, plus its separator. */
	s = malloc(n * 12 + 1);
	if (s) {
		size_t len = 0;
		for (size_t i = 0; i < n; i++)
			len += (size_t)sprintf(s + len, "%s%d", i ? (json ? "\n" : ",") : "", (int)u[i]);
	}
	*oom = !s;
	free(u);
	return s;
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

const char *vl_row_mode(const struct lockspace_info *info, const struct lockspace_holder *h)
{
	if (h && (h->flags & (LOCKSPACE_HOLDER_STALE | LOCKSPACE_HOLDER_UNCONFIRMED)))
		return vl_holder_word(h); /* a claim, never a live mode */
	return vl_state_word(h ? h->mode : info->state);
}

const char *vl_row_status(const struct lockspace_info *info, const struct lockspace_holder *h)
{
	if (h && (h->flags & (LOCKSPACE_HOLDER_STALE | LOCKSPACE_HOLDER_UNCONFIRMED)))
		return vl_holder_word(h);
	if (info->integrity != 0)
		return vl_integrity_word(info->integrity);
	if (h)
		return vl_holder_word(h);
	/* A held lock whose holder the library could not name. */
	return info->state == LOCKSPACE_STATE_FREE ? "ok" : "norecord";
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

void vl_json_string(FILE *out, const char *s)
{
	if (!s) {
		fputs("null", out);
		return;
	}
	const unsigned char *p = (const unsigned char *)s;
	fputc('"', out);
	while (*p) {
		size_t len = vl_utf8_seq((const char *)p);
		if (!len) {
			fputs("\\ufffd", out);
			p++;
			continue;
		}
		if (len > 1) {
			fwrite(p, 1, len, out);
			p += len;
			continue;
		}
		switch (*p) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
		p++;
	}
	fputc('"', out);
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
