/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_corrupt.c: lock files that are wrong: bad content, symlinks, directories, FIFOs, huge files. */
#include "testlib.h"

static char dir[PATH_MAX];
static int nres;

/* A fresh resource file and its lock file path. */
static void new_resource(char *res, char *lf)
{
	tu_resource(res, lf, dir, "vm-%d.img", nres++);
}

/* Acquire must refuse with want, hold nothing, and leave the lock file's bytes alone. */
static void refuses(struct lockspace *ls, const char *content, size_t len, int want, const char *what)
{
	char res[PATH_MAX], lf[PATH_MAX], after[PATH_MAX * 2];

	new_resource(res, lf);
	tu_write_file(lf, content, len);
	is_int(lockspace_acquire(ls, res, 0), want, "%s: exclusive acquire refused", what);
	is_int(lockspace_acquire(ls, res, LOCKSPACE_SHARED), want, "%s: shared acquire refused", what);
	is_int(lockspace_release(ls, res, 0), -ENOENT, "%s: nothing held", what);
	tu_sees(lf, F_UNLCK, 0, "%s: another process sees the file unlocked", what);
	ssize_t n = tu_read_file(lf, after, sizeof(after));
	ok(n == (ssize_t)len && memcmp(after, content, len) == 0, "%s: the lock file was not rewritten",
	   what);
}

static void test_bad_content(void)
{
	struct lockspace *ls;
	char res[PATH_MAX], lf[PATH_MAX], other[PATH_MAX], buf[PATH_MAX * 2];

	if (lockspace_open(dir, 0, &ls) < 0)
		return;
	refuses(ls, "garbage", 7, -EBADMSG, "wrong content");

	/* The next resource's canonical path, plus a newline or a NUL. */
	snprintf(buf, sizeof(buf), "%s/vm-%d.img\n", tu_scratch_dir, nres);
	refuses(ls, buf, strlen(buf), -EBADMSG, "the path with a trailing newline");
	snprintf(buf, sizeof(buf), "%s/vm-%d.img", tu_scratch_dir, nres);
	refuses(ls, buf, strlen(buf) + 1, -EBADMSG, "the path with a trailing NUL");
	tu_join(other, tu_scratch_dir, "someone-else.img");
	refuses(ls, other, strlen(other), -EBADMSG, "another resource's path");

	/* Longer than any path. */
	char *big = malloc(PATH_MAX + 10);
	memset(big, 'a', PATH_MAX + 10);
	refuses(ls, big, PATH_MAX + 10, -EBADMSG, "content longer than PATH_MAX");
	free(big);

	/* An empty lock file gets the canonical path, exactly. */
	new_resource(res, lf);
	tu_write_file(lf, "", 0);
	is_int(lockspace_acquire(ls, res, 0), 0, "an empty lock file is accepted");
	tu_sees(lf, F_WRLCK, getpid(), "and locked");
	is_int(lockspace_release(ls, res, 0), 0, "release");
	ssize_t n = tu_read_file(lf, buf, sizeof(buf));
	is_int(n, (long)strlen(res), "the empty file now holds as many bytes as the path (no newline)");
	is_str(buf, res, "the empty file now holds the canonical path");
	is_int(lockspace_acquire(ls, res, LOCKSPACE_SHARED), 0,
	       "the written file verifies on the next acquire");
	lockspace_release(ls, res, 0);

	/* A corrupt file among several: nothing held. */
	char good[PATH_MAX], glf[PATH_MAX];
	new_resource(good, glf);
	new_resource(res, lf);
	tu_write_file(lf, "junk", 4);
	const char *two[] = {good, res};
	size_t failed = 99;
	is_int(lockspace_acquire_many(ls, two, 2, 0, -1, &failed), -EBADMSG,
	       "a corrupt one among two: -EBADMSG");
	is_int(failed, 1, "failed names the corrupt one");
	is_int(lockspace_release_all(ls), 0, "nothing held after the corrupt one");
	int gst = tu_state(glf, NULL);
	ok(gst == F_UNLCK || gst == -ENOENT, "the good one is not left locked (%s)", tu_type_name(gst));

	/* By name, the same verification applies. */
	char name[LOCKSPACE_NAME_LEN + 1];
	tu_name(res, 0, name);
	is_int(lockspace_acquire(ls, name, LOCKSPACE_BYNAME), -EBADMSG,
	       "by name of a corrupt file: -EBADMSG");

	/* Repaired, it works. */
	tu_write_file(lf, res, strlen(res));
	is_int(lockspace_acquire(ls, res, 0), 0, "after repair the resource is taken");
	lockspace_close(ls);
}

struct try_arg {
	const char *res;
	unsigned flags;
};

