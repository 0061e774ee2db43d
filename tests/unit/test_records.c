/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_records.c: holder records: written by set_owner, joined by foreach, listed, stale, pruned, deleted. */
#include "testlib.h"

static char dir[PATH_MAX];

struct rec {
	pid_t pid, child;
	int has_owner;
	char owner[64];
	size_t nlocks;
	char names[8][LOCKSPACE_NAME_LEN + 1];
};

struct recs {
	size_t n;
	struct rec r[8];
};

static int collect_rec(const struct lockspace_record *rec, void *arg)
{
	struct recs *l = arg;
	if (l->n < 8) {
		struct rec *r = &l->r[l->n];
		memset(r, 0, sizeof(*r));
		r->pid = rec->pid;
		r->child = rec->child;
		r->has_owner = rec->owner != NULL;
		snprintf(r->owner, sizeof(r->owner), "%s", rec->owner ? rec->owner : "");
		r->nlocks = rec->nlocks;
		for (size_t i = 0; i < rec->nlocks && i < 8; i++)
			snprintf(r->names[i], sizeof(r->names[i]), "%s", rec->names[i]);
	}
	l->n++;
	return 0;
}

static const struct rec *rec_of(const struct recs *l, pid_t pid)
{
	for (size_t i = 0; i < l->n && i < 8; i++)
		if (l->r[i].pid == pid)
			return &l->r[i];
	return NULL;
}

static int rec_names(const struct rec *r, const char *name)
{
	for (size_t i = 0; r && i < r->nlocks && i < 8; i++)
		if (strcmp(r->names[i], name) == 0)
			return 1;
	return 0;
}

static void record_path(char *buf, pid_t pid)
{
	char base[64];
	snprintf(base, sizeof(base), ".holders/%d", (int)pid);
	tu_join(buf, dir, base);
}

/* Does the text hold this exact line? */
static int has_line(const char *text, const char *line)
{
	size_t len = strlen(line);
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, line, len) == 0 && (p[len] == '\n' || p[len] == '\0'))
			return 1;
	return 0;
}

/* The SINCE of "lock NAME MODE SINCE", or -1. */
static long long lock_line(const char *text, const char *name, const char *mode)
{
	char prefix[128];
	int n = snprintf(prefix, sizeof(prefix), "lock %s %s ", name, mode);
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, prefix, (size_t)n) == 0)
			return atoll(p + n);
	return -1;
}

