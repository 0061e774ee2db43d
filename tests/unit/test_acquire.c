/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_acquire.c: exclusive and shared locks as other processes see them, busy, waits, timeouts, EINTR. */
#include <dirent.h>

#include "testlib.h"

static char dir[PATH_MAX];

/* Is there a descriptor of path in this process, and is it close-on-exec? -1 if none. */
static int cloexec_of(const char *path)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int found = -1;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char link[PATH_MAX], target[PATH_MAX];
		snprintf(link, sizeof(link), "/proc/self/fd/%.200s", de->d_name);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, path) == 0) {
			int fl = fcntl(atoi(de->d_name), F_GETFD);
			found = fl >= 0 && (fl & FD_CLOEXEC) ? 1 : 0;
			if (!found)
				break;
		}
	}
	closedir(d);
	return found;
}

static void test_exclusive_and_shared(void)
{
	char res[PATH_MAX], lf[PATH_MAX], buf[PATH_MAX];
	struct lockspace *ls;
	struct tu_lk lk;
	struct stat st;

	tu_join(res, tu_scratch_dir, "disk-a.img");
	tu_touch(res);
	tu_lockfile(lf, dir, res, 0);
	if (lockspace_open(dir, 0, &ls) < 0) {
		ok(0, "lockspace_open");
		return;
	}
	is_int(lockspace_acquire(ls, res, 0), 0, "exclusive acquire");
	is_int(tu_probe_range(lf, 0, 1, &lk), 0, "another process probes the lock file with F_GETLK");
	is_int(lk.type, F_WRLCK, "exclusive is a write lock");
	is_int(lk.pid, getpid(), "the holder pid is this process");
	is_int(lk.start, 0, "the lock starts at byte 0");
	is_int(lk.len, 1, "the lock covers byte 0 only");
	tu_probe_range(lf, 1, 0, &lk);
	is_int(lk.type, F_UNLCK, "bytes after 0 are free");
	tu_probe_range(lf, 100, 104, &lk);
	is_int(lk.type, F_UNLCK, "bytes 100-203 (QEMU's image locks) are free");
	ok(lstat(lf, &st) == 0 && S_ISREG(st.st_mode), "the lock file is <dir>/<md5 of the path>");
	is_int(st.st_mode & 07777, 0600, "the lock file has mode 0600");
	is_int(cloexec_of(lf), 1, "the lock file descriptor is close-on-exec");
	is_int(tu_read_elsewhere(lf, buf, sizeof(buf)), (long)strlen(res),
	       "the lock file holds as many bytes as the canonical path");
	is_str(buf, res, "the lock file holds exactly the canonical path");
	is_int(lockspace_release(ls, res, 0), 0, "release");
	tu_sees(lf, F_UNLCK, 0, "another process sees it free after release");
	is_int(cloexec_of(lf), -1, "no descriptor of the lock file is left open after release");

	is_int(lockspace_acquire(ls, res, LOCKSPACE_SHARED), 0, "shared acquire");
	tu_probe_range(lf, 0, 1, &lk);
	is_int(lk.type, F_RDLCK, "shared is a read lock");
	is_int(lk.pid, getpid(), "shared holder pid is this process");
	is_int(lk.start, 0, "the shared lock starts at byte 0");
	is_int(lockspace_release(ls, res, 0), 0, "release shared");
	tu_sees(lf, F_UNLCK, 0, "free after the shared release");

	/* A literal resource: the file holds the string as given. */
	tu_lockfile(lf, dir, "lease:vm-7", LOCKSPACE_LITERAL);
	is_int(lockspace_acquire(ls, "lease:vm-7", LOCKSPACE_LITERAL), 0, "literal acquire");
	tu_sees(lf, F_WRLCK, getpid(), "literal lock file is locked by this process");
	tu_read_elsewhere(lf, buf, sizeof(buf));
	is_str(buf, "lease:vm-7", "literal lock file holds the string as given");
	is_int(lockspace_release(ls, "lease:vm-7", 0), -ENOENT,
	       "release without LITERAL names another resource");
	is_int(lockspace_release(ls, "lease:vm-7", LOCKSPACE_LITERAL), 0, "release with LITERAL");

	/* By name: the same lock file as by path. */
	char name[LOCKSPACE_NAME_LEN + 1];
	tu_name(res, 0, name);
	tu_lockfile(lf, dir, res, 0);
	is_int(lockspace_acquire(ls, name, LOCKSPACE_BYNAME), 0, "acquire by name of an existing lock file");
	tu_sees(lf, F_WRLCK, getpid(), "by name locks the resource's lock file");
	is_int(tu_try_elsewhere(dir, res, 0), -EBUSY, "another process acquiring by path: -EBUSY");
	is_int(lockspace_release(ls, res, 0), 0, "release by path what was taken by name");

	/* Errors before anything touches the filesystem. */
	tu_join(buf, tu_scratch_dir, "missing.img");
	is_int(lockspace_acquire(ls, buf, 0), -ENOENT, "nonexistent resource path: -ENOENT");
	is_int(lockspace_acquire(ls, "", 0), -EINVAL, "empty resource: -EINVAL");
	is_int(lockspace_acquire(ls, "../../etc/passwd", LOCKSPACE_BYNAME), -EINVAL,
	       "BYNAME of a path: -EINVAL");
	is_int(lockspace_release_all(ls), 0, "the failed acquires hold nothing");
	lockspace_close(ls);
}

