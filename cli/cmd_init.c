/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cmd_init.c: virlock init and leave: make a lockspace explicitly; join or leave a sanlock one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "output.h"
#include "virlock.h"

/* Advice for the errors only init and leave of a sanlock lockspace give. */
static const char *sanlock_advice(int err)
{
	switch (err) {
	case -EADDRINUSE:
		return "; choose another with --host-id";
	case -ENOTEMPTY:
		return "; it holds fcntl lock files: use an empty directory";
	case -EOPNOTSUPP:
		return "; this virlock was built without libsanlock";
	case -EIO:
		return "; check the storage: sanlock needs O_DIRECT (tmpfs on older kernels does not do it)";
	default:
		return vl_advice(err);
	}
}

struct join_note {
	const struct virlock_ctx *ctx;
	const char *dir;
	char in_use[64]; /* the host that renews the id, when refused */
};

/* Say what the join does, just before it blocks (never before a refusal). */
static void join_started(const struct lockspace_join *join, void *arg)
{
	struct join_note *note = arg;
	if (join->event == LOCKSPACE_JOIN_IN_USE) {
		snprintf(note->in_use, sizeof(note->in_use), "%s", join->host_name ? join->host_name : "?");
		return;
	}
	if (note->ctx->quiet)
		return;
	if (join->event == LOCKSPACE_JOIN_EXPIRY) {
		/* The name comes from the shared storage: printed escaped. */
		printf("host id %u was last held by host ", join->host_id);
		vl_print_safe(stdout, join->host_name);
		printf(", which stopped renewing it without leaving: joining sanlock lockspace %s at once "
		       "if this is ",
		       note->dir);
		vl_print_safe(stdout, join->host_name);
		printf("'s daemon started again, else when its lease expires (up to %u seconds)...\n",
		       join->seconds);
	} else
		printf("joining sanlock lockspace %s as host %u (takes a few seconds)...\n", note->dir,
		       join->host_id);
	fflush(stdout);
}

/* Is @dir an existing sanlock lockspace? */
static int is_sanlock(const char *dir)
{
	struct lockspace *ls = NULL;
	int sanlock = lockspace_open(dir, LOCKSPACE_OPEN_NOCREATE, &ls) == 0 &&
		      strcmp(lockspace_backend(ls), LOCKSPACE_BACKEND_SANLOCK) == 0;
	lockspace_close(ls);
	return sanlock;
}

/* init --backend sanlock on a lockspace this host joined with another id,
 * or init of another backend on a sanlock lockspace: 64, in one line. */
static int init_conflict(const char *dir, unsigned host_id)
{
	struct lockspace *ls = NULL;
	long joined = 0;
	int sanlock = 0;
	if (lockspace_open(dir, LOCKSPACE_OPEN_NOCREATE, &ls) == 0) {
		sanlock = strcmp(lockspace_backend(ls), LOCKSPACE_BACKEND_SANLOCK) == 0;
		joined = sanlock ? vl_self_host_id(ls) : 0;
	}
	lockspace_close(ls);
	if (!host_id && sanlock)
		vl_error("init: lockspace %s is a sanlock lockspace, not fcntl; join it with 'virlock -L %s "
			 "init "
			 "--backend sanlock --host-id N', or give another directory for fcntl",
			 dir, dir);
	else if (joined)
		vl_error("init: this host joined sanlock lockspace %s as host %ld, not %u; leave it first "
			 "('virlock -L %s leave') to join with another host id",
			 dir, joined, host_id, dir);
	else
		vl_error("init: lockspace %s: %s; check its .backend file", dir, lockspace_strerror(-EEXIST));
	return VL_EXIT_USAGE;
}

static int init_sanlock(const struct virlock_ctx *ctx, const char *dir, unsigned host_id)
{
	struct join_note note = {.ctx = ctx, .dir = dir};
	int err = lockspace_init_notify(dir, LOCKSPACE_BACKEND_SANLOCK, host_id, LOCKSPACE_OPEN_PARENTS,
					join_started, &note);
	if (err == -EEXIST)
		return init_conflict(dir, host_id);
	if (err == -EADDRINUSE) {
		/* A busy host id is contention, as a held lock: 75. */
		if (note.in_use[0])
			vl_error("init: host id %u is in use by host %s; choose another with --host-id",
				 host_id, note.in_use);
		else
			vl_error("init: host id %u is in use by another live host; choose another with "
				 "--host-id",
				 host_id);
		return VL_EXIT_BUSY;
	}
	if (err < 0) {
		vl_error("init: sanlock lockspace %s: %s%s", dir, lockspace_strerror(err),
			 sanlock_advice(err));
		return virlock_exit_code(err);
	}
	if (!ctx->quiet)
		printf("%s sanlock lockspace %s as host %u\n", err ? "joined" : "created and joined", dir,
		       host_id);
	return VL_EXIT_OK;
}

