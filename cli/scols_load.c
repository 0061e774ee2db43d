/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* scols_load.c: open libsmartcols on first use (see scols_load.h). */
#include <dlfcn.h>
#include <errno.h>

#include "scols_load.h"
#include "virlock.h"

struct vl_scols vl_scols;

/* dlsym() gives an object pointer; POSIX makes it a function's too. */
#define LOAD(member) ((*(void **)&vl_scols.member = dlsym(handle, "scols_" #member)) != NULL)

int vl_scols_load(void)
{
	static int state; /* 0 not tried, 1 loaded, -ENOPKG failed */
	if (state)
		return state < 0 ? state : 0;
	state = -ENOPKG;
	void *handle = dlopen("libsmartcols.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		vl_error("libsmartcols.so.1 cannot be loaded (%s); install libsmartcols1", dlerror());
		return state;
	}
	if (!(LOAD(new_table) && LOAD(unref_table) && LOAD(table_set_name) && LOAD(table_enable_json) &&
	      LOAD(table_enable_raw) && LOAD(table_enable_noheadings) && LOAD(table_new_column) &&
	      LOAD(table_new_line) && LOAD(column_set_json_type) && LOAD(column_set_flags) &&
	      LOAD(column_set_wrapfunc) && LOAD(wrapnl_chunksize) && LOAD(wrapnl_nextchunk) &&
	      LOAD(line_set_data) && LOAD(print_table))) {
		vl_error("libsmartcols.so.1 lacks a call virlock needs (%s); install libsmartcols1 "
			 "2.38 or later",
			 dlerror());
		return state; /* the handle stays open: nothing is gained by closing it */
	}
	state = 1;
	return 0;
}
