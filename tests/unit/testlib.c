/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* testlib.c: scratch directories, helper processes, lock probes and collectors for the unit tests. */
#include <ftw.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/inotify.h>
#include <sys/prctl.h>

#include "testlib.h"

int tap_count;
int tap_failed;
char tu_scratch_dir[PATH_MAX];

int tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

void tu_init(void)
{
	alarm(TU_WATCHDOG_S);
	umask(022);
	signal(SIGPIPE, SIG_IGN);
}

long long tu_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *tu_join(char *buf, const char *dir, const char *name)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", dir, name);
	if (n < 0 || n >= PATH_MAX)
		buf[0] = '\0';
	return buf;
}

int tu_scratch(char *buf)
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

static int tu_rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	if (remove(path) < 0 && errno != ENOENT)
		fprintf(stderr, "# cannot remove %s: %s\n", path, strerror(errno));
	return 0;
}

void tu_rmrf(const char *path)
{
	nftw(path, tu_rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

int tu_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ssize_t n = len ? write(fd, data, len) : 0;
	int err = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
	close(fd);
	return err;
}

ssize_t tu_read_file(const char *path, char *buf, size_t size)
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

int tu_send(int fd, int v)
{
	ssize_t n;
	do
		n = write(fd, &v, sizeof(v));
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(v) ? 0 : -EPIPE;
}

int tu_recv(int fd, int *v, int timeout_ms)
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

int tu_send_buf(int fd, const void *buf, int len)
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

int tu_spawn(struct tu_child *c, tu_child_fn fn, void *arg)
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
int tu_answer_within(struct tu_child *c, int timeout_ms)
{
	int v;
	return tu_recv(c->from, &v, timeout_ms) == 0 ? v : TU_NOANSWER;
}

int tu_answer(struct tu_child *c)
{
	return tu_answer_within(c, TU_DEADLINE_MS);
}

int tu_order(int rd)
{
	int v;
	return tu_recv(rd, &v, TU_CHILD_LIFE_MS) == 0 ? v : -1;
}

int tu_reap(struct tu_child *c)
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

int tu_stop(struct tu_child *c)
{
	if (c->pid <= 0)
		return -1;
	tu_send(c->to, TU_CMD_QUIT);
	return tu_reap(c);
}

/* ---- a child that holds locks through its own handle ---- */

/* A handle a child leaves open on purpose, kept reachable for leak checkers. */
static struct lockspace *tu_kept_ls;

static int tu_hold_main(int rd, int wr, void *arg)
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

int tu_hold_start(struct tu_child *c, const struct tu_hold_spec *s)
{
	return tu_spawn(c, tu_hold_main, (void *)(uintptr_t)s);
}

int tu_hold(struct tu_child *c, const struct tu_hold_spec *s)
{
	int rc = tu_hold_start(c, s);
	if (rc < 0)
		return rc;
	return tu_answer(c);
}

int tu_hold1(struct tu_child *c, const char *dir, const char *res, unsigned flags)
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

int tu_try_elsewhere(const char *dir, const char *res, unsigned flags)
{
	struct tu_child c;
	int rc = tu_hold1(&c, dir, res, flags);
	tu_stop(&c);
	return rc;
}

/* ---- probing locks from another process ---- */

struct tu_probe_arg {
	const char *path;
	long long start, len;
};

static int tu_probe_main(int rd, int wr, void *arg)
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

int tu_probe_range(const char *path, long long start, long long len, struct tu_lk *lk)
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

int tu_state(const char *path, pid_t *pid)
{
	struct tu_lk lk;
	int rc = tu_probe_range(path, 0, 1, &lk);
	if (pid)
		*pid = lk.pid;
	return rc < 0 ? rc : lk.type;
}

const char *tu_type_name(int type)
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

/* ---- a child that reads a file (so the test never opens a lock file it holds) ---- */

struct tu_read_arg {
	const char *path;
	size_t max;
};

static int tu_read_main(int rd, int wr, void *arg)
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

ssize_t tu_read_elsewhere(const char *path, char *buf, size_t size)
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

struct tu_run_arg {
	tu_call_fn fn;
	void *arg;
};

static int tu_run_main(int rd, int wr, void *arg)
{
	const struct tu_run_arg *a = arg;
	(void)rd;
	tu_send(wr, a->fn(a->arg));
	return 0;
}

int tu_run(tu_call_fn fn, void *arg, int timeout_ms)
{
	struct tu_run_arg a = {fn, arg};
	return tu_run_child(tu_run_main, &a, timeout_ms);
}

int tu_run_child(tu_child_fn fn, void *arg, int timeout_ms)
{
	struct tu_child c;
	int rc = tu_spawn(&c, fn, arg);
	if (rc < 0)
		return rc;
	rc = tu_answer_within(&c, timeout_ms);
	if (rc == TU_NOANSWER)
		kill(c.pid, SIGKILL);
	tu_reap(&c);
	return rc;
}

/* ---- independent oracles: md5sum(1), sha256sum(1), /proc/locks, inotify ---- */

/* The hex digest @tool (md5sum, sha256sum) prints for @bytes: @digits of them. */
static int digest_sum(const char *tool, int digits, const char *scratch, const void *bytes, size_t len,
		      char *out)
{
	char in[PATH_MAX], cmd[PATH_MAX + 32];
	int rc;

	out[0] = '\0';
	tu_join(in, scratch, ".digest-input");
	if ((rc = tu_write_file(in, bytes, len)) < 0)
		return rc;
	snprintf(cmd, sizeof(cmd), "%s < '%s'", tool, in);
	fflush(stdout);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -errno;
	rc = fscanf(p, digits == 64 ? "%64[0-9a-f]" : "%32[0-9a-f]", out) == 1 ? 0 : -EIO;
	pclose(p);
	unlink(in);
	return rc;
}

int tu_md5sum(const char *scratch, const void *bytes, size_t len, char out[33])
{
	return digest_sum("md5sum", 32, scratch, bytes, len, out);
}

int tu_sha256sum(const char *scratch, const void *bytes, size_t len, char out[65])
{
	return digest_sum("sha256sum", 64, scratch, bytes, len, out);
}

int tu_proc_waiting(pid_t pid, const char *path)
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

int tu_watch_opens(const char *path)
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

int tu_opens(int fd)
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

static void tu_copy_holder(struct tu_holder *t, const struct lockspace_holder *h)
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

int tu_collect(const struct lockspace_info *info, void *arg)
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

const struct tu_info *tu_find(const struct tu_infos *l, const char *name)
{
	for (size_t i = 0; i < l->n && i < TU_MAX_INFO; i++)
		if (strcmp(l->e[i].name, name) == 0)
			return &l->e[i];
	return NULL;
}

const struct tu_holder *tu_holder_of(const struct tu_info *e, pid_t pid)
{
	for (size_t i = 0; e && i < e->nholders && i < TU_MAX_HOLDERS; i++)
		if (e->h[i].pid == pid)
			return &e->h[i];
	return NULL;
}

const struct tu_holder *tu_stale_of(const struct tu_info *e, pid_t pid)
{
	for (size_t i = 0; e && i < e->nstale && i < TU_MAX_HOLDERS; i++)
		if (e->s[i].pid == pid)
			return &e->s[i];
	return NULL;
}

int tu_name(const char *res, unsigned flags, char out[LOCKSPACE_NAME_LEN + 1])
{
	memset(out, 0, LOCKSPACE_NAME_LEN + 1);
	return lockspace_name(res, flags, out);
}

char *tu_lockfile(char *buf, const char *dir, const char *res, unsigned flags)
{
	char name[LOCKSPACE_NAME_LEN + 1];
	if (tu_name(res, flags, name) < 0)
		buf[0] = '\0';
	else
		tu_join(buf, dir, name);
	return buf;
}

char *tu_lockspace_dir(char *buf)
{
	tu_join(buf, tu_scratch_dir, "ls");
	mkdir(buf, 0700);
	return buf;
}

void tu_resource(char *res, char *lf, const char *dir, const char *fmt, ...)
{
	char base[NAME_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(base, sizeof(base), fmt, ap);
	va_end(ap);
	tu_join(res, tu_scratch_dir, base);
	tu_touch(res);
	if (lf)
		tu_lockfile(lf, dir, res, 0);
}

int tu_touch(const char *path)
{
	return tu_write_file(path, "", 0);
}

void tu_symlink(const char *target, const char *path)
{
	if (symlink(target, path) < 0) {
		char why[PATH_MAX + 64];
		snprintf(why, sizeof(why), "symlink %s: %s", path, strerror(errno));
		tu_bail(why);
	}
}

void tu_comm(char *buf, size_t size)
{
	ssize_t n = tu_read_file("/proc/self/comm", buf, size);
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	if (n < 0)
		buf[0] = '\0';
}

void tu_bail(const char *why)
{
	printf("Bail out! %s\n", why);
	exit(1);
}

int tu_main(void (*const *steps)(void), size_t n)
{
	tu_init();
	if (tu_scratch(tu_scratch_dir) < 0)
		tu_bail("cannot make a scratch directory");
	for (size_t i = 0; i < n; i++)
		steps[i]();
	tu_rmrf(tu_scratch_dir);
	return tap_done();
}
