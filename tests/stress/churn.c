/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* churn.c: a library user that takes and drops random resources until its deadline, for crash tests. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <lockspace.h>

#include "stress.h"

#define MAX_PICK 3

/* The usage text: usage(usage_text) prints it and exits 2. */
static const char usage_text[] =
	"usage: churn [-s SEED] [-t SECONDS] [-o OWNER] [-n COUNT] DIR RESOURCE...\n"
	"Until SECONDS pass (default 60) or COUNT rounds are done: take 1 to 3 random literal\n"
	"RESOURCEs (exclusive or shared, waiting up to 200 ms), hold them a random moment, release.\n"
	"-o records the holder with OWNER, so that a kill leaves a stale record behind.\n"
	"Prints \"ready\" once the lockspace is open; errors other than busy or timed out go to\n"
	"stderr. Exit 0, 1 on an error, 2 on usage.\n";

int main(int argc, char **argv)
{
	unsigned seed = (unsigned)getpid();
	long limit = 60, count = -1;
	const char *owner = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "s:t:o:n:")) != -1) {
		switch (opt) {
		case 's':
			seed = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 't':
			limit = atol(optarg);
			break;
		case 'o':
			owner = optarg;
			break;
		case 'n':
			count = atol(optarg);
			break;
		default:
			usage(usage_text);
		}
	}
	if (optind + 2 > argc || limit <= 0)
		usage(usage_text);
	const char *dir = argv[optind];
	char **res = argv + optind + 1;
	size_t nres = (size_t)(argc - optind - 1);

	struct lockspace *ls;
	int err = lockspace_open(dir, 0, &ls);
	if (err == 0 && owner)
		err = lockspace_set_owner(ls, owner, 0);
	if (err < 0) {
		fprintf(stderr, "churn: %s: %s\n", dir, lockspace_strerror(err));
		return 1;
	}
	puts("ready");
	fflush(stdout);

	double deadline = now_s() + (double)limit;
	int status = 0;
	for (long round = 0; (count < 0 || round < count) && now_s() < deadline; round++) {
		/* k distinct resources (a partial shuffle): one named twice is a
		 * caller's mistake (-EINVAL), not contention. */
		const char *pick[MAX_PICK];
		size_t k = 1 + (size_t)rand_r(&seed) % MAX_PICK;
		if (k > nres)
			k = nres;
		for (size_t i = 0; i < k; i++) {
			size_t j = i + (size_t)rand_r(&seed) % (nres - i);
			char *t = res[j];
			res[j] = res[i];
			res[i] = t;
			pick[i] = t;
		}
		unsigned flags = LOCKSPACE_LITERAL | LOCKSPACE_WAIT;
		if (rand_r(&seed) % 4 == 0)
			flags |= LOCKSPACE_SHARED;
		err = lockspace_acquire_many(ls, pick, k, flags, 200, NULL);
		/* Contention is an outcome, not a failure. */
		if (err == -EBUSY || err == -ETIMEDOUT)
			continue;
		if (err < 0) {
			fprintf(stderr, "churn: acquire %s: %s\n", pick[0], lockspace_strerror(err));
			status = 1;
			continue;
		}
		struct timespec hold = {0, (long)(rand_r(&seed) % 2000) * 1000L};
		nanosleep(&hold, NULL);
		if (lockspace_release_all(ls) != (int)k) {
			fprintf(stderr, "churn: release_all did not release %zu holds\n", k);
			status = 1;
		}
	}
	lockspace_close(ls);
	return status;
}
