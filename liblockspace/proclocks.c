/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* proclocks.c: blocked waiters from /proc/locks, read only when asked for. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/*
 * Reading /proc/locks costs time quadratic in the locks held on the whole
 * host and stalls every fcntl() caller while it runs, so it is read only for
 * what no other interface shows: waiters, and every holder of a shared lock. A line reads:
 *   "12: -> POSIX  ADVISORY  WRITE 4242 fd:01:1234 0 0"
 * where "->" marks a process blocked behind the lock of the line above.
 */
static int parse_line(const char *line, struct lsi_waiter *w)
{
	char kind[16], mode[16], rw[16], start[24];
	int pid, used = 0;
	unsigned major, minor;
	unsigned long long ino;
	const char *p = strchr(line, ':');
	if (!p)
		return 0;
	p++;
	while (*p == ' ')
		p++;
	int blocked = strncmp(p, "->", 2) == 0;
	if (blocked)
		p += 2;
	if (sscanf(p, "%15s %15s %15s %d %x:%x:%llu %23s%n", kind, mode, rw, &pid, &major, &minor, &ino,
		   start, &used) != 8)
		return 0;
	if (strcmp(kind, "POSIX") != 0 || strcmp(start, "0") != 0 || pid <= 0)
		return 0;
	*w = (struct lsi_waiter){.major = major, .minor = minor, .ino = ino, .pid = pid, .blocked = blocked};
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
			if (parse_line(line, &w)) {
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

int lsi_read_waiters(struct lsi_waiter **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	int fd = open("/proc/locks", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	int err = 0;
	for (;;) {
		if (!buf) {
			err = -ENOMEM;
			break;
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == cap) {
			cap *= 2;
			char *nb = realloc(buf, cap);
			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	close(fd);
	if (!err)
		err = lsi_parse_proc_locks(buf, len, out, n);
	free(buf);
	return err;
}
