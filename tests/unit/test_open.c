/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_open.c: opening lockspaces: creation, modes, refusals, symlinks, direct mode, default directory. */
#include <pwd.h>

#include "testlib.h"

/* Open dir; on failure check that *out was set to NULL. */
static int try_open(const char *dir, unsigned flags, struct lockspace **out)
{
	*out = (struct lockspace *)(uintptr_t)1;
	int rc = lockspace_open(dir, flags, out);
	if (rc < 0 && *out != NULL) {
		ok(0, "lockspace_open(%s) failed (%d) but left *out non-NULL", dir, rc);
		*out = NULL;
	}
	return rc;
}

static int mode_of(const char *path)
{
	struct stat st;
	return lstat(path, &st) < 0 ? -errno : (int)(st.st_mode & 07777);
}

static void test_create(void)
{
	char dir[PATH_MAX], parent[PATH_MAX], p[PATH_MAX];
	struct lockspace *ls;

	tu_join(dir, tu_scratch_dir, "new");
	is_int(try_open(dir, 0, &ls), 0, "missing directory is created");
	is_int(mode_of(dir), 0700, "created lockspace has mode 0700 (umask 022)");
	is_str(lockspace_dir(ls), dir, "lockspace_dir() is the canonical directory");
	lockspace_close(ls);

	is_int(try_open(dir, LOCKSPACE_OPEN_NOCREATE, &ls), 0, "existing directory opens with NOCREATE");
	lockspace_close(ls);

	mode_t old = umask(0);
	tu_join(dir, tu_scratch_dir, "new-umask0");
	is_int(try_open(dir, 0, &ls), 0, "created with umask 0");
	is_int(mode_of(dir), 0700, "created lockspace has mode 0700 whatever the umask");
	lockspace_close(ls);
	umask(old);

	tu_join(dir, tu_scratch_dir, "nocreate");
	is_int(try_open(dir, LOCKSPACE_OPEN_NOCREATE, &ls), -ENOENT,
	       "missing directory with NOCREATE: -ENOENT");
	is_int(mode_of(dir), -ENOENT, "NOCREATE created nothing");

	tu_join(parent, tu_scratch_dir, "a");
	tu_join(p, parent, "b");
	tu_join(dir, p, "ls");
	is_int(try_open(dir, 0, &ls), -ENOENT, "missing parent without PARENTS: -ENOENT");
	is_int(mode_of(parent), -ENOENT, "no parent was created without PARENTS");
	is_int(try_open(dir, LOCKSPACE_OPEN_PARENTS, &ls), 0, "missing parents with PARENTS: created");
	is_int(mode_of(dir), 0700, "lockspace made with PARENTS has mode 0700");
	is_int(mode_of(parent), 0755, "parents made with PARENTS have mode 0755");
	is_int(mode_of(p), 0755, "every missing parent is made");
	is_str(lockspace_dir(ls), dir, "lockspace_dir() after PARENTS");
	lockspace_close(ls);

	tu_join(dir, tu_scratch_dir, "trailing");
	snprintf(p, sizeof(p), "%.4000s/", dir);
	is_int(try_open(p, 0, &ls), 0, "a trailing slash is accepted");
	is_str(lockspace_dir(ls), dir, "lockspace_dir() has no trailing slash");
	lockspace_close(ls);
}

