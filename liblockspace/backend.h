/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* backend.h: the lock mechanism behind one small interface: fcntl lock files, or sanlock leases. */
#ifndef LOCKSPACE_BACKEND_H
#define LOCKSPACE_BACKEND_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "internal.h"
#include "lockspace.h"

/* The file in a lockspace directory that names its backend; absent = fcntl. */
#define LSI_BACKEND_FILE ".backend"

/* One resource of an acquire, resolved by the public call. */
struct lsi_target {
	size_t index;	      /* in the caller's array */
	const char *resource; /* as the caller named it */
	unsigned rflags;      /* LOCKSPACE_LITERAL / BYNAME */
	char name[LOCKSPACE_NAME_LEN + 1];
	char *content; /* canonical path or literal; NULL when taken by name */
	int have_id;   /* direct mode: dev and ino of the file, the table's key */
	dev_t dev;
	ino_t ino;
	int expect;	/* lockspace_acquire_expect(): take it only in @state */
	uint64_t state; /* the state of a hand-off (see lockspace_handoff()) */
};

/* A report, as the library keeps it (report.c). */
struct lsi_report {
	struct lockspace *ls;
	unsigned flags; /* LOCKSPACE_WAITERS, LOCKSPACE_ALL */
	lockspace_info_fn fn;
	void *arg;
	void *view;		 /* the backend's */
	struct lsi_record *recs; /* this host's holder records */
	size_t nrecs;
	struct lsi_claims claims; /* theirs, by name */
	struct lsi_join join;
	char *lockfile; /* "<dir>/<name>" of the file reported now (not in direct mode) */
	size_t dirlen;
};

/*
 * What a backend does for one lockspace handle. The public calls own the
 * algorithm (resolve, sort, de-duplicate, deadline, give back on failure,
 * walk the directory, keep the holder record); a backend supplies the
 * verbs on its resources. Every backend sets lock_set, or lock_one and
 * unlock_one, and unlock, unlock_all, the view verbs and prune_one; the
 * others may be NULL, as each says.
 */
struct lsi_backend {
	const char *name;
	/* Take the resources @t[0..@n) (distinct, in name order), one after
	 * another: the caller gives those taken back with unlock_one when
	 * one fails. @wait: 0 try once, 1 wait until @deadline (NULL: for
	 * ever). Returns 0, -EBUSY, -ETIMEDOUT, -EINTR or another -errno. */
	int (*lock_one)(struct lockspace *ls, const struct lsi_target *t, int shared, int wait,
			const struct timespec *deadline);
	void (*unlock_one)(struct lockspace *ls, const struct lsi_target *t);
	/* Or take them all or none in one verb (a backend whose waiter must
	 * hold none while it waits); *@bad: the position in @t that failed. */
	int (*lock_set)(struct lockspace *ls, const struct lsi_target *t, size_t n, int shared, int wait,
			const struct timespec *deadline, size_t *bad);
	/* Release the hold of @ls on @resource (lockspace_release()); *@dropped
	 * 1 when a hold was dropped, even with an error: the record changed. */
	int (*unlock)(struct lockspace *ls, const char *resource, unsigned flags, int *dropped);
	/* Release every hold of @ls; returns how many. */
	int (*unlock_all)(struct lockspace *ls);

