/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* filelocks.c: every lock on a resource file itself, whoever took it, found through /proc/PID/fdinfo. */
#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "internal.h"

static const char *const qemu_words[LOCKSPACE_QEMU_NPERMS] = {
	"consistent-read",
	"write",
	"write-unchanged",
	"resize",
};

const char *lockspace_qemu_perm_name(unsigned perm)
{
	for (unsigned n = 0; n < LOCKSPACE_QEMU_NPERMS; n++)
		if (perm == 1u << n)
			return qemu_words[n];
	return NULL;
}

/*
 * QEMU before 6.2 also locked the byte of a fifth permission, graph-mod
 * (104 and 204), which it no longer has; the kernel merges adjacent ranges
 * of one owner, so 103-104 means resize held.
 */
#define QEMU_OLD_NPERMS (LOCKSPACE_QEMU_NPERMS + 1)

/* The bits of bytes @base..@base+NPERMS-1 that the range covers, if it lies
 * within QEMU's bytes (a fifth byte included, see QEMU_OLD_NPERMS); QEMU
 * locks nothing else, so a wider range (a whole-file lock) is not its. */
static unsigned qemu_bits(unsigned long long start, unsigned long long end, int to_eof, unsigned base)
{
	if (to_eof || start < base || end >= base + QEMU_OLD_NPERMS)
		return 0;
	unsigned bits = 0;
	for (unsigned long long n = start; n <= end && n < base + LOCKSPACE_QEMU_NPERMS; n++)
		bits |= 1u << (n - base);
	return bits;
}

int lockspace_qemu_decode(unsigned long long start, unsigned long long end, int to_eof, unsigned *perms,
			  unsigned *unshared)
{
	unsigned p = qemu_bits(start, end, to_eof, LOCKSPACE_QEMU_PERM_BASE);
	unsigned u = qemu_bits(start, end, to_eof, LOCKSPACE_QEMU_SHARED_BASE);
	if (perms)
		*perms = p;
	if (unshared)
		*unshared = u;
	/* 104 or 204 alone: an old QEMU's graph-mod byte, QEMU's all the same. */
	return p || u ||
	       (!to_eof && start == end &&
		(start == LOCKSPACE_QEMU_PERM_BASE + LOCKSPACE_QEMU_NPERMS ||
		 start == LOCKSPACE_QEMU_SHARED_BASE + LOCKSPACE_QEMU_NPERMS));
}

/* The result's arrays are const to the caller, and this file's to change
 * and free: drop the qualifier without a cast. */
static void *unconst(const void *p)
{
	void *q;
	memcpy(&q, &p, sizeof(q));
	return q;
}

/* What is being gathered: the holders found so far. */
struct scan {
	dev_t dev;
	unsigned long long ino;
	struct lockspace_file_locks *fl;
	struct lockspace_file_lock *locks;
	size_t cap;
};

static struct lockspace_file_lock *holder(struct scan *s, pid_t pid, enum lockspace_file_lock_type type)
{
	struct lockspace_file_locks *fl = s->fl;
	for (size_t i = fl->nlocks; i-- > 0;) {
		if (s->locks[i].pid != pid)
			break; /* one process at a time: its entries are the last ones */
		if (s->locks[i].type == type)
			return &s->locks[i];
	}
	if (fl->nlocks == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4;
		struct lockspace_file_lock *n = realloc(s->locks, cap * sizeof(*n));
		if (!n)
			return NULL;
		s->locks = n;
		fl->locks = n;
		s->cap = cap;
	}
	struct lockspace_file_lock *h = &s->locks[fl->nlocks++];
	*h = (struct lockspace_file_lock){.pid = pid, .type = type, .mode = LOCKSPACE_STATE_SHARED};
	return h;
}

