/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cmd_acquire.c: virlock acquire: options, then a supervisor, a detached holder or a hotplug. */
#include <errno.h>
#include <popt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "acquire_common.h"
#include "options.h"
#include "acquire_hotplug.h"
#include "acquire_wait.h"
#include "holder.h"
#include "supervisor.h"

#define CA_SUMMARY                                                                                           \
	"Take locks: around COMMAND, or in a detached holder that keeps them until 'virlock release'."

struct ca_args {
	int mode; /* 0 exclusive, 1 shared */
	int literal;
	int no_kill;
	int on_lost;
	int on_lost_set;
	pid_t for_pid;
	int conflict;
	int attach;
	char *owner;
	double wait;
	int wait_set; /* the wait was given with -w, not left at its default or -n */
	char **extra; /* resources popt took as the value of -w */
	size_t nextra;
};

static const char *ca_digits(const char *p)
{
	while (*p >= '0' && *p <= '9')
		p++;
	return p;
}

/*
 * Is @value a number, by its syntax alone: digits with an optional point
 * (at least one digit), then an optional exponent (e or E, an optional
 * sign, digits); no sign, space, hex, inf or nan. Then *@out is its value,
 * or -1 when it does not fit a double (1e400, 1e-400): a number out of range.
 */
static int ca_seconds(const char *value, double *out)
{
	const char *p = ca_digits(value);
	size_t digits = (size_t)(p - value);
	if (*p == '.') {
		const char *frac = p + 1;
		p = ca_digits(frac);
		digits += (size_t)(p - frac);
	}
	if (!digits)
		return 0;
	if (*p == 'e' || *p == 'E') {
		p += p[1] == '+' || p[1] == '-' ? 2 : 1;
		const char *exp = p;
		p = ca_digits(exp);
		if (p == exp)
			return 0;
	}
	if (*p)
		return 0;
	errno = 0;
	*out = strtod(value, NULL);
	if (errno == ERANGE)
		*out = -1;
	return 1;
}

/*
 * -w takes an optional value. One attached to it (--wait=5, -w5) is always
 * its value, and must be seconds; the next word is its value only if it is
 * a number, and is otherwise the first resource (-w alone waits for ever).
 */
static int ca_wait_value(struct ca_args *a, char *value, int attached)
{
	a->wait = -1;
	if (!value)
		return 0;
	double v;
	int number = ca_seconds(value, &v);
	if (number && v >= 0 && v <= 1e9) {
		a->wait = v;
		free(value);
		return 0;
	}
	if (number || attached) {
		if (!*value)
			vl_error("--wait=: no seconds given; give --wait=SECONDS (0 to 1e9, for example "
				 "--wait=0.5), or -w alone to wait for ever");
		else
			vl_error("--wait %s: invalid seconds; give a number from 0 to 1e9, for example "
				 "--wait=0.5, or -w alone to wait for ever",
				 value);
		free(value);
		return VL_EXIT_USAGE;
	}
	char **extra = realloc(a->extra, (a->nextra + 1) * sizeof(*extra));
	if (!extra) {
		free(value);
		return VL_EXIT_OSERR;
	}
	a->extra = extra;
	a->extra[a->nextra++] = value;
	return 0;
}

