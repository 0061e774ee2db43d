/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cmd_inspect.c: virlock inspect, everything about one resource as a key: value block or JSON. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonwrt.h"
#include "output.h"
#include "virlock.h"

static void print_key(const char *key, const char *value)
{
	printf("%-11s", key);
	vl_print_safe(stdout, value);
	putchar('\n');
}

static void print_pid(const char *key, pid_t pid)
{
	if (pid > 0)
		printf("%-11s%d\n", key, (int)pid);
	else
		printf("%-11s-\n", key);
}

/* The host of a sanlock holder, lease owner or record: its daemon's name
 * (sanlock daemon -e NAME), id and generation; the id alone when the name
 * cannot be read. */
static void print_host(const struct lockspace_holder *h)
{
	if (!h->host_id)
		return;
	printf("%-11s", "  host:");
	if (h->host_name) {
		vl_print_safe(stdout, h->host_name);
		printf(" (id %u, generation %llu", h->host_id, h->generation);
	} else {
		printf("%u (generation %llu", h->host_id, h->generation);
	}
	if ((h->flags & LOCKSPACE_HOLDER_STALE) && !h->pid)
		fputs(", older than the host's current one: the lease is lost", stdout);
	fputs(")\n", stdout);
}

/* What a corrupt file is, in this kind of lockspace. */
static const char *corrupt_why = " (the content does not hash to the name)";

/* What inspect_cb() needs besides the lock file's report. */
struct inspect_out {
	int json;
	int byname;			       /* the file is the lock file's verified path, if it is one */
	const char *file;		       /* the resource file, NULL for a literal or a deleted file */
	const struct lockspace_file_locks *fl; /* its locks, NULL if they could not be read */
	int fl_err;			       /* why not */
};

static const char *const lock_type_words[] = {
	[LOCKSPACE_FILE_LOCK_POSIX] = "posix",
	[LOCKSPACE_FILE_LOCK_OFD] = "ofd",
	[LOCKSPACE_FILE_LOCK_FLOCK] = "flock",
};

/* 1 if every range of @l is one of QEMU's image-locking bytes. */
static int all_qemu(const struct lockspace_file_lock *l)
{
	for (size_t i = 0; i < l->nranges; i++)
		if (!lockspace_qemu_decode(l->ranges[i].start, l->ranges[i].end, l->ranges[i].to_eof, NULL,
					   NULL))
			return 0;
	return l->qemu;
}

/* "consistent-read, write": the words of @perms. */
static void print_perms(unsigned perms)
{
	const char *sep = "";
	for (unsigned n = 0; n < LOCKSPACE_QEMU_NPERMS; n++)
		if (perms & (1u << n)) {
			printf("%s%s", sep, lockspace_qemu_perm_name(1u << n));
			sep = ", ";
		}
}

/* "holds consistent-read, write; does not share write": QEMU's bytes decoded. */
static void print_qemu(const struct lockspace_file_lock *l)
{
	fputs("holds ", stdout);
	if (l->qemu_perms)
		print_perms(l->qemu_perms);
	else
		fputs("nothing", stdout);
	if (l->qemu_unshared) {
		fputs("; does not share ", stdout);
		print_perms(l->qemu_unshared);
	}
}

/* "posix exclusive bytes 0-0, 5-EOF (shared)": kind, mode and ranges; a
 * range's mode only where it differs from the whole's. */
static void print_ranges(const struct lockspace_file_lock *l)
{
	printf("%s %s", lock_type_words[l->type], vl_state_word(l->mode));
	if (l->type == LOCKSPACE_FILE_LOCK_FLOCK)
		return; /* always the whole file */
	fputs(" bytes ", stdout);
	for (size_t i = 0; i < l->nranges; i++) {
		const struct lockspace_file_range *r = &l->ranges[i];
		printf("%s%llu-", i ? ", " : "", r->start);
		if (r->to_eof)
			fputs("EOF", stdout);
		else
			printf("%llu", r->end);
		if (r->mode != l->mode)
			printf(" (%s)", vl_state_word(r->mode));
	}
}

