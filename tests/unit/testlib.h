/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* testlib.h: scratch directories, helper processes, lock probes and collectors for the unit tests. */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lockspace.h"
#include "tap.h"

/*
 * Rules every test keeps: the test process never opens a lock file it holds
 * (closing that descriptor would drop its own lock), so lock files are read
 * and probed from forked children; nothing sleeps to synchronise, every wait
 * for another process has a deadline, and helper children die on their own
 * when the test forgets them or dies.
 */

#define TU_UNUSED __attribute__((unused))

/* Longest wait for another process to answer before the test gives up. */
#define TU_DEADLINE_MS 15000
/* Longest a helper child waits for its next order before exiting by itself. */
#define TU_CHILD_LIFE_MS 30000
/* Whole-program watchdog: a hung test dies of SIGALRM instead of hanging make check. */
#define TU_WATCHDOG_S 120
/* What tu_answer() returns when the child said nothing in time. */
#define TU_NOANSWER (-100000)

/* Orders to a helper child. */
enum { TU_CMD_QUIT = 1, TU_CMD_RELEASE_ALL, TU_CMD_CLOSE, TU_CMD_GO };

static TU_UNUSED void tu_init(void)
{
	alarm(TU_WATCHDOG_S);
	umask(022);
	signal(SIGPIPE, SIG_IGN);
}

static TU_UNUSED long long tu_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* dir + "/" + name into buf (PATH_MAX bytes); returns buf. */
static TU_UNUSED char *tu_join(char *buf, const char *dir, const char *name)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", dir, name);
	if (n < 0 || n >= PATH_MAX)
		buf[0] = '\0';
	return buf;
}

/* Make a scratch directory under $TMPDIR (canonical path into buf, PATH_MAX). */
static TU_UNUSED int tu_scratch(char *buf)
{
	const char *tmp = getenv("TMPDIR");
	char templ[PATH_MAX];

	if (!tmp || !*tmp)
		tmp = "/tmp";
	snprintf(templ, sizeof(templ), "%s/lockspace-unit-XXXXXX", tmp);
	if (!mkdtemp(templ))
		return -errno;
	if (!realpath(templ, buf))
		return -errno;
	return 0;
}

static TU_UNUSED int tu_rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	if (remove(path) < 0 && errno != ENOENT)
		fprintf(stderr, "# cannot remove %s: %s\n", path, strerror(errno));
	return 0;
}

