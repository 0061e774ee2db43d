/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* holder_core.c: the requests a holder serves, its record and its control socket. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "control.h"
#include "holder_core.h"

void holder_raise_nofile(struct rlimit *saved)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (saved)
		*saved = rl;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int holder_publish(struct holder *h, const char *owner, pid_t child)
{
	if (!h->dir)
		return 0;
	/* The record first: it makes the directory where the socket lives. */
	int err = lockspace_set_owner(h->ls, owner, child);
	if (!err && !h->holders)
		err = lockspace_holders_path(h->ls, &h->holders);
	if (!err && h->listenfd < 0)
		err = control_listen(h->holders, &h->listenfd);
	return err;
}

static int hc_acquire(struct holder *h, const struct control_request *req, char *text, size_t len)
{
	size_t failed = 0;
	int err =
		lockspace_acquire_many(h->ls, (const char *const *)req->args, req->n, req->flags, 0, &failed);
	if (err == 0)
		h->nheld += req->n;
	else if (failed < req->n)
		snprintf(text, len, "%s: %s", req->args[failed], lockspace_strerror(err));
	return err;
}

/* Drop every hold of each name: a release asks for the lock to be free. */
static int hc_release(struct holder *h, const struct control_request *req, char *text, size_t len)
{
	int first = 0;
	for (size_t i = 0; i < req->n; i++) {
		int err, released = 0;
		while ((err = lockspace_release(h->ls, req->args[i], LOCKSPACE_BYNAME)) == 0) {
			released = 1;
			if (h->nheld > 0)
				h->nheld--;
		}
		if (!released && !first) {
			first = err;
			snprintf(text, len, "%s: %s", req->args[i],
				 err == -ENOENT ? "not held by this holder" : lockspace_strerror(err));
		}
	}
	return first;
}

static int hc_handle(const struct control_request *req, char *text, size_t len, void *arg)
{
	struct holder *h = arg;
	switch (req->op) {
	case CONTROL_PING:
		return 0;
	case CONTROL_ACQUIRE:
		return hc_acquire(h, req, text, len);
	case CONTROL_RELEASE:
		return hc_release(h, req, text, len);
	case CONTROL_RELEASE_ALL:
		lockspace_release_all(h->ls);
		h->nheld = 0;
		return 0;
	}
	return -EINVAL;
}

void holder_serve(struct holder *h)
{
	control_serve(h->listenfd, hc_handle, h);
}

void holder_finish(struct holder *h)
{
	if (h->holders)
		control_unlisten(h->holders, h->listenfd);
	free(h->holders);
	h->holders = NULL;
	h->listenfd = -1;
	lockspace_close(h->ls);
	h->ls = NULL;
}
