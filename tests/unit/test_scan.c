/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_scan.c: lockspace_foreach() over thousands of lock files on several threads, against one thread and
 * the kernel. */
#include <dirent.h>
#include <stdatomic.h>
#include <sys/resource.h>

#include "testlib.h"

#define NFILES	 3000
#define NKIDS	 4 /* children holding KIDRES files each, exclusive or shared */
#define KIDRES	 8
#define NSELF	 60 /* held by this process, every third one shared */
#define NCORRUPT 20
#define CHURN	 40 /* files another thread takes and lets go during walks */

static char dir[PATH_MAX];
static struct lockspace *ls;
static atomic_int walking;
static int verdict[2] = {-1, -1}; /* see child_says() */
static struct tu_child kids[NKIDS];
static char kidres[NKIDS][KIDRES][32];

/* What a walk reported of one file. */
struct row {
	char name[LOCKSPACE_NAME_LEN + 1];
	char path[32];
	int state, integrity;
	size_t nholders, nstale;
	pid_t pid[4];
	unsigned flags[4];
};

struct rows {
	struct row *r;
	size_t n, cap;
	int unlink_first; /* on the first call, unlink the files unlink_names names */
	char (*unlink_names)[LOCKSPACE_NAME_LEN + 1];
	size_t nunlink;
	int fork_first; /* on the first call, fork: the child ends the walk */
	pid_t parent, child;
	int tasks;	    /* the threads of the process at the first call */
	int pipe_w, pipe_r; /* with pipe_r > 0: close pipe_w at the first call, see if pipe_r ends */
	int pipe_ended;
	const char *take_first; /* on the first call, acquire this (literal) resource */
	int take_rc;
};

static int collect(const struct lockspace_info *info, void *arg)
{
	struct rows *l = arg;
	if (l->n == 0 && l->unlink_first) {
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		for (size_t i = 0; i < l->nunlink; i++)
			unlinkat(dfd, l->unlink_names[i], 0);
		close(dfd);
	}
	if (l->n == 0 && l->fork_first) {
		pid_t pid = fork();
		if (pid == 0) {
			alarm(60); /* a child that hangs fails the test */
			return 99; /* stop the walk there: it shares the directory's offset */
		}
		l->child = pid;
	}
	if (l->n == 0 && l->pipe_r > 0) {
		close(l->pipe_w);
		struct pollfd pfd = {.fd = l->pipe_r, .events = POLLIN};
		l->pipe_ended = poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLHUP);
	}
	if (l->n == 0 && l->take_first)
		l->take_rc = lockspace_acquire(ls, l->take_first, LOCKSPACE_LITERAL);
	if (l->n == 0) {
		DIR *t = opendir("/proc/self/task");
		for (struct dirent *de; t && (de = readdir(t));)
			l->tasks += de->d_name[0] != '.';
		if (t)
			closedir(t);
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 1024;
		struct row *r = realloc(l->r, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		l->r = r;
		l->cap = cap;
	}
	struct row *r = &l->r[l->n++];
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", info->name);
	snprintf(r->path, sizeof(r->path), "%s", info->path ? info->path : "(null)");
	r->state = info->state;
	r->integrity = info->integrity;
	r->nholders = info->nholders;
	r->nstale = info->nstale;
	for (size_t i = 0; i < info->nholders && i < 4; i++) {
		r->pid[i] = info->holders[i].pid;
		r->flags[i] = info->holders[i].flags;
	}
	return 0;
}

static int walk(const char *threads, struct rows *l)
{
	setenv(LOCKSPACE_SCAN_THREADS_ENV, threads, 1);
	int rc = lockspace_foreach(ls, LOCKSPACE_ALL, collect, l);
	unsetenv(LOCKSPACE_SCAN_THREADS_ENV);
	return rc;
}

static const struct row *find(const struct rows *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->r[i].name, name) == 0)
			return &l->r[i];
	return NULL;
}

static void name_of(int i, char out[LOCKSPACE_NAME_LEN + 1])
{
	char res[32];
	snprintf(res, sizeof(res), "res-%d", i);
	tu_name(res, LOCKSPACE_LITERAL, out);
}

