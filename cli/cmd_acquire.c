/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cmd_acquire.c: virlock acquire: options, then a supervisor, a detached holder or a hotplug. */
#include <errno.h>
#include <popt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "acquire_common.h"
#include "options.h"
#include "acquire_hotplug.h"
#include "acquire_wait.h"
#include "holder.h"
#include "supervisor.h"

struct ca_args {
	int mode; /* 0 exclusive, 1 shared */
	int literal;
	int no_image_check;
	int no_kill;
	int on_lost;
	int on_lost_set;
	pid_t for_pid;
	int conflict;
	int attach;
	char *owner;
	char *expect_state;
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
	else if (ctx->direct && a->expect_state)
		problem = "--expect-state needs a lockspace directory, not --direct";
	else if (ctx->direct && a->owner)
		problem = "--owner needs a lockspace directory, not --direct";
	else if (ctx->direct && !o->command && !o->for_pid)
		problem = "with --direct, give a command after '--' or --for-pid: nothing could release a "
			  "detached holder";
	if (problem) {
		vl_error("acquire: %s", problem);
		return VL_EXIT_USAGE;
	}
	struct lockspace_handoff_item *items = NULL;
	size_t nitems = 0;
	/* A token of either kind of lockspace is well formed: the lockspace, open later, tells which. */
	if (a->expect_state &&
	    lockspace_handoff_parse(LOCKSPACE_BACKEND_FCNTL, a->expect_state, &items, &nitems) == -EINVAL) {
		vl_error("acquire: --expect-state: not a hand-off token; give the line 'virlock release "
			 "--handoff' printed");
		return VL_EXIT_USAGE;
	}
	free(items);
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

static uint64_t *ca_states; /* of --expect-state, once the lockspace is open */

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
static int ca_run(const struct virlock_ctx *ctx, const struct acquire_opts *given)
{
	struct acquire_opts eo = *given; /* with the states of --expect-state, once known */
	const struct acquire_opts *o = &eo;
	for (int round = 1;; round++) {
		struct lockspace *ls = NULL;
		int status = vl_lockspace_open(ctx, &ls, NULL);
		if (status)
			return status;
		pid_t pid = 0;
		int err = o->owner ? lockspace_owner_pid(ls, o->owner, &pid) : -ENOENT;
		if (o->expect_state && err == 0 && !o->command && !o->for_pid) {
			vl_error("acquire: --expect-state: owner %s has a live holder; a hand-off starts a "
				 "holder of its own, not an addition to one",
				 o->owner);
			lockspace_close(ls);
			return VL_EXIT_USAGE;
		}
		if (o->expect_state && !ca_states &&
		    (status = acquire_expect_states(ls, o, &ca_states)) != 0) {
			lockspace_close(ls);
			return status;
		}
		eo.states = ca_states;
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
			acquire_tell_wait(ls, o);
			return ca_supervise(ls, o);
		} else {
			int in_holder;
			acquire_tell_wait(ls, o);
			acquire_tell_image(o);
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

static struct ca_args a = {.conflict = VL_EXIT_BUSY};
static int nkill;
/* Which -w values were attached ("-w5", "--wait=5"): those are always -w's. */
static unsigned char *attached;
static size_t nattached, nwait;

static struct poptOption options[] = {
	{"shared", 's', POPT_ARG_NONE, NULL, 's', "take shared (read) locks", NULL},
	{"exclusive", 'x', POPT_ARG_NONE, NULL, 'x', "take exclusive (write) locks (default)", NULL},
	{"nonblock", 'n', POPT_ARG_NONE, NULL, 'n', "fail at once if a resource is busy (default)", NULL},
	{"wait", 'w', POPT_ARG_STRING | POPT_ARGFLAG_OPTIONAL, NULL, 'w',
	 "wait for busy resources, for ever or up to SECONDS", "SECONDS"},
	{"owner", 'o', POPT_ARG_STRING, NULL, 'o',
	 "label the holder; a live holder's label adds to it (without a command)", "LABEL"},
	{"attach", '\0', POPT_ARG_NONE, &a.attach, 0,
	 "only add to the live holder --owner names; fail if there is none", NULL},
	{"conflict-exit-code", 'E', POPT_ARG_STRING, NULL, 'E', "exit status when busy, 1-255 (default 75)",
	 "N"},
	{"literal", '\0', POPT_ARG_NONE, &a.literal, 0, "hash each resource as given, not as a path", NULL},
	{"no-image-check", '\0', POPT_ARG_NONE, &a.no_image_check, 0,
	 "take the locks even if another program (QEMU) visibly uses the image", NULL},
	{"no-kill", '\0', POPT_ARG_NONE, &nkill, 0, "let COMMAND run on if virlock dies", NULL},
	{"expect-state", '\0', POPT_ARG_STRING, NULL, 'S',
	 "take them only if still as 'virlock release --handoff' left them (its TOKEN)", "TOKEN"},
	{"for-pid", '\0', POPT_ARG_STRING, NULL, 'P', "release when process PID exits", "PID"},
	{"on-lost", '\0', POPT_ARG_STRING, NULL, 'L',
	 "if the locks are lost: kill (default), term, pause or ignore COMMAND (or PID)", "POLICY"},
	VL_POPT_STANDARD,
	POPT_TABLEEND,
};

static int option(struct virlock_ctx *ctx, int val, char *arg)
{
	int status = 0;
	switch (val) {
	case 'n':
		a.wait = 0;
		a.wait_set = 0;
		break;
	case 's':
	case 'x':
		a.mode = val == 's';
		break;
	case 'w': {
		if (!attached) {
			attached = calloc((size_t)ctx->argc, 1);
			if (!attached) {
				free(arg);
				return VL_EXIT_OSERR;
			}
			nattached = vl_popt_attached(options, 'w', ctx->argc, ctx->argv, attached,
						     (size_t)ctx->argc);
		}
		int att = nwait < nattached && attached[nwait];
		nwait++;
		a.wait_set = 1;
		return ca_wait_value(&a, arg, att);
	}
	case 'P':
		status = vl_parse_pid("--for-pid", arg, &a.for_pid);
		break;
	case 'L':
		status = acquire_parse_on_lost(arg ? arg : "", &a.on_lost);
		a.on_lost_set = 1;
		break;
	case 'E':
		status = vl_parse_range("-E", arg, 1, 255, "an exit status", &a.conflict);
		break;
	case 'o':
		free(a.owner);
		a.owner = arg;
		return 0;
	case 'S':
		free(a.expect_state);
		free(ca_states);
		a.expect_state = arg;
		return 0;
	}
	free(arg);
	return status;
}

static int run(struct virlock_ctx *ctx, int nrest, const char **rest)
{
	int status = 0;
	const char **resources = calloc(a.nextra + (size_t)nrest + 1, sizeof(*resources));
	if (!resources)
		return VL_EXIT_OSERR;
	for (size_t i = 0; i < a.nextra; i++)
		resources[i] = a.extra[i];
	if (nrest)
		memcpy(resources + a.nextra, rest, (size_t)nrest * sizeof(*resources));
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
		.n = a.nextra + (size_t)nrest,
		.command = ctx->after_dashes,
		.attach = a.attach,
		.quiet = ctx->quiet,
		.tell_wait = !ctx->quiet && (ctx->verbose || isatty(STDERR_FILENO)),
		.no_image_check = a.no_image_check,
		.expect_state = a.expect_state,
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
	return status;
}

/* What the options kept. */
static void end(void)
{
	for (size_t i = 0; i < a.nextra; i++)
		free(a.extra[i]);
	free(a.extra);
	free(a.owner);
	free(a.expect_state);
	free(attached);
}

const struct virlock_cmd vl_cmd_acquire = {
	.name = "acquire",
	.summary = "take locks, around a command or in a detached holder",
	.help = "Take locks: around COMMAND, or in a detached holder that keeps them until 'virlock "
		"release'.",
	.usage = "[OPTION...] RESOURCE... [-- COMMAND [ARG...]]",
	.options = options,
	.lockspace = VL_LOCKSPACE_CREATE,
	.dashes = 1,
	.option = option,
	.run = run,
	.end = end,
};
