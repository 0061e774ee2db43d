/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* acquire_wait.h: taking locks with a deadline and an ear for SIGINT and SIGTERM. */
#ifndef VIRLOCK_ACQUIRE_WAIT_H
#define VIRLOCK_ACQUIRE_WAIT_H

#include <stddef.h>

#include <lockspace.h>

/*
 * Acquire @n resources all-or-nothing through @ls, which must hold nothing
 * else. @wait < 0 waits for ever, 0 does not wait, > 0 waits up to @wait
 * seconds. The wait blocks in F_SETLKW (so the kernel lists the waiter); a
 * timer enforces the deadline, and SIGINT, SIGTERM, SIGHUP or SIGQUIT end it.
 * Returns 0, a library error, -ETIMEDOUT at the deadline, or -EINTR with
 * *signo set when a signal ended the wait; in every error case nothing is held.
 */
int acquire_wait(struct lockspace *ls, const char *const *resources, size_t n, unsigned flags, double wait,
		 size_t *failed, int *signo);

#endif
