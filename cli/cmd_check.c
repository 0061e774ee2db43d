/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cmd_check.c: virlock check: can this lockspace protect anything? One finding a line, or JSON. */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonwrt.h"
#include "output.h"
#include "virlock.h"

/* The severities, mildest first; the worst found sets the exit status. */
enum check_sev { SEV_OK, SEV_INFO, SEV_WARN, SEV_ERROR };
static const char *const sev_words[] = {"ok", "info", "warn", "error"};

/* check's own exit statuses (virlock(1) documents them). */
#define CHECK_EXIT_WARN	 1 /* warnings, but locks protect what the lockspace claims */
#define CHECK_EXIT_ERROR 2 /* locks do not protect what the lockspace claims */

struct finding {
	enum check_sev sev;
	const char *topic; /* static */
	char *message;
	char *advice; /* NULL if none */
};

struct check {
	const char *dir; /* as given or the default */
	char *cmd;	 /* "virlock", or "virlock -L DIR" (shell-quoted) for one given: for advice */
	struct finding *f;
	size_t n;
	int oom;
	int cluster; /* --cluster: locks must reach other hosts */
	enum check_sev worst;
	struct lockspace_mount *mount;
	int have_sanlock; /* a sanlock lockspace whose status was read */
	struct lockspace_sanlock_status sl;
	/* lock files and records */
	unsigned long files, held, free_files, stale_files;
	int group; /* a group lockspace (setgid, group-writable) of group @gid */
	gid_t gid;
};

static void add(struct check *c, enum check_sev sev, const char *topic, const char *advice, const char *fmt,
		...) __attribute__((format(printf, 5, 6)));

/* Add one finding; the message is formatted, the advice copied. */
static void add(struct check *c, enum check_sev sev, const char *topic, const char *advice, const char *fmt,
		...)
{
	struct finding *more = realloc(c->f, (c->n + 1) * sizeof(*more));
	if (!more) {
		c->oom = 1;
		return;
	}
	c->f = more;
	struct finding *f = &c->f[c->n];
	*f = (struct finding){.sev = sev, .topic = topic};
	va_list ap;
	va_start(ap, fmt);
	int rc = vasprintf(&f->message, fmt, ap);
	va_end(ap);
	if (rc < 0 || (advice && !(f->advice = strdup(advice)))) {
		if (rc >= 0)
			free(f->message);
		c->oom = 1;
		return;
	}
	c->n++;
	if (sev > c->worst)
		c->worst = sev;
}

static void check_free(struct check *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->f[i].message);
		free(c->f[i].advice);
	}
	free(c->f);
	free(c->cmd);
	lockspace_mount_free(c->mount);
}

/* Does /proc hide other users' processes from this one (hidepid), so that
 * a daemon of another user cannot be seen? */
static int proc_hides(void)
{
	if (geteuid() == 0)
		return 0;
	struct lockspace_mount *m = NULL;
	if (lockspace_mount("/proc", &m) < 0)
		return 0;
	int hides = strcmp(m->fstype, "proc") == 0 && strstr(m->super_options, "hidepid=") &&
		    !strstr(m->super_options, "hidepid=0") && !strstr(m->super_options, "hidepid=off");
	lockspace_mount_free(m);
	return hides;
}

/* Does a process named rpc.statd run on this host (in this pid namespace)?
 * 1, 0, or -1 when this user cannot tell (hidepid). */
static int statd_runs(void)
{
	DIR *d = opendir("/proc");
	if (!d)
		return proc_hides() ? -1 : 0;
	int found = 0;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char path[64], comm[32] = "";
		snprintf(path, sizeof(path), "/proc/%.20s/comm", de->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f))
			found = strcmp(comm, "rpc.statd\n") == 0;
		fclose(f);
	}
	closedir(d);
	return found ? 1 : proc_hides() ? -1 : 0;
}

/* "virlock", or for a lockspace given with -L "virlock -L DIR", DIR quoted
 * for a shell where it needs it: the start of every command advised. NULL
 * if out of memory. */
