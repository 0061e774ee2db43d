/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_mountinfo.c: mountinfo lines of documented mounts parsed, and where their locks reach. */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "mountinfo.h"
#include "testlib.h"

/* One mountinfo line and what it must give. */
struct mi_case {
	const char *what;
	const char *line;
	const char *mount_point, *fstype, *source;
	enum lockspace_reach reach;
	int shared, needs_statd;
};

static const struct mi_case cases[] = {
	/* proc(5)'s own example: optional field, then " - ". */
	{"proc(5) ext3", "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n",
	 "/mnt2", "ext3", "/dev/root", LOCKSPACE_REACH_HOST, 0, 0},
	{"ext4 without optional fields", "29 1 252:1 / / rw,relatime - ext4 /dev/vda1 rw,errors=remount-ro",
	 "/", "ext4", "/dev/vda1", LOCKSPACE_REACH_HOST, 0, 0},
	{"xfs with several optional fields",
	 "64 29 253:2 / /srv rw,relatime shared:1 master:2 propagate_from:3 - xfs /dev/mapper/vg-srv "
	 "rw,attr2,inode64,logbufs=8,logbsize=32k,noquota\n",
	 "/srv", "xfs", "/dev/mapper/vg-srv", LOCKSPACE_REACH_HOST, 0, 0},
	{"btrfs subvolume",
	 "30 1 0:27 /@home /home rw,relatime shared:2 - btrfs /dev/sda2 "
	 "rw,space_cache=v2,subvolid=257,subvol=/@home\n",
	 "/home", "btrfs", "/dev/sda2", LOCKSPACE_REACH_HOST, 0, 0},
	{"tmpfs",
	 "25 23 0:22 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=804420k,"
	 "mode=755,inode64\n",
	 "/run", "tmpfs", "tmpfs", LOCKSPACE_REACH_HOST, 0, 0},
	{"overlay",
	 "500 400 0:52 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u/diff,"
	 "workdir=/u/work\n",
	 "/", "overlay", "overlay", LOCKSPACE_REACH_HOST, 0, 0},
	{"a mount point with a space and a tab (octal escapes)",
	 "70 29 8:17 / /mnt/my\\040disk\\011x rw,relatime shared:40 - ext4 /dev/sdb1 rw\n", "/mnt/my disk\tx",
	 "ext4", "/dev/sdb1", LOCKSPACE_REACH_HOST, 0, 0},
	{"a backslash escaped (\\134)", "71 29 8:17 / /mnt/a\\134b rw - ext4 /dev/sdb1 rw\n", "/mnt/a\\b",
	 "ext4", "/dev/sdb1", LOCKSPACE_REACH_HOST, 0, 0},
	{"NFSv4.2",
	 "48 29 0:44 / /shared rw,relatime shared:27 - nfs4 server:/export rw,vers=4.2,rsize=1048576,"
	 "wsize=1048576,namlen=255,hard,proto=tcp,timeo=600,retrans=2,sec=sys,clientaddr=192.0.2.10,"
	 "local_lock=none,addr=192.0.2.1\n",
	 "/shared", "nfs4", "server:/export", LOCKSPACE_REACH_CLUSTER, 1, 0},
	{"NFSv4.1 shown as type nfs (older kernels)",
	 "48 29 0:44 / /shared rw - nfs server:/export rw,vers=4.1,"
	 "hard,proto=tcp,local_lock=none\n",
	 "/shared", "nfs", "server:/export", LOCKSPACE_REACH_CLUSTER, 1, 0},
	{"NFSv4 with local_lock=posix",
	 "48 29 0:44 / /shared rw,relatime - nfs4 server:/export rw,vers=4.1,"
	 "hard,proto=tcp,sec=sys,local_lock=posix,addr=192.0.2.1\n",
	 "/shared", "nfs4", "server:/export", LOCKSPACE_REACH_HOST, 1, 0},
	{"NFSv3 with lockd",
	 "49 29 0:45 / /shared rw,relatime shared:28 - nfs server:/export rw,vers=3,"
	 "rsize=1048576,wsize=1048576,namlen=255,hard,proto=tcp,timeo=600,retrans=2,sec=sys,"
	 "mountaddr=192.0.2.1,mountvers=3,mountport=20048,mountproto=udp,local_lock=none,"
	 "addr=192.0.2.1\n",
	 "/shared", "nfs", "server:/export", LOCKSPACE_REACH_CLUSTER, 1, 1},
	{"NFSv3 with nolock (local_lock=all)",
	 "49 29 0:45 / /shared rw,relatime shared:28 - nfs server:/export rw,vers=3,rsize=1048576,"
	 "wsize=1048576,namlen=255,hard,nolock,proto=tcp,timeo=600,retrans=2,sec=sys,mountaddr=192.0.2.1,"
	 "mountvers=3,mountport=20048,mountproto=udp,local_lock=all,addr=192.0.2.1\n",
	 "/shared", "nfs", "server:/export", LOCKSPACE_REACH_HOST, 1, 0},
	{"NFSv3 with local_lock=posix",
	 "49 29 0:45 / /shared rw - nfs server:/export rw,vers=3,hard,"
	 "proto=tcp,local_lock=posix,addr=192.0.2.1\n",
	 "/shared", "nfs", "server:/export", LOCKSPACE_REACH_HOST, 1, 0},
	{"NFSv3 with local_lock=flock (fcntl locks still go to the server)",
	 "49 29 0:45 / /shared rw - nfs server:/export rw,vers=3,hard,proto=tcp,local_lock=flock\n",
	 "/shared", "nfs", "server:/export", LOCKSPACE_REACH_CLUSTER, 1, 1},
	{"GFS2", "80 29 253:5 / /gfs rw,relatime shared:50 - gfs2 /dev/mapper/vg-gfs rw,seclabel,relatime\n",
	 "/gfs", "gfs2", "/dev/mapper/vg-gfs", LOCKSPACE_REACH_CLUSTER, 1, 0},
	{"GFS2 with localflocks",
	 "80 29 253:5 / /gfs rw,relatime shared:50 - gfs2 /dev/mapper/vg-gfs "
	 "rw,seclabel,relatime,localflocks\n",
	 "/gfs", "gfs2", "/dev/mapper/vg-gfs", LOCKSPACE_REACH_HOST, 1, 0},
	/* The kernel shows localflocks for every lock_nolock mount. */
	{"GFS2 with lock_nolock",
	 "80 29 253:5 / /gfs rw - gfs2 /dev/mapper/vg-gfs rw,relatime,lockproto=lock_nolock,localflocks\n",
	 "/gfs", "gfs2", "/dev/mapper/vg-gfs", LOCKSPACE_REACH_HOST, 1, 0},
	/* The default o2cb stack keeps fcntl locks on the node. */
	{"OCFS2 on o2cb",
	 "81 29 8:33 / /ocfs rw,relatime shared:51 - ocfs2 /dev/sdc1 rw,_netdev,heartbeat=local,"
	 "nointr,data=ordered,errors=remount-ro,atime_quantum=60,coherency=full,user_xattr,acl\n",
	 "/ocfs", "ocfs2", "/dev/sdc1", LOCKSPACE_REACH_HOST, 1, 0},
	{"OCFS2 on a userspace stack (pcmk)",
	 "81 29 8:33 / /ocfs rw,relatime shared:51 - ocfs2 /dev/sdc1 rw,_netdev,heartbeat=none,"
	 "nointr,data=ordered,errors=remount-ro,atime_quantum=60,cluster_stack=pcmk,coherency=full,"
	 "user_xattr,acl\n",
	 "/ocfs", "ocfs2", "/dev/sdc1", LOCKSPACE_REACH_CLUSTER, 1, 0},
	{"OCFS2 mounted local",
	 "81 29 8:33 / /ocfs rw - ocfs2 /dev/sdc1 rw,heartbeat=none,local,cluster_stack=pcmk\n", "/ocfs",
	 "ocfs2", "/dev/sdc1", LOCKSPACE_REACH_HOST, 1, 0},
	{"OCFS2 with localflocks",
	 "81 29 8:33 / /ocfs rw - ocfs2 /dev/sdc1 rw,heartbeat=none,localflocks,cluster_stack=pcmk\n",
	 "/ocfs", "ocfs2", "/dev/sdc1", LOCKSPACE_REACH_HOST, 1, 0},
	{"CephFS, kernel client",
	 "90 29 0:60 / /cephfs rw,relatime shared:60 - ceph 192.0.2.1:6789:/ "
	 "rw,relatime,name=admin,secret=<hidden>,acl\n",
	 "/cephfs", "ceph", "192.0.2.1:6789:/", LOCKSPACE_REACH_CLUSTER, 1, 0},
	{"CephFS, ceph-fuse",
	 "91 29 0:61 / /cephfs rw,nosuid,nodev,relatime shared:61 - fuse.ceph-fuse "
	 "ceph-fuse rw,user_id=0,group_id=0,allow_other\n",
	 "/cephfs", "fuse.ceph-fuse", "ceph-fuse", LOCKSPACE_REACH_CLUSTER, 1, 0},
	{"sshfs",
	 "92 29 0:62 / /remote rw,nosuid,nodev,relatime shared:62 - fuse.sshfs user@host:/srv "
	 "rw,user_id=1000,group_id=1000\n",
	 "/remote", "fuse.sshfs", "user@host:/srv", LOCKSPACE_REACH_HOST, 1, 0},
	{"another FUSE filesystem",
	 "93 29 0:63 / /f rw,nosuid,nodev - fuse.rclone remote: rw,user_id=0,"
	 "group_id=0\n",
	 "/f", "fuse.rclone", "remote:", LOCKSPACE_REACH_UNKNOWN, 1, 0},
	{"a bind mount (root is not /)",
	 "100 29 252:1 /srv/locks /var/lib/virlock rw,relatime - ext4 /dev/vda1 "
	 "rw\n",
	 "/var/lib/virlock", "ext4", "/dev/vda1", LOCKSPACE_REACH_HOST, 0, 0},
};

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct mi_case *c = &cases[i];
		struct lockspace_mount *m = calloc(1, sizeof(*m));
		if (!m)
			tu_bail("out of memory");
		int err = lsi_mount_parse(c->line, m);
		is_int(err, 0, "%s: parsed", c->what);
		if (err) {
			free(m);
			continue;
		}
		is_str(m->mount_point, c->mount_point, "%s: mount point", c->what);
		is_str(m->fstype, c->fstype, "%s: type", c->what);
		is_str(m->source, c->source, "%s: source", c->what);
		is_int(m->reach, c->reach, "%s: reach", c->what);
		is_int(m->shared, c->shared, "%s: shared", c->what);
		is_int(m->needs_statd, c->needs_statd, "%s: needs statd", c->what);
		ok(m->why && *m->why, "%s: says why (%s)", c->what, m->why ? m->why : "(null)");
		ok(c->reach == LOCKSPACE_REACH_HOST && !c->shared ? m->advice == NULL : 1,
		   "%s: a local filesystem needs no advice", c->what);
		ok(c->reach == LOCKSPACE_REACH_HOST && c->shared ? m->advice != NULL : 1,
		   "%s: a shared filesystem that keeps locks on the host says what to do", c->what);
		lockspace_mount_free(m);
	}
}