static int add_range(struct scan *s, pid_t pid, const struct lsi_lock_line *l)
{
	struct lockspace_file_lock *h = holder(s, pid, l->type);
	if (!h)
		return -ENOMEM;
	struct lockspace_file_range r = {
		.start = l->start, .end = l->to_eof ? 0 : l->end, .to_eof = l->to_eof, .mode = l->mode};
	/* A lock shared across fork() or dup() shows on each descriptor. */
	for (size_t i = 0; i < h->nranges; i++)
		if (memcmp(&h->ranges[i], &r, sizeof(r)) == 0)
			return 0;
	struct lockspace_file_range *v = realloc(unconst(h->ranges), (h->nranges + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t at = h->nranges;
	while (at > 0 && v[at - 1].start > r.start) {
		v[at] = v[at - 1];
		at--;
	}
	v[at] = r;
	h->ranges = v;
	h->nranges++;
	if (r.mode == LOCKSPACE_STATE_EXCLUSIVE)
		h->mode = LOCKSPACE_STATE_EXCLUSIVE;
	unsigned perms, unshared;
	if (l->type != LOCKSPACE_FILE_LOCK_FLOCK &&
	    lockspace_qemu_decode(r.start, r.end, r.to_eof, &perms, &unshared)) {
		h->qemu = 1;
		h->qemu_perms |= perms;
		h->qemu_unshared |= unshared;
	}
	return 0;
}

/* The value of the "ino:" line of an fdinfo text, or -1 without one
 * (kernels before 5.14). */
static long long fdinfo_ino(const char *text)
{
	const char *p = strstr(text, "\nino:\t");
	return p ? strtoll(p + 6, NULL, 10) : -1;
}

/*
 * Is the lock line @l, of the inode sought, on the file itself? A lock line
 * names the device of the file system's superblock, which is not always
 * the one stat() gives (a btrfs subvolume has a device of its own): then
 * the descriptor @fdname of @pid is asked once (*@confirmed caches it).
 */
static int same_file(const struct scan *s, const struct lsi_lock_line *l, pid_t pid, const char *fdname,
		     int *confirmed)
{
	if (l->major == major(s->dev) && l->minor == minor(s->dev))
		return 1;
	if (*confirmed < 0) {
		char path[64];
		struct stat st;
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid, fdname);
		*confirmed = stat(path, &st) == 0 && st.st_dev == s->dev &&
			     (unsigned long long)st.st_ino == s->ino;
	}
	return *confirmed;
}

/*
 * The "lock:" lines of one descriptor of @pid, when it is the file. Most
 * descriptors are skipped on the first read: no lock line, or another inode.
 * The lock lines come last; a file locked in many ranges needs more reads.
 */
static int scan_fd(struct scan *s, int dfd, const char *fdname, pid_t pid)
{
	int fd = openat(dfd, fdname, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* closed since readdir, or the process ended */
	char buf[4096];
	size_t len = 0;
	int first = 1, err = 0, confirmed = -1;
	for (;;) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		if (first) {
			first = 0;
			long long ino = fdinfo_ino(buf);
			if (!strstr(buf, "\nlock:\t") && len < sizeof(buf) - 1)
				break;
			if (ino >= 0 && (unsigned long long)ino != s->ino)
				break;
		}
		/* Every complete line; keep a partial last one for the next read. */
		char *line = buf, *nl;
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			struct lsi_lock_line l;
			if (strncmp(line, "lock:\t", 6) == 0 && lsi_parse_lock_line(line + 6, &l) &&
			    l.ino == s->ino && same_file(s, &l, pid, fdname, &confirmed) &&
			    (err = add_range(s, pid, &l)) < 0)
				break;
			line = nl + 1;
		}
		if (err)
			break;
		len = (size_t)(buf + len - line);
		if (len == sizeof(buf) - 1)
			len = 0; /* no line is that long: garbage */
		memmove(buf, line, len);
	}
	close(fd);
	return err;
}

/* One process: its descriptors' lock lines. */
static int scan_pid(struct scan *s, int procfd, const char *pidname)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/fdinfo", pidname);
	int dfd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (errno == EACCES || errno == EPERM)
			s->fl->unreadable++;
		return 0; /* ENOENT: ended since readdir */
	}
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -ENOMEM;
	}
	pid_t pid = (pid_t)strtol(pidname, NULL, 10);
	size_t before = s->fl->nlocks;
	int err = 0;
	struct dirent *de;
	while (!err && (de = readdir(d)))
		if (de->d_name[0] != '.')
			err = scan_fd(s, dirfd(d), de->d_name, pid);
	closedir(d);
	for (size_t i = before; !err && i < s->fl->nlocks; i++)
		s->locks[i].command = lsi_proc_comm(pid);
	return err;
}

static int scan_proc(struct scan *s)
{
	int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return -errno;
	DIR *d = fdopendir(procfd);
	if (!d) {
		close(procfd);
		return -ENOMEM;
	}
	int err = 0;
	struct dirent *de;
	while (!err && (de = readdir(d)))
		if (de->d_name[0] >= '1' && de->d_name[0] <= '9')
			err = scan_pid(s, dirfd(d), de->d_name);
	closedir(d);
	return err;
}

/*
 * A descriptor of this process open on the file @st, or -1: closing another
 * one would drop every POSIX lock the process holds on the file, taken
 * through it by the caller, not the library, so the probe uses this one.
 */
static int own_fd(const struct stat *st)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	int found = -1;
	struct dirent *de;
	while (found < 0 && (de = readdir(d))) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		struct stat fst;
		if (*end || end == de->d_name || fd == dirfd(d) || fd < 0 || fd > INT_MAX)
			continue;
		if (fstat((int)fd, &fst) == 0 && fst.st_dev == st->st_dev && fst.st_ino == st->st_ino)
			found = (int)fd;
	}
	closedir(d);
	return found;
}

/*
 * 1 if an exclusive flock(2) lock is on the open file @fd (a shared one
 * of ours is refused), 0 if not: holds a shared one for an instant.
 */
static int flock_exclusive(int fd)
{
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? 1 : -errno;
	flock(fd, LOCK_UN);
	return 0;
}

