/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_labels.c: owner labels: one live holder per label, decided by a lock the kernel keeps. */
#include <dirent.h>

#include "testlib.h"

static char dir[PATH_MAX];

enum { STEP_RELEASE = 20, STEP_EXIT };

/* A child that claims "vm1" through set_owner(), answers, then lets go when told. */
static int claimer_main(int rd, int wr, void *arg)
{
	struct lockspace *ls;
	(void)arg;
	if (lockspace_open(dir, 0, &ls) < 0)
		return 1;
	tu_send(wr, lockspace_set_owner(ls, "vm1", 0));
	if (tu_order(rd) != STEP_RELEASE)
		return 1;
	lockspace_close(ls);
	tu_send(wr, 0);
	tu_order(rd);
	return 0;
}

struct wait_arg {
	int timeout_ms;
};

static int claim_waiting(void *arg)
{
	const struct wait_arg *a = arg;
	struct lockspace *ls;
	if (lockspace_open(dir, 0, &ls) < 0)
		return -1000;
	int rc = lockspace_claim_owner(ls, "vm1", LOCKSPACE_WAIT, a->timeout_ms);
	lockspace_close(ls);
	return rc;
}

static void test_one_holder(void)
{
	struct lockspace *ls, *other;
	struct tu_child c;
	pid_t pid = 0;
	if (lockspace_open(dir, 0, &ls) < 0 || lockspace_open(dir, 0, &other) < 0)
		return;
	is_int(lockspace_owner_pid(ls, "vm1", &pid), -ENOENT, "owner_pid of a label nobody has: -ENOENT");
	if (tu_spawn(&c, claimer_main, NULL) < 0)
		return;
	is_int(tu_answer(&c), 0, "a child claims vm1 with set_owner()");
	is_int(lockspace_owner_pid(ls, "vm1", &pid), 0, "owner_pid of vm1");
	is_int(pid, c.pid, "owner_pid names the child (F_GETLK)");
	is_int(lockspace_set_owner(ls, "vm1", 0), -EBUSY,
	       "set_owner(vm1) here while the child has it: -EBUSY");
	is_int(lockspace_claim_owner(ls, "vm1", 0, 0), -EBUSY, "claim_owner(vm1) without waiting: -EBUSY");
	struct wait_arg w = {.timeout_ms = 200};
	long long t0 = tu_now_ms();
	is_int(tu_run(claim_waiting, &w, TU_DEADLINE_MS), -ETIMEDOUT,
	       "claim_owner(vm1) waiting 200 ms: -ETIMEDOUT");
	ok(tu_now_ms() - t0 >= 190, "and it waited (%lld ms)", tu_now_ms() - t0);
	is_int(lockspace_claim_owner(ls, "vm2", 0, 0), 0, "another label is free");
	is_int(lockspace_claim_owner(other, "vm2", 0, 0), -EBUSY,
	       "another handle of this process cannot claim it too");
	is_int(lockspace_owner_pid(other, "vm2", &pid), 0, "owner_pid of our own label");
	is_int(pid, getpid(), "owner_pid names this process");
	is_int(lockspace_set_owner(ls, "vm2", 0), 0, "set_owner() keeps the claim it has");
	tu_send(c.to, STEP_RELEASE);
	is_int(tu_answer(&c), 0, "the child lets go of vm1");
	is_int(lockspace_owner_pid(ls, "vm1", &pid), -ENOENT, "vm1 is nobody's now");
	is_int(lockspace_set_owner(ls, "vm1", 0), 0, "set_owner(vm1) now succeeds, letting go of vm2");
	is_int(lockspace_claim_owner(other, "vm2", 0, 0), 0, "vm2 is free for another handle");
	tu_send(c.to, STEP_EXIT);
	tu_reap(&c);
	lockspace_close(other);
	lockspace_close(ls);
	is_int(lockspace_owner_pid(NULL, "x", &pid), -EINVAL, "owner_pid(NULL): -EINVAL");
	if (lockspace_open(dir, 0, &ls) == 0) {
		is_int(lockspace_claim_owner(ls, "", 0, 0), -EINVAL, "an empty label: -EINVAL");
		is_int(lockspace_claim_owner(ls, "a\nb", 0, 0), -EINVAL, "a label with a newline: -EINVAL");
		lockspace_close(ls);
	}
}

