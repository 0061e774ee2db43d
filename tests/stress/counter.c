/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* counter.c: P forked writers (and R shared readers) bump a counter file under one lock; nothing is lost. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <lockspace.h>

#include "stress.h"

/* What the workers tell the parent: shared memory, so it survives their exit. */
struct board {
	atomic_int writers_in; /* writers inside the critical section now */
	atomic_int readers_in; /* readers inside now */
	atomic_long overlaps;  /* a writer found anyone else inside, or a reader found a writer */
	atomic_long changed;   /* a reader saw the counter change under its shared lock */
	atomic_long acquires;  /* granted acquires, readers included */
	atomic_long reads;     /* reader double-reads done */
	struct stress_errors errors;
};

static struct board *board;
static volatile sig_atomic_t alarm_rang;

/* The usage text: usage(usage_text) prints it and exits 2. */
static const char usage_text[] =
	"usage: counter [-N] [-r READERS] [-t SECONDS] [-R RESOURCE] DIR COUNTERFILE P M\n"
	"P writer processes each take RESOURCE (default \"counter\", literal) exclusively M times\n"
	"with LOCKSPACE_WAIT and add one to COUNTERFILE (read, sched_yield, write); READERS\n"
	"processes take it shared M times each and read the counter twice. -N takes no lock\n"
	"(to show that the test can fail). Prints one line of figures; exit 0 when the count\n"
	"is exactly P*M and no overlap was seen, 1 otherwise, 2 on usage.\n";

