/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_threads.c: many threads hammering a few resources through shared and separate handles. */
#include <stdatomic.h>

#include "testlib.h"

#define THREADS 8
#define RES	3
#define ITER	1500

static char dir[PATH_MAX];
static char res[RES][PATH_MAX], lf[RES][PATH_MAX];
static struct lockspace *handles[2];

/* What the threads believe they hold, checked against what the library granted. */
static atomic_int excl[RES], shared_n[RES];
static atomic_int violations, errors, first_error, granted, busy;

static void note_error(int rc)
{
	int zero = 0;
	atomic_compare_exchange_strong(&first_error, &zero, rc);
	atomic_fetch_add(&errors, 1);
}

static void *hammer(void *arg)
{
	int id = (int)(intptr_t)arg;
	unsigned seed = (unsigned)id * 2654435761u;
	struct lockspace *ls = handles[id % 2];

	for (int i = 0; i < ITER; i++) {
		int r = (int)(rand_r(&seed) % RES);
		int kind = (int)(rand_r(&seed) % 8);
		int shared = kind >= 5;
		unsigned flags = shared ? LOCKSPACE_SHARED : 0;
		const char *one[] = {res[r]};
		int rc;
		if (kind == 0)
			rc = lockspace_acquire_many(ls, one, 1, flags | LOCKSPACE_WAIT, 5, NULL);
		else
			rc = lockspace_acquire(ls, res[r], flags);
		if (rc == -EBUSY || rc == -ETIMEDOUT) {
			atomic_fetch_add(&busy, 1);
			continue;
		}
		if (rc < 0) {
			note_error(rc);
			continue;
		}
		atomic_fetch_add(&granted, 1);
		if (shared) {
			atomic_fetch_add(&shared_n[r], 1);
			if (atomic_load(&excl[r]))
				atomic_fetch_add(&violations, 1);
			sched_yield();
			atomic_fetch_sub(&shared_n[r], 1);
		} else {
			if (atomic_exchange(&excl[r], 1) != 0 || atomic_load(&shared_n[r]) != 0)
				atomic_fetch_add(&violations, 1);
			sched_yield();
			atomic_store(&excl[r], 0);
		}
		if ((rc = lockspace_release(ls, res[r], 0)) < 0)
			note_error(rc);
	}
	return NULL;
}

static void test_hammer(void)
{
	pthread_t th[THREADS];
	char lnk[PATH_MAX];

	tu_join(lnk, tu_scratch_dir, "ls-link");
	tu_symlink("ls", lnk);
	if (lockspace_open(dir, 0, &handles[0]) < 0 || lockspace_open(lnk, 0, &handles[1]) < 0) {
		ok(0, "two handles");
		return;
	}
	long long t0 = tu_now_ms();
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, hammer, (void *)(intptr_t)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	diag("%d threads x %d: %d granted, %d busy, %lld ms", THREADS, ITER, atomic_load(&granted),
	     atomic_load(&busy), tu_now_ms() - t0);
	is_int(atomic_load(&violations), 0, "no resource was ever granted to two threads against its mode");
	is_int(atomic_load(&errors), 0, "no call failed other than busy (first error %d)",
	       atomic_load(&first_error));
	ok(atomic_load(&granted) > 0 && atomic_load(&busy) > 0, "there was both success and contention");
	int free_n = 0;
	for (int i = 0; i < RES; i++)
		free_n += tu_state(lf[i], NULL) == F_UNLCK;
	is_int(free_n, RES, "another process sees every resource free afterwards");
	is_int(lockspace_release_all(handles[0]), 0, "handle 1 holds nothing");
	is_int(lockspace_release_all(handles[1]), 0, "handle 2 holds nothing");
	int taken = 0;
	for (int i = 0; i < RES; i++)
		taken += tu_try_elsewhere(dir, res[i], 0) == 0;
	is_int(taken, RES, "another process can take each resource");
	lockspace_close(handles[1]);
	lockspace_close(handles[0]);
}

