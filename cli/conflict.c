/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* conflict.c: naming who holds a resource that an acquire finds busy. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conflict.h"
#include "output.h"
#include "strutil.h"

struct who {
	char *buf;
	int named;
	char *lockfile; /* when the kernel named no holder: the file to look at closer */
	int remote;	/* fcntl: the kernel says the holder is on another host */
};

/* Append @s to @w->buf, escaped for one line of a terminal and cut to fit. */
static void who_add(struct who *w, const char *s)
{
	size_t len = strlen(w->buf);
	char part[VL_WHO_LEN / 8 + 4], esc[sizeof(part) * 4];
	size_t n = strlen(s), cut = VL_WHO_LEN / 8;
	if (n > cut) {
		/* A label may be long: its start says enough, cut between characters. */
		while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
			cut--;
		memcpy(part, s, cut);
		memcpy(part + cut, "...", 4);
	} else {
		memcpy(part, s, n + 1);
	}
	vl_escape(esc, part, VL_ESC_BACKSLASH | VL_ESC_BADUTF8);
	snprintf(w->buf + len, VL_WHO_LEN - len, "%s", esc);
}

static void who_addf(struct who *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void who_addf(struct who *w, const char *fmt, ...)
{
	size_t len = strlen(w->buf);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->buf + len, VL_WHO_LEN - len, fmt, ap);
	va_end(ap);
}

static void who_holder(struct who *w, const struct lockspace_holder *h)
{
	char tbuf[VL_TIME_LEN];
	if (h->pid <= 0) { /* on another host: its pids are not ours */
		who_addf(w, "host %u", h->host_id);
		if (h->host_name) {
			who_addf(w, " (");
			who_add(w, h->host_name);
			who_addf(w, ")");
		}
		return;
	}
	who_add(w, h->command ? h->command : "a process");
	who_addf(w, " (pid %d", (int)h->pid);
	if (h->host_id)
		who_addf(w, " on host %u", h->host_id);
	if (h->owner) {
		who_addf(w, ", owner ");
		who_add(w, h->owner);
	}
	if (h->flags & LOCKSPACE_HOLDER_NORECORD)
		who_addf(w, ", not a virlock holder");
	if (vl_format_time(h->since, tbuf))
		who_addf(w, ", since %s", tbuf);
	who_addf(w, ")");
}

static int who_info(const struct lockspace_info *info, void *arg)
{
	struct who *w = arg;
	size_t named = 0;
	for (size_t i = 0; i < info->nholders; i++) {
		const struct lockspace_holder *h = &info->holders[i];
		if (h->pid <= 0 && !h->host_id) {
			/* the kernel did not say who, or only that it is on another host */
			w->remote |= !!(h->flags & LOCKSPACE_HOLDER_REMOTE);
			continue;
		}
		if (!named)
			who_holder(w, h);
		named++;
	}
	if (named > 1)
		who_addf(w, " and %zu more", named - 1);
	w->named = named > 0;
	if (!named && info->state != LOCKSPACE_STATE_FREE && info->lockfile)
		w->lockfile = strdup(info->lockfile);
	return 0;
}

/*
 * F_GETLK names no process for an open file description lock (QEMU takes
 * those), so look for the process that holds byte 0 of @file, the byte a
 * lock of ours takes, among the locks of every process.
 */
static void who_file_lock(struct who *w, const char *file)
{
	struct lockspace_file_locks *fl = NULL;
	if (lockspace_file_locks(file, 0, &fl) < 0)
		return;
	for (size_t i = 0; i < fl->nlocks && !w->named; i++) {
		const struct lockspace_file_lock *l = &fl->locks[i];
		if (l->type == LOCKSPACE_FILE_LOCK_FLOCK || l->pid == getpid() || l->ranges[0].start != 0)
			continue;
		who_add(w, l->command ? l->command : "a process");
		who_addf(w, " (pid %d, an %s lock)", (int)l->pid,
			 l->type == LOCKSPACE_FILE_LOCK_OFD ? "open file description" : "fcntl");
		w->named = 1;
	}
	lockspace_file_locks_free(fl);
}

int vl_conflict_who(struct lockspace *ls, const char *resource, unsigned flags, char who[VL_WHO_LEN])
{
	struct who w = {.buf = who};
	who[0] = '\0';
	if (lockspace_inspect(ls, resource, flags & LOCKSPACE_LITERAL, who_info, &w) == 0 && !w.named &&
	    w.lockfile)
		who_file_lock(&w, w.lockfile); /* a process of this host first: its locks are sure */
	if (!w.named && w.remote) {
		who_addf(&w, "a process on another host (the lockspace is on a cluster filesystem)");
		w.named = 1;
	}
	free(w.lockfile);
	return w.named;
}
