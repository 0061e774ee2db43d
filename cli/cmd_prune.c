/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cmd_prune.c: virlock prune, removing free lock files and stale holder records. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "virlock.h"

struct prune_run {
	int verbose;
	int dry_run;
	const char *dir; /* the lockspace's, as the library spells it in paths */
	int lockfiles, records;
	int status; /* of the first file kept because it could not be judged */
};

static void prune_cb(const char *what, int err, void *arg)
{
	struct prune_run *pr = arg;
	if (err) {
		/* That file's problem: said, kept, and the prune goes on. */
		const char *base = strrchr(what, '/') ? strrchr(what, '/') + 1 : what;
		const char *why = err == -EBADMSG ? "not a lock file or lease of this lockspace"
						  : lockspace_strerror(err);
		fflush(stdout);
		if (lockspace_valid_name(base))
			vl_error("prune: %s: %s; kept: check it with 'virlock inspect %s' and remove it once "
				 "no one uses that resource",
				 what, why, base);
		else
			vl_error("prune: %s: %s; kept: remove it once no holder uses it", what, why);
		if (!pr->status)
			pr->status = virlock_exit_code(err);
		return;
	}
	/* Lock files lie in the lockspace directory itself; what the library
	 * keeps of its holders lies deeper, wherever it keeps it. */
	size_t dlen = strlen(pr->dir);
	if (strncmp(what, pr->dir, dlen) == 0 && what[dlen] == '/' && strchr(what + dlen + 1, '/'))
		pr->records++;
	else
		pr->lockfiles++;
	if (pr->verbose) {
		fputs(pr->dry_run ? "would remove " : "removed ", stdout);
		vl_print_safe(stdout, what);
		putchar('\n');
	}
}

static int dry_run, quiet, verbose;

static struct poptOption options[] = {
	{"dry-run", '\0', POPT_ARG_NONE, &dry_run, 0, "remove nothing, say what would be removed", NULL},
	{"quiet", 'q', POPT_ARG_NONE, &quiet, 0, "print nothing but errors", NULL},
	{"verbose", 'v', POPT_ARG_NONE, &verbose, 0, "print each file removed (or that would be)", NULL},
	VL_POPT_STANDARD,
	POPT_TABLEEND,
};

static int run(struct virlock_ctx *ctx, int nargs, const char **args)
{
	struct lockspace *ls = NULL;
	char *missing = NULL;
	struct prune_run pr = {0};
	int status;

	if (nargs > 0) {
		vl_error("prune: %s: unexpected argument; prune takes no resources", args[0]);
		return VL_EXIT_USAGE;
	}
	/* -q and -v work before the command, as global options, and after it. */
	quiet = quiet || ctx->quiet;
	pr.verbose = (verbose || ctx->verbose) && !quiet;
	pr.dry_run = dry_run;
	status = vl_lockspace_open(ctx, &ls, &missing);
	if (status != VL_EXIT_OK)
		goto out;
	/* A lockspace that does not exist has nothing to prune: none is made. */
	pr.dir = ls ? lockspace_dir(ls) : "";
	int n = ls ? lockspace_prune_files(ls, dry_run ? LOCKSPACE_DRY_RUN : 0, prune_cb, &pr) : 0;
	if (n < 0) {
		fflush(stdout);
		vl_error("prune %s: %s%s", lockspace_dir(ls), lockspace_strerror(n), vl_advice(n));
		status = virlock_exit_code(n);
		goto out;
	}
	if (!quiet)
		printf("%s %d free lock file%s and %d stale holder file%s\n",
		       dry_run ? "would remove" : "removed", pr.lockfiles, pr.lockfiles == 1 ? "" : "s",
		       pr.records, pr.records == 1 ? "" : "s");
	status = pr.status ? pr.status : VL_EXIT_OK;
out:
	lockspace_close(ls);
	free(missing);
	return status;
}

const struct virlock_cmd vl_cmd_prune = {
	.name = "prune",
	.summary = "remove free lock files and stale holder records",
	.help = "Remove free lock files and stale holder records, safely against acquirers.",
	.usage = "[OPTION...]",
	.options = options,
	.lockspace = VL_LOCKSPACE_EXISTING,
	.no_direct = "--direct has no lockspace to prune; give -L DIR or drop --direct",
	.run = run,
};
