/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_cluster.c: a lock holder on another host of a cluster filesystem, as F_GETLK's l_pid tells. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "internal.h"
#include "testlib.h"

#define EXT4  0xef53L
#define TMPFS 0x01021994L
#define NFS   0x6969L
#define GFS2  0x01161970L
#define OCFS2 0x7461636fL
#define CEPH  0x00c36400L
#define FUSE  0x65735546L

/* Above any pid_max: no process has it. */
#define NO_SUCH_PID ((pid_t)0x3fffffff)

/* lsi_holder_remote() of @pid, of no file known. */
static int remote(pid_t pid, long f_type)
{
	return lsi_holder_remote(&pid, f_type, NULL);
}

static void test_filesystems(void)
{
	ok(lsi_fs_cluster(NFS) && lsi_fs_cluster(GFS2) && lsi_fs_cluster(CEPH),
	   "NFS, GFS2 and CephFS share their locks between hosts");
	is_int(lsi_fs_cluster(OCFS2), lsi_ocfs2_shares(), "OCFS2 does as this host's cluster stack does");
	ok(lsi_ocfs2_stack_shares("pcmk\n") && lsi_ocfs2_stack_shares("cman"),
	   "OCFS2's userspace stacks share fcntl locks");
	ok(!lsi_ocfs2_stack_shares("o2cb\n") && !lsi_ocfs2_stack_shares("o2cb") &&
		   !lsi_ocfs2_stack_shares("") && !lsi_ocfs2_stack_shares(NULL),
	   "o2cb does not, nor an unknown stack");
	ok(!lsi_fs_cluster(EXT4) && !lsi_fs_cluster(TMPFS) && !lsi_fs_cluster(0),
	   "ext4, tmpfs and an unknown type do not");
	ok(!lsi_fs_cluster(FUSE), "FUSE is not taken for a cluster filesystem");
}

static void test_remote(void)
{
	pid_t self = getpid();
	/* On a cluster filesystem. */
	is_int(remote(0, NFS), 1, "NFSv4: l_pid 0 is another host");
	is_int(remote(-1, NFS), 1, "l_pid -1 on NFS is another host");
	is_int(remote(-4242, NFS), 1, "NFSv3: the other host's owner negated is another host");
	is_int(remote(-4242, GFS2), 1, "GFS2: another node's pid negated is another host");
	is_int(remote(-4242, CEPH), 1, "CephFS: a negated pid is another host");
	if (lsi_ocfs2_shares())
		is_int(remote(0, OCFS2), 1, "OCFS2 on a userspace stack: l_pid 0 is another host");
	else
		is_int(remote(0, OCFS2), -1, "OCFS2 on o2cb: l_pid 0 is unknown, not remote");
	is_int(remote(NO_SUCH_PID, NFS), 1, "a pid of no process here is another host's");
	is_int(remote(self, NFS), 0, "a live process here is this host's");
	is_int(remote(1, GFS2), 0, "a live process of another user is this host's too");
	/* On a host-local filesystem the kernel's pid is this host's, or unknown. */
	is_int(remote(self, EXT4), 0, "ext4: a live pid is this host's");
	is_int(remote(NO_SUCH_PID, EXT4), 0, "ext4: a positive pid is never taken for another host");
	is_int(remote(0, EXT4), -1, "ext4: l_pid 0 (another pid namespace) is unknown, not remote");
	is_int(remote(-1, TMPFS), -1, "tmpfs: l_pid -1 (an OFD lock) is unknown, not remote");
	is_int(remote(0, FUSE), -1, "FUSE: l_pid 0 is unknown, not remote");
}

/* CephFS negates the pid of every holder, this host's too: a negated pid of
 * a live process here that has the file open is that process. */
static void test_ceph_local(void)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/ceph-lock", tu_scratch_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	struct stat st, other;
	ok(fd >= 0 && fstat(fd, &st) == 0, "a file this process has open");
	pid_t pid = -getpid();
	is_int(lsi_holder_remote(&pid, CEPH, &st), 0, "CephFS: this process, negated, is on this host");
	is_int(pid, getpid(), "and named by its own pid");
	pid = -1;
	is_int(lsi_holder_remote(&pid, CEPH, &st), 1, "CephFS: -1 (pid 1 has not the file open) is remote");
	is_int(pid, -1, "its pid left as it was");
	ok(stat(tu_scratch_dir, &other) == 0, "a file this process has not open");
	pid = -getpid();
	is_int(lsi_holder_remote(&pid, CEPH, &other), 1,
	       "CephFS: a holder that has not the file open is remote");
	pid = -getpid();
	is_int(lsi_holder_remote(&pid, CEPH, NULL), 1, "CephFS: of no file known, remote");
	pid = -getpid();
	is_int(lsi_holder_remote(&pid, NFS, &st), 1, "NFS: a negated pid is another host's, even ours");
	pid = -getpid();
	is_int(lsi_holder_remote(&pid, GFS2, &st), 1, "GFS2: the same");
	is_int(pid, -getpid(), "its pid left as it was");
	if (fd >= 0)
		close(fd);
	unlink(path);
}

/* The lockspace of the unit tests is on a host-local filesystem here: a
 * holder's pid is its own, as the probe reports it. */
static void test_local_probe(void)
{
	struct statfs sf;
	ok(statfs(tu_scratch_dir, &sf) == 0, "statfs of the scratch directory");
	if (lsi_fs_cluster((long)sf.f_type)) {
		skip("the scratch directory is on a cluster filesystem");
		return;
	}
	ok(remote(getpid(), (long)sf.f_type) == 0, "this process is on this host");
}

TU_MAIN(test_filesystems, test_remote, test_ceph_local, test_local_probe)
