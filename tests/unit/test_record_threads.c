/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_record_threads.c: threads rewriting the process's one record, and a second handle refused it. */
#include <stdatomic.h>

#include "testlib.h"

#define THREADS 4
#define ITER	1500
#define FORKS	40

static char dir[PATH_MAX], record[PATH_MAX];
static char res[THREADS][PATH_MAX];
static struct lockspace *handles[2];
static atomic_int errors, first_error, torn, stop;

static void note_error(int rc)
{
	int zero = 0;
	atomic_compare_exchange_strong(&first_error, &zero, rc);
	atomic_fetch_add(&errors, 1);
}

/* Whole: the magic line first, this process's pid, and a last line ended. */
static int record_whole(const char *buf, ssize_t n)
{
	char pidline[32];
	snprintf(pidline, sizeof(pidline), "\npid %d\n", (int)getpid());
	return n > 0 && strncmp(buf, "virlock-holder 1\n", 17) == 0 && buf[n - 1] == '\n' &&
	       strstr(buf, pidline) != NULL;
}

static void *writer(void *arg)
{
	int id = (int)(intptr_t)arg;
	struct lockspace *ls = handles[id % 2];
	/* handles[0] keeps the record; the other handle of the same lockspace
	 * is refused one, and its locks never rewrite it. */
	int want = id % 2 ? -EALREADY : 0;
	for (int i = 0; i < ITER; i++) {
		int rc = lockspace_set_owner(ls, NULL, 0);
		if (rc != want)
			note_error(rc ? rc : 1);
		if ((rc = lockspace_acquire(ls, res[id], 0)) < 0) {
			note_error(rc);
			continue;
		}
		if ((rc = lockspace_release(ls, res[id], 0)) < 0)
			note_error(rc);
	}
	return NULL;
}

/* Reads the record while the writers run: a rename makes every read whole. */
static void *reader(void *arg)
{
	(void)arg;
	char buf[8192];
	while (!atomic_load(&stop)) {
		int fd = open(record, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* not written yet */
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n >= 0)
			buf[n] = '\0';
		if (!record_whole(buf, n))
			atomic_fetch_add(&torn, 1);
	}
	return NULL;
}

static void test_two_handles(void)
{
	if (lockspace_open(dir, 0, &handles[0]) < 0 || lockspace_open(dir, 0, &handles[1]) < 0) {
		ok(0, "two handles on one lockspace");
		return;
	}
	if (lockspace_set_owner(handles[0], NULL, 0) < 0) {
		ok(0, "a record to watch");
		return;
	}
	char name[64];
	snprintf(name, sizeof(name), ".holders/%d", (int)getpid());
	tu_join(record, lockspace_dir(handles[0]), name);

	pthread_t th[THREADS], rd;
	pthread_create(&rd, NULL, reader, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, writer, (void *)(intptr_t)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	atomic_store(&stop, 1);
	pthread_join(rd, NULL);

	is_int(atomic_load(&errors), 0, "no set_owner, acquire or release failed (first error %d)",
	       atomic_load(&first_error));
	is_int(atomic_load(&torn), 0, "every read of the record while they ran saw a whole record");
	char buf[8192];
	ssize_t n = tu_read_file(record, buf, sizeof(buf));
	ok(record_whole(buf, n), "the record read back at the end is whole");
	is_int(lockspace_set_owner(handles[1], NULL, 0), -EALREADY,
	       "the other handle of the lockspace is refused the record: -EALREADY");
	is_int(lockspace_set_owner(handles[0], NULL, 0), 0, "one more rewrite succeeds");
	n = tu_read_file(record, buf, sizeof(buf));
	ok(record_whole(buf, n) && !strstr(buf, "\nlock "), "it lists no lock: none is held");

	/* No temporary file left behind by a rewrite that lost its file. */
	char tmp[PATH_MAX], tname[48];
	snprintf(tname, sizeof(tname), ".%d.tmp", (int)getpid());
	tu_join(tmp, dir, ".holders");
	tu_join(tmp, tmp, tname);
	ok(access(tmp, F_OK) < 0 && errno == ENOENT, "no temporary record file is left");

	lockspace_close(handles[0]);
	is_int(lockspace_set_owner(handles[1], NULL, 0), 0,
	       "once that handle is closed, the other may record");
	lockspace_close(handles[1]);
}

/* A child forked while threads rewrite the record: its own handle's record
 * is written at once, never stuck on a mutex a parent's thread held. */
static int fork_child_main(int rd, int wr, void *arg)
{
	(void)rd;
	(void)arg;
	struct lockspace *ls;
	int rc = lockspace_open(dir, 0, &ls);
	if (rc == 0) {
		rc = lockspace_set_owner(ls, NULL, 0);
		lockspace_close(ls);
	}
	tu_send(wr, rc);
	return 0;
}

static void test_fork_while_rewriting(void)
{
	if (lockspace_open(dir, 0, &handles[0]) < 0 || lockspace_open(dir, 0, &handles[1]) < 0) {
		ok(0, "two handles on one lockspace");
		return;
	}
	atomic_store(&errors, 0);
	if (lockspace_set_owner(handles[0], NULL, 0) < 0) {
		ok(0, "a record to rewrite");
		return;
	}
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, writer, (void *)(intptr_t)i);
	int forks = 0, stuck = 0, failed = 0;
	for (; forks < FORKS; forks++) {
		int rc = tu_run_child(fork_child_main, NULL, TU_DEADLINE_MS);
		if (rc == TU_NOANSWER)
			stuck++;
		else if (rc != 0)
			failed++;
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	is_int(forks, FORKS, "%d children forked while the threads rewrite the record", FORKS);
	is_int(stuck, 0, "no child hangs writing its own record");
	is_int(failed, 0, "every child writes its own record");
	is_int(atomic_load(&errors), 0, "the threads' calls did not fail meanwhile");
	lockspace_close(handles[1]);
	lockspace_close(handles[0]);
}

/* The lockspace directory and the resources every test here uses. */
static void setup(void)
{
	tu_lockspace_dir(dir);
	for (int i = 0; i < THREADS; i++)
		tu_resource(res[i], NULL, dir, "r%d.img", i);
}

TU_MAIN(setup, test_two_handles, test_fork_while_rewriting)
