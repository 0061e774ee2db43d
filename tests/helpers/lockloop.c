/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lockloop.c: test helper that acquires and releases one resource in a loop, logging each hold. */
#include <fcntl.h>
#include <unistd.h>
#include "helper.h"

/* One write(2) per line: O_APPEND keeps the lines of all processes whole and ordered. */
static int log_line(int fd, const char *what)
{
	char buf[64];
	int len = snprintf(buf, sizeof(buf), "%s %d\n", what, (int)getpid());
	return write(fd, buf, (size_t)len) == len ? 0 : -1;
}

static const char usage_text[] =
	"usage: lockloop [-s] [-t MS] [-p US] DIR RESOURCE LOG MILLISECONDS\n"
	"Acquire RESOURCE (waiting at most MS each time, default 10000, -1 for ever), append\n"
	"\"start PID\", stay 0.2 ms, append \"end PID\", release, pause US microseconds;\n"
	"again until MILLISECONDS have passed.\n"
	"Prints the number of holds. Exit status: 0, or 1 on any error.\n";

int main(int argc, char **argv)
{
	unsigned flags = LOCKSPACE_WAIT;
	int timeout = 10000, pause_us = 0, opt;
	while ((opt = getopt(argc, argv, "st:p:")) != -1) {
		if (lock_option(opt, &flags))
			continue;
		switch (opt) {
		case 't':
			timeout = atoi(optarg);
			break;
		case 'p':
			pause_us = atoi(optarg);
			break;
		default:
			usage(usage_text);
		}
	}
	if (optind + 4 != argc)
		usage(usage_text);
	const char *dir = argv[optind], *res = argv[optind + 1], *logpath = argv[optind + 2];
	long long end = now_ms() + atoll(argv[optind + 3]);

	int logfd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (logfd < 0)
		return fail("lockloop", logpath, errno);
	struct lockspace *ls;
	int err = lockspace_open(dir, 0, &ls);
	if (err < 0) {
		fprintf(stderr, "lockloop: lockspace %s: %s\n", dir, lockspace_strerror(err));
		close(logfd);
		return 1;
	}
	long iterations = 0;
	int rc = 0;
	/* A short stay in the critical section widens the window an overlap would need. */
	const struct timespec stay = {.tv_sec = 0, .tv_nsec = 200000};
	while (now_ms() < end) {
		err = lockspace_acquire_many(ls, (const char *const *)&res, 1, flags, timeout, NULL);
		if (err < 0) {
			rc = fail("lockloop", res, err);
			break;
		}
		if (log_line(logfd, "start") < 0 || nanosleep(&stay, NULL) < 0 ||
		    log_line(logfd, "end") < 0) {
			rc = fail("lockloop", logpath, errno);
		}
		err = lockspace_release(ls, res, 0);
		if (err < 0) {
			fprintf(stderr, "lockloop: release %s: %s\n", res, lockspace_strerror(err));
			rc = 1;
		}
		if (rc)
			break;
		iterations++;
		/* Outside the critical section the file is free: prune's chance. */
		const struct timespec pause = {.tv_sec = pause_us / 1000000,
					       .tv_nsec = pause_us % 1000000 * 1000L};
		if (pause_us > 0)
			nanosleep(&pause, NULL);
	}
	printf("%ld\n", iterations);
	lockspace_close(ls);
	close(logfd);
	return rc;
}
