/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sanlock_report.c: each lease's owners as sanlock reads them from the disk, and its waiters. */
#ifdef HAVE_SANLOCK
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "internal.h"
#include "sanlock_client.h" /* the sanlock_* calls, through the library opened on first use */
#include "sanlock_delta.h"
#include "sanlock_backend.h"

/* Does @pid hold the lease @name, as this host's daemon says? The holder
 * records of every host sharing the directory are there; only this host's
 * daemon knows its own processes. */
static int sl_pid_holds(const struct lockspace *ls, pid_t pid, const char *name)
{
	int count = 0;
	char *state = NULL, want[2 * SANLK_NAME_LEN + 4];
	if (sanlock_inquire(-1, pid, 0, &count, &state) < 0 || !state) {
		free(state);
		return 0;
	}
	snprintf(want, sizeof(want), "%s:%s:", ls->backend_config, name);
	int found = 0;
	for (char *p = state; !found && (p = strstr(p, want)); p++)
		found = p == state || p[-1] == ' ';
	free(state);
	return found;
}

/* Another host's "wait" line older than this (seconds) is of a waiter gone:
 * a waiter rewrites its record every SL_RETRY_MS. */
#define SL_WAIT_FRESH 10

/* What a report knows once for all leases. */
struct sl_view {
	struct lockspace *ls;
	const struct lsi_report *rep; /* its flags, and this host's records */
	long long self_host;
	int self_holds_now; /* this host owns the current lease in its generation */
	const char *cur;    /* the current lease's name, for lsi_sl_verdict() */
	/* The current lease's, until the next one. */
	char path[SL_PATH_AREA];
	struct lsi_owner *owners;
	pid_t *wpids;
	unsigned *whosts;
	const char **wnames;	   /* the name of each waiter's host, NULL if unknown */
	struct lsi_record *others; /* other hosts' records: only their waits are used */
	unsigned *other_hosts;	   /* the host of each */
	size_t nothers;
	struct sanlk_host *hosts; /* each host's current generation */
	int nhosts;
	int waiters; /* report waiters */
	time_t now;
	struct sl_delta_slot **deltas; /* the delta leases read so far: one read per host id */
	size_t ndeltas;
};

/* One host id's delta lease as a report read it (err < 0: unreadable). */
struct sl_delta_slot {
	unsigned host_id;
	int err;
	struct lsi_delta d;
};

static void sl_view_free(struct sl_view *v)
{
	free(v->owners);
	free(v->wpids);
	free(v->whosts);
	free(v->wnames);
	lsi_records_free(v->others, v->nothers);
	free(v->other_hosts);
	free(v->hosts);
	for (size_t i = 0; i < v->ndeltas; i++)
		free(v->deltas[i]);
	free(v->deltas);
}

/* The delta lease of @host_id, read at its first use in the report (a
 * listing reads each host's once, not once per lease), or NULL when it
 * cannot be read. It lasts as long as @v. */
static const struct lsi_delta *sl_view_delta(const struct lockspace *ls, struct sl_view *v, uint64_t host_id)
{
	for (size_t i = 0; i < v->ndeltas; i++)
		if (v->deltas[i]->host_id == host_id)
			return v->deltas[i]->err ? NULL : &v->deltas[i]->d;
	struct sl_delta_slot **more = realloc(v->deltas, (v->ndeltas + 1) * sizeof(*more));
	if (!more)
		return NULL;
	v->deltas = more;
	struct sl_delta_slot *slot = calloc(1, sizeof(*slot));
	if (!slot)
		return NULL;
	slot->host_id = (unsigned)host_id;
	slot->err = lsi_delta_read(ls, (unsigned)host_id, &slot->d);
	v->deltas[v->ndeltas++] = slot;
	return slot->err ? NULL : &slot->d;
}

/* The name of the daemon that holds @host_id's delta lease, or NULL. */
static const char *sl_view_name(const struct lockspace *ls, struct sl_view *v, uint64_t host_id)
{
	const struct lsi_delta *d = sl_view_delta(ls, v, host_id);
	return d && d->host_name[0] ? d->host_name : NULL;
}