	/* A report (lockspace_foreach(), lockspace_inspect()): view_open
	 * reads once what every file's report needs (waiters, the hosts)
	 * into *@view, and frees it on failure; view_close frees it. @rep
	 * is the library's side of the report: its flags, and the holder
	 * records, loaded once view_open returns. owners tells what the
	 * backend sees of the file @name (in direct mode, the resource file
	 * @direct_path): the path, integrity, state and waiters in @info
	 * (the library has set its lock file) and the owners in @out, which
	 * last until the next call;
	 * the library joins them with the records' claims, asking verdict
	 * about each, and reports it. Returns 0, 1 to skip it (a listing
	 * skips a free one without LOCKSPACE_ALL, or one removed since
	 * readdir), or -errno; with @always (inspect), a free one is told
	 * too, and -ENOENT for one that is not there. */
	int (*view_open)(struct lockspace *ls, const struct lsi_report *rep, void **view);
	int (*owners)(void *view, const char *name, const char *direct_path, int always,
		      struct lockspace_info *info, struct lsi_owners *out);
	int (*verdict)(void *view, const struct lsi_record *rec, const struct lsi_claim *claim);
	void (*view_close)(void *view);
	/* Optional (NULL: a walk asks owners() of one file after another):
	 * owners() cut in two, for a walk that looks at many files on several
	 * threads. look tells what the kernel shows of the file @name into
	 * @slot (look_size() bytes, zeroed): from any thread, several at once,
	 * it writes nothing but @slot, and returns 0, or 1 to skip the file
	 * (as owners() does). @own_fds: the thread has a descriptor table of
	 * its own, which holds only the lockspace directory's: there a close
	 * drops no lock of the process, and no other descriptor of the
	 * process is valid. look_owners does the rest for a slot that look
	 * filled with 0, on the walk's thread in the walk's order, as owners()
	 * would; it takes what the slot holds. look_free frees what a slot
	 * filled with 0 holds when it is never given to look_owners. */
	size_t (*look_size)(void);
	int (*look)(const void *view, const char *name, void *slot, int own_fds);
	int (*look_owners)(void *view, const char *name, void *slot, struct lockspace_info *info,
			   struct lsi_owners *out);
	void (*look_free)(void *slot);
	/* lockspace_probe() of @name (or @direct_path); NULL: -EOPNOTSUPP. */
	int (*probe)(struct lockspace *ls, const char *name, const char *direct_path,
		     enum lockspace_state *state, pid_t *pid);

	/* Judge the file @name of the lockspace directory for a prune (a
	 * valid name, or one that starts with a dot) and remove it if it is
	 * free, never racing an acquirer. Returns 1 removed (with @dry_run:
	 * would be), 0 kept (or not the backend's), LSI_PRUNE_LOCKFILE for an
	 * fcntl lock file (the caller prunes it as one), or -errno: a file it
	 * cannot judge (-EBADMSG, -ELOOP: not a lease of this lockspace) is
	 * kept and reported, and prune goes on with the others. */
	int (*prune_one)(struct lockspace *ls, const char *name, int dry_run);

	/* The operations of the handle itself: NULL when the backend has no
	 * use for them (fcntl has none). */
	int (*open)(struct lockspace *ls, char *config); /* @config: the backend file's rest */
	void (*close)(struct lockspace *ls);
	/* Call @fn for each lease @ls holds (for its holder record). */
	void (*each_held)(struct lockspace *ls,
			  void (*fn)(const char *name, int shared, time_t since, void *arg), void *arg);
	/* Call @fn for each lease @ls now waits for (its record's "wait" lines). */
	void (*each_waiting)(struct lockspace *ls,
			     void (*fn)(const char *name, int shared, time_t since, void *arg), void *arg);
	/* Make @ls (already open, fcntl so far) a lockspace of this backend and
	 * join this host to it as @host_id, telling @fn (may be NULL) when the
	 * join starts (see lockspace_init_notify()); leave it. */
	int (*init)(struct lockspace *ls, unsigned host_id, lockspace_join_fn fn, void *arg);
	int (*leave)(struct lockspace *ls);
	/* Hosts that share the directory must not share holder records (a pid
	 * means nothing on another host): write into @buf the subdirectory of
	 * .holders that is this host's. NULL: .holders itself. Returns 0 or
	 * -errno (-ENOTCONN: this host has not joined, or left, or its daemon
	 * went away). With @own, the caller only deletes this process's own
	 * files: the subdirectory it last wrote them in will do. */
	int (*holders_sub)(const struct lockspace *ls, int own, char *buf, size_t len);
	/* lockspace_watch_fd() and lockspace_lost(); NULL: the locks cannot be
	 * lost while the process lives (fcntl). */
	int (*watch_fd)(struct lockspace *ls);
	int (*lost)(struct lockspace *ls, pid_t sender);
	/* lockspace_handoff() of the resource @name that @ls holds: its state
	 * in *@state. NULL: -EOPNOTSUPP. */
	int (*handoff)(struct lockspace *ls, const char *name, const char *content, uint64_t *state);
	/* lockspace_acquire_expect(), once every resource is held: consume the
	 * hand-off of @t. NULL: nothing to consume. */
	int (*handoff_done)(struct lockspace *ls, const struct lsi_target *t);
};

#define LSI_PRUNE_LOCKFILE 2

extern const struct lsi_backend lsi_backend_fcntl;
#ifdef HAVE_SANLOCK
extern const struct lsi_backend lsi_backend_sanlock;
#endif

#endif
