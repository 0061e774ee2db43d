/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cmd_release.c: virlock release: find the holders and ask each over its control socket. */
#include <errno.h>
#include <popt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "control.h"
#include "virlock.h"

/* The other hosts that hold a lease (sanlock), for "release it there". */
struct cr_remote {
	long self; /* this host's id (release --all asks only on sanlock) */
	size_t nleases;
	size_t nhosts;
	unsigned ids[16];
	char text[512];
};

struct cr_pids {
	pid_t *pid;
	size_t n, cap;
	const char *owner; /* filter of cr_collect_record, NULL for all */
	struct cr_remote remote;
	int shared; /* cr_collect_holder: the kernel shows it held shared */
};

/* Note the hosts other than this one that hold @info; count it if any does. */
static void cr_remote_add(struct cr_remote *r, const struct lockspace_info *info)
{
	int counted = 0;
	for (size_t i = 0; i < info->nholders; i++) {
		const struct lockspace_holder *h = &info->holders[i];
		if (!(h->flags & LOCKSPACE_HOLDER_REMOTE))
			continue;
		if (!counted++)
			r->nleases++;
		size_t k = 0;
		while (k < r->nhosts && r->ids[k] != h->host_id)
			k++;
		if (k < r->nhosts || r->nhosts == sizeof(r->ids) / sizeof(r->ids[0]))
			continue;
		r->ids[r->nhosts++] = h->host_id;
		char one[128];
		size_t len = strlen(r->text);
		vl_host_text(one, sizeof(one), h);
		snprintf(r->text + len, sizeof(r->text) - len, "%s%s", len ? ", " : "", one);
	}
}

static int cr_collect_remote(const struct lockspace_info *info, void *arg)
{
	cr_remote_add(arg, info);
	return 0;
}

static int cr_add(struct cr_pids *p, pid_t pid)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->pid[i] == pid)
			return 0;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		pid_t *np = realloc(p->pid, cap * sizeof(*np));
		if (!np)
			return -ENOMEM;
		p->pid = np;
		p->cap = cap;
	}
	p->pid[p->n++] = pid;
	return 0;
}

static int cr_collect_holder(const struct lockspace_info *info, void *arg)
{
	cr_remote_add(&((struct cr_pids *)arg)->remote, info);
	((struct cr_pids *)arg)->shared = info->state == LOCKSPACE_STATE_SHARED;
	for (size_t i = 0; i < info->nholders; i++) {
		const struct lockspace_holder *h = &info->holders[i];
		if (h->pid > 0 && !(h->flags & (LOCKSPACE_HOLDER_STALE | LOCKSPACE_HOLDER_SELF)))
			if (cr_add(arg, h->pid) < 0)
				return -ENOMEM;
	}
	return 0;
}

static int cr_collect_record(const struct lockspace_record *rec, void *arg)
{
	struct cr_pids *p = arg;
	if (p->owner && (!rec->owner || strcmp(rec->owner, p->owner) != 0))
		return 0;
	return cr_add(p, rec->pid) < 0 ? -ENOMEM : 0;
}

/* A lock the kernel shows *arg's pid holding: stops the walk with its resource. */
struct cr_held {
	pid_t pid;
	char what[4096];
};

static int cr_still_held_cb(const struct lockspace_info *info, void *arg)
{
	struct cr_held *h = arg;
	for (size_t i = 0; i < info->nholders; i++)
		if (info->holders[i].pid == h->pid && !(info->holders[i].flags & LOCKSPACE_HOLDER_STALE)) {
			snprintf(h->what, sizeof(h->what), "%s", info->path ? info->path : info->name);
			return 1;
		}
	return 0;
}

/*
 * After an "ok": does the kernel (F_GETLK, as lockspace_probe() sees it)
 * still show @pid holding @name, or with @name NULL any lock? Whoever
 * answered on the socket, the kernel has the last word. Fills @held.
 */
static int cr_still_held(struct lockspace *ls, pid_t pid, const char *name, struct cr_held *held)
{
	held->pid = pid;
	if (name) {
		enum lockspace_state state;
		pid_t who = 0;
		snprintf(held->what, sizeof(held->what), "%s", name);
		return lockspace_probe(ls, name, LOCKSPACE_BYNAME, &state, &who) == 0 && who == pid;
	}
	return lockspace_foreach(ls, 0, cr_still_held_cb, held) == 1;
}

/* Ask holder @pid to release @name (NULL: everything); @what names it in
 * messages. With @state, a hand-off of @name: its state goes there. */