/* Checks between options that popt cannot make. */
static int ca_check(const struct ca_args *a, const struct acquire_opts *o, const struct virlock_ctx *ctx)
{
	const char *problem = NULL;
	size_t empty = 0;
	while (empty < o->n && o->resources[empty][0])
		empty++;
	if (o->n == 0)
		problem = "no resource given; try 'virlock acquire --help'";
	else if (empty < o->n)
		problem = "an empty resource name; give a path or a lease name";
	else if (a->for_pid && o->command)
		problem = "--for-pid applies only without a command";
	else if (o->no_kill && !o->command)
		problem = "--no-kill applies only with a command after '--'";
	else if (a->on_lost_set && !o->command && !a->for_pid)
		problem = "--on-lost applies only with a command after '--' or --for-pid";
	else if (a->attach && (!a->owner || o->command || a->for_pid))
		problem = "--attach takes --owner LABEL, without a command or --for-pid";
	else if (ctx->direct && a->owner)
		problem = "--owner needs a lockspace directory, not --direct";
	else if (ctx->direct && !o->command && !o->for_pid)
		problem = "with --direct, give a command after '--' or --for-pid: nothing could release a "
			  "detached holder";
	if (problem) {
		vl_error("acquire: %s", problem);
		return VL_EXIT_USAGE;
	}
	int status = a->owner ? vl_check_label("--owner", a->owner) : 0;
	if (!status)
		status = vl_named_twice(o->resources, o->n, o->flags & LOCKSPACE_LITERAL, ctx->direct);
	if (status)
		return status;
	if (o->for_pid && kill(o->for_pid, 0) < 0 && errno == ESRCH) {
		vl_error("process %d: no such process; --for-pid needs a running process", (int)o->for_pid);
		return VL_EXIT_NOINPUT;
	}
	return 0;
}

/* A supervisor: claim the label first (waiting for it as for the locks), then the locks. */
static int ca_supervise(struct lockspace *ls, const struct acquire_opts *o)
{
	struct acquire_opts so = *o;
	int signo = 0;
	int err = o->owner ? acquire_wait_owner(ls, o->owner, &so.wait, &signo) : 0;
	if (err) {
		int status = acquire_report_owner(ls, o, err, signo);
		lockspace_close(ls);
		return status;
	}
	return supervisor_run(ls, &so);
}

/* The locks the record of holder @pid lists: all it holds, the hotplug's included. */
struct ca_count {
	pid_t pid;
	size_t n;
};

static int ca_count_record(const struct lockspace_record *rec, void *arg)
{
	struct ca_count *c = arg;
	if (rec->pid != c->pid)
		return 0;
	c->n = rec->nlocks;
	return 1;
}

/* How often an acquire looks up its label again because the holder it found
 * ended, or another acquire claimed the label first: each round either adds
 * to a live holder or starts one, so only a label that changes hands all the
 * time runs out of rounds. */
#define CA_ROUNDS 20

/*
 * Run the parsed request: hotplug into the live holder of the label, or a new
 * supervisor or holder. The kernel says who has a label (the lock on its
 * label file), not the records.
 */
static int ca_run(const struct virlock_ctx *ctx, const struct acquire_opts *o)
{
	for (int round = 1;; round++) {
		struct lockspace *ls = NULL;
		int status = vl_open_lockspace(ctx, &ls);
		if (status)
			return status;
		pid_t pid = 0;
		int err = o->owner ? lockspace_owner_pid(ls, o->owner, &pid) : -ENOENT;
		if (err == 0 && !o->command && !o->for_pid) {
			status = acquire_hotplug(ls, pid, o);
			struct ca_count count = {pid, 0};
			if (status == 0 && ctx->verbose &&
			    lockspace_records(ls, ca_count_record, &count) == 1)
				vl_verbose(ctx, "%zu lock%s now held by holder %d (owner %s)", count.n,
					   count.n == 1 ? "" : "s", (int)pid, o->owner);
			lockspace_close(ls);
			if (status != ACQUIRE_HOLDER_GONE)
				return status;
			vl_verbose(ctx,
				   "owner %s: holder %d ended before it took the resources; looking again",
				   o->owner, (int)pid);
		} else if (err == -ENOENT && o->attach) {
			vl_error("owner %s: no live holder; nothing was acquired; check the label "
				 "with 'virlock list', or leave out --attach to start a holder",
				 o->owner);
			lockspace_close(ls);
			return VL_EXIT_NOINPUT;
		} else if (err && err != -ENOENT) {
			vl_error("owner %s: holder records in %s: %s%s", o->owner, lockspace_dir(ls),
				 lockspace_strerror(err), vl_advice(err));
			lockspace_close(ls);
			return virlock_exit_code(err);
		} else if (o->command) {
			return ca_supervise(ls, o);
		} else {
			int in_holder;
			status = holder_run(ls, o, &in_holder);
			if (!in_holder && status == 0)
				vl_verbose(ctx, "%zu lock%s held by a detached holder", o->n,
					   o->n == 1 ? "" : "s");
			/* Another acquire started a holder of this label just before ours: add to it. */
			if (status != HOLDER_LABEL_TAKEN)
				return status;
		}
		if (round == CA_ROUNDS) {
			vl_error("owner %s: another holder had the label or ended at each of %d tries; "
				 "nothing was acquired; see 'virlock list', or try again",
				 o->owner, CA_ROUNDS);
			return o->conflict_exit;
		}
	}
}