static void setup(void)
{
	char res[32], lf[PATH_MAX], name[LOCKSPACE_NAME_LEN + 1];
	if (pipe2(verdict, O_CLOEXEC) < 0)
		exit(1);
	tu_lockspace_dir(dir);
	if (lockspace_open(dir, 0, &ls) < 0)
		exit(1);
	/* The lock files, made and let go by this process, their content the resource. */
	int made = 0;
	for (int i = 0; i < NFILES; i++) {
		snprintf(res, sizeof(res), "res-%d", i);
		made += lockspace_acquire(ls, res, LOCKSPACE_LITERAL) == 0 &&
			lockspace_release(ls, res, LOCKSPACE_LITERAL) == 0;
	}
	is_int(made, NFILES, "%d lock files made", NFILES);
	/* Corrupt ones, among the free files (none of them is held here). */
	for (int i = 0; i < NCORRUPT; i++) {
		name_of(1000 + 7 * i, name);
		tu_write_file(tu_join(lf, dir, name), "corrupt", 7);
	}
	/* Other processes hold some, exclusive or shared (two children share theirs). */
	for (int k = 0; k < NKIDS; k++) {
		static struct tu_hold_spec spec[NKIDS];
		spec[k] = (struct tu_hold_spec){.dir = dir, .n = KIDRES, .timeout_ms = -1};
		spec[k].flags = LOCKSPACE_LITERAL | (k >= 2 ? LOCKSPACE_SHARED : 0);
		for (int j = 0; j < KIDRES; j++) {
			snprintf(kidres[k][j], sizeof(kidres[k][j]), "res-%d",
				 k >= 2 ? 200 + j : 100 + 40 * k + j);
			spec[k].res[j] = kidres[k][j];
		}
		is_int(tu_hold(&kids[k], &spec[k]), 0, "child %d holds its %d files", k, KIDRES);
	}
	/* And this process holds some itself. */
	int held = 0;
	for (int i = 0; i < NSELF; i++) {
		snprintf(res, sizeof(res), "res-%d", 2000 + i);
		held += lockspace_acquire(ls, res, LOCKSPACE_LITERAL | (i % 3 ? 0 : LOCKSPACE_SHARED)) == 0;
	}
	is_int(held, NSELF, "this process holds %d files", NSELF);
}

/* In a child (never in the test process, which holds some of the files):
 * F_GETLK as a would-be writer on byte 0 of the lock file @name of @d. */
