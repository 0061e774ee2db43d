/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* records.c: holder records, what list needs and the kernel does not know. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "internal.h"

/*
 * <dir>/.holders/<pid> is a text file written atomically (temporary file and
 * rename) by a handle that called lockspace_set_owner():
 *   virlock-holder 1
 *   pid N
 *   start TICKS          (field 22 of /proc/<pid>/stat: tells a reused pid)
 *   owner LABEL          (optional)
 *   child N              (optional)
 *   kernel-child 1       (optional: the child is the one the kernel lists as
 *                         the process's, /proc/PID/task/PID/children; a
 *                         supervisor writes it before its child exists)
 *   lock NAME shared|exclusive SINCE
 *   wait NAME shared|exclusive SINCE   (sanlock: a lease it waits for)
 *   auto 1               (sanlock: a process that never called lockspace_set_owner())
 *   control @NAME        (optional: the abstract name of its control socket,
 *                         virlock/ and 32 random hex digits; none: the file)
 * The kernel's lock state stays the truth; a record only adds labels.
 * In a sanlock lockspace every holder keeps one, owner or not: the daemon
 * names no holder process, so the record is how a pid is known at all.
 */

/* Read the small file @path (of /proc) into @buf, NUL-terminated: the bytes
 * read, or -errno. */
static ssize_t proc_read(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, size - 1);
	int err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	buf[n] = '\0';
	return n;
}

/* The start time of @pid from /proc/PID/stat into *@start (0 for a zombie,
 * which holds no locks any more): 0, or -errno when the file cannot be read
 * (no such process, or a /proc mounted with hidepid hides it). */
static int proc_stat_start(pid_t pid, unsigned long long *start)
{
	char path[64], buf[1024];
	*start = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	ssize_t n = proc_read(path, buf, sizeof(buf));
	if (n <= 0)
		return n < 0 ? (int)n : -ESRCH;
	/* The command name may hold spaces and parentheses: count from the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	if (p[0] == ' ' && (p[1] == 'Z' || p[1] == 'X'))
		return 0;
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	*start = p ? strtoull(p + 1, NULL, 10) : 0;
	return 0;
}

unsigned long long lsi_proc_start(pid_t pid)
{
	unsigned long long start;
	proc_stat_start(pid, &start);
	return start;
}

/* This process's start time, read once per process: every rewrite of a
 * record and every control socket name needs it, and it never changes.
 * Atomics, not a mutex, so that a fork amid a call leaves nothing taken:
 * threads of one process store the same values, and a forked child sees
 * its parent's pid and reads its own. */
static pid_t self_pid;
static unsigned long long self_start;

unsigned long long lsi_self_start(void)
{
	pid_t pid = getpid();
	if (__atomic_load_n(&self_pid, __ATOMIC_ACQUIRE) == pid)
		return __atomic_load_n(&self_start, __ATOMIC_RELAXED);
	unsigned long long start = lsi_proc_start(pid);
	if (start) {
		__atomic_store_n(&self_start, start, __ATOMIC_RELAXED);
		__atomic_store_n(&self_pid, pid, __ATOMIC_RELEASE);
	}
	return start;
}

enum lsi_pid_state lsi_pid_judge(pid_t pid, unsigned long long start)
{
	if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
		return LSI_PID_GONE;
	unsigned long long now;
	if (proc_stat_start(pid, &now) < 0)
		return LSI_PID_UNKNOWN; /* alive, but its /proc entry is hidden from us */
	return now != 0 && (now == start || start == 0) ? LSI_PID_LIVE : LSI_PID_GONE;
}

/* The children of the thread @path names (/proc/PID/task/TID/children):
 * the one child's pid, 0 for none, -1 for several (or a list that does not
 * parse), -errno when it cannot be read. */
static pid_t proc_only_child(const char *path)
{
	char buf[64];
	ssize_t n = proc_read(path, buf, sizeof(buf));
	if (n < 0)
		return (pid_t)n;
	char *end;
	errno = 0;
	long v = strtol(buf, &end, 10);
	if (end == buf)
		return buf[strspn(buf, " \n")] ? -1 : 0;
	int one = !errno && v > 0 && v <= 0x7fffffff && end[strspn(end, " \n")] == '\0';
	return one ? (pid_t)v : -1;
}

/* The child of @pid (a record's "kernel-child 1"): the one child its main
 * thread has, as the kernel lists it; 0 for none, several, or no list. */
static pid_t proc_kernel_child(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	pid_t child = proc_only_child(path);
	return child > 0 ? child : 0;
}

char *lsi_proc_comm(pid_t pid)
{
	char path[64], buf[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if (proc_read(path, buf, sizeof(buf)) <= 0)
		return NULL;
	buf[strcspn(buf, "\n")] = '\0';
	return strdup(buf);
}

/* .holders must belong to the lockspace's owner (or root, or in a group
 * lockspace its group) and be closed to others, as the lockspace itself: its
 * records and sockets steer releases. In a group lockspace it must also be
 * the group's, setgid and open to the group (2770), or the other members
 * could neither write their records nor read the others'. */
int lsi_holders_fit(const struct lockspace *ls, const struct stat *st)
{
	const mode_t group_mode = S_ISGID | S_IRWXG;
	if (st->st_mode & S_IWOTH)
		return 0;
	if (ls->group)
		return st->st_gid == ls->dir_gid && (st->st_mode & group_mode) == group_mode;
	return st->st_uid == 0 || st->st_uid == ls->dir_uid;
}

static int holders_dir_safe(const struct lockspace *ls, int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	return lsi_holders_fit(ls, &st) ? fd : -EPERM;
}

/* Open (and with @create make) the directory @name under @dfd, and check it. */
static int holders_open(const struct lockspace *ls, int dfd, const char *name, int create)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(dfd, name, ls->group ? 02770 : 0700) < 0 && errno != EEXIST)
			return -errno;
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && ls->group)
			(void)fchmod(fd, 02770);
	}
	if (fd < 0)
		return errno == ELOOP ? -ENOTDIR : -errno;
	int err = holders_dir_safe(ls, fd);
	if (err < 0)
		close(fd);
	return err;
}