/* The generation @host_id has now, 0 if unknown: the daemon's, or the one
 * its delta lease shows (the daemon of a host that joined again reports it
 * only after its first renewal, and a host that has not joined knows none). */
static uint64_t sl_current_gen(const struct lockspace *ls, struct sl_view *v, uint64_t host_id)
{
	uint64_t gen = 0;
	for (int i = 0; i < v->nhosts; i++)
		if (v->hosts[i].host_id == host_id)
			gen = v->hosts[i].generation;
	const struct lsi_delta *d = sl_view_delta(ls, v, host_id);
	return d && d->generation > gen ? d->generation : gen;
}

/* Add the records of the other hosts' directories .holders/h<id> to @v. */
static int sl_view_others(const struct lockspace *ls, struct sl_view *v)
{
	int fd = openat(ls->dirfd, LSI_HOLDERS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0; /* no records: no waiters */
	}
	int err = 0;
	struct dirent *de;
	while (!err && (de = readdir(d))) {
		unsigned id;
		int end = 0;
		if (sscanf(de->d_name, "h%u%n", &id, &end) != 1 || de->d_name[end] || id == 0 ||
		    (long long)id == v->self_host)
			continue;
		struct lsi_record *r = NULL;
		size_t n = 0;
		if (lsi_records_load_sub(ls, de->d_name, &r, &n) < 0 || n == 0) {
			lsi_records_free(r, n);
			continue; /* unreadable: that host's business */
		}
		struct lsi_record *all = realloc(v->others, (v->nothers + n) * sizeof(*all));
		unsigned *hosts = all ? realloc(v->other_hosts, (v->nothers + n) * sizeof(*hosts)) : NULL;
		if (all)
			v->others = all;
		if (hosts)
			v->other_hosts = hosts;
		if (!all || !hosts) {
			lsi_records_free(r, n);
			err = -ENOMEM;
			break;
		}
		for (size_t i = 0; i < n; i++) {
			v->others[v->nothers] = r[i];
			v->other_hosts[v->nothers++] = id;
		}
		free(r); /* its contents moved */
	}
	closedir(d);
	return err;
}

/* The waiters of @name: this host's live records that wait for it, and the
 * other hosts' recent ones. */
static int sl_waiters(const struct sl_view *v, const char *name, pid_t **pids, unsigned **hosts, size_t *n)
{
	size_t cap = 0;
	*n = 0;
	*pids = NULL;
	*hosts = NULL;
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			if (!cap)
				return 0;
			*pids = calloc(cap, sizeof(**pids));
			*hosts = calloc(cap, sizeof(**hosts));
			if (!*pids || !*hosts)
				return -ENOMEM;
		}
		size_t nrecs = v->rep->nrecs;
		for (size_t i = 0; i < nrecs + v->nothers; i++) {
			int local = i < nrecs;
			const struct lsi_record *r = local ? &v->rep->recs[i] : &v->others[i - nrecs];
			if (local ? !(r->live || r->unknown) : r->mtime < v->now - SL_WAIT_FRESH)
				continue;
			for (size_t w = 0; w < r->nwaits; w++) {
				if (strcmp(r->waits[w].name, name) != 0)
					continue;
				if (pass == 0) {
					cap++;
					continue;
				}
				(*pids)[*n] = r->pid;
				(*hosts)[(*n)++] = local ? (unsigned)v->self_host : v->other_hosts[i - nrecs];
			}
		}
	}
	return 0;
}

/* A claim of this host's records holds when this host owns the lease in
 * its current generation and its daemon says the process holds it. */
int lsi_sl_verdict(void *view, const struct lsi_record *rec, const struct lsi_claim *claim)
{
	const struct sl_view *v = view;
	(void)claim;
	return v->self_holds_now && (rec->live || rec->unknown) && sl_pid_holds(v->ls, rec->pid, v->cur)
		       ? LSI_CLAIM_HOLDS
		       : LSI_CLAIM_STALE;
}

/* One lease: its owners as sanlock reads them from the disk; this host's
 * holder records are joined with the owner that is this host. */
