/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* twohandles.c: test helper: one process, two handles on one lockspace, only the first labelled. */
#include <string.h>

#include "helper.h"

/*
 * twohandles DIR LABEL RES1 RES2: open DIR twice; label the first handle
 * LABEL (lockspace_set_owner) and acquire RES1 with it; acquire RES2 with the
 * second; print "ready". Then read commands, one a line, each answered by a
 * line once done: "release" releases RES2 through the second handle
 * ("released"); "close" closes the labelled handle ("closed"). End of input
 * closes what is open. Exit status: 0, 1 when a call fails (said on standard
 * error), 2 usage.
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
	int status = err ? fail("twohandles", step, err) : announce("twohandles");
	char line[64];
	while (!status && fgets(line, sizeof(line), stdin)) {
		if (strcmp(line, "release\n") == 0) {
			err = lockspace_release(other, argv[4], 0);
			status = err ? fail("twohandles", "release", err) : puts("released") < 0;
		} else if (strcmp(line, "close\n") == 0) {
			lockspace_close(labelled);
			labelled = NULL;
			status = puts("closed") < 0;
		} else {
			fprintf(stderr, "twohandles: unknown command %s", line);
			status = 2;
		}
		if (fflush(stdout) == EOF)
			status = 1;
	}
	lockspace_close(other);
	lockspace_close(labelled);
	return status;
}
