/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common.c: messages, the exit status map, and opening the lockspace. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "virlock.h"

/* Every message is one line: control characters from resource names and
 * labels are written as \xHH, as list writes them. */
static void vmessage(const char *fmt, va_list ap)
{
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0) {
		fputs("virlock: out of memory\n", stderr);
		return;
	}
	fputs("virlock: ", stderr);
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			fprintf(stderr, "\\x%02x", *p);
		else
			fputc(*p, stderr);
	}
	fputc('\n', stderr);
	free(msg);
}

void vl_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
}

void vl_verbose(const struct virlock_ctx *ctx, const char *fmt, ...)
{
	if (!ctx->verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
}

int virlock_exit_code(int err)
{
	switch (err) {
	case 0:
		return VL_EXIT_OK;
	case -EBUSY:
	case -ETIMEDOUT:
	case -EAGAIN:
	case -EDEADLK:
		return VL_EXIT_BUSY;
	case -ENOENT:
	case -ESRCH:
		return VL_EXIT_NOINPUT;
	case -EINVAL:
	case -ENAMETOOLONG:
		return VL_EXIT_USAGE;
	case -EBADMSG:
	case -ELOOP: /* a lock file planted as a link; a resource path's is vl_resource_error()'s */
	case -ENODATA:
		return VL_EXIT_DATAERR;
	case -EACCES:
	case -EPERM:
	case -EROFS:
		return VL_EXIT_NOPERM;
	default:
		return VL_EXIT_OSERR;
	}
}

const char *vl_advice(int err)
{
	switch (err) {
	case -EBUSY:
		return "; see 'virlock inspect' for its holder, or wait with -w";
	case -ETIMEDOUT:
		return "; see 'virlock inspect' for its holder";
	case -EBADMSG:
		return "; check the lock file with 'virlock inspect' and remove it if no one holds it";
	case -EACCES:
	case -EPERM:
		return "; check its owner and mode, or run as its owner";
	case -EMFILE:
		return "; raise the open files limit (ulimit -n)";
	case -ENOENT:
		return "; check the path (give --literal for a lease name that is not a file)";
	case -ELOOP:
		return "; a lock file must not be a symbolic link: check it with 'virlock inspect'";
	case -ECONNREFUSED:
		return "; start it first: 'sanlock daemon' (with wdmd for fencing; 'sanlock daemon -w 0' "
		       "runs without a watchdog, for tests only)";
	case -ENOTCONN:
		return "; join it with 'virlock init --backend sanlock --host-id N'";
	case -ENOPKG:
		return "; install the sanlock client library and daemon (Debian: sanlock, "
		       "libsanlock-client1)";
	default:
		return "";
	}
}

int vl_resource_error(const char *res, int err)
{
	switch (err) {
	case -ENOENT:
	case -ENOTDIR:
		vl_error("%s: no such file; give an existing path, or --literal for a string resource", res);
		return VL_EXIT_NOINPUT;
	case -ELOOP:
		vl_error("%s: a symbolic link loop in the path; check the links it goes through", res);
		return VL_EXIT_NOINPUT;
	default:
		vl_error("%s: %s%s", res, lockspace_strerror(err), vl_advice(err));
		return virlock_exit_code(err);
	}
}

/* Does the directory that would hold @path exist? */
static int parent_exists(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return 0;
	size_t len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	char *slash = strrchr(copy, '/');
	const char *parent = !slash ? "." : slash == copy ? "/" : (*slash = '\0', copy);
	struct stat st;
	int ok = stat(parent, &st) == 0 && S_ISDIR(st.st_mode);
	free(copy);
	return ok;
}

static int open_lockspace(const struct virlock_ctx *ctx, struct lockspace **ls, char **missing)
{
	char *dir = NULL;
	unsigned flags = missing ? LOCKSPACE_OPEN_NOCREATE : 0;
	int err;
	*ls = NULL;
	if (missing)
		*missing = NULL;
	if (ctx->direct)
		return virlock_exit_code(lockspace_open(NULL, 0, ls));
	if (!ctx->lockspace) {
		err = lockspace_default_dir(&dir);
		if (err < 0) {
			vl_error("default lockspace: %s", lockspace_strerror(err));
			return virlock_exit_code(err);
		}
		if (!missing)
			flags |= LOCKSPACE_OPEN_PARENTS;
	}
	const char *name = ctx->lockspace ? ctx->lockspace : dir;
	err = lockspace_open(name, flags, ls);
	/* A lockspace not made yet is empty; a -L whose parent is missing too is
	 * more likely a mistyped path, and is an error as for acquire. */
	if (err == -ENOENT && missing && (dir || parent_exists(name))) {
		*missing = dir ? dir : strdup(name);
		if (*missing)
			return VL_EXIT_OK;
		err = -ENOMEM;
	}
	if (err < 0) {
		const char *advice = vl_advice(err);
		if (err == -EPERM)
			advice = "; a lockspace must not be world-writable without the sticky bit, "
				 "nor owned by another user";
		else if (err == -ENOENT)
			advice = "; create its parent directory first";
		else if (err == -ELOOP)
			advice = "; check the links it goes through for a loop";
		vl_error("lockspace %s: %s%s", name, lockspace_strerror(err), advice);
	}
	free(dir);
	/* A path that does not resolve is a bad argument, not a corrupt lock file. */
	return err == -ELOOP ? VL_EXIT_NOINPUT : virlock_exit_code(err);
}

int vl_open_lockspace(const struct virlock_ctx *ctx, struct lockspace **ls)
{
	return open_lockspace(ctx, ls, NULL);
}

int vl_open_existing_lockspace(const struct virlock_ctx *ctx, struct lockspace **ls, char **missing)
{
	return open_lockspace(ctx, ls, missing);
}