int lsi_sl_owners(void *view, const char *name, const char *direct_path, int always,
		  struct lockspace_info *info, struct lsi_owners *out)
{
	struct sl_view *v = view;
	struct lockspace *ls = v->ls;
	struct sl_res res;
	(void)direct_path; /* a sanlock lockspace is never direct */
	struct stat fst;
	if (always && fstatat(ls->dirfd, name, &fst, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	free(v->owners);
	free(v->wpids);
	free(v->whosts);
	free(v->wnames);
	v->owners = NULL;
	v->wpids = NULL;
	v->whosts = NULL;
	v->wnames = NULL;
	char *path = v->path;
	int err = lsi_sl_res_struct(ls, name, NULL, 0, &res);
	if (err)
		return err;
	struct sanlk_host *hosts = NULL;
	int nhosts = 0;
	/* A file that is not a lease is reported as corrupt, with the path
	 * a stray fcntl lock file names; sanlock never reads it. */
	int shape = fstatat(ls->dirfd, name, &fst, AT_SYMLINK_NOFOLLOW) < 0
			    ? -errno
			    : lsi_sl_lease_shape(ls, name, &fst);
	if (shape == -ENOENT && !always)
		return 1; /* pruned since readdir */
	if (shape == LSI_PRUNE_LOCKFILE) {
		char *stray = NULL;
		int fd = openat(ls->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd >= 0 && lsi_lockfile_read(fd, name, &stray) == 0 && strlen(stray) < SL_PATH_AREA) {
			memcpy(path, stray, strlen(stray) + 1);
			info->path = path;
		}
		free(stray);
		if (fd >= 0)
			lsi_close_unheld(fd); /* an fcntl handle of this process may hold it */
	}
	if (shape) /* not a lease (corrupt), or unreadable */
		info->integrity = shape > 0 || shape == -ELOOP ? -EBADMSG : shape;
	int rv = shape ? 0 : sanlock_read_resource_owners(&res.r, 0, &hosts, &nhosts);
	if (rv < 0) {
		info->integrity = lsi_sl_lease_err(rv);
		nhosts = 0;
	}
	/* The path, as for a lock file: verified against the name, or why not. */
	int path_err = shape ? 0 : lsi_sl_read_path(ls, name, path);
	if (!shape && path_err == 0)
		info->path = path;
	if (!info->integrity && path_err != -ENOENT)
		info->integrity = path_err;
	/* Mode: ours from our records; others' shared when several hosts own it. */
	time_t self_since;
	int self_shared = lsi_sl_self_hold(ls, name, &self_since);
	struct lsi_owner *o = v->owners = calloc((size_t)nhosts + 1, sizeof(*o));
	if (!o) {
		err = -ENOMEM;
		goto out;
	}
	/* The owners: another host's as it is; a lost one (its host joined
	 * again since) holds nothing. This host's records are joined with them. */
	const char *self_name = NULL;
	size_t no = 0;
	int nlive = 0, self_owner = 0, self_lost = 0;
	unsigned long long self_gen = 0;
	enum lockspace_state claimed = nhosts > 1 ? LOCKSPACE_STATE_SHARED : LOCKSPACE_STATE_EXCLUSIVE;
	for (int i = 0; i < nhosts; i++) {
		uint64_t now = sl_current_gen(ls, v, hosts[i].host_id);
		int lost = now && hosts[i].generation < now;
		nlive += !lost;
		if ((long long)hosts[i].host_id == v->self_host) {
			self_owner = 1;
			self_lost = lost;
			self_gen = hosts[i].generation;
			self_name = lost ? NULL : sl_view_name(ls, v, hosts[i].host_id);
			continue;
		}
		o[no++].h = (struct lockspace_holder){
			.mode = lost ? claimed : LOCKSPACE_STATE_FREE, /* a live one's: the state, below */
			.flags = LOCKSPACE_HOLDER_REMOTE | (lost ? LOCKSPACE_HOLDER_STALE : 0),
			.host_id = (unsigned)hosts[i].host_id, /* 1-2000 */
			.generation = hosts[i].generation,
			/* The delta lease names the daemon of the id's current
			 * generation: a lost owner's was perhaps another. */
			.host_name = lost ? NULL : sl_view_name(ls, v, hosts[i].host_id),
		};
	}
	int shared_hint = nlive > 1 || (res.r.flags & SANLK_RES_SHARED) || self_shared > 0;
	info->state = nlive == 0    ? LOCKSPACE_STATE_FREE
		      : shared_hint ? LOCKSPACE_STATE_SHARED
				    : LOCKSPACE_STATE_EXCLUSIVE;
	if (info->state == LOCKSPACE_STATE_FREE && !(v->rep->flags & LOCKSPACE_ALL) && !always) {
		err = 1;
		goto out;
	}
	for (size_t i = 0; i < no; i++)
		if (!(o[i].h.flags & LOCKSPACE_HOLDER_STALE))
			o[i].h.mode = info->state;
	if (self_owner) {
		/* This host, as every host shows it: lost (a record of it is
		 * stale), or held by a process without a record: this one, or
		 * one that is not known here. */
		struct lsi_owner *e = &o[no++];
		*e = (struct lsi_owner){
			.h = {.mode = claimed,
			      .flags = LOCKSPACE_HOLDER_STALE,
			      .host_id = (unsigned)v->self_host,
			      .generation = self_gen,
			      .host_name = self_name},
			.late = 1,
		};
		if (!self_lost) {
			e->h.pid = self_shared >= 0 ? getpid() : 0;
			e->h.mode = self_shared > 0    ? LOCKSPACE_STATE_SHARED
				    : self_shared == 0 ? LOCKSPACE_STATE_EXCLUSIVE
						       : info->state;
			e->h.flags =
				LOCKSPACE_HOLDER_NORECORD | (self_shared >= 0 ? LOCKSPACE_HOLDER_SELF : 0);
			e->h.since = self_since;
			e->cover = LSI_COVER_CLAIM;
		}
	}
	/* This host's records: a holder only when this host owns the lease in
	 * its current generation and the daemon says the process holds it. */
	*out = (struct lsi_owners){
		.o = o,
		.n = no,
		.host_id = self_owner ? (unsigned)v->self_host : 0,
		.generation = self_owner ? self_gen : 0,
		.host_name = self_owner ? self_name : NULL,
	};
	v->self_holds_now = self_owner && !self_lost;
	v->cur = name;
	if (v->waiters && (err = sl_waiters(v, name, &v->wpids, &v->whosts, &info->nwaiters)) < 0)
		goto out;
	if (info->nwaiters) {
		if (!(v->wnames = calloc(info->nwaiters, sizeof(*v->wnames)))) {
			err = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < info->nwaiters; i++)
			v->wnames[i] = sl_view_name(ls, v, v->whosts[i]);
	}
	static const unsigned no_hosts[1];
	static const char *const no_names[1];
	info->waiters = v->wpids;
	info->waiter_hosts = v->whosts ? v->whosts : no_hosts; /* sanlock's, even when none wait */
	info->waiter_host_names = v->wnames ? v->wnames : no_names;
out:
	free(hosts);
	return err;
}

void lsi_sl_view_close(void *view)
{
	sl_view_free(view);
	free(view);
}

int lsi_sl_view_open(struct lockspace *ls, const struct lsi_report *rep, void **view)
{
	long long self_host = lsi_sl_host_id(ls);
	if (self_host < 0)
		return (int)self_host;
	struct sl_view *v = malloc(sizeof(*v));
	if (!v)
		return -ENOMEM;
	*v = (struct sl_view){.ls = ls,
			      .rep = rep,
			      .self_host = self_host,
			      .now = time(NULL),
			      .waiters = !!(rep->flags & LOCKSPACE_WAITERS)};
	int err = 0;
	if (v->waiters)
		err = sl_view_others(ls, v);
	if (err < 0) {
		lsi_sl_view_close(v);
		return err;
	}
	/* Each host's current generation: a lease of an older one is lost. A
	 * daemon that cannot say (just after a join) leaves it unknown. */
	if (sanlock_get_hosts(ls->backend_config, 0, &v->hosts, &v->nhosts, 0) < 0) {
		free(v->hosts);
		v->hosts = NULL;
		v->nhosts = 0;
	}
	*view = v;
	return 0;
}

#endif
