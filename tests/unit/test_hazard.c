/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_hazard.c: one process, thread A holds R: nothing another thread does may open R's file or drop R. */
#include "testlib.h"

static char dir[PATH_MAX], dir_link[PATH_MAX], dir_dotdot[PATH_MAX];
static char res[PATH_MAX], res_link[PATH_MAX], lf[PATH_MAX], name[LOCKSPACE_NAME_LEN + 1];

/* Thread A: acquire, say so, hold until told, release, say so. */
struct holder_thread {
	pthread_t th;
	struct lockspace *ls;
	const char *res;
	unsigned flags;
	int rc, release_rc;
	int go[2], ack[2];
};

static void *holder_main(void *arg)
{
	struct holder_thread *h = arg;
	int v;
	h->rc = lockspace_acquire(h->ls, h->res, h->flags);
	tu_send(h->ack[1], h->rc);
	if (tu_recv(h->go[0], &v, TU_CHILD_LIFE_MS) == 0 && h->rc == 0)
		h->release_rc = lockspace_release(h->ls, h->res, h->flags & LOCKSPACE_LITERAL);
	tu_send(h->ack[1], h->release_rc);
	return NULL;
}

static int holder_start(struct holder_thread *h, struct lockspace *ls, const char *r, unsigned flags)
{
	int v = TU_NOANSWER;
	memset(h, 0, sizeof(*h));
	h->ls = ls;
	h->res = r;
	h->flags = flags;
	if (pipe2(h->go, O_CLOEXEC) < 0 || pipe2(h->ack, O_CLOEXEC) < 0)
		return -errno;
	pthread_create(&h->th, NULL, holder_main, h);
	tu_recv(h->ack[0], &v, TU_DEADLINE_MS);
	return v;
}

static int holder_stop(struct holder_thread *h)
{
	int v = TU_NOANSWER;
	tu_send(h->go[1], 1);
	tu_recv(h->ack[0], &v, TU_DEADLINE_MS);
	pthread_join(h->th, NULL);
	close(h->go[0]);
	close(h->go[1]);
	close(h->ack[0]);
	close(h->ack[1]);
	return v;
}

/* Thread B: the attempts that must all be busy. */
struct attempts {
	struct lockspace *h1, *h2, *h3;
	int rounds;
	int bad; /* attempts that did not answer as expected */
	char first_bad[160];
};

static void expect(struct attempts *a, int got, int want, const char *what)
{
	if (got == want)
		return;
	if (!a->bad++)
		snprintf(a->first_bad, sizeof(a->first_bad), "%s: got %d, want %d", what, got, want);
}

static void *attempts_main(void *arg)
{
	struct attempts *a = arg;
	const char *one[] = {res};
	for (int i = 0; i < a->rounds; i++) {
		expect(a, lockspace_acquire(a->h1, res, 0), -EBUSY, "same handle, exclusive");
		expect(a, lockspace_acquire(a->h1, res, LOCKSPACE_SHARED), -EBUSY, "same handle, shared");
		expect(a, lockspace_acquire(a->h1, res_link, 0), -EBUSY, "same handle, resource via symlink");
		expect(a, lockspace_acquire(a->h2, res, 0), -EBUSY, "handle on the symlinked directory");
		expect(a, lockspace_acquire(a->h3, res, 0), -EBUSY, "handle on dir/../dir");
		expect(a, lockspace_acquire(a->h3, name, LOCKSPACE_BYNAME), -EBUSY, "by name, dir/../dir");
		expect(a, lockspace_acquire(a->h2, res_link, LOCKSPACE_SHARED), -EBUSY,
		       "shared, symlinks both");
		expect(a, lockspace_release(a->h2, res, 0), -ENOENT,
		       "release through a handle that does not hold it");
		expect(a, lockspace_release(a->h3, name, LOCKSPACE_BYNAME), -ENOENT,
		       "release by name elsewhere");
		if (i == 0)
			expect(a, lockspace_acquire_many(a->h2, one, 1, LOCKSPACE_WAIT, 30, NULL), -ETIMEDOUT,
			       "finite wait through another handle");
	}
	return NULL;
}