int cmd_acquire(struct virlock_ctx *ctx, int argc, const char **argv)
{
	struct ca_args a = {.conflict = VL_EXIT_BUSY};
	int nkill = 0;
	struct poptOption options[] = {
		{"shared", 's', POPT_ARG_NONE, NULL, 's', "take shared (read) locks", NULL},
		{"exclusive", 'x', POPT_ARG_NONE, NULL, 'x', "take exclusive (write) locks (default)", NULL},
		{"nonblock", 'n', POPT_ARG_NONE, NULL, 'n', "fail at once if a resource is busy (default)",
		 NULL},
		{"wait", 'w', POPT_ARG_STRING | POPT_ARGFLAG_OPTIONAL, NULL, 'w',
		 "wait for busy resources, for ever or up to SECONDS", "SECONDS"},
		{"owner", 'o', POPT_ARG_STRING, NULL, 'o',
		 "label the holder; a live holder's label adds to it (without a command)", "LABEL"},
		{"attach", '\0', POPT_ARG_NONE, &a.attach, 0,
		 "only add to the live holder --owner names; fail if there is none", NULL},
		{"conflict-exit-code", 'E', POPT_ARG_STRING, NULL, 'E',
		 "exit status when busy, 1-255 (default 75)", "N"},
		{"literal", '\0', POPT_ARG_NONE, &a.literal, 0, "hash each resource as given, not as a path",
		 NULL},
		{"no-kill", '\0', POPT_ARG_NONE, &nkill, 0, "let COMMAND run on if virlock dies", NULL},
		{"for-pid", '\0', POPT_ARG_STRING, NULL, 'P', "release when process PID exits", "PID"},
		{"on-lost", '\0', POPT_ARG_STRING, NULL, 'L',
		 "if the locks are lost: kill (default), term, pause or ignore COMMAND (or PID)", "POLICY"},
		{"help", 'h', POPT_ARG_NONE, NULL, 'h', "show this help and exit", NULL},
		{"usage", '\0', POPT_ARG_NONE, NULL, 'u', "show a short usage message and exit", NULL},
		{"version", 'V', POPT_ARG_NONE, NULL, 'V', "show the version and exit", NULL},
		POPT_TABLEEND,
	};
	int split = 1;
	while (split < argc && strcmp(argv[split], "--") != 0)
		split++;
	/* popt names the program after argv[0] in --help and --usage. */
	const char **pargv = calloc((size_t)split + 1, sizeof(*pargv));
	if (!pargv)
		return VL_EXIT_OSERR;
	memcpy(pargv, argv, (size_t)split * sizeof(*pargv));
	pargv[0] = "virlock acquire";
	poptContext con = poptGetContext("virlock acquire", split, pargv, options, 0);
	poptSetOtherOptionHelp(con, "[OPTION...] RESOURCE... [-- COMMAND [ARG...]]");
	/* Which -w values were attached: those are always -w's. */
	unsigned char *attached = calloc((size_t)split, 1);
	size_t nattached =
		attached ? vl_popt_attached(options, 'w', split, pargv, attached, (size_t)split) : 0;
	int rc = 0, status = attached ? 0 : VL_EXIT_OSERR, nwait = 0;
	while (!status && (rc = poptGetNextOpt(con)) > 0) {
		if (rc == 'n') {
			a.wait = 0;
			a.wait_set = 0;
		} else if (rc == 's' || rc == 'x') {
			a.mode = rc == 's';
		} else if (rc == 'w') {
			int att = (size_t)nwait < nattached && attached[nwait];
			nwait++;
			a.wait_set = 1;
			status = ca_wait_value(&a, poptGetOptArg(con), att);
		} else if (rc == 'P') {
			char *value = poptGetOptArg(con);
			status = vl_parse_pid("--for-pid", value, &a.for_pid);
			free(value);
		} else if (rc == 'L') {
			char *value = poptGetOptArg(con);
			status = acquire_parse_on_lost(value ? value : "", &a.on_lost);
			a.on_lost_set = 1;
			free(value);
		} else if (rc == 'E') {
			char *value = poptGetOptArg(con);
			status = vl_parse_range("-E", value, 1, 255, "an exit status", &a.conflict);
			free(value);
		} else if (rc == 'o') {
			free(a.owner);
			a.owner = poptGetOptArg(con);
		} else if (rc == 'h') {
			vl_print_help(con, CA_SUMMARY, NULL);
			goto out;
		} else if (rc == 'u') {
			poptPrintUsage(con, stdout, 0);
			goto out;
		} else if (rc == 'V') {
			vl_print_version();
			goto out;
		}
	}
	if (!status && rc < -1) {
		vl_error("acquire: %s: %s; try 'virlock acquire --help'",
			 poptBadOption(con, POPT_BADOPTION_NOALIAS), poptStrerror(rc));
		status = VL_EXIT_USAGE;
	}
	if (status)
		goto out;

	const char **rest = poptGetArgs(con);
	size_t nrest = 0;
	while (rest && rest[nrest])
		nrest++;
	const char **resources = calloc(a.nextra + nrest + 1, sizeof(*resources));
	const char **in_argv = vl_args_in_argv(rest, nrest, split, argv);
	if (!resources || !in_argv) {
		free(resources);
		free(in_argv);
		status = VL_EXIT_OSERR;
		goto out;
	}
	for (size_t i = 0; i < a.nextra; i++)
		resources[i] = a.extra[i];
	if (nrest)
		memcpy(resources + a.nextra, in_argv, nrest * sizeof(*resources));
	free(in_argv);
	/* A holder may keep thousands of locks for hours: popt's copies of the
	 * command line go now. */
	poptFreeContext(con);
	con = NULL;
	free(pargv);
	pargv = NULL;
	struct acquire_opts o = {
		.flags = (a.mode ? LOCKSPACE_SHARED : 0) | (a.literal ? LOCKSPACE_LITERAL : 0),
		.wait = a.wait,
		.wait_given = a.wait,
		.wait_zero = a.wait_set && a.wait == 0,
		.owner = a.owner,
		.conflict_exit = a.conflict,
		.no_kill = nkill,
		.on_lost = a.on_lost,
		.for_pid = a.for_pid,
		.resources = resources,
		.n = a.nextra + nrest,
		.command = split < argc ? argv + split + 1 : NULL,
		.attach = a.attach,
		.quiet = ctx->quiet,
	};
	if (o.command && !o.command[0]) {
		vl_error("acquire: no command after '--'; try 'virlock acquire --help'");
		status = VL_EXIT_USAGE;
	}
	if (!status)
		status = ca_check(&a, &o, ctx);
	if (!status)
		status = ca_run(ctx, &o);
	free(resources);
out:
	for (size_t i = 0; i < a.nextra; i++)
		free(a.extra[i]);
	free(a.extra);
	free(a.owner);
	free(attached);
	poptFreeContext(con);
	free(pargv);
	return status;
}
