/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cmd_list.c: virlock list, a row per holder of each lock, by libsmartcols or layout.c; its columns. */
#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "layout.h"
#include "output.h"
#include "scols_load.h"
#include "strutil.h"
#include "virlock.h"

/* The columns, in the order --output-all shows them. */
enum vl_col {
	VL_COL_NAME,
	VL_COL_PATH,
	VL_COL_MODE,
	VL_COL_HOST,
	VL_COL_HOSTNAME,
	VL_COL_GEN,
	VL_COL_PID,
	VL_COL_COMMAND,
	VL_COL_OWNER,
	VL_COL_CHILD,
	VL_COL_SINCE,
	VL_COL_WAITERS,
	VL_COL_LOCKFILE,
	VL_COL_STATUS,
	VL_COL_FILELOCKS,
	VL_NCOLS
};

/* A column may be named twice in -o, as util-linux allows. */
#define VL_MAXCOLS (VL_NCOLS * 2)

struct vl_columns {
	size_t n;
	enum vl_col id[VL_MAXCOLS + 2]; /* two more: the HOST and HOSTNAME of cols_sanlock() */
};

/* Output modes of a table. */
enum vl_out_flags {
	VL_OUT_JSON = 1u << 0,
	VL_OUT_RAW = 1u << 1,
	VL_OUT_NOHEADINGS = 1u << 2,
};

struct coldesc {
	const char *name;
	double whint;
	int flags;
	int json_type;
	const char *help;
};

static const struct coldesc coldescs[VL_NCOLS] = {
	[VL_COL_NAME] = {"NAME", 32, 0, SCOLS_JSON_STRING,
			 "lock file name (the MD5 or SHA-256 of the resource)"},
	[VL_COL_PATH] = {"PATH", 0.4, SCOLS_FL_NOEXTREMES, SCOLS_JSON_STRING,
			 "resource the lock file stands for"},
	[VL_COL_MODE] = {"MODE", 9, 0, SCOLS_JSON_STRING,
			 "exclusive, shared, free (with --all), stale or unconfirmed (with --stale)"},
	[VL_COL_HOST] = {"HOST", 4, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER,
			 "sanlock: id of the host owning the lease"},
	[VL_COL_HOSTNAME] = {"HOSTNAME", 0.1, SCOLS_FL_TRUNC, SCOLS_JSON_STRING,
			     "sanlock: name of that host's daemon (sanlock daemon -e NAME)"},
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
	[VL_COL_FILELOCKS] = {"FILELOCKS", 0.2, SCOLS_FL_TRUNC, SCOLS_JSON_STRING,
			      "processes that lock the resource file itself (QEMU...), as command[pid]"},
	[VL_COL_STATUS] = {"STATUS", 10, 0, SCOLS_JSON_STRING,
			   "ok, norecord, remote (on another host), stale, unconfirmed, corrupt, empty or "
			   "unreadable"},
};

static const enum vl_col default_cols[] = {VL_COL_PATH,	 VL_COL_MODE,	 VL_COL_PID,
					   VL_COL_OWNER, VL_COL_COMMAND, VL_COL_SINCE};

/* The default set: PATH MODE PID OWNER COMMAND SINCE. */
static void cols_default(struct vl_columns *c)
{
	c->n = 0;
	for (size_t i = 0; i < sizeof(default_cols) / sizeof(default_cols[0]); i++)
		c->id[c->n++] = default_cols[i];
}

/* The default set of a sanlock lockspace: HOST and HOSTNAME before PID.
 * Applied to @c built on the default set (with or without a +LIST), unless
 * it names HOST or HOSTNAME. */
static void cols_sanlock(struct vl_columns *c)
{
	size_t at = c->n;
	for (size_t i = c->n; i-- > 0;) {
		if (c->id[i] == VL_COL_HOST || c->id[i] == VL_COL_HOSTNAME)
			return;
		if (c->id[i] == VL_COL_PID)
			at = i;
	}
	memmove(&c->id[at + 2], &c->id[at], (c->n - at) * sizeof(c->id[0]));
	c->id[at] = VL_COL_HOST;
	c->id[at + 1] = VL_COL_HOSTNAME;
	c->n += 2;
}