static void test_refusals(void)
{
	char dir[PATH_MAX], p[PATH_MAX];
	struct lockspace *ls;

	tu_join(p, tu_scratch_dir, "plainfile");
	tu_touch(p);
	is_int(try_open(p, 0, &ls), -ENOTDIR, "a regular file: -ENOTDIR");
	is_int(try_open(p, LOCKSPACE_OPEN_NOCREATE, &ls), -ENOTDIR, "a regular file with NOCREATE: -ENOTDIR");

	tu_join(dir, tu_scratch_dir, "worldw");
	mkdir(dir, 0700);
	chmod(dir, 0777);
	is_int(try_open(dir, 0, &ls), -EPERM, "world-writable without the sticky bit: -EPERM");
	chmod(dir, 0703);
	is_int(try_open(dir, 0, &ls), -EPERM, "other-writable (0703) without the sticky bit: -EPERM");
	chmod(dir, 01777);
	is_int(try_open(dir, 0, &ls), -EPERM, "world-writable with the sticky bit (as /tmp): -EPERM too");
	chmod(dir, 01703);
	is_int(try_open(dir, 0, &ls), -EPERM, "other-writable with the sticky bit (1703): -EPERM");
	chmod(dir, 01700);
	is_int(try_open(dir, 0, &ls), 0, "private with the sticky bit is accepted");
	lockspace_close(ls);

	/* Group-writable needs the setgid bit: refused before anything is made. */
	chmod(dir, 0770);
	is_int(try_open(dir, 0, &ls), -EPERM, "group-writable without the setgid bit: -EPERM");
	chmod(dir, 0730);
	is_int(try_open(dir, 0, &ls), -EPERM, "group-writable (0730) without the setgid bit: -EPERM");
	chmod(dir, 02770);
	is_int(try_open(dir, 0, &ls), 0, "group-writable and setgid is a group lockspace");
	is_int(lockspace_set_owner(ls, "g1", 0), 0, "it takes a record");
	lockspace_close(ls);
	/* A .holders that does not fit it (one member's, 0700) is refused at open. */
	char h[PATH_MAX];
	tu_join(h, dir, ".holders");
	struct stat st;
	is_int(stat(h, &st) == 0 && (st.st_mode & 07777) == 02770, 1,
	       ".holders is 2770 in a group lockspace");
	chmod(h, 0700);
	is_int(try_open(dir, 0, &ls), -EPERM, "a group lockspace whose .holders is 0700: -EPERM");
	chmod(h, 02770);
	is_int(try_open(dir, 0, &ls), 0, "and accepted once it is 2770 again");
	lockspace_close(ls);
	chmod(h, 0777);
	chmod(dir, 0700);
	is_int(try_open(dir, 0, &ls), -EPERM, "a private lockspace whose .holders is world-writable: -EPERM");
	chmod(h, 0700);
	is_int(try_open(dir, 0, &ls), 0, "and accepted once it is 0700");
	lockspace_close(ls);

	/* A world-writable lockspace reached through a symlink is refused as well. */
	chmod(dir, 0777);
	tu_join(p, tu_scratch_dir, "worldw-link");
	tu_symlink(dir, p);
	is_int(try_open(p, 0, &ls), -EPERM, "world-writable through a symlink: -EPERM");
	chmod(dir, 0700);

	tu_join(dir, tu_scratch_dir, "foreign");
	mkdir(dir, 0700);
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("nobody");
		uid_t uid = pw ? pw->pw_uid : 65534;
		gid_t gid = pw ? pw->pw_gid : 65534;
		is_int(chown(dir, uid, gid), 0, "chown the lockspace to nobody");
		is_int(try_open(dir, 0, &ls), -EPERM, "owned by another non-root user: -EPERM");
		is_int(try_open(dir, LOCKSPACE_OPEN_NOCREATE, &ls), -EPERM,
		       "owned by another non-root user, NOCREATE: -EPERM");
	} else {
		skip("needs root to chown a directory to another user");
		skip("needs root to chown a directory to another user");
		skip("needs root to chown a directory to another user");
	}
}