/* Free the strings of a parsed @m that is not itself malloc'd. */
static void mi_done(struct lockspace_mount *m)
{
	free(m->mount_point);
	free(m->root);
	free(m->fstype);
	free(m->source);
	free(m->mount_options);
	free(m->super_options);
}

/* The fields around the line's dash, the device and the escapes, one by one. */
static void test_fields(void)
{
	struct lockspace_mount *m = calloc(1, sizeof(*m));
	if (!m)
		tu_bail("out of memory");
	is_int(lsi_mount_parse("36 35 98:7 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root "
			       "rw,errors=continue\n",
			       m),
	       0, "the proc(5) line parses");
	is_int(m->major, 98, "major");
	is_int(m->minor, 7, "minor");
	is_str(m->root, "/mnt1", "root");
	is_str(m->mount_options, "rw,noatime", "mount options");
	is_str(m->super_options, "rw,errors=continue", "super options, without the newline");
	lockspace_mount_free(m);

	static const char *const bad[] = {
		"",
		"garbage\n",
		"36 35 98:0 /mnt1 /mnt2 rw,noatime master:1\n", /* no " - " */
		"36 35 98:0 /mnt1 /mnt2 rw,noatime - \n",	/* no type */
		"36 35 98:0 /mnt1 /mnt2 rw,noatime - ext3\n",	/* no source */
		"36 35 98 /mnt1 /mnt2 rw - ext3 /dev/root rw\n",
		"36 35 98:0\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct lockspace_mount b;
		is_int(lsi_mount_parse(bad[i], &b), -EBADMSG, "not a mountinfo line: \"%.*s\"",
		       (int)strcspn(bad[i], "\n"), bad[i]);
	}
	struct lockspace_mount b;
	is_int(lsi_mount_parse("36 35 98:0 /mnt1 /mnt2 rw - ext3 /dev/root\n", &b), 0,
	       "a line without super options parses");
	is_str(b.super_options, "", "with none");
	mi_done(&b);
}

