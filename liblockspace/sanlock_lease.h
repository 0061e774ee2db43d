/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sanlock_lease.h: what the sanlock backend's report shares with its protocol. */
#ifndef LOCKSPACE_SANLOCK_LEASE_H
#define LOCKSPACE_SANLOCK_LEASE_H

#include <stddef.h>
#include <sanlock_resource.h>
#include <sys/stat.h>
#include <time.h>

#include "internal.h"

/* A resource with its one disk, as libsanlock wants them laid out. */
struct sl_res {
	struct sanlk_resource r;
	struct sanlk_disk disk;
};
_Static_assert(offsetof(struct sl_res, disk) == offsetof(struct sanlk_resource, disks),
	       "disk follows its resource");

/* The resource's path (or literal string, up to 4096 bytes) and a NUL, in
 * the last 8 KiB of a lease file: sanlock's sectors (leader, request, one per
 * host id up to 2000, 512 bytes each) end 23 KiB before the end, and it never
 * writes there. */
#define SL_PATH_AREA (2 * LSI_CONTENT_MAX)

/* Fill @res for the lease file @name (or the file @path_name) of @ls. Returns 0, -EBADMSG, -ENAMETOOLONG. */
int lsi_sl_res_struct(const struct lockspace *ls, const char *name, const char *path_name, int shared,
		      struct sl_res *res);
/* This host's id in the lockspace: 0 if not joined (or joining), or -errno. */
long long lsi_sl_host_id(const struct lockspace *ls);
/* May the file @name (whose lstat is @st) be a lease? 0, LSI_PRUNE_LOCKFILE
 * for an fcntl lock file, -ELOOP or -EBADMSG (see backend_sanlock.c). */
int lsi_sl_lease_shape(const struct lockspace *ls, const char *name, const struct stat *st);
/* What sanlock's answer on reading a lease file means, as -errno. */
int lsi_sl_lease_err(int rv);
/* Read the path area of the lease file @name into @buf: 0 (verified against
 * the name), -ENODATA if empty, -EBADMSG if it does not hash to it, or -errno. */
int lsi_sl_read_path(const struct lockspace *ls, const char *name, char buf[SL_PATH_AREA]);
/* Whether this process holds the lease @name of @ls (any handle): -1 no, 0
 * exclusive, 1 shared, with *@since when it was taken. */
int lsi_sl_self_hold(const struct lockspace *ls, const char *name, time_t *since);

/* sanlock_report.c: the report verbs (see backend.h). */
struct lsi_report;
int lsi_sl_view_open(struct lockspace *ls, const struct lsi_report *rep, void **view);
int lsi_sl_owners(void *view, const char *name, const char *direct_path, int always,
		  struct lockspace_info *info, struct lsi_owners *out);
int lsi_sl_verdict(void *view, const struct lsi_record *rec, const struct lsi_claim *claim);
void lsi_sl_view_close(void *view);

#endif