/* Every column, once. */
static void cols_all(struct vl_columns *c)
{
	c->n = 0;
	for (int i = 0; i < VL_NCOLS; i++)
		c->id[c->n++] = (enum vl_col)i;
}

/*
 * Parse a comma-separated list of column names (any case) into @c; a list
 * that starts with '+' is appended to what @c holds already. On error print
 * one line naming the bad column and return -1.
 */
static int cols_parse(struct vl_columns *c, const char *spec)
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

/* The heading of column @col, "PATH". */
static const char *col_name(enum vl_col col)
{
	return coldescs[col].name;
}

/* Print "Available output columns:" and a line per column. */
static void cols_help(FILE *out)
{
	fputs("\nAvailable output columns (default: PATH,MODE,PID,OWNER,COMMAND,SINCE;\n"
	      "in a sanlock lockspace PATH,MODE,HOST,HOSTNAME,PID,OWNER,COMMAND,SINCE):\n",
	      out);
	for (int i = 0; i < VL_NCOLS; i++)
		fprintf(out, "  %-9s %s\n", coldescs[i].name, coldescs[i].help);
}

/*
 * A libsmartcols table named "locks" with the columns of @c: numbers are
 * JSON numbers, WAITERS a JSON array of numbers. NULL when out of memory.
 */
static struct libscols_table *table_new(const struct vl_columns *c, unsigned outflags)
{
	struct libscols_table *tb = vl_scols.new_table();
	if (!tb)
		return NULL;
	if (vl_scols.table_set_name(tb, "locks") != 0)
		goto fail;
	vl_scols.table_enable_json(tb, !!(outflags & VL_OUT_JSON));
	vl_scols.table_enable_raw(tb, !!(outflags & VL_OUT_RAW));
	vl_scols.table_enable_noheadings(tb, !!(outflags & VL_OUT_NOHEADINGS));
	for (size_t i = 0; i < c->n; i++) {
		const struct coldesc *d = &coldescs[c->id[i]];
		struct libscols_column *cl = vl_scols.table_new_column(tb, d->name, d->whint, d->flags);
		if (!cl)
			goto fail;
		if (!(outflags & VL_OUT_JSON))
			continue;
		vl_scols.column_set_json_type(cl, d->json_type);
		/* An array cell is one chunk per line: WAITERS holds one pid a line. */
		if (d->json_type == SCOLS_JSON_ARRAY_NUMBER &&
		    (vl_scols.column_set_flags(cl, d->flags | SCOLS_FL_WRAP) != 0 ||
		     vl_scols.column_set_wrapfunc(cl, vl_scols.wrapnl_chunksize, vl_scols.wrapnl_nextchunk,
						  NULL) != 0))
			goto fail;
	}
	return tb;
fail:
	vl_scols.unref_table(tb);
	return NULL;
}

/*
 * Cell data for a WAITERS cell: the unique pids joined by ',' for tables, by
 * '\n' for JSON. NULL when there are none in a table; in JSON " "
 * (libsmartcols 2.38 prints [null] for empty data, but copies a blank
 * verbatim: []). Malloc'd; NULL also when out of memory (*oom set).
 */
static char *waiters_cell(const pid_t *w, size_t n, unsigned outflags, int *oom)
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

/*
 * The FILELOCKS cell of the resource file @path: the processes that hold
 * locks on it, whoever they are (lockspace_file_locks()), as command[pid],
 * by commas (in JSON too: a string, since libsmartcols writes an empty
 * array of strings as [null]). NULL for none, or when the file cannot be
 * looked at (*oom tells an allocation failure).
 */
