/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* report.c: what is held, for every backend: the directory walk, each file's owners joined with records. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "internal.h"

static void report_close(struct lsi_report *r)
{
	if (r->view)
		r->ls->backend->view_close(r->view);
	lsi_join_free(&r->join);
	lsi_claims_free(&r->claims);
	lsi_records_free(r->recs, r->nrecs);
	free(r->lockfile);
}

/* The backend's view first (it may refuse the lockspace), then the records of its holders. */
static int report_open(struct lsi_report *r, struct lockspace *ls, unsigned flags, lockspace_info_fn fn,
		       void *arg)
{
	*r = (struct lsi_report){.ls = ls, .flags = flags, .fn = fn, .arg = arg};
	if (ls->dir) { /* every file's lock file: the directory's name, and the file's */
		r->dirlen = strlen(ls->dir);
		if (!(r->lockfile = malloc(r->dirlen + LOCKSPACE_NAME_LEN + 2)))
			return -ENOMEM;
		memcpy(r->lockfile, ls->dir, r->dirlen);
		r->lockfile[r->dirlen] = '/';
	}
	int err = ls->backend->view_open(ls, r, &r->view);
	if (err) {
		r->view = NULL;
		report_close(r);
		return err;
	}
	if (ls->dir && (err = lsi_records_load(ls, &r->recs, &r->nrecs)) < 0)
		goto fail;
	if ((err = lsi_claims_index(&r->claims, r->recs, r->nrecs)) < 0)
		goto fail;
	r->join.claims = &r->claims;
	r->join.verdict = ls->backend->verdict;
	r->join.arg = r->view;
	return 0;
fail:
	report_close(r);
	return err;
}

/* Report the file @name (in direct mode, the resource file @direct_path). */
static int report_one(struct lsi_report *r, const char *name, const char *direct_path, int always)
{
	struct lockspace_info info = {0};
	struct lsi_owners ow = {0};
	size_t nlen = strnlen(name, LOCKSPACE_NAME_LEN); /* 32 or 64 digits */
	memcpy(info.name, name, nlen);
	info.name[nlen] = '\0';
	if (direct_path) {
		info.lockfile = direct_path;
	} else {
		memcpy(r->lockfile + r->dirlen + 1, name, nlen + 1);
		info.lockfile = r->lockfile;
	}
	int err = r->ls->backend->owners(r->view, name, direct_path, always, &info, &ow);
	if (err)
		return err > 0 ? 0 : err;
	err = lsi_join(&r->join, name, &ow, &info.nholders, &info.nstale);
	if (err)
		return err;
	info.holders = r->join.holders;
	info.stale = r->join.stale;
	return r->fn(&info, r->arg);
}

int lockspace_foreach(struct lockspace *ls, unsigned flags, lockspace_info_fn fn, void *arg)
{
	if (!ls || !fn || !LSI_FLAGS_OK(flags, LOCKSPACE_WAITERS | LOCKSPACE_ALL))
		return -EINVAL;
	if (ls->dirfd < 0)
		return -EOPNOTSUPP;
	struct lsi_report rep;
	int err = report_open(&rep, ls, flags, fn, arg);
	if (err)
		return err;
	int dfd = openat(ls->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		err = -errno;
		if (dfd >= 0)
			close(dfd);
	}
	struct dirent *de;
	while (!err && (de = readdir(d))) {
		if (de->d_name[0] == '.' || !lockspace_valid_name(de->d_name))
			continue;
		err = report_one(&rep, de->d_name, NULL, 0);
	}
	if (d)
		closedir(d);
	report_close(&rep);
	return err;
}

int lockspace_inspect(struct lockspace *ls, const char *resource, unsigned flags, lockspace_info_fn fn,
		      void *arg)
{
	if (!ls || !fn || !LSI_FLAGS_OK(flags, LSI_NAME_FLAGS | LOCKSPACE_WAITERS))
		return -EINVAL;
	char name[LOCKSPACE_NAME_LEN + 1], *content = NULL;
	int err = lsi_resolve_lookup(ls, resource, flags, name, &content);
	if (!err && ls->dirfd < 0 && !content)
		err = -EINVAL; /* direct mode needs the path itself */
	struct lsi_report rep;
	if (!err)
		err = report_open(&rep, ls, flags | LOCKSPACE_WAITERS, fn, arg);
	if (!err) {
		err = report_one(&rep, name, ls->dirfd < 0 ? content : NULL, 1);
		report_close(&rep);
	}
	free(content);
	return err;
}

int lockspace_probe(struct lockspace *ls, const char *resource, unsigned flags, enum lockspace_state *state,
		    pid_t *pid)
{
	if (!ls || !state || !pid || !LSI_FLAGS_OK(flags, LSI_NAME_FLAGS))
		return -EINVAL;
	*state = LOCKSPACE_STATE_FREE;
	*pid = 0;
	if (!ls->backend->probe)
		return -EOPNOTSUPP;
	char name[LOCKSPACE_NAME_LEN + 1], *content = NULL;
	int err = lsi_resolve_lookup(ls, resource, flags, name, &content);
	const char *direct = ls->dirfd < 0 ? content : NULL;
	if (!err && ls->dirfd < 0 && !direct)
		err = -EINVAL;
	if (!err)
		err = ls->backend->probe(ls, name, direct, state, pid);
	free(content);
	return err;
}
