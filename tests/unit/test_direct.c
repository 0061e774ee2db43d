/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_direct.c: direct mode locks byte 0 of the resource itself, never creating or writing it. */
#include "testlib.h"

/* Another process takes a QEMU-style OFD lock on bytes 100-203 of the image. */
static int ofd_main(int rd, int wr, void *arg)
{
	int fd = open(arg, O_RDWR | O_CLOEXEC);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 104};
	tu_send(wr, fd >= 0 && fcntl(fd, F_OFD_SETLK, &fl) == 0 ? 0 : -errno);
	tu_order(rd);
	return 0;
}

/* Direct mode: the image itself is locked, and nothing of it is changed. */
static void test_direct_mode(void)
{
	struct lockspace *ls;
	struct tu_child c;
	struct tu_lk lk;
	struct stat before, after;
	char img[PATH_MAX], empty[PATH_MAX], lnk[PATH_MAX], missing[PATH_MAX], buf[256];
	static const char content[] = "QFI\xfb\0\0\0\3 not really a qcow2 image";

	tu_join(img, tu_scratch_dir, "vm.qcow2");
	tu_write_file(img, content, sizeof(content));
	tu_join(empty, tu_scratch_dir, "empty.img");
	tu_touch(empty);
	tu_join(lnk, tu_scratch_dir, "vm-link.qcow2");
	tu_symlink(img, lnk);
	tu_join(missing, tu_scratch_dir, "missing.img");

	/* An old mtime shows any write. */
	struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
	utimensat(AT_FDCWD, img, old, 0);
	utimensat(AT_FDCWD, empty, old, 0);
	stat(img, &before);

	if (lockspace_open(NULL, 0, &ls) < 0) {
		tu_bail("direct mode");
	}
	is_int(lockspace_acquire(ls, img, 0), 0, "direct mode: exclusive acquire of the image");
	is_int(tu_probe_range(img, 0, 1, &lk), 0, "another process probes the image");
	ok(lk.type == F_WRLCK && lk.pid == getpid() && lk.start == 0 && lk.len == 1,
	   "a write lock on byte 0 of the image by our pid (type %d pid %d start %lld len %lld)", lk.type,
	   (int)lk.pid, lk.start, lk.len);
	tu_probe_range(img, 100, 104, &lk);
	is_int(lk.type, F_UNLCK, "bytes 100-203 are free");
	tu_spawn(&c, ofd_main, img);
	is_int(tu_answer(&c), 0, "a QEMU-style OFD lock on bytes 100-203 coexists with ours");
	tu_stop(&c);
	is_int(tu_try_elsewhere(NULL, img, 0), -EBUSY, "another process in direct mode: -EBUSY");
	is_int(tu_try_elsewhere(NULL, lnk, LOCKSPACE_SHARED), -EBUSY,
	       "another process via a symlink, shared: -EBUSY");
	is_int(lockspace_acquire(ls, lnk, 0), -EBUSY, "this process via a symlink: -EBUSY");
	is_int(lockspace_release(ls, lnk, 0), 0, "release via the symlink");
	tu_sees(img, F_UNLCK, 0, "the image is free");

	is_int(lockspace_acquire(ls, img, LOCKSPACE_SHARED), 0, "direct mode: shared acquire");
	tu_sees(img, F_RDLCK, getpid(), "a read lock on the image");
	is_int(tu_try_elsewhere(NULL, img, LOCKSPACE_SHARED), 0, "another process shares it");
	lockspace_release(ls, img, 0);

	is_int(lockspace_acquire(ls, empty, 0), 0, "direct mode: an empty image is locked");
	lockspace_release(ls, empty, 0);
	ok(stat(empty, &after) == 0 && after.st_size == 0, "the empty image is not written to");
	ok(after.st_mtime == 1000000000, "the empty image's mtime is untouched");

	stat(img, &after);
	ok(after.st_size == before.st_size && after.st_mtime == before.st_mtime,
	   "the image's size and mtime are untouched");
	ok(tu_read_file(img, buf, sizeof(buf)) == (ssize_t)sizeof(content) &&
		   memcmp(buf, content, sizeof(content)) == 0,
	   "the image's bytes are untouched");

	is_int(lockspace_acquire(ls, missing, 0), -ENOENT, "direct mode: a missing image: -ENOENT");
	ok(access(missing, F_OK) < 0, "and it is not created");
	int rc = lockspace_acquire(ls, "some-lease", LOCKSPACE_LITERAL);
	ok(rc < 0, "direct mode: a literal is not a file to lock (%d)", rc);
	ok(access("some-lease", F_OK) < 0, "and nothing is created for it");
	rc = lockspace_acquire(ls, tu_scratch_dir, 0);
	ok(rc < 0, "direct mode: a directory is refused (%d)", rc);
	is_int(lockspace_release_all(ls), 0, "nothing left held");
	lockspace_close(ls);
}

TU_MAIN(test_direct_mode)
