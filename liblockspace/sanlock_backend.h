/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sanlock_backend.h: what the files of the sanlock backend share (protocol, lockspace, lease files, report).
 */
#ifndef LOCKSPACE_SANLOCK_BACKEND_H
#define LOCKSPACE_SANLOCK_BACKEND_H

#include <stddef.h>
#include <sanlock.h> /* before sanlock_resource.h, which uses its types */
#include <sanlock_resource.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "internal.h"

/*
 * The directory holds:
 *   .backend          "sanlock\n" and the sanlock lockspace name and "\n"
 *   .lockspace.lease  the sanlock lockspace (delta leases of host ids)
 *   <md5>             a resource lease of 1 MiB, made on first use
 * Host ids are not stored: each host's daemon knows the id it joined with.
 * The sanlock daemon does all the I/O, with O_DIRECT, as its own user.
 */
#define SL_LOCKSPACE_LEASE ".lockspace.lease"
#define SL_LEASE_SIZE	   (1 << 20)
#define SL_RETRY_MS	   500 /* a waiter tries again (and rewrites its record) at least this often */
#define SL_RETRY_FIRST_MS  20  /* its first pause, doubled at each try up to SL_RETRY_MS */

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
/* The lease file's identity, a random number written when it is made, in
 * its last 8 bytes (in the path area, past any path): a file a prune removed
 * and an acquire made again is another lease, whose version starts again.
 * Older lease files have none (0). A hand-off state (lockspace_handoff()) is
 * the low 32 bits of it above the lease version (at most 32 bits). */
#define SL_NONCE_OFFSET (SL_LEASE_SIZE - 8)
#define SL_STATE_LVER	0xffffffffULL

/* ---- backend_sanlock.c: the protocol ---- */
/* Map sanlock's return codes onto the library's. */
int lsi_sl_err(int rv);
/* Whether this process holds the lease @name of @ls (any handle): -1 no, 0
 * exclusive, 1 shared, with *@since when it was taken. */
int lsi_sl_self_hold(const struct lockspace *ls, const char *name, time_t *since);

/* ---- sanlock_space.c: the lockspace, and this host in it ---- */
/* Is the daemon there? 0, -ECONNREFUSED (its socket missing or refusing), or -errno. */
int lsi_sl_daemon(void);
/* This host's id in the lockspace: 0 if not joined (or joining), or -errno. */
long long lsi_sl_host_id(const struct lockspace *ls);
/* This host's id and generation in the lockspace (generation 0: not known
 * yet). Returns 0, -ENOTCONN (not joined) or -errno. */
int lsi_sl_self(const struct lockspace *ls, uint64_t *id, uint64_t *generation);
/* Write a new file @tmp in the directory: @content (may be NULL), then
 * @size bytes long (0: as written). Returns 0 or -errno, and leaves no
 * file on failure. */
int lsi_sl_create_file(const struct lockspace *ls, const char *tmp, const char *content, off_t size);
/* Link @tmp as @final, never over an existing file, and remove @tmp.
 * Returns 0, 1 if @final existed already, or -errno. */
int lsi_sl_publish(const struct lockspace *ls, const char *tmp, const char *final);
/* The backend verbs init, leave and holders_sub (see backend.h). */
int lsi_sl_init(struct lockspace *ls, unsigned host_id, lockspace_join_fn fn, void *arg);
int lsi_sl_leave(struct lockspace *ls);
int lsi_sl_holders_sub(const struct lockspace *ls, int own, char *buf, size_t len);

/* ---- sanlock_lease.c: the lease files ---- */
/* Copy the name @src into the sanlock name field @dst (SANLK_NAME_LEN
 * bytes, zero-padded). Returns 0, or -EBADMSG if empty or too long. */
int lsi_sl_copy_name(char *dst, const char *src);
/* Fill @res for the lease file @name (or the file @path_name) of @ls. Returns 0, -EBADMSG, -ENAMETOOLONG. */
int lsi_sl_res_struct(const struct lockspace *ls, const char *name, const char *path_name, int shared,
		      struct sl_res *res);
/* May the file @name (whose lstat is @st) be a lease? 0, LSI_PRUNE_LOCKFILE
 * for an fcntl lock file, -ELOOP or -EBADMSG (see sanlock_lease.c). */
int lsi_sl_lease_shape(const struct lockspace *ls, const char *name, const struct stat *st);
/* What sanlock's answer on reading a lease file means, as -errno. */
int lsi_sl_lease_err(int rv);
/* Read the path area of the lease file @name into @buf: 0 (verified against
 * the name), -ENODATA if empty, -EBADMSG if it does not hash to it, or -errno. */
int lsi_sl_read_path(const struct lockspace *ls, const char *name, char buf[SL_PATH_AREA]);
/* Make the lease file of @name, with @content in its path area, if it is
 * missing; check the one there. Returns 0, -EBADMSG (not a lease, or a
 * path that does not hash to the name), -ENOTCONN or -errno. */
int lsi_sl_ensure_lease(const struct lockspace *ls, const char *name, const char *content);
/* Does the lease file now at @name have this host (@id, @generation; 0 any)
 * as an owner? 0 yes, -ESTALE no (the lease is of a pruned file), or -errno. */
int lsi_sl_verify(const struct lockspace *ls, const char *name, uint64_t id, uint64_t generation);
/* The identity of the lease file @name (0: an older file without one) in
 * *@nonce: 0 or -errno. */
int lsi_sl_read_nonce(const struct lockspace *ls, const char *name, uint64_t *nonce);
/* The hand-off state of the lease file @name: its nonce and lease version,
 * read now. 0, -EOVERFLOW (a version past 32 bits), or -errno. */
int lsi_sl_handoff_state(const struct lockspace *ls, const char *name, uint64_t *state);
/* Is the file @file a temporary lease file of this host whose process is gone? 1 or 0. */
int lsi_sl_stale_tmp(const struct lockspace *ls, const char *file);

/* ---- sanlock_watch.c: a waiter's watch on the leader of the lease it waits for ---- */
#define SL_WATCH_MS	  20   /* a waiter reads the leader this often between its tries, */
#define SL_WATCH_FAST_FOR 2000 /* for the first 2 s of its wait (a hand-off is quick), */
#define SL_WATCH_SLOW_MS  100  /* then this often: 10 small reads a second on a long wait */
struct sl_watch {
	int fd;		      /* the lease file, or -1: not watched */
	unsigned char *block; /* the aligned buffer of each read */
	unsigned char *seen;  /* the leader as it was when the watch started */
};
/* Watch the lease file @name of @ls from now on (the file stays open until
 * the watch ends). Returns 0, or -errno: then it is not watched. */
int lsi_sl_watch_start(struct sl_watch *w, const struct lockspace *ls, const char *name);
/* Has the leader changed since the watch started? 1 or 0 (also when it
 * cannot be read, or is not watched). One read of the storage. */
int lsi_sl_watch_changed(struct sl_watch *w);
/* End the watch (close the file); free its buffers too. Both accept any state. */
void lsi_sl_watch_end(struct sl_watch *w);
void lsi_sl_watch_free(struct sl_watch *w);

/* ---- sanlock_report.c: the report verbs (see backend.h) ---- */
struct lsi_report;
int lsi_sl_view_open(struct lockspace *ls, const struct lsi_report *rep, void **view);
int lsi_sl_owners(void *view, const char *name, const char *direct_path, int always,
		  struct lockspace_info *info, struct lsi_owners *out);
int lsi_sl_verdict(void *view, const struct lsi_record *rec, const struct lsi_claim *claim);
void lsi_sl_view_close(void *view);

#endif
