/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench_lib.c: the library's acquire+release against a bare syscall loop, and a bare scan. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lockspace.h>
#include <md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static char **make_resources(const char *dir, int n)
{
	char **res = calloc((size_t)n, sizeof(*res));
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/res", dir);
	mkdir(path, 0700);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/res/disk%04d.img", dir, i);
		int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
		res[i] = strdup(path);
	}
	return res;
}

/* What the library does for an acquire+release of an existing lock file,
 * written as plainly as possible: the floor it is measured against. */
static int bare_once(const char *lsdir, const char *resource)
{
	char real[PATH_MAX], name[LOCKSPACE_NAME_LEN + 1], file[PATH_MAX + 40];
	if (!realpath(resource, real))
		return -1;
	MD5Data((const uint8_t *)real, strlen(real), name);
	snprintf(file, sizeof(file), "%s/%s", lsdir, name);
	int fd = open(file, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	int rc = fcntl(fd, F_SETLK, &fl);
	struct stat a, b;
	fstat(fd, &a);
	stat(file, &b);
	fl.l_type = F_UNLCK;
	if (rc == 0)
		fcntl(fd, F_SETLK, &fl);
	close(fd);
	return rc;
}

static double run_lib(struct lockspace *ls, char **res, int n, int iters)
{
	double t = now_s();
	for (int k = 0; k < iters; k++)
		for (int i = 0; i < n; i++)
			if (lockspace_acquire(ls, res[i], 0) == 0)
				lockspace_release(ls, res[i], 0);
	return (now_s() - t) / ((double)iters * n);
}

static double run_bare(const char *lsdir, char **res, int n, int iters)
{
	double t = now_s();
	for (int k = 0; k < iters; k++)
		for (int i = 0; i < n; i++)
			bare_once(lsdir, res[i]);
	return (now_s() - t) / ((double)iters * n);
}

/* Alternate library and bare rounds so that drift of the machine cancels;
 * print the medians in microseconds per acquire+release. */
static int cmd_single(const char *dir, int n, int iters, int rounds)
{
	char lsdir[PATH_MAX];
	snprintf(lsdir, sizeof(lsdir), "%s/ls", dir);
	char **res = make_resources(dir, n);
	struct lockspace *ls;
	if (lockspace_open(lsdir, 0, &ls) < 0)
		return 1;
	double lib[64], bare[64];
	run_lib(ls, res, n, 1); /* creates the lock files: measure existing ones */
	run_bare(lsdir, res, n, 1);
	for (int r = 0; r < rounds && r < 64; r++) {
		lib[r] = run_lib(ls, res, n, iters);
		bare[r] = run_bare(lsdir, res, n, iters);
	}
	qsort(lib, (size_t)rounds, sizeof(double), cmp_double);
	qsort(bare, (size_t)rounds, sizeof(double), cmp_double);
	printf("%.3f %.3f\n", lib[rounds / 2] * 1e6, bare[rounds / 2] * 1e6);
	lockspace_close(ls);
	for (int i = 0; i < n; i++)
		free(res[i]);
	free(res);
	return 0;
}

/* @procs processes each make @iters random acquire+release attempts on @n
 * resources; returns wall time of the whole. */
static double contend(const char *lsdir, char **res, int n, int procs, int iters, int use_lib)
{
	double t = now_s();
	for (int p = 0; p < procs; p++) {
		pid_t pid = fork();
		if (pid == 0) {
			struct lockspace *ls = NULL;
			if (use_lib && lockspace_open(lsdir, 0, &ls) < 0)
				_exit(1);
			unsigned seed = (unsigned)p * 7919u + 1;
			for (int k = 0; k < iters; k++) {
				int i = (int)(rand_r(&seed) % (unsigned)n);
				if (!use_lib)
					bare_once(lsdir, res[i]);
				else if (lockspace_acquire(ls, res[i], 0) == 0)
					lockspace_release(ls, res[i], 0);
			}
			lockspace_close(ls);
			_exit(0);
		}
	}
	while (wait(NULL) > 0)
		;
	return now_s() - t;
}

static int cmd_contend(const char *dir, int n, int procs, int iters, int rounds)
{
	char lsdir[PATH_MAX];
	snprintf(lsdir, sizeof(lsdir), "%s/ls", dir);
	char **res = make_resources(dir, n);
	double lib[64], bare[64];
	contend(lsdir, res, n, procs, 100, 1);
	for (int r = 0; r < rounds && r < 64; r++) {
		lib[r] = contend(lsdir, res, n, procs, iters, 1);
		bare[r] = contend(lsdir, res, n, procs, iters, 0);
	}
	qsort(lib, (size_t)rounds, sizeof(double), cmp_double);
	qsort(bare, (size_t)rounds, sizeof(double), cmp_double);
	double ops = (double)procs * iters;
	printf("%.3f %.3f\n", lib[rounds / 2] / ops * 1e6, bare[rounds / 2] / ops * 1e6);
	for (int i = 0; i < n; i++)
		free(res[i]);
	free(res);
	return 0;
}

/* The floor of "list -a": readdir, open, F_GETLK, close per lock file. */
static int cmd_scan(const char *lsdir)
{
	DIR *d = opendir(lsdir);
	if (!d)
		return 1;
	struct dirent *de;
	long held = 0, files = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
		if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
			held++;
		files++;
		close(fd);
	}
	closedir(d);
	printf("%ld files, %ld held\n", files, held);
	return 0;
}