static char *advice_cmd(const char *given)
{
	if (!given)
		return strdup("virlock");
	size_t n = strlen(given);
	int plain =
		n && strspn(given,
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_/.,:+@%=-") == n;
	/* At worst each byte becomes '"'"' (5 bytes). */
	char *out = malloc(sizeof("virlock -L ''") + 5 * n);
	if (!out)
		return NULL;
	char *o = out + sprintf(out, "virlock -L %s", plain ? "" : "'");
	for (const char *p = given; *p; p++)
		if (*p == '\'')
			o = stpcpy(o, "'\"'\"'"); /* no backslash, which the output escapes */
		else
			*o++ = *p;
	strcpy(o, plain ? "" : "'");
	return out;
}

/* The filesystem: where the locks reach, against what the lockspace is for. */
static void check_filesystem(struct check *c, const char *dir, int sanlock)
{
	int err = lockspace_mount(dir, &c->mount);
	if (err) {
		add(c, SEV_WARN, "filesystem", "check that /proc is mounted",
		    "cannot find the mount of %s: %s", dir, lockspace_strerror(err));
		return;
	}
	const struct lockspace_mount *m = c->mount;
	char *where = NULL;
	if (asprintf(&where, "%s on %s at %s", m->fstype, m->source, m->mount_point) < 0) {
		c->oom = 1;
		return;
	}
	if (sanlock) {
		/* sanlock's leases are disk Paxos over O_DIRECT I/O: the filesystem's
		 * own locks play no part, only whether other hosts see the files. */
		if (m->shared)
			add(c, SEV_OK, "filesystem", NULL,
			    "%s: shared storage; sanlock leases do not depend on the filesystem's locks",
			    where);
		else if (m->reach == LOCKSPACE_REACH_UNKNOWN)
			add(c, SEV_WARN, "filesystem", NULL,
			    "%s: %s: cannot tell whether other hosts reach this storage", where, m->why);
		else
			add(c, c->cluster ? SEV_ERROR : SEV_OK, "filesystem",
			    c->cluster ? "put the lockspace on storage every host reaches" : NULL,
			    "%s: local storage: its leases protect this host only", where);
		free(where);
		return;
	}
	switch (m->reach) {
	case LOCKSPACE_REACH_HOST:
		if (m->shared)
			add(c, SEV_ERROR, "filesystem", m->advice,
			    "%s: %s: other hosts that mount it do not see the locks, and may open an image "
			    "that is in use here",
			    where, m->why);
		else if (c->cluster)
			add(c, SEV_ERROR, "filesystem",
			    "put the lockspace on NFSv4, GFS2, OCFS2 or CephFS, or use the sanlock backend",
			    "%s: %s, not other hosts", where, m->why);
		else
			add(c, SEV_OK, "filesystem", NULL, "%s: %s", where, m->why);
		break;
	case LOCKSPACE_REACH_CLUSTER:
		add(c, SEV_OK, "filesystem", NULL, "%s: %s", where, m->why);
		if (m->needs_statd) {
			int statd = statd_runs();
			if (statd > 0)
				add(c, SEV_OK, "nfs", NULL,
				    "rpc.statd runs: NFSv3 locks are recovered after a reboot");
			else if (statd < 0)
				add(c, SEV_INFO, "nfs", "run check as root to see it",
				    "cannot tell whether rpc.statd runs (/proc hides other users' "
				    "processes): "
				    "NFSv3 locks are recovered after a reboot only if it does");
			else
				add(c, SEV_WARN, "nfs",
				    "start it (systemctl start rpc-statd), or mount with NFSv4",
				    "rpc.statd does not run: NFSv3 locks are not recovered after a reboot of "
				    "this host or the server");
		}
		break;
	case LOCKSPACE_REACH_NONE:
		add(c, SEV_ERROR, "filesystem", m->advice, "%s: %s", where, m->why);
		break;
	default:
		add(c, SEV_WARN, "filesystem", m->advice, "%s: %s: cannot tell where its locks reach", where,
		    m->why);
	}
	if (!m->shared && !c->cluster && !sanlock && m->reach == LOCKSPACE_REACH_HOST)
		add(c, SEV_INFO, "hosts", NULL,
		    "locks do not protect other hosts: a lockspace shared by several hosts belongs on NFSv4, "
		    "GFS2, OCFS2 or CephFS, or is a sanlock one");
	free(where);
}

/* @name, or failing that "@kind @id" in @buf: a user or group as ls(1) would name it. */
static const char *id_name(const char *name, const char *kind, unsigned id, char *buf, size_t len)
{
	if (name)
		return name;
	snprintf(buf, len, "%s %u", kind, id);
	return buf;
}

static const char *user_name(uid_t uid, char *buf, size_t len)
{
	const struct passwd *pw = getpwuid(uid);
	return id_name(pw ? pw->pw_name : NULL, "uid", (unsigned)uid, buf, len);
}

static const char *group_name(gid_t gid, char *buf, size_t len)
{
	const struct group *gr = getgrgid(gid);
	return id_name(gr ? gr->gr_name : NULL, "gid", (unsigned)gid, buf, len);
}

/* Ownership and mode of the directory and of its holder records, as
 * lockspace_open() judges them. Returns 1 if it found what it refuses. */
static int check_ownership(struct check *c, const char *dir, const struct stat *st)
{
	char ubuf[32], gbuf[32];
	const char *user = user_name(st->st_uid, ubuf, sizeof(ubuf));
	unsigned mode = (unsigned)(st->st_mode & 07777);
	int group = (st->st_mode & (S_ISGID | S_IWGRP)) == (S_ISGID | S_IWGRP);
	if (st->st_mode & S_IWOTH) {
		add(c, SEV_ERROR, "ownership", "use a private (0700) or group (setgid 2770) directory",
		    "%s: mode %04o: writable by every user, who could remove or replace lock files; virlock "
		    "refuses it",
		    dir, mode);
		return 1;
	}
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		add(c, SEV_ERROR, "ownership", "use a directory of your own, or root's",
		    "%s: owned by %s, another user, who could replace lock files; virlock refuses it", dir,
		    user);
		return 1;
	}
	if ((st->st_mode & S_IWGRP) && !(st->st_mode & S_ISGID)) {
		add(c, SEV_ERROR, "ownership", "make it setgid (chmod 2770) or private (chmod 0700)",
		    "%s: mode %04o: group-writable without the setgid bit, so members' files would not share "
		    "the group; virlock refuses it",
		    dir, mode);
		return 1;
	}
	c->group = group;
	c->gid = st->st_gid;
	if (group)
		add(c, SEV_OK, "ownership", NULL,
		    "%s: a group lockspace: owner %s, group %s, mode %04o; its members lock, see and prune "
		    "alike",
		    dir, user, group_name(st->st_gid, gbuf, sizeof(gbuf)), mode);
	else if (!(st->st_mode & 077))
		add(c, SEV_OK, "ownership", NULL, "%s: private: owner %s, mode %04o", dir, user, mode);
	else
		add(c, SEV_OK, "ownership", NULL,
		    "%s: owner %s, mode %04o: others may read it, but only its owner changes it", dir, user,
		    mode);

	char *holders = NULL;
	struct stat hst;
	if (asprintf(&holders, "%s/%s", dir, LOCKSPACE_HOLDERS_DIR) < 0) {
		c->oom = 1;
		return 0;
	}
	int bad = 0;
	if (lstat(holders, &hst) == 0) {
		unsigned hmode = (unsigned)(hst.st_mode & 07777);
		if (!S_ISDIR(hst.st_mode) || (hst.st_uid != st->st_uid && hst.st_uid != 0) ||
		    (hst.st_mode & S_IWOTH) || (group && (hst.st_gid != st->st_gid || hmode != 02770))) {
			char advice[PATH_MAX + 128];
			snprintf(advice, sizeof(advice), "when no holder runs, remove it (rm -r %s)%s",
				 holders, group ? ", or give it the lockspace's group and mode 2770" : "");
			add(c, SEV_ERROR, "ownership", advice,
			    "%s: owner %s, mode %04o: holder records that do not fit the lockspace; virlock "
			    "refuses it",
			    holders, user_name(hst.st_uid, ubuf, sizeof(ubuf)), hmode);
			bad = 1;
		}
	}
	free(holders);
	return bad;
}

