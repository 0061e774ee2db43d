/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* label.c: owner labels claimed with a lock the kernel keeps, so that one label has one live holder. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "internal.h"

/*
 * A label is claimed by an exclusive fcntl lock on <holders>/owner.<md5 of
 * the label>, kept until the handle lets it go or the process dies. Records
 * are written after the fact and can lie (a crash leaves one behind); the
 * lock cannot, and F_GETLK on the file names the pid that owns the label.
 * The file goes through the process-wide table like a lock file: a close of
 * another descriptor of it in this process would drop the claim.
 */

int lsi_label_valid(const char *owner)
{
	if (!owner || !*owner || strlen(owner) > LOCKSPACE_OWNER_MAX)
		return 0;
	for (const char *s = owner; *s; s++)
		if (*s == '\n' || *s == '\r')
			return 0;
	return 1;
}

static void label_file(const char *owner, char out[LSI_LABEL_FILE_LEN])
{
	char md5[LOCKSPACE_NAME_LEN + 1];
	lsi_md5_hex(owner, strlen(owner), md5);
	snprintf(out, LSI_LABEL_FILE_LEN, "%s%s", LSI_LABEL_PREFIX, md5);
}

enum label_table_state {
	LABEL_NOT_IN_TABLE,
	LABEL_HELD_HERE,    /* another handle or thread of this process has the label */
	LABEL_BEING_CLAIMED /* a thread of this process is taking it, and may fail */
};

/* Is the label file @file in this process's table, and is its claim
 * settled? The table is locked by the caller. */
static enum label_table_state label_in_table_locked(int dfd, const char *file)
{
	struct stat st;
	struct lsi_entry *e = lsi_table_count() && fstatat(dfd, file, &st, AT_SYMLINK_NOFOLLOW) == 0
				      ? lsi_table_find(st.st_dev, st.st_ino)
				      : NULL;
	return !e ? LABEL_NOT_IN_TABLE : e->pending ? LABEL_BEING_CLAIMED : LABEL_HELD_HERE;
}

static enum label_table_state label_in_table(int dfd, const char *file)
{
	lsi_table_lock();
	enum label_table_state state = label_in_table_locked(dfd, file);
	lsi_table_unlock();
	return state;
}

/* Wait for a change of the table, or answer busy. */
static int label_wait_table(int wait, const struct timespec *deadline)
{
	if (!wait)
		return -EBUSY;
	lsi_table_lock();
	int err = lsi_table_wait(deadline);
	lsi_table_unlock();
	return err < 0 ? err : -EAGAIN;
}

/* How long a claim without wait gives a label file that someone holds: a
 * prune holds a free one only while it unlinks it. */
#define LABEL_SETTLE_MS 100

/*
 * A claim without wait found the label file @fd busy. A holder keeps it; a
 * prune (or a holder letting go) holds it only while it unlinks it. So:
 * unlinked already, or free now: look again (-EAGAIN); otherwise give the
 * holder a moment to be a prune, and answer -EBUSY only if it still holds.
 */
static int label_settle(int dfd, const char *file, int fd, const struct stat *st)
{
	struct stat now;
	if (fstatat(dfd, file, &now, AT_SYMLINK_NOFOLLOW) < 0 || now.st_dev != st->st_dev ||
	    now.st_ino != st->st_ino)
		return -EAGAIN;
	enum lockspace_state state;
	pid_t pid;
	if (lsi_fcntl_probe(fd, &state, &pid) == 0 && state == LOCKSPACE_STATE_FREE)
		return -EAGAIN;
	struct timespec settle;
	lsi_deadline(&settle, LABEL_SETTLE_MS);
	int err = lsi_fcntl_lock(fd, 0, 1, &settle);
	return err == -ETIMEDOUT ? -EBUSY : err;
}

