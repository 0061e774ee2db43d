/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_shared.c: shared holds inside one process are reference-counted; the last release drops the lock. */
#include "testlib.h"

static char dir[PATH_MAX], res[PATH_MAX], lf[PATH_MAX];

static void test_same_handle(void)
{
	struct lockspace *ls;

	if (lockspace_open(dir, 0, &ls) < 0)
		return;
	is_int(lockspace_acquire(ls, res, LOCKSPACE_SHARED), 0, "first shared hold");
	is_int(lockspace_acquire(ls, res, LOCKSPACE_SHARED), 0, "second shared hold, same handle");
	tu_sees(lf, F_RDLCK, getpid(), "another process sees a read lock by our pid");
	is_int(lockspace_acquire(ls, res, 0), -EBUSY, "exclusive over our own shared hold: -EBUSY");
	is_int(lockspace_release(ls, res, 0), 0, "first release");
	tu_sees(lf, F_RDLCK, getpid(), "still read-locked after one of two releases");
	is_int(tu_try_elsewhere(dir, res, 0), -EBUSY, "another process still cannot take it exclusively");
	is_int(lockspace_release(ls, res, 0), 0, "second release");
	tu_sees(lf, F_UNLCK, 0, "free after the last release");
	is_int(lockspace_release(ls, res, 0), -ENOENT, "a third release: -ENOENT");

	/* Three holds, released all at once. */
	for (int i = 0; i < 3; i++)
		lockspace_acquire(ls, res, LOCKSPACE_SHARED);
	is_int(lockspace_release_all(ls), 3, "release_all counts each of three shared holds");
	tu_sees(lf, F_UNLCK, 0, "free after release_all");
	lockspace_close(ls);
}

static void test_two_handles(void)
{
	struct lockspace *h1, *h2;
	char lnk[PATH_MAX];

	tu_join(lnk, tu_scratch_dir, "ls-link");
	tu_symlink("ls", lnk);
	if (lockspace_open(dir, 0, &h1) < 0 || lockspace_open(lnk, 0, &h2) < 0)
		return;
	is_int(lockspace_acquire(h1, res, LOCKSPACE_SHARED), 0, "shared hold through handle 1");
	is_int(lockspace_acquire(h2, res, LOCKSPACE_SHARED), 0,
	       "shared hold through handle 2 (symlinked dir)");
	is_int(lockspace_acquire(h2, res, 0), -EBUSY, "exclusive through handle 2: -EBUSY");
	is_int(lockspace_release(h1, res, 0), 0, "release through handle 1");
	is_int(lockspace_release(h1, res, 0), -ENOENT, "handle 1 holds it no more");
	tu_sees(lf, F_RDLCK, getpid(), "still read-locked: handle 2 holds it");
	is_int(lockspace_release(h2, res, 0), 0, "release through handle 2");
	tu_sees(lf, F_UNLCK, 0, "free after both handles released");

	/* Closing one sharing handle keeps the other's hold. */
	lockspace_acquire(h1, res, LOCKSPACE_SHARED);
	lockspace_acquire(h2, res, LOCKSPACE_SHARED);
	lockspace_close(h1);
	tu_sees(lf, F_RDLCK, getpid(), "closing handle 1 kept handle 2's shared hold");
	is_int(tu_try_elsewhere(dir, res, 0), -EBUSY, "and another process still cannot take it exclusively");
	is_int(lockspace_release_all(h2), 1, "handle 2 releases its one hold");
	tu_sees(lf, F_UNLCK, 0, "free");

	/* Exclusive in one handle, shared attempt from the other. */
	is_int(lockspace_acquire(h2, res, 0), 0, "exclusive through handle 2");
	if (lockspace_open(dir, 0, &h1) == 0) {
		is_int(lockspace_acquire(h1, res, LOCKSPACE_SHARED), -EBUSY,
		       "shared over in-process exclusive: -EBUSY");
		is_int(lockspace_release(h1, res, 0), -ENOENT, "the busy shared attempt holds nothing");
		lockspace_close(h1);
	}
	tu_sees(lf, F_WRLCK, getpid(), "still write-locked by our pid");
	lockspace_close(h2);
	tu_sees(lf, F_UNLCK, 0, "free after closing");
}

static void test_with_other_process(void)
{
	struct lockspace *ls;
	struct tu_child c;

	if (lockspace_open(dir, 0, &ls) < 0)
		return;
	is_int(tu_hold1(&c, dir, res, LOCKSPACE_SHARED), 0, "another process holds a shared lock");
	is_int(lockspace_acquire(ls, res, LOCKSPACE_SHARED), 0, "we share it");
	is_int(lockspace_acquire(ls, res, LOCKSPACE_SHARED), 0, "twice");
	tu_stop(&c);
	tu_sees(lf, F_RDLCK, getpid(), "our shared hold remains after the other process exits");
	is_int(lockspace_release(ls, res, 0), 0, "release one");
	tu_sees(lf, F_RDLCK, getpid(), "one hold left");
	is_int(lockspace_release(ls, res, 0), 0, "release two");
	is_int(tu_try_elsewhere(dir, res, 0), 0, "another process can now take it exclusively");
	lockspace_close(ls);
}

/* The lockspace directory and the resources every test here uses. */
static void setup(void)
{
	tu_lockspace_dir(dir);
	tu_join(res, tu_scratch_dir, "shared.img");
	tu_touch(res);
	tu_lockfile(lf, dir, res, 0);
}

TU_MAIN(setup, test_same_handle, test_two_handles, test_with_other_process)