static char *filelocks_cell(const char *path, int *oom)
{
	struct lockspace_file_locks *fl = NULL;
	char *s = NULL;
	size_t len = 0;
	*oom = 0;
	if (path && lockspace_file_locks(path, 0, &fl) == 0) {
		for (size_t i = 0; i < fl->nlocks && !*oom; i++) {
			const struct lockspace_file_lock *l = &fl->locks[i];
			if (i && l->pid == fl->locks[i - 1].pid)
				continue; /* one entry per process, whatever kinds it holds */
			const char *cmd = l->command ? l->command : "?";
			char *more = realloc(s, len + strlen(cmd) + 16);
			if (!more) {
				*oom = 1;
				break;
			}
			s = more;
			len += (size_t)sprintf(s + len, "%s%s[%d]", len ? "," : "", cmd, (int)l->pid);
		}
		lockspace_file_locks_free(fl);
	}
	if (*oom) {
		free(s);
		return NULL;
	}
	return s;
}

/* The MODE of a row: "stale" for a stale record, else the holder's mode
 * (or, with @h NULL, the file's state). */
static const char *row_mode(const struct lockspace_info *info, const struct lockspace_holder *h)
{
	if (h && (h->flags & (LOCKSPACE_HOLDER_STALE | LOCKSPACE_HOLDER_UNCONFIRMED)))
		return vl_holder_word(h); /* a claim, never a live mode */
	return vl_state_word(h ? h->mode : info->state);
}

/*
 * The STATUS of a row: "stale" (the row is a stale record), else the
 * lock file's trouble ("corrupt", "empty", "unreadable"), else "norecord"
 * (held by a process without a holder record), "remote" (held on another
 * host of a sanlock lockspace), else "ok". @h may be NULL
 * for a row without a holder.
 */
static const char *row_status(const struct lockspace_info *info, const struct lockspace_holder *h)
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

struct row {
	const char *cell[VL_NCOLS]; /* only the wanted columns are filled, in text */
	const char *path;	    /* sort keys */
	char name[LOCKSPACE_NAME_LEN + 1];
	pid_t pid;
	char *text; /* one allocation for all the strings of the row */
};

struct list_run {
	unsigned outflags;
	int all;
	int stale; /* --stale: rows for the stale records too */
	pid_t pid;
	const char *owner;
	int want[VL_NCOLS];
	char *filelocks; /* the FILELOCKS cell of the file list_cb() is at */
	struct row *rows;
	size_t nrows, cap;
	/* The SINCE text of the last row: the holders of many locks took them
	 * in the same second, and strftime() is dear. */
	time_t since;
	char since_text[VL_TIME_LEN];
};

static void row_free(struct row *r)
{
	free(r->text);
}

/* The COMMAND of a row: the holder's; in a table, "(other host)" for a lock
 * held on another host of a cluster filesystem, where no column names the
 * host (JSON says null, and STATUS "remote"). */
static const char *row_command(const struct list_run *lr, const struct lockspace_holder *h)
{
	if ((h->flags & LOCKSPACE_HOLDER_REMOTE) && !h->host_id && !h->command &&
	    !(lr->outflags & VL_OUT_JSON))
		return "(other host)";
	return h->command;
}

static const char *since_text(struct list_run *lr, time_t t)
{
	if (t != lr->since || !t) {
		lr->since = t;
		if (!vl_format_time(t, lr->since_text))
			lr->since_text[0] = '\0';
	}
	return lr->since_text[0] ? lr->since_text : NULL;
}

/* The values of a row, before they are copied into its one allocation. */
struct row_values {
	const char *v[VL_NCOLS];
	char host[24], gen[24], pid[24], child[24];
};

static const char *pid_text(pid_t pid, char buf[24])
{
	if (pid <= 0)
		return NULL;
	snprintf(buf, 24, "%d", (int)pid);
	return buf;
}

