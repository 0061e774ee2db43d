/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_labels.c: owner labels: one live holder per label, decided by a lock the kernel keeps. */
#include <dirent.h>

#include "testlib.h"

static char scratch[PATH_MAX], dir[PATH_MAX];

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

int main(void)
{
	tu_init();
	if (tu_scratch(scratch) < 0) {
		printf("Bail out! cannot make a scratch directory\n");
		return 1;
	}
	tu_join(dir, scratch, "ls");
	mkdir(dir, 0700);
	test_one_holder();
	test_crash_frees();
	tu_rmrf(scratch);
	return tap_done();
}