/* The directory init or leave works on: -L DIR or the default; no operands
 * (@nargs of @args). Returns 0 with *@name set (*@dir owns it when it is the
 * default), or the exit status after one line on stderr. */
static int target_dir(const struct virlock_ctx *ctx, int nargs, const char **args, char **dir,
		      const char **name)
{
	const char *cmd = ctx->cmd->name;
	if (nargs > 0) {
		vl_error("%s: %s: unexpected argument; name the directory with 'virlock -L DIR %s'", cmd,
			 args[0], cmd);
		return VL_EXIT_USAGE;
	}
	*name = ctx->lockspace;
	if (!*name) {
		int err = vl_default_dir(dir);
		if (err < 0) {
			vl_error("%s: default lockspace: %s", cmd, lockspace_strerror(err));
			return virlock_exit_code(err);
		}
		*name = *dir;
	}
	vl_join_advice(*name);
	return 0;
}

/* The leases this host holds, and the pids that hold them where known. */
struct own_leases {
	long self;
	size_t count, npids;
	pid_t pids[8];
	int more; /* pids beyond those */
};

static int count_own(const struct lockspace_info *info, void *arg)
{
	struct own_leases *own = arg;
	int counted = 0;
	for (size_t i = 0; i < info->nholders; i++) {
		const struct lockspace_holder *h = &info->holders[i];
		if (h->host_id != (unsigned)own->self)
			continue;
		if (!counted++)
			own->count++;
		size_t k = 0;
		while (h->pid > 0 && k < own->npids && own->pids[k] != h->pid)
			k++;
		if (h->pid <= 0 || k < own->npids)
			continue;
		if (own->npids < sizeof(own->pids) / sizeof(own->pids[0]))
			own->pids[own->npids++] = h->pid;
		else
			own->more = 1;
	}
	return 0;
}

/* leave refused: this host's own leases are still held; say how many and by whom. */
static int leave_busy(const char *dir)
{
	struct lockspace *ls = NULL;
	struct own_leases own = {0};
	if (lockspace_open(dir, LOCKSPACE_OPEN_NOCREATE, &ls) == 0 && (own.self = vl_self_host_id(ls)) > 0)
		lockspace_foreach(ls, 0, count_own, &own);
	lockspace_close(ls);
	char who[200] = "processes that keep no record";
	size_t len = 0;
	for (size_t i = 0; i < own.npids && len < sizeof(who); i++)
		len += (size_t)snprintf(who + len, sizeof(who) - len, "%s%d",
					i		? ", "
					: own.npids > 1 ? "pids "
							: "pid ",
					(int)own.pids[i]);
	if (own.more && len < sizeof(who))
		snprintf(who + len, sizeof(who) - len, ", ...");
	if (own.count == 0)
		vl_error("leave: this host still holds leases in sanlock lockspace %s; release them first "
			 "('virlock -L %s release --all'), or end the commands that hold them",
			 dir, dir);
	else
		vl_error("leave: this host still holds %zu lease%s in sanlock lockspace %s (held by %s); "
			 "release "
			 "%s first ('virlock -L %s release --all'), or end the commands that hold %s",
			 own.count, own.count == 1 ? "" : "s", dir, who, own.count == 1 ? "it" : "them", dir,
			 own.count == 1 ? "it" : "them");
	return VL_EXIT_BUSY;
}

static struct poptOption leave_options[] = {
	VL_POPT_STANDARD,
	POPT_TABLEEND,
};

static int leave_run(struct virlock_ctx *ctx, int nargs, const char **args)
{
	char *dir = NULL;
	const char *name;
	int status = target_dir(ctx, nargs, args, &dir, &name);
	if (status)
		goto out;
	int err = lockspace_leave(name);
	struct stat st;
	if (err == -ENOENT) {
		vl_error("leave: lockspace %s: no such directory; check the path (only a sanlock lockspace "
			 "this host joined can be left)",
			 name);
		status = VL_EXIT_NOINPUT;
		goto out;
	}
	/* A file on the way to it, or a link loop: a path that does not resolve (66). */
	if (err == -ELOOP || (err == -ENOTDIR && stat(name, &st) < 0 && errno == ENOTDIR)) {
		status = vl_lockspace_error("leave: ", name, err);
		goto out;
	}
	if (err == -EBUSY) {
		status = leave_busy(name);
		goto out;
	}
	if (err < 0) {
		const char *advice = err == -EOPNOTSUPP
					     ? "; only a sanlock lockspace can be left (or this virlock "
					       "was built without libsanlock)"
					     : sanlock_advice(err);
		vl_error("leave: lockspace %s: %s%s", name, lockspace_strerror(err), advice);
		status = virlock_exit_code(err);
		goto out;
	}
	if (!ctx->quiet)
		printf("left sanlock lockspace %s\n", name);
	status = VL_EXIT_OK;
out:
	free(dir);
	return status;
}

