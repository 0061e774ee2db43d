/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* scols_load.h: libsmartcols, opened by the first table that needs it. */
#ifndef VIRLOCK_SCOLS_LOAD_H
#define VIRLOCK_SCOLS_LOAD_H

#include <libsmartcols.h>

/*
 * The calls of libsmartcols that list makes. Only list prints through
 * libsmartcols, and only a small table or one for a terminal (big ones are
 * laid out by layout.c): loading the library at start cost every virlock
 * process, an acquire above all, about 0.13 ms of CPU (a sixth of a bare
 * process start), so it is opened on first use instead.
 */
struct vl_scols {
	__typeof__(scols_new_table) *new_table;
	__typeof__(scols_unref_table) *unref_table;
	__typeof__(scols_table_set_name) *table_set_name;
	__typeof__(scols_table_enable_json) *table_enable_json;
	__typeof__(scols_table_enable_raw) *table_enable_raw;
	__typeof__(scols_table_enable_noheadings) *table_enable_noheadings;
	__typeof__(scols_table_new_column) *table_new_column;
	__typeof__(scols_table_new_line) *table_new_line;
	__typeof__(scols_column_set_json_type) *column_set_json_type;
	__typeof__(scols_column_set_flags) *column_set_flags;
	__typeof__(scols_column_set_wrapfunc) *column_set_wrapfunc;
	__typeof__(scols_wrapnl_chunksize) *wrapnl_chunksize;
	__typeof__(scols_wrapnl_nextchunk) *wrapnl_nextchunk;
	__typeof__(scols_line_set_data) *line_set_data;
	__typeof__(scols_print_table) *print_table;
};

/* The calls, once vl_scols_load() returned 0. */
extern struct vl_scols vl_scols;

/* Open libsmartcols.so.1 (once). Returns 0, or -ENOPKG after one line on
 * stderr that names the library and says what to install. */
int vl_scols_load(void);

#endif