static int cr_ask(struct lockspace *ls, pid_t pid, const char *name, const char *what, int missing_status,
		  uint64_t *state)
{
	char *request = NULL;
	char text[CONTROL_MAX_ANSWER];
	int code = 0;
	char *sock = NULL;
	int err = state ? control_format_handoff(name, &request)
			: control_format_release(&name, name ? 1 : 0, &request);
	if (!err)
		err = lockspace_control_path(ls, pid, &sock);
	if (!err)
		err = control_call(ls, pid, request, &code, text, sizeof(text));
	char sock_path[4096];
	snprintf(sock_path, sizeof(sock_path), "%s", sock ? sock : "its control socket");
	/* -ESRCH and no socket file: another process on the name the holder's record gives. */
	int squatted = err == -ESRCH && !control_file_exists(sock);
	free(sock);
	free(request);
	if (err == -EBADMSG) {
		vl_error("%s: holder %d: its record in .holders belongs to another user; nothing was "
			 "released; find who replaced it (a member of the lockspace's group)",
			 what, (int)pid);
		return VL_EXIT_DATAERR;
	}
	if (err == -ENETUNREACH) {
		vl_error("%s: holder %d runs in another network namespace; start it with "
			 "LOCKSPACE_CONTROL=file",
			 what, (int)pid);
		return VL_EXIT_OSERR;
	}
	if (err == -ENOENT && (kill(pid, 0) == 0 || errno == EPERM)) {
		/* The kernel named it a holder and it runs: it is not a virlock
		 * holder (a program's own lock), or its socket file was removed. */
		vl_error(
			"%s: holder %d runs but has no control socket (not a virlock holder, or its socket "
			"was removed); it cannot be asked; nothing was released; stop its command or kill it",
			what, (int)pid);
		return VL_EXIT_OSERR;
	}
	if (err == -ENOENT || err == -ECONNREFUSED) {
		vl_error("%s: holder %d has no control socket; it is gone or is not a virlock holder", what,
			 (int)pid);
		return missing_status;
	}
	if (err == -EACCES || err == -EPERM) {
		vl_error("%s: holder %d: permission denied; run as its user or as root", what, (int)pid);
		return VL_EXIT_NOPERM;
	}
	if (squatted) {
		vl_error("%s: holder %d: another process took the name of its control socket; nothing was "
			 "released; find that process with 'ss -xlp | grep @virlock/' and stop it",
			 what, (int)pid);
		return VL_EXIT_OSERR;
	}
	if (err == -ESRCH) {
		vl_error(
			"%s: holder %d: another process answers on its control socket; nothing was released; "
			"check %s",
			what, (int)pid, sock_path);
		return VL_EXIT_OSERR;
	}
	if (err == -ETIMEDOUT) {
		vl_error("%s: holder %d did not answer within %d seconds; nothing was released", what,
			 (int)pid, CONTROL_TIMEOUT_MS / 1000);
		return VL_EXIT_OSERR;
	}
	if (err) {
		vl_error("%s: holder %d: %s", what, (int)pid,
			 err == -EPROTO ? "no valid answer" : strerror(-err));
		return VL_EXIT_OSERR;
	}
	if (code) {
		vl_error("%s: holder %d: %s%s", what, (int)pid, text,
			 code == -EACCES ? "; run as its user or as root" : "");
		return virlock_exit_code(code);
	}
	if (state) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(text, &end, 16);
		if (errno || end == text || *end || !v) {
			vl_error(
				"%s: holder %d released it but gave no hand-off state (an earlier version?); "
				"acquire it without --expect-state",
				what, (int)pid);
			return VL_EXIT_OSERR;
		}
		*state = v;
	}
	struct cr_held held;
	if (cr_still_held(ls, pid, name, &held)) {
		if (name)
			vl_error("%s: holder %d answered that it released %s, but the kernel still shows it "
				 "held "
				 "by that process; do not trust that holder",
				 what, (int)pid, what);
		else
			vl_error("%s: holder %d answered that it released everything, but the kernel still "
				 "shows %s held by that process; do not trust that holder",
				 what, (int)pid, held.what);
		return VL_EXIT_OSERR;
	}
	return 0;
}

/* The lock name of @res: a path, a literal string, or a name whose file is gone. */
static int cr_name(const char *res, int literal, char name[LOCKSPACE_NAME_LEN + 1])
{
	int err = lockspace_name(res, (literal ? LOCKSPACE_LITERAL : 0) | vl_hash, name);
	if (err == -ENOENT && !literal) /* a name, or a path its holder knew before it was deleted */
		err = lockspace_name(
			res, lockspace_valid_name(res) ? LOCKSPACE_BYNAME : LOCKSPACE_LOOKUP | vl_hash, name);
	return err;
}

