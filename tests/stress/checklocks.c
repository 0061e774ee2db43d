/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* checklocks.c: probe every lock file of a lockspace with F_GETLK, without the library; no dead holders. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stress.h"

/* The usage text: usage(usage_text) prints it and exits 2. */
static const char usage_text[] =
	"usage: checklocks [-f] [-v] DIR\n"
	"Probe byte 0 of every lock file (32 hex digits) in DIR with F_GETLK and check that\n"
	"each holder the kernel names is a live process; -f: that every file is free;\n"
	"-v: print each held lock. Prints \"files=N held=H dead=D\".\n"
	"Exit 0 if all is well, 1 if not, 2 on usage.\n";

static int is_name(const char *s)
{
	size_t i = 0;
	for (; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == 32;
}

/* Alive and not a zombie (a zombie has dropped its locks already). */
static int alive(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* F_GETLK on byte 0: 0 free, 1 held (*pid, *type), or -errno. */
static int probe(int dirfd, const char *name, pid_t *pid, short *type)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno; /* pruned meanwhile: free */
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	int rc = fcntl(fd, F_GETLK, &fl);
	int err = errno;
	close(fd);
	if (rc < 0)
		return -err;
	*pid = fl.l_pid;
	*type = fl.l_type;
	return fl.l_type != F_UNLCK;
}

int main(int argc, char **argv)
{
	int want_free = 0, verbose = 0, opt;
	while ((opt = getopt(argc, argv, "fv")) != -1) {
		if (opt == 'f')
			want_free = 1;
		else if (opt == 'v')
			verbose = 1;
		else
			usage(usage_text);
	}
	if (optind + 1 != argc)
		usage(usage_text);
	int dirfd = open(argv[optind], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dirfd < 0 ? NULL : fdopendir(dup(dirfd));
	if (!d) {
		perror(argv[optind]);
		return 1;
	}
	long files = 0, held = 0, dead = 0, errors = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!is_name(de->d_name))
			continue;
		files++;
		pid_t pid = 0;
		short type = F_UNLCK;
		int rc = probe(dirfd, de->d_name, &pid, &type);
		if (rc < 0) {
			fprintf(stderr, "checklocks: %s: %s\n", de->d_name, strerror(-rc));
			errors++;
			continue;
		}
		if (rc == 0)
			continue;
		held++;
		if (verbose)
			printf("%s %d %s\n", de->d_name, (int)pid, type == F_RDLCK ? "shared" : "exclusive");
		if (want_free) {
			fprintf(stderr, "checklocks: %s: held by pid %d, expected free\n", de->d_name,
				(int)pid);
			errors++;
		}
		/* A holder that exits between the probe and the look is not a dead
		 * holder: only one the kernel still names once it is gone is. */
		if (!alive(pid)) {
			pid_t again = 0;
			if (probe(dirfd, de->d_name, &again, &type) == 1 && again == pid) {
				fprintf(stderr, "checklocks: %s: held by pid %d, which is dead\n", de->d_name,
					(int)pid);
				dead++;
			}
		}
	}
	closedir(d);
	close(dirfd);
	printf("files=%ld held=%ld dead=%ld\n", files, held, dead);
	return dead == 0 && errors == 0 ? 0 : 1;
}
