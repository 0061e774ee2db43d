/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cmd_list.c: virlock list, one row per holder of each lock, through libsmartcols. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "strutil.h"
#include "virlock.h"

struct row {
	char *cell[VL_NCOLS]; /* only the wanted columns are filled */
	char *path;	      /* sort keys */
	char name[LOCKSPACE_NAME_LEN + 1];
	pid_t pid;
};

struct list_run {
	unsigned outflags;
	int all;
	int stale; /* --stale: rows for the stale records too */
	pid_t pid;
	const char *owner;
	int want[VL_NCOLS];
	struct row *rows;
	size_t nrows, cap;
};

static void row_free(struct row *r)
{
	for (int i = 0; i < VL_NCOLS; i++)
		free(r->cell[i]);
	free(r->path);
}

static int set_cell(struct list_run *lr, struct row *r, enum vl_col col, const char *value)
{
	if (!lr->want[col] || !value)
		return 0;
	r->cell[col] = strdup(value);
	return r->cell[col] ? 0 : -ENOMEM;
}

static int set_pid_cell(struct list_run *lr, struct row *r, enum vl_col col, pid_t pid)
{
	char buf[24];
	if (pid <= 0)
		return 0;
	snprintf(buf, sizeof(buf), "%d", (int)pid);
	return set_cell(lr, r, col, buf);
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
	char tbuf[VL_TIME_LEN], nbuf[24];
	int err = 0;
	if (info->path && !(r->path = strdup(info->path)))
		err = -ENOMEM;
	if (!err)
		err = set_cell(lr, r, VL_COL_NAME, info->name);
	if (!err)
		err = set_cell(lr, r, VL_COL_PATH, info->path);
	if (!err)
		err = set_cell(lr, r, VL_COL_MODE, vl_row_mode(info, h));
	if (!err && h && h->host_id) {
		snprintf(nbuf, sizeof(nbuf), "%u", h->host_id);
		err = set_cell(lr, r, VL_COL_HOST, nbuf);
	}
	if (!err && h && h->host_id) {
		snprintf(nbuf, sizeof(nbuf), "%llu", h->generation);
		err = set_cell(lr, r, VL_COL_GEN, nbuf);
	}
	if (!err && h)
		err = set_pid_cell(lr, r, VL_COL_PID, h->pid);
	if (!err && h)
		err = set_cell(lr, r, VL_COL_COMMAND, h->command);
	if (!err && h)
		err = set_cell(lr, r, VL_COL_OWNER, h->owner);
	if (!err && h)
		err = set_pid_cell(lr, r, VL_COL_CHILD, h->child);
	if (!err && h)
		err = set_cell(lr, r, VL_COL_SINCE, vl_format_time(h->since, tbuf));
	if (!err && lr->want[VL_COL_WAITERS]) {
		int oom;
		r->cell[VL_COL_WAITERS] = vl_waiters_cell(info->waiters, info->nwaiters, lr->outflags, &oom);
		if (oom)
			err = -ENOMEM;
	}
	if (!err)
		err = set_cell(lr, r, VL_COL_LOCKFILE, info->lockfile);
	if (!err)
		err = set_cell(lr, r, VL_COL_STATUS, vl_row_status(info, h));
	if (err) {
		row_free(r);
		return err;
	}
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
			printf("%s%s", c ? " " : "", vl_column_name(cols->id[c]));
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

static int print_rows(struct list_run *lr, const struct vl_columns *cols)
{
	if (lr->outflags & VL_OUT_RAW) {
		print_raw(lr, cols);
		return 0;
	}
	struct libscols_table *tb = vl_table_new(cols, lr->outflags);
	if (!tb)
		return -ENOMEM;
	int err = 0;
	for (size_t i = 0; i < lr->nrows && !err; i++) {
		struct libscols_line *ln = scols_table_new_line(tb, NULL);
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
			if (data && scols_line_set_data(ln, c, data) != 0)
				err = -ENOMEM;
			free(clean);
		}
	}
	if (!err && scols_print_table(tb) != 0)
		err = -EIO;
	scols_unref_table(tb);
	return err;
}

static const char summary[] = "Show the held locks of the lockspace, one row per holder.";

