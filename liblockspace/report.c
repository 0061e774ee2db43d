/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* report.c: what is held, for every backend: the walk of the directory, one report per file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "backend.h"
#include "internal.h"

int lockspace_foreach(struct lockspace *ls, unsigned flags, lockspace_info_fn fn, void *arg)
{
	if (!ls || !fn || !LSI_FLAGS_OK(flags, LOCKSPACE_WAITERS | LOCKSPACE_ALL))
		return -EINVAL;
	if (ls->dirfd < 0)
		return -EOPNOTSUPP;
	const struct lsi_backend *b = ls->backend;
	void *view;
	int err = b->view_open(ls, flags, fn, arg, &view);
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
		char name[LOCKSPACE_NAME_LEN + 1];
		for (int i = 0; i <= LOCKSPACE_NAME_LEN; i++)
			name[i] = de->d_name[i];
		err = b->report_one(view, name, NULL, 0);
	}
	if (d)
		closedir(d);
	b->view_close(view);
	return err;
}

int lockspace_inspect(struct lockspace *ls, const char *resource, unsigned flags, lockspace_info_fn fn,
		      void *arg)
{
	if (!ls || !fn || !LSI_FLAGS_OK(flags, LSI_NAME_FLAGS | LOCKSPACE_WAITERS))
		return -EINVAL;
	char name[LOCKSPACE_NAME_LEN + 1], *content = NULL;
	int err = lsi_resolve_lookup(resource, flags, name, &content);
	if (!err && ls->dirfd < 0 && !content)
		err = -EINVAL; /* direct mode needs the path itself */
	void *view = NULL;
	if (!err)
		err = ls->backend->view_open(ls, flags | LOCKSPACE_WAITERS, fn, arg, &view);
	if (!err) {
		err = ls->backend->report_one(view, name, ls->dirfd < 0 ? content : NULL, 1);
		ls->backend->view_close(view);
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
	int err = lsi_resolve_lookup(resource, flags, name, &content);
	const char *direct = ls->dirfd < 0 ? content : NULL;
	if (!err && ls->dirfd < 0 && !direct)
		err = -EINVAL;
	if (!err)
		err = ls->backend->probe(ls, name, direct, state, pid);
	free(content);
	return err;
}
