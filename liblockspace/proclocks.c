/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* proclocks.c: blocked waiters from /proc/locks, read only when asked for; a holder's own locks
 * from its /proc/PID/fdinfo. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "internal.h"

/*
 * Reading /proc/locks costs time quadratic in the locks held on the whole
 * host and stalls every fcntl() caller while it runs, so it is read only for
 * what no other interface shows: waiters, every holder of a shared lock, and
 * flock(2) locks on a resource file. A line reads:
 *   "12: -> POSIX  ADVISORY  WRITE 4242 fd:01:1234 0 EOF"
 * where "->" marks a process blocked behind the lock of the line above; the
 * "lock:" lines of /proc/PID/fdinfo/FD read the same, without a waiter mark.
 */
int lsi_parse_lock_line(const char *line, struct lsi_lock_line *out)
{
	char kind[16], mode[16], rw[16], end[24];
	int pid;
	unsigned major, minor;
	unsigned long long ino, start;
	const char *p = strchr(line, ':');
	if (!p)
		return 0;
	p++;
	while (*p == ' ')
		p++;
	int blocked = strncmp(p, "->", 2) == 0;
	if (blocked)
		p += 2;
	if (sscanf(p, "%15s %15s %15s %d %x:%x:%llu %llu %23s", kind, mode, rw, &pid, &major, &minor, &ino,
		   &start, end) != 9)
		return 0;
	struct lsi_lock_line l = {
		.major = major, .minor = minor, .ino = ino, .pid = pid, .start = start, .blocked = blocked};
	if (strcmp(kind, "POSIX") == 0)
		l.type = LOCKSPACE_FILE_LOCK_POSIX;
	else if (strcmp(kind, "OFDLCK") == 0)
		l.type = LOCKSPACE_FILE_LOCK_OFD;
	else if (strcmp(kind, "FLOCK") == 0)
		l.type = LOCKSPACE_FILE_LOCK_FLOCK;
	else
		return 0; /* a lease, or a kind this code does not know */
	if (strcmp(rw, "READ") == 0)
		l.mode = LOCKSPACE_STATE_SHARED;
	else if (strcmp(rw, "WRITE") == 0)
		l.mode = LOCKSPACE_STATE_EXCLUSIVE;
	else
		return 0;
	if (strcmp(end, "EOF") == 0) {
		l.to_eof = 1;
	} else {
		char *e;
		errno = 0;
		l.end = strtoull(end, &e, 10);
		if (errno || *e || l.end < start)
			return 0;
	}
	*out = l;
	return 1;
}

static int parse_line(const char *line, struct lsi_waiter *w, int *read_lock)
{
	struct lsi_lock_line l;
	if (!lsi_parse_lock_line(line, &l) || l.type != LOCKSPACE_FILE_LOCK_POSIX || l.start != 0)
		return 0;
	if (read_lock) /* fdinfo: a pid of another pid namespace reads 0 */
		*read_lock = l.mode == LOCKSPACE_STATE_SHARED;
	else if (l.pid <= 0)
		return 0;
	*w = (struct lsi_waiter){
		.major = l.major, .minor = l.minor, .ino = l.ino, .pid = l.pid, .blocked = l.blocked};
	return 1;
}

static int waiter_cmp(const void *a, const void *b)
{
	const struct lsi_waiter *x = a, *y = b;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	if (x->blocked != y->blocked)
		return x->blocked - y->blocked;
	if (x->major != y->major || x->minor != y->minor)
		return x->major != y->major ? (x->major < y->major ? -1 : 1) : (x->minor < y->minor ? -1 : 1);
	return (x->pid > y->pid) - (x->pid < y->pid);
}

int lsi_parse_proc_locks(const char *text, size_t len, struct lsi_waiter **out, size_t *n)
{
	struct lsi_waiter *v = NULL;
	size_t cnt = 0, cap = 0;
	char line[256];
	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - (text + i)) : len - i;
		if (l < sizeof(line)) {
			memcpy(line, text + i, l);
			line[l] = '\0';
			struct lsi_waiter w;
			if (parse_line(line, &w, NULL)) {
				if (cnt == cap) {
					cap = cap ? cap * 2 : 16;
					struct lsi_waiter *nv = realloc(v, cap * sizeof(*nv));
					if (!nv) {
						free(v);
						return -ENOMEM;
					}
					v = nv;
				}
				v[cnt++] = w;
			}
		}
		i += l + 1;
	}
	if (cnt) {
		/* The kernel serves the file a page per read: while locks change,
		 * a line may be served twice. */
		qsort(v, cnt, sizeof(*v), waiter_cmp);
		size_t k = 1;
		for (size_t j = 1; j < cnt; j++)
			if (waiter_cmp(&v[j], &v[k - 1]) != 0)
				v[k++] = v[j];
		cnt = k;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int lsi_read_proc_locks(char **text, size_t *len)
{
	*text = NULL;
	*len = 0;
	int fd = open("/proc/locks", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t n = 0, cap = 65536;
	char *buf = malloc(cap);
	int err = 0;
	for (;;) {
		if (!buf) {
			err = -ENOMEM;
			break;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap) {
			cap *= 2;
			char *nb = realloc(buf, cap);
			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	*text = buf;
	*len = n;
	return 0;
}

int lsi_read_waiters(struct lsi_waiter **out, size_t *n)
{
	char *buf;
	size_t len;
	*out = NULL;
	*n = 0;
	int err = lsi_read_proc_locks(&buf, &len);
	if (!err)
		err = lsi_parse_proc_locks(buf, len, out, n);
	free(buf);
	return err;
}

/* The "lock:" lines of one fdinfo file: 1 if one is a read lock on @dev:@ino. */
static int fdinfo_shows(int fd, dev_t dev, unsigned long long ino)
{
	char buf[4096];
	size_t len = 0;
	ssize_t r;
	while (len < sizeof(buf) - 1 && (r = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	static const char tag[] = "\nlock:\t";
	for (const char *p = strstr(buf, tag); p; p = strstr(p + 1, tag)) {
		char line[256];
		const char *from = p + sizeof(tag) - 1, *nl = strchr(from, '\n');
		size_t l = nl ? (size_t)(nl - from) : strlen(from);
		if (l >= sizeof(line))
			continue;
		memcpy(line, from, l);
		line[l] = '\0';
		struct lsi_waiter w;
		int rd = 0;
		if (parse_line(line, &w, &rd) && rd && w.ino == ino && w.major == major(dev) &&
		    w.minor == minor(dev))
			return 1;
	}
	return 0;
}

int lsi_fdinfo_read_lock(pid_t pid, dev_t dev, unsigned long long ino)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fdinfo", (int)pid);
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	DIR *d = fdopendir(dfd);
	if (!d) {
		int err = -errno;
		close(dfd);
		return err;
	}
	int found = 0, err = 0;
	struct dirent *de;
	errno = 0;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			if (errno != ENOENT) /* ENOENT: closed since readdir */
				err = -errno;
			continue;
		}
		found = fdinfo_shows(fd, dev, ino);
		close(fd);
		errno = 0;
	}
	if (!found && !err && errno)
		err = -errno;
	closedir(d);
	return found ? 1 : err;
}