static void test_own_record(void)
{
	struct lockspace *ls, *other;
	char r_res[PATH_MAX], s_res[PATH_MAX], rn[LOCKSPACE_NAME_LEN + 1], sn[LOCKSPACE_NAME_LEN + 1],
		rec[PATH_MAX], text[4096], line[128];
	struct tu_child kid;
	struct recs *rl = calloc(1, sizeof(*rl));
	struct tu_infos *l = calloc(1, sizeof(*l));

	tu_join(r_res, tu_scratch_dir, "vm-disk.img");
	tu_join(s_res, tu_scratch_dir, "iso.img");
	tu_touch(r_res);
	tu_touch(s_res);
	tu_name(r_res, 0, rn);
	tu_name(s_res, 0, sn);
	record_path(rec, getpid());
	if (lockspace_open(dir, 0, &ls) < 0)
		return;

	is_int(lockspace_acquire(ls, r_res, 0), 0, "acquire before any owner is set");
	ok(access(rec, F_OK) < 0, "no record without lockspace_set_owner()");
	is_int(lockspace_records(ls, collect_rec, rl), 0, "lockspace_records() without records");
	is_int(rl->n, 0, "no live records");
	lockspace_release(ls, r_res, 0);

	/* A child pid that really exists. */
	struct tu_hold_spec idle = {.dir = dir, .n = 0};
	tu_hold(&kid, &idle);
	is_int(lockspace_set_owner(ls, "vm-42", kid.pid), 0, "set_owner(\"vm-42\", child)");
	ok(access(rec, F_OK) == 0, "the record <dir>/.holders/<pid> exists");
	long long t0 = (long long)time(NULL);
	is_int(lockspace_acquire(ls, r_res, 0), 0, "acquire r exclusive");
	is_int(lockspace_acquire(ls, s_res, LOCKSPACE_SHARED), 0, "acquire s shared");
	long long t1 = (long long)time(NULL);

	ok(tu_read_elsewhere(rec, text, sizeof(text)) > 0, "the record can be read");
	ok(strncmp(text, "virlock-holder 1\n", 17) == 0, "the record starts with \"virlock-holder 1\"");
	snprintf(line, sizeof(line), "pid %d", (int)getpid());
	ok(has_line(text, line), "the record has \"%s\"", line);
	ok(strstr(text, "\nstart ") != NULL, "the record has a start time");
	ok(has_line(text, "owner vm-42"), "the record has \"owner vm-42\"");
	snprintf(line, sizeof(line), "child %d", (int)kid.pid);
	ok(has_line(text, line), "the record has \"%s\"", line);
	long long since = lock_line(text, rn, "exclusive");
	ok(since >= t0 - 1 && since <= t1 + 1, "the record has \"lock <r> exclusive SINCE\" (%lld)", since);
	since = lock_line(text, sn, "shared");
	ok(since >= t0 - 1 && since <= t1 + 1, "the record has \"lock <s> shared SINCE\" (%lld)", since);

	is_int(lockspace_foreach(ls, 0, tu_collect, l), 0, "foreach");
	const struct tu_info *e = tu_find(l, rn);
	const struct tu_holder *h = e ? tu_holder_of(e, getpid()) : NULL;
	ok(h != NULL, "foreach: r held by us");
	if (h) {
		unsigned want = LOCKSPACE_HOLDER_RECORD | LOCKSPACE_HOLDER_SELF;
		ok((h->flags & want) == want, "foreach: r's holder flags RECORD|SELF (0x%x)", h->flags);
		ok(h->has_owner && strcmp(h->owner, "vm-42") == 0, "foreach: owner \"vm-42\" (\"%s\")",
		   h->owner);
		is_int(h->child, kid.pid, "foreach: child pid from the record");
		ok(h->since >= t0 - 1 && h->since <= t1 + 1, "foreach: since from the record (%lld)",
		   (long long)h->since);
		is_int(h->mode, LOCKSPACE_STATE_EXCLUSIVE, "foreach: r's holder mode exclusive");
	}
	e = tu_find(l, sn);
	h = e ? tu_holder_of(e, getpid()) : NULL;
	ok(h && h->mode == LOCKSPACE_STATE_SHARED && (h->flags & LOCKSPACE_HOLDER_RECORD),
	   "foreach: s held shared by us, with a record");

	is_int(lockspace_records(ls, collect_rec, rl), 0, "lockspace_records()");
	const struct rec *mine = rec_of(rl, getpid());
	ok(mine != NULL, "lockspace_records lists this process");
	if (mine) {
		is_int(mine->child, kid.pid, "holders: child");
		is_str(mine->owner, "vm-42", "holders: owner");
		is_int(mine->nlocks, 2, "holders: two locks");
		ok(rec_names(mine, rn) && rec_names(mine, sn), "holders: the names of r and s");
	}

	is_int(lockspace_release(ls, r_res, 0), 0, "release r");
	tu_read_elsewhere(rec, text, sizeof(text));
	ok(lock_line(text, rn, "exclusive") < 0 && lock_line(text, sn, "shared") >= 0,
	   "the record was rewritten without r");

	/* Labels: no newline, not empty; NULL clears. */
	is_int(lockspace_set_owner(ls, "two\nlines", 0), -EINVAL, "an owner with a newline: -EINVAL");
	is_int(lockspace_set_owner(ls, NULL, 0), 0, "set_owner(NULL, 0)");
	tu_read_elsewhere(rec, text, sizeof(text));
	ok(strstr(text, "\nowner ") == NULL && strstr(text, "\nchild ") == NULL,
	   "no owner or child line now");
	memset(rl, 0, sizeof(*rl));
	lockspace_records(ls, collect_rec, rl);
	mine = rec_of(rl, getpid());
	ok(mine && !mine->has_owner && mine->child == 0, "holders: owner NULL and child 0");
	is_int(lockspace_set_owner(ls, "vm-42", 0), 0, "set the owner again");

	/* Closing a handle that does not record leaves the record alone. */
	if (lockspace_open(dir, 0, &other) == 0) {
		lockspace_acquire(other, r_res, 0);
		lockspace_close(other);
	}
	ok(access(rec, F_OK) == 0, "closing another, non-recording handle keeps the record");

	lockspace_close(ls);
	ok(access(rec, F_OK) < 0 && errno == ENOENT, "lockspace_close() deletes the record");
	tu_stop(&kid);

	struct lockspace *direct;
	if (lockspace_open(NULL, 0, &direct) == 0) {
		is_int(lockspace_set_owner(direct, "x", 0), -EOPNOTSUPP,
		       "direct mode: set_owner: -EOPNOTSUPP");
		is_int(lockspace_records(direct, collect_rec, rl), -EOPNOTSUPP,
		       "direct mode: holders: -EOPNOTSUPP");
		lockspace_close(direct);
	}
	free(rl);
	free(l);
}

