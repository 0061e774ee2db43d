/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* acquire_wait.c: a blocking acquire bounded by a timer and broken by signals. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "acquire_wait.h"
#include "clock.h"
#include "image_check.h"
#include "virlock.h"

static volatile sig_atomic_t aw_signo;
static volatile sig_atomic_t aw_expired;

static const int aw_signals[] = {SIGALRM, SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define AW_NSIGNALS (sizeof(aw_signals) / sizeof(aw_signals[0]))

/*
 * A signal that lands just before the library enters F_SETLKW would be lost,
 * so every signal also starts a fast repeating timer: its next tick breaks
 * the wait whenever it began.
 */
static void aw_handler(int sig)
{
	int saved = errno;
	if (sig == SIGALRM)
		aw_expired = 1;
	else if (!aw_signo)
		aw_signo = sig;
	struct itimerval kick = {.it_interval = {0, 10000}, .it_value = {0, 10000}};
	setitimer(ITIMER_REAL, &kick, NULL);
	errno = saved;
}

static void aw_arm(double seconds)
{
	struct itimerval it;
	memset(&it, 0, sizeof(it));
	if (seconds > 0) {
		it.it_value.tv_sec = (time_t)seconds;
		it.it_value.tv_usec = (suseconds_t)((seconds - (double)it.it_value.tv_sec) * 1e6);
		if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0)
			it.it_value.tv_usec = 1;
		it.it_interval.tv_usec = 10000;
	}
	setitimer(ITIMER_REAL, &it, NULL);
}

/* One blocking step: @wait 0 tries once, 1 waits for ever (until a signal). */
typedef int (*aw_step_fn)(void *arg, int wait);

/* Run @step under the deadline and the signals; -EINTR with *signo for a signal. */
static int aw_run(aw_step_fn step, void *arg, double wait, int *signo)
{
	*signo = 0;
	if (wait == 0)
		return step(arg, 0);

	struct sigaction sa, old[AW_NSIGNALS];
	sigset_t set, oldmask;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = aw_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: the wait must return -EINTR */
	sigemptyset(&set);
	aw_signo = 0;
	aw_expired = 0;
	for (size_t i = 0; i < AW_NSIGNALS; i++) {
		sigaction(aw_signals[i], &sa, &old[i]);
		sigaddset(&set, aw_signals[i]);
	}
	sigprocmask(SIG_UNBLOCK, &set, &oldmask);
	aw_arm(wait);

	int err;
	do {
		err = step(arg, 1);
	} while (err == -EINTR && !aw_signo && !aw_expired);

	/* Block, stop the timer and take a tick already sent before the old
	 * handlers come back: a late SIGALRM would otherwise kill us. */
	sigprocmask(SIG_BLOCK, &set, NULL);
	aw_arm(0);
	sigset_t alrm;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	struct timespec zero = {0, 0};
	while (sigtimedwait(&alrm, NULL, &zero) == SIGALRM)
		;
	for (size_t i = 0; i < AW_NSIGNALS; i++)
		sigaction(aw_signals[i], &old[i], NULL);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);

	if (aw_signo) {
		*signo = aw_signo;
		return err == 0 ? 1 : -EINTR; /* 1: done, but a signal came */
	}
	if (err == -EINTR)
		return -ETIMEDOUT;
	return err;
}

struct aw_locks {
	struct lockspace *ls;
	const char *const *resources;
	size_t n;
	unsigned flags;
	unsigned how; /* AW_CHECK_IMAGES, AW_TELL */
	size_t *failed;
	const uint64_t *states; /* --expect-state, or NULL */
	int held;		/* the locks are taken; the images are what is waited for */
	int image_use;		/* an image was in use at the last look */
};

/* How often a wait looks again at an image another program uses: the
 * kernel wakes no one when a lock that does not conflict with ours goes.
 * A look that scans many processes is spaced out more, up to a second. */
#define AW_IMAGE_POLL_MS     100
#define AW_IMAGE_POLL_MAX_MS 1000

