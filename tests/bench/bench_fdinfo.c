/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench_fdinfo.c: a host of many processes with many descriptors, and a bare /proc/PID/fdinfo scan. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage_text[] = "usage: bench_fdinfo spawn PROCS FDS IMAGE | scan IMAGE\n";

/* A child: @fds descriptors of /dev/null, and with @image QEMU's image locks
 * on it (OFD, bytes 100-101 and 201); says so on @ready, then waits to die. */
static void child(int fds, const char *image, int ready)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	int null = open("/dev/null", O_RDONLY);
	for (int i = 1; i < fds; i++)
		if (dup(null) < 0)
			_exit(1);
	if (image) {
		int fd = open(image, O_RDWR);
		struct flock a = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 2};
		struct flock b = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 201, .l_len = 1};
		if (fd < 0 || fcntl(fd, F_OFD_SETLK, &a) < 0 || fcntl(fd, F_OFD_SETLK, &b) < 0)
			_exit(1);
	}
	if (write(ready, "r", 1) != 1)
		_exit(1);
	for (;;)
		pause();
}

/* Start @procs children (the first holds the image), print "ready", and keep
 * them until SIGTERM or EOF on stdin; then kill each by pid and reap it. */
static int spawn(int procs, int fds, const char *image)
{
	int p[2];
	if (pipe(p) < 0)
		return 1;
	pid_t *pids = calloc((size_t)procs, sizeof(*pids));
	if (!pids)
		return 1;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < procs; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			close(p[0]);
			child(fds, i == 0 ? image : NULL, p[1]);
		}
		if (pids[i] < 0)
			break;
	}
	close(p[1]);
	char c;
	int n = 0;
	while (n < procs && read(p[0], &c, 1) == 1)
		n++;
	int rc = n == procs ? 0 : 1;
	if (!rc) {
		printf("ready\n");
		fflush(stdout);
		int sig;
		sigwait(&set, &sig);
	}
	for (int i = 0; i < procs && pids[i] > 0; i++)
		kill(pids[i], SIGKILL);
	for (int i = 0; i < procs && pids[i] > 0; i++)
		waitpid(pids[i], NULL, 0);
	free(pids);
	return rc;
}

/* The bare scan: every /proc/PID/fdinfo/FD read once, matched by its "ino:"
 * line against @image's inode; prints the number of matching descriptors. */
static int scan(const char *image)
{
	struct stat st;
	if (stat(image, &st) < 0)
		return 1;
	char want[48];
	snprintf(want, sizeof(want), "\nino:\t%llu\n", (unsigned long long)st.st_ino);
	DIR *proc = opendir("/proc");
	if (!proc)
		return 1;
	int found = 0;
	struct dirent *de;
	while ((de = readdir(proc))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char path[300];
		snprintf(path, sizeof(path), "%s/fdinfo", de->d_name);
		int dfd = openat(dirfd(proc), path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			continue;
		DIR *d = fdopendir(dfd);
		if (!d) {
			close(dfd);
			continue;
		}
		struct dirent *fe;
		while ((fe = readdir(d))) {
			if (fe->d_name[0] == '.')
				continue;
			int fd = openat(dirfd(d), fe->d_name, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			char buf[4096];
			ssize_t r = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (r <= 0)
				continue;
			buf[r] = '\0';
			found += strstr(buf, want) != NULL;
		}
		closedir(d);
	}
	closedir(proc);
	printf("%d\n", found);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "spawn") == 0)
		return spawn(atoi(argv[2]), atoi(argv[3]), argv[4]);
	if (argc == 3 && strcmp(argv[1], "scan") == 0)
		return scan(argv[2]);
	fputs(usage_text, stderr);
	return 64;
}
