/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cmd_init.c: virlock init, making a lockspace directory explicitly (fcntl backend). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "output.h"
#include "virlock.h"

static const char summary[] = "Make a lockspace explicitly (its first use makes an fcntl one implicitly).";

int cmd_init(struct virlock_ctx *ctx, int argc, const char **argv)
{
	int host_id = 0, host_id_given = 0;
	char *backend = NULL, *dir = NULL;
	struct poptOption options[] = {
		{"backend", '\0', POPT_ARG_STRING, NULL, 'b', "lock backend: fcntl (default) or sanlock",
		 "BACKEND"},
		{"host-id", '\0', POPT_ARG_INT, &host_id, 'H',
		 "this host's id in a sanlock lockspace (1-2000)", "N"},
		VL_POPT_STANDARD,
		POPT_TABLEEND,
	};
	struct vl_popt p;
	struct lockspace *ls = NULL;
	int status = VL_EXIT_USAGE;

	if (vl_popt_start(&p, argc, argv, options, "[OPTION...]") < 0)
		return VL_EXIT_OSERR;
	int rc;
	while ((rc = poptGetNextOpt(p.con)) > 0) {
		if (rc == 'b') {
			free(backend);
			backend = poptGetOptArg(p.con);
		} else if (rc == 'H') {
			host_id_given = 1;
		} else {
			status = vl_popt_common(&p, rc, summary, NULL);
			goto out;
		}
	}
	if (rc < -1) {
		status = vl_popt_common(&p, rc, summary, NULL);
		goto out;
	}
	int nargs;
	const char **args = vl_popt_args(&p, &nargs);
	if (nargs > 0) {
		vl_error("init: %s: unexpected argument; name the directory with 'virlock -L DIR init'",
			 args[0]);
		goto out;
	}
	if (backend && strcmp(backend, "sanlock") == 0) {
		vl_error("init: --backend sanlock: not supported yet; use the fcntl backend (the default), "
			 "on a cluster filesystem to share it between hosts");
		goto out;
	}
	if (backend && strcmp(backend, "fcntl") != 0) {
		vl_error("init: --backend %s: unknown backend; give fcntl or sanlock", backend);
		goto out;
	}
	if (host_id_given) {
		vl_error("init: --host-id %d: only a sanlock lockspace has host ids; drop it for fcntl",
			 host_id);
		goto out;
	}
	if (ctx->direct) {
		vl_error("init: --direct uses no lockspace to make; give -L DIR or drop --direct");
		goto out;
	}

	const char *name = ctx->lockspace;
	if (!name) {
		int err = lockspace_default_dir(&dir);
		if (err < 0) {
			vl_error("init: default lockspace: %s", lockspace_strerror(err));
			status = virlock_exit_code(err);
			goto out;
		}
		name = dir;
	}
	struct stat st;
	int existed = stat(name, &st) == 0 && S_ISDIR(st.st_mode);
	int err = lockspace_open(name, LOCKSPACE_OPEN_PARENTS, &ls);
	if (err < 0) {
		const char *advice = vl_advice(err);
		if (err == -EPERM)
			advice = "; a lockspace must not be world-writable without the sticky bit, "
				 "nor owned by another user";
		else if (err == -ENOTDIR)
			advice = "; give a directory, or a path that does not exist yet";
		vl_error("init: lockspace %s: %s%s", name, lockspace_strerror(err), advice);
		status = virlock_exit_code(err);
		goto out;
	}
	if (!ctx->quiet) {
		fputs(existed ? "lockspace " : "created fcntl lockspace ", stdout);
		vl_print_safe(stdout, lockspace_dir(ls));
		fputs(existed ? " exists already\n" : "\n", stdout);
	}
	status = vl_finish_stdout(VL_EXIT_OK);
out:
	lockspace_close(ls);
	vl_popt_end(&p);
	free(backend);
	free(dir);
	return status;
}
