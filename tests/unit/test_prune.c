/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_prune.c: prune removes free lock files only, never a held one, and a dry run removes nothing. */
#include "testlib.h"

static char dir[PATH_MAX];

struct seen {
	int n;
	char paths[16][PATH_MAX];
};

static void note(const char *what, void *arg)
{
	struct seen *s = arg;
	if (s->n < 16)
		snprintf(s->paths[s->n], PATH_MAX, "%s", what);
	s->n++;
}

static int saw(const struct seen *s, const char *path)
{
	for (int i = 0; i < s->n && i < 16; i++)
		if (strcmp(s->paths[i], path) == 0)
			return 1;
	return 0;
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static int rawlock_main(int rd, int wr, void *arg)
{
	int fd = open(arg, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	tu_send(wr, fd >= 0 && fcntl(fd, F_SETLK, &fl) == 0 ? 0 : -errno);
	tu_order(rd);
	return 0;
}

/* Prune removes free lock files and nothing held, in this process or another. */
static void test_prune(void)
{
	struct lockspace *ls;
	struct tu_child child, raw;
	char a[PATH_MAX], b[PATH_MAX], bs[PATH_MAX], c[PATH_MAX], d[PATH_MAX], r[PATH_MAX];
	char a_lf[PATH_MAX], b_lf[PATH_MAX], bs_lf[PATH_MAX], c_lf[PATH_MAX], d_lf[PATH_MAX], e_lf[PATH_MAX];
	char r_lf[PATH_MAX], junk[PATH_MAX], buf[PATH_MAX];

	tu_lockspace_dir(dir);
	tu_touch(tu_join(a, tu_scratch_dir, "free.img"));
	tu_touch(tu_join(b, tu_scratch_dir, "held-self.img"));
	tu_touch(tu_join(bs, tu_scratch_dir, "held-self-shared.img"));
	tu_touch(tu_join(c, tu_scratch_dir, "held-child.img"));
	tu_touch(tu_join(d, tu_scratch_dir, "corrupt.img"));
	tu_touch(tu_join(r, tu_scratch_dir, "raw-locked.img"));
	tu_lockfile(a_lf, dir, a, 0);
	tu_lockfile(b_lf, dir, b, 0);
	tu_lockfile(bs_lf, dir, bs, 0);
	tu_lockfile(c_lf, dir, c, 0);
	tu_lockfile(d_lf, dir, d, 0);
	tu_lockfile(r_lf, dir, r, 0);
	tu_lockfile(e_lf, dir, "empty", LOCKSPACE_LITERAL);
	tu_join(junk, dir, "not-a-lock-file");

	if (lockspace_open(dir, 0, &ls) < 0) {
		tu_bail("lockspace_open");
	}
	is_int(lockspace_prune(ls, 0, NULL, NULL), 0, "prune of an empty lockspace: 0");
	lockspace_acquire(ls, a, 0);
	lockspace_release(ls, a, 0);
	tu_write_file(e_lf, "", 0);
	tu_write_file(d_lf, "junk", 4);
	tu_write_file(r_lf, r, strlen(r));
	tu_write_file(junk, "keep me", 7);
	is_int(lockspace_acquire(ls, b, 0), 0, "we hold b exclusively");
	is_int(lockspace_acquire(ls, bs, LOCKSPACE_SHARED), 0, "we hold bs shared");
	is_int(tu_hold1(&child, dir, c, LOCKSPACE_SHARED), 0, "a child holds c shared");
	tu_spawn(&raw, rawlock_main, r_lf);
	is_int(tu_answer(&raw), 0, "another process read-locks r's lock file with plain fcntl()");

	struct seen *dry = calloc(1, sizeof(*dry)), *real = calloc(1, sizeof(*real));
	int n = lockspace_prune(ls, LOCKSPACE_DRY_RUN, note, dry);
	ok(n >= 2, "a dry run counts the free files (%d)", n);
	is_int(dry->n, n, "the dry run called back once per file it would remove");
	ok(saw(dry, a_lf) && saw(dry, e_lf), "the dry run names the free and the empty lock file");
	ok(exists(a_lf) && exists(e_lf) && exists(d_lf), "the dry run removed nothing");
	diag("a dry run would remove %d files (the corrupt free one %s)", n,
	     saw(dry, d_lf) ? "included" : "not");

	int m = lockspace_prune(ls, 0, note, real);
	is_int(m, n, "prune removes as many files as the dry run counted");
	is_int(real->n, m, "prune called back once per removal");
	ok(!exists(a_lf), "the free lock file is gone");
	ok(!exists(e_lf), "the empty lock file is gone");
	ok(!saw(real, b_lf) && !saw(real, bs_lf) && !saw(real, c_lf) && !saw(real, r_lf),
	   "no held file was named");
	ok(exists(b_lf) && exists(bs_lf) && exists(c_lf) && exists(r_lf), "every held lock file stays");
	ok(exists(junk), "a file that is not named like a lock file stays");
	tu_sees(b_lf, F_WRLCK, getpid(), "b is still locked by us after prune");
	tu_sees(bs_lf, F_RDLCK, getpid(), "bs is still share-locked by us after prune");
	tu_sees(c_lf, F_RDLCK, child.pid, "c is still locked by the child");
	tu_sees(r_lf, F_RDLCK, raw.pid, "r is still locked by the plain fcntl() holder");
	is_int(lockspace_acquire(ls, c, LOCKSPACE_SHARED), 0,
	       "c's lock file is the one the child holds: we share it");
	lockspace_release(ls, c, 0);
	is_int(lockspace_prune(ls, 0, NULL, NULL), 0, "a second prune finds nothing more to remove");

	is_int(lockspace_acquire(ls, a, 0), 0, "a pruned resource can be taken again");
	tu_sees(a_lf, F_WRLCK, getpid(), "on a new lock file");
	lockspace_release(ls, a, 0);
	tu_read_file(a_lf, buf, sizeof(buf));
	is_str(buf, a, "the new lock file holds the path");

	/* Once everyone lets go, all of them are free to prune. */
	tu_stop(&child);
	tu_stop(&raw);
	lockspace_release_all(ls);
	n = lockspace_prune(ls, 0, NULL, NULL);
	ok(n >= 5, "after the holders leave, prune removes a, b, bs, c and r (%d)", n);
	ok(!exists(b_lf) && !exists(c_lf) && !exists(r_lf), "their lock files are gone");
	ok(exists(junk), "the junk file still stays");

	struct lockspace *direct;
	if (lockspace_open(NULL, 0, &direct) == 0) {
		int rc = lockspace_prune(direct, 0, NULL, NULL);
		ok(rc <= 0, "prune in direct mode removes nothing (%d)", rc);
		lockspace_close(direct);
	}
	free(dry);
	free(real);
	lockspace_close(ls);
}

TU_MAIN(test_prune)
