/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cluster.c: whether the holder F_GETLK names is a process of another host of a cluster filesystem. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "internal.h"

/* statfs(2) f_type of the filesystems whose fcntl locks every host sees. */
#define LSI_NFS_MAGIC	0x6969
#define LSI_GFS2_MAGIC	0x01161970
#define LSI_OCFS2_MAGIC 0x7461636f
#define LSI_CEPH_MAGIC	0x00c36400

int lsi_ocfs2_shares(void)
{
	char stack[32] = "";
	FILE *f = fopen("/sys/fs/ocfs2/cluster_stack", "re");
	if (!f)
		return 0;
	int ok = fgets(stack, sizeof(stack), f) != NULL;
	fclose(f);
	return ok && lsi_ocfs2_stack_shares(stack);
}

int lsi_ocfs2_stack_shares(const char *stack)
{
	if (!stack)
		return 0;
	size_t n = strcspn(stack, "\n");
	return n && !(n == 4 && strncmp(stack, "o2cb", 4) == 0);
}

int lsi_fs_cluster(long f_type)
{
	switch (f_type) {
	case LSI_NFS_MAGIC:
	case LSI_GFS2_MAGIC:
	case LSI_CEPH_MAGIC:
		return 1;
	case LSI_OCFS2_MAGIC:
		/* The o2cb stack keeps fcntl locks on the node. */
		return lsi_ocfs2_shares();
	default:
		/* FUSE is left out: a FUSE filesystem may share its locks (glusterfs)
		 * or not, and it reports a holder it cannot name as pid 0, as a
		 * process outside this pid namespace shows. */
		return 0;
	}
}

/*
 * Linux reports a lock that another host holds with an l_pid of 0 or less
 * (fs/locks.c, locks_translate_pid(): "remote locks report a negative pid"):
 * NFSv4 gives 0 (a LOCKT denial carries no pid), NFSv3 the other host's
 * lock owner negated, GFS2 and OCFS2 (the DLM) the other node's pid negated,
 * CephFS the holder's pid negated. On a host-local filesystem 0 is a process
 * outside this pid namespace and -1 an open file description lock: not
 * another host. A positive pid of no process here (an older kernel's, or a
 * filesystem's own) is another host's too, on a cluster filesystem only.
 */
int lsi_holder_remote(pid_t pid, long f_type)
{
	if (!lsi_fs_cluster(f_type))
		return pid > 0 ? 0 : -1;
	if (pid <= 0)
		return 1;
	/* kill(pid, 0) says ESRCH for no such process whoever owns it, even
	 * where /proc hides other users' processes (hidepid). */
	return kill(pid, 0) < 0 && errno == ESRCH ? 1 : 0;
}
