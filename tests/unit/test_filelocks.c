/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_filelocks.c: locks on a resource file itself: the lock-line parser, QEMU's bytes, real holders. */
#include <sys/file.h>

#include "internal.h"
#include "testlib.h"

static void test_parse(void)
{
	struct lsi_lock_line l;
	ok(lsi_parse_lock_line("4: OFDLCK ADVISORY  READ -1 fe:00:10979606 100 101", &l),
	   "an OFD line parses");
	ok(l.type == LOCKSPACE_FILE_LOCK_OFD && l.mode == LOCKSPACE_STATE_SHARED && l.pid == -1,
	   "OFD: kind, shared, pid -1");
	ok(l.major == 0xfe && l.minor == 0 && l.ino == 10979606ULL, "OFD: device and inode");
	ok(l.start == 100 && l.end == 101 && !l.to_eof && !l.blocked, "OFD: bytes 100-101");

	ok(lsi_parse_lock_line("1: FLOCK  ADVISORY  WRITE 5232 08:01:77 0 EOF", &l), "a flock line parses");
	ok(l.type == LOCKSPACE_FILE_LOCK_FLOCK && l.mode == LOCKSPACE_STATE_EXCLUSIVE && l.pid == 5232 &&
		   l.to_eof && l.start == 0,
	   "flock: exclusive, pid, 0 to EOF");

	ok(lsi_parse_lock_line("12: -> POSIX  ADVISORY  WRITE 4242 fd:01:1234 0 0", &l),
	   "a waiter line parses");
	ok(l.type == LOCKSPACE_FILE_LOCK_POSIX && l.blocked && l.pid == 4242 && l.end == 0 && !l.to_eof,
	   "waiter: posix, blocked, byte 0");

	ok(!lsi_parse_lock_line("3: LEASE  ACTIVE    READ 77 08:01:5 0 EOF", &l), "a lease is not a lock");
	ok(!lsi_parse_lock_line("1: POSIX  ADVISORY  WRITE 1 08:01:5 9 3", &l),
	   "an end before the start: garbage");
	ok(!lsi_parse_lock_line("1: POSIX  ADVISORY  UNLCK 1 08:01:5 0 0", &l), "an unknown mode: garbage");
	ok(!lsi_parse_lock_line("1: POSIX  ADVISORY  WRITE 1 08:01:5 0", &l),
	   "a line without its end: garbage");
	ok(!lsi_parse_lock_line("no colon", &l), "no colon: garbage");
}