static void test_symlinks(void)
{
	char dir[PATH_MAX], lnk[PATH_MAX], p[PATH_MAX];
	struct lockspace *ls;

	tu_join(dir, tu_scratch_dir, "real");
	mkdir(dir, 0700);
	tu_join(lnk, tu_scratch_dir, "alias");
	tu_symlink("real", lnk);
	is_int(try_open(lnk, 0, &ls), 0, "a symlink to a directory is accepted");
	is_str(lockspace_dir(ls), dir, "lockspace_dir() gives the resolved directory");
	lockspace_close(ls);

	snprintf(p, sizeof(p), "%.4000s/../real/.", dir);
	is_int(try_open(p, 0, &ls), 0, "dir/../dir/. is accepted");
	is_str(lockspace_dir(ls), dir, "lockspace_dir() of dir/../dir/. is canonical");
	lockspace_close(ls);

	/* A dangling symlink: the directory it names does not exist. */
	tu_join(lnk, tu_scratch_dir, "dangling");
	tu_symlink("nowhere", lnk);
	is_int(try_open(lnk, LOCKSPACE_OPEN_NOCREATE, &ls), -ENOENT,
	       "dangling symlink with NOCREATE: -ENOENT");
	lockspace_close(ls);

	/* A symlink to a regular file is not a directory. */
	tu_join(p, tu_scratch_dir, "plainfile2");
	tu_touch(p);
	tu_join(lnk, tu_scratch_dir, "filelink");
	tu_symlink(p, lnk);
	is_int(try_open(lnk, 0, &ls), -ENOTDIR, "symlink to a regular file: -ENOTDIR");
}

static void test_direct_and_misc(void)
{
	struct lockspace *ls, *ls2;

	is_int(try_open(NULL, 0, &ls), 0, "direct mode opens");
	ok(ls && lockspace_dir(ls) == NULL, "lockspace_dir() is NULL in direct mode");
	lockspace_close(ls);
	lockspace_close(NULL);
	ok(1, "lockspace_close(NULL) is harmless");

	char dir[PATH_MAX];
	tu_join(dir, tu_scratch_dir, "twice");
	is_int(try_open(dir, 0, &ls), 0, "first handle on a lockspace");
	is_int(try_open(dir, 0, &ls2), 0, "second handle on the same lockspace");
	lockspace_close(ls2);
	lockspace_close(ls);
}

/* Run as nobody: open a root-owned 0755 lockspace and try to lock in it. */
static int as_nobody_open(void *arg)
{
	struct passwd *pw = getpwnam("nobody");
	struct lockspace *ls = NULL;
	const char *dir = arg;

	if (setgid(pw ? pw->pw_gid : 65534) < 0 || setuid(pw ? pw->pw_uid : 65534) < 0)
		return 1000;
	int rc = lockspace_open(dir, LOCKSPACE_OPEN_NOCREATE, &ls);
	if (rc < 0)
		return rc - 2000;
	rc = lockspace_acquire(ls, "some lease", LOCKSPACE_LITERAL);
	lockspace_close(ls);
	return rc;
}

static void test_root_owned_as_user(void)
{
	char dir[PATH_MAX];

	if (geteuid() != 0) {
		skip("needs root to switch to another user");
		skip("needs root to switch to another user");
		return;
	}
	tu_join(dir, tu_scratch_dir, "rootowned");
	mkdir(dir, 0755);
	chmod(tu_scratch_dir, 0755);
	int rc = tu_run(as_nobody_open, dir, TU_DEADLINE_MS);
	chmod(tu_scratch_dir, 0700);
	ok(rc > -2000 || rc < -3000, "a user may open a root-owned lockspace (got %d)", rc + 2000);
	is_int(rc, -EACCES, "a user cannot lock in a root-owned 0755 lockspace: -EACCES");
}

struct dd_case {
	const char *env, *xdg;
	int unset_env, unset_xdg;
	int as_nobody; /* when root: take the non-root branches as nobody */
};