/* One attempt to lock the label file: 0 (held: *out), -EAGAIN (look again) or an error. */
static int label_lock(struct lockspace *ls, int dfd, const char *file, int wait,
		      const struct timespec *deadline, struct lsi_entry **out)
{
	if (label_in_table(dfd, file) != LABEL_NOT_IN_TABLE)
		return label_wait_table(wait, deadline);
	int fd = openat(dfd, file, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
			ls->group ? 0660 : 0600);
	if (fd < 0)
		return errno == ELOOP ? -EBADMSG : -errno;
	struct stat st;
	int bad = fstat(fd, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? 0 : -EBADMSG;
	if (bad < 0) {
		lsi_close_unheld(fd);
		return bad;
	}
	/* Another member of a group lockspace must be able to claim it later,
	 * whatever this process's umask made of it. */
	if (ls->group && (st.st_mode & 0777) != 0660 && st.st_uid == geteuid())
		(void)fchmod(fd, 0660);
	lsi_table_lock();
	struct lsi_entry *e = lsi_table_find(st.st_dev, st.st_ino);
	if (e) {
		int err = lsi_entry_stash(e, fd);
		lsi_table_unlock();
		if (err < 0)
			return err;
		return label_wait_table(wait, deadline);
	}
	e = lsi_table_insert(st.st_dev, st.st_ino, fd, 0, NULL, 0);
	lsi_table_unlock();
	if (!e) {
		close(fd);
		return -ENOMEM;
	}
	int err = lsi_fcntl_lock(fd, 0, wait, deadline);
	if (err == -EBUSY)
		err = label_settle(dfd, file, fd, &st);
	if (err == 0) {
		/* A prune removes a free label file while it holds its lock: if
		 * the name leads elsewhere now, ours is an orphan; claim anew. */
		struct stat now;
		if (fstatat(dfd, file, &now, AT_SYMLINK_NOFOLLOW) < 0 || now.st_dev != st.st_dev ||
		    now.st_ino != st.st_ino)
			err = -EAGAIN;
	}
	lsi_table_lock();
	if (err == 0) {
		e->pending = 0;
		e->since = time(NULL);
		*out = e;
		lsi_table_broadcast(); /* lockspace_owner_pid() may wait for the claim to settle */
	} else {
		lsi_table_drop(e);
	}
	lsi_table_unlock();
	return err;
}

/* Claim @owner for @ls; the caller holds no claim of @ls for that label. */
static int label_claim(struct lockspace *ls, const char *owner, int wait, const struct timespec *deadline,
		       struct lsi_entry **out)
{
	char file[LSI_LABEL_FILE_LEN];
	label_file(owner, file);
	int dfd = lsi_holders_dir(ls, 1);
	if (dfd < 0)
		return dfd;
	int err;
	do
		err = label_lock(ls, dfd, file, wait, deadline, out);
	while (err == -EAGAIN);
	close(dfd);
	return err;
}

/* Remove the label file while we still hold its lock (a claimer that opened
 * it meanwhile sees the name gone after locking, and makes a new one): a
 * label leaves nothing behind unless its holder dies. */
static void label_unlink(struct lockspace *ls)
{
	char file[LSI_LABEL_FILE_LEN];
	struct stat st;
	label_file(ls->label_owner, file);
	int dfd = lsi_holders_dir(ls, LSI_HOLDERS_OWN);
	if (dfd < 0)
		return;
	if (fstatat(dfd, file, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == ls->label->dev &&
	    st.st_ino == ls->label->ino)
		unlinkat(dfd, file, 0);
	close(dfd);
}

void lsi_label_drop(struct lockspace *ls)
{
	if (!ls->label)
		return;
	label_unlink(ls);
	lsi_table_lock();
	lsi_table_drop(ls->label); /* closes: the kernel lets the claim go */
	lsi_table_unlock();
	ls->label = NULL;
	free(ls->label_owner);
	ls->label_owner = NULL;
}

/* A forked child: the claim was the parent's, and its table forgot it. */
static void label_forget_parent(struct lockspace *ls)
{
	if (ls->label && ls->label_pid != getpid()) {
		ls->label = NULL;
		free(ls->label_owner);
		ls->label_owner = NULL;
	}
}

/* Make @e, the claim of @owner, the handle's, in place of any other. */
static int label_install(struct lockspace *ls, const char *owner, struct lsi_entry *e)
{
	char *copy = strdup(owner);
	if (!copy) {
		lsi_table_lock();
		lsi_table_drop(e);
		lsi_table_unlock();
		return -ENOMEM;
	}
	lsi_label_drop(ls);
	ls->label = e;
	ls->label_owner = copy;
	ls->label_pid = getpid();
	return 0;
}

int lsi_label_set(struct lockspace *ls, const char *owner, int wait, const struct timespec *deadline)
{
	label_forget_parent(ls);
	if (!owner) {
		lsi_label_drop(ls);
		return 0;
	}
	if (ls->label && strcmp(ls->label_owner, owner) == 0)
		return 0;
	struct lsi_entry *e = NULL;
	int err = label_claim(ls, owner, wait, deadline, &e);
	return err < 0 ? err : label_install(ls, owner, e);
}

int lockspace_claim_owner(struct lockspace *ls, const char *owner, unsigned flags, int timeout_ms)
{
	if (!ls || !lsi_label_valid(owner) || !LSI_FLAGS_OK(flags, LOCKSPACE_WAIT) ||
	    !LSI_TIMEOUT_OK(timeout_ms))
		return -EINVAL;
	if (ls->dirfd < 0)
		return -EOPNOTSUPP;
	struct timespec deadline_ts, *deadline = NULL;
	int wait = !!(flags & LOCKSPACE_WAIT);
	if (wait && timeout_ms >= 0) {
		lsi_deadline(&deadline_ts, timeout_ms);
		deadline = &deadline_ts;
	}
	pthread_mutex_lock(&ls->record_lock);
	int err = lsi_label_set(ls, owner, 0, NULL);
	pthread_mutex_unlock(&ls->record_lock);
	if (err != -EBUSY || !wait)
		return err;
	/* Wait without the record's mutex: the handle's other calls go on meanwhile. */
	struct lsi_entry *e = NULL;
	err = label_claim(ls, owner, 1, deadline, &e);
	if (err < 0)
		return err;
	pthread_mutex_lock(&ls->record_lock);
	label_forget_parent(ls);
	err = label_install(ls, owner, e);
	pthread_mutex_unlock(&ls->record_lock);
	return err;
}

/* The pid F_GETLK names as the holder of the label file @file: 0 with
 * *pid, -ENOENT if it is free (or missing), or -errno. */
static int label_probe_file(int dfd, const char *file, pid_t *pid)
{
	int fd = openat(dfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return errno == ELOOP ? -EBADMSG : -errno;
	enum lockspace_state state = LOCKSPACE_STATE_FREE;
	pid_t holder = 0;
	struct stat st;
	int err;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		err = -EBADMSG;
	else
		err = lsi_fcntl_probe(fd, &state, &holder);
	lsi_close_unheld(fd);
	if (err < 0)
		return err;
	if (state == LOCKSPACE_STATE_FREE || holder <= 0)
		return -ENOENT;
	*pid = holder;
	return 0;
}

/* How long lockspace_owner_pid() lets a claim of this process settle when
 * the kernel shows the label free: the claiming thread is then between its
 * table entry and its lock, or checks the lock it has just taken. */
#define LABEL_SETTLE_CLAIM_MS 1000

int lockspace_owner_pid(struct lockspace *ls, const char *owner, pid_t *pid)
{
	if (!ls || !pid || !lsi_label_valid(owner))
		return -EINVAL;
	*pid = 0;
	if (ls->dirfd < 0)
		return -EOPNOTSUPP;
	char file[LSI_LABEL_FILE_LEN];
	label_file(owner, file);
	int dfd = lsi_holders_dir(ls, 0);
	if (dfd < 0)
		return dfd;
	struct timespec deadline;
	lsi_deadline(&deadline, LABEL_SETTLE_CLAIM_MS);
	for (;;) {
		/* Claimed in this process: never open (and close) it behind the
		 * claim. A claim still being made is not ours yet: it may wait
		 * for another process (F_GETLK names it) or fail. */
		enum label_table_state here = label_in_table(dfd, file);
		if (here == LABEL_HELD_HERE) {
			close(dfd);
			*pid = getpid();
			return 0;
		}
		int err = label_probe_file(dfd, file, pid);
		if (here == LABEL_NOT_IN_TABLE || err != -ENOENT) {
			close(dfd);
			return err;
		}
		/* Free to F_GETLK, which never shows this process's own lock:
		 * the claiming thread may hold it already. Wait until it knows. */
		lsi_table_lock();
		err = label_in_table_locked(dfd, file) == LABEL_BEING_CLAIMED ? lsi_table_wait(&deadline) : 0;
		lsi_table_unlock();
		if (err == -ETIMEDOUT) {
			close(dfd);
			return -ENOENT;
		}
	}
}