/* Add the row of holder @h of @info (@h NULL: a row without a holder). */
static int add_row(struct list_run *lr, const struct lockspace_info *info, const struct lockspace_holder *h)
{
	if (lr->nrows == lr->cap) {
		size_t cap = lr->cap ? lr->cap * 2 : 64;
		struct row *rows = realloc(lr->rows, cap * sizeof(*rows));
		if (!rows)
			return -ENOMEM;
		lr->rows = rows;
		lr->cap = cap;
	}
	struct row *r = &lr->rows[lr->nrows];
	memset(r, 0, sizeof(*r));
	memcpy(r->name, info->name, sizeof(r->name));
	r->pid = h ? h->pid : 0;
	struct row_values rv = {0};
	const char **v = rv.v;
	char *waiters = NULL;
	v[VL_COL_NAME] = info->name;
	/* An empty lock file (virtlockd leaves them so) does not say its path;
	 * JSON says null, as for every unknown value. */
	v[VL_COL_PATH] = info->path;
	if (!info->path && info->integrity == -ENODATA && !(lr->outflags & VL_OUT_JSON))
		v[VL_COL_PATH] = "unknown (empty lock file)";
	v[VL_COL_MODE] = row_mode(info, h);
	if (h && h->host_id) {
		snprintf(rv.host, sizeof(rv.host), "%u", h->host_id);
		snprintf(rv.gen, sizeof(rv.gen), "%llu", h->generation);
		v[VL_COL_HOST] = rv.host;
		v[VL_COL_GEN] = rv.gen;
	}
	if (h) {
		v[VL_COL_HOSTNAME] = h->host_name;
		v[VL_COL_PID] = pid_text(h->pid, rv.pid);
		v[VL_COL_COMMAND] = row_command(lr, h);
		v[VL_COL_OWNER] = h->owner;
		v[VL_COL_CHILD] = pid_text(h->child, rv.child);
		if (lr->want[VL_COL_SINCE])
			v[VL_COL_SINCE] = since_text(lr, h->since);
	}
	if (lr->want[VL_COL_WAITERS]) {
		int oom;
		v[VL_COL_WAITERS] = waiters = waiters_cell(info->waiters, info->nwaiters, lr->outflags, &oom);
		if (oom)
			return -ENOMEM;
	}
	v[VL_COL_FILELOCKS] = lr->filelocks;
	v[VL_COL_LOCKFILE] = info->lockfile;
	v[VL_COL_STATUS] = row_status(info, h);
	size_t len = info->path ? strlen(info->path) + 1 : 0;
	for (int c = 0; c < VL_NCOLS; c++)
		if (lr->want[c] && v[c])
			len += strlen(v[c]) + 1;
	char *p = r->text = malloc(len ? len : 1);
	if (!p) {
		free(waiters);
		return -ENOMEM;
	}
	if (info->path) {
		r->path = p;
		p = stpcpy(p, info->path) + 1;
	}
	for (int c = 0; c < VL_NCOLS; c++)
		if (lr->want[c] && v[c]) {
			r->cell[c] = p;
			p = stpcpy(p, v[c]) + 1;
		}
	free(waiters);
	lr->nrows++;
	return 0;
}

static int holder_matches(const struct list_run *lr, const struct lockspace_holder *h)
{
	/* -p also finds the supervisor of a supervised command by the command's pid. */
	if (lr->pid > 0 && h->pid != lr->pid && h->child != lr->pid)
		return 0;
	if (lr->owner && (!h->owner || strcmp(h->owner, lr->owner) != 0))
		return 0;
	return 1;
}