/* One row of the scan+printf floor: what "list -a" shows of a lock file. */
struct scan_row {
	char path[256];
	int held;
	pid_t pid;
};

static int scan_row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct scan_row *)a)->path, ((const struct scan_row *)b)->path);
}

/*
 * The fair floor of "list -a" in @mode "table", "json" or "raw": the bare
 * scan, plus a pread of each file's content (its resource, which the rows
 * show), the rows sorted by it and printed with printf in the same shape
 * as list's (PATH MODE PID, padded for a table, one JSON object a row).
 */
static int cmd_scanprint(const char *lsdir, const char *mode)
{
	DIR *d = opendir(lsdir);
	if (!d)
		return 1;
	struct scan_row *rows = NULL;
	size_t n = 0, cap = 0, wpath = 4;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			rows = realloc(rows, cap * sizeof(*rows));
			if (!rows)
				return 1;
		}
		struct scan_row *r = &rows[n++];
		ssize_t len = pread(fd, r->path, sizeof(r->path) - 1, 0);
		r->path[len > 0 ? len : 0] = '\0';
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
		r->held = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
		r->pid = r->held ? fl.l_pid : 0;
		close(fd);
		if (strlen(r->path) > wpath)
			wpath = strlen(r->path);
	}
	closedir(d);
	qsort(rows, n, sizeof(*rows), scan_row_cmp);
	int json = strcmp(mode, "json") == 0, raw = strcmp(mode, "raw") == 0;
	if (json)
		printf("{\n   \"locks\": [\n");
	else if (raw)
		printf("PATH MODE PID\n");
	else
		printf("%-*s %-9s %5s\n", (int)wpath, "PATH", "MODE", "PID");
	for (size_t i = 0; i < n; i++) {
		const struct scan_row *r = &rows[i];
		const char *m = r->held ? "exclusive" : "free";
		if (json && r->held)
			printf("%s      {\n         \"path\": \"%s\",\n         \"mode\": \"%s\",\n"
			       "         \"pid\": %d\n      }",
			       i ? ",\n" : "", r->path, m, (int)r->pid);
		else if (json)
			printf("%s      {\n         \"path\": \"%s\",\n         \"mode\": \"%s\",\n"
			       "         \"pid\": null\n      }",
			       i ? ",\n" : "", r->path, m);
		else if (raw && r->held)
			printf("%s %s %d\n", r->path, m, (int)r->pid);
		else if (raw)
			printf("%s %s -\n", r->path, m);
		else if (r->held)
			printf("%-*s %-9s %5d\n", (int)wpath, r->path, m, (int)r->pid);
		else
			printf("%-*s %s\n", (int)wpath, r->path, m);
	}
	if (json)
		printf("\n   ]\n}\n");
	free(rows);
	return 0;
}

/* Make @n lock files for the literal resources res-0 ... res-(n-1). */
static int cmd_populate(const char *lsdir, int n)
{
	struct lockspace *ls;
	if (lockspace_open(lsdir, 0, &ls) < 0)
		return 1;
	char res[32];
	for (int i = 0; i < n; i++) {
		snprintf(res, sizeof(res), "res-%d", i);
		if (lockspace_acquire(ls, res, LOCKSPACE_LITERAL) == 0)
			lockspace_release(ls, res, LOCKSPACE_LITERAL);
	}
	lockspace_close(ls);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "populate") == 0)
		return cmd_populate(argv[2], atoi(argv[3]));
	if (argc >= 6 && strcmp(argv[1], "single") == 0)
		return cmd_single(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
	if (argc >= 7 && strcmp(argv[1], "contend") == 0)
		return cmd_contend(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
	if (argc >= 3 && strcmp(argv[1], "scan") == 0)
		return cmd_scan(argv[2]);
	if (argc >= 4 && strcmp(argv[1], "scanprint") == 0)
		return cmd_scanprint(argv[2], argv[3]);
	fprintf(stderr,
		"usage: bench_lib single DIR NFILES ITERS ROUNDS | contend DIR NRES PROCS ITERS ROUNDS | "
		"scan LOCKSPACE | scanprint LOCKSPACE table|json|raw | populate LOCKSPACE N\n");
	return 64;
}