/* This host in a sanlock lockspace: daemon, membership, io timeout, fencing. */
static void check_sanlock(struct check *c, struct lockspace *ls)
{
	int err = lockspace_sanlock_status(ls, &c->sl);
	if (err) {
		add(c, SEV_ERROR, "sanlock",
		    err == -ENOPKG ? "install the sanlock package" : "check the sanlock daemon",
		    "cannot ask the sanlock daemon: %s", lockspace_strerror(err));
		return;
	}
	c->have_sanlock = 1;
	const struct lockspace_sanlock_status *s = &c->sl;
	if (!s->daemon) {
		add(c, SEV_ERROR, "sanlock", "start it (systemctl start sanlock)",
		    "the sanlock daemon does not run: no lease can be taken or kept");
	} else if (!s->host_id) {
		char advice[256];
		snprintf(advice, sizeof(advice), "join it: virlock -L %s init --backend sanlock --host-id N",
			 c->dir);
		add(c, SEV_ERROR, "sanlock", advice,
		    "this host has not joined the lockspace: it can take no lease, and sees others' as busy");
	} else {
		if (s->generation)
			add(c, SEV_OK, "sanlock", NULL, "joined as host %u (%s), generation %llu", s->host_id,
			    *s->host_name ? s->host_name : "name unknown", s->generation);
		else
			add(c, SEV_OK, "sanlock", NULL, "joined as host %u (%s)", s->host_id,
			    *s->host_name ? s->host_name : "name unknown");
		if (s->io_timeout)
			add(c, SEV_INFO, "sanlock", NULL,
			    "io timeout %u s: a host that cannot renew its host id lease for %u s loses its "
			    "leases",
			    s->io_timeout, 8 * s->io_timeout);
	}
	switch (s->watchdog) {
	case LOCKSPACE_WATCHDOG_ON:
		add(c, SEV_OK, "watchdog", NULL,
		    "wdmd runs: a host that stops renewing its lease is reset before others take its leases");
		break;
	case LOCKSPACE_WATCHDOG_OFF:
		add(c, SEV_ERROR, "watchdog", "run the sanlock daemon with its watchdog (wdmd), not -w 0",
		    "the sanlock daemon runs without a watchdog: a hung host is not fenced, and may still "
		    "write to an image after another host took its lease");
		break;
	case LOCKSPACE_WATCHDOG_MISSING:
		add(c, SEV_ERROR, "watchdog", "start wdmd (systemctl start wdmd)",
		    "wdmd does not answer at /run/wdmd/wdmd.sock: a hung host is not fenced");
		break;
	default:
		add(c, SEV_WARN, "watchdog", NULL,
		    "cannot tell whether the sanlock daemon uses a watchdog (its pid file or command line "
		    "cannot be read)");
	}
}