static int list_cb(const struct lockspace_info *info, void *arg)
{
	struct list_run *lr = arg;
	int filtered = lr->pid > 0 || lr->owner;
	/* A free file is listed with -a only; its stale records with --stale. */
	int listed = info->state != LOCKSPACE_STATE_FREE || lr->all;
	int err = 0;
	free(lr->filelocks);
	lr->filelocks = NULL;
	if (lr->want[VL_COL_FILELOCKS] && (listed || lr->stale)) {
		int oom;
		lr->filelocks = filelocks_cell(info->path, &oom);
		if (oom)
			return -ENOMEM;
	}
	for (size_t i = 0; listed && !err && i < info->nholders; i++)
		if (holder_matches(lr, &info->holders[i]))
			err = add_row(lr, info, &info->holders[i]);
	for (size_t i = 0; lr->stale && !err && i < info->nstale; i++)
		if (holder_matches(lr, &info->stale[i]))
			err = add_row(lr, info, &info->stale[i]);
	/*
	 * Every lock file listed gets a row, of its holders or else of its own
	 * state: "free" with -a, or a held lock whose holder is unknown.
	 */
	if (err || !listed || info->nholders || filtered)
		return err;
	return add_row(lr, info, NULL);
}

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->path ? x->path : "", y->path ? y->path : "");
	if (!c)
		c = strcmp(x->name, y->name);
	if (!c)
		c = (x->pid > y->pid) - (x->pid < y->pid);
	return c;
}

/* Raw output is printed here, not by libsmartcols, which prints an empty
 * cell as nothing and so shifts the fields of every cell after it. */
static void print_raw(const struct list_run *lr, const struct vl_columns *cols)
{
	if (!lr->nrows)
		return;
	if (!(lr->outflags & VL_OUT_NOHEADINGS)) {
		for (size_t c = 0; c < cols->n; c++)
			printf("%s%s", c ? " " : "", col_name(cols->id[c]));
		putchar('\n');
	}
	for (size_t i = 0; i < lr->nrows; i++) {
		for (size_t c = 0; c < cols->n; c++) {
			if (c)
				putchar(' ');
			vl_print_raw_cell(stdout, lr->rows[i].cell[cols->id[c]]);
		}
		putchar('\n');
	}
}

/* What vl_layout_print() asks for: the cell of row @r, column @c. */
struct layout_arg {
	const struct list_run *lr;
	const struct vl_columns *cols;
	char *clean; /* JSON: the last cell made valid UTF-8 */
	int oom;
};

static const char *layout_cell(void *arg, size_t r, size_t c)
{
	struct layout_arg *la = arg;
	const char *data = la->lr->rows[r].cell[la->cols->id[c]];
	/* JSON must be UTF-8; paths and labels are only bytes. */
	if (!(la->lr->outflags & VL_OUT_JSON) || !data || vl_utf8_valid(data))
		return data;
	free(la->clean);
	if (!(la->clean = vl_utf8_clean(data)))
		la->oom = 1;
	return la->clean;
}

/*
 * From this many rows on, a table for a pipe or a file, and JSON, are
 * printed by vl_layout_print() and vl_layout_print_json(), which print what
 * libsmartcols prints for them at a fraction of the cost (libsmartcols
 * measures every cell character by character, twice, pads with one fputs()
 * a blank, and writes JSON one fputc() a character); smaller tables, and
 * every table on a terminal, go through libsmartcols.
 */
#define LAYOUT_MIN_ROWS 256

/*
 * Print the rows ourselves? VIRLOCK_LIST_LAYOUT=own (whatever the number
 * of rows) or =scols (never) is for the tests, which compare the two;
 * a table needs vl_layout_usable() too.
 */
static int layout_own(const struct list_run *lr)
{
	const char *knob = getenv("VIRLOCK_LIST_LAYOUT");
	int want = knob && strcmp(knob, "own") == 0	? 1
		   : knob && strcmp(knob, "scols") == 0 ? 0
							: lr->nrows >= LAYOUT_MIN_ROWS;
	if (!want || !lr->nrows)
		return 0;
	return (lr->outflags & VL_OUT_JSON) || vl_layout_usable();
}

