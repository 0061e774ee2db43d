/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* acquire_hotplug.c: acquire --owner LABEL on a live holder: the request goes over its socket. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acquire_hotplug.h"
#include "control.h"

struct ah_find {
	const char *owner;
	pid_t pid;
};

static int ah_match(const struct lockspace_record *rec, void *arg)
{
	struct ah_find *f = arg;
	if (!rec->owner || strcmp(rec->owner, f->owner) != 0)
		return 0;
	f->pid = rec->pid;
	return 1;
}

int acquire_find_owner(struct lockspace *ls, const char *owner, pid_t *pid)
{
	struct ah_find f = {.owner = owner};
	int err = lockspace_holders(ls, ah_match, &f);
	if (err < 0)
		return err;
	if (!f.pid)
		return -ENOENT;
	*pid = f.pid;
	return 0;
}

static double ah_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The holder never blocks its loop in a wait, so a waiting hotplug asks again. */
static int ah_ask(const char *holders, pid_t pid, const char *request, const struct acquire_opts *o,
		  int *code, char *text, size_t len)
{
	double deadline = o->wait > 0 ? ah_now() + o->wait : 0;
	for (;;) {
		int err = control_call(holders, pid, request, code, text, len);
		if (err || *code != -EBUSY || o->wait == 0)
			return err;
		if (o->wait > 0 && ah_now() >= deadline) {
			*code = -ETIMEDOUT;
			return 0;
		}
		struct timespec pause = {0, 50 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
}

int acquire_hotplug(struct lockspace *ls, pid_t pid, const struct acquire_opts *o)
{
	char **resources = NULL;
	int status = acquire_canonical_all(o, &resources);
	if (status)
		return status;
	char *request = NULL;
	int code = 0;
	char text[CONTROL_MAX_ANSWER];
	int err = control_format_acquire(o->flags, (const char *const *)resources, o->n, &request);
	if (err) {
		vl_error("owner %s: %s; add fewer resources at a time", o->owner, strerror(-err));
		status = VL_EXIT_USAGE;
		goto out;
	}
	char *holders = NULL;
	err = lockspace_holders_path(ls, &holders);
	if (!err)
		err = ah_ask(holders, pid, request, o, &code, text, sizeof(text));
	free(holders);
	if (err) {
		vl_error("owner %s: holder %d does not answer on its control socket (%s); check that it runs",
			 o->owner, (int)pid, err == -ETIMEDOUT ? "timed out" : strerror(-err));
		status = err == -EACCES || err == -EPERM ? VL_EXIT_NOPERM : VL_EXIT_OSERR;
	} else if (code == -ETIMEDOUT) {
		vl_error("owner %s: still busy after %g seconds%s", o->owner, o->wait, vl_advice(code));
		status = o->conflict_exit;
	} else if (code) {
		/* The holder's limit counts, not ours: a ulimit here changes nothing. */
		const char *advice = code == -EMFILE ? "; the holder reached its open files limit: start it "
						       "under a higher 'ulimit -n', or add fewer resources"
						     : vl_advice(code);
		vl_error("owner %s (holder %d): %s%s", o->owner, (int)pid, text, advice);
		status = virlock_exit_code(code);
		if (status == VL_EXIT_BUSY)
			status = o->conflict_exit;
	}
out:
	free(request);
	acquire_free_list(resources, o->n);
	return status;
}
