/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_many.c: several resources in one call: all-or-nothing, in name order, nothing held on failure. */
#include <sys/resource.h>

#include "testlib.h"

#define N 5

static char dir[PATH_MAX];
static char res[N][PATH_MAX], lf[N][PATH_MAX], names[N][LOCKSPACE_NAME_LEN + 1];
static const char *resv[N];
static int by_name[N]; /* indices of res sorted by name */

/* Assert that no resource but skip (-1: none) is held by anyone, as another process sees it. */
static void none_held_but(int skip_i, const char *what)
{
	int bad = 0;
	for (int i = 0; i < N; i++) {
		if (i == skip_i)
			continue;
		int st = tu_state(lf[i], NULL);
		if (st != F_UNLCK && st != -ENOENT) {
			printf("#   resource %d is %s\n", i, tu_type_name(st));
			bad++;
		}
	}
	is_int(bad, 0, "%s: another process sees every other resource free", what);
}

static void test_rollback(void)
{
	struct lockspace *ls;
	struct tu_child c;
	size_t failed = 99;

	if (lockspace_open(dir, 0, &ls) < 0)
		return;
	int mid = by_name[2];
	is_int(tu_hold1(&c, dir, res[mid], 0), 0, "another process holds the resource named third in order");
	is_int(lockspace_acquire_many(ls, resv, N, 0, -1, &failed), -EBUSY,
	       "acquire_many of all five: -EBUSY");
	is_int(failed, mid, "failed is the index of the held resource");
	none_held_but(mid, "after the busy acquire_many");
	tu_sees(lf[mid], F_WRLCK, c.pid, "the held one is still held by the other process");
	is_int(lockspace_release_all(ls), 0, "the handle holds nothing");
	for (int i = 0; i < N; i++)
		if (i != mid)
			is_int(tu_try_elsewhere(dir, res[i], 0), 0,
			       "resource %d can be taken by another process", i);

	failed = 99;
	long long t0 = tu_now_ms();
	is_int(lockspace_acquire_many(ls, resv, N, LOCKSPACE_WAIT, 200, &failed), -ETIMEDOUT,
	       "acquire_many waiting 200 ms: -ETIMEDOUT");
	ok(tu_now_ms() - t0 < 10000, "the wait ended");
	is_int(failed, mid, "failed is the index of the held resource");
	none_held_but(mid, "after the timed-out acquire_many");
	is_int(lockspace_release_all(ls), 0, "the handle holds nothing after the timeout");

	failed = 99;
	is_int(lockspace_acquire_many(ls, resv, N, LOCKSPACE_SHARED, -1, &failed), -EBUSY,
	       "shared acquire_many over an exclusive hold: -EBUSY");
	is_int(failed, mid, "failed is the index of the held resource");
	none_held_but(mid, "after the busy shared acquire_many");
	tu_stop(&c);

	/* Two busy resources: the one first in name order is reported, wherever it is in the array. */
	int lo = by_name[1], hi = by_name[3];
	const char *order[N];
	order[0] = res[hi];
	order[1] = res[by_name[0]];
	order[2] = res[by_name[2]];
	order[3] = res[lo];
	order[4] = res[by_name[4]];
	struct tu_hold_spec two = {.dir = dir, .res = {res[lo], res[hi]}, .n = 2, .timeout_ms = -1};
	is_int(tu_hold(&c, &two), 0, "another process holds the 2nd and 4th in name order");
	failed = 99;
	is_int(lockspace_acquire_many(ls, order, N, 0, -1, &failed), -EBUSY, "acquire_many: -EBUSY");
	is_int(failed, 3, "failed names the busy resource first in name order (array index 3, not 0)");
	is_int(lockspace_release_all(ls), 0, "nothing held");
	tu_stop(&c);

	/* A nonexistent resource among them. */
	char missing[PATH_MAX];
	tu_join(missing, tu_scratch_dir, "missing.img");
	const char *with_missing[] = {resv[0], resv[1], missing, resv[3]};
	failed = 99;
	is_int(lockspace_acquire_many(ls, with_missing, 4, 0, -1, &failed), -ENOENT,
	       "a nonexistent resource among them: -ENOENT");
	is_int(failed, 2, "failed names the nonexistent resource");
	none_held_but(-1, "after the -ENOENT");
	is_int(lockspace_release_all(ls), 0, "nothing held after the -ENOENT");

	/* Success. */
	is_int(lockspace_acquire_many(ls, resv, N, 0, -1, NULL), 0, "acquire_many of five free resources");
	int held = 0;
	for (int i = 0; i < N; i++) {
		pid_t p = 0;
		held += tu_state(lf[i], &p) == F_WRLCK && p == getpid();
	}
	is_int(held, N, "another process sees all five locked by our pid");
	is_int(lockspace_release_all(ls), N, "release_all releases five holds");
	none_held_but(-1, "after release_all");
	lockspace_close(ls);
}