/* One line per holder process of a lock on the resource file itself. */
static void print_file_locks(const struct inspect_out *o)
{
	if (!o->file)
		return;
	if (!o->fl) {
		printf("file locks: cannot be read (%s)\n", lockspace_strerror(o->fl_err));
		return;
	}
	if (o->fl->nlocks)
		printf("file locks: %zu\n", o->fl->nlocks);
	else
		fputs(o->fl->incomplete ? "file locks: none visible\n" : "file locks: none\n", stdout);
	for (size_t i = 0; i < o->fl->nlocks; i++) {
		const struct lockspace_file_lock *l = &o->fl->locks[i];
		fputs("  ", stdout);
		vl_print_safe(stdout, l->command ? l->command : "?");
		printf(" (pid %d) ", (int)l->pid);
		if (all_qemu(l)) {
			print_qemu(l);
		} else {
			print_ranges(l);
			if (l->qemu) {
				fputs("; ", stdout);
				print_qemu(l);
			}
		}
		putchar('\n');
	}
	if (!o->fl->incomplete)
		return;
	size_t n = o->fl->unreadable;
	fputs("  (the list may be incomplete: ", stdout);
	if (n)
		printf("%zu %s could not be read", n, n == 1 ? "process" : "processes");
	else
		fputs("the kernel shows a lock that no visible process holds", stdout);
	puts(geteuid() ? "; root sees more)" : ")");
}

static void print_text(const struct lockspace_info *info, const pid_t *waiters, size_t nwaiters,
		       const struct inspect_out *o)
{
	char tbuf[VL_TIME_LEN];
	print_key("name:", info->name);
	print_key("path:", info->path || info->integrity != -ENODATA
				   ? info->path
				   : "unknown (empty lock file, as virtlockd leaves them)");
	print_key("lock file:", info->lockfile ? info->lockfile : "none (no lock file of it here)");
	printf("%-11s%s", "integrity:", info->lockfile ? vl_integrity_word(info->integrity) : "-");
	if (info->integrity == -EBADMSG)
		fputs(corrupt_why, stdout);
	else if (info->lockfile && info->integrity != 0 && info->integrity != -ENODATA)
		printf(" (%s)", lockspace_strerror(info->integrity));
	putchar('\n');
	print_key("state:", vl_state_word(info->state));
	printf("%-11s%zu\n", "holders:", info->nholders);
	for (size_t i = 0; i < info->nholders; i++) {
		const struct lockspace_holder *h = &info->holders[i];
		if ((h->flags & LOCKSPACE_HOLDER_REMOTE) && !h->host_id)
			puts("holder:    - (held on another host)"); /* fcntl: which one is not known */
		else
			print_pid("holder:", h->pid);
		print_host(h);
		print_key("  mode:", vl_state_word(h->mode));
		print_key("  command:", h->command);
		print_key("  owner:", h->owner);
		print_pid("  child:", h->child);
		print_key("  since:", vl_format_time(h->since, tbuf));
		print_key("  status:", vl_holder_word(h));
	}
	printf("%-11s", "waiters:");
	if (nwaiters == 0)
		fputs("none", stdout);
	for (size_t i = 0; i < nwaiters; i++) {
		printf("%s%d", i ? " " : "", (int)waiters[i]);
		if (!info->waiter_hosts) /* sanlock: the pid is that host's */
			continue;
		const char *hn = info->waiter_host_names ? info->waiter_host_names[i] : NULL;
		if (hn) {
			fputs(" (host ", stdout);
			vl_print_safe(stdout, hn);
			printf(", id %u)", info->waiter_hosts[i]);
		} else {
			printf(" (host %u)", info->waiter_hosts[i]);
		}
	}
	putchar('\n');
	print_file_locks(o);
	/* Records the kernel does not confirm: apart, so that no one counts them. */
	if (!info->nstale)
		return;
	printf("stale records: %zu (no lock behind them; 'virlock prune' removes those of ended "
	       "processes)\n",
	       info->nstale);
	for (size_t i = 0; i < info->nstale; i++) {
		const struct lockspace_holder *h = &info->stale[i];
		print_pid("record:", h->pid);
		print_host(h);
		print_key("  claimed:", vl_state_word(h->mode));
		print_key("  command:", h->command);
		print_key("  owner:", h->owner);
		print_pid("  child:", h->child);
		print_key("  since:", vl_format_time(h->since, tbuf));
	}
}

/* A pid, or null when unknown. */
static void json_pid(struct vl_json *j, const char *name, pid_t pid)
{
	if (pid > 0)
		vl_json_int(j, name, pid);
	else
		vl_json_null(j, name);
}

/* An array of holders, or of @stale records: their mode is only "claimed".
 * The keys are the list columns' names. */
