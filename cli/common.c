/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common.c: messages, the exit status map, and opening the lockspace. */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strutil.h"
#include "virlock.h"

/* Write all of @buf to stderr in one write(2) when the kernel allows it:
 * lines from several processes sharing a stderr must not interleave. */
static void write_stderr(const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(STDERR_FILENO, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/* Every message is one line, written whole: control characters from
 * resource names and labels are written as \xHH, as list writes them. */
static void vmessage(const char *fmt, va_list ap)
{
	static const char prefix[] = "virlock: ", oom[] = "virlock: out of memory\n";
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0) {
		write_stderr(oom, sizeof(oom) - 1);
		return;
	}
	/* Only control characters: a message quotes names as they are. */
	size_t len = sizeof(prefix) - 1 + vl_escape(NULL, msg, 0);
	char *line = malloc(len + 1);
	if (!line) {
		free(msg);
		write_stderr(oom, sizeof(oom) - 1);
		return;
	}
	char *q = stpcpy(line, prefix);
	q += vl_escape(q, msg, 0);
	*q++ = '\n';
	fflush(stderr); /* anything stdio holds for stderr goes first */
	write_stderr(line, (size_t)(q - line));
	free(line);
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

/* How to join the lockspace the command opened, as vl_check_joined() says it. */
static char join_advice[PATH_MAX + 64];

/* The default lockspace: $VIRLOCK_LOCKSPACE (the command's choice, not the
 * library's), else the library's default. */
int vl_default_dir(char **out)
{
	const char *env = getenv("VIRLOCK_LOCKSPACE");
	if (env && *env) {
		*out = strdup(env);
		return *out ? 0 : -ENOMEM;
	}
	return lockspace_default_dir(out);
}

void vl_join_advice(const char *dir)
{
	snprintf(join_advice, sizeof(join_advice),
		 "; join it with 'virlock -L %s init --backend sanlock --host-id N'", dir);
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
		return join_advice[0] ? join_advice
				      : "; join it with 'virlock -L DIR init --backend sanlock --host-id N'";
	case -ENOPKG:
		return "; install the sanlock client library and daemon (Debian: sanlock, "
		       "libsanlock-client1)";
	default:
		return "";
	}
}

long vl_self_host_id(struct lockspace *ls)
{
	unsigned id = 0;
	return lockspace_host_id(ls, &id) == 0 ? (long)id : 0;
}

int vl_check_joined(const char *cmd, struct lockspace *ls)
{
	unsigned id;
	if (lockspace_host_id(ls, &id) != -ENOTCONN)
		return 0; /* other errors are the command's to report, where it meets them */
	vl_error("%s: this host has not joined sanlock lockspace %s (it holds nothing there); join it "
		 "with 'virlock -L %s init --backend sanlock --host-id N'",
		 cmd, lockspace_dir(ls), lockspace_dir(ls));
	return virlock_exit_code(-ENOTCONN);
}

void vl_host_text(char *buf, size_t len, const struct lockspace_holder *h)
{
	if (h->host_name)
		snprintf(buf, len, "host %u (%s)", h->host_id, h->host_name);
	else
		snprintf(buf, len, "host %u", h->host_id);
}

int vl_resource_error(const char *res, int err)
{
	switch (err) {
	case -ENOENT:
		vl_error("%s: no such file; give an existing path, or --literal for a string resource", res);
		return VL_EXIT_NOINPUT;
	case -ENOTDIR:
		vl_error("%s: no such file: a component of the path is not a directory; give an existing "
			 "path, or --literal for a string resource",
			 res);
		return VL_EXIT_NOINPUT;
	case -ELOOP:
		vl_error("%s: a symbolic link loop in the path; check the links it goes through", res);
		return VL_EXIT_NOINPUT;
	default:
		vl_error("%s: %s%s", res, lockspace_strerror(err), vl_advice(err));
		return virlock_exit_code(err);
	}
}

int vl_lockspace_error(const char *cmd, const char *dir, int err)
{
	struct stat st;
	/* A file on the way to the directory is a path that does not resolve (66);
	 * the lockspace itself a file is another matter (71). */
	if (err == -ENOTDIR && stat(dir, &st) < 0 && errno == ENOTDIR) {
		vl_error("%slockspace %s: no such directory: a component of the path is not a directory; "
			 "check the path",
			 cmd, dir);
		return VL_EXIT_NOINPUT;
	}
	const char *advice = vl_advice(err);
	if (err == -ENOENT)
		advice = "; create its parent directory first";
	else if (err == -ELOOP)
		advice = "; check the links it goes through for a loop";
	else if (err == -ENOTDIR)
		advice = "; give a directory, or a path that does not exist yet";
	vl_error("%slockspace %s: %s%s", cmd, dir, lockspace_strerror(err), advice);
	/* A path that does not resolve is a bad argument, not a corrupt lock file. */
	return err == -ELOOP ? VL_EXIT_NOINPUT : virlock_exit_code(err);
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

/* Say why the holder records directory of the lockspace @dir (mode @st) does not fit it. */
static void unfit_holders(const char *cmd, const char *dir, const struct stat *st)
{
	char *holders = NULL;
	struct stat hst;
	if (asprintf(&holders, "%s/%s", dir, LOCKSPACE_HOLDERS_DIR) < 0 || lstat(holders, &hst) < 0) {
		vl_error("%slockspace %s: unsafe ownership or mode; check it and its %s", cmd, dir,
			 LOCKSPACE_HOLDERS_DIR);
		free(holders);
		return;
	}
	if ((st->st_mode & (S_ISGID | S_IWGRP)) == (S_ISGID | S_IWGRP)) {
		const struct group *gr = getgrgid(st->st_gid);
		char gid[24];
		snprintf(gid, sizeof(gid), "%u", (unsigned)st->st_gid);
		vl_error(
			"%sholder records %s: uid %u, gid %u, mode %04o (left by an earlier run?) do not fit "
			"the group lockspace; when no holder runs, remove it (rm -r %s) or run 'chgrp %s %s "
			"&& chmod 2770 %s'",
			cmd, holders, (unsigned)hst.st_uid, (unsigned)hst.st_gid,
			(unsigned)(hst.st_mode & 07777), holders, gr ? gr->gr_name : gid, holders, holders);
	} else {
		vl_error("%sholder records %s: uid %u, mode %04o (left by an earlier run?) do not fit the "
			 "lockspace; when no holder runs, remove it (rm -r %s) or give it to the lockspace's "
			 "owner with mode 0700",
			 cmd, holders, (unsigned)hst.st_uid, (unsigned)(hst.st_mode & 07777), holders);
	}
	free(holders);
}

void vl_unsafe_lockspace(const char *cmd, const char *dir)
{
	struct stat st;
	if (stat(dir, &st) < 0)
		vl_error("%slockspace %s: unsafe ownership or mode; use a private (0700) or group (setgid "
			 "2770) directory",
			 cmd, dir);
	else if (st.st_mode & S_IWOTH)
		vl_error("%slockspace %s: world-writable; use a private (0700) or group (setgid 2770) "
			 "directory",
			 cmd, dir);
	else if (st.st_uid != 0 && st.st_uid != geteuid())
		vl_error("%slockspace %s: owned by another user; use a directory of your own, or root's", cmd,
			 dir);
	else if ((st.st_mode & S_IWGRP) && !(st.st_mode & S_ISGID))
		vl_error("%slockspace %s: group-writable without the setgid bit; make it setgid (chmod 2770 "
			 "%s) or private (chmod 0700 %s)",
			 cmd, dir, dir, dir);
	else
		unfit_holders(cmd, dir, &st);
}

static int open_lockspace(const struct virlock_ctx *ctx, struct lockspace **ls, char **missing)
{
	char *dir = NULL;
	unsigned flags = missing ? LOCKSPACE_OPEN_NOCREATE : 0;
	int err;
	*ls = NULL;
	if (missing)
		*missing = NULL;
	if (vl_hash)
		flags |= LOCKSPACE_OPEN_SHA256;
	if (ctx->direct)
		return virlock_exit_code(lockspace_open(NULL, flags & LOCKSPACE_OPEN_SHA256, ls));
	if (!ctx->lockspace) {
		err = vl_default_dir(&dir);
		if (err < 0) {
			vl_error("default lockspace: %s", lockspace_strerror(err));
			return virlock_exit_code(err);
		}
		if (!missing)
			flags |= LOCKSPACE_OPEN_PARENTS;
	}
	const char *name = ctx->lockspace ? ctx->lockspace : dir;
	err = lockspace_open(name, flags, ls);
	if (err == 0)
		vl_join_advice(lockspace_dir(*ls));
	/* A lockspace not made yet is empty; a -L whose parent is missing too is
	 * more likely a mistyped path, and is an error as for acquire. */
	if (err == -ENOENT && missing && (dir || parent_exists(name))) {
		*missing = dir ? dir : strdup(name);
		if (*missing)
			return VL_EXIT_OK;
		err = -ENOMEM;
	}
	int status = virlock_exit_code(err);
	if (err == -EOPNOTSUPP && vl_hash) {
		/* Only fcntl lockspaces take SHA-256 names (lockspace_open()). */
		vl_error("lockspace %s: --hash sha256 is for fcntl lockspaces, as virtlockd's; a sanlock "
			 "lockspace names its leases by MD5: leave --hash out",
			 name);
		status = VL_EXIT_USAGE;
	} else if (err == -EPERM)
		vl_unsafe_lockspace("", name);
	else if (err < 0)
		status = vl_lockspace_error("", name, err);
	free(dir);
	return status;
}

int vl_lockspace_open(const struct virlock_ctx *ctx, struct lockspace **ls, char **missing)
{
	if (ctx->cmd->lockspace == VL_LOCKSPACE_CREATE)
		return open_lockspace(ctx, ls, NULL);
	return open_lockspace(ctx, ls, missing);
}

struct vl_canon {
	char *path; /* canonical, NULL when it does not resolve (reported later) */
	size_t index;
};

static int canon_cmp(const void *x, const void *y)
{
	const struct vl_canon *a = x, *b = y;
	int c = strcmp(a->path ? a->path : "", b->path ? b->path : "");
	return c ? c : (a->index > b->index) - (a->index < b->index);
}

int vl_named_twice(const char *const *res, size_t n, unsigned literal, int direct)
{
	if (n < 2)
		return 0;
	struct vl_canon *c = calloc(n, sizeof(*c));
	if (!c)
		return VL_EXIT_OSERR;
	for (size_t i = 0; i < n; i++) {
		c[i].index = i;
		if (lockspace_canonical(res[i], (literal ? LOCKSPACE_LITERAL : 0) | vl_hash, &c[i].path) < 0)
			c[i].path = NULL;
		struct stat st;
		char id[64];
		if (direct && c[i].path && stat(c[i].path, &st) == 0) {
			/* The file's identity, not its name: "/" never starts a path. */
			snprintf(id, sizeof(id), "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
			free(c[i].path);
			c[i].path = strdup(id);
		}
	}
	qsort(c, n, sizeof(*c), canon_cmp);
	/* The first repeat in the order given, and the one it repeats. */
	size_t first = n, again = n;
	for (size_t i = 1; i < n; i++)
		if (c[i].path && c[i - 1].path && strcmp(c[i].path, c[i - 1].path) == 0 &&
		    (i < 2 || !c[i - 2].path || strcmp(c[i - 2].path, c[i].path) != 0) &&
		    c[i].index < again) {
			first = c[i - 1].index;
			again = c[i].index;
		}
	for (size_t i = 0; i < n; i++)
		free(c[i].path);
	free(c);
	if (again == n)
		return 0;
	vl_error("%s: names the same resource as %s; name it once", res[again], res[first]);
	return VL_EXIT_USAGE;
}