/*
 * Whether the scan is worth it: 1 if a fcntl or OFD lock is on the file (or,
 * with @flock_probe, an exclusive flock(2) lock), 0 if none, -errno if it
 * cannot be told. F_OFD_GETLK conflicts with POSIX and OFD locks of every
 * process, this one's included, and changes nothing. A file that this
 * process holds through a lockspace handle is not opened again (closing
 * that descriptor would drop the lock): its lock's descriptor is asked
 * instead, under the table's mutex, about every byte but byte 0, the one
 * its lock takes; another process may share that byte with a shared lock
 * of ours, so then it is locked. Otherwise the file is opened without the
 * mutex (an open of a hung mount stalls no other call of the process), and
 * closed through the table, which keeps the descriptor if a thread locked
 * the file meanwhile.
 */
static int fcntl_locked(const char *path, const struct stat *st, int flock_probe, int no_own_fd)
{
	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode))
		return -ENOTSUP;
	int locked, fd;
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	lsi_table_lock();
	struct lsi_entry *e = lsi_table_find(st->st_dev, st->st_ino);
	if (e) {
		if (e->pending || e->shared || e->fd < 0) {
			locked = 1;
		} else {
			fl.l_start = 1;
			locked = fcntl(e->fd, F_OFD_GETLK, &fl) < 0 ? -errno : fl.l_type != F_UNLCK;
			if (locked == 0 && flock_probe)
				locked = flock_exclusive(e->fd);
		}
		lsi_table_unlock();
		return locked;
	}
	lsi_table_unlock();
	if (!no_own_fd && (fd = own_fd(st)) >= 0) {
		/* The caller's: asked, never closed, and never given a flock(2)
		 * lock, which would change the caller's own on that open file. */
		locked = fcntl(fd, F_OFD_GETLK, &fl) < 0 ? -errno : fl.l_type != F_UNLCK;
		return locked == 0 ? -EAGAIN : locked; /* flock(2) locks: /proc/locks tells */
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct stat now;
	if (fstat(fd, &now) < 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino)
		locked = -EAGAIN; /* renamed over meanwhile */
	else
		locked = fcntl(fd, F_OFD_GETLK, &fl) < 0 ? -errno : fl.l_type != F_UNLCK;
	if (locked == 0 && flock_probe)
		locked = flock_exclusive(fd);
	lsi_close_unheld(fd);
	return locked;
}

/* 1 if /proc/locks shows a lock of any kind on the file, 2 if only a lock on
 * its inode number on another device (its file system's superblock device,
 * as a btrfs subvolume's lines name it, or another file), 0 if none. */
static int proc_locks_show(const struct stat *st)
{
	char *text;
	size_t len;
	int err = lsi_read_proc_locks(&text, &len);
	if (err)
		return err;
	int found = 0;
	for (size_t i = 0; i < len && found != 1;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - (text + i)) : len - i;
		char line[256];
		struct lsi_lock_line ll;
		if (l < sizeof(line)) {
			memcpy(line, text + i, l);
			line[l] = '\0';
			if (lsi_parse_lock_line(line, &ll) && ll.ino == (unsigned long long)st->st_ino)
				found = ll.major == major(st->st_dev) && ll.minor == minor(st->st_dev) ? 1
												       : 2;
		}
		i += l + 1;
	}
	free(text);
	return found;
}

static int lock_cmp(const void *a, const void *b)
{
	const struct lockspace_file_lock *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (int)x->type - (int)y->type;
}

void lockspace_file_locks_free(struct lockspace_file_locks *fl)
{
	if (!fl)
		return;
	for (size_t i = 0; i < fl->nlocks; i++) {
		free(unconst(fl->locks[i].command));
		free(unconst(fl->locks[i].ranges));
	}
	free(unconst(fl->locks));
	free(fl);
}

int lockspace_file_locks(const char *path, unsigned flags, struct lockspace_file_locks **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!path || (flags & ~(unsigned)(LOCKSPACE_FLOCK_PROBE | LOCKSPACE_NO_OWN_FD)))
		return -EINVAL;
	struct stat st;
	if (stat(path, &st) < 0)
		return -errno;
	struct lockspace_file_locks *fl = calloc(1, sizeof(*fl));
	if (!fl)
		return -ENOMEM;
	int probe = !!(flags & LOCKSPACE_FLOCK_PROBE);
	int locked = fcntl_locked(path, &st, probe, !!(flags & LOCKSPACE_NO_OWN_FD));
	/* Without fcntl or OFD locks only a flock(2) lock can be there, and
	 * only /proc/locks tells without the scan (or a probe, for an exclusive one). */
	if (locked < 0 || (locked == 0 && !probe))
		locked = proc_locks_show(&st);
	struct scan s = {.dev = st.st_dev, .ino = (unsigned long long)st.st_ino, .fl = fl};
	int err = locked < 0 ? locked : locked ? scan_proc(&s) : 0;
	if (err) {
		lockspace_file_locks_free(fl);
		return err;
	}
	if (fl->nlocks)
		qsort(s.locks, fl->nlocks, sizeof(*s.locks), lock_cmp);
	fl->incomplete = fl->unreadable || (locked == 1 && !fl->nlocks);
	*out = fl;
	return 0;
}