int lsi_holders_dir(const struct lockspace *ls, int how)
{
	char sub[32];
	int create = how & LSI_HOLDERS_CREATE;
	if (ls->backend->holders_sub) {
		int err = ls->backend->holders_sub(ls, how & LSI_HOLDERS_OWN, sub, sizeof(sub));
		if (err < 0) /* this host has no records there (not joined) */
			return create ? err : -ENOENT;
	}
	int fd = holders_open(ls, ls->dirfd, LSI_HOLDERS_DIR, create);
	if (fd < 0 || !ls->backend->holders_sub)
		return fd;
	int subfd = holders_open(ls, fd, sub, create);
	close(fd);
	return subfd;
}

int lsi_holders_path(const struct lockspace *ls, char **path)
{
	*path = NULL;
	if (ls->dirfd < 0)
		return -EOPNOTSUPP;
	char sub[32] = "";
	if (ls->backend->holders_sub) {
		int err = ls->backend->holders_sub(ls, 0, sub, sizeof(sub));
		if (err < 0)
			return err;
	}
	if (asprintf(path, "%s/%s%s%s", ls->dir, LSI_HOLDERS_DIR, *sub ? "/" : "", sub) < 0) {
		*path = NULL;
		return -ENOMEM;
	}
	return 0;
}

int lockspace_host_id(struct lockspace *ls, unsigned *host_id)
{
	if (!ls || !host_id)
		return -EINVAL;
	*host_id = 0;
	if (ls->dirfd < 0 || !ls->backend->holders_sub)
		return 0; /* one host, or hosts that need not be told apart */
	/* A host's records directory is named for its id (h<id>, by the
	 * backend's holders_sub): the id is read where the layout is known. */
	char sub[32] = "";
	int err = ls->backend->holders_sub(ls, 0, sub, sizeof(sub));
	if (err < 0)
		return err;
	char *end = NULL;
	unsigned long id = sub[0] == 'h' ? strtoul(sub + 1, &end, 10) : 0;
	if (!end || *end || id == 0 || id > UINT_MAX)
		return -EPROTO;
	*host_id = (unsigned)id;
	return 0;
}

/* The record's text is built outside the file and written at once. It has a
 * line per lock: a holder of thousands would leave a hole of that size in
 * its heap for hours, so a text that outgrows the buffer on the stack (a
 * few locks fit) moves to its own mapping, gone when written. */
struct text {
	char *buf;
	size_t len, cap;
	int err;
	int mapped; /* buf is a mapping, not @small */
	char small[1024];
};

static int text_init(struct text *t)
{
	t->len = 0;
	t->err = 0;
	t->mapped = 0;
	t->buf = t->small;
	t->cap = sizeof(t->small);
	return 0;
}

