/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* acquire_common.c: error messages and resource canonicalisation for acquire. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "acquire_common.h"
#include "acquire_wait.h"
#include "conflict.h"
#include "image_check.h"

const char *acquire_signame(int sig, char *buf, size_t len)
{
	const char *abbrev = sigabbrev_np(sig);
	if (abbrev)
		snprintf(buf, len, "SIG%s", abbrev);
	else
		snprintf(buf, len, "signal %d", sig);
	return buf;
}

static const char *const ac_lost_names[] = {"kill", "term", "pause", "ignore"};

int acquire_parse_on_lost(const char *value, int *out)
{
	for (size_t i = 0; i < sizeof(ac_lost_names) / sizeof(ac_lost_names[0]); i++)
		if (strcmp(value, ac_lost_names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	vl_error("acquire: --on-lost %s: unknown policy; give kill, term, pause or ignore", value);
	return VL_EXIT_USAGE;
}

void acquire_on_lost(const struct acquire_opts *o, size_t nheld, const char *why, pid_t pid, const char *what)
{
	static const int sigs[] = {SIGKILL, SIGTERM, SIGSTOP, 0};
	int sig = sigs[o->on_lost];
	char more[48] = "", name[64], done[256];
	if (nheld > 1)
		snprintf(more, sizeof(more), " (and %zu more)", nheld - 1);
	if (!pid)
		snprintf(done, sizeof(done), "the holder ends");
	else if (!sig)
		snprintf(done, sizeof(done), "%s (pid %d) runs on without them (--on-lost=ignore)", what,
			 (int)pid);
	else if (kill(pid, sig) < 0)
		snprintf(done, sizeof(done), "could not send %s to %s (pid %d): %s",
			 acquire_signame(sig, name, sizeof(name)), what, (int)pid, strerror(errno));
	else if (sig == SIGSTOP)
		snprintf(done, sizeof(done),
			 "stopped %s (pid %d) with SIGSTOP; kill it, or continue it with SIGCONT once it may "
			 "write again",
			 what, (int)pid);
	else
		snprintf(done, sizeof(done), "sent %s to %s (pid %d)",
			 acquire_signame(sig, name, sizeof(name)), what, (int)pid);
	vl_error("%s%s: locks lost: %s; %s", o->resources[0], more, why, done);
}

/* Has the lock file of @res a second link, a hand-off marker (release
 * --handoff), which an acquire removes? 1 or 0. */
static int handoff_pending(struct lockspace *ls, const struct acquire_opts *o, const char *res)
{
	char name[LOCKSPACE_NAME_LEN + 1], path[4200];
	struct stat st;
	if (lockspace_name(res, (o->flags & LOCKSPACE_LITERAL) | vl_hash, name) != 0)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", lockspace_dir(ls), name);
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink > 1;
}

int acquire_report(struct lockspace *ls, const struct acquire_opts *o, int err, size_t failed, int signo)
{
	char what[64], name[LOCKSPACE_NAME_LEN + 1], who[VL_WHO_LEN];
	const char *res = failed < o->n ? o->resources[failed] : o->resources[0];
	char *canon = NULL;
	/* -ELOOP is a lock file planted as a link (65), or a loop in the resource's own path (66);
	 * -ENOTDIR a file on the way to the resource, -ENOENT a resource that does not exist (66):
	 * the same line as for a detached acquire and every other command. */
	if ((err == -ELOOP || err == -ENOTDIR || err == -ENOENT) && !(o->flags & LOCKSPACE_LITERAL) &&
	    lockspace_canonical(res, vl_hash, &canon) == err)
		return vl_resource_error(res, err);
	free(canon);
	if (err == -EINTR && signo) {
		vl_error("%s: wait interrupted by %s; nothing is held", res,
			 acquire_signame(signo, what, sizeof(what)));
		return 128 + signo;
	}
	if (err == ACQUIRE_EIMAGE) {
		int used = image_in_use(res, !!(o->flags & LOCKSPACE_SHARED), who);
		if (o->wait_given > 0)
			vl_error(
				"%s: still in use after %g %s by %s; see 'virlock inspect' for more, or skip "
				"the check with --no-image-check",
				res, o->wait_given, ACQUIRE_SECONDS(o->wait_given),
				used ? who : "another program");
		else
			vl_error("%s: in use by %s; see 'virlock inspect' for more, %sor skip the check with "
				 "--no-image-check",
				 res, used ? who : "another program a moment ago",
				 o->wait_zero ? "" : "wait with -w, ");
		return o->conflict_exit;
	}
	if (err == -EACCES && !o->states && handoff_pending(ls, o, res)) {
		/* Refused: taking it would void the hand-off, which this user may not. */
		vl_error(
			"%s: a hand-off of it is pending (release --handoff), which this user may not void; "
			"nothing was acquired; the next holder takes it with --expect-state, or its owner or "
			"root can take it",
			res);
		return VL_EXIT_NOPERM;
	}
	if (err == -ECANCELED) {
		/* The hand-off is void: say who has it now, if anyone does. A
		 * sanlock prune also acquires (or makes anew) a free lease. */
		int named = vl_conflict_who(ls, res, o->flags, who);
		if (!named && strcmp(lockspace_backend(ls), LOCKSPACE_BACKEND_SANLOCK) == 0) {
			vl_error("%s: the lease changed hands since the hand-off (another holder, or a "
				 "prune); "
				 "the hand-off state is gone, nothing was acquired; see 'virlock inspect %s'",
				 res, res);
			return o->conflict_exit;
		}
		if (!named)
			snprintf(who, sizeof(who), "another holder");
		vl_error("%s: taken by %s in between; the hand-off state is gone, nothing was acquired; "
			 "see 'virlock inspect %s'",
			 res, who, res);
		return o->conflict_exit;
	}
	/* Who is in the way, as the kernel says now: it may have let go since. */
	int named = (err == -EBUSY || err == -ETIMEDOUT) && failed < o->n &&
		    vl_conflict_who(ls, res, o->flags, who);
	if (err == -ETIMEDOUT && o->wait_given > 0 && named)
		vl_error("%s: still busy after %g %s, held by %s; see 'virlock inspect' for more", res,
			 o->wait_given, ACQUIRE_SECONDS(o->wait_given), who);
	else if (err == -ETIMEDOUT && o->wait_given > 0)
		vl_error("%s: still busy after %g %s%s", res, o->wait_given, ACQUIRE_SECONDS(o->wait_given),
			 vl_advice(err));
	else if (err == -EBUSY && named)
		vl_error("%s: held by %s; see 'virlock inspect' for more%s", res, who,
			 o->wait_zero ? " (-w 0 does not wait)" : ", or wait with -w");
	else if (err == -EBADMSG && lockspace_name(res, (o->flags & LOCKSPACE_LITERAL) | vl_hash, name) == 0)
		/* Name the file: in a lockspace shared by hosts, each host says the same. */
		vl_error("%s: corrupt lock file or record: its lock file %s is not one this lockspace "
			 "can use; check it with 'virlock inspect %s' and remove it if no one holds it",
			 res, name, name);
	else if (err == -EBUSY && o->wait_zero)
		vl_error("%s: %s%s (-w 0 does not wait)", res, lockspace_strerror(err),
			 vl_advice(-ETIMEDOUT));
	else
		vl_error("%s: %s%s", res, lockspace_strerror(err), vl_advice(err));
	int status = virlock_exit_code(err);
	return status == VL_EXIT_BUSY ? o->conflict_exit : status;
}

unsigned acquire_wait_how(const struct acquire_opts *o)
{
	return (o->no_image_check ? 0 : AW_CHECK_IMAGES) | (o->tell_wait ? AW_TELL : 0);
}

void acquire_tell_wait(struct lockspace *ls, const struct acquire_opts *o)
{
	char who[VL_WHO_LEN];
	if (o->wait == 0 || !o->tell_wait)
		return;
	for (size_t i = 0; i < o->n; i++) {
		enum lockspace_state state;
		pid_t pid;
		/* One F_GETLK first: most resources are free (a sanlock lockspace cannot be probed). */
		int err = lockspace_probe(ls, o->resources[i], o->flags & LOCKSPACE_LITERAL, &state, &pid);
		if ((err == 0 && (state == LOCKSPACE_STATE_FREE ||
				  (state == LOCKSPACE_STATE_SHARED && (o->flags & LOCKSPACE_SHARED)))) ||
		    (err && err != -EOPNOTSUPP))
			continue;
		if (vl_conflict_who(ls, o->resources[i], o->flags, who)) {
			vl_error("%s: held by %s; waiting%s", o->resources[i], who,
				 o->wait > 0 ? "" : " (for ever; Ctrl-C gives up)");
			return;
		}
	}
}

void acquire_tell_image(const struct acquire_opts *o)
{
	char who[VL_WHO_LEN];
	if (o->wait == 0 || !o->tell_wait || o->no_image_check || (o->flags & LOCKSPACE_LITERAL))
		return;
	for (size_t i = 0; i < o->n; i++)
		if (image_in_use(o->resources[i], !!(o->flags & LOCKSPACE_SHARED), who)) {
			vl_error("%s: in use by %s; waiting", o->resources[i], who);
			return;
		}
}

int acquire_report_owner(struct lockspace *ls, const struct acquire_opts *o, int err, int signo)
{
	char what[64], who[48] = "";
	pid_t pid = 0;
	if ((err == -EBUSY || err == -ETIMEDOUT) && lockspace_owner_pid(ls, o->owner, &pid) == 0)
		snprintf(who, sizeof(who), " by holder %d", (int)pid);
	if (err == -EINTR && signo) {
		vl_error("owner %s: wait interrupted by %s; nothing is held", o->owner,
			 acquire_signame(signo, what, sizeof(what)));
		return 128 + signo;
	}
	if (err == -ETIMEDOUT)
		vl_error("owner %s: still in use%s after %g %s; nothing is held", o->owner, who,
			 o->wait_given, ACQUIRE_SECONDS(o->wait_given));
	else if (err == -EBUSY)
		vl_error("owner %s: in use%s; %sadd resources to it without a command, or choose another "
			 "label%s",
			 o->owner, who, o->wait_zero ? "" : "wait for it with -w, ",
			 o->wait_zero ? " (-w 0 does not wait)" : "");
	else
		vl_error("owner %s: holder records in %s: %s%s", o->owner, lockspace_dir(ls),
			 lockspace_strerror(err), vl_advice(err));
	int status = virlock_exit_code(err);
	return status == VL_EXIT_BUSY ? o->conflict_exit : status;
}

void acquire_free_list(char **list, size_t n)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

int acquire_canonical_all(const struct acquire_opts *o, char ***out)
{
	char **list = calloc(o->n, sizeof(*list));
	if (!list) {
		vl_error("%s", strerror(ENOMEM));
		return VL_EXIT_OSERR;
	}
	for (size_t i = 0; i < o->n; i++) {
		int err = lockspace_canonical(o->resources[i], (o->flags & LOCKSPACE_LITERAL) | vl_hash,
					      &list[i]);
		if (err < 0) {
			list[i] = NULL;
			acquire_free_list(list, i);
			return vl_resource_error(o->resources[i], err);
		}
	}
	*out = list;
	return 0;
}

int acquire_expect_states(struct lockspace *ls, const struct acquire_opts *o, uint64_t **states)
{
	struct lockspace_handoff_item *items = NULL;
	size_t n = 0;
	const char *backend = lockspace_backend(ls);
	int err = lockspace_handoff_parse(backend, o->expect_state, &items, &n);
	*states = NULL;
	if (err == -EXDEV) {
		vl_error("acquire: --expect-state: the token is of another kind of lockspace; %s is a %s "
			 "lockspace",
			 lockspace_dir(ls), backend);
		return VL_EXIT_USAGE;
	}
	if (err) {
		vl_error("acquire: --expect-state: %s",
			 err == -ENOMEM
				 ? "out of memory"
				 : "not a hand-off token; give the line 'virlock release --handoff' printed");
		return err == -ENOMEM ? VL_EXIT_OSERR : VL_EXIT_USAGE;
	}
	uint64_t *s = calloc(o->n ? o->n : 1, sizeof(*s));
	int status = s ? 0 : VL_EXIT_OSERR;
	for (size_t i = 0; !status && i < o->n; i++) {
		char name[LOCKSPACE_NAME_LEN + 1];
		err = lockspace_name(o->resources[i], (o->flags & LOCKSPACE_LITERAL) | vl_hash, name);
		if (err) {
			status = vl_resource_error(o->resources[i], err);
			break;
		}
		size_t k = 0;
		while (k < n && strcmp(items[k].name, name) != 0)
			k++;
		if (k == n) {
			vl_error("%s: not in the hand-off token; it hands off other resources",
				 o->resources[i]);
			status = VL_EXIT_USAGE;
		} else {
			s[i] = items[k].state;
		}
	}
	if (!status && n != o->n) {
		vl_error("acquire: --expect-state: the token hands off %zu resource%s; give all of them, and "
			 "no other",
			 n, n == 1 ? "" : "s");
		status = VL_EXIT_USAGE;
	}
	free(items);
	if (status)
		free(s);
	else
		*states = s;
	return status;
}
