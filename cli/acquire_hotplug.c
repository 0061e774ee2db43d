/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* acquire_hotplug.c: acquire --owner LABEL on a live holder: the request goes over its socket. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acquire_hotplug.h"
#include "clock.h"
#include "control.h"

/* The holder waits for us (it never blocks its loop in a wait): milliseconds, -1 for ever. */
static int ah_wait_ms(double wait)
{
	if (wait < 0)
		return -1;
	if (wait == 0)
		return 0;
	double ms = wait * 1000.0;
	return ms >= 0x7fffffff ? 0x7fffffff : ms < 1 ? 1 : (int)(ms + 0.999);
}

/*
 * Is @pid still the holder of the label? The kernel says so through the
 * lock on the label file: a holder that ended, even a zombie not reaped
 * yet, or one that let go after a release, has none. When the records
 * directory cannot be read, only a process that is gone counts as gone.
 */
static int ah_owns(struct lockspace *ls, const char *owner, pid_t pid)
{
	pid_t now = 0;
	int err = lockspace_owner_pid(ls, owner, &now);
	if (err == 0 || err == -ENOENT)
		return now == pid;
	return kill(pid, 0) == 0 || errno == EPERM;
}

/* The transport failed while @pid still owns the label: say what is wrong. */
static int ah_lost(pid_t pid, const struct acquire_opts *o, const char *sock, int err)
{
	if (err == -EBADMSG) {
		vl_error("owner %s: holder %d: its record in .holders belongs to another user; nothing "
			 "was added; find who replaced it (a member of the lockspace's group)",
			 o->owner, (int)pid);
		return VL_EXIT_DATAERR;
	}
	if (err == -ENETUNREACH) {
		vl_error("owner %s: holder %d runs in another network namespace; start it with "
			 "LOCKSPACE_CONTROL=file",
			 o->owner, (int)pid);
		return VL_EXIT_OSERR;
	}
	if (err == -ESRCH && !control_file_exists(sock)) {
		vl_error("owner %s: holder %d: another process took the name of its control socket; nothing "
			 "was added; find that process with 'ss -xlp | grep @virlock/' and stop it",
			 o->owner, (int)pid);
		return VL_EXIT_OSERR;
	}
	if (err == -ESRCH) {
		vl_error("owner %s: holder %d: another process answers on its control socket; nothing was "
			 "added; check %s",
			 o->owner, (int)pid, sock ? sock : "its control socket");
		return VL_EXIT_OSERR;
	}
	if (err == -ENOENT || err == -ECONNREFUSED) {
		vl_error("owner %s: holder %d does not listen yet (it may still wait for its own locks); try "
			 "again once 'virlock list' shows them held",
			 o->owner, (int)pid);
		return o->conflict_exit;
	}
	vl_error("owner %s: holder %d does not answer on its control socket (%s); check that it runs",
		 o->owner, (int)pid,
		 err == -ETIMEDOUT ? "timed out"
		 : err == -EPROTO  ? "no valid answer"
				   : strerror(-err));
	return err == -EACCES || err == -EPERM ? VL_EXIT_NOPERM : VL_EXIT_OSERR;
}

/* What to ask for: the request is made anew for each try, with the wait that is left. */
struct ah_req {
	unsigned flags;
	const char *const *resources;
	size_t n;
	int wait_ms; /* -1 for ever, 0 not at all */
};

/*
 * A holder that has just claimed its label listens only once it holds its
 * own locks: while it still owns the label, try again (for the control
 * timeout, or longer if we wait for the resources anyway). Returns at once
 * when the label is no longer @pid's. One deadline: the time spent trying
 * is taken off the wait the holder is asked for.
 */