/* lockspace_default_dir() under a given environment, answer sent back as a string. */
static int default_dir_in_child(int rd, int wr, void *arg)
{
	const struct dd_case *c = arg;
	char *out = NULL;
	(void)rd;

	if (c->unset_env)
		unsetenv("VIRLOCK_LOCKSPACE");
	else
		setenv("VIRLOCK_LOCKSPACE", c->env, 1);
	if (c->unset_xdg)
		unsetenv("XDG_RUNTIME_DIR");
	else
		setenv("XDG_RUNTIME_DIR", c->xdg, 1);
	if (geteuid() == 0 && c->as_nobody) {
		/* The non-root branches: become nobody. */
		struct passwd *pw = getpwnam("nobody");
		if (setgid(pw ? pw->pw_gid : 65534) < 0 || setuid(pw ? pw->pw_uid : 65534) < 0)
			return 1;
	}
	int rc = lockspace_default_dir(&out);
	if (rc < 0)
		return tu_send_buf(wr, "(error)", 7) ? 2 : 0;
	tu_send_buf(wr, out, (int)strlen(out));
	free(out);
	return 0;
}

static void default_dir(const struct dd_case *c, char *buf, size_t size)
{
	struct tu_child ch;
	int len = 0;

	buf[0] = '\0';
	if (tu_spawn(&ch, default_dir_in_child, (void *)(uintptr_t)c) < 0)
		return;
	if (tu_recv(ch.from, &len, TU_DEADLINE_MS) == 0 && len >= 0 && (size_t)len < size) {
		ssize_t n = read(ch.from, buf, (size_t)len);
		buf[n > 0 ? n : 0] = '\0';
	}
	tu_reap(&ch);
}

static void test_default_dir(void)
{
	char got[PATH_MAX], want[PATH_MAX];
	char *out = NULL;

	/* $VIRLOCK_LOCKSPACE is virlock's choice (tests/e2e), not the library's. */
	struct dd_case env = {"/srv/locks", "/run/user/x", 0, 0, 1};
	default_dir(&env, got, sizeof(got));
	ok(strcmp(got, "/srv/locks") != 0 && got[0] == '/', "the library ignores $VIRLOCK_LOCKSPACE (got %s)",
	   got);

	if (geteuid() == 0) {
		struct dd_case root = {NULL, NULL, 1, 1, 0};
		default_dir(&root, got, sizeof(got));
		is_str(got, "/var/lib/virlock/lockspace", "root's default is /var/lib/virlock/lockspace");
		struct dd_case empty = {"", NULL, 0, 1, 0};
		default_dir(&empty, got, sizeof(got));
		is_str(got, "/var/lib/virlock/lockspace", "an empty $VIRLOCK_LOCKSPACE is ignored");
		struct passwd *pw = getpwnam("nobody");
		struct dd_case xdg = {NULL, "/run/user/65534", 1, 0, 1};
		default_dir(&xdg, got, sizeof(got));
		is_str(got, "/run/user/65534/virlock", "a user's default is $XDG_RUNTIME_DIR/virlock");
		struct dd_case noxdg = {NULL, NULL, 1, 1, 1};
		default_dir(&noxdg, got, sizeof(got));
		snprintf(want, sizeof(want), "/tmp/virlock-%u", (unsigned)(pw ? pw->pw_uid : 65534));
		is_str(got, want, "a user's default without $XDG_RUNTIME_DIR is /tmp/virlock-$UID");
	} else {
		struct dd_case xdg = {NULL, "/run/user/x", 1, 0, 0};
		default_dir(&xdg, got, sizeof(got));
		is_str(got, "/run/user/x/virlock", "a user's default is $XDG_RUNTIME_DIR/virlock");
		struct dd_case noxdg = {NULL, NULL, 1, 1, 0};
		default_dir(&noxdg, got, sizeof(got));
		snprintf(want, sizeof(want), "/tmp/virlock-%u", (unsigned)getuid());
		is_str(got, want, "a user's default without $XDG_RUNTIME_DIR is /tmp/virlock-$UID");
		skip("root's default needs root");
		skip("root's default needs root");
	}
	is_int(lockspace_default_dir(&out), 0, "lockspace_default_dir() succeeds here");
	ok(out && out[0] == '/', "the default directory is absolute");
	free(out);
}

TU_MAIN(test_create, test_refusals, test_symlinks, test_direct_and_misc, test_root_owned_as_user,
	test_default_dir)
