/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_wait.c: a wait for a resource this process holds through another handle ends at its deadline, at
 * a caught signal when it waits for ever, or when the other handle releases; two names of one file in
 * direct mode are one resource named twice. */
#include <pthread.h>
#include <stdatomic.h>

#include "testlib.h"

static char dir[PATH_MAX], img[PATH_MAX];
static atomic_int waiting_done;
static pthread_t main_thread;

static void on_usr1(int sig)
{
	(void)sig;
}

/* Interrupt the main thread every 20 ms until it is done waiting: a signal
 * sent just before the wait begins is then followed by another. */
static void *kicker(void *arg)
{
	(void)arg;
	struct timespec pause = {0, 20 * 1000000L};
	nanosleep(&pause, NULL);
	while (!atomic_load(&waiting_done)) {
		pthread_kill(main_thread, SIGUSR1);
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static void *releaser(void *arg)
{
	struct timespec pause = {0, 100 * 1000000L};
	nanosleep(&pause, NULL);
	lockspace_release_all(arg);
	return NULL;
}

static void test_table_wait(void)
{
	struct lockspace *a, *b;
	pthread_t t;
	if (lockspace_open(dir, 0, &a) < 0 || lockspace_open(dir, 0, &b) < 0) {
		printf("Bail out! cannot open the lockspace\n");
		exit(1);
	}
	is_int(lockspace_acquire(a, img, 0), 0, "handle a holds the resource");

	long long t0 = tu_now_ms();
	size_t failed = 99;
	is_int(lockspace_acquire_many(b, (const char *const[]){img}, 1, LOCKSPACE_WAIT, 300, &failed),
	       -ETIMEDOUT, "handle b waits 300 ms for it: -ETIMEDOUT");
	long long took = tu_now_ms() - t0;
	ok(took >= 250 && took < 5000, "the wait ended at its deadline (%lld ms)", took);

	/* A wait for ever ends, as F_SETLKW does, when a handler without SA_RESTART runs. */
	struct sigaction sa = {.sa_handler = on_usr1}, old;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, &old);
	main_thread = pthread_self();
	atomic_store(&waiting_done, 0);
	pthread_create(&t, NULL, kicker, NULL);
	is_int(lockspace_acquire_many(b, (const char *const[]){img}, 1, LOCKSPACE_WAIT, -1, &failed), -EINTR,
	       "a wait for ever is ended by a caught signal: -EINTR");
	atomic_store(&waiting_done, 1);
	pthread_join(t, NULL);
	sigaction(SIGUSR1, &old, NULL);
	is_int(lockspace_release(b, img, 0), -ENOENT, "handle b holds nothing after it");

	/* And it ends with the lock when the other handle lets go. */
	pthread_create(&t, NULL, releaser, a);
	is_int(lockspace_acquire_many(b, (const char *const[]){img}, 1, LOCKSPACE_WAIT, -1, &failed), 0,
	       "a wait for ever gets the resource when handle a releases it");
	pthread_join(t, NULL);
	is_int(lockspace_release_all(b), 1, "handle b held it");
	lockspace_close(b);
	lockspace_close(a);
}

static void test_direct_links(void)
{
	struct lockspace *ls;
	char h1[PATH_MAX], h2[PATH_MAX], missing[PATH_MAX];
	tu_join(h1, tu_scratch_dir, "h1.img");
	tu_join(h2, tu_scratch_dir, "h2.img");
	tu_join(missing, tu_scratch_dir, "missing.img");
	tu_touch(h1);
	if (link(h1, h2) < 0 || lockspace_open(NULL, 0, &ls) < 0) {
		printf("Bail out! cannot make a hard link or open direct mode\n");
		exit(1);
	}
	size_t failed = 99;
	is_int(lockspace_acquire_many(ls, (const char *const[]){h1, h2}, 2, LOCKSPACE_WAIT, 2000, &failed),
	       -EINVAL, "direct mode: two hard links of one file are one resource named twice");
	is_int(failed, 1, "failed names the second link");
	failed = 99;
	is_int(lockspace_acquire_many(ls, (const char *const[]){h2, missing, h1}, 3, 0, -1, &failed), -ENOENT,
	       "a path that does not resolve before the repeat: -ENOENT");
	is_int(failed, 1, "failed names the missing path");
	is_int(lockspace_release_all(ls), 0, "nothing held");
	tu_sees(h1, F_UNLCK, 0, "the file is free");
	is_int(lockspace_acquire_many(ls, (const char *const[]){h1}, 1, 0, -1, NULL), 0,
	       "one link alone is taken");
	is_int(lockspace_acquire(ls, h2, 0), -EBUSY, "the other link is the same, held resource");
	is_int(lockspace_release_all(ls), 1, "one hold released");
	lockspace_close(ls);
}

/* The lockspace directory and the resources every test here uses. */
static void setup(void)
{
	tu_lockspace_dir(dir);
	tu_join(img, tu_scratch_dir, "disk.img");
	tu_touch(img);
}

TU_MAIN(setup, test_table_wait, test_direct_links)
