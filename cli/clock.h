/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* clock.h: the one monotonic clock of virlock's deadlines and waits. */
#ifndef VIRLOCK_CLOCK_H
#define VIRLOCK_CLOCK_H

/* Milliseconds of CLOCK_MONOTONIC: only differences mean anything. */
long long vl_now_ms(void);

#endif