/* Each thread its own handle, opened and closed in the loop, on its own resource and a common one. */
static void *churn(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int i = 0; i < 100; i++) {
		struct lockspace *ls;
		char lease[32];
		int rc = lockspace_open(dir, 0, &ls);
		if (rc < 0) {
			note_error(rc);
			continue;
		}
		snprintf(lease, sizeof(lease), "lease-%d", id);
		if ((rc = lockspace_acquire(ls, lease, LOCKSPACE_LITERAL)) < 0)
			note_error(rc);
		rc = lockspace_acquire(ls, "common", LOCKSPACE_LITERAL);
		if (rc == 0) {
			if (atomic_exchange(&excl[0], 1) != 0)
				atomic_fetch_add(&violations, 1);
			atomic_store(&excl[0], 0);
		} else if (rc != -EBUSY) {
			note_error(rc);
		}
		lockspace_close(ls); /* releases both */
	}
	return NULL;
}

static void test_churn(void)
{
	pthread_t th[THREADS];
	char lease[PATH_MAX];

	atomic_store(&violations, 0);
	atomic_store(&errors, 0);
	atomic_store(&first_error, 0);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, churn, (void *)(intptr_t)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	is_int(atomic_load(&violations), 0,
	       "handles opened and closed in threads: the common lease had one holder");
	is_int(atomic_load(&errors), 0, "no call failed other than busy (first error %d)",
	       atomic_load(&first_error));
	tu_lockfile(lease, dir, "common", LOCKSPACE_LITERAL);
	tu_sees(lease, F_UNLCK, 0, "the common lease is free after all handles closed");
}

struct waiter {
	struct lockspace *ls;
	const char *res;
	int timeout_ms;
	int rc;
	atomic_int done;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	const char *one[] = {w->res};
	w->rc = lockspace_acquire_many(w->ls, one, 1, LOCKSPACE_WAIT, w->timeout_ms, NULL);
	atomic_store(&w->done, 1);
	return NULL;
}

static void test_wait_between_threads(void)
{
	struct lockspace *h1, *h2;
	pthread_t th;

	if (lockspace_open(dir, 0, &h1) < 0 || lockspace_open(dir, 0, &h2) < 0)
		return;
	is_int(lockspace_acquire(h1, res[0], 0), 0, "main thread holds r0 through handle 1");
	struct waiter w = {h2, res[0], 100, 1, 0};
	pthread_create(&th, NULL, waiter_main, &w);
	pthread_join(th, NULL);
	is_int(w.rc, -ETIMEDOUT, "a thread waiting 100 ms through handle 2: -ETIMEDOUT");

	struct waiter wf = {h2, res[0], -1, 1, 0};
	pthread_create(&th, NULL, waiter_main, &wf);
	/* Not a synchronisation: the waiter must still be waiting after a while. */
	for (long long end = tu_now_ms() + 200; tu_now_ms() < end && !atomic_load(&wf.done);)
		poll(NULL, 0, 5);
	is_int(atomic_load(&wf.done), 0, "a thread waiting for ever is still waiting while r0 is held");
	is_int(lockspace_release(h1, res[0], 0), 0, "main thread releases r0");
	pthread_join(th, NULL);
	is_int(wf.rc, 0, "the waiting thread is granted r0 when the main thread releases it");
	tu_sees(lf[0], F_WRLCK, getpid(), "r0 is held by this process");
	is_int(lockspace_release(h2, res[0], 0), 0, "release through handle 2");
	lockspace_close(h2);
	lockspace_close(h1);
}

/* The lockspace directory and the resources every test here uses. */
static void setup(void)
{
	tu_lockspace_dir(dir);
	for (int i = 0; i < RES; i++)
		tu_resource(res[i], lf[i], dir, "t%d.img", i);
}

TU_MAIN(setup, test_hammer, test_churn, test_wait_between_threads)