static int locks_cb(const struct lockspace_info *info, void *arg)
{
	struct check *c = arg;
	c->files++;
	if (info->state != LOCKSPACE_STATE_FREE)
		c->held++;
	if (info->integrity == -EBADMSG) {
		char advice[PATH_MAX + 256];
		snprintf(advice, sizeof(advice),
			 "check it with '%s inspect %s' and remove it once no one holds it", c->cmd,
			 info->name);
		add(c, SEV_WARN, "lockfile", advice, "%s: corrupt: its content does not hash to its name",
		    info->lockfile);
	} else if (info->integrity == -ENODATA && strlen(info->name) == LOCKSPACE_MD5_NAME_LEN) {
		/* Empty is what virtlockd's SHA-256 files are; an MD5 one is not. */
		char advice[PATH_MAX + 128];
		snprintf(advice, sizeof(advice),
			 "remove it once no one holds it (%s prune does when it is free)", c->cmd);
		add(c, SEV_WARN, "lockfile", advice, "%s: empty: it names no resource", info->lockfile);
	}
	/* A file that cannot be read at all is one prune cannot judge either: said there. */
	struct stat st;
	if (c->group && lstat(info->lockfile, &st) == 0 && S_ISREG(st.st_mode) &&
	    ((st.st_mode & 0060) != 0060 || st.st_gid != c->gid)) {
		char gbuf[32], advice[PATH_MAX + 64];
		snprintf(advice, sizeof(advice), "chgrp %s %s && chmod 0660 %s",
			 group_name(c->gid, gbuf, sizeof(gbuf)), info->lockfile, info->lockfile);
		add(c, SEV_WARN, "lockfile", advice,
		    "%s: mode %04o, group %s: not read-write for the lockspace's group, whose other members "
		    "cannot lock it",
		    info->lockfile, (unsigned)(st.st_mode & 07777),
		    group_name(st.st_gid, gbuf, sizeof(gbuf)));
	}
	return 0;
}