static long read_counter(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/* The read-modify-write that loses updates unless the lock serialises it. */
static int bump(const char *file)
{
	int fd = open(file, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	long v = read_counter(fd);
	sched_yield();
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%ld\n", v + 1);
	/* The value only grows, so the new text always covers the old. */
	int rc = pwrite(fd, buf, (size_t)len, 0) == len ? 0 : -EIO;
	close(fd);
	return v < 0 ? -EIO : rc;
}

static int peek(const char *file, long *v)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*v = read_counter(fd);
	close(fd);
	return *v < 0 ? -EIO : 0;
}

static void writer(struct lockspace *ls, const char *res, const char *file, long m)
{
	for (long i = 0; i < m; i++) {
		int rc = ls ? lockspace_acquire(ls, res, LOCKSPACE_LITERAL | LOCKSPACE_WAIT) : 0;
		if (rc < 0) {
			note_error(&board->errors, "counter", rc, "writer acquire");
			return;
		}
		atomic_fetch_add(&board->acquires, 1);
		int before = atomic_fetch_add(&board->writers_in, 1);
		if (before != 0 || atomic_load(&board->readers_in) != 0)
			atomic_fetch_add(&board->overlaps, 1);
		rc = bump(file);
		if (rc < 0)
			note_error(&board->errors, "counter", rc, "writer bump");
		atomic_fetch_sub(&board->writers_in, 1);
		rc = ls ? lockspace_release(ls, res, LOCKSPACE_LITERAL) : 0;
		if (rc < 0) {
			note_error(&board->errors, "counter", rc, "writer release");
			return;
		}
	}
}

static void reader(struct lockspace *ls, const char *res, const char *file, long m)
{
	for (long i = 0; i < m; i++) {
		int rc =
			ls ? lockspace_acquire(ls, res, LOCKSPACE_LITERAL | LOCKSPACE_WAIT | LOCKSPACE_SHARED)
			   : 0;
		if (rc < 0) {
			note_error(&board->errors, "counter", rc, "reader acquire");
			return;
		}
		atomic_fetch_add(&board->acquires, 1);
		atomic_fetch_add(&board->readers_in, 1);
		if (atomic_load(&board->writers_in) != 0)
			atomic_fetch_add(&board->overlaps, 1);
		long a = 0, b = 0;
		rc = peek(file, &a);
		sched_yield();
		if (rc == 0)
			rc = peek(file, &b);
		if (rc < 0)
			note_error(&board->errors, "counter", rc, "reader read");
		else if (a != b)
			atomic_fetch_add(&board->changed, 1);
		atomic_fetch_add(&board->reads, 1);
		atomic_fetch_sub(&board->readers_in, 1);
		rc = ls ? lockspace_release(ls, res, LOCKSPACE_LITERAL) : 0;
		if (rc < 0) {
			note_error(&board->errors, "counter", rc, "reader release");
			return;
		}
	}
}

static void on_alarm(int sig)
{
	(void)sig;
	alarm_rang = 1;
}

int main(int argc, char **argv)
{
	int nolock = 0, opt;
	long readers = 0, limit = 600;
	const char *res = "counter";
	while ((opt = getopt(argc, argv, "Nr:t:R:")) != -1) {
		switch (opt) {
		case 'N':
			nolock = 1;
			break;
		case 'r':
			readers = atol(optarg);
			break;
		case 't':
			limit = atol(optarg);
			break;
		case 'R':
			res = optarg;
			break;
		default:
			usage(usage_text);
		}
	}
	if (optind + 4 != argc || readers < 0 || limit <= 0)
		usage(usage_text);
	const char *dir = argv[optind], *file = argv[optind + 1];
	long p = atol(argv[optind + 2]), m = atol(argv[optind + 3]);
	if (p <= 0 || m <= 0 || p + readers > 4096)
		usage(usage_text);

	board = mmap(NULL, sizeof(*board), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (board == MAP_FAILED) {
		perror("counter: mmap");
		return 1;
	}
	memset(board, 0, sizeof(*board));
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "0\n", 2) != 2) {
		perror(file);
		return 1;
	}
	close(fd);

	long n = p + readers;
	pid_t *pids = calloc((size_t)n, sizeof(*pids));
	if (!pids)
		return 1;
	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("counter: fork");
			for (long j = 0; j < i; j++)
				kill(pids[j], SIGKILL);
			return 1;
		}
		if (pids[i] == 0) {
			/* Each worker its own handle: a forked child holds nothing of its parent's. */
			struct lockspace *ls = NULL;
			int rc = nolock ? 0 : lockspace_open(dir, 0, &ls);
			if (rc < 0)
				note_error(&board->errors, "counter", rc, "open");
			else if (i < p)
				writer(ls, res, file, m);
			else
				reader(ls, res, file, m);
			lockspace_close(ls);
			_exit(0);
		}
	}

	/* The deadline: a wait that never ends (a lost wake-up) must fail, not hang. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	alarm((unsigned)limit);
	long left = n, crashed = 0;
	while (left > 0) {
		int status;
		pid_t w = waitpid(-1, &status, 0);
		if (w < 0 && errno == EINTR && alarm_rang) {
			fprintf(stderr, "counter: %ld workers still running after %ld s: killed\n", left,
				limit);
			for (long i = 0; i < n; i++)
				kill(pids[i], SIGKILL);
			while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
				;
			crashed += left;
			break;
		}
		if (w < 0)
			continue;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			crashed++;
		left--;
	}
	alarm(0);
	double elapsed = now_s() - t0;

	long count = -1;
	if (peek(file, &count) < 0)
		count = -1;
	long acquires = atomic_load(&board->acquires);
	long expect = p * m;
	printf("P=%ld M=%ld readers=%ld count=%ld expected=%ld elapsed=%.3fs acquires=%ld "
	       "acquires_per_s=%.0f overlaps=%ld reader_checks=%ld reader_changes=%ld errors=%ld "
	       "crashed=%ld%s\n",
	       p, m, readers, count, expect, elapsed, acquires,
	       elapsed > 0 ? (double)acquires / elapsed : 0.0, atomic_load(&board->overlaps),
	       atomic_load(&board->reads), atomic_load(&board->changed), atomic_load(&board->errors.count),
	       crashed, nolock ? " (no lock)" : "");
	free(pids);
	return count == expect && atomic_load(&board->overlaps) == 0 && atomic_load(&board->changed) == 0 &&
			       atomic_load(&board->errors.count) == 0 && crashed == 0
		       ? 0
		       : 1;
}