static void text_free(struct text *t)
{
	if (t->mapped)
		munmap(t->buf, t->cap);
	t->buf = NULL;
}

/* Make room for at least @need more bytes: 0, or -ENOMEM in t->err. */
static int text_grow(struct text *t, size_t need)
{
	size_t cap = ((t->cap + need + 1) * 2 + 4095) & ~(size_t)4095;
	char *b;
	if (t->mapped) {
		b = mremap(t->buf, t->cap, cap, MREMAP_MAYMOVE);
	} else {
		b = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (b != MAP_FAILED)
			memcpy(b, t->buf, t->len);
	}
	if (b == MAP_FAILED) {
		t->err = -ENOMEM;
		return t->err;
	}
	t->buf = b;
	t->cap = cap;
	t->mapped = 1;
	return 0;
}

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	if (t->err)
		return;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->err = -EINVAL;
			return;
		}
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		if (text_grow(t, (size_t)n) < 0)
			return;
	}
}

struct text_arg {
	struct text *t;
	const struct lockspace *ls;
};

static int same_lockspace(const struct lockspace *a, const struct lockspace *b)
{
	return a->dir_dev == b->dir_dev && a->dir_ino == b->dir_ino;
}

/* A lock of any handle of the lockspace: the record is the process's. */
static void add_lock_line(struct lsi_entry *e, void *arg)
{
	struct text_arg *a = arg;
	if (e->pending)
		return;
	for (unsigned i = 0; i < e->nrefs; i++)
		if (e->refs[i].count && same_lockspace(e->refs[i].ls, a->ls)) {
			char name[LOCKSPACE_NAME_LEN + 1];
			lsi_name_unpack(e->digest, name);
			text_add(a->t, "lock %s %s %lld\n", name, e->shared ? "shared" : "exclusive",
				 (long long)e->since);
			return;
		}
}

static void add_held_line(const char *name, int shared, time_t since, void *arg)
{
	struct text_arg *a = arg;
	text_add(a->t, "lock %s %s %lld\n", name, shared ? "shared" : "exclusive", (long long)since);
}

static void add_wait_line(const char *name, int shared, time_t since, void *arg)
{
	struct text_arg *a = arg;
	text_add(a->t, "wait %s %s %lld\n", name, shared ? "shared" : "exclusive", (long long)since);
}

/*
 * A process has one record per lockspace, <pid>, however many handles of
 * it the process opens: the record labels the process, and the kernel (or
 * the sanlock daemon) knows holders by process. So every handle's change
 * rewrites that one file, with the label of the handle that keeps it (the
 * one lockspace_set_owner() labelled, else any automatic one) and the
 * locks of all the handles; a handle that kept it and closes hands it on.
 *
 * records_mutex guards the handles' record state (recording, owner,
 * child, ...) and the list of handles that record, and serialises the
 * rewrites: one handle removing another's temporary file mid-write, or an
 * older text winning the rename, would lose what the newer one says. Lock
 * order: a handle's record_lock, then this, then the table's and the
 * backend's. A fork while another thread rewrites leaves the child with
 * this mutex taken: the prepare handler takes it first (before the
 * table's, whose handlers are registered earlier and so run later), the
 * child's makes it anew.
 */
static pthread_mutex_t records_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t records_once = PTHREAD_ONCE_INIT;

static void records_prepare(void)
{
	pthread_mutex_lock(&records_mutex);
}

static void records_parent(void)
{
	pthread_mutex_unlock(&records_mutex);
}

static void records_child(void)
{
	pthread_mutex_init(&records_mutex, NULL);
}

static void records_init(void)
{
	lsi_table_lock(); /* registers the table's fork handlers before ours */
	lsi_table_unlock();
	pthread_atfork(records_prepare, records_parent, records_child);
}

static void records_lock(void)
{
	pthread_once(&records_once, records_init);
	pthread_mutex_lock(&records_mutex);
}

/*
 * The handles that record, or are being labelled, in any lockspace. A
 * forked child's copy names its parent's handles, whose record_pid is not
 * the child's: it keeps no record of them. nrecorders is read without the
 * mutex only to skip it when no handle records at all.
 */
static struct lockspace **recorders;
static size_t nrecorders, recorders_cap;