/* Remove a tree, not following symlinks. */
static TU_UNUSED void tu_rmrf(const char *path)
{
	nftw(path, tu_rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

/* Create or truncate path with exactly these bytes. */
static TU_UNUSED int tu_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ssize_t n = len ? write(fd, data, len) : 0;
	int err = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
	close(fd);
	return err;
}

/* Read a file that this process does NOT hold a lock on (NUL-terminated). */
static TU_UNUSED ssize_t tu_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	size_t got = 0;
	while (got + 1 < size) {
		ssize_t n = read(fd, buf + got, size - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;
			close(fd);
			return err;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	return (ssize_t)got;
}

/* ---- talking to helper children over pipes ---- */

static TU_UNUSED int tu_send(int fd, int v)
{
	ssize_t n;
	do
		n = write(fd, &v, sizeof(v));
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(v) ? 0 : -EPIPE;
}

/* Receive one int within timeout_ms: 0, -ETIMEDOUT, or -EPIPE (closed). */
static TU_UNUSED int tu_recv(int fd, int *v, int timeout_ms)
{
	long long deadline = tu_now_ms() + timeout_ms;
	size_t got = 0;
	char *p = (char *)v;

	while (got < sizeof(*v)) {
		long long left = deadline - tu_now_ms();
		if (left < 0)
			left = 0;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -ETIMEDOUT;
		ssize_t n = read(fd, p + got, sizeof(*v) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPIPE;
		got += (size_t)n;
	}
	return 0;
}

/* Send a whole buffer (length first), for file contents read by a child. */
static TU_UNUSED int tu_send_buf(int fd, const void *buf, int len)
{
	if (tu_send(fd, len) < 0)
		return -EPIPE;
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, (size_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPIPE;
		p += n;
		len -= (int)n;
	}
	return 0;
}

struct tu_child {
	pid_t pid;
	int to;	  /* write orders here */
	int from; /* read answers here */
};

/* A helper child's body: read orders from rd, answer on wr; returns its exit status. */
typedef int (*tu_child_fn)(int rd, int wr, void *arg);

static TU_UNUSED int tu_spawn(struct tu_child *c, tu_child_fn fn, void *arg)
{
	int down[2], up[2];

	c->pid = -1;
	c->to = c->from = -1;
	if (pipe2(down, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(up, O_CLOEXEC) < 0) {
		int err = -errno;
		close(down[0]);
		close(down[1]);
		return err;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		int err = -errno;
		close(down[0]);
		close(down[1]);
		close(up[0]);
		close(up[1]);
		return err;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(TU_WATCHDOG_S);
		close(down[1]);
		close(up[0]);
		_exit(fn(down[0], up[1], arg));
	}
	close(down[0]);
	close(up[1]);
	c->pid = pid;
	c->to = down[1];
	c->from = up[0];
	return 0;
}

/* The child's next answer, or TU_NOANSWER after the deadline or on EOF. */
static TU_UNUSED int tu_answer_within(struct tu_child *c, int timeout_ms)
{
	int v;
	return tu_recv(c->from, &v, timeout_ms) == 0 ? v : TU_NOANSWER;
}

static TU_UNUSED int tu_answer(struct tu_child *c)
{
	return tu_answer_within(c, TU_DEADLINE_MS);
}

/* Child side: wait for the next order; -1 on EOF or when the child lived too long. */
static TU_UNUSED int tu_order(int rd)
{
	int v;
	return tu_recv(rd, &v, TU_CHILD_LIFE_MS) == 0 ? v : -1;
}

/* Wait for the child to end (killing it after the deadline); its exit status or 128+signal. */
static TU_UNUSED int tu_reap(struct tu_child *c)
{
	int status = 0;
	long long deadline = tu_now_ms() + TU_DEADLINE_MS;

	if (c->pid <= 0)
		return -1;
	if (c->to >= 0)
		close(c->to);
	c->to = -1;
	/* Its end of the answer pipe closes when it exits: wait for EOF first. */
	while (c->from >= 0) {
		char drain[256];
		long long left = deadline - tu_now_ms();
		struct pollfd p = {.fd = c->from, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, (int)left) <= 0 || read(c->from, drain, sizeof(drain)) <= 0)
			break;
	}
	if (c->from >= 0)
		close(c->from);
	c->from = -1;
	for (;;) {
		pid_t r = waitpid(c->pid, &status, WNOHANG);
		if (r == c->pid)
			break;
		if (r < 0 && errno != EINTR) {
			status = -1;
			break;
		}
		if (tu_now_ms() > deadline) {
			printf("# child %d did not exit in time: killed\n", (int)c->pid);
			kill(c->pid, SIGKILL);
			deadline = tu_now_ms() + TU_DEADLINE_MS;
		}
		poll(NULL, 0, 1);
	}
	c->pid = -1;
	if (status == -1)
		return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/* Tell a helper child to quit and reap it. */
static TU_UNUSED int tu_stop(struct tu_child *c)
{
	if (c->pid <= 0)
		return -1;
	tu_send(c->to, TU_CMD_QUIT);
	return tu_reap(c);
}

/* ---- a child that holds locks through its own handle ---- */

struct tu_hold_spec {
	const char *dir; /* NULL: direct mode */
	const char *res[8];
	size_t n;
	unsigned flags;
	int timeout_ms;	   /* for LOCKSPACE_WAIT */
	const char *owner; /* lockspace_set_owner() first if not NULL */
	pid_t owner_child;
	int wait_go;  /* wait for TU_CMD_GO before acquiring (answers 0 when ready) */
	int no_close; /* on TU_CMD_QUIT exit without lockspace_close(): the record stays */
};

/* A handle a child leaves open on purpose, kept reachable for leak checkers. */
static struct lockspace *tu_kept_ls TU_UNUSED;

static TU_UNUSED int tu_hold_main(int rd, int wr, void *arg)
{
	const struct tu_hold_spec *s = arg;
	struct lockspace *ls = NULL;
	int rc = lockspace_open(s->dir, 0, &ls);

	if (rc == 0 && s->owner)
		rc = lockspace_set_owner(ls, s->owner, s->owner_child);
	if (rc == 0 && s->wait_go) {
		tu_send(wr, 0);
		if (tu_order(rd) != TU_CMD_GO)
			return 3;
	}
	if (rc == 0)
		rc = lockspace_acquire_many(ls, s->res, s->n, s->flags, s->timeout_ms, NULL);
	tu_send(wr, rc);
	for (;;) {
		int cmd = tu_order(rd);
		switch (cmd) {
		case TU_CMD_RELEASE_ALL:
			tu_send(wr, lockspace_release_all(ls));
			break;
		case TU_CMD_CLOSE:
			lockspace_close(ls);
			ls = NULL;
			tu_send(wr, 0);
			break;
		default:
			if (s->no_close) {
				/* Quit without closing: the kernel drops the locks, the record stays. */
				tu_kept_ls = ls;
				return 0;
			}
			lockspace_close(ls);
			return 0;
		}
	}
}

/* Start a holder child; its first answer (tu_answer) is the acquire's result. */
static TU_UNUSED int tu_hold_start(struct tu_child *c, const struct tu_hold_spec *s)
{
	return tu_spawn(c, tu_hold_main, (void *)(uintptr_t)s);
}

/* Start a holder child and return the acquire's result (TU_NOANSWER if none). */
static TU_UNUSED int tu_hold(struct tu_child *c, const struct tu_hold_spec *s)
{
	int rc = tu_hold_start(c, s);
	if (rc < 0)
		return rc;
	return tu_answer(c);
}

/* One resource, one flag set, in a child that keeps it: the acquire's result. */
static TU_UNUSED int tu_hold1(struct tu_child *c, const char *dir, const char *res, unsigned flags)
{
	static struct tu_hold_spec spec;
	memset(&spec, 0, sizeof(spec));
	spec.dir = dir;
	spec.res[0] = res;
	spec.n = 1;
	spec.flags = flags;
	spec.timeout_ms = -1;
	return tu_hold(c, &spec);
}

/* Try an acquire in another process, which then exits: the acquire's result. */
static TU_UNUSED int tu_try_elsewhere(const char *dir, const char *res, unsigned flags)
{
	struct tu_child c;
	int rc = tu_hold1(&c, dir, res, flags);
	tu_stop(&c);
	return rc;
}

/* ---- probing locks from another process ---- */

struct tu_lk {
	int type; /* F_UNLCK, F_RDLCK, F_WRLCK */
	pid_t pid;
	long long start, len;
};

struct tu_probe_arg {
	const char *path;
	long long start, len;
};

static TU_UNUSED int tu_probe_main(int rd, int wr, void *arg)
{
	const struct tu_probe_arg *a = arg;
	struct tu_lk lk = {0};
	int err = 0;
	(void)rd;
	int fd = open(a->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		err = -errno;
	} else {
		struct flock fl = {
			.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = a->start, .l_len = a->len};
		if (fcntl(fd, F_GETLK, &fl) < 0)
			err = -errno;
		lk.type = fl.l_type;
		lk.pid = fl.l_pid;
		lk.start = fl.l_start;
		lk.len = fl.l_len;
	}
	tu_send(wr, err);
	if (write(wr, &lk, sizeof(lk)) != (ssize_t)sizeof(lk))
		return 2;
	return 0;
}

/* F_GETLK (as a would-be writer) on [start, start+len) of path, from another process. */
static TU_UNUSED int tu_probe_range(const char *path, long long start, long long len, struct tu_lk *lk)
{
	struct tu_probe_arg a = {path, start, len};
	struct tu_child c;
	int err, rc = tu_spawn(&c, tu_probe_main, &a);

	memset(lk, 0, sizeof(*lk));
	lk->type = -1;
	if (rc < 0)
		return rc;
	if (tu_recv(c.from, &err, TU_DEADLINE_MS) < 0) {
		tu_reap(&c);
		return TU_NOANSWER;
	}
	if (read(c.from, lk, sizeof(*lk)) != (ssize_t)sizeof(*lk))
		err = TU_NOANSWER;
	tu_reap(&c);
	return err;
}

/* The lock on byte 0 of path as another process sees it: F_UNLCK, F_RDLCK, F_WRLCK or -errno. */
static TU_UNUSED int tu_state(const char *path, pid_t *pid)
{
	struct tu_lk lk;
	int rc = tu_probe_range(path, 0, 1, &lk);
	if (pid)
		*pid = lk.pid;
	return rc < 0 ? rc : lk.type;
}

static TU_UNUSED const char *tu_type_name(int type)
{
	switch (type) {
	case F_UNLCK:
		return "free";
	case F_RDLCK:
		return "shared";
	case F_WRLCK:
		return "exclusive";
	default:
		return "error";
	}
}

/* Assert that another process sees path locked as type by pid (pid -1: any; ignored for F_UNLCK). */
#define tu_sees(path, type, pid, ...)                                                                        \
	do {                                                                                                 \
		pid_t tu_p_ = 0;                                                                             \
		int tu_t_ = tu_state((path), &tu_p_);                                                        \
		int tu_ok_ = tu_t_ == (type) && ((type) == F_UNLCK || (pid) < 0 || tu_p_ == (pid));          \
		ok(tu_ok_, __VA_ARGS__);                                                                     \
		if (!tu_ok_)                                                                                 \
			printf("#   another process sees %s (%d) by pid %d, want %s by pid %d\n",            \
			       tu_type_name(tu_t_), tu_t_, (int)tu_p_, tu_type_name(type), (int)(pid));      \
	} while (0)

/* ---- a child that reads a file (so the test never opens a lock file it holds) ---- */

struct tu_read_arg {
	const char *path;
	size_t max;
};

static TU_UNUSED int tu_read_main(int rd, int wr, void *arg)
{
	const struct tu_read_arg *a = arg;
	char *buf = malloc(a->max + 1);
	(void)rd;
	if (!buf)
		return 2;
	ssize_t n = tu_read_file(a->path, buf, a->max + 1);
	if (n < 0)
		tu_send(wr, (int)n - 1000000);
	else
		tu_send_buf(wr, buf, (int)n);
	free(buf);
	return 0;
}

/* Read up to size-1 bytes of path in another process; length or -errno. */
static TU_UNUSED ssize_t tu_read_elsewhere(const char *path, char *buf, size_t size)
{
	struct tu_read_arg a = {path, size - 1};
	struct tu_child c;
	int len, rc = tu_spawn(&c, tu_read_main, &a);

	buf[0] = '\0';
	if (rc < 0)
		return rc;
	if (tu_recv(c.from, &len, TU_DEADLINE_MS) < 0) {
		tu_reap(&c);
		return TU_NOANSWER;
	}
	if (len < 0) {
		tu_reap(&c);
		return len + 1000000;
	}
	size_t got = 0;
	while (got < (size_t)len) {
		ssize_t n = read(c.from, buf + got, (size_t)len - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	tu_reap(&c);
	return (ssize_t)got;
}

/* ---- running a call in a child, so that a hang is a failure, not a hung suite ---- */

typedef int (*tu_call_fn)(void *arg);

struct tu_run_arg {
	tu_call_fn fn;
	void *arg;
};

static TU_UNUSED int tu_run_main(int rd, int wr, void *arg)
{
	const struct tu_run_arg *a = arg;
	(void)rd;
	tu_send(wr, a->fn(a->arg));
	return 0;
}

/* Run fn(arg) in a child; its result, or TU_NOANSWER if it did not return within timeout_ms. */
static TU_UNUSED int tu_run(tu_call_fn fn, void *arg, int timeout_ms)
{
	struct tu_run_arg a = {fn, arg};
	struct tu_child c;
	int rc = tu_spawn(&c, tu_run_main, &a);
	if (rc < 0)
		return rc;
	rc = tu_answer_within(&c, timeout_ms);
	if (rc == TU_NOANSWER)
		kill(c.pid, SIGKILL);
	tu_reap(&c);
	return rc;
}

/* ---- independent oracles: md5sum(1), /proc/locks, inotify ---- */

/* MD5 of bytes by md5sum(1), lowercase hex into out[33]; scratch is a writable directory. */
static TU_UNUSED int tu_md5sum(const char *scratch, const void *bytes, size_t len, char out[33])
{
	char in[PATH_MAX], cmd[PATH_MAX + 32];
	int rc;

	out[0] = '\0';
	tu_join(in, scratch, ".md5sum-input");
	if ((rc = tu_write_file(in, bytes, len)) < 0)
		return rc;
	snprintf(cmd, sizeof(cmd), "md5sum < '%s'", in);
	fflush(stdout);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -errno;
	rc = fscanf(p, "%32s", out) == 1 ? 0 : -EIO;
	pclose(p);
	unlink(in);
	return rc;
}

/* 1 if /proc/locks shows pid blocked waiting for a POSIX lock on path's inode. */
static TU_UNUSED int tu_proc_waiting(pid_t pid, const char *path)
{
	struct stat st;
	char line[256];
	int found = 0;

	if (stat(path, &st) < 0)
		return 0;
	FILE *f = fopen("/proc/locks", "re");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char kind[16], adv[16], type[16];
		unsigned maj, min;
		unsigned long long ino;
		int p;
		const char *arrow = strstr(line, "->");
		if (!arrow)
			continue;
		if (sscanf(arrow + 2, "%15s %15s %15s %d %x:%x:%llu", kind, adv, type, &p, &maj, &min,
			   &ino) == 7 &&
		    p == pid && ino == (unsigned long long)st.st_ino)
			found = 1;
	}
	fclose(f);
	return found;
}

/* An inotify descriptor reporting opens of path (IN_OPEN); -errno on failure. */
static TU_UNUSED int tu_watch_opens(const char *path)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (inotify_add_watch(fd, path, IN_OPEN) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Number of opens reported since the last call. */
static TU_UNUSED int tu_opens(int fd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int count = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)(void *)p;
			if (ev->mask & IN_OPEN)
				count++;
			p += sizeof(*ev) + ev->len;
		}
	}
	return count;
}

/* ---- collecting what lockspace_foreach()/lockspace_inspect() report ---- */

#define TU_MAX_INFO    64
#define TU_MAX_HOLDERS 8
#define TU_MAX_WAITERS 8

struct tu_holder {
	pid_t pid;
	int mode;
	unsigned flags;
	int has_owner;
	char owner[64];
	int has_command;
	char command[32];
	pid_t child;
	time_t since;
};

struct tu_info {
	char name[LOCKSPACE_NAME_LEN + 1];
	char lockfile[PATH_MAX];
	int has_path;
	char path[PATH_MAX];
	int integrity;
	int state;
	size_t nholders;
	struct tu_holder h[TU_MAX_HOLDERS];
	size_t nwaiters;
	pid_t w[TU_MAX_WAITERS];
	size_t nstale;
	struct tu_holder s[TU_MAX_HOLDERS];
};

static TU_UNUSED void tu_copy_holder(struct tu_holder *t, const struct lockspace_holder *h)
{
	t->pid = h->pid;
	t->mode = (int)h->mode;
	t->flags = h->flags;
	t->has_owner = h->owner != NULL;
	snprintf(t->owner, sizeof(t->owner), "%s", h->owner ? h->owner : "");
	t->has_command = h->command != NULL;
	snprintf(t->command, sizeof(t->command), "%s", h->command ? h->command : "");
	t->child = h->child;
	t->since = h->since;
}

struct tu_infos {
	size_t n;
	int stop_after; /* return stop_value after this many calls (0: never) */
	int stop_value;
	struct tu_info e[TU_MAX_INFO];
};

static TU_UNUSED int tu_collect(const struct lockspace_info *info, void *arg)
{
	struct tu_infos *l = arg;
	if (l->n < TU_MAX_INFO) {
		struct tu_info *e = &l->e[l->n];
		memset(e, 0, sizeof(*e));
		snprintf(e->name, sizeof(e->name), "%s", info->name);
		snprintf(e->lockfile, sizeof(e->lockfile), "%s", info->lockfile ? info->lockfile : "(null)");
		e->has_path = info->path != NULL;
		snprintf(e->path, sizeof(e->path), "%s", info->path ? info->path : "");
		e->integrity = info->integrity;
		e->state = (int)info->state;
		e->nholders = info->nholders;
		for (size_t i = 0; i < info->nholders && i < TU_MAX_HOLDERS; i++)
			tu_copy_holder(&e->h[i], &info->holders[i]);
		e->nstale = info->nstale;
		for (size_t i = 0; i < info->nstale && i < TU_MAX_HOLDERS; i++)
			tu_copy_holder(&e->s[i], &info->stale[i]);
		e->nwaiters = info->nwaiters;
		for (size_t i = 0; i < info->nwaiters && i < TU_MAX_WAITERS; i++)
			e->w[i] = info->waiters[i];
	}
	l->n++;
	if (l->stop_after && (int)l->n >= l->stop_after)
		return l->stop_value;
	return 0;
}

/* The collected entry for name, or NULL. */
static TU_UNUSED const struct tu_info *tu_find(const struct tu_infos *l, const char *name)
{
	for (size_t i = 0; i < l->n && i < TU_MAX_INFO; i++)
		if (strcmp(l->e[i].name, name) == 0)
			return &l->e[i];
	return NULL;
}

/* The holder entry of pid in e, or NULL. */
static TU_UNUSED const struct tu_holder *tu_holder_of(const struct tu_info *e, pid_t pid)
{
	for (size_t i = 0; e && i < e->nholders && i < TU_MAX_HOLDERS; i++)
		if (e->h[i].pid == pid)
			return &e->h[i];
	return NULL;
}

/* The stale record of pid in e, or NULL. */
static TU_UNUSED const struct tu_holder *tu_stale_of(const struct tu_info *e, pid_t pid)
{
	for (size_t i = 0; e && i < e->nstale && i < TU_MAX_HOLDERS; i++)
		if (e->s[i].pid == pid)
			return &e->s[i];
	return NULL;
}

/* Name of a resource (no handle), aborting the assertion chain on failure is up to the caller. */
static TU_UNUSED int tu_name(const char *res, unsigned flags, char out[LOCKSPACE_NAME_LEN + 1])
{
	memset(out, 0, LOCKSPACE_NAME_LEN + 1);
	return lockspace_name(res, flags, out);
}

/* The lock file of res in dir into buf (PATH_MAX); "" when res has no name. */
static TU_UNUSED char *tu_lockfile(char *buf, const char *dir, const char *res, unsigned flags)
{
	char name[LOCKSPACE_NAME_LEN + 1];
	if (tu_name(res, flags, name) < 0)
		buf[0] = '\0';
	else
		tu_join(buf, dir, name);
	return buf;
}

/* Create an empty file (a resource to lock). */
static TU_UNUSED int tu_touch(const char *path)
{
	return tu_write_file(path, "", 0);
}

/* The comm of this process, as /proc/<pid>/comm gives it (children of fork share it). */
static TU_UNUSED void tu_comm(char *buf, size_t size)
{
	ssize_t n = tu_read_file("/proc/self/comm", buf, size);
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	if (n < 0)
		buf[0] = '\0';
}

#endif