static int getlk(const char *d, const char *name, pid_t *pid)
{
	char lf[PATH_MAX];
	int fd = open(tu_join(lf, d, name), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 1};
	int rc = fd >= 0 && fcntl(fd, F_GETLK, &fl) == 0 ? fl.l_type : -1;
	*pid = fl.l_pid;
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Child: F_GETLK on each file of the walk, as another process sees it, against its row. */
static int truth_main(int rd, int wr, void *arg)
{
	const struct rows *l = arg;
	int bad = 0;
	(void)rd;
	for (size_t i = 0; i < l->n; i++) {
		pid_t pid = 0;
		int type = getlk(dir, l->r[i].name, &pid);
		int want = l->r[i].state == LOCKSPACE_STATE_FREE     ? F_UNLCK
			   : l->r[i].state == LOCKSPACE_STATE_SHARED ? F_RDLCK
								     : F_WRLCK;
		int named = type == F_UNLCK;
		for (size_t h = 0; h < l->r[i].nholders && h < 4; h++)
			named |= l->r[i].pid[h] == pid;
		if (type != want || !named) {
			if (bad++ < 5)
				printf("# %s: the kernel says %s by %d, the walk %d with %zu holders\n",
				       l->r[i].name, tu_type_name(type), (int)pid, l->r[i].state,
				       l->r[i].nholders);
		}
	}
	tu_send(wr, bad);
	return 0;
}

static void test_threads_as_one(void)
{
	struct rows one = {0}, many = {0};
	is_int(walk("1", &one), 0, "the walk on one thread");
	is_int(walk("4", &many), 0, "the walk on four threads");
	is_int(many.n, NFILES, "it reports every file");
	is_int(one.n, many.n, "as many files on four threads as on one");
	int same = one.n == many.n;
	for (size_t i = 0; same && i < one.n; i++)
		same = memcmp(&one.r[i], &many.r[i], sizeof(one.r[i])) == 0;
	ok(same, "the same rows, in the same order, on four threads as on one");

	/* Spot checks against what the test set up. */
	char name[LOCKSPACE_NAME_LEN + 1];
	int corrupt = 0, self = 0, kid = 0;
	for (int i = 0; i < NCORRUPT; i++) {
		name_of(1000 + 7 * i, name);
		const struct row *r = find(&many, name);
		corrupt += r && r->integrity == -EBADMSG && r->state == LOCKSPACE_STATE_FREE;
	}
	is_int(corrupt, NCORRUPT, "the corrupt files are reported free and corrupt");
	for (int i = 0; i < NSELF; i++) {
		name_of(2000 + i, name);
		const struct row *r = find(&many, name);
		self += r && r->integrity == 0 && r->nholders == 1 && r->pid[0] == getpid() &&
			(r->flags[0] & LOCKSPACE_HOLDER_SELF) &&
			r->state == (i % 3 ? LOCKSPACE_STATE_EXCLUSIVE : LOCKSPACE_STATE_SHARED);
	}
	is_int(self, NSELF, "the files this process holds are reported as its own, in their modes");
	for (int k = 0; k < NKIDS; k++)
		for (int j = 0; j < KIDRES; j++) {
			tu_name(kidres[k][j], LOCKSPACE_LITERAL, name);
			const struct row *r = find(&many, name);
			kid += r &&
			       r->state == (k >= 2 ? LOCKSPACE_STATE_SHARED : LOCKSPACE_STATE_EXCLUSIVE) &&
			       strcmp(r->path, kidres[k][j]) == 0;
		}
	is_int(kid, NKIDS * KIDRES, "the files other processes hold are reported held, in their modes");
	is_int(tu_run_child(truth_main, &many, TU_DEADLINE_MS), 0,
	       "another process's F_GETLK agrees with the walk on every file");
	free(one.r);
	free(many.r);
}

/* A file that this process takes after it was looked at, before it is
 * reported (here, by the callback), is reported as this process's; and
 * LOCKSPACE_SCAN_THREADS takes digits only. */
static void test_held_since_looked_at(void)
{
	struct rows order = {0}, l = {0}, dflt = {0}, bad = {0};
	is_int(walk("1", &order), 0, "a walk on one thread gives the order");
	if (order.n < 40)
		return;
	/* The first batch is looked at before the callback is first called. */
	const struct row *target = NULL;
	for (size_t i = 20; i < order.n && !target; i++)
		if (order.r[i].state == LOCKSPACE_STATE_FREE && order.r[i].integrity == 0)
			target = &order.r[i];
	ok(target != NULL, "a free file to take");
	if (!target)
		return;
	l.take_first = target->path;
	is_int(walk("4", &l), 0, "a walk on four threads whose callback takes it");
	is_int(l.take_rc, 0, "the callback took %s", target->path);
	const struct row *r = find(&l, target->name);
	ok(r && r->state == LOCKSPACE_STATE_EXCLUSIVE && r->nholders == 1 && r->pid[0] == getpid() &&
		   (r->flags[0] & LOCKSPACE_HOLDER_SELF),
	   "it is reported held by this process (state %d)", r ? r->state : -1);
	lockspace_release(ls, target->path, LOCKSPACE_LITERAL);
	is_int(walk("", &dflt), 0, "a walk with the default threads");
	is_int(walk("-1", &bad), 0, "a walk with LOCKSPACE_SCAN_THREADS=-1");
	is_int(bad.tasks, dflt.tasks, "-1 is the default, not as many threads as allowed (%d)", bad.tasks);
	free(order.r);
	free(l.r);
	free(dflt.r);
	free(bad.r);
}

/* Files removed while the walk goes on are skipped, not errors. */
static void test_vanished(void)
{
	struct rows before = {0}, l = {0};
	walk("1", &before);
	/* Free, sound files of the second half of the directory order. */
	char(*gone)[LOCKSPACE_NAME_LEN + 1] = calloc(NFILES, sizeof(*gone));
	size_t ngone = 0;
	for (size_t i = before.n / 2; gone && i < before.n; i += 3)
		if (before.r[i].state == LOCKSPACE_STATE_FREE && before.r[i].integrity == 0)
			memcpy(gone[ngone++], before.r[i].name, sizeof(gone[0]));
	l.unlink_first = 1;
	l.unlink_names = gone;
	l.nunlink = ngone;
	is_int(walk("4", &l), 0, "a walk whose files vanish as it goes succeeds");
	size_t kept = 0, seen_gone = 0, late_gone = 0;
	for (size_t i = 0; i < before.n; i++) {
		int was_gone = 0;
		for (size_t g = 0; g < ngone && !was_gone; g++)
			was_gone = strcmp(gone[g], before.r[i].name) == 0;
		const struct row *r = find(&l, before.r[i].name);
		if (!was_gone)
			kept += r != NULL;
		else if (r)
			seen_gone++, late_gone += i >= 2048; /* looked at after the unlink */
	}
	is_int(kept, before.n - ngone, "every file that stayed is reported");
	ok(l.n == kept + seen_gone, "nothing else is reported (%zu rows, %zu of the removed)", l.n,
	   seen_gone);
	is_int(late_gone, 0, "no file removed before the walk looked at it is reported");
	/* Make them again, for the tests that follow. */
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; i < NFILES; i++) {
		char name[LOCKSPACE_NAME_LEN + 1], res[32];
		name_of(i, name);
		snprintf(res, sizeof(res), "res-%d", i);
		if (faccessat(dfd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
		    lockspace_acquire(ls, res, LOCKSPACE_LITERAL) == 0)
			lockspace_release(ls, res, LOCKSPACE_LITERAL);
	}
	close(dfd);
	free(gone);
	free(before.r);
	free(l.r);
}

/* Another thread takes and lets go files while the walks look at them. */
static atomic_int stop_churn;

static void *churn_main(void *arg)
{
	(void)arg;
	char res[32];
	unsigned seed = 7;
	while (!atomic_load(&stop_churn))
		for (int i = 0; i < CHURN; i++) {
			snprintf(res, sizeof(res), "res-%d", 2500 + i);
			if (rand_r(&seed) % 2)
				lockspace_acquire(ls, res, LOCKSPACE_LITERAL);
			else
				lockspace_release(ls, res, LOCKSPACE_LITERAL);
		}
	/* End holding every second one. */
	for (int i = 0; i < CHURN; i++) {
		snprintf(res, sizeof(res), "res-%d", 2500 + i);
		if (i % 2)
			lockspace_acquire(ls, res, LOCKSPACE_LITERAL);
		else
			lockspace_release(ls, res, LOCKSPACE_LITERAL);
	}
	return NULL;
}

/* Child: are the files this process holds still locked by it, as another process sees them? */
static int still_held_main(int rd, int wr, void *arg)
{
	pid_t parent = *(pid_t *)arg;
	int bad = 0;
	(void)rd;
	for (int i = 0; i < NSELF + CHURN; i++) {
		char name[LOCKSPACE_NAME_LEN + 1];
		int n = i < NSELF ? 2000 + i : 2500 + (i - NSELF);
		name_of(n, name);
		pid_t pid = 0;
		int type = getlk(dir, name, &pid);
		int want = i < NSELF ? (i % 3 ? F_WRLCK : F_RDLCK) : (i - NSELF) % 2 ? F_WRLCK : F_UNLCK;
		if (type != want || (want != F_UNLCK && pid != parent))
			if (bad++ < 5)
				printf("# res-%d: %s by %d, want %s\n", n, tu_type_name(type), (int)pid,
				       tu_type_name(want));
	}
	tu_send(wr, bad);
	return 0;
}

static void test_walks_keep_locks(void)
{
	pthread_t th;
	atomic_store(&stop_churn, 0);
	if (pthread_create(&th, NULL, churn_main, NULL)) {
		ok(0, "start the thread that takes and lets go");
		return;
	}
	int fails = 0, short_walks = 0;
	for (int i = 0; i < 15; i++) {
		struct rows l = {0};
		fails += walk(i % 3 ? "4" : "2", &l) != 0;
		short_walks += l.n != NFILES;
		free(l.r);
	}
	atomic_store(&stop_churn, 1);
	pthread_join(th, NULL);
	is_int(fails, 0, "walks beside a thread that takes and lets go succeed");
	is_int(short_walks, 0, "and report every file");
	pid_t self = getpid();
	is_int(tu_run_child(still_held_main, &self, TU_DEADLINE_MS), 0,
	       "afterwards this process still holds every lock it took, as another process sees");
}

/* A child forked while other threads allocate must not allocate itself
 * under GCC 12's AddressSanitizer, whose allocator's locks stay taken in the
 * child (glibc's malloc is made ready for the child by fork()). */
static int fork_unsafe(void)
{
#ifdef __SANITIZE_ADDRESS__
	return 1;
#else
	return 0;
#endif
}

/* A forked child's verdict, over a pipe: under valgrind its exit status is
 * that of the leak check, which counts the other threads' memory as lost. */
static void child_says(int v)
{
	char c = (char)v;
	if (write(verdict[1], &c, 1) != 1)
		_exit(3);
	_exit(0);
}

/* The verdict of the child @pid, which is reaped: 0 good, else not. */
static int child_said(pid_t pid)
{
	char c = 1;
	struct pollfd pfd = {.fd = verdict[0], .events = POLLIN};
	if (poll(&pfd, 1, TU_DEADLINE_MS) != 1 || read(verdict[0], &c, 1) != 1)
		c = 1;
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return c;
}

/* Child: a walk of its own, holding nothing. 0 if so. */
static int child_walk(void)
{
	struct rows l = {0};
	int rc = lockspace_foreach(ls, LOCKSPACE_ALL, collect, &l);
	int self = 0;
	for (size_t i = 0; i < l.n; i++)
		self += l.r[i].nholders && (l.r[i].flags[0] & LOCKSPACE_HOLDER_SELF);
	return rc == 0 && l.n == NFILES && self == 0 ? 0 : 1;
}

/*
 * The close-drops-lock hazard: this thread takes lock files one by one
 * while another walks them over and over on several threads; after each
 * round another process must see every one of them locked by this one. A
 * walk that closed a descriptor of a file just taken would drop its lock.
 */
#define NHAZARD 800
#define ROUNDS	12

static char hdir[PATH_MAX];
static struct lockspace *hls;
static char hnames[NHAZARD][LOCKSPACE_NAME_LEN + 1]; /* made before any fork: see fork_unsafe() */

static void *hazard_walker(void *arg)
{
	int *fails = arg;
	while (atomic_load(&walking)) {
		struct rows l = {0};
		*fails += lockspace_foreach(hls, LOCKSPACE_ALL, collect, &l) != 0 || l.n != NHAZARD;
		free(l.r);
	}
	return NULL;
}

/* Child: F_GETLK on each file of the hazard lockspace: how many are not write-locked by the parent. */
static int hazard_check_main(int rd, int wr, void *arg)
{
	pid_t parent = *(pid_t *)arg;
	int bad = 0;
	(void)rd;
	for (int i = 0; i < NHAZARD; i++) {
		pid_t pid = 0;
		bad += getlk(hdir, hnames[i], &pid) != F_WRLCK || pid != parent;
	}
	tu_send(wr, bad);
	return 0;
}

static void test_hazard(void)
{
	char res[32];
	pthread_t th;
	int fails = 0, lost = 0, taken = 0;
	tu_join(hdir, tu_scratch_dir, "hazard");
	if (mkdir(hdir, 0700) < 0 || lockspace_open(hdir, 0, &hls) < 0) {
		ok(0, "a second lockspace");
		return;
	}
	for (int i = 0; i < NHAZARD; i++) {
		snprintf(res, sizeof(res), "h-%d", i);
		tu_name(res, LOCKSPACE_LITERAL, hnames[i]);
		lockspace_acquire(hls, res, LOCKSPACE_LITERAL);
		lockspace_release(hls, res, LOCKSPACE_LITERAL);
	}
	setenv(LOCKSPACE_SCAN_THREADS_ENV, "4", 1);
	atomic_store(&walking, 1);
	if (pthread_create(&th, NULL, hazard_walker, &fails)) {
		ok(0, "start the walking thread");
		return;
	}
	pid_t self = getpid();
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < NHAZARD; i++) {
			snprintf(res, sizeof(res), "h-%d", i);
			taken += lockspace_acquire(hls, res, LOCKSPACE_LITERAL) == 0;
		}
		lost += tu_run_child(hazard_check_main, &self, TU_DEADLINE_MS);
		lockspace_release_all(hls);
	}
	atomic_store(&walking, 0);
	pthread_join(th, NULL);
	unsetenv(LOCKSPACE_SCAN_THREADS_ENV);
	is_int(fails, 0, "walks on several threads while this thread takes their files succeed");
	is_int(taken, NHAZARD * ROUNDS, "every acquire beside the walks succeeds");
	is_int(lost, 0, "and no lock taken is lost to a walk, as another process sees");
	lockspace_close(hls);
}