static void run_attempts(struct attempts *a)
{
	pthread_t th;
	pthread_create(&th, NULL, attempts_main, a);
	pthread_join(th, NULL);
}

static void test_hazard(void)
{
	struct lockspace *h1, *h2, *h3;
	struct holder_thread A;

	if (lockspace_open(dir, 0, &h1) < 0 || lockspace_open(dir_link, 0, &h2) < 0 ||
	    lockspace_open(dir_dotdot, 0, &h3) < 0) {
		ok(0, "three handles on three spellings of the lockspace");
		return;
	}
	is_str(lockspace_dir(h2), lockspace_dir(h1), "the symlink spelling names the same directory");
	is_str(lockspace_dir(h3), lockspace_dir(h1), "the dir/../dir spelling names the same directory");

	is_int(holder_start(&A, h1, res, 0), 0, "thread A acquires R exclusively");
	int w = tu_watch_opens(lf);
	ok(w >= 0, "watching opens of R's lock file");

	struct attempts a = {h1, h2, h3, 1, 0, ""};
	run_attempts(&a);
	is_int(a.bad, 0, "thread B: every acquire of R is busy, every foreign release -ENOENT %s",
	       a.first_bad);
	is_int(tu_opens(w), 0, "thread B's attempts never opened R's lock file");
	tu_sees(lf, F_WRLCK, getpid(), "another process still sees R locked by our pid");
	tu_opens(w); /* the probe itself opened it */

	/* Many more attempts, then every read-only walk from the holding process. */
	struct attempts many = {h1, h2, h3, 200, 0, ""};
	run_attempts(&many);
	is_int(many.bad, 0, "200 more rounds of busy attempts %s", many.first_bad);
	tu_sees(lf, F_WRLCK, getpid(), "R still locked by our pid after 200 rounds");
	tu_opens(w); /* the probe itself opened it */

	struct tu_infos *l = calloc(1, sizeof(*l));
	is_int(lockspace_foreach(h2, 0, tu_collect, l), 0, "foreach (held) through another handle");
	const struct tu_info *e = tu_find(l, name);
	ok(e && e->state == LOCKSPACE_STATE_EXCLUSIVE, "foreach reports R exclusive");
	ok(e && tu_holder_of(e, getpid()) && (tu_holder_of(e, getpid())->flags & LOCKSPACE_HOLDER_SELF),
	   "foreach reports this process as R's holder, flagged SELF");
	memset(l, 0, sizeof(*l));
	is_int(lockspace_foreach(h3, LOCKSPACE_ALL | LOCKSPACE_WAITERS, tu_collect, l), 0,
	       "foreach (all, waiters) through a third handle");
	memset(l, 0, sizeof(*l));
	is_int(lockspace_inspect(h2, res_link, 0, tu_collect, l), 0, "inspect R by a symlink path");
	ok(l->n == 1 && l->e[0].state == LOCKSPACE_STATE_EXCLUSIVE, "inspect reports R exclusive");
	memset(l, 0, sizeof(*l));
	is_int(lockspace_inspect(h3, name, LOCKSPACE_BYNAME | LOCKSPACE_WAITERS, tu_collect, l), 0,
	       "inspect R by name with waiters");
	is_int(lockspace_prune(h2, LOCKSPACE_DRY_RUN, NULL, NULL), 0, "a dry-run prune would remove nothing");
	is_int(lockspace_prune(h3, 0, NULL, NULL), 0, "prune removes nothing: R is held");
	free(l);
	is_int(tu_opens(w), 0, "foreach, inspect and prune never opened R's lock file");
	tu_sees(lf, F_WRLCK, getpid(), "R still locked by our pid after foreach, inspect and prune");
	tu_opens(w); /* the probe itself opened it */
	ok(access(lf, F_OK) == 0, "R's lock file is still there");

	/* Closing other handles must not close R's descriptor. */
	lockspace_close(h2);
	lockspace_close(h3);
	struct lockspace *h4;
	for (int i = 0; i < 20; i++)
		if (lockspace_open(dir_link, 0, &h4) == 0) {
			lockspace_acquire(h4, res, 0);
			lockspace_close(h4);
		}
	is_int(tu_opens(w), 0, "opening and closing other handles never opened R's lock file");
	tu_sees(lf, F_WRLCK, getpid(), "R still locked after closing the other handles");
	tu_opens(w); /* the probe itself opened it */

	is_int(holder_stop(&A), 0, "thread A releases R");
	tu_sees(lf, F_UNLCK, 0, "R is free after thread A's release");
	tu_opens(w); /* the probe itself opened it */
	if (w >= 0)
		close(w);
	lockspace_close(h1);
}