static int recorder_add(struct lockspace *ls)
{
	for (size_t i = 0; i < nrecorders; i++)
		if (recorders[i] == ls)
			return 0;
	if (nrecorders == recorders_cap) {
		size_t cap = recorders_cap ? recorders_cap * 2 : 4;
		struct lockspace **v = realloc(recorders, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		recorders = v;
		recorders_cap = cap;
	}
	recorders[nrecorders] = ls;
	__atomic_store_n(&nrecorders, nrecorders + 1, __ATOMIC_RELEASE);
	return 0;
}

static void recorder_remove(const struct lockspace *ls)
{
	for (size_t i = 0; i < nrecorders; i++)
		if (recorders[i] == ls) {
			recorders[i] = recorders[nrecorders - 1];
			__atomic_store_n(&nrecorders, nrecorders - 1, __ATOMIC_RELEASE);
			break;
		}
	if (!nrecorders) {
		free(recorders);
		recorders = NULL;
		recorders_cap = 0;
	}
}

/* Does @o keep (or claim, with @pending) this process's record of @ls's lockspace? */
static int records_for(const struct lockspace *o, const struct lockspace *ls, int pending)
{
	return o->record_pid == getpid() && (o->recording || (pending && o->owner_pending)) &&
	       same_lockspace(o, ls);
}

/* Another handle labelled, or being labelled, for @ls's lockspace? */
static int labelled_other(const struct lockspace *ls)
{
	for (size_t i = 0; i < nrecorders; i++) {
		const struct lockspace *o = recorders[i];
		if (o != ls && records_for(o, ls, 1) && (o->owner_pending || !o->auto_record))
			return 1;
	}
	return 0;
}

/* The handle whose label the record of @ls's lockspace carries: the
 * labelled one, else an automatic one; NULL if none records. */
static struct lockspace *record_keeper(const struct lockspace *ls)
{
	struct lockspace *any = NULL;
	for (size_t i = 0; i < nrecorders; i++) {
		struct lockspace *o = recorders[i];
		if (!records_for(o, ls, 0))
			continue;
		if (!o->auto_record)
			return o;
		if (!any)
			any = o;
	}
	return any;
}

/* May the record of @ls say "kernel-child 1", for a child about to start?
 * Only this host reads an fcntl lockspace's records (other hosts read a
 * sanlock lockspace's, and cannot ask this kernel); readers look at the main
 * thread's children, so the caller must be it; and it must have no child
 * yet (one from before an exec, say), so that the one it starts is the one
 * the kernel lists. */
static int kernel_child_ok(const struct lockspace *ls)
{
	return strcmp(ls->backend->name, LOCKSPACE_BACKEND_FCNTL) == 0 && gettid() == getpid() &&
	       proc_only_child("/proc/thread-self/children") == 0;
}

/* The child a supervisor has just started, for a record written with
 * "kernel-child 1" (and nothing since) under the same label: nothing to
 * write, the next rewrite names it. 1 if so. */
static int child_known_already(struct lockspace *ls, const char *owner, pid_t child)
{
	records_lock();
	int same = ls->recording && ls->record_pid == getpid() && ls->child_kernel && ls->child == 0 &&
		   child > 0 && (owner ? ls->owner && strcmp(owner, ls->owner) == 0 : !ls->owner);
	if (same) {
		ls->child = child;
		ls->child_kernel = 0;
	}
	pthread_mutex_unlock(&records_mutex);
	return same;
}

int lockspace_set_owner(struct lockspace *ls, const char *owner, pid_t child)
{
	if (!ls || (owner && !lsi_label_valid(owner)) || (child < 0 && child != LOCKSPACE_CHILD_STARTING))
		return -EINVAL;
	if (ls->dirfd < 0)
		return -EOPNOTSUPP;
	if (child_known_already(ls, owner, child))
		return 0;
	int child_kernel = child == LOCKSPACE_CHILD_STARTING && kernel_child_ok(ls);
	if (child == LOCKSPACE_CHILD_STARTING)
		child = 0;
	char *copy = owner ? strdup(owner) : NULL;
	if (owner && !copy)
		return -ENOMEM;
	pthread_mutex_lock(&ls->record_lock);
	/* One label per record, so one handle labels it: claimed under the
	 * mutex, so that two handles labelling at once cannot both pass. */
	records_lock();
	int err = labelled_other(ls) ? -EALREADY : recorder_add(ls);
	if (err == 0) {
		ls->owner_pending = 1;
		ls->record_pid = getpid();
	}
	pthread_mutex_unlock(&records_mutex);
	/* The label first: a label another live process claims is not ours to record. */
	if (err == 0)
		err = lsi_label_set(ls, owner, 0, NULL);
	records_lock();
	if (err == 0) {
		free(ls->owner);
		ls->owner = copy;
		copy = NULL;
		ls->child = child;
		ls->child_kernel = child_kernel;
		ls->auto_record = 0;
		ls->recording = 1;
	} else if (err != -EALREADY && !ls->recording) {
		recorder_remove(ls);
	}
	ls->owner_pending = 0;
	pthread_mutex_unlock(&records_mutex);
	pthread_mutex_unlock(&ls->record_lock);
	free(copy);
	if (err < 0)
		return err;
	err = lsi_record_sync(ls);
	if (err < 0 && child_kernel) {
		/* Not written: the call that names the child must write. */
		records_lock();
		ls->child_kernel = 0;
		pthread_mutex_unlock(&records_mutex);
	}
	return err;
}

void lsi_record_start(struct lockspace *ls)
{
	records_lock();
	if (!(ls->recording && ls->record_pid == getpid()) && recorder_add(ls) == 0) {
		if (ls->record_pid != getpid()) {
			/* A forked child's handle: the label was its parent's. */
			free(ls->owner);
			ls->owner = NULL;
			ls->child = 0;
			ls->child_kernel = 0;
		}
		ls->auto_record = 1;
		ls->record_pid = getpid();
		ls->recording = 1;
	}
	pthread_mutex_unlock(&records_mutex);
}

/* The abstract name of this process's control socket in @keeper's
 * lockspace, from whichever of its handles there listens ("" for none):
 * only those who may read the record learn it. Under records_mutex. */
static const char *record_control(const struct lockspace *keeper)
{
	if (*lsi_control_name(keeper))
		return lsi_control_name(keeper);
	for (size_t i = 0; i < nrecorders; i++)
		if (same_lockspace(recorders[i], keeper) && *lsi_control_name(recorders[i]))
			return lsi_control_name(recorders[i]);
	return "";
}

/* Write the record that @keeper keeps. Under records_mutex. */
static int record_write(struct lockspace *keeper)
{
	pid_t self = getpid();
	struct text t;
	int err = text_init(&t);
	if (err < 0)
		return err;
	text_add(&t, "%s\npid %d\nstart %llu\n", LSI_RECORD_MAGIC, (int)self, lsi_self_start());
	if (keeper->auto_record)
		text_add(&t, "auto 1\n");
	if (keeper->owner)
		text_add(&t, "owner %s\n", keeper->owner);
	if (keeper->child)
		text_add(&t, "child %d\n", (int)keeper->child);
	else if (keeper->child_kernel)
		text_add(&t, "kernel-child 1\n"); /* a key older readers skip */
	const char *control = record_control(keeper);
	if (*control)
		text_add(&t, "control @%s\n", control);
	struct text_arg a = {.t = &t, .ls = keeper};
	lsi_table_lock();
	lsi_table_each(add_lock_line, &a);
	lsi_table_unlock();
	/* A backend's holds are listed for all handles of the lockspace. */
	if (keeper->backend->each_held)
		keeper->backend->each_held(keeper, add_held_line, &a);
	if (keeper->backend->each_waiting)
		keeper->backend->each_waiting(keeper, add_wait_line, &a);
	err = t.err;
	int dfd = err ? err : lsi_holders_dir(keeper, 1);
	if (dfd < 0) {
		text_free(&t);
		return dfd;
	}
	char tmp[64], final[32];
	snprintf(tmp, sizeof(tmp), ".%d.tmp", (int)self);
	snprintf(final, sizeof(final), "%d", (int)self);
	/* Never write through a file planted under our name: create ours
	 * exclusively, and only if a file is there (a dead process's with our
	 * pid, or a plant) remove it and try once more. */
	int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			keeper->group ? 0640 : 0600);
	if (fd < 0 && errno == EEXIST && unlinkat(dfd, tmp, 0) == 0)
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    keeper->group ? 0640 : 0600);
	if (fd < 0) {
		err = -errno;
	} else {
		/* As for lock files: a member's umask (077, say) must not hide
		 * its labels from the group, nor keep its prune from judging it. */
		ssize_t n = keeper->group && fchmod(fd, 0640) < 0 ? -1 : write(fd, t.buf, t.len);
		if (n != (ssize_t)t.len)
			err = n < 0 ? -errno : -EIO;
		if (close(fd) < 0 && !err)
			err = -errno;
		if (!err && renameat(dfd, tmp, dfd, final) < 0)
			err = -errno;
		if (err)
			unlinkat(dfd, tmp, 0);
	}
	close(dfd);
	text_free(&t);
	return err;
}