static void test_modes(void)
{
	char d2[PATH_MAX], res[PATH_MAX], lf[PATH_MAX];
	struct lockspace *ls;
	struct stat st;

	tu_join(res, tu_scratch_dir, "disk-modes.img");
	tu_touch(res);
	mode_t old = umask(0);
	tu_join(d2, tu_scratch_dir, "ls-umask0");
	if (lockspace_open(d2, 0, &ls) == 0) {
		is_int(lockspace_acquire(ls, res, 0), 0, "acquire with umask 0");
		tu_lockfile(lf, d2, res, 0);
		is_int(lstat(lf, &st) == 0 ? (int)(st.st_mode & 07777) : -1, 0600,
		       "lock file mode is 0600 whatever the umask");
		lockspace_close(ls);
	}
	umask(old);

	/* A group-writable, setgid lockspace gets group-writable lock files. */
	tu_join(d2, tu_scratch_dir, "ls-group");
	mkdir(d2, 0700);
	chmod(d2, 02770);
	if (lockspace_open(d2, 0, &ls) == 0) {
		is_int(lockspace_acquire(ls, res, 0), 0, "acquire in a group-writable setgid lockspace");
		tu_lockfile(lf, d2, res, 0);
		is_int(lstat(lf, &st) == 0 ? (int)(st.st_mode & 07777) : -1, 0660,
		       "lock file mode is 0660 in a group-writable setgid lockspace");
		lockspace_close(ls);
	} else {
		ok(0, "a group-writable setgid lockspace opens");
	}
}

static void test_contention(void)
{
	char r1[PATH_MAX], r2[PATH_MAX], lf[PATH_MAX];
	struct lockspace *ls;
	struct tu_child c1, c2;

	tu_join(r1, tu_scratch_dir, "busy-1.img");
	tu_join(r2, tu_scratch_dir, "busy-2.img");
	tu_touch(r1);
	tu_touch(r2);
	if (lockspace_open(dir, 0, &ls) < 0)
		return;

	is_int(tu_hold1(&c1, dir, r1, 0), 0, "another process holds r1 exclusively");
	long long t0 = tu_now_ms();
	is_int(lockspace_acquire(ls, r1, 0), -EBUSY, "exclusive over another process's exclusive: -EBUSY");
	is_int(lockspace_acquire(ls, r1, LOCKSPACE_SHARED), -EBUSY,
	       "shared over another process's exclusive: -EBUSY");
	long long dt = tu_now_ms() - t0;
	ok(dt < 2000, "busy answers at once (%lld ms for two calls)", dt);
	tu_lockfile(lf, dir, r1, 0);
	tu_sees(lf, F_WRLCK, c1.pid, "r1 is still held by the other process");
	is_int(lockspace_release(ls, r1, 0), -ENOENT, "a busy acquire holds nothing");
	tu_stop(&c1);
	is_int(lockspace_acquire(ls, r1, 0), 0, "r1 is free once the holder exits");
	is_int(tu_try_elsewhere(dir, r1, 0), -EBUSY, "another process: exclusive over ours: -EBUSY");
	is_int(tu_try_elsewhere(dir, r1, LOCKSPACE_SHARED), -EBUSY,
	       "another process: shared over ours: -EBUSY");
	lockspace_release(ls, r1, 0);

	is_int(tu_hold1(&c1, dir, r2, LOCKSPACE_SHARED), 0, "another process holds r2 shared");
	is_int(tu_hold1(&c2, dir, r2, LOCKSPACE_SHARED), 0, "a third process holds r2 shared too");
	is_int(lockspace_acquire(ls, r2, 0), -EBUSY, "exclusive over others' shared: -EBUSY");
	is_int(lockspace_acquire(ls, r2, LOCKSPACE_SHARED), 0, "shared over others' shared: granted");
	tu_lockfile(lf, dir, r2, 0);
	tu_sees(lf, F_RDLCK, (pid_t)-1, "r2 is share-locked");
	is_int(tu_try_elsewhere(dir, r2, 0), -EBUSY, "a fourth process cannot take r2 exclusively");
	tu_stop(&c1);
	tu_stop(&c2);
	tu_sees(lf, F_RDLCK, getpid(), "only this process's shared hold remains");
	is_int(tu_try_elsewhere(dir, r2, 0), -EBUSY, "exclusive over our shared elsewhere: -EBUSY");
	is_int(lockspace_release(ls, r2, 0), 0, "release our shared hold");
	is_int(tu_try_elsewhere(dir, r2, 0), 0,
	       "another process takes r2 exclusively once all shared holds end");
	lockspace_close(ls);
}

