/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* acquire_wait.h: taking locks with a deadline and an ear for SIGINT and SIGTERM. */
#ifndef VIRLOCK_ACQUIRE_WAIT_H
#define VIRLOCK_ACQUIRE_WAIT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include <lockspace.h>

/* What acquire_wait() does besides taking the locks. */
enum acquire_wait_how {
	AW_CHECK_IMAGES = 1u << 0, /* the images must not be in use by another program (image_in_use()) */
	AW_TELL = 1u << 1,	   /* say once on stderr whom a wait for an image waits for */
};

/* acquire_wait()'s answer when another program uses an image (resources[*failed]). */
#define ACQUIRE_EIMAGE (-EADDRINUSE)

/*
 * Acquire @n resources all-or-nothing through @ls, which must hold nothing
 * else, and, with AW_CHECK_IMAGES in @how, then see that no other program
 * uses one of them as an image (not with LOCKSPACE_LITERAL). @wait < 0
 * waits for ever, 0 does not wait, > 0 waits up to @wait seconds, for the
 * locks and then for the images. The wait for the locks blocks in F_SETLKW
 * (so the kernel lists the waiter); the wait for an image looks again every
 * 100 ms, the locks held. A timer enforces the deadline, and SIGINT,
 * SIGTERM, SIGHUP or SIGQUIT end it. Returns 0, a library error, -ETIMEDOUT
 * at the deadline, ACQUIRE_EIMAGE (an image in use, at once or at the
 * deadline), or -EINTR with *signo set when a signal ended the wait; in
 * every error case nothing is held.
 */
int acquire_wait(struct lockspace *ls, const char *const *resources, size_t n, unsigned flags, unsigned how,
		 double wait, size_t *failed, int *signo);
/* The same, taking each resource only in the state @states[i] of its
 * hand-off (lockspace_acquire_expect()); @states NULL: acquire_wait(). */
int acquire_wait_expect(struct lockspace *ls, const char *const *resources, size_t n, unsigned flags,
			const uint64_t *states, unsigned how, double wait, size_t *failed, int *signo);

/*
 * Claim the owner label @owner for @ls (lockspace_claim_owner()) under the
 * same deadline and signals as acquire_wait(): *@wait < 0 waits for ever, 0
 * not at all, > 0 up to *@wait seconds, and is then lowered to what is left
 * of it for the locks. Returns 0, -EBUSY, -ETIMEDOUT, -EINTR with *signo set,
 * or a library error.
 */
int acquire_wait_owner(struct lockspace *ls, const char *owner, double *wait, int *signo);

/*
 * After taking @n locks: a holder of thousands keeps them for hours, so the
 * pages that resolving their paths used go back to the system
 * (malloc_trim(3)), not only the table's. Nothing for a few.
 */
void acquire_trim(size_t n);

#endif