/* A pipe that the process closes during a walk ends at once: the threads
 * of the walk keep no copy of the process's descriptors. */
static void test_closed_meanwhile(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		ok(0, "a pipe");
		return;
	}
	struct rows l = {.pipe_r = p[0], .pipe_w = p[1]};
	is_int(walk("4", &l), 0, "a walk on four threads that closes a pipe's end as it reports");
	ok(l.tasks > 1, "has threads besides the calling one (%d)", l.tasks);
	ok(l.pipe_ended, "the reader sees the end of the pipe at once, while the walk goes on");
	close(p[0]);
	free(l.r);
}

/* Child: a walk where no thread can be made (the address space has no
 * room for a stack) falls back to the calling thread alone. */
static int no_threads_main(int rd, int wr, void *arg)
{
	(void)rd;
	(void)arg;
	struct rows l = {0};
	long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f || fscanf(f, "%ld", &pages) != 1)
		pages = 0;
	if (f)
		fclose(f);
	/* Room for the walk's batches, not for a thread's 8 MiB stack. */
	struct rlimit rl = {.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (4 << 20)};
	rl.rlim_max = rl.rlim_cur;
	if (!pages || setrlimit(RLIMIT_AS, &rl) < 0)
		return tu_send(wr, -1), 0;
	int rc = walk("4", &l);
	if (rc != 0 || l.n != NFILES || l.tasks != 1)
		printf("# the walk: %d, %zu files, %d threads\n", rc, l.n, l.tasks), fflush(stdout);
	tu_send(wr, rc == 0 && l.n == NFILES && l.tasks == 1 ? 0 : 1);
	return 0;
}