static void test_qemu(void)
{
	unsigned p, u;
	/* What qemu-system-x86_64 -drive file=disk.qcow2 holds: 100-101, 103, 201, 203. */
	ok(lockspace_qemu_decode(100, 101, 0, &p, &u) &&
		   p == (LOCKSPACE_QEMU_CONSISTENT_READ | LOCKSPACE_QEMU_WRITE) && u == 0,
	   "100-101: consistent-read and write held");
	ok(lockspace_qemu_decode(103, 103, 0, &p, &u) && p == LOCKSPACE_QEMU_RESIZE && u == 0,
	   "103: resize held");
	ok(lockspace_qemu_decode(201, 201, 0, &p, &u) && p == 0 && u == LOCKSPACE_QEMU_WRITE,
	   "201: write unshared");
	ok(lockspace_qemu_decode(202, 202, 0, &p, &u) && u == LOCKSPACE_QEMU_WRITE_UNCHANGED,
	   "202: write-unchanged unshared");
	ok(!lockspace_qemu_decode(0, 0, 1, &p, &u) && p == 0 && u == 0, "a whole-file lock is not QEMU's");
	ok(!lockspace_qemu_decode(100, 200, 0, &p, &u) && p == 0 && u == 0, "100-200 is not QEMU's");
	ok(lockspace_qemu_decode(100, 103, 0, &p, &u) && p == 0xf && u == 0, "100-103: all four held");
	ok(!lockspace_qemu_decode(0, 0, 0, &p, &u) && p == 0 && u == 0, "byte 0 (virtlockd's) is not QEMU's");
	ok(!lockspace_qemu_decode(105, 199, 0, &p, &u), "105-199: no permission of QEMU's");
	/* QEMU before 6.2 also locked graph-mod, 104 and 204; the kernel merges 103-104. */
	ok(lockspace_qemu_decode(103, 104, 0, &p, &u) && p == LOCKSPACE_QEMU_RESIZE && u == 0,
	   "103-104 (an old QEMU): resize held, graph-mod ignored");
	ok(lockspace_qemu_decode(100, 104, 0, &p, &u) && p == 0xf && u == 0, "100-104: all four held");
	ok(lockspace_qemu_decode(204, 204, 0, &p, &u) && p == 0 && u == 0,
	   "204 alone: QEMU's, no permission");
	ok(!lockspace_qemu_decode(104, 105, 0, &p, &u), "104-105: not QEMU's");
	ok(!lockspace_qemu_decode(205, 205, 0, NULL, NULL), "205: none, and NULL outputs are accepted");

	is_str(lockspace_qemu_perm_name(LOCKSPACE_QEMU_CONSISTENT_READ), "consistent-read", "word of bit 0");
	is_str(lockspace_qemu_perm_name(LOCKSPACE_QEMU_WRITE), "write", "word of bit 1");
	is_str(lockspace_qemu_perm_name(LOCKSPACE_QEMU_WRITE_UNCHANGED), "write-unchanged", "word of bit 2");
	is_str(lockspace_qemu_perm_name(LOCKSPACE_QEMU_RESIZE), "resize", "word of bit 3");
	ok(lockspace_qemu_perm_name(0) == NULL && lockspace_qemu_perm_name(3) == NULL &&
		   lockspace_qemu_perm_name(1u << 4) == NULL,
	   "no word for none, two bits, or bit 4");
}

static char image[PATH_MAX];

/* Child bodies: take locks on the image the way each program does, answer 0, wait. */
static int take_flock(int rd, int wr, void *arg)
{
	int fd = open(image, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || flock(fd, *(int *)arg | LOCK_NB) < 0)
		return 1;
	tu_send(wr, 0);
	tu_order(rd);
	return 0;
}