int lsi_record_sync(struct lockspace *ls)
{
	/* Without the mutex when nothing records: the common case costs nothing. */
	if (ls->dirfd < 0 || !__atomic_load_n(&nrecorders, __ATOMIC_ACQUIRE))
		return 0;
	records_lock();
	struct lockspace *keeper = record_keeper(ls);
	int err = keeper ? record_write(keeper) : 0;
	pthread_mutex_unlock(&records_mutex);
	return err;
}

void lsi_record_remove(struct lockspace *ls)
{
	if (ls->dirfd < 0)
		return;
	records_lock();
	int kept = ls->recording && ls->record_pid == getpid();
	recorder_remove(ls);
	ls->recording = 0;
	struct lockspace *keeper = kept ? record_keeper(ls) : NULL;
	if (keeper) {
		(void)record_write(keeper); /* another handle keeps it on, with its label */
	} else if (kept) {
		int dfd = lsi_holders_dir(ls, LSI_HOLDERS_OWN);
		if (dfd >= 0) {
			char name[32];
			snprintf(name, sizeof(name), "%d", (int)ls->record_pid);
			unlinkat(dfd, name, 0);
			close(dfd);
		}
	}
	pthread_mutex_unlock(&records_mutex);
}

void lsi_record_free(struct lsi_record *r)
{
	free(r->owner);
	free(r->claims);
	free(r->waits);
	free(r->command);
	memset(r, 0, sizeof(*r));
}

