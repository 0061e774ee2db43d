/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_host.c: lockspace_host_id() and lockspace_control_path(), the questions a program asks instead of
 * reading .holders. */
#include "testlib.h"

static char dir[PATH_MAX];

static void set_up(void)
{
	tu_join(dir, tu_scratch_dir, "ls");
	if (mkdir(dir, 0700) < 0)
		tu_bail("mkdir");
}

static void test_host_id(void)
{
	struct lockspace *ls = NULL, *direct = NULL;
	if (lockspace_open(dir, 0, &ls) < 0 || lockspace_open(NULL, 0, &direct) < 0)
		tu_bail("lockspace_open");
	unsigned id = 7;
	is_int(lockspace_host_id(NULL, &id), -EINVAL, "host_id(NULL): -EINVAL");
	is_int(lockspace_host_id(ls, NULL), -EINVAL, "host_id() without an out pointer: -EINVAL");
	is_int(lockspace_host_id(ls, &id), 0, "host_id() of an fcntl lockspace");
	is_int((int)id, 0, "is 0: hosts are not told apart");
	id = 7;
	is_int(lockspace_host_id(direct, &id), 0, "host_id() in direct mode");
	is_int((int)id, 0, "is 0 there too");
	lockspace_close(direct);
	lockspace_close(ls);
}

static void test_control_path(void)
{
	struct lockspace *ls = NULL, *direct = NULL;
	if (lockspace_open(dir, 0, &ls) < 0 || lockspace_open(NULL, 0, &direct) < 0)
		tu_bail("lockspace_open");
	char *path = (char *)1, want[PATH_MAX], name[64], holders[PATH_MAX];
	is_int(lockspace_control_path(NULL, 1, &path), -EINVAL, "control_path(NULL): -EINVAL");
	ok(path == NULL, "and *path is NULL");
	is_int(lockspace_control_path(ls, 1, NULL), -EINVAL,
	       "control_path() without an out pointer: -EINVAL");
	path = (char *)1;
	is_int(lockspace_control_path(ls, 0, &path), -EINVAL, "control_path() of pid 0: -EINVAL");
	ok(path == NULL, "and *path is NULL");
	is_int(lockspace_control_path(ls, -1, &path), -EINVAL, "control_path() of pid -1: -EINVAL");
	is_int(lockspace_control_path(direct, 1, &path), -EOPNOTSUPP,
	       "control_path() in direct mode: -EOPNOTSUPP");
	ok(path == NULL, "and *path is NULL");

	tu_join(holders, dir, ".holders");
	tu_rmrf(holders);
	is_int(lockspace_control_path(ls, 4242, &path), 0, "control_path() of a pid with no socket");
	tu_join(want, dir, ".holders/4242" LOCKSPACE_CONTROL_SUFFIX);
	is_str(path ? path : "(null)", want, "is <dir>/.holders/<pid>.sock");
	free(path);
	path = NULL;
	ok(access(holders, F_OK) < 0 && errno == ENOENT, "and makes nothing");

	int fd = -1;
	is_int(lockspace_control_listen(ls, &fd), 0, "control_listen()");
	is_int(lockspace_control_path(ls, getpid(), &path), 0, "control_path() of this process");
	snprintf(name, sizeof(name), ".holders/%d" LOCKSPACE_CONTROL_SUFFIX, (int)getpid());
	tu_join(want, dir, name);
	is_str(path ? path : "(null)", want, "names the socket file control_listen() falls back to");
	struct stat st;
	ok(path && lstat(path, &st) < 0 && errno == ENOENT,
	   "which is not made while the abstract name is free");
	free(path);
	lockspace_close(direct);
	lockspace_close(ls);
}

/* A sanlock lockspace whose daemon does not run: no host id, no path. */
static void test_sanlock_no_daemon(void)
{
#ifdef HAVE_SANLOCK
	char sdir[PATH_MAX], p[PATH_MAX], rundir[PATH_MAX];
	struct lockspace *ls = NULL;
	tu_join(sdir, tu_scratch_dir, "sl");
	if (lockspace_open(sdir, 0, &ls) < 0)
		tu_bail("lockspace_open");
	lockspace_close(ls);
	tu_join(p, sdir, ".backend");
	tu_write_file(p, "sanlock\nvirlock-x\n", 18);
	if (lockspace_open(sdir, 0, &ls) < 0)
		tu_bail("lockspace_open(sanlock)");
	tu_join(rundir, tu_scratch_dir, "no-daemon-here");
	setenv("SANLOCK_RUN_DIR", rundir, 1);
	unsigned id = 7;
	is_int(lockspace_host_id(ls, &id), -ECONNREFUSED,
	       "host_id() without a sanlock daemon: -ECONNREFUSED");
	is_int((int)id, 0, "and *host_id is 0");
	char *path = (char *)1;
	is_int(lockspace_control_path(ls, 4242, &path), -ECONNREFUSED,
	       "control_path() without a sanlock daemon: -ECONNREFUSED");
	ok(path == NULL, "and *path is NULL");
	unsetenv("SANLOCK_RUN_DIR");
	lockspace_close(ls);
#else
	skip("built without the sanlock backend");
	skip("built without the sanlock backend");
	skip("built without the sanlock backend");
	skip("built without the sanlock backend");
#endif
}

TU_MAIN(set_up, test_host_id, test_control_path, test_sanlock_no_daemon)
