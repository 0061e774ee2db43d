/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_race.c: the unlink race: processes lock one resource in a loop while others prune its lock file. */
#include "testlib.h"

#define WORKERS	      4
#define ROUNDS	      250
#define READERS	      1
#define READER_ROUNDS 250
#define PRUNERS	      2

static char dir[PATH_MAX], res[PATH_MAX], counter[PATH_MAX], marker[PATH_MAX];

/* Results each helper sends back, in this order. */
struct result {
	int errors, first_error, violations, extra;
};

static void send_result(int wr, const struct result *r)
{
	tu_send(wr, r->errors);
	tu_send(wr, r->first_error);
	tu_send(wr, r->violations);
	tu_send(wr, r->extra);
}

static int recv_result(struct tu_child *c, struct result *r)
{
	int *v[] = {&r->errors, &r->first_error, &r->violations, &r->extra};
	for (int i = 0; i < 4; i++)
		if (tu_recv(c->from, v[i], 4 * TU_DEADLINE_MS) < 0)
			return -1;
	return 0;
}

static void note_error(struct result *r, int rc)
{
	if (!r->errors++)
		r->first_error = rc;
}

/* Read-modify-write the counter; any lost update shows two holders at once. */
static int bump_counter(void)
{
	char buf[32];
	int fd = open(counter, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	int v = atoi(buf) + 1;
	int len = snprintf(buf, sizeof(buf), "%d", v);
	int rc = pwrite(fd, buf, (size_t)len, 0) == len ? 0 : -EIO;
	close(fd);
	return rc;
}

/* A child's start: open the lockspace, say ready, wait for the go. */
static int open_and_wait_go(int rd, int wr, struct lockspace **ls)
{
	if (lockspace_open(dir, 0, ls) < 0)
		return -1;
	tu_send(wr, 0);
	if (tu_order(rd) != TU_CMD_GO) {
		lockspace_close(*ls);
		return -1;
	}
	return 0;
}

static int worker_main(int rd, int wr, void *arg)
{
	int id = (int)(intptr_t)arg;
	struct lockspace *ls;
	struct result r = {0};
	const char *one[] = {res};

	if (open_and_wait_go(rd, wr, &ls) < 0)
		return 1;
	for (int i = 0; i < ROUNDS; i++) {
		/* Half wait for ever (F_SETLKW), half with a timeout (retries). */
		int rc =
			id % 2 ? lockspace_acquire(ls, res, LOCKSPACE_WAIT)
			       : lockspace_acquire_many(ls, one, 1, LOCKSPACE_WAIT, 4 * TU_DEADLINE_MS, NULL);
		if (rc < 0) {
			note_error(&r, rc);
			continue;
		}
		int fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			r.violations++; /* another exclusive holder is inside */
		else
			close(fd);
		if ((rc = bump_counter()) < 0)
			note_error(&r, rc);
		if (fd >= 0)
			unlink(marker);
		if ((rc = lockspace_release(ls, res, 0)) < 0)
			note_error(&r, rc);
	}
	lockspace_close(ls);
	send_result(wr, &r);
	return 0;
}

static int reader_main(int rd, int wr, void *arg)
{
	struct lockspace *ls;
	struct result r = {0};
	(void)arg;

	if (open_and_wait_go(rd, wr, &ls) < 0)
		return 1;
	for (int i = 0; i < READER_ROUNDS; i++) {
		int rc = lockspace_acquire(ls, res, LOCKSPACE_SHARED | LOCKSPACE_WAIT);
		if (rc < 0) {
			note_error(&r, rc);
			continue;
		}
		if (access(marker, F_OK) == 0)
			r.violations++; /* an exclusive holder is inside while we share */
		if ((rc = lockspace_release(ls, res, 0)) < 0)
			note_error(&r, rc);
	}
	lockspace_close(ls);
	send_result(wr, &r);
	return 0;
}

static int pruner_main(int rd, int wr, void *arg)
{
	struct lockspace *ls;
	struct result r = {0};
	(void)arg;

	if (open_and_wait_go(rd, wr, &ls) < 0)
		return 1;
	/* Until told to stop; the iteration cap only guards against a lost order. */
	for (long i = 0; i < 10000000; i++) {
		struct pollfd p = {.fd = rd, .events = POLLIN};
		if (poll(&p, 1, 0) > 0)
			break;
		int n = lockspace_prune(ls, 0, NULL, NULL);
		if (n < 0)
			note_error(&r, n);
		else
			r.extra += n;
	}
	lockspace_close(ls);
	send_result(wr, &r);
	return 0;
}

/* Workers, readers and pruners on one resource: never two holders inside at once. */
static void test_race(void)
{
	struct tu_child w[WORKERS], rdr[READERS], pr[PRUNERS];
	struct result r;
	char buf[64], lf[PATH_MAX];

	tu_lockspace_dir(dir);
	tu_join(res, tu_scratch_dir, "contended.img");
	tu_touch(res);
	tu_lockfile(lf, dir, res, 0);
	tu_join(counter, tu_scratch_dir, "counter");
	tu_write_file(counter, "0", 1);
	tu_join(marker, tu_scratch_dir, "inside");

	for (int i = 0; i < WORKERS; i++)
		tu_spawn(&w[i], worker_main, (void *)(intptr_t)i);
	for (int i = 0; i < READERS; i++)
		tu_spawn(&rdr[i], reader_main, NULL);
	for (int i = 0; i < PRUNERS; i++)
		tu_spawn(&pr[i], pruner_main, NULL);
	int ready = 0;
	for (int i = 0; i < WORKERS; i++)
		ready += tu_answer(&w[i]) == 0;
	for (int i = 0; i < READERS; i++)
		ready += tu_answer(&rdr[i]) == 0;
	for (int i = 0; i < PRUNERS; i++)
		ready += tu_answer(&pr[i]) == 0;
	is_int(ready, WORKERS + READERS + PRUNERS, "all helpers opened the lockspace");
	long long t0 = tu_now_ms();
	for (int i = 0; i < PRUNERS; i++)
		tu_send(pr[i].to, TU_CMD_GO);
	for (int i = 0; i < WORKERS; i++)
		tu_send(w[i].to, TU_CMD_GO);
	for (int i = 0; i < READERS; i++)
		tu_send(rdr[i].to, TU_CMD_GO);

	int errors = 0, violations = 0, lost = 0;
	for (int i = 0; i < WORKERS; i++) {
		if (recv_result(&w[i], &r) < 0) {
			lost++;
			continue;
		}
		if (r.errors)
			printf("#   worker %d: %d errors, first %d (%s)\n", i, r.errors, r.first_error,
			       lockspace_strerror(r.first_error));
		errors += r.errors;
		violations += r.violations;
	}
	for (int i = 0; i < READERS; i++) {
		if (recv_result(&rdr[i], &r) < 0) {
			lost++;
			continue;
		}
		if (r.errors)
			printf("#   reader: %d errors, first %d (%s)\n", r.errors, r.first_error,
			       lockspace_strerror(r.first_error));
		errors += r.errors;
		violations += r.violations;
	}
	int removed = 0, prune_errors = 0;
	for (int i = 0; i < PRUNERS; i++) {
		tu_send(pr[i].to, TU_CMD_QUIT);
		if (recv_result(&pr[i], &r) < 0) {
			lost++;
			continue;
		}
		if (r.errors)
			printf("#   pruner %d: %d errors, first %d (%s)\n", i, r.errors, r.first_error,
			       lockspace_strerror(r.first_error));
		prune_errors += r.errors;
		removed += r.extra;
	}
	diag("%d acquisitions and %d shared holds against %d pruners: %d lock files pruned, %lld ms",
	     WORKERS * ROUNDS, READERS * READER_ROUNDS, PRUNERS, removed, tu_now_ms() - t0);
	is_int(lost, 0, "every helper reported");
	is_int(errors, 0, "no acquire or release failed");
	is_int(prune_errors, 0, "no prune failed");
	is_int(violations, 0, "never two holders inside at once (marker file)");
	tu_read_file(counter, buf, sizeof(buf));
	is_int(atoi(buf), WORKERS * ROUNDS, "the counter equals the number of acquisitions: no lost update");
	ok(removed > 0, "the pruners did remove lock files under the workers (%d)", removed);
	int st = tu_state(lf, NULL);
	ok(st == F_UNLCK || st == -ENOENT, "the resource is left free (%s)", tu_type_name(st));
	int bad_exit = 0;
	for (int i = 0; i < WORKERS; i++)
		bad_exit += tu_reap(&w[i]) != 0;
	for (int i = 0; i < READERS; i++)
		bad_exit += tu_reap(&rdr[i]) != 0;
	for (int i = 0; i < PRUNERS; i++)
		bad_exit += tu_reap(&pr[i]) != 0;
	is_int(bad_exit, 0, "every helper exited cleanly");
}

TU_MAIN(test_race)
