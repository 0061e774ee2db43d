/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_release.c: release one, release all, close: what each frees, and what other handles keep. */
#include "testlib.h"

#define N 4

static char dir[PATH_MAX];
static char res[N][PATH_MAX], lf[N][PATH_MAX];

static void test_release_one(void)
{
	struct lockspace *h1, *h2;
	char lnk[PATH_MAX], name[LOCKSPACE_NAME_LEN + 1], missing[PATH_MAX];

	if (lockspace_open(dir, 0, &h1) < 0 || lockspace_open(dir, 0, &h2) < 0)
		return;
	is_int(lockspace_release(h1, res[0], 0), -ENOENT, "release of a resource never taken: -ENOENT");
	tu_join(missing, tu_scratch_dir, "missing.img");
	is_int(lockspace_release(h1, missing, 0), -ENOENT, "release of a nonexistent path: -ENOENT");
	is_int(lockspace_release(h1, "", 0), -EINVAL, "release of the empty string: -EINVAL");
	is_int(lockspace_release(h1, "xyz", LOCKSPACE_BYNAME), -EINVAL,
	       "release by an invalid name: -EINVAL");

	is_int(lockspace_acquire(h1, res[0], 0), 0, "handle 1 takes r0");
	is_int(lockspace_release(h2, res[0], 0), -ENOENT, "handle 2 cannot release handle 1's hold: -ENOENT");
	tu_sees(lf[0], F_WRLCK, getpid(), "r0 still held after handle 2's attempt");
	is_int(lockspace_release(h1, res[0], 0), 0, "handle 1 releases r0");
	tu_sees(lf[0], F_UNLCK, 0, "r0 free");
	is_int(tu_try_elsewhere(dir, res[0], 0), 0, "another process takes r0 at once");
	is_int(lockspace_release(h1, res[0], 0), -ENOENT, "a second release: -ENOENT");

	/* Other spellings of the same resource release it. */
	tu_join(lnk, tu_scratch_dir, "r1-link.img");
	tu_symlink(res[1], lnk);
	is_int(lockspace_acquire(h1, res[1], 0), 0, "take r1 by path");
	is_int(lockspace_release(h1, lnk, 0), 0, "release r1 through a symlink");
	tu_sees(lf[1], F_UNLCK, 0, "r1 free");
	tu_name(res[1], 0, name);
	is_int(lockspace_acquire(h1, lnk, 0), 0, "take r1 through a symlink");
	is_int(lockspace_release(h1, name, LOCKSPACE_BYNAME), 0, "release r1 by name");
	tu_sees(lf[1], F_UNLCK, 0, "r1 free again");

	/* The lock file removed by someone careless while held: release still finds the hold. */
	is_int(lockspace_acquire(h1, res[2], 0), 0, "take r2");
	unlink(lf[2]);
	is_int(lockspace_release(h1, res[2], 0), 0, "release r2 after its lock file was removed by hand");
	is_int(lockspace_release_all(h1), 0, "nothing left held");
	lockspace_close(h2);
	lockspace_close(h1);
}

static void test_release_all_and_close(void)
{
	struct lockspace *h1, *h2;

	if (lockspace_open(dir, 0, &h1) < 0 || lockspace_open(dir, 0, &h2) < 0)
		return;
	is_int(lockspace_release_all(h1), 0, "release_all of an empty handle: 0");
	for (int i = 0; i < 3; i++)
		lockspace_acquire(h1, res[i], 0);
	is_int(lockspace_acquire(h2, res[3], 0), 0, "handle 2 takes r3");
	is_int(lockspace_release_all(h1), 3, "release_all returns the 3 holds of handle 1");
	int freed = 0;
	for (int i = 0; i < 3; i++)
		freed += tu_state(lf[i], NULL) == F_UNLCK;
	is_int(freed, 3, "r0-r2 are free");
	tu_sees(lf[3], F_WRLCK, getpid(), "handle 2's r3 is untouched by handle 1's release_all");
	is_int(lockspace_release_all(h1), 0, "release_all again: 0");

	/* Close releases everything the handle holds, and only that. */
	lockspace_acquire(h1, res[0], 0);
	lockspace_acquire(h1, res[1], LOCKSPACE_SHARED);
	lockspace_acquire(h1, res[1], LOCKSPACE_SHARED);
	lockspace_acquire(h1, res[2], 0);
	lockspace_close(h1);
	int taken = 0;
	for (int i = 0; i < 3; i++)
		taken += tu_try_elsewhere(dir, res[i], 0) == 0;
	is_int(taken, 3, "after close another process can take each of its resources exclusively");
	tu_sees(lf[3], F_WRLCK, getpid(), "closing handle 1 kept handle 2's lock");
	if (lockspace_open(dir, 0, &h1) == 0) {
		const char *three[] = {res[0], res[1], res[2]};
		is_int(lockspace_acquire_many(h1, three, 3, 0, -1, NULL), 0,
		       "a new handle in this process takes them");
		lockspace_close(h1);
	}
	lockspace_close(h2);
	tu_sees(lf[3], F_UNLCK, 0, "closing handle 2 freed r3");
}

static void test_release_wakes_waiter(void)
{
	struct lockspace *ls;
	struct tu_child c;
	struct tu_hold_spec spec = {
		.dir = dir, .res = {res[0]}, .n = 1, .flags = LOCKSPACE_WAIT, .timeout_ms = -1};

	if (lockspace_open(dir, 0, &ls) < 0)
		return;
	is_int(lockspace_acquire(ls, res[0], 0), 0, "take r0");
	tu_hold_start(&c, &spec);
	long long deadline = tu_now_ms() + TU_DEADLINE_MS;
	int waiting;
	while (!(waiting = tu_proc_waiting(c.pid, lf[0])) && tu_now_ms() < deadline)
		poll(NULL, 0, 2);
	ok(waiting, "another process is blocked waiting for r0");
	is_int(tu_answer_within(&c, 200), TU_NOANSWER, "it is still waiting while we hold r0");
	is_int(lockspace_release(ls, res[0], 0), 0, "release r0");
	is_int(tu_answer(&c), 0, "the waiter is granted r0");
	tu_sees(lf[0], F_WRLCK, c.pid, "the waiter holds r0");
	tu_stop(&c);
	lockspace_close(ls);
}

static void test_direct(void)
{
	struct lockspace *ls;

	if (lockspace_open(NULL, 0, &ls) < 0)
		return;
	is_int(lockspace_acquire(ls, res[0], 0), 0, "direct mode: take the file itself");
	tu_sees(res[0], F_WRLCK, getpid(), "direct mode: the file is locked");
	is_int(lockspace_release(ls, res[0], 0), 0, "direct mode: release");
	tu_sees(res[0], F_UNLCK, 0, "direct mode: the file is free");
	lockspace_acquire(ls, res[0], 0);
	lockspace_acquire(ls, res[1], LOCKSPACE_SHARED);
	is_int(lockspace_release_all(ls), 2, "direct mode: release_all counts 2");
	lockspace_acquire(ls, res[0], 0);
	lockspace_close(ls);
	is_int(tu_try_elsewhere(NULL, res[0], 0), 0, "direct mode: close releases");
}

/* The lockspace directory and the resources every test here uses. */
static void setup(void)
{
	tu_lockspace_dir(dir);
	for (int i = 0; i < N; i++)
		tu_resource(res[i], lf[i], dir, "r%d.img", i);
}

TU_MAIN(setup, test_release_one, test_release_all_and_close, test_release_wakes_waiter, test_direct)