/* Is @what (@base its file name) the socket file <pid>.sock of a dead
 * holder that has no record beside it (prune names the record otherwise)? */
static int lone_socket(const char *what, const char *base)
{
	size_t digits = strspn(base, "0123456789");
	if (!digits || strcmp(base + digits, LOCKSPACE_CONTROL_SUFFIX) != 0)
		return 0;
	char record[PATH_MAX];
	struct stat st;
	int n = snprintf(record, sizeof(record), "%.*s",
			 (int)(strlen(what) - strlen(LOCKSPACE_CONTROL_SUFFIX)), what);
	return n > 0 && (size_t)n < sizeof(record) && lstat(record, &st) < 0 && errno == ENOENT;
}

static void prune_cb(const char *what, int err, void *arg)
{
	struct check *c = arg;
	if (err) {
		add(c, SEV_WARN, "lockfile", "remove it once no holder uses it", "%s: %s; prune keeps it",
		    what,
		    err == -EBADMSG ? "not a lock file or lease of this lockspace" : lockspace_strerror(err));
		return;
	}
	/* Lock files lie in the directory itself; deeper lie a holder's record
	 * (named by its pid) and its socket and label files. */
	const char *base = strrchr(what, '/') ? strrchr(what, '/') + 1 : what;
	if (!strstr(what, "/" LOCKSPACE_HOLDERS_DIR "/"))
		c->free_files++;
	else if (*base && strspn(base, "0123456789") == strlen(base))
		c->stale_files++;
	else if (lone_socket(what, base))
		c->stale_files++;
}

/* Lock files and holder records, through the calls list and prune use. */
static void check_locks(struct check *c, struct lockspace *ls, int sanlock_ok)
{
	int err = lockspace_foreach(ls, LOCKSPACE_ALL, locks_cb, c);
	if (err < 0) {
		add(c, SEV_ERROR, "locks", NULL, "cannot read the lock files: %s", lockspace_strerror(err));
		return;
	}
	add(c, SEV_OK, "locks", NULL, "%lu lock file%s, %lu held", c->files, c->files == 1 ? "" : "s",
	    c->held);
	if (!sanlock_ok)
		return; /* prune needs this host's membership: said above */
	err = lockspace_prune_files(ls, LOCKSPACE_DRY_RUN, prune_cb, c);
	if (err < 0) {
		add(c, SEV_WARN, "records", NULL, "cannot judge the holder records: %s",
		    lockspace_strerror(err));
		return;
	}
	char advice[PATH_MAX + 64];
	snprintf(advice, sizeof(advice), "run '%s prune'", c->cmd);
	if (c->stale_files)
		add(c, SEV_WARN, "records", advice,
		    "%lu stale holder record%s, left by holders that ended without releasing (killed, or "
		    "their host rebooted)",
		    c->stale_files, c->stale_files == 1 ? "" : "s");
	else
		add(c, SEV_OK, "records", NULL, "no stale holder records");
	snprintf(advice, sizeof(advice), "'%s prune' removes them", c->cmd);
	if (c->free_files)
		add(c, SEV_INFO, "locks", advice, "%lu free lock file%s", c->free_files,
		    c->free_files == 1 ? "" : "s");
}

static void print_text(const struct check *c, int quiet)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct finding *f = &c->f[i];
		if (quiet && f->sev < SEV_WARN)
			continue;
		printf("%-6s %s: ", sev_words[f->sev], f->topic);
		vl_print_safe(stdout, f->message);
		if (f->advice) {
			fputs("; ", stdout);
			vl_print_safe(stdout, f->advice);
		}
		putchar('\n');
	}
}