static void json_holders(struct vl_json *j, const char *name, const struct lockspace_holder *hs, size_t n,
			 int stale)
{
	char tbuf[VL_TIME_LEN];
	vl_json_open(j, name, '[', 0);
	for (size_t i = 0; i < n; i++) {
		const struct lockspace_holder *h = &hs[i];
		vl_json_open(j, NULL, '{', 0);
		json_pid(j, "pid", h->pid);
		if (h->host_id) {
			vl_json_uint(j, "host", h->host_id);
			vl_json_string(j, "hostname", h->host_name);
			vl_json_uint(j, "gen", h->generation);
		} else if (!stale) { /* a stale record of fcntl has no host */
			vl_json_null(j, "host");
			vl_json_null(j, "hostname");
			vl_json_null(j, "gen");
		}
		vl_json_string(j, stale ? "claimed" : "mode", vl_state_word(h->mode));
		vl_json_string(j, "command", h->command);
		vl_json_string(j, "owner", h->owner);
		json_pid(j, "child", h->child);
		vl_json_string(j, "since", vl_format_time(h->since, tbuf));
		vl_json_string(j, "status", vl_holder_word(h));
		vl_json_close(j, '}');
	}
	vl_json_close(j, ']');
}

/* The words of @perms as a JSON array. */
static void json_perms(struct vl_json *j, const char *name, unsigned perms)
{
	vl_json_open(j, name, '[', 1);
	for (unsigned n = 0; n < LOCKSPACE_QEMU_NPERMS; n++)
		if (perms & (1u << n))
			vl_json_string(j, NULL, lockspace_qemu_perm_name(1u << n));
	vl_json_close(j, ']');
}

static void json_file_locks(struct vl_json *j, const struct inspect_out *o)
{
	if (!o->fl) { /* no file (a literal, a deleted file), or it could not be read */
		vl_json_null(j, "file_locks");
		vl_json_null(j, "file_locks_incomplete");
		return;
	}
	vl_json_open(j, "file_locks", '[', 0);
	for (size_t i = 0; i < o->fl->nlocks; i++) {
		const struct lockspace_file_lock *l = &o->fl->locks[i];
		vl_json_open(j, NULL, '{', 0);
		vl_json_int(j, "pid", l->pid);
		vl_json_string(j, "command", l->command);
		vl_json_string(j, "type", lock_type_words[l->type]);
		vl_json_string(j, "mode", vl_state_word(l->mode));
		vl_json_open(j, "ranges", '[', 0);
		for (size_t k = 0; k < l->nranges; k++) {
			const struct lockspace_file_range *r = &l->ranges[k];
			vl_json_open(j, NULL, '{', 0);
			vl_json_uint(j, "start", r->start);
			if (r->to_eof)
				vl_json_null(j, "end");
			else
				vl_json_uint(j, "end", r->end);
			vl_json_string(j, "mode", vl_state_word(r->mode));
			vl_json_close(j, '}');
		}
		vl_json_close(j, ']');
		if (l->qemu) {
			json_perms(j, "qemu_perms", l->qemu_perms);
			json_perms(j, "qemu_unshared", l->qemu_unshared);
		} else {
			vl_json_null(j, "qemu_perms");
			vl_json_null(j, "qemu_unshared");
		}
		vl_json_close(j, '}');
	}
	vl_json_close(j, ']');
	vl_json_bool(j, "file_locks_incomplete", o->fl->incomplete);
}

static void print_json(const struct lockspace_info *info, const pid_t *waiters, size_t nwaiters,
		       const struct inspect_out *o)
{
	struct vl_json j = {.out = stdout};
	vl_json_open(&j, NULL, '{', 0);
	vl_json_string(&j, "name", info->name);
	vl_json_string(&j, "path", info->path);
	vl_json_string(&j, "lockfile", info->lockfile);
	vl_json_string(&j, "integrity", info->lockfile ? vl_integrity_word(info->integrity) : NULL);
	vl_json_string(&j, "state", vl_state_word(info->state));
	json_holders(&j, "holders", info->holders, info->nholders, 0);
	vl_json_open(&j, "waiters", '[', 1);
	for (size_t i = 0; i < nwaiters; i++)
		vl_json_int(&j, NULL, waiters[i]);
	vl_json_close(&j, ']');
	if (info->waiter_hosts) { /* sanlock: the host of each waiter */
		vl_json_open(&j, "waiter_hosts", '[', 1);
		for (size_t i = 0; i < nwaiters; i++)
			vl_json_uint(&j, NULL, info->waiter_hosts[i]);
		vl_json_close(&j, ']');
		vl_json_open(&j, "waiter_hostnames", '[', 1);
		for (size_t i = 0; i < nwaiters; i++)
			vl_json_string(&j, NULL, info->waiter_host_names ? info->waiter_host_names[i] : NULL);
		vl_json_close(&j, ']');
	}
	json_holders(&j, "stale_records", info->stale, info->nstale, 1);
	json_file_locks(&j, o);
	vl_json_close(&j, '}');
	putchar('\n');
}

