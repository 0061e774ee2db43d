/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* layout.h: big tables and JSON in one cheap pass, byte for byte as libsmartcols prints them to a pipe. */
#ifndef VIRLOCK_LAYOUT_H
#define VIRLOCK_LAYOUT_H

#include <stddef.h>
#include <stdio.h>

/* The JSON type of a column, as libsmartcols' SCOLS_JSON_STRING, _NUMBER
 * and _ARRAY_NUMBER (one number a line of the cell). */
enum vl_layout_json {
	VL_LAYOUT_STRING,
	VL_LAYOUT_NUMBER,
	VL_LAYOUT_ARRAY_NUMBER,
};

/* A column as given to scols_table_new_column(): heading, width hint,
 * SCOLS_FL_RIGHT or not; and its JSON type. */
struct vl_layout_col {
	const char *name;
	double whint;
	int right;
	enum vl_layout_json json;
};

/* The cell of row @row, column @col: NULL or "" for an empty cell. */
typedef const char *(*vl_layout_cell_fn)(void *arg, size_t row, size_t col);

/*
 * Can vl_layout_print() stand in for libsmartcols here? Only for output that
 * is not a terminal (libsmartcols then never truncates, wraps or stretches a
 * column), in a charset whose printable ASCII is one byte and one cell
 * (UTF-8 or ASCII), and with libsmartcols' debugging off (its
 * LIBSMARTCOLS_DEBUG_PADDING pads with dots).
 * Call after setlocale(LC_CTYPE, ...).
 */
int vl_layout_usable(void);

/*
 * Print @nrows rows of @ncols columns to @out, heading first unless
 * @noheadings, as scols_print_table() prints the same table (no flags but
 * SCOLS_FL_RIGHT, NOEXTREMES and TRUNC, which do nothing off a terminal)
 * to output that is not a terminal: each column as wide as its widest cell,
 * heading or width hint >= 1, cells separated by one blank, right-aligned
 * where asked, the last column unpadded unless right-aligned; control
 * characters, "\x", invalid and unprintable characters escaped as \xNN.
 * Nothing for no rows. Returns 0, or -ENOMEM.
 */
int vl_layout_print(FILE *out, const struct vl_layout_col *cols, size_t ncols, size_t nrows,
		    vl_layout_cell_fn cell, void *arg, int noheadings);

/*
 * Print the same rows as JSON to @out, byte for byte as scols_print_table()
 * does for a table named @name in JSON mode: {"name": [{...},...]}, three
 * blanks an indent, each object's members named by the lowercased headings,
 * an empty cell null, strings escaped as libsmartcols escapes them (the
 * caller makes them valid UTF-8). At least one row. Returns 0, or -ENOMEM.
 */
int vl_layout_print_json(FILE *out, const char *name, const struct vl_layout_col *cols, size_t ncols,
			 size_t nrows, vl_layout_cell_fn cell, void *arg);

#endif
