/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* output.h: what list, inspect, hash, prune and init share: columns, words, JSON, times, help. */
#ifndef VIRLOCK_OUTPUT_H
#define VIRLOCK_OUTPUT_H

#include <popt.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include <libsmartcols.h>
#include <lockspace.h>

#include "options.h"

/* The columns of list, in the order --output-all shows them. */
enum vl_col {
	VL_COL_NAME,
	VL_COL_PATH,
	VL_COL_MODE,
	VL_COL_HOST,
	VL_COL_GEN,
	VL_COL_PID,
	VL_COL_COMMAND,
	VL_COL_OWNER,
	VL_COL_CHILD,
	VL_COL_SINCE,
	VL_COL_WAITERS,
	VL_COL_LOCKFILE,
	VL_COL_STATUS,
	VL_NCOLS
};

/* A column may be named twice in -o, as util-linux allows. */
#define VL_MAXCOLS (VL_NCOLS * 2)

struct vl_columns {
	size_t n;
	enum vl_col id[VL_MAXCOLS + 1]; /* one more: the HOST of vl_columns_sanlock() */
};

/* The default set: PATH MODE PID OWNER COMMAND SINCE. */
void vl_columns_default(struct vl_columns *c);
/* The default set of a sanlock lockspace: HOST before PID. Applied to @c
 * built on the default set (with or without a +LIST), unless it names HOST. */
void vl_columns_sanlock(struct vl_columns *c);
/* Every column, once. */
void vl_columns_all(struct vl_columns *c);
/*
 * Parse a comma-separated list of column names (any case) into @c; a list
 * that starts with '+' is appended to what @c holds already. On error print
 * one line naming the bad column and return -1.
 */
int vl_columns_parse(struct vl_columns *c, const char *spec);
/* The heading of column @col, "PATH". */
const char *vl_column_name(enum vl_col col);
/* Print "Available output columns:" and a line per column. */
void vl_columns_help(FILE *out);

/* Output modes of a table. */
enum vl_out_flags {
	VL_OUT_JSON = 1u << 0,
	VL_OUT_RAW = 1u << 1,
	VL_OUT_NOHEADINGS = 1u << 2,
};

/*
 * A libsmartcols table named "locks" with the columns of @c: numbers are
 * JSON numbers, WAITERS a JSON array of numbers. NULL when out of memory.
 * Sets LC_CTYPE from the environment first (virlock leaves it "C" elsewhere).
 */
struct libscols_table *vl_table_new(const struct vl_columns *c, unsigned outflags);

/*
 * The waiters of a lock, sorted, each once: /proc/locks can show one waiter
 * twice while other locks on the host change. *out is malloc'd (NULL when
 * *nout is 0). Returns 0 or -ENOMEM.
 */
int vl_waiters_unique(const pid_t *w, size_t n, pid_t **out, size_t *nout);

/*
 * Cell data for a WAITERS cell: the unique pids joined by ',' for tables, by
 * '\n' for JSON. NULL when there are none in a table; in JSON " "
 * (libsmartcols 2.38 prints [null] for empty data, but copies a blank
 * verbatim: []). Malloc'd; NULL also when out of memory (*oom set).
 */
char *vl_waiters_cell(const pid_t *w, size_t n, unsigned outflags, int *oom);

/* "free", "shared" or "exclusive". */
const char *vl_state_word(enum lockspace_state state);
/* "verified", "empty", "corrupt" or "unreadable". */
const char *vl_integrity_word(int integrity);
/* A holder's own status: "ok", "norecord", "remote" (sanlock: on another
 * host), "stale" or "unconfirmed". */
const char *vl_holder_word(const struct lockspace_holder *h);
/* The MODE of a list row: "stale" for a stale record, else the holder's mode
 * (or, with @h NULL, the file's state). */
const char *vl_row_mode(const struct lockspace_info *info, const struct lockspace_holder *h);
/*
 * The STATUS of a list row: "stale" (the row is a stale record), else the
 * lock file's trouble ("corrupt", "empty", "unreadable"), else "norecord"
 * (held by a process without a holder record), "remote" (held on another
 * host of a sanlock lockspace), else "ok". @h may be NULL
 * for a row without a holder.
 */
const char *vl_row_status(const struct lockspace_info *info, const struct lockspace_holder *h);

/* ISO 8601 local time with its UTC offset, "2024-11-23T18:09:01+01:00". */
#define VL_TIME_LEN 32
/* Format @t into @buf; returns @buf, or NULL when @t is 0 (unknown) or invalid. */
const char *vl_format_time(time_t t, char buf[VL_TIME_LEN]);

/* Print @s as a JSON string (invalid UTF-8 as U+FFFD), or null when NULL. */
void vl_json_string(FILE *out, const char *s);
/* Print @s with control characters, backslash and invalid UTF-8 escaped as
 * \xNN; "-" for NULL or "" (unknown), and so "\x2d" for "-" itself. */
void vl_print_safe(FILE *out, const char *s);
/* Print a cell of raw output as vl_print_safe() does, blanks and bytes that
 * are not ASCII escaped too (as libsmartcols' raw mode writes them): a cell
 * is then one word that is never empty, and "-" always means unknown. */
void vl_print_raw_cell(FILE *out, const char *s);

/* Flush stdout; on a write error print it and return VL_EXIT_OSERR, else @status. */
int vl_finish_stdout(int status);

#endif
