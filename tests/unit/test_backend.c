/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_backend.c: the backend a lockspace records, lockspace_init() and lockspace_leave() without a daemon.
 */
#include "testlib.h"

static int open_status(const char *dir)
{
	struct lockspace *ls = NULL;
	int rc = lockspace_open(dir, LOCKSPACE_OPEN_NOCREATE, &ls);
	lockspace_close(ls);
	return rc;
}

static void test_fcntl(void)
{
	char dir[PATH_MAX], p[PATH_MAX];
	struct lockspace *ls = NULL;

	tu_join(dir, tu_scratch_dir, "plain");
	is_int(lockspace_open(dir, 0, &ls), 0, "a new lockspace opens");
	is_str(lockspace_backend(ls), "fcntl", "without .backend it is fcntl");
	is_int(lockspace_acquire(ls, "watched", LOCKSPACE_LITERAL), 0, "an fcntl lock is taken");
	is_int(lockspace_watch_fd(ls), -ENOENT, "fcntl: nothing to watch (-ENOENT)");
	is_int(lockspace_lost(ls, getppid()), 0, "fcntl: a lock is never lost while the process lives");
	lockspace_close(ls);
	is_int(lockspace_watch_fd(NULL), -EINVAL, "lockspace_watch_fd(NULL): -EINVAL");
	is_int(lockspace_lost(NULL, 0), -EINVAL, "lockspace_lost(NULL): -EINVAL");
	is_str(lockspace_backend(NULL), "fcntl", "lockspace_backend(NULL) is fcntl");
	is_int(lockspace_open(NULL, 0, &ls), 0, "direct mode opens");
	is_str(lockspace_backend(ls), "fcntl", "direct mode is fcntl");
	lockspace_close(ls);

	tu_join(dir, tu_scratch_dir, "init");
	is_int(lockspace_init(dir, NULL, 0, 0), 0, "lockspace_init(NULL backend) makes an fcntl lockspace");
	is_int(lockspace_init(dir, LOCKSPACE_BACKEND_FCNTL, 0, 0), 1, "again: it exists (1)");
	tu_join(p, dir, ".backend");
	ok(access(p, F_OK) < 0 && errno == ENOENT, "an fcntl lockspace has no .backend file");
	is_int(lockspace_init(dir, LOCKSPACE_BACKEND_FCNTL, 3, 0), -EINVAL, "a host id for fcntl: -EINVAL");
	is_int(lockspace_init(dir, "flock", 0, 0), -EINVAL, "an unknown backend: -EINVAL");
	is_int(lockspace_init(NULL, NULL, 0, 0), -EINVAL, "no directory: -EINVAL");
	is_int(lockspace_leave(dir), -EOPNOTSUPP, "leaving an fcntl lockspace: -EOPNOTSUPP");
	tu_join(p, tu_scratch_dir, "missing");
	is_int(lockspace_leave(p), -ENOENT, "leaving a missing directory: -ENOENT");
	tu_join(p, tu_scratch_dir, "a/b/c");
	is_int(lockspace_init(p, NULL, 0, 0), -ENOENT, "missing parents without PARENTS: -ENOENT");
	is_int(lockspace_init(p, NULL, 0, LOCKSPACE_OPEN_PARENTS), 0, "with PARENTS: made");
}

static void test_backend_file(void)
{
	char dir[PATH_MAX], p[PATH_MAX];
	struct lockspace *ls = NULL;

	tu_join(dir, tu_scratch_dir, "bad");
	is_int(lockspace_open(dir, 0, &ls), 0, "made");
	lockspace_close(ls);
	tu_join(p, dir, ".backend");
	tu_write_file(p, "fcntl\n", 6);
	is_int(open_status(dir), 0, "a .backend naming fcntl opens as fcntl");
	tu_write_file(p, "flock\n", 6);
	is_int(open_status(dir), -EBADMSG, "an unknown backend: -EBADMSG");
	tu_write_file(p, "fcntl", 5);
	is_int(open_status(dir), -EBADMSG, "no newline: -EBADMSG");
	tu_write_file(p, "fcntl\n\0x\n", 9);
	is_int(open_status(dir), -EBADMSG, "a NUL inside: -EBADMSG");
	tu_write_file(p, "sanlock\n", 8);
#ifdef HAVE_SANLOCK
	is_int(open_status(dir), -EBADMSG, "sanlock without a lockspace name: -EBADMSG");
	tu_write_file(p, "sanlock\nvirlock-x\n", 18);
	is_int(lockspace_open(dir, 0, &ls), 0, "sanlock with a name opens (no daemon needed)");
	is_str(lockspace_backend(ls), "sanlock", "and is sanlock");
	char rundir[PATH_MAX];
	tu_join(rundir, tu_scratch_dir, "no-daemon-here");
	setenv("SANLOCK_RUN_DIR", rundir, 1);
	is_int(lockspace_prune(ls, 0, NULL, NULL), -ECONNREFUSED,
	       "prune in a sanlock lockspace without a daemon: -ECONNREFUSED");
	unsetenv("SANLOCK_RUN_DIR");
	lockspace_close(ls);
	is_int(lockspace_init(dir, NULL, 0, 0), -EEXIST, "an fcntl init of a sanlock lockspace: -EEXIST");
	is_int(lockspace_init(dir, LOCKSPACE_BACKEND_SANLOCK, 0, 0), -EINVAL, "sanlock host id 0: -EINVAL");
	is_int(lockspace_init(dir, LOCKSPACE_BACKEND_SANLOCK, 2001, 0), -EINVAL,
	       "sanlock host id 2001: -EINVAL");
#else
	is_int(open_status(dir), -EOPNOTSUPP, "sanlock in a build without it: -EOPNOTSUPP");
	is_int(lockspace_init(dir, LOCKSPACE_BACKEND_SANLOCK, 1, 0), -EOPNOTSUPP,
	       "lockspace_init(sanlock) in a build without it: -EOPNOTSUPP");
	skip("built without the sanlock backend");
	skip("built without the sanlock backend");
	skip("built without the sanlock backend");
	skip("built without the sanlock backend");
	skip("built without the sanlock backend");
#endif
	unlink(p);
	if (symlink("elsewhere", p) == 0)
		is_int(open_status(dir), -ELOOP, "a .backend symlink is refused: -ELOOP");
	else
		skip("cannot make a symlink");
	unlink(p);
	is_int(open_status(dir), 0, "without .backend it opens again");
}

static void test_strerror(void)
{
	static const int codes[] = {-ECONNREFUSED, -ENOTCONN, -EADDRINUSE, -EEXIST, -ENOLINK};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		ok(strstr(lockspace_strerror(codes[i]), "sanlock") ||
			   strstr(lockspace_strerror(codes[i]), "host") ||
			   strstr(lockspace_strerror(codes[i]), "backend"),
		   "lockspace_strerror(%d) speaks of sanlock: %s", codes[i], lockspace_strerror(codes[i]));
}

TU_MAIN(test_fcntl, test_backend_file, test_strerror)