static void test_no_threads(void)
{
	/* First, before this process has made a thread: glibc would give the
	 * child the stacks of threads that ended, and need no room for one. */
	const char *preload = getenv("LD_PRELOAD");
	if (fork_unsafe() || (preload && strstr(preload, "vgpreload")))
		skip("the sanitizers and valgrind need more address space than the limit leaves");
	else
		is_int(tu_run_child(no_threads_main, NULL, TU_DEADLINE_MS), 0,
		       "where no thread can start, the walk runs on the calling thread alone and reports "
		       "every "
		       "file");
	struct rows l = {0};
	is_int(walk("4", &l), 0, "a walk on four threads");
	ok(l.tasks > 1, "has threads besides the calling one (%d)", l.tasks);
	free(l.r);
}

/* A callback that forks: the child ends the walk it inherited, and walks again. */
static void test_fork_in_callback(void)
{
	if (fork_unsafe()) {
		skip("the allocator of AddressSanitizer is not fork-safe beside other threads");
		return;
	}
	struct rows l = {.fork_first = 1, .parent = getpid()};
	int rc = walk("4", &l);
	if (getpid() != l.parent) /* the child */
		child_says(rc == 99 ? child_walk() : 2);
	is_int(rc, 0, "the walk whose callback forked");
	is_int(l.n, NFILES, "reports every file in the parent");
	is_int(child_said(l.child), 0,
	       "the child ends the walk it inherited and walks again, holding nothing");
	free(l.r);
}