int cmd_list(struct virlock_ctx *ctx, int argc, const char **argv)
{
	int json = 0, raw = 0, noheadings = 0, output_all = 0, all = 0, stale = 0;
	pid_t pid = 0;
	char *owner = NULL;
	struct vl_columns cols;
	int cols_given = 0, on_default = 1; /* the columns are the default set, perhaps +LIST */
	struct poptOption options[] = {
		{"all", 'a', POPT_ARG_NONE, &all, 0, "also show free lock files", NULL},
		{"json", 'J', POPT_ARG_NONE, &json, 0, "use JSON output format", NULL},
		{"noheadings", 'n', POPT_ARG_NONE, &noheadings, 0, "don't print headings", NULL},
		{"output", 'o', POPT_ARG_STRING, NULL, 'o', "output columns (+LIST adds to the default)",
		 "LIST"},
		{"output-all", '\0', POPT_ARG_NONE, &output_all, 0, "output all columns", NULL},
		{"pid", 'p', POPT_ARG_STRING, NULL, 'p', "show only locks held by PID or by its supervisor",
		 "PID"},
		{"owner", '\0', POPT_ARG_STRING, NULL, 'O', "show only locks held with this owner label",
		 "LABEL"},
		{"raw", 'r', POPT_ARG_NONE, &raw, 0, "use the raw output format", NULL},
		{"stale", '\0', POPT_ARG_NONE, &stale, 0, "also show stale holder records, as MODE stale",
		 NULL},
		VL_POPT_STANDARD,
		POPT_TABLEEND,
	};
	struct vl_popt p;
	struct lockspace *ls = NULL;
	char *missing = NULL;
	struct list_run lr = {0};
	int status = VL_EXIT_USAGE;

	vl_columns_default(&cols);
	if (vl_popt_start(&p, argc, argv, options, "[OPTION...]") < 0)
		return VL_EXIT_OSERR;
	int rc;
	while ((rc = poptGetNextOpt(p.con)) > 0) {
		if (rc == 'o') {
			char *spec = poptGetOptArg(p.con);
			int bad = !spec || vl_columns_parse(&cols, spec) < 0;
			if (!bad && spec[0] != '+')
				on_default = 0;
			free(spec);
			if (bad)
				goto out;
			cols_given = 1;
			continue;
		}
		if (rc == 'p') {
			char *value = poptGetOptArg(p.con);
			int bad = vl_parse_pid("--pid", value, &pid);
			free(value);
			if (bad)
				goto out;
			continue;
		}
		if (rc == 'O') {
			free(owner);
			owner = poptGetOptArg(p.con);
			if (vl_check_label("--owner", owner))
				goto out;
			continue;
		}
		status = vl_popt_common(&p, rc, summary, vl_columns_help);
		goto out;
	}
	if (rc < -1) {
		status = vl_popt_common(&p, rc, summary, NULL);
		goto out;
	}
	int nargs;
	const char **args = vl_popt_args(&p, &nargs);
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
	if (ctx->direct) {
		vl_error("list: --direct has no lockspace to list; give -L DIR or drop --direct");
		goto out;
	}
	if (output_all)
		vl_columns_all(&cols);

	lr.outflags =
		(json ? VL_OUT_JSON : 0) | (raw ? VL_OUT_RAW : 0) | (noheadings ? VL_OUT_NOHEADINGS : 0);
	lr.all = all;
	lr.stale = stale;
	lr.pid = pid;
	lr.owner = owner;

	/* A lockspace that does not exist holds nothing: list it empty, and
	 * leave it uncreated. */
	status = vl_open_existing_lockspace(ctx, &ls, &missing);
	if (status != VL_EXIT_OK)
		goto out;
	if (ls && on_default && !output_all && strcmp(lockspace_backend(ls), LOCKSPACE_BACKEND_SANLOCK) == 0)
		vl_columns_sanlock(&cols);
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
		vl_error("list: %s", strerror(-err));
		status = VL_EXIT_OSERR;
		goto out;
	}
	status = vl_finish_stdout(VL_EXIT_OK);
out:
	for (size_t i = 0; i < lr.nrows; i++)
		row_free(&lr.rows[i]);
	free(lr.rows);
	lockspace_close(ls);
	free(missing);
	vl_popt_end(&p);
	free(owner);
	return status;
}