/* A crash frees the label: the kernel drops the lock with the process. */
static void test_crash_frees(void)
{
	struct lockspace *ls;
	struct tu_child c;
	pid_t pid = 0;
	if (lockspace_open(dir, 0, &ls) < 0 || tu_spawn(&c, claimer_main, NULL) < 0)
		return;
	is_int(tu_answer(&c), 0, "a child claims vm1");
	kill(c.pid, SIGKILL);
	tu_reap(&c);
	is_int(lockspace_owner_pid(ls, "vm1", &pid), -ENOENT, "after SIGKILL nobody has vm1");
	is_int(lockspace_set_owner(ls, "vm1", 0), 0, "and it can be claimed");
	lockspace_close(ls);
	if (lockspace_open(dir, 0, &ls) == 0) {
		is_int(lockspace_prune(ls, 0, NULL, NULL) >= 0, 1, "prune");
		lockspace_close(ls);
	}
	char holders[PATH_MAX];
	tu_join(holders, dir, ".holders");
	DIR *d = opendir(holders);
	int left = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		left += de->d_name[0] != '.';
	if (d)
		closedir(d);
	is_int(left, 0, "nothing is left under .holders after close and prune");
}

/* A child that waits for "vm1" in F_SETLKW, answers, then lets go when told. */
static int waiter_main(int rd, int wr, void *arg)
{
	struct lockspace *ls;
	(void)arg;
	if (lockspace_open(dir, 0, &ls) < 0)
		return 1;
	tu_send(wr, lockspace_claim_owner(ls, "vm1", LOCKSPACE_WAIT, -1));
	if (tu_order(rd) != STEP_RELEASE)
		return 1;
	lockspace_close(ls);
	tu_send(wr, 0);
	tu_order(rd);
	return 0;
}

