/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cluster.c: whether the holder F_GETLK names is a process of another host of a cluster filesystem. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

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

/* Has the process @pid the file @file open? Its /proc/<pid>/fd links are
 * followed (another user's process, or a /proc mounted with hidepid, hides
 * them: then no). */
static int holds_open(pid_t pid, const struct stat *file)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return 0;
	}
	int found = 0;
	struct dirent *de;
	struct stat st;
	while (!found && (de = readdir(d)))
		found = de->d_name[0] != '.' && fstatat(dirfd(d), de->d_name, &st, 0) == 0 &&
			st.st_dev == file->st_dev && st.st_ino == file->st_ino;
	closedir(d);
	return found;
}

/*
 * Linux reports a lock that another host holds with an l_pid of 0 or less
 * (fs/locks.c, locks_translate_pid(): "remote locks report a negative pid"):
 * NFSv4 gives 0 (a LOCKT denial carries no pid), NFSv3 the other host's
 * lock owner negated, GFS2 and OCFS2 (the DLM) the other node's pid negated.
 * CephFS negates every holder's pid, this host's too (ceph_lock_message()
 * asks the MDS): a negated pid of a live process here that has the file
 * open is that process. (Elsewhere a negated pid is another host's, which
 * may be the number of a process here.) On a host-local filesystem 0 is a process outside
 * this pid namespace and -1 an open file description lock: not another
 * host. A positive pid of no process here (an older kernel's, or a
 * filesystem's own) is another host's too, on a cluster filesystem only.
 */
int lsi_holder_remote(pid_t *pid, long f_type, const struct stat *file)
{
	if (!lsi_fs_cluster(f_type))
		return *pid > 0 ? 0 : -1;
	if (f_type == LSI_CEPH_MAGIC && *pid < 0 && *pid != INT_MIN && file && holds_open(-*pid, file)) {
		*pid = -*pid;
		return 0;
	}
	if (*pid <= 0)
		return 1;
	/* kill(pid, 0) says ESRCH for no such process whoever owns it, even
	 * where /proc hides other users' processes (hidepid). */
	return kill(*pid, 0) < 0 && errno == ESRCH ? 1 : 0;
}