static void test_timeout(void)
{
	char res[PATH_MAX];
	struct lockspace *ls;
	struct tu_child c;
	size_t failed = 99;

	tu_join(res, tu_scratch_dir, "timeout.img");
	tu_touch(res);
	if (lockspace_open(dir, 0, &ls) < 0)
		return;
	is_int(tu_hold1(&c, dir, res, 0), 0, "another process holds the resource");
	const char *one[] = {res};
	long long t0 = tu_now_ms();
	is_int(lockspace_acquire_many(ls, one, 1, LOCKSPACE_WAIT, 300, &failed), -ETIMEDOUT,
	       "a 300 ms wait on a held resource: -ETIMEDOUT");
	long long dt = tu_now_ms() - t0;
	ok(dt >= 250, "the wait lasted about its timeout (%lld ms)", dt);
	ok(dt < 10000, "the wait ended (%lld ms)", dt);
	is_int(failed, 0, "failed names the resource");
	is_int(lockspace_acquire_many(ls, one, 1, LOCKSPACE_WAIT | LOCKSPACE_SHARED, 100, NULL), -ETIMEDOUT,
	       "a shared wait on an exclusive hold: -ETIMEDOUT");
	is_int(lockspace_acquire_many(ls, one, 1, 0, 5000, NULL), -EBUSY,
	       "the timeout is ignored without WAIT");
	is_int(lockspace_release_all(ls), 0, "nothing is held after the timeouts");

	/* A finite wait succeeds when the holder lets go during it. */
	tu_send(c.to, TU_CMD_RELEASE_ALL);
	t0 = tu_now_ms();
	is_int(lockspace_acquire_many(ls, one, 1, LOCKSPACE_WAIT, 10000, NULL), 0,
	       "a finite wait is granted when the holder releases");
	ok(tu_now_ms() - t0 < 10000, "granted before the timeout");
	is_int(tu_answer(&c), 1, "the holder released its one hold");
	tu_stop(&c);
	lockspace_close(ls);
}

/* One resource named twice, even waiting for ever and with nobody holding
 * it, is the caller's mistake: -EINVAL at once, the second naming blamed. */
static void test_named_twice(void)
{
	char res[PATH_MAX], dotted[PATH_MAX + 16], other[PATH_MAX];
	struct lockspace *ls;
	size_t failed = 99;

	tu_join(res, tu_scratch_dir, "twice.img");
	tu_touch(res);
	tu_join(other, tu_scratch_dir, "other.img");
	tu_touch(other);
	snprintf(dotted, sizeof(dotted), "%s/./twice.img", tu_scratch_dir);
	if (lockspace_open(dir, 0, &ls) < 0)
		return;
	const char *list[] = {other, res, dotted, other};
	long long t0 = tu_now_ms();
	is_int(lockspace_acquire_many(ls, list, 4, LOCKSPACE_WAIT, -1, &failed), -EINVAL,
	       "named twice, waiting for ever: -EINVAL");
	ok(tu_now_ms() - t0 < 5000, "at once, without waiting");
	is_int(failed, 2, "failed is the first repeat in the order given");
	is_int(lockspace_release_all(ls), 0, "nothing is held");
	const char *lit[] = {"lease-a", "lease-a"};
	failed = 99;
	is_int(lockspace_acquire_many(ls, lit, 2, LOCKSPACE_LITERAL | LOCKSPACE_SHARED, -1, &failed), -EINVAL,
	       "a literal named twice, shared: -EINVAL");
	is_int(failed, 1, "failed is the second");
	is_int(lockspace_acquire(ls, res, 0), 0, "named once, it is free to take");
	lockspace_close(ls);
}

