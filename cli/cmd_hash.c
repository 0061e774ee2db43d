/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cmd_hash.c: virlock hash, the lock file name of each resource, one a line. */
#include <errno.h>
#include <stdlib.h>

#include "output.h"
#include "virlock.h"

static int literal;

static struct poptOption options[] = {
	{"literal", '\0', POPT_ARG_NONE, &literal, 0, "hash each RESOURCE as a string, not a path", NULL},
	VL_POPT_STANDARD,
	POPT_TABLEEND,
};

/* A name does not depend on the lockspace, which is not even opened. */
static int run(struct virlock_ctx *ctx, int nargs, const char **args)
{
	(void)ctx;
	if (nargs == 0) {
		vl_error("hash: no resource given; try 'virlock hash --help'");
		return VL_EXIT_USAGE;
	}
	/* Like md5sum: print the names that can be computed, fail for the others. */
	int status = VL_EXIT_OK;
	for (int i = 0; i < nargs; i++) {
		char name[LOCKSPACE_NAME_LEN + 1];
		int err = lockspace_name(args[i], (literal ? LOCKSPACE_LITERAL : 0) | vl_hash, name);
		if (err < 0) {
			fflush(stdout); /* keep the names and the errors in order on a terminal */
			int s = VL_EXIT_USAGE;
			if (err == -EINVAL) /* the only name lockspace_name() refuses so, here */
				vl_error("hash: an empty resource name; give a path or a lease name with "
					 "--literal");
			else
				s = vl_resource_error(args[i], err);
			if (status == VL_EXIT_OK)
				status = s;
			continue;
		}
		puts(name);
	}
	return status;
}

const struct virlock_cmd vl_cmd_hash = {
	.name = "hash",
	.summary = "print the lock file name of each resource",
	.help = "Print the lock file name (MD5 of the canonical path; with --hash sha256, SHA-256 of the "
		"path as spelled) of each resource.",
	.usage = "[OPTION...] RESOURCE...",
	.options = options,
	.lockspace = VL_LOCKSPACE_NONE,
	.run = run,
};