struct seen_paths {
	int n;
	char paths[16][PATH_MAX];
};

static void note_prune(const char *what, void *arg)
{
	struct seen_paths *s = arg;
	if (s->n < 16)
		snprintf(s->paths[s->n], PATH_MAX, "%s", what);
	s->n++;
}

static int saw(const struct seen_paths *s, const char *path)
{
	for (int i = 0; i < s->n && i < 16; i++)
		if (strcmp(s->paths[i], path) == 0)
			return 1;
	return 0;
}

static void test_other_processes(void)
{
	struct lockspace *ls;
	struct tu_child a, b, c;
	char t_res[PATH_MAX], u_res[PATH_MAX], tn[LOCKSPACE_NAME_LEN + 1], un[LOCKSPACE_NAME_LEN + 1],
		rec[PATH_MAX], text[4096], tmp[PATH_MAX];
	struct recs *rl = calloc(1, sizeof(*rl));
	struct tu_infos *l = calloc(1, sizeof(*l));

	tu_join(t_res, tu_scratch_dir, "t.img");
	tu_join(u_res, tu_scratch_dir, "u.img");
	tu_touch(t_res);
	tu_touch(u_res);
	tu_name(t_res, 0, tn);
	tu_name(u_res, 0, un);
	if (lockspace_open(dir, 0, &ls) < 0)
		return;

	struct tu_hold_spec sa = {
		.dir = dir, .res = {t_res}, .n = 1, .owner = "owner-a", .timeout_ms = -1, .no_close = 1};
	struct tu_hold_spec sb = {.dir = dir,
				  .res = {u_res},
				  .n = 1,
				  .flags = LOCKSPACE_SHARED,
				  .owner = "owner-b",
				  .timeout_ms = -1};
	struct tu_hold_spec sc = {.dir = dir,
				  .res = {u_res},
				  .n = 1,
				  .flags = LOCKSPACE_SHARED,
				  .owner = "owner-c",
				  .timeout_ms = -1};
	is_int(tu_hold(&a, &sa), 0, "process a (owner-a) holds t");
	is_int(tu_hold(&b, &sb), 0, "process b (owner-b) holds u shared");
	is_int(tu_hold(&c, &sc), 0, "process c (owner-c) holds u shared");

	is_int(lockspace_foreach(ls, 0, tu_collect, l), 0, "foreach");
	const struct tu_info *e = tu_find(l, tn);
	const struct tu_holder *h = e ? tu_holder_of(e, a.pid) : NULL;
	ok(h && (h->flags & LOCKSPACE_HOLDER_RECORD) && !(h->flags & LOCKSPACE_HOLDER_SELF),
	   "t: holder a, with a record, not SELF");
	ok(h && h->has_owner && strcmp(h->owner, "owner-a") == 0, "t: owner-a");
	e = tu_find(l, un);
	is_int(e ? e->nholders : 0, 2, "u: both shared holders are known from their records");
	ok(e && tu_holder_of(e, b.pid) && tu_holder_of(e, c.pid), "u: holders b and c");
	h = e ? tu_holder_of(e, c.pid) : NULL;
	ok(h && h->has_owner && strcmp(h->owner, "owner-c") == 0 && h->mode == LOCKSPACE_STATE_SHARED,
	   "u: c is a shared holder labelled owner-c");

	is_int(lockspace_records(ls, collect_rec, rl), 0, "lockspace_records()");
	is_int(rl->n, 3, "three live records");
	ok(rec_names(rec_of(rl, a.pid), tn), "a's record names t");

	/* A reused pid: b's record claims another start time. */
	record_path(rec, b.pid);
	ssize_t n = tu_read_file(rec, text, sizeof(text));
	char *st = n > 0 ? strstr(text, "\nstart ") : NULL;
	ok(st != NULL, "b's record has a start line");
	if (st) {
		char *end = strchr(st + 1, '\n');
		char fake[4096];
		snprintf(fake, sizeof(fake), "%.*s\nstart 1%s", (int)(st - text), text, end ? end : "\n");
		tu_join(tmp, dir, ".holders/.fake.tmp");
		tu_write_file(tmp, fake, strlen(fake));
		rename(tmp, rec);
	}
	memset(rl, 0, sizeof(*rl));
	lockspace_records(ls, collect_rec, rl);
	ok(rec_of(rl, b.pid) == NULL, "a record whose start time does not match its pid is not listed");
	is_int(rl->n, 2, "two live records left");
	memset(l, 0, sizeof(*l));
	lockspace_foreach(ls, 0, tu_collect, l);
	e = tu_find(l, un);
	int attached = 0;
	for (size_t i = 0; e && i < e->nholders && i < TU_MAX_HOLDERS; i++) {
		if (e->h[i].pid != b.pid)
			continue;
		attached += (e->h[i].flags & LOCKSPACE_HOLDER_RECORD) != 0;
		attached += e->h[i].has_owner || (e->h[i].flags & LOCKSPACE_HOLDER_STALE);
	}
	is_int(attached, 0, "foreach never presents the reused-pid record as b's live record");
	h = e ? tu_stale_of(e, b.pid) : NULL;
	ok(h && (h->flags & LOCKSPACE_HOLDER_STALE) && h->has_owner,
	   "the reused-pid record is reported apart, as a stale record");

	/* a dies without closing: its record is stale. */
	record_path(rec, a.pid);
	pid_t apid = a.pid;
	tu_stop(&a);
	ok(access(rec, F_OK) == 0, "the dead process's record is still on disk");
	memset(rl, 0, sizeof(*rl));
	lockspace_records(ls, collect_rec, rl);
	ok(rec_of(rl, apid) == NULL, "lockspace_records skips the dead process's record");
	memset(l, 0, sizeof(*l));
	lockspace_foreach(ls, LOCKSPACE_ALL, tu_collect, l);
	e = tu_find(l, tn);
	ok(e && e->state == LOCKSPACE_STATE_FREE, "t is free now");
	ok(e && e->nholders == 0, "t: a free file has no holders, whatever its records claim");
	h = e ? tu_stale_of(e, apid) : NULL;
	ok(h && (h->flags & LOCKSPACE_HOLDER_STALE), "t: the dead process's claim is reported apart, STALE");
	/* "held ones, and free ones too with LOCKSPACE_ALL (stale record claims of a free file show only
	 * then)" */
	memset(l, 0, sizeof(*l));
	lockspace_foreach(ls, 0, tu_collect, l);
	ok(tu_find(l, tn) == NULL, "foreach without ALL does not list free t for a stale claim");

	struct seen_paths *sp = calloc(1, sizeof(*sp));
	int removed = lockspace_prune(ls, 0, note_prune, sp);
	char t_lf[PATH_MAX];
	tu_join(t_lf, dir, tn);
	ok(removed >= 2, "prune removed at least t's lock file and a's record (%d)", removed);
	is_int(removed, sp->n, "the callback was called once per removal");
	ok(saw(sp, rec), "the callback named a's record");
	ok(saw(sp, t_lf), "the callback named t's lock file");
	ok(access(rec, F_OK) < 0, "a's stale record is gone");
	memset(l, 0, sizeof(*l));
	lockspace_foreach(ls, 0, tu_collect, l);
	ok(tu_find(l, tn) == NULL, "once pruned, t is no longer listed");
	record_path(rec, c.pid);
	ok(access(rec, F_OK) == 0, "c's live record stays");
	tu_stop(&b);
	tu_stop(&c);
	free(sp);
	free(rl);
	free(l);
	lockspace_close(ls);
}