/* What each judgement says, where the reach alone does not tell them apart. */
static void test_words(void)
{
	struct lockspace_mount m;
	is_int(lsi_mount_parse("80 29 253:5 / /gfs rw - gfs2 /dev/x rw,relatime,lockproto=lock_nolock,"
			       "localflocks\n",
			       &m),
	       0, "GFS2 lock_nolock parses");
	ok(strstr(m.why, "lock_nolock") && !strstr(m.why, "localflocks"),
	   "lock_nolock is told before localflocks (%s)", m.why);
	mi_done(&m);
	is_int(lsi_mount_parse("80 29 253:5 / /gfs rw - gfs2 /dev/x rw,relatime,localflocks\n", &m), 0,
	       "GFS2 localflocks parses");
	ok(strstr(m.why, "localflocks, or") && strstr(m.advice, "lockproto=lock_dlm"),
	   "localflocks may be lock_nolock's (%s; %s)", m.why, m.advice);
	mi_done(&m);

	static const char ocfs2[] = "81 29 8:33 / /o rw - ocfs2 /dev/sdc1 rw,heartbeat=local\n";
	is_int(lsi_mount_parse(ocfs2, &m), 0, "OCFS2 parses");
	ok(m.advice && strstr(m.advice, "pcmk") && strstr(m.advice, "sanlock"),
	   "o2cb: a userspace stack or sanlock (%s)", m.advice ? m.advice : "(null)");
	lsi_mount_judge(&m, "o2cb\n");
	is_int(m.reach, LOCKSPACE_REACH_HOST, "OCFS2 with the live stack o2cb: this node only");
	lsi_mount_judge(&m, "pcmk\n");
	is_int(m.reach, LOCKSPACE_REACH_CLUSTER, "OCFS2 with the live stack pcmk: every node");
	lsi_mount_judge(&m, NULL);
	is_int(m.reach, LOCKSPACE_REACH_HOST, "OCFS2 with an unknown stack: o2cb, the default");
	mi_done(&m);
}

