/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* stress.h: what the stress tools share: the clock, the count of errors with the first one said, the usage
 * exit. */
#ifndef STRESS_H
#define STRESS_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <lockspace.h>

/* CLOCK_MONOTONIC in seconds. */
static inline double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Errors seen by every thread or process of a tool (in shared memory for processes). */
struct stress_errors {
	atomic_long count;
	atomic_int first; /* the first error's code; 0 until one is seen */
};

/* Count one error; the first one is printed on stderr as "PROG: WHAT: message"
 * (code: -errno from the library, or a positive errno). */
static inline void note_error(struct stress_errors *e, const char *prog, int code, const char *what)
{
	int zero = 0;
	if (atomic_compare_exchange_strong(&e->first, &zero, code))
		fprintf(stderr, "%s: %s: %s\n", prog, what,
			code < 0 ? lockspace_strerror(code) : strerror(code));
	atomic_fetch_add(&e->count, 1);
}

/* Print the tool's usage text on stderr and exit 2. */
static inline _Noreturn void usage(const char *text)
{
	fputs(text, stderr);
	exit(2);
}

#endif
