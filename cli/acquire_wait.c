/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* acquire_wait.c: a blocking acquire bounded by a timer and broken by signals. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>

#include "acquire_wait.h"

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

int acquire_wait(struct lockspace *ls, const char *const *resources, size_t n, unsigned flags, double wait,
		 size_t *failed, int *signo)
{
	*signo = 0;
	flags &= ~(unsigned)LOCKSPACE_WAIT;
	if (wait == 0)
		return lockspace_acquire_many(ls, resources, n, flags, 0, failed);

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
		err = lockspace_acquire_many(ls, resources, n, flags | LOCKSPACE_WAIT, -1, failed);
	} while (err == -EINTR && !aw_signo && !aw_expired);

	aw_arm(0);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	for (size_t i = 0; i < AW_NSIGNALS; i++)
		sigaction(aw_signals[i], &old[i], NULL);

	if (aw_signo) {
		if (err == 0)
			lockspace_release_all(ls);
		*signo = aw_signo;
		return -EINTR;
	}
	if (err == -EINTR)
		return -ETIMEDOUT;
	return err;
}