static int ah_call(struct lockspace *ls, const char *owner, pid_t pid, const struct ah_req *r, int *code,
		   char *text, size_t len)
{
	int patience = r->wait_ms < 0 || r->wait_ms > CONTROL_TIMEOUT_MS ? r->wait_ms : CONTROL_TIMEOUT_MS;
	long long start = vl_now_ms();
	for (;;) {
		int elapsed = (int)(vl_now_ms() - start);
		int left = r->wait_ms <= 0 ? r->wait_ms : r->wait_ms > elapsed ? r->wait_ms - elapsed : 1;
		char *request = NULL;
		int err = control_format_acquire_wait(r->flags, left, r->resources, r->n, &request);
		if (err)
			return err;
		err = control_call_timeout(ls, pid, request, left < 0 ? -1 : left + CONTROL_TIMEOUT_MS, code,
					   text, len);
		free(request);
		if ((err != -ENOENT && err != -ECONNREFUSED) || !ah_owns(ls, owner, pid) ||
		    (patience >= 0 && vl_now_ms() - start >= patience))
			return err;
		struct timespec pause = {0, 10 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
}

/* lockspace_inspect() callback: 1 if the kernel confirms *arg among the holders. */
static int ah_confirm_cb(const struct lockspace_info *info, void *arg)
{
	const pid_t *pid = arg;
	for (size_t i = 0; i < info->nholders; i++)
		if (info->holders[i].pid == *pid)
			return 1;
	return 0;
}

/*
 * A resource found free after an "ok" was either released since (a release
 * that empties the holder drops its locks, then its label) or never taken by
 * a process that only pretends to be the holder, and keeps the label it
 * answers for. 1 if the label leaves @pid within a second: the first case.
 */
static int ah_let_go(struct lockspace *ls, pid_t pid, const char *owner)
{
	for (int tries = 0; tries < 100; tries++) {
		pid_t label_pid = 0;
		if (lockspace_owner_pid(ls, owner, &label_pid) != 0 || label_pid != pid)
			return 1;
		struct timespec tick = {0, 10 * 1000 * 1000};
		nanosleep(&tick, NULL);
	}
	return 0;
}

/* After an "ok": the kernel must show @pid holding each resource, whoever
 * answered on the socket. Returns @n, or the index of the first one it does not. */
static size_t ah_unconfirmed(struct lockspace *ls, pid_t pid, const char *owner, char **resources, size_t n,
			     unsigned flags)
{
	unsigned rflags = flags & LOCKSPACE_LITERAL;
	for (size_t i = 0; i < n; i++) {
		enum lockspace_state state;
		pid_t who = 0;
		int err = lockspace_probe(ls, resources[i], rflags, &state, &who);
		if (err == 0 && who == pid)
			continue;
		if ((err == -ENOENT || (err == 0 && state == LOCKSPACE_STATE_FREE)) &&
		    ah_let_go(ls, pid, owner))
			continue;
		/* F_GETLK names one holder of a shared lock, a lease its owners:
		 * ask the whole truth (/proc/locks), once, only then. */
		if ((err == 0 && state == LOCKSPACE_STATE_SHARED) || err == -EOPNOTSUPP) {
			pid_t want = pid;
			if (lockspace_inspect(ls, resources[i], rflags, ah_confirm_cb, &want) == 1)
				continue;
		}
		return i;
	}
	return n;
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
	int wait_ms = ah_wait_ms(o->wait);
	int err = control_format_acquire_wait(o->flags, wait_ms, (const char *const *)resources, o->n,
					      &request);
	if (err) {
		vl_error("owner %s: %s; add fewer resources at a time", o->owner, strerror(-err));
		status = VL_EXIT_USAGE;
		goto out;
	}
	char *sock = NULL;
	err = lockspace_control_path(ls, pid, &sock);
	struct ah_req r = {o->flags, (const char *const *)resources, o->n, wait_ms};
	if (!err)
		err = ah_call(ls, o->owner, pid, &r, &code, text, sizeof(text));
	size_t bad = o->n;
	if (err && (err == -ENOENT || err == -ECONNREFUSED || err == -ECONNRESET || err == -EPROTO) &&
	    !ah_owns(ls, o->owner, pid)) {
		/* It ended, or let go after a release, before it answered:
		 * nothing of ours is held there; the caller starts anew. */
		status = ACQUIRE_HOLDER_GONE;
	} else if (err == -ECONNABORTED && !ah_owns(ls, o->owner, pid)) {
		/* It took the request and ended before it was done: as a holder
		 * that ends on a signal says, nothing was added. */
		vl_error("owner %s: holder %d ended before the resources were free; nothing was added; start "
			 "a new holder with 'virlock acquire --owner %s RESOURCE...'",
			 o->owner, (int)pid, o->owner);
		status = VL_EXIT_NOINPUT;
	} else if (err) {
		status = ah_lost(pid, o, sock, err);
	} else if (!code && (bad = ah_unconfirmed(ls, pid, o->owner, resources, o->n, o->flags)) < o->n) {
		vl_error("owner %s: %s: holder %d answered that it holds it, but the kernel does not show it "
			 "held by that process; do not trust that holder; see 'virlock inspect %s'",
			 o->owner, o->resources[bad], (int)pid, o->resources[bad]);
		status = VL_EXIT_OSERR;
	} else if (code == -ETIMEDOUT) {
		if (o->n == 1)
			vl_error("owner %s: %s: still busy after %g %s%s", o->owner, o->resources[0],
				 o->wait_given, ACQUIRE_SECONDS(o->wait_given), vl_advice(code));
		else
			vl_error("owner %s: %s and %zu more: still busy after %g %s%s", o->owner,
				 o->resources[0], o->n - 1, o->wait_given, ACQUIRE_SECONDS(o->wait_given),
				 vl_advice(code));
		status = o->conflict_exit;
	} else if (code == -ESRCH) {
		vl_error("owner %s: %s; start a new holder with 'virlock acquire --owner %s RESOURCE...'",
			 o->owner, text, o->owner);
		status = VL_EXIT_NOINPUT;
	} else if (code) {
		/* The holder's limit counts, not ours: a ulimit here changes nothing. */
		const char *advice = code == -EMFILE ? "; the holder reached its open files limit: start it "
						       "under a higher 'ulimit -n', or add fewer resources"
				     : strstr(text, "already held by") ? ""
								       : vl_advice(code);
		vl_error("owner %s (holder %d): %s%s", o->owner, (int)pid, text, advice);
		status = virlock_exit_code(code);
		if (status == VL_EXIT_BUSY)
			status = o->conflict_exit;
	} else if (*text && !o->quiet) {
		vl_error("owner %s: %s", o->owner, text); /* what was held already: a notice */
	}
	free(sock);
out:
	free(request);
	acquire_free_list(resources, o->n);
	return status;
}
