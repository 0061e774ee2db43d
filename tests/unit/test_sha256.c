/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_sha256.c: SHA-256 names of the path as spelled, as libvirt's virtlockd names its lock files. */
#include "testlib.h"

/* FIPS 180-2 example. */
static void test_vectors(void)
{
	char out[LOCKSPACE_NAME_LEN + 1];
	is_int(lockspace_name("abc", LOCKSPACE_LITERAL | LOCKSPACE_SHA256, out), 0,
	       "literal \"abc\" by SHA-256");
	is_str(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	       "\"abc\" hashes to the FIPS 180-2 SHA-256");
	ok(lockspace_valid_name(out), "64 hex digits are a name");
	is_int(lockspace_name("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
			      LOCKSPACE_BYNAME, out),
	       0, "BYNAME accepts 64 digits");
	is_str(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	       "and lowercases them");
	ok(!lockspace_valid_name("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a"),
	   "63 digits are not a name");
	ok(!lockspace_valid_name("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0"),
	   "65 digits are not a name");
	ok(!lockspace_valid_name("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f2001"),
	   "48 digits are not a name");
}

/* The path as spelled: absolute, symbolic links not resolved, as sha256sum(1) of it. */
static void test_paths(void)
{
	char dir[PATH_MAX], img[PATH_MAX], lnk[PATH_MAX], want[65], got[LOCKSPACE_NAME_LEN + 1], md5[65];
	char *canon = NULL;
	tu_join(dir, tu_scratch_dir, "images");
	mkdir(dir, 0755);
	tu_join(img, dir, "vm1.qcow2");
	tu_touch(img);
	tu_join(lnk, tu_scratch_dir, "vm1-link.qcow2");
	tu_symlink(img, lnk);

	is_int(tu_sha256sum(tu_scratch_dir, img, strlen(img), want), 0, "sha256sum(1) ran");
	is_int(lockspace_name(img, LOCKSPACE_SHA256, got), 0, "an image path by SHA-256");
	is_str(got, want, "the name is sha256sum of the path");
	is_int(tu_md5sum(tu_scratch_dir, img, strlen(img), md5), 0, "md5sum(1) ran");
	is_int(lockspace_name(img, 0, got), 0, "the same path by MD5");
	is_str(got, md5, "without the flag the name is still the MD5");

	tu_sha256sum(tu_scratch_dir, lnk, strlen(lnk), want);
	is_int(lockspace_name(lnk, LOCKSPACE_SHA256, got), 0, "a symbolic link by SHA-256");
	is_str(got, want, "a symbolic link is not resolved");
	is_int(lockspace_canonical(lnk, LOCKSPACE_SHA256, &canon), 0, "its canonical form");
	is_str(canon, lnk, "is the link's path as spelled");
	free(canon);

	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof(cwd)) && chdir(dir) == 0) {
		tu_sha256sum(tu_scratch_dir, img, strlen(img), want);
		is_int(lockspace_name("vm1.qcow2", LOCKSPACE_SHA256, got), 0, "a relative path by SHA-256");
		is_str(got, want, "is made absolute against the working directory");
		is_int(lockspace_name("./vm1.qcow2", LOCKSPACE_SHA256, got), 0, "./vm1.qcow2 by SHA-256");
		ok(strcmp(got, want) != 0, "is not normalised (libvirt does not either)");
		if (chdir(cwd) != 0)
			tu_bail("chdir back");
	}

	char missing[PATH_MAX];
	tu_join(missing, dir, "missing.qcow2");
	is_int(lockspace_name(missing, LOCKSPACE_SHA256, got), -ENOENT, "a missing path: -ENOENT");
	is_int(lockspace_name(missing, LOCKSPACE_SHA256 | LOCKSPACE_LOOKUP, got), 0, "with LOOKUP: named");
	tu_sha256sum(tu_scratch_dir, missing, strlen(missing), want);
	is_str(got, want, "as spelled");
}

