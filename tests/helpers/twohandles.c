/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* twohandles.c: test helper: one process, two handles on one lockspace, only the first labelled. */
#include "helper.h"

/*
 * twohandles DIR LABEL RES1 RES2: open DIR twice; label the first handle
 * LABEL (lockspace_set_owner) and acquire RES1 with it; acquire RES2 with the
 * second; print "ready", wait for end of input, close both. Exit status: 0,
 * 1 when a call fails (said on standard error), 2 usage.
 */
int main(int argc, char **argv)
{
	if (argc != 5)
		usage("usage: twohandles DIR LABEL RES1 RES2\n");
	struct lockspace *labelled = NULL, *other = NULL;
	const char *step = "open";
	int err = lockspace_open(argv[1], LOCKSPACE_OPEN_NOCREATE, &labelled);
	if (!err)
		err = lockspace_open(argv[1], LOCKSPACE_OPEN_NOCREATE, &other);
	if (!err && (step = "set_owner", err = lockspace_set_owner(labelled, argv[2], 0)) == 0 &&
	    (step = argv[3], err = lockspace_acquire(labelled, argv[3], 0)) == 0)
		step = argv[4], err = lockspace_acquire(other, argv[4], 0);
	if (err) {
		lockspace_close(other);
		lockspace_close(labelled);
		return fail("twohandles", step, err);
	}
	int status = announce("twohandles");
	while (!status && getchar() != EOF)
		;
	lockspace_close(other);
	lockspace_close(labelled);
	return status;
}