static void test_hazard_shared(void)
{
	struct lockspace *h1, *h2;
	struct holder_thread A;

	if (lockspace_open(dir, 0, &h1) < 0 || lockspace_open(dir_dotdot, 0, &h2) < 0)
		return;
	is_int(holder_start(&A, h1, res, LOCKSPACE_SHARED), 0, "thread A acquires R shared");
	int w = tu_watch_opens(lf);
	is_int(lockspace_acquire(h2, res_link, 0), -EBUSY, "thread main: exclusive over A's shared: -EBUSY");
	is_int(lockspace_acquire(h1, res, 0), -EBUSY, "same handle: exclusive over A's shared: -EBUSY");
	is_int(tu_opens(w), 0, "the busy attempts never opened R's lock file");
	tu_sees(lf, F_RDLCK, getpid(), "another process still sees R share-locked by our pid");
	tu_opens(w); /* the probe itself opened it */
	is_int(holder_stop(&A), 0, "thread A releases R");
	tu_sees(lf, F_UNLCK, 0, "R is free");
	tu_opens(w); /* the probe itself opened it */
	close(w);
	lockspace_close(h2);
	lockspace_close(h1);
}

static void test_hazard_direct(void)
{
	struct lockspace *d1, *d2;
	struct holder_thread A;
	char file[PATH_MAX], flink[PATH_MAX];

	tu_join(file, tu_scratch_dir, "direct.img");
	tu_write_file(file, "QFI\xfb", 4);
	tu_join(flink, tu_scratch_dir, "direct-link.img");
	tu_symlink(file, flink);
	if (lockspace_open(NULL, 0, &d1) < 0 || lockspace_open(NULL, 0, &d2) < 0) {
		ok(0, "direct-mode handles");
		return;
	}
	is_int(holder_start(&A, d1, file, 0), 0, "direct mode: thread A locks the image itself");
	int w = tu_watch_opens(file);
	is_int(lockspace_acquire(d2, flink, 0), -EBUSY, "direct mode: another handle via a symlink: -EBUSY");
	is_int(lockspace_acquire(d1, file, LOCKSPACE_SHARED), -EBUSY,
	       "direct mode: same handle, shared: -EBUSY");
	is_int(tu_opens(w), 0, "direct mode: the busy attempts never opened the image");
	tu_sees(file, F_WRLCK, getpid(), "direct mode: another process sees the image locked by our pid");
	tu_opens(w); /* the probe itself opened it */
	lockspace_close(d2);
	tu_sees(file, F_WRLCK, getpid(), "direct mode: closing the other handle kept the lock");
	tu_opens(w); /* the probe itself opened it */
	is_int(holder_stop(&A), 0, "thread A releases the image");
	tu_sees(file, F_UNLCK, 0, "direct mode: the image is free");
	tu_opens(w); /* the probe itself opened it */
	close(w);
	lockspace_close(d1);
}

/* The lockspace directory, its links and the resource every test here uses. */
static void setup(void)
{
	char x[PATH_MAX];

	tu_lockspace_dir(dir);
	tu_join(dir_link, tu_scratch_dir, "ls-link");
	tu_symlink("ls", dir_link);
	tu_join(x, tu_scratch_dir, "x");
	mkdir(x, 0700);
	snprintf(dir_dotdot, sizeof(dir_dotdot), "%.4000s/../ls", x);
	tu_join(res, tu_scratch_dir, "r.img");
	tu_touch(res);
	tu_join(res_link, tu_scratch_dir, "r-link.img");
	tu_symlink(res, res_link);
	tu_name(res, 0, name);
	tu_join(lf, dir, name);
}

TU_MAIN(setup, test_hazard, test_hazard_shared, test_hazard_direct)