/* A virtlockd-style holder: an empty lock file, a write lock on byte 0. */
static int holder_main(int rd, int wr, void *arg)
{
	int fd = open(arg, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	tu_send(wr, fd >= 0 && fcntl(fd, F_SETLK, &fl) == 0 ? 0 : -errno);
	tu_order(rd);
	return 0;
}

static void test_lockspace(void)
{
	struct lockspace *ls = NULL;
	struct tu_child c;
	char dir[PATH_MAX], img[PATH_MAX], other[PATH_MAX], name[LOCKSPACE_NAME_LEN + 1], lf[PATH_MAX * 2];
	char buf[PATH_MAX];
	tu_lockspace_dir(dir);
	tu_join(img, tu_scratch_dir, "disk.qcow2");
	tu_touch(img);
	tu_join(other, tu_scratch_dir, "other.qcow2");
	tu_touch(other);

	is_int(lockspace_open(dir, LOCKSPACE_OPEN_SHA256, &ls), 0, "open with LOCKSPACE_OPEN_SHA256");
	if (!ls)
		return;
	lockspace_name(other, LOCKSPACE_SHA256, name);
	snprintf(lf, sizeof(lf), "%s/%s", dir, name);
	is_int(lockspace_acquire(ls, other, 0), 0, "acquire names the lock file by SHA-256");
	ssize_t n = tu_read_file(lf, buf, sizeof(buf) - 1);
	ok(n == (ssize_t)strlen(other) && memcmp(buf, other, (size_t)n) == 0,
	   "the lock file holds the path as spelled");
	struct tu_infos *l = calloc(1, sizeof(*l));
	if (!l)
		tu_bail("calloc");
	is_int(lockspace_foreach(ls, 0, tu_collect, l), 0, "foreach");
	const struct tu_info *e = tu_find(l, name);
	ok(e && e->integrity == 0 && e->has_path && strcmp(e->path, other) == 0,
	   "foreach verifies it by SHA-256 and shows the path");
	lockspace_release(ls, other, 0);

	lockspace_name(img, LOCKSPACE_SHA256, name);
	snprintf(lf, sizeof(lf), "%s/%s", dir, name);
	tu_spawn(&c, holder_main, lf);
	is_int(tu_answer(&c), 0, "another process locks an empty file as virtlockd does");
	is_int(lockspace_acquire(ls, img, 0), -EBUSY, "acquire of that disk: -EBUSY");
	is_int(lockspace_acquire(ls, img, LOCKSPACE_SHARED), -EBUSY, "shared too: -EBUSY");
	memset(l, 0, sizeof(*l));
	is_int(lockspace_inspect(ls, img, 0, tu_collect, l), 0, "inspect the disk");
	e = tu_find(l, name);
	ok(e && e->integrity == -ENODATA && !e->has_path, "an empty lock file: no path, not corrupt");
	ok(e && e->state == LOCKSPACE_STATE_EXCLUSIVE && tu_holder_of(e, c.pid), "held by that process");
	memset(l, 0, sizeof(*l));
	is_int(lockspace_foreach(ls, 0, tu_collect, l), 0, "foreach");
	e = tu_find(l, name);
	ok(e && e->integrity == -ENODATA && tu_holder_of(e, c.pid), "foreach lists it with its holder");
	tu_stop(&c);
	is_int(lockspace_acquire(ls, img, 0), 0, "once it is gone, acquire succeeds");
	n = tu_read_file(lf, buf, sizeof(buf) - 1);
	ok(n == (ssize_t)strlen(img) && memcmp(buf, img, (size_t)n) == 0,
	   "and writes the path into the empty file");
	lockspace_close(ls);
	free(l);

	/* A holder record names the lock by its 64 digits, and is read back. */
	is_int(lockspace_open(dir, LOCKSPACE_OPEN_SHA256, &ls), 0, "another handle");
	is_int(lockspace_set_owner(ls, "vm1", 0), 0, "with an owner label");
	is_int(lockspace_acquire(ls, other, LOCKSPACE_SHARED), 0, "a shared acquire");
	l = calloc(1, sizeof(*l));
	if (!l)
		tu_bail("calloc");
	lockspace_name(other, LOCKSPACE_SHA256, name);
	is_int(lockspace_foreach(ls, 0, tu_collect, l), 0, "foreach");
	e = tu_find(l, name);
	const struct tu_holder *h = e ? tu_holder_of(e, getpid()) : NULL;
	ok(h && h->has_owner && strcmp(h->owner, "vm1") == 0, "the record's owner labels the holder");
	lockspace_close(ls);
	free(l);

	is_int(lockspace_open(dir, 1u << 30, &ls), -EINVAL, "an unknown open flag: -EINVAL");
	is_int(lockspace_canonical(img, LOCKSPACE_SHA256 | LOCKSPACE_SHARED, &(char *){NULL}), -EINVAL,
	       "lockspace_canonical() with SHARED: -EINVAL");
}

TU_MAIN(test_vectors, test_paths, test_lockspace)