static void test_duplicates(void)
{
	struct lockspace *ls, *h2;
	char lnk[PATH_MAX];
	size_t failed = 99;

	if (lockspace_open(dir, 0, &ls) < 0)
		return;
	const char *twice[] = {resv[0], resv[1], resv[0]};
	is_int(lockspace_acquire_many(ls, twice, 3, 0, -1, &failed), -EINVAL,
	       "a resource named twice: -EINVAL, not busy");
	is_int(failed, 2, "failed names the second mention");
	none_held_but(-1, "after the duplicate");
	is_int(lockspace_release_all(ls), 0, "nothing held after the duplicate");

	tu_join(lnk, tu_scratch_dir, "alias.img");
	tu_symlink(res[1], lnk);
	const char *spelled[] = {resv[1], resv[2], lnk};
	failed = 99;
	is_int(lockspace_acquire_many(ls, spelled, 3, 0, -1, &failed), -EINVAL,
	       "one resource under two spellings: -EINVAL");
	is_int(failed, 2, "failed names the second spelling");
	none_held_but(-1, "after the two spellings");
	is_int(lockspace_release_all(ls), 0, "nothing held after the two spellings");

	/* A repeat among the names resolved so far comes before a later name
	 * that does not resolve, as in the caller's order (and in sanlock). */
	char nosuch[PATH_MAX];
	tu_join(nosuch, tu_scratch_dir, "no-such.img");
	const char *then_missing[] = {resv[0], resv[0], nosuch};
	failed = 99;
	is_int(lockspace_acquire_many(ls, then_missing, 3, 0, -1, &failed), -EINVAL,
	       "named twice, then a missing path: -EINVAL first");
	is_int(failed, 1, "failed names the repeat, not the missing path");
	const char *missing_first[] = {resv[0], nosuch, resv[0]};
	failed = 99;
	is_int(lockspace_acquire_many(ls, missing_first, 3, 0, -1, &failed), -ENOENT,
	       "a missing path before the repeat: -ENOENT");
	is_int(failed, 1, "failed names the missing path");
	is_int(lockspace_release_all(ls), 0, "nothing held after them");

	/* A resource named twice in one call is a mistake in every mode, shared included. */
	const char *shared_twice[] = {resv[3], resv[3]};
	failed = 99;
	is_int(lockspace_acquire_many(ls, shared_twice, 2, LOCKSPACE_SHARED, -1, &failed), -EINVAL,
	       "shared twice in one call: -EINVAL");
	is_int(failed, 1, "the second mention is the one that failed");
	is_int(lockspace_release(ls, res[3], 0), -ENOENT, "nothing was held");
	is_int(lockspace_release_all(ls), 0, "nothing held");
	tu_sees(lf[3], F_UNLCK, 0, "free after the releases");

	/* One resource already held by this process through another handle. */
	if (lockspace_open(dir, 0, &h2) == 0) {
		is_int(lockspace_acquire(h2, res[by_name[4]], 0), 0, "handle 2 holds the last in name order");
		failed = 99;
		is_int(lockspace_acquire_many(ls, resv, N, 0, -1, &failed), -EBUSY,
		       "acquire_many including a resource held in-process: -EBUSY");
		is_int(failed, by_name[4], "failed names the one handle 2 holds");
		none_held_but(by_name[4], "after the in-process busy");
		tu_sees(lf[by_name[4]], F_WRLCK, getpid(), "handle 2's hold survived the rollback");
		is_int(lockspace_release_all(ls), 0, "handle 1 holds nothing");
		lockspace_close(h2);
	}
	lockspace_close(ls);
}