/* In a child (so that a hang is a failure, not a hung suite): the acquire's result, 1 for success. */
static int acquire_in_child(void *arg)
{
	const struct try_arg *a = arg;
	struct lockspace *ls;
	int rc = lockspace_open(dir, 0, &ls);
	if (rc == 0) {
		rc = lockspace_acquire(ls, a->res, a->flags);
		if (rc == 0)
			rc = 1; /* "acquired": not an error code */
		lockspace_close(ls);
	}
	return rc;
}

static int try_acquire(const char *res, unsigned flags, int timeout_ms)
{
	struct try_arg a = {res, flags};
	return tu_run(acquire_in_child, &a, timeout_ms);
}

static void test_symlinks(void)
{
	char res[PATH_MAX], lf[PATH_MAX], target[PATH_MAX], buf[PATH_MAX];
	struct lockspace *ls;
	struct stat st;

	/* A symlink to a file that even holds the right content. */
	new_resource(res, lf);
	tu_join(target, tu_scratch_dir, "decoy");
	tu_write_file(target, res, strlen(res));
	tu_symlink(target, lf);
	is_int(try_acquire(res, 0, 5000), -ELOOP, "a symlink as lock file: -ELOOP");
	is_int(try_acquire(res, LOCKSPACE_SHARED, 5000), -ELOOP, "shared, a symlink as lock file: -ELOOP");
	ok(lstat(lf, &st) == 0 && S_ISLNK(st.st_mode), "the symlink is left alone");
	tu_read_file(target, buf, sizeof(buf));
	is_str(buf, res, "the target's content is left alone");

	/* A dangling symlink must not create its target. */
	new_resource(res, lf);
	tu_join(target, tu_scratch_dir, "created-through-symlink");
	tu_symlink(target, lf);
	is_int(try_acquire(res, 0, 5000), -ELOOP, "a dangling symlink as lock file: -ELOOP");
	ok(access(target, F_OK) < 0 && errno == ENOENT, "nothing was created through the dangling symlink");

	/* In this process too: nothing held, the target not locked (only if it returns at all). */
	new_resource(res, lf);
	tu_join(target, tu_scratch_dir, "decoy-2");
	tu_write_file(target, res, strlen(res));
	tu_symlink(target, lf);
	if (try_acquire(res, 0, 5000) != TU_NOANSWER && lockspace_open(dir, 0, &ls) == 0) {
		is_int(lockspace_acquire(ls, res, 0), -ELOOP,
		       "a symlink as lock file, in this process: -ELOOP");
		is_int(lockspace_release(ls, res, 0), -ENOENT, "nothing held");
		tu_sees(target, F_UNLCK, 0, "the symlink's target was not locked");
		lockspace_close(ls);
	} else {
		ok(0, "a symlink as lock file: the acquire returns");
	}
}

static void test_not_regular(void)
{
	char res[PATH_MAX], lf[PATH_MAX];
	struct stat st;

	new_resource(res, lf);
	mkdir(lf, 0700);
	int rc = try_acquire(res, 0, 5000);
	ok(rc != TU_NOANSWER, "a directory as lock file: the acquire returns");
	ok(rc < 0 && rc != TU_NOANSWER, "a directory as lock file: refused (%d)", rc);
	is_int(rc, -EBADMSG, "a directory as lock file: -EBADMSG (not a regular file)");
	ok(lstat(lf, &st) == 0 && S_ISDIR(st.st_mode), "the directory is left alone");

	new_resource(res, lf);
	mkfifo(lf, 0600);
	rc = try_acquire(res, 0, 5000);
	ok(rc != TU_NOANSWER, "a FIFO as lock file: the acquire returns, no hang");
	ok(rc < 0 && rc != TU_NOANSWER, "a FIFO as lock file: refused (%d)", rc);
	is_int(rc, -EBADMSG, "a FIFO as lock file: -EBADMSG (not a regular file)");
	ok(lstat(lf, &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO is left alone");

	/* A sparse 1 GiB lock file: refused quickly, without reading it all. */
	new_resource(res, lf);
	int fd = open(lf, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	ok(fd >= 0 && ftruncate(fd, 1LL << 30) == 0, "made a sparse 1 GiB lock file");
	if (fd >= 0)
		close(fd);
	long long t0 = tu_now_ms();
	rc = try_acquire(res, 0, 10000);
	is_int(rc, -EBADMSG, "a huge lock file: -EBADMSG");
	diag("the huge-file acquire took %lld ms", tu_now_ms() - t0);
	ok(lstat(lf, &st) == 0 && st.st_size == (1LL << 30), "the huge file is left alone");
}

/* The lockspace directory and the resources every test here uses. */
static void setup(void)
{
	tu_lockspace_dir(dir);
}

TU_MAIN(setup, test_bad_content, test_symlinks, test_not_regular)
