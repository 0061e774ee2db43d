/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* leaselost.c: test helper that holds a lease through the library, watches it, and releases it once lost. */
#include <poll.h>
#include "helper.h"

/*
 * leaselost DIR RESOURCE [again]: acquire RESOURCE in DIR, print "ready",
 * wait (up to a minute) for lockspace_watch_fd() to turn ready, then print
 * what lockspace_lost() and lockspace_release() say. With "again", print
 * what lockspace_host_id() says (the daemon is gone) and
 * "released", wait for a line on standard input (the daemon is back and the
 * host joined again), and print what acquiring RESOURCE once more says, and
 * then lockspace_lost(). Exit status: 0 when the release reported the loss
 * (-ENOLINK) and the new acquire (with "again") succeeded, 1 otherwise, 2
 * usage.
 */
int main(int argc, char **argv)
{
	int again = argc == 4 && strcmp(argv[3], "again") == 0;
	if (argc != 3 && !again)
		usage("usage: leaselost DIR RESOURCE [again]\n");
	struct lockspace *ls;
	int err = lockspace_open(argv[1], LOCKSPACE_OPEN_NOCREATE, &ls);
	if (!err)
		err = lockspace_acquire(ls, argv[2], 0);
	if (err)
		return fail("leaselost", argv[2], err);
	int fd = lockspace_watch_fd(ls);
	if (fd < 0)
		return fail("leaselost", "watch", fd);
	printf("held: %s\n", lockspace_strerror(lockspace_lost(ls, 0)));
	if (announce("leaselost"))
		return 1;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n;
	while ((n = poll(&p, 1, 60000)) < 0 && errno == EINTR)
		;
	printf("watch: %s\n", n == 1 ? "ready" : "timed out");
	printf("lost: %s\n", lockspace_strerror(lockspace_lost(ls, 0)));
	err = lockspace_release(ls, argv[2], 0);
	printf("release: %s\n", lockspace_strerror(err));
	int status = err == -ENOLINK ? 0 : 1;
	if (again) {
		char line[64];
		unsigned id = 0;
		int perr = lockspace_host_id(ls, &id);
		printf("holders: %s\n", perr ? lockspace_strerror(perr) : "known");
		puts("released");
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			status = 1;
		err = lockspace_acquire(ls, argv[2], 0);
		printf("again: %s\n", lockspace_strerror(err));
		printf("lost: %s\n", lockspace_strerror(lockspace_lost(ls, 0)));
		status |= err != 0;
	}
	lockspace_close(ls);
	return status;
}
