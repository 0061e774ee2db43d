/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* clock.c: the one monotonic clock of virlock's deadlines and waits. */
#include <time.h>

#include "clock.h"

long long vl_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