struct watcher {
	const char *res, *lockfile;
	pid_t parent;
	int signal_parent; /* 0: release once the parent waits; 1: send it SIGUSR1; 2: SIGUSR2, then release
			    */
	int handled_fd;	   /* mode 2: the parent's handler writes a byte here */
};

/* Hold res; when /proc/locks shows the parent blocked on it, release or signal; report whether seen. */
static int watcher_main(int rd, int wr, void *arg)
{
	const struct watcher *w = arg;
	struct lockspace *ls = NULL;
	int rc = lockspace_open(dir, 0, &ls);

	if (rc == 0)
		rc = lockspace_acquire(ls, w->res, 0);
	tu_send(wr, rc);
	if (rc < 0) {
		lockspace_close(ls);
		return 1;
	}
	long long deadline = tu_now_ms() + TU_DEADLINE_MS;
	int seen = 0;
	while (!(seen = tu_proc_waiting(w->parent, w->lockfile)) && tu_now_ms() < deadline)
		poll(NULL, 0, 2);
	if (!w->signal_parent) {
		lockspace_release_all(ls);
		tu_send(wr, seen);
		tu_order(rd);
		lockspace_close(ls);
		return 0;
	}
	if (w->signal_parent == 2) {
		/* SA_RESTART: after the handler ran the parent must be waiting again, not failed. */
		char b;
		struct pollfd p = {.fd = w->handled_fd, .events = POLLIN};
		kill(w->parent, SIGUSR2);
		int handled = poll(&p, 1, TU_DEADLINE_MS) == 1 && read(w->handled_fd, &b, 1) == 1;
		int again = 0;
		deadline = tu_now_ms() + TU_DEADLINE_MS;
		while (handled && !(again = tu_proc_waiting(w->parent, w->lockfile)) &&
		       tu_now_ms() < deadline)
			poll(NULL, 0, 2);
		lockspace_release_all(ls);
		tu_send(wr, seen + handled + again);
		tu_order(rd);
		lockspace_close(ls);
		return 0;
	}
	kill(w->parent, SIGUSR1);
	tu_send(wr, seen);
	/* Keep the lock a while: a library that swallowed EINTR would get it only after this. */
	int v;
	tu_recv(rd, &v, 3000);
	lockspace_close(ls);
	return 0;
}

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static int handled_pipe[2] = {-1, -1};

static void on_usr2(int sig)
{
	char b = 1;
	(void)sig;
	if (write(handled_pipe[1], &b, 1) < 0) {
		/* nothing to do in a handler */
	}
}

/* Hold res until the parent's SIGUSR2 handler has run, then release. */
static int hold_until_handled(int rd, int wr, void *arg)
{
	struct lockspace *ls = NULL;
	char b;
	struct pollfd p = {.fd = handled_pipe[0], .events = POLLIN};
	int rc = lockspace_open(dir, 0, &ls);

	if (rc == 0)
		rc = lockspace_acquire(ls, arg, 0);
	tu_send(wr, rc);
	int handled = poll(&p, 1, TU_DEADLINE_MS) == 1 && read(handled_pipe[0], &b, 1) == 1;
	lockspace_release_all(ls);
	tu_send(wr, handled);
	tu_order(rd);
	lockspace_close(ls);
	return 0;
}

static void test_sa_restart(void)
{
	char res[PATH_MAX], lf[PATH_MAX];
	struct lockspace *ls;
	struct tu_child c;
	struct sigaction sa, old;
	timer_t timer;

	tu_join(res, tu_scratch_dir, "restart.img");
	tu_touch(res);
	tu_lockfile(lf, dir, res, 0);
	if (pipe2(handled_pipe, O_CLOEXEC) < 0 || lockspace_open(dir, 0, &ls) < 0)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, &old);

	/* Wait for ever: the kernel restarts F_SETLKW after the handler. */
	struct watcher w = {res, lf, getpid(), 2, handled_pipe[0]};
	tu_spawn(&c, watcher_main, &w);
	is_int(tu_answer(&c), 0, "another process holds the resource");
	is_int(lockspace_acquire(ls, res, LOCKSPACE_WAIT), 0,
	       "a wait for ever survives a SA_RESTART handler and is granted on release");
	is_int(tu_answer(&c), 3, "we waited, the handler ran, and we were waiting again before the release");
	tu_stop(&c);
	lockspace_release(ls, res, 0);

	/* A finite wait: a SA_RESTART handler running during it must not end it with -EINTR. */
	tu_spawn(&c, hold_until_handled, res);
	is_int(tu_answer(&c), 0, "another process holds the resource");
	struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2};
	struct itimerspec its = {.it_value = {0, 100 * 1000000}};
	if (timer_create(CLOCK_MONOTONIC, &sev, &timer) == 0) {
		const char *one[] = {res};
		timer_settime(timer, 0, &its, NULL);
		int rc = lockspace_acquire_many(ls, one, 1, LOCKSPACE_WAIT, 5000, NULL);
		is_int(rc, 0, "a finite wait survives a SA_RESTART handler and is granted on release");
		is_int(tu_answer(&c), 1, "the handler ran during the wait");
		timer_delete(timer);
	} else {
		ok(0, "timer_create: %s", strerror(errno));
	}
	tu_stop(&c);
	lockspace_release_all(ls);
	sigaction(SIGUSR2, &old, NULL);
	close(handled_pipe[0]);
	close(handled_pipe[1]);
	lockspace_close(ls);
}