/* The locks on the resource file itself, whoever took them: of a path given
 * as such, or of the verified path that a name's lock file records (a
 * literal, and a file deleted since, have none). */
static int read_file_locks(struct inspect_out *o, const struct lockspace_info *info,
			   struct lockspace_file_locks **fl)
{
	struct stat st;
	if (o->byname)
		o->file = info->integrity == 0 && info->path && info->path[0] == '/' &&
					  stat(info->path, &st) == 0
				  ? info->path
				  : NULL;
	if (!o->file)
		return 0;
	o->fl_err = lockspace_file_locks(o->file, 0, fl);
	o->fl = *fl;
	return o->fl_err == -ENOMEM ? o->fl_err : 0;
}

static int inspect_cb(const struct lockspace_info *info, void *arg)
{
	struct inspect_out *o = arg;
	struct lockspace_file_locks *fl = NULL;
	const pid_t *waiters = info->waiters;
	size_t nwaiters = info->nwaiters;
	pid_t *unique = NULL;
	/* sanlock: one entry per waiter of each host, none twice already. */
	if (!info->waiter_hosts) {
		if (vl_waiters_unique(info->waiters, info->nwaiters, &unique, &nwaiters) < 0)
			return -ENOMEM;
		waiters = unique;
	}
	int err = read_file_locks(o, info, &fl);
	if (!err && o->json)
		print_json(info, waiters, nwaiters, o);
	else if (!err)
		print_text(info, waiters, nwaiters, o);
	lockspace_file_locks_free(fl);
	free(unique);
	return err;
}

/*
 * A path that names a lock file of this lockspace means that lock file, not a
 * resource of its own: 'virlock inspect $LS/NAME' inspects NAME. On a match
 * return 1 and copy the name into @name.
 */
static int lockfile_name(struct lockspace *ls, const char *path, char name[LOCKSPACE_NAME_LEN + 1])
{
	const char *dir = lockspace_dir(ls);
	char *canon = NULL;
	int match = 0;
	if (!dir || lockspace_canonical(path, 0, &canon) < 0)
		return 0;
	size_t dlen = strlen(dir);
	if (strncmp(canon, dir, dlen) == 0 && canon[dlen] == '/' && lockspace_valid_name(canon + dlen + 1)) {
		memcpy(name, canon + dlen + 1, strlen(canon + dlen + 1) + 1);
		match = 1;
	}
	free(canon);
	return match;
}

/*
 * An existing file that has no lock file here (or no lockspace at all):
 * free as far as virlock goes, but another program may lock the file
 * itself (a QEMU started by hand). Report it as inspect_cb() does, free
 * with no lock file, when it does; 0 when nothing locks it either (the
 * caller says "no lock file"), 1 when reported, or -errno.
 */
static int inspect_unlocked(const char *res, struct inspect_out *o)
{
	struct lockspace_file_locks *fl = NULL;
	struct lockspace_info info = {.integrity = -ENOENT, .state = LOCKSPACE_STATE_FREE};
	char *canon = NULL;
	int err = lockspace_file_locks(res, 0, &fl);
	if (err == -ENOMEM)
		return err;
	if (err < 0 || (!fl->nlocks && !fl->incomplete) || lockspace_name(res, vl_hash, info.name) < 0 ||
	    lockspace_canonical(res, vl_hash, &canon) < 0) {
		lockspace_file_locks_free(fl);
		return 0;
	}
	info.path = canon;
	o->fl = fl;
	o->file = res;
	if (o->json)
		print_json(&info, NULL, 0, o);
	else
		print_text(&info, NULL, 0, o);
	lockspace_file_locks_free(fl);
	free(canon);
	return 1;
}