static int take_fcntl(int rd, int wr, void *arg)
{
	int cmd = *(int *)arg;
	int fd = open(image, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 1;
	if (cmd == F_OFD_SETLK) { /* QEMU's pattern: consistent-read, write held; write unshared */
		static const short bytes[][2] = {{100, 2}, {201, 1}};
		for (size_t i = 0; i < 2; i++) {
			struct flock fl = {.l_type = F_RDLCK,
					   .l_whence = SEEK_SET,
					   .l_start = bytes[i][0],
					   .l_len = bytes[i][1]};
			if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
				return 1;
		}
	} else {
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
		if (fcntl(fd, F_SETLK, &fl) < 0)
			return 1;
	}
	tu_send(wr, 0);
	tu_order(rd);
	return 0;
}

static const struct lockspace_file_lock *lock_of(const struct lockspace_file_locks *fl, pid_t pid)
{
	for (size_t i = 0; fl && i < fl->nlocks; i++)
		if (fl->locks[i].pid == pid)
			return &fl->locks[i];
	return NULL;
}

/* Start a child that takes locks with @fn(@how), scan the image: the child's entry. */
static const struct lockspace_file_lock *held_by(struct tu_child *c, tu_child_fn fn, int how,
						 struct lockspace_file_locks **fl, const char *what)
{
	tu_spawn(c, fn, &how);
	is_int(tu_answer(c), 0, "a child holds %s", what);
	is_int(lockspace_file_locks(image, 0, fl), 0, "%s is found", what);
	return lock_of(*fl, c->pid);
}

/* The same, asking with LOCKSPACE_FLOCK_PROBE. */
static const struct lockspace_file_lock *probed(struct tu_child *c, tu_child_fn fn, int how,
						struct lockspace_file_locks **fl, const char *what)
{
	tu_spawn(c, fn, &how);
	is_int(tu_answer(c), 0, "a child holds %s", what);
	is_int(lockspace_file_locks(image, LOCKSPACE_FLOCK_PROBE, fl), 0, "%s: asked with the flock probe",
	       what);
	return lock_of(*fl, c->pid);
}

/* Free the scan and stop the child. */
static void done(struct tu_child *c, struct lockspace_file_locks *fl)
{
	lockspace_file_locks_free(fl);
	tu_stop(c);
}

static void test_real(void)
{
	struct lockspace_file_locks *fl = NULL;
	tu_join(image, tu_scratch_dir, "disk.img");
	tu_touch(image);
	is_int(lockspace_file_locks(image, 1u << 8, &fl), -EINVAL, "unknown flags: -EINVAL");
	is_int(lockspace_file_locks(NULL, 0, &fl), -EINVAL, "no path: -EINVAL");
	is_int(lockspace_file_locks(image, 0, NULL), -EINVAL, "no result pointer: -EINVAL");
	is_int(lockspace_file_locks("/nonexistent/x", 0, &fl), -ENOENT, "no such file: -ENOENT");
	lockspace_file_locks_free(NULL);

	is_int(lockspace_file_locks(image, 0, &fl), 0, "a file nobody locks");
	ok(fl && fl->nlocks == 0 && !fl->incomplete, "no locks, and the answer is complete");
	lockspace_file_locks_free(fl);

	struct tu_child c;
	const struct lockspace_file_lock *l = held_by(&c, take_flock, LOCK_EX, &fl, "an exclusive flock");
	ok(l && l->type == LOCKSPACE_FILE_LOCK_FLOCK && l->mode == LOCKSPACE_STATE_EXCLUSIVE &&
		   l->nranges == 1 && l->ranges[0].start == 0 && l->ranges[0].to_eof && !l->qemu,
	   "flock: the child's pid, exclusive, 0 to EOF, not QEMU's");
	ok(l && l->command && strlen(l->command) > 0, "flock: the holder's command is known");
	done(&c, fl);

	l = held_by(&c, take_flock, LOCK_SH, &fl, "a shared flock");
	ok(l && l->type == LOCKSPACE_FILE_LOCK_FLOCK && l->mode == LOCKSPACE_STATE_SHARED, "flock: shared");
	done(&c, fl);

	l = held_by(&c, take_fcntl, F_OFD_SETLK, &fl, "QEMU's pattern of OFD locks");
	ok(l && l->type == LOCKSPACE_FILE_LOCK_OFD && l->mode == LOCKSPACE_STATE_SHARED && l->nranges == 2,
	   "ofd: one entry, shared, two ranges");
	ok(l && l->ranges[0].start == 100 && l->ranges[0].end == 101 && l->ranges[1].start == 201 &&
		   l->ranges[1].end == 201,
	   "ofd: the ranges in byte order");
	ok(l && l->qemu && l->qemu_perms == (LOCKSPACE_QEMU_CONSISTENT_READ | LOCKSPACE_QEMU_WRITE) &&
		   l->qemu_unshared == LOCKSPACE_QEMU_WRITE,
	   "ofd: decoded as holding consistent-read, write and not sharing write");
	done(&c, fl);

	l = held_by(&c, take_fcntl, F_SETLK, &fl, "a POSIX lock on byte 0");
	ok(l && l->type == LOCKSPACE_FILE_LOCK_POSIX && l->mode == LOCKSPACE_STATE_EXCLUSIVE &&
		   l->nranges == 1 && l->ranges[0].start == 0 && l->ranges[0].end == 0 &&
		   !l->ranges[0].to_eof,
	   "posix: exclusive, byte 0");
	ok(fl && fl->nlocks == 1, "only that holder");
	/* Even root may be refused a process (pid 1 of a sandbox). */
	ok(fl && fl->incomplete == (fl->unreadable > 0),
	   "incomplete exactly when a process could not be read");
	done(&c, fl);

	/* This process holds the file in direct mode: it is reported, never
	 * opened (a close would drop the lock). */
	struct lockspace *ls = NULL;
	is_int(lockspace_open(NULL, 0, &ls), 0, "a direct-mode handle");
	is_int(lockspace_acquire(ls, image, 0), 0, "this process locks the image in direct mode");
	is_int(lockspace_file_locks(image, 0, &fl), 0, "its own lock is found");
	l = lock_of(fl, getpid());
	ok(l && l->type == LOCKSPACE_FILE_LOCK_POSIX && l->mode == LOCKSPACE_STATE_EXCLUSIVE,
	   "this process: posix exclusive");
	lockspace_file_locks_free(fl);
	is_int(tu_try_elsewhere(NULL, image, 0), -EBUSY, "the lock is still held after the scan");
	/* Another process's locks beyond byte 0 are seen through our own descriptor. */
	l = probed(&c, take_fcntl, F_OFD_SETLK, &fl, "QEMU's pattern next to our direct-mode lock");
	ok(l && l->qemu && (l->qemu_perms & LOCKSPACE_QEMU_WRITE), "the QEMU-like child is found");
	done(&c, fl);
	is_int(tu_try_elsewhere(NULL, image, 0), -EBUSY, "our lock is still held after the probe and scan");
	lockspace_close(ls);
}

/* A POSIX lock the caller took on its own descriptor survives a look:
 * closing any other descriptor of the file would drop it. */
static void test_callers_lock(void)
{
	struct lockspace_file_locks *fl = NULL;
	tu_join(image, tu_scratch_dir, "own.img");
	tu_touch(image);
	int fd = open(image, O_RDWR | O_CLOEXEC);
	struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	ok(fd >= 0 && fcntl(fd, F_SETLK, &lk) == 0, "this process locks byte 0 through its own descriptor");
	is_int(lockspace_file_locks(image, 0, &fl), 0, "a look at the file");
	const struct lockspace_file_lock *l = lock_of(fl, getpid());
	ok(l && l->type == LOCKSPACE_FILE_LOCK_POSIX, "the caller's own lock is reported");
	lockspace_file_locks_free(fl);
	is_int(lockspace_file_locks(image, LOCKSPACE_FLOCK_PROBE, &fl), 0, "a look with the flock probe");
	lockspace_file_locks_free(fl);
	is_int(tu_try_elsewhere(NULL, image, 0), -EBUSY, "the caller's lock is still held after both");
	if (fd >= 0)
		close(fd);
}

/* LOCKSPACE_FLOCK_PROBE: an exclusive flock lock is found without /proc/locks; a shared one is not. */
static void test_flock_probe(void)
{
	struct lockspace_file_locks *fl = NULL;
	struct tu_child c;
	tu_join(image, tu_scratch_dir, "probe.img");
	tu_touch(image);
	const struct lockspace_file_lock *l = probed(&c, take_flock, LOCK_EX, &fl, "an exclusive flock");
	ok(l && l->type == LOCKSPACE_FILE_LOCK_FLOCK && l->mode == LOCKSPACE_STATE_EXCLUSIVE,
	   "the exclusive flock holder is found");
	done(&c, fl);
	l = probed(&c, take_flock, LOCK_SH, &fl, "a shared flock");
	ok(!l && fl && fl->nlocks == 0, "a shared flock alone is not looked for");
	done(&c, fl);
	/* The probe let go of its shared lock: an exclusive one is free to take. */
	int fd = open(image, O_RDONLY | O_CLOEXEC);
	ok(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0, "nothing of the probe is left on the file");
	if (fd >= 0)
		close(fd);
}

TU_MAIN(test_parse, test_qemu, test_real, test_callers_lock, test_flock_probe)
