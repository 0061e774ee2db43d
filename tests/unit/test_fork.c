/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_fork.c: after fork() the child holds nothing, believes nothing, and cannot disturb the parent. */
#include <stdatomic.h>

#include "testlib.h"

static char dir[PATH_MAX];
static char r_res[PATH_MAX], s_res[PATH_MAX], t_res[PATH_MAX];
static char r_lf[PATH_MAX], s_lf[PATH_MAX], t_lf[PATH_MAX];
static struct lockspace *parent_ls;

enum { STEP_S_FREE = 10, STEP_CLOSE };

static int child_main(int rd, int wr, void *arg)
{
	struct lockspace *ls = parent_ls, *mine = NULL;
	const char *one[] = {r_res};
	(void)arg;

	tu_send(wr, lockspace_release_all(ls));
	tu_send(wr, lockspace_release(ls, r_res, 0));
	tu_send(wr, lockspace_acquire(ls, r_res, 0));
	tu_send(wr, lockspace_acquire_many(ls, one, 1, LOCKSPACE_WAIT, 100, NULL));
	tu_send(wr, lockspace_acquire(ls, t_res, 0));
	/* The parent probes t, then frees s; we take s through a handle of our own. */
	if (tu_order(rd) != STEP_S_FREE)
		return 1;
	if (lockspace_open(dir, 0, &mine) < 0)
		return 1;
	tu_send(wr, lockspace_acquire(mine, s_res, 0));
	/* Closing the inherited handle must not close a descriptor of s (that would drop our lock). */
	if (tu_order(rd) != STEP_CLOSE)
		return 1;
	lockspace_close(ls);
	tu_send(wr, 0);
	tu_order(rd);
	lockspace_close(mine);
	return 0;
}

static void test_child_holds_nothing(void)
{
	struct tu_child c;
	char rec[PATH_MAX], base[32];

	if (lockspace_open(dir, 0, &parent_ls) < 0)
		return;
	is_int(lockspace_set_owner(parent_ls, "parent", 0), 0, "the parent records itself as a holder");
	is_int(lockspace_acquire(parent_ls, r_res, 0), 0, "parent takes r exclusively");
	is_int(lockspace_acquire(parent_ls, s_res, LOCKSPACE_SHARED), 0, "parent takes s shared");
	snprintf(base, sizeof(base), ".holders/%d", (int)getpid());
	tu_join(rec, dir, base);

	tu_spawn(&c, child_main, NULL);
	is_int(tu_answer(&c), 0, "child: release_all of the inherited handle releases 0 holds");
	is_int(tu_answer(&c), -ENOENT, "child: release of the parent's r: -ENOENT");
	is_int(tu_answer(&c), -EBUSY,
	       "child: acquire of the parent's r: -EBUSY (the kernel knows the parent holds it)");
	is_int(tu_answer(&c), -ETIMEDOUT, "child: a 100 ms wait for r: -ETIMEDOUT");
	is_int(tu_answer(&c), 0, "child: acquire of a free resource through the inherited handle");
	tu_sees(t_lf, F_WRLCK, c.pid, "t is locked by the child's pid");
	tu_sees(r_lf, F_WRLCK, getpid(), "r is still locked by the parent");
	tu_sees(s_lf, F_RDLCK, getpid(), "s is still share-locked by the parent");

	is_int(lockspace_release(parent_ls, s_res, 0), 0, "parent releases s");
	tu_send(c.to, STEP_S_FREE);
	is_int(tu_answer(&c), 0, "child takes s through its own handle");
	tu_send(c.to, STEP_CLOSE);
	is_int(tu_answer(&c), 0, "child closes the inherited handle");
	tu_sees(s_lf, F_WRLCK, c.pid, "the child still holds s after closing the inherited handle");
	tu_sees(t_lf, F_UNLCK, 0, "closing the inherited handle released the child's t");
	tu_sees(r_lf, F_WRLCK, getpid(), "r is still locked by the parent after the child closed its copy");
	ok(access(rec, F_OK) == 0, "the parent's holder record survived the child's close");
	is_int(tu_stop(&c), 0, "the child exits cleanly");

	is_int(lockspace_acquire(parent_ls, t_res, 0), 0, "parent can take t after the child is gone");
	is_int(lockspace_release_all(parent_ls), 2, "parent releases r and t");
	lockspace_close(parent_ls);
	parent_ls = NULL;
}

/* Fork while another thread is inside the library: the child must not find its table locked. */
static atomic_int stop;

static void *busy_thread(void *arg)
{
	struct lockspace *ls = arg;
	while (!atomic_load(&stop)) {
		if (lockspace_acquire(ls, "busy-thread", LOCKSPACE_LITERAL) == 0)
			lockspace_release(ls, "busy-thread", LOCKSPACE_LITERAL);
		lockspace_acquire(ls, r_res, LOCKSPACE_SHARED);
		lockspace_release(ls, r_res, 0);
	}
	return NULL;
}

static int forked_call(void *arg)
{
	struct lockspace *ls = arg;
	int n = lockspace_release_all(ls);
	if (n != 0)
		return 1000 + n;
	int rc = lockspace_acquire(ls, "forked", LOCKSPACE_LITERAL);
	if (rc < 0)
		return rc;
	return lockspace_release(ls, "forked", LOCKSPACE_LITERAL);
}

/* The child leaves through exec: memory that the parent's other thread had
 * half-allocated at fork() has no owner in the child, and a leak checker
 * at exit would blame the library for it. */
static int forked_main(int rd, int wr, void *arg)
{
	(void)rd;
	tu_send(wr, forked_call(arg));
	execl("/bin/true", "true", (char *)NULL);
	return 0;
}

static void test_fork_under_threads(void)
{
	struct lockspace *ls;
	pthread_t th;
	int hung = 0, bad = 0, first = 0;

	if (lockspace_open(dir, 0, &ls) < 0)
		return;
	atomic_store(&stop, 0);
	pthread_create(&th, NULL, busy_thread, ls);
	for (int i = 0; i < 30; i++) {
		int rc = tu_run_child(forked_main, ls, 5000);
		if (rc == TU_NOANSWER)
			hung++;
		else if (rc != 0 && !bad++)
			first = rc;
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	is_int(hung, 0, "30 children forked while a thread works in the library: none hung");
	is_int(bad, 0, "each child's table was empty and usable (first failure %d)", first);
	is_int(lockspace_release_all(ls), 0, "the parent's thread left nothing held");
	lockspace_close(ls);
}

/* The lockspace directory and the resources every test here uses. */
static void setup(void)
{
	tu_lockspace_dir(dir);
	tu_join(r_res, tu_scratch_dir, "r.img");
	tu_join(s_res, tu_scratch_dir, "s.img");
	tu_join(t_res, tu_scratch_dir, "t.img");
	tu_touch(r_res);
	tu_touch(s_res);
	tu_touch(t_res);
	tu_lockfile(r_lf, dir, r_res, 0);
	tu_lockfile(s_lf, dir, s_res, 0);
	tu_lockfile(t_lf, dir, t_res, 0);
}

TU_MAIN(setup, test_child_holds_nothing, test_fork_under_threads)
