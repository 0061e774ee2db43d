/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mountinfo.c: the mount that holds a lockspace, and whether its fcntl locks reach other hosts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "internal.h"
#include "mountinfo.h"

/* Copy the next space-separated field of *@p into *@out, decoding \ooo
 * escapes. Before the " - " separator runs of spaces part fields; after
 * it (@single) one space does, and a field may be empty (the kernel shows
 * an empty mount source as such: "tmpfs  rw"). Returns 0, -EBADMSG (no
 * field left) or -ENOMEM. */
static int mi_field(const char **p, char **out, int single)
{
	const char *s = *p;
	if (single)
		s += *s == ' ';
	else
		while (*s == ' ')
			s++;
	size_t n = strcspn(s, " \n");
	if (n == 0 && (!single || *s != ' '))
		return -EBADMSG;
	char *o = *out = malloc(n + 1);
	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
		    s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			*o++ = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	*p = s + n;
	return 0;
}

static void mi_clear(struct lockspace_mount *m)
{
	free(m->mount_point);
	free(m->root);
	free(m->fstype);
	free(m->source);
	free(m->mount_options);
	free(m->super_options);
	memset(m, 0, sizeof(*m));
}

int lsi_mount_parse(const char *line, struct lockspace_mount *m)
{
	memset(m, 0, sizeof(*m));
	unsigned id, parent;
	int used = 0;
	int err = -EBADMSG;
	if (sscanf(line, "%u %u %u:%u%n", &id, &parent, &m->major, &m->minor, &used) != 4 ||
	    line[used] != ' ')
		goto fail;
	const char *p = line + used;
	if ((err = mi_field(&p, &m->root, 0)) || (err = mi_field(&p, &m->mount_point, 0)) ||
	    (err = mi_field(&p, &m->mount_options, 0)))
		goto fail;
	/* Optional fields ("shared:1", "master:2"...), as many as there are, up to "-". */
	for (;;) {
		while (*p == ' ')
			p++;
		if (p[0] == '-' && (p[1] == ' ' || p[1] == '\n' || p[1] == '\0'))
			break;
		size_t n = strcspn(p, " \n");
		if (n == 0) {
			err = -EBADMSG;
			goto fail;
		}
		p += n;
	}
	p++;
	if ((err = mi_field(&p, &m->fstype, 1)) || (err = mi_field(&p, &m->source, 1)))
		goto fail;
	if (!*m->fstype) {
		err = -EBADMSG;
		goto fail;
	}
	/* The super options may be missing from a hand-made line: none then. */
	if ((err = mi_field(&p, &m->super_options, 1)) == -EBADMSG)
		err = (m->super_options = strdup("")) ? 0 : -ENOMEM;
	if (err)
		goto fail;
	lsi_mount_judge(m, NULL);
	return 0;
fail:
	mi_clear(m);
	return err;
}

/* Is @opt among the comma-separated @opts ("nolock", "local_lock=all")? An
 * @opt ending in "*" matches every option it begins ("vers=4*": "vers=4.2"). */
static int mi_opt(const char *opts, const char *opt)
{
	size_t n = strlen(opt);
	int prefix = n && opt[n - 1] == '*';
	n -= (size_t)prefix;
	for (const char *s = opts; s && *s;) {
		size_t len = strcspn(s, ",");
		if ((len == n || (prefix && len > n)) && strncmp(s, opt, n) == 0)
			return 1;
		s += len + (s[len] == ',');
	}
	return 0;
}

/* The option in either list: mountinfo puts a filesystem's own options
 * among the super options, but older kernels put some among the mount's. */
static int mi_has(const struct lockspace_mount *m, const char *opt)
{
	return mi_opt(m->super_options, opt) || mi_opt(m->mount_options, opt);
}

static int mi_type(const struct lockspace_mount *m, const char *const *types)
{
	for (; *types; types++)
		if (strcmp(m->fstype, *types) == 0)
			return 1;
	return 0;
}

static void mi_set(struct lockspace_mount *m, enum lockspace_reach reach, int shared, const char *why,
		   const char *advice)
{
	m->reach = reach;
	m->shared = shared;
	m->why = why;
	m->advice = advice;
}

static void mi_judge_nfs(struct lockspace_mount *m)
{
	int v4 = strcmp(m->fstype, "nfs4") == 0 || mi_has(m, "vers=4*") || mi_has(m, "nfsvers=4*");
	/* nolock also shows as local_lock=all in mountinfo: say the option the user typed. */
	if (mi_has(m, "nolock")) {
		mi_set(m, LOCKSPACE_REACH_HOST, 1, "NFS mounted with nolock: locks stay on this host",
		       "remount without nolock (and without local_lock=all|posix)");
		return;
	}
	if (mi_has(m, "local_lock=posix") || mi_has(m, "local_lock=all")) {
		mi_set(m, LOCKSPACE_REACH_HOST, 1,
		       "NFS mounted with local_lock=posix or all: locks stay on this host",
		       "remount with local_lock=none (or flock)");
		return;
	}
	if (v4) {
		mi_set(m, LOCKSPACE_REACH_CLUSTER, 1,
		       "NFSv4: locks are kept by the server, seen by every client", NULL);
		return;
	}
	m->needs_statd = 1;
	mi_set(m, LOCKSPACE_REACH_CLUSTER, 1,
	       "NFSv3: locks go to the server through lockd (NLM), seen by every client", NULL);
}