/* Wait until @pid blocks on the label file at @path: /proc/locks shows it. */
static int blocked_on(pid_t pid, const char *path)
{
	long long end = tu_now_ms() + TU_DEADLINE_MS;
	while (!tu_proc_waiting(pid, path)) {
		if (tu_now_ms() > end)
			return 0;
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return 1;
}

/*
 * Two claims wait in F_SETLKW on a label file when its holder lets go
 * (unlinking it while still locked): both wake on the orphan, and exactly
 * one of them must end up owning the label, through the file at the path,
 * while the other waits on that new file and gets it only after.
 */
static void test_waiters_on_unlinked_file(void)
{
	struct lockspace *ls;
	struct tu_child a, w[2];
	pid_t pid = 0;
	char label[PATH_MAX], holders[PATH_MAX], md5[LOCKSPACE_NAME_LEN + 1];
	if (lockspace_open(dir, 0, &ls) < 0 || tu_spawn(&a, claimer_main, NULL) < 0)
		return;
	is_int(tu_answer(&a), 0, "a child claims vm1");
	tu_join(holders, dir, ".holders");
	if (tu_md5sum(tu_scratch_dir, "vm1", 3, md5) < 0)
		return;
	char file[sizeof("owner.") + LOCKSPACE_NAME_LEN];
	snprintf(file, sizeof(file), "owner.%s", md5);
	tu_join(label, holders, file);
	struct stat st;
	ok(stat(label, &st) == 0, "its label file is there");
	for (int i = 0; i < 2; i++) {
		if (tu_spawn(&w[i], waiter_main, NULL) < 0)
			return;
		ok(blocked_on(w[i].pid, label), "waiter %d blocks on the label file", i + 1);
	}
	tu_send(a.to, STEP_RELEASE);
	is_int(tu_answer(&a), 0, "the holder lets go, unlinking the file");
	/* One waiter answers that it has the label; the other must not. */
	int first = -1, rc = TU_NOANSWER;
	long long end = tu_now_ms() + TU_DEADLINE_MS;
	while (first < 0 && tu_now_ms() < end)
		for (int i = 0; i < 2 && first < 0; i++)
			if ((rc = tu_answer_within(&w[i], 10)) != TU_NOANSWER)
				first = i;
	ok(first >= 0 && rc == 0, "one waiter claims vm1 (%d)", rc);
	if (first < 0)
		return;
	int second = 1 - first;
	is_int(lockspace_owner_pid(ls, "vm1", &pid), 0, "owner_pid of vm1");
	is_int(pid, w[first].pid, "the file at the path is the one that waiter holds");
	ok(blocked_on(w[second].pid, label), "the other waiter waits on that new file");
	is_int(tu_answer_within(&w[second], 0), TU_NOANSWER, "and has not claimed it");
	tu_send(w[first].to, STEP_RELEASE);
	is_int(tu_answer(&w[first]), 0, "the first waiter lets go");
	is_int(tu_answer(&w[second]), 0, "then the other claims vm1");
	is_int(lockspace_owner_pid(ls, "vm1", &pid), 0, "owner_pid of vm1 again");
	is_int(pid, w[second].pid, "names the other waiter");
	tu_send(w[second].to, STEP_RELEASE);
	is_int(tu_answer(&w[second]), 0, "it lets go too");
	for (int i = 0; i < 2; i++) {
		tu_send(w[i].to, STEP_EXIT);
		tu_reap(&w[i]);
	}
	tu_send(a.to, STEP_EXIT);
	tu_reap(&a);
	lockspace_close(ls);
}

struct thread_claim {
	struct lockspace *ls;
	int rc;
};

static void *thread_claims_vm1(void *arg)
{
	struct thread_claim *t = arg;
	t->rc = lockspace_claim_owner(t->ls, "vm1", LOCKSPACE_WAIT, -1);
	return NULL;
}

/*
 * A thread of this process waits to claim vm1 while a child has it: the
 * claim is in the table but not made. owner_pid() from another thread must
 * name the child the kernel shows, not this process, and this process only
 * once the claim is made.
 */
static void test_claim_in_progress(void)
{
	struct lockspace *ls, *mine;
	struct tu_child c;
	pid_t pid = 0;
	char label[PATH_MAX], md5[LOCKSPACE_NAME_LEN + 1],
		file[sizeof(".holders/owner.") + LOCKSPACE_NAME_LEN];
	if (lockspace_open(dir, 0, &ls) < 0 || lockspace_open(dir, 0, &mine) < 0 ||
	    tu_spawn(&c, claimer_main, NULL) < 0 || tu_md5sum(tu_scratch_dir, "vm1", 3, md5) < 0)
		return;
	is_int(tu_answer(&c), 0, "a child claims vm1");
	snprintf(file, sizeof(file), ".holders/owner.%s", md5);
	tu_join(label, dir, file);
	struct thread_claim t = {.ls = mine, .rc = 1};
	pthread_t th;
	if (pthread_create(&th, NULL, thread_claims_vm1, &t) != 0)
		return;
	ok(blocked_on(getpid(), label), "a thread of this process waits for vm1");
	is_int(lockspace_owner_pid(ls, "vm1", &pid), 0, "owner_pid of vm1 while the thread waits");
	is_int(pid, c.pid, "names the child that holds it, not this process");
	tu_send(c.to, STEP_RELEASE);
	is_int(tu_answer(&c), 0, "the child lets go");
	pthread_join(th, NULL);
	is_int(t.rc, 0, "the thread's claim is made");
	is_int(lockspace_owner_pid(ls, "vm1", &pid), 0, "owner_pid of vm1 now");
	is_int(pid, getpid(), "names this process");
	tu_send(c.to, STEP_EXIT);
	tu_reap(&c);
	lockspace_close(mine);
	is_int(lockspace_owner_pid(ls, "vm1", &pid), -ENOENT, "nobody's once the handle is closed");
	lockspace_close(ls);
}

/* The lockspace directory and the resources every test here uses. */
static void setup(void)
{
	tu_lockspace_dir(dir);
}

TU_MAIN(setup, test_one_holder, test_crash_frees, test_waiters_on_unlinked_file, test_claim_in_progress)