/* Find the holders of @res into @p and its lock name into @name; with
 * @handoff, it must be held exclusively by one holder. 0 or an exit status
 * (said). */
static int cr_find(struct lockspace *ls, const char *res, int literal, int handoff,
		   char name[LOCKSPACE_NAME_LEN + 1], struct cr_pids *p)
{
	int status = 0;
	int err = cr_name(res, literal, name);
	if (!err)
		err = lockspace_inspect(ls, name, LOCKSPACE_BYNAME, cr_collect_holder, p);
	if (!err && p->n == 0 && p->remote.nhosts) {
		/* Only another host's daemon can let go of it. */
		vl_error("%s: held on %s, not on this host; release it there", res, p->remote.text);
		status = VL_EXIT_NOINPUT;
	} else if (err == -ENOENT || (!err && p->n == 0)) {
		vl_error("%s: not held by anyone%s", res,
			 literal ? "" : "; give the path the holder used, or --literal for a name");
		status = VL_EXIT_NOINPUT;
	} else if (err) {
		status = vl_resource_error(res, err);
	}
	if (!status && handoff && (p->n > 1 || p->shared)) {
		if (p->n > 1)
			vl_error("%s: held shared by %zu holders; only an exclusive hold can be handed off",
				 res, p->n);
		else
			vl_error("%s: held shared; only an exclusive hold can be handed off", res);
		status = VL_EXIT_USAGE;
	}
	return status;
}

/* Release @res: ask each of its holders. */
static int cr_resource(struct lockspace *ls, const char *res, int literal)
{
	char name[LOCKSPACE_NAME_LEN + 1];
	struct cr_pids p = {0};
	int status = cr_find(ls, res, literal, 0, name, &p);
	for (size_t i = 0; !status && i < p.n; i++) {
		int s = cr_ask(ls, p.pid[i], name, res, VL_EXIT_OSERR, NULL);
		if (s && !status)
			status = s;
	}
	free(p.pid);
	return status;
}

/* The supervisor of @pid when @pid is a supervised child, as list -p sees it. */
static int cr_supervisor_of(const struct lockspace_record *rec, void *arg)
{
	pid_t *pid = arg;
	if (rec->child == *pid) {
		*pid = rec->pid;
		return 1;
	}
	return 0;
}

/* Is *arg among the holders the kernel confirms? Stops the walk with 1 if so. */
static int cr_kernel_holder(const struct lockspace_info *info, void *arg)
{
	const pid_t *pid = arg;
	for (size_t i = 0; i < info->nholders; i++)
		if (info->holders[i].pid == *pid && !(info->holders[i].flags & LOCKSPACE_HOLDER_STALE))
			return 1;
	return 0;
}

struct cr_label {
	pid_t pid;
	struct lockspace *ls;
};

/* Does *arg's live record name a label the kernel shows it owning? */
static int cr_label_owner(const struct lockspace_record *rec, void *arg)
{
	struct cr_label *l = arg;
	pid_t owner = 0;
	return rec->pid == l->pid && rec->owner && lockspace_owner_pid(l->ls, rec->owner, &owner) == 0 &&
	       owner == l->pid;
}

/* --pid: @pid, or the supervisor of the child @pid, must be a holder the
 * kernel confirms (a lock file F_GETLK names it on, or a label it owns):
 * a pid alone, or a record, could lead the request to any process. */
static int cr_pid(struct lockspace *ls, pid_t pid)
{
	char what[64];
	pid_t holder = pid;
	lockspace_records(ls, cr_supervisor_of, &holder);
	snprintf(what, sizeof(what), "pid %d", (int)pid);
	int err = lockspace_foreach(ls, 0, cr_kernel_holder, &holder);
	if (err == 0) {
		struct cr_label l = {holder, ls};
		err = lockspace_records(ls, cr_label_owner, &l);
	}
	if (err < 0) {
		vl_error("%s: %s: %s%s", what, lockspace_dir(ls), lockspace_strerror(err), vl_advice(err));
		return virlock_exit_code(err);
	}
	if (err == 0) {
		int sanlock = strcmp(lockspace_backend(ls), LOCKSPACE_BACKEND_SANLOCK) == 0;
		vl_error("%s: not a holder in %s: %s; see 'virlock list'", what, lockspace_dir(ls),
			 sanlock ? "this host's sanlock daemon shows it holding no lease, and the kernel no "
				   "label"
				 : "the kernel shows it holding no lock and no label");
		return VL_EXIT_NOINPUT;
	}
	return cr_ask(ls, holder, NULL, what, VL_EXIT_NOINPUT, NULL);
}