static const char *const reach_words[] = {
	[LOCKSPACE_REACH_UNKNOWN] = "unknown",
	[LOCKSPACE_REACH_HOST] = "host",
	[LOCKSPACE_REACH_CLUSTER] = "cluster",
	[LOCKSPACE_REACH_NONE] = "none",
};

static const char *const watchdog_words[] = {
	[LOCKSPACE_WATCHDOG_UNKNOWN] = "unknown",
	[LOCKSPACE_WATCHDOG_ON] = "on",
	[LOCKSPACE_WATCHDOG_OFF] = "off",
	[LOCKSPACE_WATCHDOG_MISSING] = "missing",
};

static void print_json(const struct check *c, const char *backend)
{
	struct vl_json j = {.out = stdout};
	vl_json_open(&j, NULL, '{', 0);
	vl_json_string(&j, "lockspace", c->dir);
	vl_json_string(&j, "backend", backend);
	vl_json_string(&j, "status", sev_words[c->worst == SEV_INFO ? SEV_OK : c->worst]);
	if (c->mount) {
		const struct lockspace_mount *m = c->mount;
		vl_json_open(&j, "mount", '{', 0);
		vl_json_string(&j, "target", m->mount_point);
		vl_json_string(&j, "root", m->root);
		vl_json_string(&j, "fstype", m->fstype);
		vl_json_string(&j, "source", m->source);
		vl_json_string(&j, "options", m->mount_options);
		vl_json_string(&j, "super_options", m->super_options);
		vl_json_string(&j, "reach", reach_words[m->reach]);
		vl_json_bool(&j, "shared", m->shared);
		vl_json_close(&j, '}');
	} else {
		vl_json_null(&j, "mount");
	}
	if (c->have_sanlock) {
		const struct lockspace_sanlock_status *s = &c->sl;
		vl_json_open(&j, "sanlock", '{', 0);
		vl_json_bool(&j, "daemon", s->daemon);
		if (s->host_id)
			vl_json_uint(&j, "host_id", s->host_id);
		else
			vl_json_null(&j, "host_id");
		if (s->generation)
			vl_json_uint(&j, "generation", s->generation);
		else
			vl_json_null(&j, "generation");
		vl_json_string(&j, "host_name", *s->host_name ? s->host_name : NULL);
		if (s->io_timeout)
			vl_json_uint(&j, "io_timeout", s->io_timeout);
		else
			vl_json_null(&j, "io_timeout");
		vl_json_string(&j, "watchdog", watchdog_words[s->watchdog]);
		vl_json_close(&j, '}');
	}
	vl_json_open(&j, "findings", '[', 0);
	for (size_t i = 0; i < c->n; i++) {
		vl_json_open(&j, NULL, '{', 0);
		vl_json_string(&j, "severity", sev_words[c->f[i].sev]);
		vl_json_string(&j, "topic", c->f[i].topic);
		vl_json_string(&j, "message", c->f[i].message);
		vl_json_string(&j, "advice", c->f[i].advice);
		vl_json_close(&j, '}');
	}
	vl_json_close(&j, ']');
	vl_json_close(&j, '}');
	putchar('\n');
}

static int json, cluster, quiet;

static struct poptOption options[] = {
	{"cluster", '\0', POPT_ARG_NONE, &cluster, 0,
	 "the lockspace is shared by several hosts: locks that stay on this host are an error", NULL},
	{"json", 'J', POPT_ARG_NONE, &json, 0, "print the findings as JSON", NULL},
	{"quiet", 'q', POPT_ARG_NONE, &quiet, 0, "print only warnings and errors", NULL},
	VL_POPT_STANDARD,
	POPT_TABLEEND,
};

static void help_extra(FILE *out)
{
	fputs("\nExit status: 0 all is well, 1 warnings only, 2 an error: locks do not protect what "
	      "the\nlockspace is for; 66 no such lockspace, 64 usage.\n",
	      out);
}

