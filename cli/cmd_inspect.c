/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cmd_inspect.c: virlock inspect, everything about one resource as a key: value block or JSON. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
	print_key("path:", info->path);
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

static void json_key(const char *indent, const char *key)
{
	printf("%s\"%s\": ", indent, key);
}

static void json_pid(pid_t pid)
{
	if (pid > 0)
		printf("%d", (int)pid);
	else
		fputs("null", stdout);
}

/* An array of holders, or of @stale records: their mode is only "claimed". */
static void json_holders(const struct lockspace_holder *hs, size_t n, int stale)
{
	char tbuf[VL_TIME_LEN];
	fputs(n ? "[\n" : "[", stdout);
	for (size_t i = 0; i < n; i++) {
		const struct lockspace_holder *h = &hs[i];
		fputs("    {\n", stdout);
		json_key("      ", "pid");
		json_pid(h->pid);
		fputs(",\n", stdout);
		if (!stale || h->host_id) { /* a stale record of fcntl has no host */
			json_key("      ", "host");
			if (h->host_id)
				printf("%u,\n", h->host_id);
			else
				fputs("null,\n", stdout);
			json_key("      ", "gen"); /* the list column's name, as every key here */
			if (h->host_id)
				printf("%llu,\n", h->generation);
			else
				fputs("null,\n", stdout);
		}
		json_key("      ", stale ? "claimed" : "mode");
		vl_json_string(stdout, vl_state_word(h->mode));
		fputs(",\n", stdout);
		json_key("      ", "command");
		vl_json_string(stdout, h->command);
		fputs(",\n", stdout);
		json_key("      ", "owner");
		vl_json_string(stdout, h->owner);
		fputs(",\n", stdout);
		json_key("      ", "child");
		json_pid(h->child);
		fputs(",\n", stdout);
		json_key("      ", "since");
		vl_json_string(stdout, vl_format_time(h->since, tbuf));
		fputs(",\n", stdout);
		json_key("      ", "status");
		vl_json_string(stdout, vl_holder_word(h));
		fputs(i + 1 < n ? "\n    },\n" : "\n    }\n  ", stdout);
	}
	putchar(']');
}

static void print_json(const struct lockspace_info *info, const pid_t *waiters, size_t nwaiters)
{
	fputs("{\n", stdout);
	json_key("  ", "name");
	vl_json_string(stdout, info->name);
	fputs(",\n", stdout);
	json_key("  ", "path");
	vl_json_string(stdout, info->path);
	fputs(",\n", stdout);
	json_key("  ", "lockfile");
	vl_json_string(stdout, info->lockfile);
	fputs(",\n", stdout);
	json_key("  ", "integrity");
	vl_json_string(stdout, vl_integrity_word(info->integrity));
	fputs(",\n", stdout);
	json_key("  ", "state");
	vl_json_string(stdout, vl_state_word(info->state));
	fputs(",\n", stdout);
	json_key("  ", "holders");
	json_holders(info->holders, info->nholders, 0);
	fputs(",\n", stdout);
	json_key("  ", "waiters");
	putchar('[');
	for (size_t i = 0; i < nwaiters; i++)
		printf("%s%d", i ? ", " : "", (int)waiters[i]);
	fputs("],\n", stdout);
	if (info->waiter_hosts) { /* sanlock: the host of each waiter */
		json_key("  ", "waiter_hosts");
		putchar('[');
		for (size_t i = 0; i < nwaiters; i++)
			printf("%s%u", i ? ", " : "", info->waiter_hosts[i]);
		fputs("],\n", stdout);
	}
	json_key("  ", "stale_records");
	json_holders(info->stale, info->nstale, 1);
	fputs("\n}\n", stdout);
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
		memcpy(name, canon + dlen + 1, LOCKSPACE_NAME_LEN + 1);
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

static const char summary[] = "Show everything about one resource: its lock file, holders and waiters.";

int cmd_inspect(struct virlock_ctx *ctx, int argc, const char **argv)
{
	int json = 0, literal = 0;
	struct poptOption options[] = {
		{"json", 'J', POPT_ARG_NONE, &json, 0, "use JSON output format", NULL},
		{"literal", '\0', POPT_ARG_NONE, &literal, 0, "take RESOURCE as a string, not a path", NULL},
		VL_POPT_STANDARD,
		POPT_TABLEEND,
	};
	struct vl_popt p;
	struct lockspace *ls = NULL;
	char *missing = NULL;
	int status = VL_EXIT_USAGE;

	if (vl_popt_start(&p, argc, argv, options, "[OPTION...] RESOURCE-or-NAME") < 0)
		return VL_EXIT_OSERR;
	int rc = poptGetNextOpt(p.con);
	if (rc != -1) {
		status = vl_popt_common(&p, rc, summary, NULL);
		goto out;
	}
	int nargs;
	const char **args = vl_popt_args(&p, &nargs);
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

	status = vl_open_existing_lockspace(ctx, &ls, &missing);
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
	status = vl_finish_stdout(VL_EXIT_OK);
out:
	lockspace_close(ls);
	free(missing);
	vl_popt_end(&p);
	return status;
}