/* --owner, --pid, --all: every lock of the chosen holders. */
static int cr_holders(struct lockspace *ls, const char *owner, int pid, int all)
{
	struct cr_pids p = {0};
	char what[64];
	int status = 0, err = 0;
	if (pid)
		return cr_pid(ls, pid);
	if (owner) {
		/* The kernel says who has the label: the lock on its label file.
		 * A holder of an earlier version has only its record's word. */
		pid_t holder = 0;
		p.owner = owner;
		err = lockspace_owner_pid(ls, owner, &holder);
		if (err == 0)
			err = cr_add(&p, holder);
		else if (err == -ENOENT)
			err = lockspace_records(ls, cr_collect_record, &p);
	} else {
		err = lockspace_records(ls, cr_collect_record, &p);
	}
	if (err < 0) {
		vl_error("%s: holder records: %s%s", lockspace_dir(ls), lockspace_strerror(err),
			 vl_advice(err));
		free(p.pid);
		return virlock_exit_code(err);
	}
	if (p.n == 0 && !all) {
		vl_error("owner %s: no live holder has this label; see 'virlock list'", owner);
		status = VL_EXIT_NOINPUT;
	}
	if (p.n == 0 && all && (p.remote.self = vl_self_host_id(ls)) > 0 &&
	    lockspace_foreach(ls, 0, cr_collect_remote, &p.remote) == 0 && p.remote.nleases) {
		/* --all here releases this host's holders only: say where the rest are. */
		vl_error("release: this host holds nothing in sanlock lockspace %s; %zu lease%s held on %s; "
			 "release %s there",
			 lockspace_dir(ls), p.remote.nleases, p.remote.nleases == 1 ? " is" : "s are",
			 p.remote.text, p.remote.nleases == 1 ? "it" : "them");
		status = VL_EXIT_NOINPUT;
	}
	for (size_t i = 0; i < p.n; i++) {
		if (owner)
			snprintf(what, sizeof(what), "owner %.40s", owner);
		else
			snprintf(what, sizeof(what), "pid %d", (int)p.pid[i]);
		int s = cr_ask(ls, p.pid[i], NULL, what, VL_EXIT_OSERR, NULL);
		if (s && !status)
			status = s;
	}
	free(p.pid);
	return status;
}

static int literal, all, handoff;

/* Append @res to the list @buf of @len bytes, comma-separated. */
static void cr_list_add(char *buf, size_t len, const char *res)
{
	size_t used = strlen(buf);
	snprintf(buf + used, len - used, "%s%s", used ? ", " : "", res);
}

/* --handoff: every resource is checked first (held here, by one holder,
 * exclusively), and nothing is asked unless all are. Then each holder
 * hands off its resource; if one still fails, the token of those handed
 * off is printed all the same, and one line says which were not. */
static int cr_handoff(struct lockspace *ls, const char *const *rest, size_t n)
{
	struct lockspace_handoff_item *items = calloc(n, sizeof(*items));
	struct cr_pids *p = calloc(n, sizeof(*p));
	int status = items && p ? 0 : VL_EXIT_OSERR;
	if (status)
		vl_error("release: out of memory");
	for (size_t i = 0; !status && i < n; i++)
		status = cr_find(ls, rest[i], literal, 1, items[i].name, &p[i]);
	size_t done = 0;
	char *given = NULL, *kept = NULL;
	size_t listlen = 0;
	for (size_t i = 0; i < n && !status; i++)
		listlen += strlen(rest[i]) + 2;
	if (!status && (!(given = calloc(1, listlen + 1)) || !(kept = calloc(1, listlen + 1)))) {
		vl_error("release: out of memory");
		status = VL_EXIT_OSERR;
	}
	int asked = !status, failed = 0;
	for (size_t i = 0; asked && i < n; i++) {
		int s = cr_ask(ls, p[i].pid[0], items[i].name, rest[i], VL_EXIT_OSERR, &items[i].state);
		if (s && !status)
			status = s;
		if (s) {
			failed = 1;
			cr_list_add(kept, listlen + 1, rest[i]);
			continue;
		}
		cr_list_add(given, listlen + 1, rest[i]);
		items[done++] = items[i];
	}
	char *token = NULL;
	int err = done ? lockspace_handoff_format(lockspace_backend(ls), items, done, &token) : 0;
	if (err) {
		vl_error("release: hand-off token: %s", lockspace_strerror(err));
		status = VL_EXIT_OSERR;
	} else if (token) {
		printf("%s\n", token);
	}
	if (failed && done && !err)
		vl_error("release: handed off %s, whose token is printed; not handed off: %s", given, kept);
	else if (failed && !done)
		vl_error("release: nothing was handed off");
	free(token);
	free(given);
	free(kept);
	for (size_t i = 0; p && i < n; i++)
		free(p[i].pid);
	free(p);
	free(items);
	return status;
}

