/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_cluster.c: a lock holder on another host of a cluster filesystem, as F_GETLK's l_pid tells. */
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
	is_int(lsi_holder_remote(0, NFS), 1, "NFSv4: l_pid 0 is another host");
	is_int(lsi_holder_remote(-1, NFS), 1, "l_pid -1 on NFS is another host");
	is_int(lsi_holder_remote(-4242, NFS), 1, "NFSv3: the other host's owner negated is another host");
	is_int(lsi_holder_remote(-4242, GFS2), 1, "GFS2: another node's pid negated is another host");
	is_int(lsi_holder_remote(-4242, CEPH), 1, "CephFS: a negated pid is another host");
	if (lsi_ocfs2_shares())
		is_int(lsi_holder_remote(0, OCFS2), 1, "OCFS2 on a userspace stack: l_pid 0 is another host");
	else
		is_int(lsi_holder_remote(0, OCFS2), -1, "OCFS2 on o2cb: l_pid 0 is unknown, not remote");
	is_int(lsi_holder_remote(NO_SUCH_PID, NFS), 1, "a pid of no process here is another host's");
	is_int(lsi_holder_remote(self, NFS), 0, "a live process here is this host's");
	is_int(lsi_holder_remote(1, GFS2), 0, "a live process of another user is this host's too");
	/* On a host-local filesystem the kernel's pid is this host's, or unknown. */
	is_int(lsi_holder_remote(self, EXT4), 0, "ext4: a live pid is this host's");
	is_int(lsi_holder_remote(NO_SUCH_PID, EXT4), 0,
	       "ext4: a positive pid is never taken for another host");
	is_int(lsi_holder_remote(0, EXT4), -1,
	       "ext4: l_pid 0 (another pid namespace) is unknown, not remote");
	is_int(lsi_holder_remote(-1, TMPFS), -1, "tmpfs: l_pid -1 (an OFD lock) is unknown, not remote");
	is_int(lsi_holder_remote(0, FUSE), -1, "FUSE: l_pid 0 is unknown, not remote");
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
	ok(lsi_holder_remote(getpid(), (long)sf.f_type) == 0, "this process is on this host");
}

TU_MAIN(test_filesystems, test_remote, test_local_probe)