/* In a child with few descriptors left: acquire_many of all five must fail -EMFILE, holding nothing. */
static int emfile_main(void *arg)
{
	struct lockspace *ls;
	struct rlimit rl;
	size_t failed = 99;
	(void)arg;

	if (lockspace_open(dir, 0, &ls) < 0)
		return 1000;
	/* The lowest free descriptor tells how many are open; leave room for two lock files. */
	int fd = dup(0);
	if (fd < 0)
		return 1001;
	close(fd);
	getrlimit(RLIMIT_NOFILE, &rl);
	struct rlimit low = {(rlim_t)fd + 2, rl.rlim_max};
	if (setrlimit(RLIMIT_NOFILE, &low) < 0)
		return 1002;
	int rc = lockspace_acquire_many(ls, resv, N, 0, -1, &failed);
	if (rc != -EMFILE || failed >= N || lockspace_release_all(ls) != 0) {
		lockspace_close(ls);
		return rc == -EMFILE ? 1004 : rc == 0 ? 1003 : rc;
	}
	setrlimit(RLIMIT_NOFILE, &rl);
	rc = lockspace_acquire_many(ls, resv, N, 0, -1, NULL);
	if (rc < 0)
		return 2000 + rc;
	rc = lockspace_release_all(ls) == N ? 0 : 1006;
	lockspace_close(ls);
	return rc;
}

struct looper {
	const char *a, *b;
	int rounds;
};

/* Take {a, b} in this array order, waiting for ever, many times; exit status = failures (max 100). */
static int loop_main(int rd, int wr, void *arg)
{
	const struct looper *l = arg;
	struct lockspace *ls;
	const char *two[] = {l->a, l->b};
	int fails = 0, first = 0;

	if (lockspace_open(dir, 0, &ls) < 0)
		return 100;
	tu_send(wr, 0);
	if (tu_order(rd) != TU_CMD_GO)
		return 100;
	for (int i = 0; i < l->rounds; i++) {
		int rc = lockspace_acquire_many(ls, two, 2, LOCKSPACE_WAIT, -1, NULL);
		if (rc < 0) {
			if (!first)
				first = rc;
			fails++;
			continue;
		}
		if (lockspace_release_all(ls) != 2)
			fails++;
	}
	tu_send(wr, first);
	lockspace_close(ls);
	return fails > 100 ? 100 : fails;
}

static void test_emfile(void)
{
	int rc = tu_run(emfile_main, NULL, TU_DEADLINE_MS);
	is_int(rc, 0,
	       "out of descriptors: -EMFILE, failed set, nothing held, and all five taken once allowed");
	none_held_but(-1, "after the -EMFILE child");
}

static void test_no_deadlock(void)
{
	struct tu_child c1, c2;
	struct looper l1 = {res[0], res[1], 300}, l2 = {res[1], res[0], 300};

	tu_spawn(&c1, loop_main, &l1);
	tu_spawn(&c2, loop_main, &l2);
	tu_answer(&c1);
	tu_answer(&c2);
	tu_send(c1.to, TU_CMD_GO);
	tu_send(c2.to, TU_CMD_GO);
	int e1 = tu_answer(&c1), e2 = tu_answer(&c2);
	is_int(e1, 0, "process 1 took {a, b} 300 times without an error (first error shown)");
	is_int(e2, 0, "process 2 took {b, a} 300 times without an error (first error shown)");
	is_int(tu_reap(&c1), 0, "process 1 had no failures");
	is_int(tu_reap(&c2), 0, "process 2 had no failures: name order avoids deadlock");
	none_held_but(-1, "after the opposite-order loops");
}

/* The lockspace directory and the resources every test here uses. */
static void setup(void)
{
	tu_lockspace_dir(dir);
	for (int i = 0; i < N; i++) {
		tu_resource(res[i], NULL, dir, "disk-%d.img", i);
		resv[i] = res[i];
		tu_name(res[i], 0, names[i]);
		tu_join(lf[i], dir, names[i]);
		by_name[i] = i;
	}
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			if (strcmp(names[by_name[j]], names[by_name[i]]) < 0) {
				int t = by_name[i];
				by_name[i] = by_name[j];
				by_name[j] = t;
			}
}

TU_MAIN(setup, test_rollback, test_duplicates, test_emfile, test_no_deadlock)