void lsi_records_free(struct lsi_record *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		lsi_record_free(&r[i]);
	free(r);
}

static int parse_pid(const char *s, pid_t *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > 0x7fffffff)
		return -EBADMSG;
	*out = (pid_t)v;
	return 0;
}

static int parse_line(struct lsi_record *r, char *line)
{
	char *sp = strchr(line, ' ');
	if (!sp)
		return -EBADMSG;
	*sp = '\0';
	char *val = sp + 1;
	if (strcmp(line, "pid") == 0)
		return parse_pid(val, &r->pid);
	if (strcmp(line, "child") == 0)
		return parse_pid(val, &r->child);
	if (strcmp(line, "kernel-child") == 0) {
		r->child_kernel = strcmp(val, "1") == 0;
		return 0;
	}
	if (strcmp(line, "start") == 0) {
		char *end;
		errno = 0;
		r->start = strtoull(val, &end, 10);
		return errno || end == val || *end ? -EBADMSG : 0;
	}
	if (strcmp(line, "auto") == 0) {
		r->auto_record = strcmp(val, "1") == 0;
		return 0;
	}
	if (strcmp(line, "owner") == 0) {
		if (r->owner || !*val)
			return -EBADMSG;
		r->owner = strdup(val);
		return r->owner ? 0 : -ENOMEM;
	}
	int wait = strcmp(line, "wait") == 0;
	if (wait || strcmp(line, "lock") == 0) {
		struct lsi_claim c = {0};
		char mode[16];
		long long since;
		int used = 0;
		const char *gap = strchr(val, ' ');
		size_t nlen = gap ? (size_t)(gap - val) : 0;
		if (nlen == 0 || nlen > LOCKSPACE_NAME_LEN)
			return -EBADMSG;
		memcpy(c.name, val, nlen);
		if (!lockspace_valid_name(c.name))
			return -EBADMSG;
		if (sscanf(gap + 1, "%15s %lld%n", mode, &since, &used) != 2 || gap[1 + used] != '\0' ||
		    since < 0)
			return -EBADMSG;
		if (strcmp(mode, "shared") == 0)
			c.shared = 1;
		else if (strcmp(mode, "exclusive") != 0)
			return -EBADMSG;
		c.since = (time_t)since;
		struct lsi_claim **v = wait ? &r->waits : &r->claims;
		size_t *n = wait ? &r->nwaits : &r->nclaims;
		if (*n == 0 || (*n >= 4 && (*n & (*n - 1)) == 0)) {
			size_t cap = *n ? *n * 2 : 4;
			struct lsi_claim *cl = realloc(*v, cap * sizeof(*cl));
			if (!cl)
				return -ENOMEM;
			*v = cl;
		}
		(*v)[(*n)++] = c;
		return 0;
	}
	return 0; /* unknown keys: room for later versions */
}

