/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_foreach.c: enumerating and inspecting lock files: states, holders, integrity, waiters. */
#include "testlib.h"

static char dir[PATH_MAX], comm[64];

struct res {
	char path[PATH_MAX], lf[PATH_MAX], name[LOCKSPACE_NAME_LEN + 1];
};

static void mkres(struct res *r, const char *base)
{
	tu_join(r->path, tu_scratch_dir, base);
	tu_touch(r->path);
	tu_name(r->path, 0, r->name);
	tu_join(r->lf, dir, r->name);
}

/* A child that write-locks byte 0 of a file with plain fcntl(), as any tool could. */
static int rawlock_main(int rd, int wr, void *arg)
{
	int fd = open(arg, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	tu_send(wr, fd >= 0 && fcntl(fd, F_SETLK, &fl) == 0 ? 0 : -errno);
	tu_order(rd);
	return 0;
}

static void check_holder(const struct tu_info *e, pid_t pid, int mode, unsigned must, const char *what)
{
	const struct tu_holder *h = tu_holder_of(e, pid);
	ok(h != NULL, "%s: holder pid %d listed", what, (int)pid);
	if (!h)
		return;
	is_int(h->mode, mode, "%s: holder mode", what);
	ok((h->flags & must) == must, "%s: holder flags 0x%x include 0x%x", what, h->flags, must);
	ok(h->has_command && strcmp(h->command, comm) == 0, "%s: holder command is \"%s\" (got \"%s\")", what,
	   comm, h->command);
}

static void test_walk(void)
{
	struct lockspace *ls;
	struct res F, E, S, X, Y, C, CH;
	char N_lf[PATH_MAX], N_name[LOCKSPACE_NAME_LEN + 1], junk[PATH_MAX];
	struct tu_child ce, cs1, cs2, cch;

	mkres(&F, "free.img");
	mkres(&E, "excl-other.img");
	mkres(&S, "shared-others.img");
	mkres(&X, "excl-self.img");
	mkres(&Y, "shared-self.img");
	mkres(&C, "corrupt.img");
	mkres(&CH, "corrupt-held.img");
	tu_name("empty-lease", LOCKSPACE_LITERAL, N_name);
	tu_join(N_lf, dir, N_name);

	if (lockspace_open(dir, 0, &ls) < 0) {
		ok(0, "open");
		return;
	}
	lockspace_acquire(ls, F.path, 0);
	lockspace_release(ls, F.path, 0);
	tu_write_file(N_lf, "", 0);
	tu_write_file(C.lf, "junk", 4);
	tu_write_file(CH.lf, "also junk", 9);
	tu_write_file(tu_join(junk, dir, "notaname"), "x", 1);
	tu_write_file(tu_join(junk, dir, ".hidden"), "x", 1);
	tu_write_file(tu_join(junk, dir, "0123456789abcdef0123456789abcde"), "x", 1);

	is_int(tu_hold1(&ce, dir, E.path, 0), 0, "a child holds E exclusively");
	is_int(tu_hold1(&cs1, dir, S.path, LOCKSPACE_SHARED), 0, "a child holds S shared");
	is_int(tu_hold1(&cs2, dir, S.path, LOCKSPACE_SHARED), 0, "a second child holds S shared");
	tu_spawn(&cch, rawlock_main, CH.lf);
	is_int(tu_answer(&cch), 0, "a child write-locks the corrupt file CH with fcntl()");
	is_int(lockspace_acquire(ls, X.path, 0), 0, "we hold X exclusively");
	is_int(lockspace_acquire(ls, Y.path, LOCKSPACE_SHARED), 0, "we hold Y shared");

	struct tu_infos *l = calloc(1, sizeof(*l));
	is_int(lockspace_foreach(ls, 0, tu_collect, l), 0, "foreach (held only)");
	is_int(l->n, 5, "held only: E, S, X, Y, CH");
	ok(!tu_find(l, F.name) && !tu_find(l, N_name) && !tu_find(l, C.name),
	   "held only: no free file reported");

	memset(l, 0, sizeof(*l));
	is_int(lockspace_foreach(ls, LOCKSPACE_ALL, tu_collect, l), 0, "foreach (all)");
	is_int(l->n, 8, "all: 8 lock files, the three junk names skipped");

	const struct tu_info *e = tu_find(l, F.name);
	ok(e != NULL, "F listed");
	if (e) {
		is_int(e->state, LOCKSPACE_STATE_FREE, "F is free");
		is_int(e->integrity, 0, "F verifies");
		ok(e->has_path && strcmp(e->path, F.path) == 0, "F's recorded path is the resource");
		is_str(e->lockfile, F.lf, "F's lock file path");
		is_int(e->nholders, 0, "F has no holders");
	}
	e = tu_find(l, N_name);
	ok(e != NULL, "the empty file listed");
	if (e) {
		is_int(e->state, LOCKSPACE_STATE_FREE, "empty file is free");
		is_int(e->integrity, -ENODATA, "empty file: -ENODATA");
		ok(!e->has_path, "empty file: path NULL");
	}
	e = tu_find(l, C.name);
	ok(e != NULL, "the corrupt file listed");
	if (e) {
		is_int(e->state, LOCKSPACE_STATE_FREE, "corrupt file is free");
		is_int(e->integrity, -EBADMSG, "corrupt file: -EBADMSG");
	}
	e = tu_find(l, CH.name);
	ok(e != NULL, "the held corrupt file listed");
	if (e) {
		is_int(e->state, LOCKSPACE_STATE_EXCLUSIVE, "held corrupt file: exclusive");
		is_int(e->integrity, -EBADMSG, "held corrupt file: -EBADMSG");
		ok(tu_holder_of(e, cch.pid) != NULL, "held corrupt file: the fcntl() holder's pid");
	}
	e = tu_find(l, E.name);
	ok(e != NULL, "E listed");
	if (e) {
		is_int(e->state, LOCKSPACE_STATE_EXCLUSIVE, "E is exclusive");
		is_int(e->integrity, 0, "E verifies");
		ok(e->has_path && strcmp(e->path, E.path) == 0, "E's path");
		check_holder(e, ce.pid, LOCKSPACE_STATE_EXCLUSIVE, LOCKSPACE_HOLDER_NORECORD, "E");
		const struct tu_holder *h = tu_holder_of(e, ce.pid);
		ok(h && !(h->flags & LOCKSPACE_HOLDER_SELF), "E: the child is not flagged SELF");
	}
	e = tu_find(l, S.name);
	ok(e != NULL, "S listed");
	if (e) {
		is_int(e->state, LOCKSPACE_STATE_SHARED, "S is shared");
		ok(e->nholders >= 1, "S has at least the holder F_GETLK names (%zu)", e->nholders);
		ok(tu_holder_of(e, cs1.pid) || tu_holder_of(e, cs2.pid),
		   "S's holder is one of the two children");
	}
	e = tu_find(l, X.name);
	ok(e != NULL, "X listed");
	if (e) {
		is_int(e->state, LOCKSPACE_STATE_EXCLUSIVE, "X (ours) is exclusive");
		is_int(e->integrity, 0, "X verifies");
		ok(e->has_path && strcmp(e->path, X.path) == 0, "X's path");
		check_holder(e, getpid(), LOCKSPACE_STATE_EXCLUSIVE, LOCKSPACE_HOLDER_SELF, "X");
	}
	e = tu_find(l, Y.name);
	ok(e != NULL, "Y listed");
	if (e) {
		is_int(e->state, LOCKSPACE_STATE_SHARED, "Y (ours) is shared");
		check_holder(e, getpid(), LOCKSPACE_STATE_SHARED, LOCKSPACE_HOLDER_SELF, "Y");
	}
	ok(tu_find(l, "0123456789abcdef0123456789abcde") == NULL, "a 31-digit name is skipped");

	/* The callback stops the walk. */
	memset(l, 0, sizeof(*l));
	l->stop_after = 1;
	l->stop_value = 42;
	is_int(lockspace_foreach(ls, LOCKSPACE_ALL, tu_collect, l), 42,
	       "foreach returns the callback's value");
	is_int(l->n, 1, "the walk stopped after the first call");
	memset(l, 0, sizeof(*l));
	l->stop_after = 3;
	l->stop_value = -7;
	is_int(lockspace_foreach(ls, LOCKSPACE_ALL, tu_collect, l), -7,
	       "a negative callback value is returned too");
	is_int(l->n, 3, "the walk stopped after the third call");

	/* Inspect one resource. */
	memset(l, 0, sizeof(*l));
	is_int(lockspace_inspect(ls, E.path, 0, tu_collect, l), 0, "inspect E by path");
	ok(l->n == 1 && strcmp(l->e[0].name, E.name) == 0, "inspect calls back once, for E");
	ok(l->n == 1 && tu_holder_of(&l->e[0], ce.pid), "inspect E names the child");
	memset(l, 0, sizeof(*l));
	char upper[LOCKSPACE_NAME_LEN + 1];
	for (int i = 0; i <= LOCKSPACE_NAME_LEN; i++)
		upper[i] = (char)(X.name[i] >= 'a' && X.name[i] <= 'f' ? X.name[i] - 32 : X.name[i]);
	is_int(lockspace_inspect(ls, upper, LOCKSPACE_BYNAME, tu_collect, l), 0,
	       "inspect X by (uppercase) name");
	ok(l->n == 1 && l->e[0].state == LOCKSPACE_STATE_EXCLUSIVE && tu_holder_of(&l->e[0], getpid()),
	   "inspect X: exclusive, held by us");
	memset(l, 0, sizeof(*l));
	is_int(lockspace_inspect(ls, "empty-lease", LOCKSPACE_LITERAL, tu_collect, l), 0,
	       "inspect a literal");
	ok(l->n == 1 && l->e[0].integrity == -ENODATA && l->e[0].state == LOCKSPACE_STATE_FREE,
	   "inspect the empty literal: free, -ENODATA");
	memset(l, 0, sizeof(*l));
	l->stop_after = 1;
	l->stop_value = 5;
	is_int(lockspace_inspect(ls, F.path, 0, tu_collect, l), 5, "inspect returns the callback's value");
	char missing[PATH_MAX];
	tu_join(missing, tu_scratch_dir, "never-locked.img");
	tu_touch(missing);
	is_int(lockspace_inspect(ls, missing, 0, tu_collect, l), -ENOENT,
	       "inspect without a lock file: -ENOENT");
	tu_join(missing, tu_scratch_dir, "no-such-file.img");
	is_int(lockspace_inspect(ls, missing, 0, tu_collect, l), -ENOENT,
	       "inspect of a nonexistent path: -ENOENT");
	is_int(lockspace_inspect(ls, "zz", LOCKSPACE_BYNAME, tu_collect, l), -EINVAL,
	       "inspect of a bad name: -EINVAL");

	/* Our own locks survived all of it. */
	tu_sees(X.lf, F_WRLCK, getpid(), "X is still locked by us after foreach and inspect");
	tu_sees(Y.lf, F_RDLCK, getpid(), "Y is still share-locked by us");

	/* Waiters: a child blocked for X. */
	struct tu_child cw;
	struct tu_hold_spec ws = {
		.dir = dir, .res = {X.path}, .n = 1, .flags = LOCKSPACE_WAIT, .timeout_ms = -1};
	tu_hold_start(&cw, &ws);
	long long deadline = tu_now_ms() + TU_DEADLINE_MS;
	int seen = 0;
	while (!seen && tu_now_ms() < deadline) {
		memset(l, 0, sizeof(*l));
		if (lockspace_inspect(ls, X.path, 0, tu_collect, l) == 0 && l->n == 1)
			for (size_t i = 0; i < l->e[0].nwaiters && i < TU_MAX_WAITERS; i++)
				seen |= l->e[0].w[i] == cw.pid;
		if (!seen)
			poll(NULL, 0, 5);
	}
	ok(seen, "inspect lists the blocked child as a waiter");
	ok(tu_proc_waiting(cw.pid, X.lf), "(and /proc/locks agrees)");
	memset(l, 0, sizeof(*l));
	is_int(lockspace_foreach(ls, LOCKSPACE_WAITERS, tu_collect, l), 0, "foreach with WAITERS");
	e = tu_find(l, X.name);
	ok(e && e->nwaiters == 1 && e->w[0] == cw.pid, "foreach with WAITERS lists the waiter of X");
	e = tu_find(l, E.name);
	ok(e && e->nwaiters == 0, "E has no waiters");
	e = tu_find(l, S.name);
	ok(e && tu_holder_of(e, cs1.pid) && tu_holder_of(e, cs2.pid),
	   "with WAITERS, /proc/locks adds the second shared holder of S that has no record");
	memset(l, 0, sizeof(*l));
	is_int(lockspace_foreach(ls, 0, tu_collect, l), 0, "foreach without WAITERS");
	e = tu_find(l, X.name);
	ok(e && e->nwaiters == 0, "without WAITERS no waiter is reported");
	tu_sees(X.lf, F_WRLCK, getpid(), "X is still ours with a waiter queued");
	is_int(lockspace_release(ls, X.path, 0), 0, "release X");
	is_int(tu_answer(&cw), 0, "the waiter is granted X");
	tu_stop(&cw);

	tu_stop(&ce);
	tu_stop(&cs1);
	tu_stop(&cs2);
	tu_stop(&cch);
	memset(l, 0, sizeof(*l));
	is_int(lockspace_foreach(ls, 0, tu_collect, l), 0, "foreach after the children left");
	ok(l->n == 1 && tu_find(l, Y.name), "only our Y is still held");
	free(l);
	lockspace_close(ls);
}

static void test_direct(void)
{
	struct lockspace *ls;
	struct tu_child c;
	char img[PATH_MAX];
	struct tu_infos *l = calloc(1, sizeof(*l));

	tu_join(img, tu_scratch_dir, "direct.img");
	tu_write_file(img, "not a path", 10);
	if (lockspace_open(NULL, 0, &ls) < 0)
		return;
	is_int(lockspace_foreach(ls, LOCKSPACE_ALL, tu_collect, l), -EOPNOTSUPP,
	       "direct mode: foreach: -EOPNOTSUPP");
	is_int(tu_hold1(&c, NULL, img, 0), 0, "direct mode: a child locks the image");
	is_int(lockspace_inspect(ls, img, 0, tu_collect, l), 0,
	       "direct mode: inspect probes the image itself");
	ok(l->n == 1 && l->e[0].state == LOCKSPACE_STATE_EXCLUSIVE && tu_holder_of(&l->e[0], c.pid),
	   "direct mode: the image is exclusive, held by the child");
	tu_stop(&c);
	free(l);
	lockspace_close(ls);
}

/* lockspace_probe(): who holds one resource, from the table or one F_GETLK. */
static void test_probe(void)
{
	struct lockspace *ls;
	struct res R, S, T;
	struct tu_child c;
	enum lockspace_state state;
	pid_t pid;
	mkres(&R, "probe-r");
	mkres(&S, "probe-s");
	mkres(&T, "probe-t");
	if (lockspace_open(dir, 0, &ls) < 0)
		return;
	is_int(lockspace_probe(ls, R.path, 0, &state, &pid), -ENOENT, "probe without a lock file: -ENOENT");
	is_int(lockspace_probe(ls, R.path, LOCKSPACE_WAIT, &state, &pid), -EINVAL,
	       "probe with WAIT: -EINVAL");
	is_int(lockspace_acquire(ls, R.path, 0), 0, "hold R here");
	is_int(lockspace_probe(ls, R.path, 0, &state, &pid), 0, "probe R");
	ok(state == LOCKSPACE_STATE_EXCLUSIVE && pid == getpid(),
	   "R: exclusive, this process (from the table)");
	if (tu_hold1(&c, dir, S.path, LOCKSPACE_SHARED) < 0)
		return;
	is_int(lockspace_probe(ls, S.path, 0, &state, &pid), 0, "probe S");
	ok(state == LOCKSPACE_STATE_SHARED && pid == c.pid, "S: shared, the child (F_GETLK)");
	tu_stop(&c);
	is_int(lockspace_acquire(ls, T.path, 0), 0, "take T");
	is_int(lockspace_release(ls, T.path, 0), 0, "and let it go");
	char name[LOCKSPACE_NAME_LEN + 1];
	lockspace_name(T.path, 0, name);
	is_int(lockspace_probe(ls, name, LOCKSPACE_BYNAME, &state, &pid), 0, "probe T by name");
	ok(state == LOCKSPACE_STATE_FREE && pid == 0, "T: free");
	lockspace_close(ls);
}

/* The lockspace directory and the resources every test here uses. */
static void setup(void)
{
	tu_comm(comm, sizeof(comm));
	tu_lockspace_dir(dir);
}

TU_MAIN(setup, test_walk, test_direct, test_probe)
