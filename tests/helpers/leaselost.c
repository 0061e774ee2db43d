/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* leaselost.c: test helper that holds a lease through the library, watches it, and releases it once lost. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <lockspace.h>

/*
 * leaselost DIR RESOURCE: acquire RESOURCE in DIR, print "ready", wait (up
 * to a minute) for lockspace_watch_fd() to turn ready, then print what
 * lockspace_lost() and lockspace_release() say. Exit status: 0 when the
 * release reported the loss (-ENOLINK), 1 otherwise, 2 usage.
 */
int main(int argc, char **argv)
{
	if (argc != 3) {
		fputs("usage: leaselost DIR RESOURCE\n", stderr);
		return 2;
	}
	struct lockspace *ls;
	int err = lockspace_open(argv[1], LOCKSPACE_OPEN_NOCREATE, &ls);
	if (!err)
		err = lockspace_acquire(ls, argv[2], 0);
	if (err) {
		fprintf(stderr, "leaselost: %s: %s\n", argv[2], lockspace_strerror(err));
		return 1;
	}
	int fd = lockspace_watch_fd(ls);
	if (fd < 0) {
		fprintf(stderr, "leaselost: watch: %s\n", lockspace_strerror(fd));
		return 1;
	}
	printf("held: %s\n", lockspace_strerror(lockspace_lost(ls, 0)));
	puts("ready");
	fflush(stdout);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n;
	while ((n = poll(&p, 1, 60000)) < 0 && errno == EINTR)
		;
	printf("watch: %s\n", n == 1 ? "ready" : "timed out");
	printf("lost: %s\n", lockspace_strerror(lockspace_lost(ls, 0)));
	err = lockspace_release(ls, argv[2], 0);
	printf("release: %s\n", lockspace_strerror(err));
	lockspace_close(ls);
	return err == -ENOLINK ? 0 : 1;
}