/* Forks from another thread while walks run: each child walks and ends. */

static void *walker_main(void *arg)
{
	int *fails = arg;
	for (int i = 0; i < 8; i++) {
		struct rows l = {0};
		*fails += lockspace_foreach(ls, LOCKSPACE_ALL, collect, &l) != 0 || l.n != NFILES;
		free(l.r);
	}
	atomic_store(&walking, 0);
	return NULL;
}

static void test_fork_beside_walk(void)
{
	if (fork_unsafe()) {
		skip("the allocator of AddressSanitizer is not fork-safe beside other threads");
		return;
	}
	pthread_t th;
	int fails = 0, children = 0, good = 0;
	setenv(LOCKSPACE_SCAN_THREADS_ENV, "4", 1);
	atomic_store(&walking, 1);
	if (pthread_create(&th, NULL, walker_main, &fails)) {
		ok(0, "start the walking thread");
		return;
	}
	while (atomic_load(&walking) && children < 20) {
		pid_t pid = fork();
		if (pid == 0) {
			alarm(60);
			child_says(child_walk());
		}
		if (pid < 0)
			break;
		children++;
		good += child_said(pid) == 0;
	}
	pthread_join(th, NULL);
	unsetenv(LOCKSPACE_SCAN_THREADS_ENV);
	is_int(fails, 0, "walks from a thread while another forks succeed");
	ok(children > 0 && good == children,
	   "each child forked meanwhile walks the lockspace, holding nothing (%d of %d)", good, children);
}

static void teardown(void)
{
	for (int k = 0; k < NKIDS; k++)
		tu_stop(&kids[k]);
	lockspace_close(ls);
}

TU_MAIN(setup, test_no_threads, test_threads_as_one, test_held_since_looked_at, test_vanished,
	test_walks_keep_locks, test_hazard, test_closed_meanwhile, test_fork_in_callback,
	test_fork_beside_walk, teardown)
