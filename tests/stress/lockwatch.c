/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lockwatch.c: an independent observer that samples /proc/locks and fails on two holders of one inode. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "stress.h"

#define MAX_LOCKS 65536

struct lk {
	unsigned long ino;
	long long start, end; /* end -1: to EOF */
	int pid;
	int write;
	int chunk; /* the read() it came from: one read is one consistent snapshot */
};

static struct lk locks[MAX_LOCKS];
static const char *source = "/proc/locks";
static unsigned long mine[MAX_LOCKS]; /* inodes of DIR's lock files at this sample */
static size_t nmine;

/* Note the inodes of the lock files in @dir now, to tell our locks from the host's. */
static void scan_dir(const char *dir)
{
	nmine = 0;
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) && nmine < MAX_LOCKS)
		if (strlen(de->d_name) == 32 && de->d_name[0] != '.')
			mine[nmine++] = de->d_ino;
	closedir(d);
}

static int is_mine(unsigned long ino)
{
	for (size_t i = 0; i < nmine; i++)
		if (mine[i] == ino)
			return 1;
	return 0;
}
static char buf[1 << 16];

/* The usage text: usage(usage_text) prints it and exits 2. */
static const char usage_text[] =
	"usage: lockwatch [-t SECONDS] [-i MICROSECONDS] [-p FILE] DIR STOPFILE\n"
	"Sample /proc/locks every MICROSECONDS (default 5000) until STOPFILE exists or SECONDS\n"
	"(default 300) pass, and fail if two different pids ever hold conflicting POSIX locks\n"
	"(one of them a write lock) on one inode of DIR's filesystem. Prints \"ready\" after\n"
	"the first sample and a line of figures at the end: busy_samples saw locks on DIR's lock\n"
	"files, max_locks is the most distinct ones in a sample. -p reads FILE instead of /proc/locks\n"
	"(to show that a conflict is caught). Exit 0 clean, 1 on a conflict or\n"
	"error, 2 on usage.\n";

/* Parse one /proc/locks line; 1 if it is a granted POSIX lock on device @maj:@min. */
static int parse(char *line, unsigned maj, unsigned min, struct lk *out)
{
	char *save = NULL, *tok[10];
	int n = 0;
	for (char *t = strtok_r(line, " \t", &save); t && n < 10; t = strtok_r(NULL, " \t", &save))
		tok[n++] = t;
	/* "1: POSIX ADVISORY WRITE 123 00:2d:456 0 0"; waiters have "->" second. */
	if (n < 8 || strcmp(tok[1], "POSIX") != 0)
		return 0;
	unsigned a, b;
	unsigned long ino;
	if (sscanf(tok[5], "%x:%x:%lu", &a, &b, &ino) != 3 || a != maj || b != min)
		return 0;
	out->write = strcmp(tok[3], "WRITE") == 0;
	out->pid = atoi(tok[4]);
	out->ino = ino;
	out->start = atoll(tok[6]);
	out->end = strcmp(tok[7], "EOF") == 0 ? -1 : atoll(tok[7]);
	return 1;
}

static int overlap(const struct lk *x, const struct lk *y)
{
	int x_before_y = x->end >= 0 && x->end < y->start;
	int y_before_x = y->end >= 0 && y->end < x->start;
	return !x_before_y && !y_before_x;
}

static int by_ino(const void *a, const void *b)
{
	const struct lk *x = a, *y = b;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* One sample: returns the number of locks on the device, or -1; adds to *conflicts
 * (any conflict on the device counts) and sets *ours to the locks on DIR's files. */
static long sample(const char *dir, unsigned maj, unsigned min, long *conflicts, long *ours)
{
	scan_dir(dir);
	int fd = open(source, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t nl = 0;
	int chunk = 0;
	char carry[512];
	size_t ncarry = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf[n] = '\0';
		char *p = buf;
		char *nlp;
		while ((nlp = strchr(p, '\n'))) {
			*nlp = '\0';
			/* seq_file hands out whole records, but be safe about a split one. */
			char line[512];
			size_t take = strlen(p);
			if (take > sizeof(line) - 1 - ncarry)
				take = sizeof(line) - 1 - ncarry;
			memcpy(line, carry, ncarry);
			memcpy(line + ncarry, p, take);
			line[ncarry + take] = '\0';
			ncarry = 0;
			if (nl < MAX_LOCKS && parse(line, maj, min, &locks[nl])) {
				locks[nl].chunk = chunk;
				nl++;
			}
			p = nlp + 1;
		}
		size_t rest = strlen(p);
		if (rest && rest < sizeof(carry)) {
			memcpy(carry, p, rest);
			ncarry = rest;
		}
		chunk++;
	}
	close(fd);
	/* A lock moved between two reads may show twice: count distinct ones. */
	*ours = 0;
	for (size_t i = 0; i < nl; i++) {
		if (!is_mine(locks[i].ino))
			continue;
		size_t j = 0;
		while (j < i && !(locks[j].ino == locks[i].ino && locks[j].pid == locks[i].pid &&
				  locks[j].write == locks[i].write))
			j++;
		*ours += j == i;
	}
	/* Conflicts: pairs on one inode, so sort by inode and look within each run. */
	qsort(locks, nl, sizeof(locks[0]), by_ino);
	for (size_t i = 0; i < nl; i++)
		for (size_t j = i + 1; j < nl && locks[j].ino == locks[i].ino; j++) {
			const struct lk *x = &locks[i], *y = &locks[j];
			if (x->pid == y->pid || x->chunk != y->chunk || !(x->write || y->write) ||
			    !overlap(x, y))
				continue;
			if ((*conflicts)++ < 5)
				fprintf(stderr,
					"lockwatch: inode %lu held by pid %d (%s) and pid %d (%s) at once\n",
					x->ino, x->pid, x->write ? "write" : "read", y->pid,
					y->write ? "write" : "read");
		}
	return (long)nl;
}

int main(int argc, char **argv)
{
	long limit = 300, interval = 5000;
	int opt;
	while ((opt = getopt(argc, argv, "t:i:p:")) != -1) {
		if (opt == 't')
			limit = atol(optarg);
		else if (opt == 'p')
			source = optarg;
		else if (opt == 'i')
			interval = atol(optarg);
		else
			usage(usage_text);
	}
	if (optind + 2 != argc || limit <= 0 || interval < 0)
		usage(usage_text);
	struct stat st;
	if (stat(argv[optind], &st) < 0) {
		perror(argv[optind]);
		return 1;
	}
	const char *stop = argv[optind + 1];
	unsigned maj = major(st.st_dev), min = minor(st.st_dev);
	long samples = 0, busy = 0, max = 0, conflicts = 0;
	double t0 = now_s(), deadline = t0 + (double)limit;
	int timed_out = 0;
	for (;;) {
		long ours = 0;
		long n = sample(argv[optind], maj, min, &conflicts, &ours);
		if (n < 0) {
			perror(source);
			return 1;
		}
		samples++;
		busy += ours > 0;
		max = ours > max ? ours : max;
		if (samples == 1) {
			puts("ready");
			fflush(stdout);
		}
		if (access(stop, F_OK) == 0)
			break;
		if (now_s() > deadline) {
			timed_out = 1;
			break;
		}
		struct timespec ts = {interval / 1000000, (interval % 1000000) * 1000L};
		nanosleep(&ts, NULL);
	}
	printf("samples=%ld busy_samples=%ld max_locks=%ld conflicts=%ld seconds=%.1f%s\n", samples, busy,
	       max, conflicts, now_s() - t0, timed_out ? " (deadline)" : "");
	return conflicts == 0 ? 0 : 1;
}
