/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_stale.c: a handle whose directory became a sanlock lockspace refuses; prune judges each file alone. */
#include "testlib.h"

static char dir[PATH_MAX];

struct kept {
	int removed, n;
	char paths[8][PATH_MAX];
	int errs[8];
};

static void note(const char *what, int err, void *arg)
{
	struct kept *k = arg;
	if (!err) {
		k->removed++;
		return;
	}
	if (k->n < 8) {
		snprintf(k->paths[k->n], PATH_MAX, "%s", what);
		k->errs[k->n] = err;
	}
	k->n++;
}

static int count_one(const struct lockspace_info *info, void *arg)
{
	(void)info;
	++*(int *)arg;
	return 0;
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* Prune past files it cannot judge; a handle whose lockspace became sanlock. */
static void test_stale(void)
{
	struct lockspace *ls;
	char a_lf[PATH_MAX], b_lf[PATH_MAX], backend[PATH_MAX], link_lf[PATH_MAX], dir_lf[PATH_MAX];
	char name[LOCKSPACE_NAME_LEN + 1], path[PATH_MAX];

	tu_lockspace_dir(dir);

	/* prune: one file it cannot judge never stops the others. */
	is_int(lockspace_open(dir, 0, &ls), 0, "open an fcntl lockspace");
	is_int(lockspace_acquire(ls, "free", LOCKSPACE_LITERAL), 0, "acquire a resource");
	is_int(lockspace_release(ls, "free", LOCKSPACE_LITERAL), 0, "and let it go: its lock file is free");
	lockspace_name("free", LOCKSPACE_LITERAL, name);
	tu_join(a_lf, dir, name);
	lockspace_name("link", LOCKSPACE_LITERAL, name);
	tu_symlink("/etc/passwd", tu_join(link_lf, dir, name));
	lockspace_name("dir", LOCKSPACE_LITERAL, name);
	mkdir(tu_join(dir_lf, dir, name), 0700);
	struct kept k = {0};
	is_int(lockspace_prune_files(ls, 0, note, &k), 1, "prune removes the free lock file");
	is_int(k.removed, 1, "and says so");
	ok(!exists(a_lf), "its lock file is gone");
	is_int(k.n, 2, "the link and the directory are reported as kept");
	for (int i = 0; i < k.n && i < 2; i++) {
		int is_link = strcmp(k.paths[i], link_lf) == 0;
		ok(is_link || strcmp(k.paths[i], dir_lf) == 0, "kept: %s", k.paths[i]);
		is_int(k.errs[i], is_link ? -ELOOP : -EBADMSG, "with why");
	}
	ok(exists(link_lf) && exists(dir_lf), "both are still there");
	is_int(lockspace_prune(ls, 0, NULL, NULL), 0,
	       "lockspace_prune skips them: nothing to remove, no error");
	rmdir(dir_lf);
	unlink(link_lf);

	/* The directory becomes a sanlock lockspace after the handle opened it. */
	is_int(lockspace_acquire(ls, "held", LOCKSPACE_LITERAL), 0, "hold a resource through the handle");
	lockspace_name("new", LOCKSPACE_LITERAL, name);
	tu_join(b_lf, dir, name);
	tu_write_file(tu_join(backend, dir, ".backend"), "sanlock\nvirlock-test\n", 21);
	is_int(lockspace_acquire(ls, "new", LOCKSPACE_LITERAL), -ESTALE, "a new resource: -ESTALE");
	ok(!exists(b_lf), "and no lock file is left behind");
	is_str(lockspace_strerror(-ESTALE),
	       "the lockspace became a sanlock lockspace after it was opened; open it again", "explained");
	is_int(lockspace_acquire(ls, "new", LOCKSPACE_LITERAL | LOCKSPACE_SHARED), -ESTALE,
	       "shared: -ESTALE too");
	ok(!exists(b_lf), "no lock file either");
	/* A lease file (1 MiB, not a lock file's content) met by the old handle. */
	lockspace_name("lease", LOCKSPACE_LITERAL, name);
	tu_join(path, dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ok(fd >= 0 && ftruncate(fd, 1 << 20) == 0 && pwrite(fd, "\x10\x20\x15\x06", 4, 0) == 4,
	   "a lease file (1 MiB)");
	if (fd >= 0)
		close(fd);
	is_int(lockspace_acquire(ls, "lease", LOCKSPACE_LITERAL), -ESTALE,
	       "a lease file: -ESTALE, not corrupt");
	is_int(lockspace_prune(ls, 0, NULL, NULL), -ESTALE,
	       "prune refuses: lease holders show no fcntl lock");
	int seen = 0;
	is_int(lockspace_foreach(ls, LOCKSPACE_ALL, count_one, &seen), -ESTALE, "so does foreach");
	is_int(lockspace_inspect(ls, "lease", LOCKSPACE_LITERAL, count_one, &seen), -ESTALE, "and inspect");
	is_int(seen, 0, "having reported nothing");
	ok(exists(path), "the lease file stays");
	is_int(lockspace_release(ls, "held", LOCKSPACE_LITERAL), 0, "what it holds it can still release");
	lockspace_close(ls);
	unlink(backend);
	unlink(path);

	/* Back to fcntl: a handle opened now acquires as before. */
	is_int(lockspace_open(dir, 0, &ls), 0, "open again");
	is_int(lockspace_acquire(ls, "new", LOCKSPACE_LITERAL), 0, "acquire makes its lock file");
	ok(exists(b_lf), "which is there");
	lockspace_close(ls);
}

TU_MAIN(test_stale)
