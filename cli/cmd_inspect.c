/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cmd_inspect.c: virlock inspect, everything about one resource as a key: value block or JSON. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jsonwrt.h"
#include "output.h"
#include "virlock.h"

static void print_key(const char *key, const char *value)
{
	printf("%-11s", key);
	vl_print_safe(stdout, value);
	putchar('\n');
}

static void print_pid(const char *key, pid_t pid)
{
	if (pid > 0)
		printf("%-11s%d\n", key, (int)pid);
	else
		printf("%-11s-\n", key);
}

/* The host of a sanlock holder, lease owner or record. */
static void print_host(const struct lockspace_holder *h)
{
	if (!h->host_id)
		return;
	printf("%-11s%u (generation %llu", "  host:", h->host_id, h->generation);
	if ((h->flags & LOCKSPACE_HOLDER_STALE) && !h->pid)
		fputs(", older than the host's current one: the lease is lost", stdout);
	fputs(")\n", stdout);
}

/* What a corrupt file is, in this kind of lockspace. */
static const char *corrupt_why = " (the content does not hash to the name)";

static void print_text(const struct lockspace_info *info, const pid_t *waiters, size_t nwaiters)
{
	char tbuf[VL_TIME_LEN];
	print_key("name:", info->name);
	print_key("path:", info->path || info->integrity != -ENODATA
				   ? info->path
				   : "unknown (empty lock file, as virtlockd leaves them)");
	print_key("lock file:", info->lockfile);
	printf("%-11s%s", "integrity:", vl_integrity_word(info->integrity));
	if (info->integrity == -EBADMSG)
		fputs(corrupt_why, stdout);
	else if (info->integrity != 0 && info->integrity != -ENODATA)
		printf(" (%s)", lockspace_strerror(info->integrity));
	putchar('\n');
	print_key("state:", vl_state_word(info->state));
	printf("%-11s%zu\n", "holders:", info->nholders);
	for (size_t i = 0; i < info->nholders; i++) {
		const struct lockspace_holder *h = &info->holders[i];
		print_pid("holder:", h->pid);
		print_host(h);
		print_key("  mode:", vl_state_word(h->mode));
		print_key("  command:", h->command);
		print_key("  owner:", h->owner);
		print_pid("  child:", h->child);
		print_key("  since:", vl_format_time(h->since, tbuf));
		print_key("  status:", vl_holder_word(h));
	}
	printf("%-11s", "waiters:");
	if (nwaiters == 0)
		fputs("none", stdout);
	for (size_t i = 0; i < nwaiters; i++) {
		printf("%s%d", i ? " " : "", (int)waiters[i]);
		if (info->waiter_hosts) /* sanlock: the pid is that host's */
			printf(" (host %u)", info->waiter_hosts[i]);
	}
	putchar('\n');
	/* Records the kernel does not confirm: apart, so that no one counts them. */
	if (!info->nstale)
		return;
	printf("stale records: %zu (no lock behind them; 'virlock prune' removes those of ended "
	       "processes)\n",
	       info->nstale);
	for (size_t i = 0; i < info->nstale; i++) {
		const struct lockspace_holder *h = &info->stale[i];
		print_pid("record:", h->pid);
		print_host(h);
		print_key("  claimed:", vl_state_word(h->mode));
		print_key("  command:", h->command);
		print_key("  owner:", h->owner);
		print_pid("  child:", h->child);
		print_key("  since:", vl_format_time(h->since, tbuf));
	}
}

/* A pid, or null when unknown. */
static void json_pid(struct vl_json *j, const char *name, pid_t pid)
{
	if (pid > 0)
		vl_json_int(j, name, pid);
	else
		vl_json_null(j, name);
}

/* An array of holders, or of @stale records: their mode is only "claimed".
 * The keys are the list columns' names. */
static void json_holders(struct vl_json *j, const char *name, const struct lockspace_holder *hs, size_t n,
			 int stale)
{
	char tbuf[VL_TIME_LEN];
	vl_json_open(j, name, '[', 0);
	for (size_t i = 0; i < n; i++) {
		const struct lockspace_holder *h = &hs[i];
		vl_json_open(j, NULL, '{', 0);
		json_pid(j, "pid", h->pid);
		if (h->host_id) {
			vl_json_uint(j, "host", h->host_id);
			vl_json_uint(j, "gen", h->generation);
		} else if (!stale) { /* a stale record of fcntl has no host */
			vl_json_null(j, "host");
			vl_json_null(j, "gen");
		}
		vl_json_string(j, stale ? "claimed" : "mode", vl_state_word(h->mode));
		vl_json_string(j, "command", h->command);
		vl_json_string(j, "owner", h->owner);
		json_pid(j, "child", h->child);
		vl_json_string(j, "since", vl_format_time(h->since, tbuf));
		vl_json_string(j, "status", vl_holder_word(h));
		vl_json_close(j, '}');
	}
	vl_json_close(j, ']');
}

static void print_json(const struct lockspace_info *info, const pid_t *waiters, size_t nwaiters)
{
	struct vl_json j = {.out = stdout};
	vl_json_open(&j, NULL, '{', 0);
	vl_json_string(&j, "name", info->name);
	vl_json_string(&j, "path", info->path);
	vl_json_string(&j, "lockfile", info->lockfile);
	vl_json_string(&j, "integrity", vl_integrity_word(info->integrity));
	vl_json_string(&j, "state", vl_state_word(info->state));
	json_holders(&j, "holders", info->holders, info->nholders, 0);
	vl_json_open(&j, "waiters", '[', 1);
	for (size_t i = 0; i < nwaiters; i++)
		vl_json_int(&j, NULL, waiters[i]);
	vl_json_close(&j, ']');
	if (info->waiter_hosts) { /* sanlock: the host of each waiter */
		vl_json_open(&j, "waiter_hosts", '[', 1);
		for (size_t i = 0; i < nwaiters; i++)
			vl_json_uint(&j, NULL, info->waiter_hosts[i]);
		vl_json_close(&j, ']');
	}
	json_holders(&j, "stale_records", info->stale, info->nstale, 1);
	vl_json_close(&j, '}');
	putchar('\n');
}

