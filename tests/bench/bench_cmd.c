/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench_cmd.c: time two commands as whole processes, alternately, and print median ms
 * (with -s: each command's min, median and max ms too). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Run @argv @iters times with output to /dev/null; mean seconds per run. */
static double run(char **argv, int iters)
{
	double t = now_s();
	for (int i = 0; i < iters; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);
			dup2(null, 1);
			dup2(null, 2);
			execvp(argv[0], argv);
			_exit(127);
		}
		int status;
		waitpid(pid, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) == 127) {
			fprintf(stderr, "bench_cmd: %s failed\n", argv[0]);
			exit(1);
		}
	}
	return (now_s() - t) / iters;
}

int main(int argc, char **argv)
{
	/* -s: the spread too, "MED_A MED_B MIN_A MAX_A MIN_B MAX_B", for a
	 * figure that must hold in every run, not only in the middle one. */
	int spread = argc > 1 && strcmp(argv[1], "-s") == 0;
	if (spread) {
		argv++;
		argc--;
	}
	if (argc < 6) {
		fprintf(stderr, "usage: bench_cmd [-s] ROUNDS ITERS CMD_A... ::: CMD_B...\n");
		return 64;
	}
	int rounds = atoi(argv[1]), iters = atoi(argv[2]);
	char **a = argv + 3, **b = NULL;
	for (int i = 3; i < argc; i++)
		if (strcmp(argv[i], ":::") == 0) {
			argv[i] = NULL;
			b = argv + i + 1;
		}
	if (!b || !*b || rounds < 1 || rounds > 99 || iters < 1)
		return 64;
	double ta[99], tb[99];
	run(a, 1); /* warm-up: caches, page tables */
	run(b, 1);
	for (int r = 0; r < rounds; r++) {
		ta[r] = run(a, iters);
		tb[r] = run(b, iters);
	}
	qsort(ta, (size_t)rounds, sizeof(double), cmp_double);
	qsort(tb, (size_t)rounds, sizeof(double), cmp_double);
	printf("%.4f %.4f", ta[rounds / 2] * 1e3, tb[rounds / 2] * 1e3);
	if (spread)
		printf(" %.4f %.4f %.4f %.4f", ta[0] * 1e3, ta[rounds - 1] * 1e3, tb[0] * 1e3,
		       tb[rounds - 1] * 1e3);
	printf("\n");
	return 0;
}