int lsi_record_parse(const char *buf, size_t len, struct lsi_record *out)
{
	memset(out, 0, sizeof(*out));
	size_t magic = strlen(LSI_RECORD_MAGIC);
	if (len < magic + 1 || memcmp(buf, LSI_RECORD_MAGIC "\n", magic + 1) != 0 || memchr(buf, '\0', len))
		return -EBADMSG;
	if (len == 0 || buf[len - 1] != '\n')
		return -EBADMSG; /* truncated */
	char *copy = strndup(buf + magic + 1, len - magic - 1);
	if (!copy)
		return -ENOMEM;
	int err = 0;
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line && !err; line = strtok_r(NULL, "\n", &save))
		err = parse_line(out, line);
	free(copy);
	if (!err && (!out->pid || !out->start))
		err = -EBADMSG;
	if (err)
		lsi_record_free(out);
	return err;
}

int lsi_record_open(int dfd, const char *file)
{
	int fd = openat(dfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

int lsi_record_read(int fd, struct lsi_record *r)
{
	struct stat st;
	memset(r, 0, sizeof(*r));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > LSI_RECORD_MAX || st.st_size == 0)
		return -EBADMSG;
	char *buf = malloc((size_t)st.st_size);
	if (!buf)
		return -ENOMEM;
	ssize_t n = read(fd, buf, (size_t)st.st_size);
	int err = n == st.st_size ? lsi_record_parse(buf, (size_t)n, r) : -EBADMSG;
	free(buf);
	if (err == 0)
		r->mtime = st.st_mtime;
	return err;
}

/* Is @val (@len bytes) "@NAME" with a name of the library's form?
 * Anything else is no holder's. */
static int control_valid(const char *val, size_t len)
{
	size_t plen = strlen(LSI_CONTROL_PREFIX), hex = LSI_CONTROL_NAME_LEN - plen;
	return len == 1 + LSI_CONTROL_NAME_LEN && val[0] == '@' &&
	       memcmp(val + 1, LSI_CONTROL_PREFIX, plen) == 0 &&
	       strspn(val + 1 + plen, "0123456789abcdef") >= hex;
}

int lsi_record_control(int fd, unsigned long long start, char name[LSI_CONTROL_NAME_LEN + 1])
{
	/* Only the head, where the writer puts it before the lock lines: a
	 * record of thousands of locks is not read whole for every request,
	 * and the name survives damage further down (the peer check still
	 * confirms whoever answers on it). */
	char buf[4096];
	struct stat st;
	*name = '\0';
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	size_t magic = strlen(LSI_RECORD_MAGIC);
	if (n <= (ssize_t)magic || memcmp(buf, LSI_RECORD_MAGIC "\n", magic + 1) != 0)
		return 0;
	buf[n] = '\0';
	const char *found = NULL;
	int dated = 0;
	for (char *line = buf + magic + 1, *end; (end = memchr(line, '\n', (size_t)(buf + n - line)));
	     line = end + 1) {
		*end = '\0';
		if (strncmp(line, "lock ", 5) == 0 || strncmp(line, "wait ", 5) == 0)
			break;
		/* Another process's record under a reused pid names nothing of @start's. */
		if (strncmp(line, "start ", 6) == 0) {
			if (start && strtoull(line + 6, NULL, 10) != start)
				return 0;
			dated = 1;
		}
		if (strncmp(line, "control ", 8) == 0 && control_valid(line + 8, strlen(line + 8)))
			found = line + 9;
	}
	/* Every holder dates its record: one without a start time is not its. */
	if (found && (dated || !start))
		memcpy(name, found, LSI_CONTROL_NAME_LEN + 1);
	return 0;
}

enum lsi_holders_file lsi_holders_file(const char *name, pid_t *pid)
{
	size_t plen = strlen(LSI_LABEL_PREFIX);
	if (strncmp(name, LSI_LABEL_PREFIX, plen) == 0)
		return lockspace_valid_name(name + plen) ? LSI_HF_LABEL : LSI_HF_OTHER;
	const char *n = name + (name[0] == '.');
	size_t len = strspn(n, "0123456789");
	if (len == 0 || len > 10)
		return LSI_HF_OTHER;
	long v = strtol(n, NULL, 10);
	if (v <= 0 || v > 0x7fffffff)
		return LSI_HF_OTHER;
	*pid = (pid_t)v;
	const char *rest = n + len;
	int known = !*rest || strcmp(rest, ".tmp") == 0 || strcmp(rest, LOCKSPACE_CONTROL_SUFFIX) == 0;
	if (!known)
		return LSI_HF_OTHER;
	if (n != name) /* .<pid>.tmp, and any other dotted companion of a pid */
		return LSI_HF_TEMP;
	if (!*rest)
		return LSI_HF_RECORD;
	return strcmp(rest, ".tmp") == 0 ? LSI_HF_TEMP : LSI_HF_SOCKET;
}

/* Read one record file (bounded), parse it and (with @judge) check it
 * still describes a live process. */
static int load_one(int dfd, const char *file, pid_t pid, int judge, struct lsi_record *r)
{
	int fd = lsi_record_open(dfd, file);
	if (fd < 0)
		return fd;
	int err = lsi_record_read(fd, r);
	close(fd);
	if (err == 0 && pid != r->pid) {
		lsi_record_free(r);
		err = -EBADMSG;
	}
	if (err == 0 && judge) {
		enum lsi_pid_state ps = r->start ? lsi_pid_judge(r->pid, r->start) : LSI_PID_GONE;
		r->live = ps == LSI_PID_LIVE;
		r->unknown = ps == LSI_PID_UNKNOWN;
		if (r->live)
			r->command = lsi_proc_comm(r->pid);
		if (r->live && r->child_kernel && !r->child)
			r->child = proc_kernel_child(r->pid);
	}
	return err;
}

/* Load the records of the directory @dfd (which this closes). */
static int records_load_fd(int dfd, int judge, struct lsi_record **out, size_t *n)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	struct lsi_record *v = NULL;
	size_t cnt = 0;
	int err = 0;
	struct dirent *de;
	while ((de = readdir(d)) && !err) {
		pid_t pid;
		if (lsi_holders_file(de->d_name, &pid) != LSI_HF_RECORD)
			continue;
		struct lsi_record r;
		if (load_one(dirfd(d), de->d_name, pid, judge, &r) < 0)
			continue; /* garbage records are prune's business, not list's */
		struct lsi_record *nv = realloc(v, (cnt + 1) * sizeof(*nv));
		if (!nv) {
			lsi_record_free(&r);
			err = -ENOMEM;
			break;
		}
		v = nv;
		v[cnt++] = r;
	}
	closedir(d);
	if (err) {
		lsi_records_free(v, cnt);
		return err;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int lsi_records_load(const struct lockspace *ls, struct lsi_record **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	int dfd = lsi_holders_dir(ls, 0);
	if (dfd == -ENOENT)
		return 0;
	if (dfd < 0)
		return dfd;
	return records_load_fd(dfd, 1, out, n);
}

int lsi_records_load_sub(const struct lockspace *ls, const char *sub, struct lsi_record **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	int top = holders_open(ls, ls->dirfd, LSI_HOLDERS_DIR, 0);
	if (top < 0)
		return top == -ENOENT ? 0 : top;
	int dfd = holders_open(ls, top, sub, 0);
	close(top);
	if (dfd < 0)
		return dfd == -ENOENT ? 0 : dfd;
	return records_load_fd(dfd, 0, out, n);
}

int lockspace_records(struct lockspace *ls, lockspace_record_fn fn, void *arg)
{
	if (!ls || !fn)
		return -EINVAL;
	if (ls->dirfd < 0)
		return -EOPNOTSUPP;
	struct lsi_record *r;
	size_t n;
	int err = lsi_records_load(ls, &r, &n);
	for (size_t i = 0; i < n && err == 0; i++) {
		if (!r[i].live || r[i].auto_record)
			continue; /* a program's own record: no holder to ask */
		const char **names = calloc(r[i].nclaims + 1, sizeof(*names));
		if (!names) {
			err = -ENOMEM;
			break;
		}
		for (size_t j = 0; j < r[i].nclaims; j++)
			names[j] = r[i].claims[j].name;
		struct lockspace_record rec = {.pid = r[i].pid,
					       .child = r[i].child,
					       .owner = r[i].owner,
					       .nlocks = r[i].nclaims,
					       .names = names};
		err = fn(&rec, arg);
		free(names);
	}
	lsi_records_free(r, n);
	return err;
}