/* GFS2 keeps locks on the node with localflocks, which the kernel also
 * shows for every lock_nolock mount: the protocol is told first. */
static void mi_judge_gfs2(struct lockspace_mount *m)
{
	if (mi_has(m, "lockproto=lock_nolock"))
		mi_set(m, LOCKSPACE_REACH_HOST, 1,
		       "GFS2 mounted with lockproto=lock_nolock: locks stay on this node",
		       "mount it with the cluster's lock protocol (lock_dlm)");
	else if (mi_has(m, "localflocks"))
		mi_set(m, LOCKSPACE_REACH_HOST, 1,
		       "GFS2 mounted with localflocks, or with the lock_nolock protocol: locks stay on "
		       "this node",
		       "mount it with lockproto=lock_dlm and without localflocks");
	else
		mi_set(m, LOCKSPACE_REACH_CLUSTER, 1,
		       "a cluster filesystem: the cluster's lock manager (DLM) makes locks seen by every "
		       "node",
		       NULL);
}

/* OCFS2 shares fcntl locks only through a userspace cluster stack (pcmk,
 * cman: the kernel's ocfs2_stack_supports_plocks()); the default o2cb
 * stack keeps them on the node, as do localflocks and a local mount. A
 * mount on a user stack shows cluster_stack= among its options. */
static void mi_judge_ocfs2(struct lockspace_mount *m, const char *stack)
{
	if (mi_has(m, "local"))
		mi_set(m, LOCKSPACE_REACH_HOST, 1,
		       "OCFS2 mounted with local (a single-node mount): locks stay on this node",
		       "mount it as a cluster filesystem, on a userspace cluster stack (pcmk)");
	else if (mi_has(m, "localflocks"))
		mi_set(m, LOCKSPACE_REACH_HOST, 1, "OCFS2 mounted with localflocks: locks stay on this node",
		       "remount without localflocks");
	else if (mi_has(m, "cluster_stack=*") || lsi_ocfs2_stack_shares(stack))
		mi_set(m, LOCKSPACE_REACH_CLUSTER, 1,
		       "OCFS2 on a userspace cluster stack: its DLM makes locks seen by every node", NULL);
	else
		mi_set(m, LOCKSPACE_REACH_HOST, 1,
		       "OCFS2 on the o2cb cluster stack: fcntl locks stay on this node",
		       "use a userspace cluster stack (pcmk), or the sanlock backend");
}