static int print_layout(const struct list_run *lr, const struct vl_columns *cols)
{
	struct vl_layout_col lc[VL_MAXCOLS + 1];
	for (size_t c = 0; c < cols->n; c++) {
		const struct coldesc *d = &coldescs[cols->id[c]];
		lc[c] = (struct vl_layout_col){d->name, d->whint, !!(d->flags & SCOLS_FL_RIGHT),
					       d->json_type == SCOLS_JSON_NUMBER ? VL_LAYOUT_NUMBER
					       : d->json_type == SCOLS_JSON_ARRAY_NUMBER
						       ? VL_LAYOUT_ARRAY_NUMBER
						       : VL_LAYOUT_STRING};
	}
	struct layout_arg la = {lr, cols, NULL, 0};
	int err = lr->outflags & VL_OUT_JSON
			  ? vl_layout_print_json(stdout, "locks", lc, cols->n, lr->nrows, layout_cell, &la)
			  : vl_layout_print(stdout, lc, cols->n, lr->nrows, layout_cell, &la,
					    !!(lr->outflags & VL_OUT_NOHEADINGS));
	free(la.clean);
	return err ? err : la.oom ? -ENOMEM : 0;
}

static int print_rows(struct list_run *lr, const struct vl_columns *cols)
{
	/* Fewer, larger writes for a big table (the buffer stdio picks is 4 KiB). */
	if (lr->nrows >= LAYOUT_MIN_ROWS)
		setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (lr->outflags & VL_OUT_RAW) {
		print_raw(lr, cols);
		return 0;
	}
	/* Names in the user's charset, as lslocks shows them. Only here: the
	 * locale files cost every acquire a dozen system calls otherwise. */
	setlocale(LC_CTYPE, "");
	if (layout_own(lr))
		return print_layout(lr, cols);
	if (vl_scols_load() != 0)
		return -ENOPKG; /* said */
	struct libscols_table *tb = table_new(cols, lr->outflags);
	if (!tb)
		return -ENOMEM;
	int err = 0;
	for (size_t i = 0; i < lr->nrows && !err; i++) {
		struct libscols_line *ln = vl_scols.table_new_line(tb, NULL);
		if (!ln) {
			err = -ENOMEM;
			break;
		}
		for (size_t c = 0; c < cols->n && !err; c++) {
			const char *data = lr->rows[i].cell[cols->id[c]];
			char *clean = NULL;
			/* JSON must be UTF-8; paths and labels are only bytes. */
			if ((lr->outflags & VL_OUT_JSON) && data && !vl_utf8_valid(data)) {
				clean = vl_utf8_clean(data);
				if (!clean) {
					err = -ENOMEM;
					break;
				}
				data = clean;
			}
			if (data && vl_scols.line_set_data(ln, c, data) != 0)
				err = -ENOMEM;
			free(clean);
		}
	}
	if (!err && vl_scols.print_table(tb) != 0)
		err = -EIO;
	vl_scols.unref_table(tb);
	return err;
}

static int json, raw, noheadings, output_all, all, stale;
static pid_t pid;
static char *owner;
static struct vl_columns cols;
static int cols_given, on_default = 1; /* the columns are the default set, perhaps +LIST */

static struct poptOption options[] = {
	{"all", 'a', POPT_ARG_NONE, &all, 0, "also show free lock files", NULL},
	{"json", 'J', POPT_ARG_NONE, &json, 0, "use JSON output format", NULL},
	{"noheadings", 'n', POPT_ARG_NONE, &noheadings, 0, "don't print headings", NULL},
	{"output", 'o', POPT_ARG_STRING, NULL, 'o', "output columns (+LIST adds to the default)", "LIST"},
	{"output-all", '\0', POPT_ARG_NONE, &output_all, 0, "output all columns", NULL},
	{"pid", 'p', POPT_ARG_STRING, NULL, 'p', "show only locks held by PID or by its supervisor", "PID"},
	{"owner", '\0', POPT_ARG_STRING, NULL, 'O', "show only locks held with this owner label", "LABEL"},
	{"raw", 'r', POPT_ARG_NONE, &raw, 0, "use the raw output format", NULL},
	{"stale", '\0', POPT_ARG_NONE, &stale, 0, "also show stale holder records, as MODE stale", NULL},
	VL_POPT_STANDARD,
	POPT_TABLEEND,
};

/* The columns start as the default set, before any -o. */
static void cols_start(void)
{
	static int started;
	if (!started)
		cols_default(&cols);
	started = 1;
}

