/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cmd_hash.c: virlock hash, the lock file name of each resource, one a line. */
#include <errno.h>
#include <stdlib.h>

#include "output.h"
#include "virlock.h"

static const char summary[] = "Print the lock file name (MD5 of the canonical path) of each resource.";

int cmd_hash(struct virlock_ctx *ctx, int argc, const char **argv)
{
	int literal = 0;
	struct poptOption options[] = {
		{"literal", '\0', POPT_ARG_NONE, &literal, 0, "hash each RESOURCE as a string, not a path",
		 NULL},
		VL_POPT_STANDARD,
		POPT_TABLEEND,
	};
	struct vl_popt p;
	int status = VL_EXIT_USAGE;

	(void)ctx; /* a name does not depend on the lockspace, which is not even opened */
	if (vl_popt_start(&p, argc, argv, options, "[OPTION...] RESOURCE...") < 0)
		return VL_EXIT_OSERR;
	int rc = poptGetNextOpt(p.con);
	if (rc != -1) {
		status = vl_popt_common(&p, rc, summary, NULL);
		goto out;
	}
	int nargs;
	const char **args = vl_popt_args(&p, &nargs);
	if (nargs == 0) {
		vl_error("hash: no resource given; try 'virlock hash --help'");
		goto out;
	}
	/* Like md5sum: print the names that can be computed, fail for the others. */
	status = VL_EXIT_OK;
	for (int i = 0; i < nargs; i++) {
		char name[LOCKSPACE_NAME_LEN + 1];
		int err = lockspace_name(args[i], literal ? LOCKSPACE_LITERAL : 0, name);
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
	status = vl_finish_stdout(status);
out:
	vl_popt_end(&p);
	return status;
}