static void test_wait_forever(void)
{
	char res[PATH_MAX], lf[PATH_MAX];
	struct lockspace *ls;
	struct tu_child c;

	tu_join(res, tu_scratch_dir, "forever.img");
	tu_touch(res);
	tu_lockfile(lf, dir, res, 0);
	if (lockspace_open(dir, 0, &ls) < 0)
		return;

	struct watcher w = {res, lf, getpid(), 0, -1};
	tu_spawn(&c, watcher_main, &w);
	is_int(tu_answer(&c), 0, "another process holds the resource");
	is_int(lockspace_acquire(ls, res, LOCKSPACE_WAIT), 0,
	       "a wait for ever is granted when the holder releases");
	is_int(tu_answer(&c), 1, "the kernel listed us as a blocked waiter (F_SETLKW) before the release");
	tu_sees(lf, F_WRLCK, getpid(), "the waiter now holds the lock");
	tu_stop(&c);
	lockspace_release(ls, res, 0);

	/* A signal handler without SA_RESTART interrupts the wait. */
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, &old);
	struct watcher ws = {res, lf, getpid(), 1, -1};
	tu_spawn(&c, watcher_main, &ws);
	is_int(tu_answer(&c), 0, "another process holds the resource");
	got_usr1 = 0;
	is_int(lockspace_acquire(ls, res, LOCKSPACE_WAIT), -EINTR,
	       "a signal interrupts a wait for ever: -EINTR");
	ok(got_usr1, "the handler ran");
	is_int(tu_answer(&c), 1, "the kernel listed us as a blocked waiter before the signal");
	is_int(lockspace_release(ls, res, 0), -ENOENT, "the interrupted wait holds nothing");
	tu_sees(lf, F_WRLCK, c.pid, "the other process still holds the resource");
	tu_stop(&c);
	sigaction(SIGUSR1, &old, NULL);
	is_int(lockspace_acquire(ls, res, 0), 0, "after the holder exits the resource can be taken");
	is_int(lockspace_release_all(ls), 1, "exactly that one hold is released");
	lockspace_close(ls);
}

struct thread_acquire {
	struct lockspace *ls;
	const char *res;
	int rc;
};

static void *acquire_thread(void *arg)
{
	struct thread_acquire *t = arg;
	t->rc = lockspace_acquire(t->ls, t->res, 0);
	return NULL;
}

static void test_thread_pid(void)
{
	char res[PATH_MAX], lf[PATH_MAX];
	struct lockspace *ls;
	pthread_t th;

	tu_join(res, tu_scratch_dir, "thread.img");
	tu_touch(res);
	tu_lockfile(lf, dir, res, 0);
	if (lockspace_open(dir, 0, &ls) < 0)
		return;
	struct thread_acquire t = {ls, res, 1};
	pthread_create(&th, NULL, acquire_thread, &t);
	pthread_join(th, NULL);
	is_int(t.rc, 0, "a thread acquires");
	tu_sees(lf, F_WRLCK, getpid(), "the lock outlives the thread and belongs to the process");
	is_int(lockspace_release(ls, res, 0), 0, "another thread releases it");
	lockspace_close(ls);
}

/* The lockspace directory and the resources every test here uses. */
static void setup(void)
{
	tu_join(dir, tu_scratch_dir, "ls");
}

TU_MAIN(setup, test_exclusive_and_shared, test_modes, test_contention, test_timeout, test_named_twice,
	test_wait_forever, test_sa_restart, test_thread_pid)