static int run(struct virlock_ctx *ctx, int nargs, const char **args)
{
	struct check c = {.cluster = cluster};
	struct lockspace *ls = NULL;
	char *dflt = NULL;
	int status = VL_EXIT_OK;
	struct stat st;

	if (nargs > 0) {
		vl_error("check: %s: unexpected argument; check takes no resources", args[0]);
		return VL_EXIT_USAGE;
	}
	quiet = quiet || ctx->quiet;
	if (!ctx->lockspace) {
		int err = vl_default_dir(&dflt);
		if (err < 0) {
			vl_error("check: default lockspace: %s", lockspace_strerror(err));
			return virlock_exit_code(err);
		}
	}
	c.dir = ctx->lockspace ? ctx->lockspace : dflt;
	if (!(c.cmd = advice_cmd(ctx->lockspace))) {
		vl_error("check: %s", strerror(ENOMEM));
		status = VL_EXIT_OSERR;
		goto out;
	}
	int serr = stat(c.dir, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
	if (serr) {
		if (serr == ENOENT)
			vl_error("check: lockspace %s: no such directory; give the lockspace with -L DIR, or "
				 "make it with 'virlock -L %s init'",
				 c.dir, c.dir);
		else if (serr == ENOTDIR)
			vl_error("check: lockspace %s: not a directory; give the lockspace with -L DIR",
				 c.dir);
		else
			vl_error("check: lockspace %s: %s", c.dir, strerror(serr));
		status = serr == EACCES ? VL_EXIT_NOPERM : VL_EXIT_NOINPUT;
		goto out;
	}
	int err = lockspace_open(c.dir, LOCKSPACE_OPEN_NOCREATE | (vl_hash ? LOCKSPACE_OPEN_SHA256 : 0), &ls);
	if (err == -EACCES) {
		/* Nothing further can be read: one line, as for a parent that cannot be searched. */
		vl_error("check: lockspace %s: permission denied; run as its owner, root or a member of its "
			 "group",
			 c.dir);
		status = VL_EXIT_NOPERM;
		goto out;
	}
	int sanlock = !err && strcmp(lockspace_backend(ls), LOCKSPACE_BACKEND_SANLOCK) == 0;
	if (!err)
		add(&c, SEV_OK, "lockspace", NULL, "%s: %s backend", lockspace_dir(ls),
		    lockspace_backend(ls));
	else if (err != -EPERM)
		add(&c, SEV_ERROR, "lockspace", NULL, "%s: %s", c.dir, lockspace_strerror(err));
	int refused = check_ownership(&c, c.dir, &st);
	if (err == -EPERM && !refused)
		add(&c, SEV_ERROR, "ownership", "check it and its " LOCKSPACE_HOLDERS_DIR,
		    "%s: virlock refuses its ownership or mode", c.dir);
	check_filesystem(&c, ls ? lockspace_dir(ls) : c.dir, sanlock);
	if (sanlock)
		check_sanlock(&c, ls);
	if (ls)
		check_locks(&c, ls, !sanlock || (c.sl.daemon && c.sl.host_id));
	if (c.oom) {
		vl_error("check: %s", strerror(ENOMEM));
		status = VL_EXIT_OSERR;
		goto out;
	}
	if (json)
		print_json(&c, ls ? lockspace_backend(ls) : NULL);
	else
		print_text(&c, quiet);
	status = c.worst == SEV_ERROR ? CHECK_EXIT_ERROR : c.worst == SEV_WARN ? CHECK_EXIT_WARN : VL_EXIT_OK;
out:
	lockspace_close(ls);
	check_free(&c);
	free(dflt);
	return status;
}

const struct virlock_cmd vl_cmd_check = {
	.name = "check",
	.summary = "say whether the lockspace can protect anything, and what is wrong",
	.help = "Say whether the lockspace can protect anything, and what is wrong with it.",
	.usage = "[OPTION...]",
	.options = options,
	.help_extra = help_extra,
	.lockspace = VL_LOCKSPACE_EXISTING,
	.no_direct = "--direct has no lockspace to check; give -L DIR or drop --direct",
	.run = run,
};