/* The lockspace directory and the resources every test here uses. */
static void setup(void)
{
	tu_lockspace_dir(dir);
}

/* A multi-lock acquire of a second handle that fails part-way: the record,
 * written by the labelled handle while the first lock was held, lists it;
 * once the acquire gives it back, the record no longer does. The acquire
 * waits for ever for the second lock, and a signal ends the wait. */
struct partial {
	struct lockspace *ls;
	int err;
	int done;
};

static void partial_wake(int sig)
{
	(void)sig;
}

static void *partial_acquire(void *arg)
{
	struct partial *p = arg;
	const char *res[] = {"partial-a", "partial-busy"};
	p->err = lockspace_acquire_many(p->ls, res, 2, LOCKSPACE_LITERAL | LOCKSPACE_WAIT, -1, NULL);
	__atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_partial_acquire(void)
{
	struct lockspace *keeper = NULL, *other = NULL;
	struct tu_child busy;
	char path[PATH_MAX], text[8192], name[LOCKSPACE_NAME_LEN + 1];
	struct sigaction sa = {.sa_handler = partial_wake}, old; /* no SA_RESTART: the wait ends */
	sigaction(SIGUSR1, &sa, &old);
	is_int(tu_hold1(&busy, dir, "partial-busy", LOCKSPACE_LITERAL), 0,
	       "another process holds one of the two");
	is_int(lockspace_open(dir, 0, &keeper), 0, "the labelled handle");
	is_int(lockspace_open(dir, 0, &other), 0, "a second handle");
	is_int(lockspace_set_owner(keeper, "partial", 0), 0, "labelled");
	struct partial p = {other, 0, 0};
	pthread_t t;
	ok(pthread_create(&t, NULL, partial_acquire, &p) == 0, "the second handle waits for both");
	tu_name("partial-a", LOCKSPACE_LITERAL, name);
	record_path(path, getpid());
	/* Rewrite through the keeper until the record shows the first lock taken. */
	int seen = 0, calls = 0;
	for (long long end = tu_now_ms() + 10000; !seen && tu_now_ms() < end;) {
		calls += lockspace_acquire(keeper, "partial-y", LOCKSPACE_LITERAL) == 0;
		calls += lockspace_release(keeper, "partial-y", LOCKSPACE_LITERAL) == 0;
		seen = tu_read_file(path, text, sizeof(text)) > 0 && lock_line(text, name, "exclusive") >= 0;
	}
	ok(seen && calls % 2 == 0, "the record lists the lock the waiting acquire took first");
	/* The signal may land before the thread blocks: sent until the acquire returns. */
	for (long long end = tu_now_ms() + 10000;
	     !__atomic_load_n(&p.done, __ATOMIC_ACQUIRE) && tu_now_ms() < end;) {
		pthread_kill(t, SIGUSR1);
		struct timespec pause = {.tv_nsec = 10000000L};
		nanosleep(&pause, NULL);
	}
	ok(__atomic_load_n(&p.done, __ATOMIC_ACQUIRE), "a signal ends the wait");
	pthread_join(t, NULL);
	is_int(p.err, -EINTR, "the acquire fails and gives the first lock back");
	ok(tu_read_file(path, text, sizeof(text)) > 0 && lock_line(text, name, "exclusive") < 0,
	   "the record no longer lists it");
	lockspace_close(other);
	lockspace_close(keeper);
	tu_stop(&busy);
	sigaction(SIGUSR1, &old, NULL);
}

/* The pid of this process's record as lockspace_records() reports it (-1 for no record). */
static pid_t child_seen(struct lockspace *ls, struct recs *rl)
{
	memset(rl, 0, sizeof(*rl));
	lockspace_records(ls, collect_rec, rl);
	const struct rec *mine = rec_of(rl, getpid());
	return mine ? mine->child : -1;
}

/* A supervisor's record before its child runs: "kernel-child 1", which
 * readers resolve with the kernel's list of the process's children (its one
 * child, none when there are several); naming the child afterwards writes
 * nothing, and the next rewrite names it by pid. A process that has a child
 * already gets no "kernel-child" line. */
static void test_child_from_kernel(void)
{
	struct lockspace *ls;
	char rec[PATH_MAX], text[4096], line[128];
	struct tu_child kid, other;
	struct stat before, after;
	struct recs *rl = calloc(1, sizeof(*rl));
	struct tu_hold_spec idle = {.dir = dir, .n = 0};
	record_path(rec, getpid());
	if (access("/proc/thread-self/children", R_OK) < 0) {
		skip("this kernel lists no process's children (CONFIG_PROC_CHILDREN)");
		free(rl);
		return;
	}
	if (!rl || lockspace_open(dir, 0, &ls) < 0) {
		free(rl);
		return;
	}
	is_int(lockspace_set_owner(ls, "vm-k", -1), -EINVAL, "a child of -1 (a failed fork): -EINVAL");
	is_int(lockspace_set_owner(ls, "vm-k", -3), -EINVAL, "another negative child: -EINVAL");
	is_int(lockspace_set_owner(ls, "vm-k", LOCKSPACE_CHILD_STARTING), 0, "set_owner(STARTING)");
	ok(tu_read_elsewhere(rec, text, sizeof(text)) > 0 && has_line(text, "kernel-child 1") &&
		   !strstr(text, "\nchild "),
	   "the record says \"kernel-child 1\" and names no pid");
	is_int(child_seen(ls, rl), 0, "no child yet: none is read from the kernel");

	tu_hold(&kid, &idle); /* this process's one child */
	is_int(child_seen(ls, rl), kid.pid, "the kernel names the child that has started since");
	tu_hold(&other, &idle);
	is_int(child_seen(ls, rl), 0, "two children: none is named rather than the wrong one");
	tu_stop(&other);
	is_int(child_seen(ls, rl), kid.pid, "one child again: named");
	stat(rec, &before);
	is_int(lockspace_set_owner(ls, "vm-k", kid.pid), 0, "set_owner(child) once it has started");
	stat(rec, &after);
	ok(before.st_ino == after.st_ino && tu_read_elsewhere(rec, text, sizeof(text)) > 0 &&
		   has_line(text, "kernel-child 1"),
	   "the record is not rewritten for it");
	is_int(lockspace_acquire(ls, "child-kernel", LOCKSPACE_LITERAL), 0, "an acquire rewrites the record");
	snprintf(line, sizeof(line), "child %d", (int)kid.pid);
	ok(tu_read_elsewhere(rec, text, sizeof(text)) > 0 && has_line(text, line) &&
		   !has_line(text, "kernel-child 1"),
	   "the rewrite names the child by pid");
	stat(rec, &before);
	is_int(lockspace_set_owner(ls, "vm-k", getppid()), 0, "another child under the same label");
	stat(rec, &after);
	snprintf(line, sizeof(line), "child %d", (int)getppid());
	ok(before.st_ino != after.st_ino && tu_read_elsewhere(rec, text, sizeof(text)) > 0 &&
		   has_line(text, line),
	   "is written at once");
	is_int(lockspace_set_owner(ls, "vm-j", kid.pid), 0, "another label");
	snprintf(line, sizeof(line), "child %d", (int)kid.pid);
	ok(tu_read_elsewhere(rec, text, sizeof(text)) > 0 && has_line(text, "owner vm-j") &&
		   has_line(text, line),
	   "is written at once");
	lockspace_close(ls);

	/* A process with a child already (kid): its record names the pid only. */
	if (lockspace_open(dir, 0, &ls) == 0) {
		is_int(lockspace_set_owner(ls, "vm-k", LOCKSPACE_CHILD_STARTING), 0,
		       "set_owner(STARTING) with a child already");
		ok(tu_read_elsewhere(rec, text, sizeof(text)) > 0 && !has_line(text, "kernel-child 1") &&
			   !strstr(text, "\nchild "),
		   "the record names no child at all");
		is_int(child_seen(ls, rl), 0, "nor do readers");
		tu_hold(&other, &idle);
		is_int(lockspace_set_owner(ls, "vm-k", other.pid), 0, "set_owner(child)");
		is_int(child_seen(ls, rl), other.pid, "the record names it");
		tu_stop(&other);
		lockspace_close(ls);
	}
	tu_stop(&kid);
	free(rl);
}

TU_MAIN(setup, test_own_record, test_other_processes, test_partial_acquire, test_child_from_kernel)