static int option(struct virlock_ctx *ctx, int val, char *arg)
{
	(void)ctx;
	cols_start();
	if (val == 'o') {
		int bad = !arg || cols_parse(&cols, arg) < 0;
		if (!bad && arg[0] != '+')
			on_default = 0;
		free(arg);
		if (bad)
			return VL_EXIT_USAGE;
		cols_given = 1;
		return 0;
	}
	if (val == 'p') {
		int bad = vl_parse_pid("--pid", arg, &pid);
		free(arg);
		return bad ? VL_EXIT_USAGE : 0;
	}
	free(owner);
	owner = arg;
	return vl_check_label("--owner", owner) ? VL_EXIT_USAGE : 0;
}

static int run(struct virlock_ctx *ctx, int nargs, const char **args)
{
	struct lockspace *ls = NULL;
	char *missing = NULL;
	struct list_run lr = {0};
	int status = VL_EXIT_USAGE;

	cols_start();
	if (nargs > 0) {
		vl_error("list: %s: unexpected argument; to see one resource, use 'virlock inspect'",
			 args[0]);
		goto out;
	}
	if (json && raw) {
		vl_error("list: --json and --raw exclude each other; give one");
		goto out;
	}
	if (output_all && cols_given) {
		vl_error("list: --output and --output-all exclude each other; give one");
		goto out;
	}
	if (output_all)
		cols_all(&cols);

	lr.outflags =
		(json ? VL_OUT_JSON : 0) | (raw ? VL_OUT_RAW : 0) | (noheadings ? VL_OUT_NOHEADINGS : 0);
	lr.all = all;
	lr.stale = stale;
	lr.pid = pid;
	lr.owner = owner;

	/* A lockspace that does not exist holds nothing: list it empty, and
	 * leave it uncreated. */
	status = vl_lockspace_open(ctx, &ls, &missing);
	if (status != VL_EXIT_OK)
		goto out;
	if (ls && on_default && !output_all && strcmp(lockspace_backend(ls), LOCKSPACE_BACKEND_SANLOCK) == 0)
		cols_sanlock(&cols);
	for (size_t i = 0; i < cols.n; i++)
		lr.want[cols.id[i]] = 1;
	/* /proc/locks stalls every locker on the host while it is read: only on request. */
	unsigned flags =
		(all || stale ? LOCKSPACE_ALL : 0) | (lr.want[VL_COL_WAITERS] ? LOCKSPACE_WAITERS : 0);
	int err = ls ? lockspace_foreach(ls, flags, list_cb, &lr) : 0;
	if (err < 0) {
		vl_error("list %s: %s%s", lockspace_dir(ls), lockspace_strerror(err), vl_advice(err));
		status = virlock_exit_code(err);
		goto out;
	}
	if (lr.nrows > 1)
		qsort(lr.rows, lr.nrows, sizeof(*lr.rows), row_cmp);
	err = print_rows(&lr, &cols);
	if (err < 0) {
		if (err != -ENOPKG)
			vl_error("list: %s", strerror(-err));
		status = VL_EXIT_OSERR;
		goto out;
	}
	status = VL_EXIT_OK;
out:
	for (size_t i = 0; i < lr.nrows; i++)
		row_free(&lr.rows[i]);
	free(lr.rows);
	free(lr.filelocks);
	lockspace_close(ls);
	free(missing);
	return status;
}

static void end(void)
{
	free(owner);
}

const struct virlock_cmd vl_cmd_list = {
	.name = "list",
	.summary = "show held locks (and free lock files with -a)",
	.help = "Show the held locks of the lockspace, one row per holder.",
	.usage = "[OPTION...]",
	.options = options,
	.help_extra = cols_help,
	.lockspace = VL_LOCKSPACE_EXISTING,
	.no_direct = "--direct has no lockspace to list; give -L DIR or drop --direct",
	.option = option,
	.run = run,
	.end = end,
};