/* A path that does not exist and has no lock file either. */
static int no_such_file(const char *res)
{
	vl_error("%s: no such file; give an existing path, a name from 'virlock list -o NAME', or --literal "
		 "for a string resource",
		 res);
	return VL_EXIT_NOINPUT;
}

static int json, literal;

static struct poptOption options[] = {
	{"json", 'J', POPT_ARG_NONE, &json, 0, "use JSON output format", NULL},
	{"literal", '\0', POPT_ARG_NONE, &literal, 0, "take RESOURCE as a string, not a path", NULL},
	VL_POPT_STANDARD,
	POPT_TABLEEND,
};

static int run(struct virlock_ctx *ctx, int nargs, const char **args)
{
	struct lockspace *ls = NULL;
	char *missing = NULL;
	int status = VL_EXIT_USAGE;

	if (nargs != 1) {
		vl_error("inspect: %s; try 'virlock inspect --help'",
			 nargs ? "give one resource only" : "no resource given");
		goto out;
	}
	const char *res = args[0];
	if (!*res) {
		vl_error("inspect: an empty resource name; give a path, a name or a lease name with "
			 "--literal");
		goto out;
	}
	unsigned flags = 0;
	int is_path = 0;
	struct stat st;
	if (literal) {
		flags = LOCKSPACE_LITERAL;
	} else if (stat(res, &st) == 0) {
		is_path = 1;
	} else if (errno != ENOENT) {
		status = vl_resource_error(res, -errno);
		goto out;
	} else if (lockspace_valid_name(res)) {
		if (ctx->direct) {
			vl_error("%s: a lock name needs a lockspace; give the resource's path with --direct",
				 res);
			goto out;
		}
		flags = LOCKSPACE_BYNAME;
	} else {
		/* A deleted file: its holder may still hold the lock it took while it existed. */
		flags = LOCKSPACE_LOOKUP;
	}

	status = vl_lockspace_open(ctx, &ls, &missing);
	if (status != VL_EXIT_OK)
		goto out;
	if (!ls && (flags & LOCKSPACE_LOOKUP)) {
		status = no_such_file(res);
		goto out;
	}
	struct inspect_out o = {.json = json, .file = is_path ? res : NULL};
	int done = !ls && is_path ? inspect_unlocked(res, &o) : 0;
	if (done != 0) {
		status = done < 0 ? vl_resource_error(res, done) : VL_EXIT_OK;
		goto out;
	}
	if (!ls) {
		vl_error("%s: no lockspace %s; nothing has locked anything there yet", res, missing);
		status = VL_EXIT_NOINPUT;
		goto out;
	}
	char name[LOCKSPACE_NAME_LEN + 1];
	const char *what = res;
	if (is_path && lockfile_name(ls, res, name)) {
		what = name;
		flags = LOCKSPACE_BYNAME;
	}
	if (strcmp(lockspace_backend(ls), LOCKSPACE_BACKEND_SANLOCK) == 0)
		corrupt_why = " (not a lease of this lockspace, or its path does not hash to the name)";
	o.byname = (flags & LOCKSPACE_BYNAME) != 0;
	o.file = is_path && what == res ? res : NULL;
	int err = lockspace_inspect(ls, what, flags, inspect_cb, &o);
	if (err == -ENOENT && o.file && !ctx->direct && (done = inspect_unlocked(res, &o)) != 0)
		err = done < 0 ? done : 0;
	if (err == -ENOENT) {
		if (ctx->direct)
			vl_error("%s: no such file; check the path", res);
		else if (flags & LOCKSPACE_LOOKUP)
			no_such_file(res);
		else
			vl_error("%s: no lock file in %s; nothing has locked it since the last prune", res,
				 lockspace_dir(ls));
		status = VL_EXIT_NOINPUT;
		goto out;
	}
	if (err < 0) {
		status = vl_resource_error(res, err);
		goto out;
	}
	status = VL_EXIT_OK;
out:
	lockspace_close(ls);
	free(missing);
	return status;
}

const struct virlock_cmd vl_cmd_inspect = {
	.name = "inspect",
	.summary = "show everything about one resource",
	.help = "Show everything about one resource: its lock file, holders and waiters.",
	.usage = "[OPTION...] RESOURCE-or-NAME",
	.options = options,
	.lockspace = VL_LOCKSPACE_EXISTING,
	.run = run,
};