void lsi_mount_judge(struct lockspace_mount *m, const char *ocfs2_stack)
{
	static const char *const local[] = {
		"ext2",	   "ext3",     "ext4",	 "xfs",	     "btrfs",	"tmpfs",    "ramfs",
		"overlay", "zfs",      "f2fs",	 "vfat",     "exfat",	"ntfs",	    "ntfs3",
		"jfs",	   "reiserfs", "nilfs2", "bcachefs", "hfsplus", "devtmpfs", "squashfs",
		"erofs",   "iso9660",  "udf",	 "minix",    "msdos",	NULL,
	};
	static const char *const ceph[] = {"ceph", "fuse.ceph-fuse", "fuse.ceph", NULL};
	static const char *const gluster[] = {"fuse.glusterfs", "glusterfs", NULL};
	m->needs_statd = 0;
	if (mi_type(m, local)) {
		mi_set(m, LOCKSPACE_REACH_HOST, 0, "a local filesystem: locks protect this host only", NULL);
	} else if (strcmp(m->fstype, "nfs") == 0 || strcmp(m->fstype, "nfs4") == 0) {
		mi_judge_nfs(m);
	} else if (strcmp(m->fstype, "gfs2") == 0) {
		mi_judge_gfs2(m);
	} else if (strcmp(m->fstype, "ocfs2") == 0) {
		mi_judge_ocfs2(m, ocfs2_stack);
	} else if (mi_type(m, ceph)) {
		mi_set(m, LOCKSPACE_REACH_CLUSTER, 1, "CephFS: the MDS keeps locks, seen by every client",
		       NULL);
	} else if (mi_type(m, gluster)) {
		mi_set(m, LOCKSPACE_REACH_CLUSTER, 1,
		       "GlusterFS: its bricks keep locks, seen by every client", NULL);
	} else if (strcmp(m->fstype, "lustre") == 0) {
		if (mi_has(m, "flock"))
			mi_set(m, LOCKSPACE_REACH_CLUSTER, 1,
			       "Lustre mounted with flock: locks are seen by every "
			       "client",
			       NULL);
		else if (mi_has(m, "localflock"))
			mi_set(m, LOCKSPACE_REACH_HOST, 1,
			       "Lustre mounted with localflock: locks stay on this "
			       "client",
			       "remount with flock");
		else
			mi_set(m, LOCKSPACE_REACH_NONE, 1, "Lustre without flock: fcntl locks fail",
			       "remount with flock");
	} else if (strcmp(m->fstype, "cifs") == 0 || strcmp(m->fstype, "smb3") == 0) {
		if (mi_has(m, "nobrl"))
			mi_set(m, LOCKSPACE_REACH_HOST, 1, "SMB mounted with nobrl: locks stay on this host",
			       "remount without nobrl");
		else
			mi_set(m, LOCKSPACE_REACH_UNKNOWN, 1,
			       "SMB: fcntl locks become the server's byte-range locks, which are mandatory "
			       "there; not a filesystem tested for lockspaces",
			       "prefer NFSv4, a cluster filesystem, or the sanlock backend");
	} else if (strcmp(m->fstype, "fuse.sshfs") == 0) {
		mi_set(m, LOCKSPACE_REACH_HOST, 1, "sshfs (FUSE) leaves locks to this host's kernel",
		       "use NFSv4, a cluster filesystem, or the sanlock backend");
	} else if (strncmp(m->fstype, "fuse", 4) == 0) {
		mi_set(m, LOCKSPACE_REACH_UNKNOWN, 1,
		       "a FUSE filesystem: locks reach other hosts only if it implements them; many keep "
		       "them "
		       "on this host",
		       "check that the filesystem forwards POSIX locks, or use another");
	} else if (strcmp(m->fstype, "9p") == 0 || strcmp(m->fstype, "virtiofs") == 0) {
		mi_set(m, LOCKSPACE_REACH_UNKNOWN, 1,
		       "a filesystem shared from a hypervisor: locks reach other guests only if the server "
		       "forwards them (virtiofsd --posix-lock)",
		       "check the server's lock settings");
	} else {
		mi_set(m, LOCKSPACE_REACH_UNKNOWN, 0, "a filesystem type virlock does not know", NULL);
	}
}

/* Is @mp a prefix of @path ending at a component boundary? */
static size_t mi_prefix(const char *mp, const char *path)
{
	size_t n = strlen(mp);
	if (n == 1 && mp[0] == '/')
		return 1;
	if (strncmp(mp, path, n) == 0 && (path[n] == '/' || path[n] == '\0'))
		return n;
	return 0;
}

int lockspace_mount(const char *path, struct lockspace_mount **out)
{
	if (!path || !out)
		return -EINVAL;
	*out = NULL;
	struct stat st;
	char *real = realpath(path, NULL);
	if (!real)
		return -errno;
	if (stat(real, &st) < 0) {
		int err = -errno;
		free(real);
		return err;
	}
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f) {
		int err = -errno;
		free(real);
		return err;
	}
	/* The longest prefix of this device wins; of equal ones the last, mounted
	 * over the others. A device no mount shows (a btrfs subvolume that is not
	 * mounted by itself has a device of its own) falls back to the longest
	 * prefix of any device. */
	struct lockspace_mount dev = {0}, any = {0}, cur;
	size_t dev_len = 0, any_len = 0, cap = 0;
	char *line = NULL;
	while (getline(&line, &cap, f) > 0) {
		if (lsi_mount_parse(line, &cur) < 0)
			continue;
		size_t n = mi_prefix(cur.mount_point, real);
		int same = makedev(cur.major, cur.minor) == st.st_dev;
		struct lockspace_mount *slot = same ? &dev : &any;
		size_t *len = same ? &dev_len : &any_len;
		if (n && n >= *len) {
			mi_clear(slot);
			*slot = cur;
			*len = n;
		} else {
			mi_clear(&cur);
		}
	}
	free(line);
	fclose(f);
	free(real);
	struct lockspace_mount *m = dev_len || any_len ? malloc(sizeof(*m)) : NULL;
	if (m)
		*m = dev_len ? dev : any;
	if (!m || dev_len)
		mi_clear(&any);
	if (!m || !dev_len)
		mi_clear(&dev);
	if (!m)
		return dev_len || any_len ? -ENOMEM : -ENOENT;
	/* The parse judged OCFS2 without this host's cluster stack. */
	if (strcmp(m->fstype, "ocfs2") == 0)
		lsi_mount_judge(m, lsi_ocfs2_shares() ? "user" : NULL);
	*out = m;
	return 0;
}

void lockspace_mount_free(struct lockspace_mount *m)
{
	if (!m)
		return;
	mi_clear(m);
	free(m);
}