static pid_t pid;
static char *owner;

static struct poptOption options[] = {
	{"all", 'a', POPT_ARG_NONE, &all, 0, "release every lock of every holder", NULL},
	{"handoff", '\0', POPT_ARG_NONE, &handoff, 0,
	 "hand the resources off: print the token that acquire --expect-state takes", NULL},
	{"literal", '\0', POPT_ARG_NONE, &literal, 0, "each resource is a string, not a path", NULL},
	{"owner", 'o', POPT_ARG_STRING, NULL, 'o', "release every lock of the holder with LABEL", "LABEL"},
	{"pid", 'p', POPT_ARG_STRING, NULL, 'p', "release every lock of holder PID", "PID"},
	VL_POPT_STANDARD,
	POPT_TABLEEND,
};

static int option(struct virlock_ctx *ctx, int val, char *arg)
{
	(void)ctx;
	if (val == 'o') {
		free(owner);
		owner = arg;
		return 0;
	}
	int status = vl_parse_pid("--pid", arg, &pid);
	free(arg);
	return status;
}

static int run(struct virlock_ctx *ctx, int nargs, const char **args)
{
	const char **rest = nargs ? args : NULL;
	int status;
	int modes = (rest && rest[0]) + (owner != NULL) + (pid != 0) + (all != 0);
	if (modes != 1) {
		vl_error("release: give resources, --owner LABEL, --pid PID or --all (one of them); "
			 "try 'virlock release --help'");
		status = VL_EXIT_USAGE;
		goto out;
	}
	if (handoff && !(rest && rest[0])) {
		vl_error("release: --handoff takes resources, not --owner, --pid or --all; "
			 "try 'virlock release --help'");
		status = VL_EXIT_USAGE;
		goto out;
	}
	for (size_t i = 0; rest && rest[i]; i++)
		if (!rest[i][0]) {
			vl_error("release: an empty resource name; give a path, a name or a lease name with "
				 "--literal");
			status = VL_EXIT_USAGE;
			goto out;
		}
	size_t nres = 0;
	while (rest && rest[nres])
		nres++;
	status = vl_named_twice(rest, nres, (unsigned)literal, 0);
	if (status)
		goto out;
	if (owner && vl_check_label("--owner", owner)) {
		status = VL_EXIT_USAGE;
		goto out;
	}
	struct lockspace *ls = NULL;
	char *missing = NULL;
	status = vl_lockspace_open(ctx, &ls, &missing);
	if (status)
		goto out;
	if (!ls) { /* nothing is held in a lockspace that does not exist */
		for (size_t i = 0; rest && rest[i]; i++)
			vl_error("%s: not held by anyone; lockspace %s does not exist", rest[i], missing);
		if (!all && !(rest && rest[0]))
			vl_error("release: lockspace %s does not exist; nothing is held there", missing);
		status = all ? VL_EXIT_OK : VL_EXIT_NOINPUT;
		free(missing);
		goto out;
	}
	status = vl_check_joined("release", ls);
	if (status) {
		lockspace_close(ls);
		goto out;
	}
	if (handoff) {
		status = cr_handoff(ls, rest, nres);
	} else if (rest && rest[0]) {
		for (size_t i = 0; rest[i]; i++) {
			int s = cr_resource(ls, rest[i], literal);
			if (s && !status)
				status = s;
		}
	} else {
		status = cr_holders(ls, owner, pid, all);
	}
	lockspace_close(ls);
out:
	return status;
}

static void end(void)
{
	free(owner);
}

const struct virlock_cmd vl_cmd_release = {
	.name = "release",
	.summary = "ask the holders of locks to drop them",
	.help = "Ask the holders of locks to drop them; a detached holder left with nothing exits.",
	.usage = "[OPTION...] [--handoff] RESOURCE... | --owner LABEL | --pid PID | --all",
	.options = options,
	.lockspace = VL_LOCKSPACE_EXISTING,
	.no_direct = "needs a lockspace directory: a holder in direct mode ends with its command",
	.option = option,
	.run = run,
	.end = end,
};