static const char no_direct[] = "--direct uses no lockspace; give -L DIR or drop --direct";

const struct virlock_cmd vl_cmd_leave = {
	.name = "leave",
	.summary = "make this host leave a sanlock lockspace",
	.help = "Make this host leave a sanlock lockspace.",
	.usage = "[OPTION...]",
	.options = leave_options,
	.lockspace = VL_LOCKSPACE_EXISTING,
	.no_direct = no_direct,
	.run = leave_run,
};

static int host_id, host_id_given;
static char *backend;

static struct poptOption init_options[] = {
	{"backend", '\0', POPT_ARG_STRING, NULL, 'b', "lock backend: fcntl (default) or sanlock", "BACKEND"},
	{"host-id", '\0', POPT_ARG_STRING, NULL, 'H', "this host's id in a sanlock lockspace (1-2000)", "N"},
	VL_POPT_STANDARD,
	POPT_TABLEEND,
};

static int init_option(struct virlock_ctx *ctx, int val, char *arg)
{
	(void)ctx;
	if (val == 'b') {
		free(backend);
		backend = arg;
		return 0;
	}
	host_id_given = 1;
	int status = vl_parse_range("--host-id", arg, 1, 2000, "a host id", &host_id);
	free(arg);
	return status;
}

static int init_run(struct virlock_ctx *ctx, int nargs, const char **args)
{
	struct lockspace *ls = NULL;
	char *dir = NULL;
	int status = VL_EXIT_USAGE;

	int sanlock = backend && strcmp(backend, LOCKSPACE_BACKEND_SANLOCK) == 0;
	if (backend && !sanlock && strcmp(backend, LOCKSPACE_BACKEND_FCNTL) != 0) {
		vl_error("init: --backend %s: unknown backend; give fcntl or sanlock", backend);
		goto out;
	}
	if (host_id_given && backend && !sanlock) {
		vl_error("init: --host-id %d: only a sanlock lockspace has host ids; drop it for fcntl",
			 host_id);
		goto out;
	}
	if (sanlock && (!host_id_given || host_id < 1 || host_id > 2000)) {
		vl_error("init: --backend sanlock needs --host-id N, 1-2000, different on every host "
			 "sharing the lockspace");
		goto out;
	}
	const char *name;
	status = target_dir(ctx, nargs, args, &dir, &name);
	if (status)
		goto out;
	/* --host-id alone joins the sanlock lockspace the directory already is. */
	if (host_id_given && !backend && !(sanlock = is_sanlock(name))) {
		vl_error("init: --host-id %d: only a sanlock lockspace has host ids, and %s is not one; "
			 "give --backend sanlock to make one, or drop --host-id for fcntl",
			 host_id, name);
		status = VL_EXIT_USAGE;
		goto out;
	}
	if (sanlock) {
		status = init_sanlock(ctx, name, (unsigned)host_id);
		goto out;
	}
	struct stat st;
	int existed = stat(name, &st) == 0 && S_ISDIR(st.st_mode);
	int err = lockspace_open(name, LOCKSPACE_OPEN_PARENTS, &ls);
	if (err == -EPERM) {
		vl_unsafe_lockspace("init: ", name);
		status = virlock_exit_code(err);
		goto out;
	}
	if (err < 0) {
		status = vl_lockspace_error("init: ", name, err);
		goto out;
	}
	if (strcmp(lockspace_backend(ls), LOCKSPACE_BACKEND_FCNTL) != 0) {
		if (backend) {
			status = init_conflict(name, 0);
			goto out;
		}
		if (!ctx->quiet) {
			fputs("sanlock lockspace ", stdout);
			vl_print_safe(stdout, lockspace_dir(ls));
			fputs(" exists already\n", stdout);
		}
		status = VL_EXIT_OK;
		goto out;
	}
	if (!ctx->quiet) {
		fputs(existed ? "lockspace " : "created fcntl lockspace ", stdout);
		vl_print_safe(stdout, lockspace_dir(ls));
		fputs(existed ? " exists already\n" : "\n", stdout);
	}
	status = VL_EXIT_OK;
out:
	lockspace_close(ls);
	free(dir);
	return status;
}

static void init_end(void)
{
	free(backend);
}

const struct virlock_cmd vl_cmd_init = {
	.name = "init",
	.summary = "make a lockspace explicitly",
	.help = "Make a lockspace explicitly (its first use makes an fcntl one implicitly).",
	.usage = "[OPTION...]",
	.options = init_options,
	.lockspace = VL_LOCKSPACE_CREATE,
	.no_direct = no_direct,
	.option = init_option,
	.run = init_run,
	.end = init_end,
};
