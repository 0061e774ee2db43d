/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* helper.h: what the test helpers share: the usage exit, the error line, the clock, the "ready" line, the
 * stop signals and the lock flags their options set. */
#ifndef HELPER_H
#define HELPER_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <lockspace.h>

/* Print the helper's usage text on stderr and exit 2. */
static inline _Noreturn void usage(const char *text)
{
	fputs(text, stderr);
	exit(2);
}

/* Print "PROG: WHAT: message" on stderr (code: -errno from the library, or a positive errno); returns 1,
 * the helpers' status for an error. */
static inline int fail(const char *prog, const char *what, int code)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, code < 0 ? lockspace_strerror(code) : strerror(code));
	return 1;
}

/* CLOCK_MONOTONIC in milliseconds. */
static inline long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Print "ready" on stdout and flush it: the caller waits for that line. Returns 0, or 1 said on stderr. */
static inline int announce(const char *prog)
{
	if (puts("ready") == EOF || fflush(stdout) == EOF)
		return fail(prog, "stdout", errno);
	return 0;
}

/* Block SIGTERM, SIGINT and SIGHUP, the signals that stop a helper, and return a signalfd that reads
 * them, or -errno. */
static inline int stop_signals_fd(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	return sfd < 0 ? -errno : sfd;
}

/* The lock options the helpers share: -s shared, -w wait, -l literal, -b by name. Adds opt's flag to
 * *flags and returns 1, or returns 0 when opt is none of them. */
static inline int lock_option(int opt, unsigned *flags)
{
	switch (opt) {
	case 's':
		*flags |= LOCKSPACE_SHARED;
		return 1;
	case 'w':
		*flags |= LOCKSPACE_WAIT;
		return 1;
	case 'l':
		*flags |= LOCKSPACE_LITERAL;
		return 1;
	case 'b':
		*flags |= LOCKSPACE_BYNAME;
		return 1;
	}
	return 0;
}

#endif