/* After " - " one space parts the fields, and the source may be empty. */
static void test_empty_source(void)
{
	struct lockspace_mount m;
	is_int(lsi_mount_parse("300 29 0:70 / /t rw,relatime - tmpfs  rw,size=1024k,inode64\n", &m), 0,
	       "an empty source parses");
	is_str(m.fstype, "tmpfs", "its type");
	is_str(m.source, "", "its source, empty");
	is_str(m.super_options, "rw,size=1024k,inode64", "its super options, in their place");
	is_int(m.reach, LOCKSPACE_REACH_HOST, "judged as tmpfs");
	mi_done(&m);
	is_int(lsi_mount_parse("300 29 0:70 / /t rw -  none rw\n", &m), -EBADMSG, "an empty type does not");
}

/* lockspace_mount() finds the scratch directory's mount: its device, a prefix of its path. */
static void test_lookup(void)
{
	struct lockspace_mount *m = NULL;
	struct stat st;
	is_int(lockspace_mount(NULL, &m), -EINVAL, "NULL path");
	is_int(lockspace_mount(tu_scratch_dir, NULL), -EINVAL, "NULL out");
	is_int(lockspace_mount("/nonexistent/virlock", &m), -ENOENT, "a missing path");
	ok(m == NULL, "leaves NULL on failure");
	is_int(lockspace_mount(tu_scratch_dir, &m), 0, "the scratch directory's mount is found");
	if (!m || stat(tu_scratch_dir, &st) < 0)
		return;
	ok(makedev(m->major, m->minor) == st.st_dev, "of its device");
	size_t n = strlen(m->mount_point);
	ok(strcmp(m->mount_point, "/") == 0 || strncmp(tu_scratch_dir, m->mount_point, n) == 0,
	   "its mount point %s is a prefix of %s", m->mount_point, tu_scratch_dir);
	ok(m->fstype && *m->fstype, "of type %s", m->fstype);
	lockspace_mount_free(m);
	lockspace_mount_free(NULL);
	ok(1, "lockspace_mount_free(NULL) does nothing");
}

/* lockspace_sanlock_status() is for sanlock lockspaces only. */
static void test_sanlock_status(void)
{
	struct lockspace *ls = NULL;
	struct lockspace_sanlock_status st;
	char dir[PATH_MAX + 8];
	snprintf(dir, sizeof(dir), "%s/ls", tu_scratch_dir);
	is_int(lockspace_open(dir, 0, &ls), 0, "an fcntl lockspace opens");
	is_int(lockspace_sanlock_status(ls, &st), -EOPNOTSUPP, "an fcntl lockspace has no sanlock status");
	is_int(st.daemon + (int)st.host_id + (int)st.watchdog, 0, "and it is left zeroed");
	is_int(lockspace_sanlock_status(NULL, &st), -EINVAL, "NULL handle");
	is_int(lockspace_sanlock_status(ls, NULL), -EINVAL, "NULL status");
	lockspace_close(ls);
}

TU_MAIN(test_cases, test_fields, test_words, test_empty_source, test_lookup, test_sanlock_status)