static int inspect_cb(const struct lockspace_info *info, void *arg)
{
	pid_t *waiters;
	size_t nwaiters;
	if (info->waiter_hosts) {
		/* sanlock: one entry per waiter of each host, none twice. */
		if (*(int *)arg)
			print_json(info, info->waiters, info->nwaiters);
		else
			print_text(info, info->waiters, info->nwaiters);
		return 0;
	}
	if (vl_waiters_unique(info->waiters, info->nwaiters, &waiters, &nwaiters) < 0)
		return -ENOMEM;
	if (*(int *)arg)
		print_json(info, waiters, nwaiters);
	else
		print_text(info, waiters, nwaiters);
	free(waiters);
	return 0;
}

/*
 * A path that names a lock file of this lockspace means that lock file, not a
 * resource of its own: 'virlock inspect $LS/NAME' inspects NAME. On a match
 * return 1 and copy the name into @name.
 */
static int lockfile_name(struct lockspace *ls, const char *path, char name[LOCKSPACE_NAME_LEN + 1])
{
	const char *dir = lockspace_dir(ls);
	char *canon = NULL;
	int match = 0;
	if (!dir || lockspace_canonical(path, 0, &canon) < 0)
		return 0;
	size_t dlen = strlen(dir);
	if (strncmp(canon, dir, dlen) == 0 && canon[dlen] == '/' && lockspace_valid_name(canon + dlen + 1)) {
		memcpy(name, canon + dlen + 1, strlen(canon + dlen + 1) + 1);
		match = 1;
	}
	free(canon);
	return match;
}

/* A path that does not exist and has no lock file either. */
static int no_such_file(const char *res)
{
	vl_error("%s: no such file; give an existing path, a name from 'virlock list -o NAME', or --literal "
		 "for a string resource",
		 res);
	return VL_EXIT_NOINPUT;
}

static int json, literal;

static struct poptOption options[] = {
	{"json", 'J', POPT_ARG_NONE, &json, 0, "use JSON output format", NULL},
	{"literal", '\0', POPT_ARG_NONE, &literal, 0, "take RESOURCE as a string, not a path", NULL},
	VL_POPT_STANDARD,
	POPT_TABLEEND,
};

static int run(struct virlock_ctx *ctx, int nargs, const char **args)
{
	struct lockspace *ls = NULL;
	char *missing = NULL;
	int status = VL_EXIT_USAGE;

	if (nargs != 1) {
		vl_error("inspect: %s; try 'virlock inspect --help'",
			 nargs ? "give one resource only" : "no resource given");
		goto out;
	}
	const char *res = args[0];
	if (!*res) {
		vl_error("inspect: an empty resource name; give a path, a name or a lease name with "
			 "--literal");
		goto out;
	}
	unsigned flags = 0;
	int is_path = 0;
	struct stat st;
	if (literal) {
		flags = LOCKSPACE_LITERAL;
	} else if (stat(res, &st) == 0) {
		is_path = 1;
	} else if (errno != ENOENT) {
		status = vl_resource_error(res, -errno);
		goto out;
	} else if (lockspace_valid_name(res)) {
		if (ctx->direct) {
			vl_error("%s: a lock name needs a lockspace; give the resource's path with --direct",
				 res);
			goto out;
		}
		flags = LOCKSPACE_BYNAME;
	} else {
		/* A deleted file: its holder may still hold the lock it took while it existed. */
		flags = LOCKSPACE_LOOKUP;
	}

	status = vl_lockspace_open(ctx, &ls, &missing);
	if (status != VL_EXIT_OK)
		goto out;
	if (!ls && (flags & LOCKSPACE_LOOKUP)) {
		status = no_such_file(res);
		goto out;
	}
	if (!ls) {
		vl_error("%s: no lockspace %s; nothing has locked anything there yet", res, missing);
		status = VL_EXIT_NOINPUT;
		goto out;
	}
	char name[LOCKSPACE_NAME_LEN + 1];
	const char *what = res;
	if (is_path && lockfile_name(ls, res, name)) {
		what = name;
		flags = LOCKSPACE_BYNAME;
	}
	if (strcmp(lockspace_backend(ls), LOCKSPACE_BACKEND_SANLOCK) == 0)
		corrupt_why = " (not a lease of this lockspace, or its path does not hash to the name)";
	int err = lockspace_inspect(ls, what, flags, inspect_cb, &json);
	if (err == -ENOENT) {
		if (ctx->direct)
			vl_error("%s: no such file; check the path", res);
		else if (flags & LOCKSPACE_LOOKUP)
			no_such_file(res);
		else
			vl_error("%s: no lock file in %s; nothing has locked it since the last prune", res,
				 lockspace_dir(ls));
		status = VL_EXIT_NOINPUT;
		goto out;
	}
	if (err < 0) {
		status = vl_resource_error(res, err);
		goto out;
	}
	status = VL_EXIT_OK;
out:
	lockspace_close(ls);
	free(missing);
	return status;
}

const struct virlock_cmd vl_cmd_inspect = {
	.name = "inspect",
	.summary = "show everything about one resource",
	.help = "Show everything about one resource: its lock file, holders and waiters.",
	.usage = "[OPTION...] RESOURCE-or-NAME",
	.options = options,
	.lockspace = VL_LOCKSPACE_EXISTING,
	.run = run,
};