/* Does another program use one of the images? Says whom it waits for once. */
static int aw_images_busy(struct aw_locks *a, int wait)
{
	char who[VL_WHO_LEN];
	for (size_t i = 0; i < a->n; i++)
		if (image_in_use(a->resources[i], !!(a->flags & LOCKSPACE_SHARED), who)) {
			if (wait && !a->image_use && (a->how & AW_TELL))
				vl_error("%s: in use by %s; waiting", a->resources[i], who);
			*a->failed = i;
			return 1;
		}
	return 0;
}

/* Look whether another program uses an image: 0 no (or no look), else
 * ACQUIRE_EIMAGE, or -EINTR after a pause (look again). */
static int aw_images_step(struct aw_locks *a, int wait)
{
	long long start = vl_now_ms();
	if (!(a->how & AW_CHECK_IMAGES) || (a->flags & LOCKSPACE_LITERAL) || !aw_images_busy(a, wait)) {
		a->image_use = 0;
		return 0;
	}
	a->image_use = 1;
	if (!wait)
		return ACQUIRE_EIMAGE;
	long long ms = 2 * (vl_now_ms() - start);
	ms = ms < AW_IMAGE_POLL_MS ? AW_IMAGE_POLL_MS : ms > AW_IMAGE_POLL_MAX_MS ? AW_IMAGE_POLL_MAX_MS : ms;
	struct timespec pause = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	nanosleep(&pause, NULL);
	return -EINTR; /* look again, unless a signal or the deadline came */
}

static int aw_locks_step(void *arg, int wait)
{
	struct aw_locks *a = arg;
	if (!a->held) {
		/* An acquire that expects a hand-off consumes it: look at the
		 * images first, so that one in use leaves the hand-off as it is. */
		int err = a->states ? aw_images_step(a, wait) : 0;
		if (err)
			return err;
		unsigned flags = a->flags | (wait ? LOCKSPACE_WAIT : 0);
		err = a->states ? lockspace_acquire_expect(a->ls, a->resources, a->n, flags, -1, a->states,
							   a->failed)
				: lockspace_acquire_many(a->ls, a->resources, a->n, flags, -1, a->failed);
		if (err)
			return err;
		a->held = 1;
	}
	/* Looked at with our locks held: no other acquire of ours slips in. */
	return aw_images_step(a, wait);
}

void acquire_trim(size_t n)
{
	if (n >= 1024)
		malloc_trim(0);
}

int acquire_wait(struct lockspace *ls, const char *const *resources, size_t n, unsigned flags, unsigned how,
		 double wait, size_t *failed, int *signo)
{
	return acquire_wait_expect(ls, resources, n, flags, NULL, how, wait, failed, signo);
}

int acquire_wait_expect(struct lockspace *ls, const char *const *resources, size_t n, unsigned flags,
			const uint64_t *states, unsigned how, double wait, size_t *failed, int *signo)
{
	struct aw_locks a = {ls, resources, n, flags & ~(unsigned)LOCKSPACE_WAIT, how, failed, states, 0, 0};
	int err = aw_run(aw_locks_step, &a, wait, signo);
	if (err == 1)
		err = -EINTR;
	if (err == -ETIMEDOUT && a.image_use)
		err = ACQUIRE_EIMAGE;
	if (err && a.held)
		lockspace_release_all(ls);
	if (err == 0)
		acquire_trim(n);
	return err;
}

struct aw_owner {
	struct lockspace *ls;
	const char *owner;
};

static int aw_owner_step(void *arg, int wait)
{
	struct aw_owner *a = arg;
	return lockspace_claim_owner(a->ls, a->owner, wait ? LOCKSPACE_WAIT : 0, -1);
}

int acquire_wait_owner(struct lockspace *ls, const char *owner, double *wait, int *signo)
{
	struct aw_owner a = {ls, owner};
	long long start = vl_now_ms();
	int err = aw_run(aw_owner_step, &a, *wait, signo);
	if (err == 1)
		err = -EINTR; /* the caller closes @ls, and the claim goes with it */
	if (err == 0 && *wait > 0) {
		/* What is left for the locks; a little at least, so that free ones are taken. */
		double left = *wait - (double)(vl_now_ms() - start) / 1000;
		*wait = left > 0.01 ? left : 0.01;
	}
	return err;
}
