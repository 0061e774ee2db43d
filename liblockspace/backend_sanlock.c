/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* backend_sanlock.c: the sanlock backend's protocol: leases taken, waited for, released and lost. */
#ifdef HAVE_SANLOCK
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sanlock_rv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "internal.h"
#include "sanlock_backend.h"
#include "sanlock_client.h" /* the sanlock_* calls, through the library opened on first use */

#define SL_STALE_TRIES	  100 /* leases of pruned files in a row before giving up */
#define SL_STALE_PAUSE_MS 10

/* The leases this process holds, whichever handle took them. */
struct sl_hold {
	struct sl_hold *next;
	struct lockspace *ls;
	char lsname[SANLK_NAME_LEN + 1];
	char name[LOCKSPACE_NAME_LEN + 1];
	int shared;
	time_t since;
};

/* A lease an acquire of this process waits for: its record says so. */
struct sl_wait {
	struct sl_wait *next;
	struct lockspace *ls;
	const void *call; /* the acquire that waits: two threads of a handle may */
	char name[LOCKSPACE_NAME_LEN + 1];
	int shared;
	time_t since;
};

static pthread_mutex_t sl_mutex = PTHREAD_MUTEX_INITIALIZER; /* libsanlock wants one caller per socket */
static struct sl_hold *sl_holds;
static struct sl_wait *sl_waits;
static int sl_sock = -1;
static pid_t sl_pid;
static pid_t sl_daemon_pid; /* the daemon at the other end of sl_sock */
static int sl_gone;	    /* sl_sock's daemon went away or revoked our leases */

/* A forked child holds nothing: the daemon tied the leases to the parent. */
static void sl_forget_if_forked(void)
{
	if (sl_pid == getpid())
		return;
	while (sl_holds) {
		struct sl_hold *h = sl_holds;
		sl_holds = h->next;
		free(h);
	}
	while (sl_waits) {
		struct sl_wait *w = sl_waits;
		sl_waits = w->next;
		free(w);
	}
	if (sl_sock >= 0)
		close(sl_sock);
	sl_sock = -1;
	sl_daemon_pid = 0;
	sl_gone = 0;
	sl_pid = getpid();
}

/* Map sanlock's return codes onto the library's. */
int lsi_sl_err(int rv)
{
	if (rv >= 0)
		return 0;
	switch (rv) {
	case SANLK_ACQUIRE_IDLIVE:
	case SANLK_ACQUIRE_OWNED:
	case SANLK_ACQUIRE_OTHER:
	case SANLK_ACQUIRE_SHRETRY:
	case SANLK_ACQUIRE_OWNED_RETRY:
	case -EAGAIN:
	case -EBUSY:
	case -EEXIST: /* held by another process of this host */
		return -EBUSY;
	case SANLK_ACQUIRE_LVER: /* lockspace_acquire_expect(): acquired since the hand-off */
		return -ECANCELED;
	case SANLK_ACQUIRE_LOCKSPACE:
	case -ENOSPC: /* the daemon's "no such lockspace" */
		return -ENOTCONN;
	case SANLK_HOSTID_BUSY:
		return -EADDRINUSE;
	case SANLK_ADDLS_INVALID_HOSTID:
		return -EINVAL;
	case -ECONNREFUSED:
		return -ECONNREFUSED;
	case -EPIPE: /* written to a daemon that is gone (SIGPIPE is blocked around every call) */
	case -ECONNRESET:
		return -ENOLINK;
	case -EMSGSIZE: /* the file is smaller than a lease: not one */
		return -EBADMSG;
	default:
		if (rv <= SANLK_LEADER_READ && rv >= SANLK_LEADER_CHECKSUM)
			return rv == SANLK_LEADER_READ || rv == SANLK_LEADER_WRITE ? -EIO : -EBADMSG;
		if (rv < -200)
			return -EIO;
		return rv > -4096 ? rv : -EIO;
	}
}

static int sl_open(struct lockspace *ls, char *config)
{
	(void)ls;
	/* The config is the lockspace name and a newline. */
	char *nl = strchr(config, '\n');
	if (!nl || nl[1] || nl == config || nl - config >= SANLK_NAME_LEN)
		return -EBADMSG;
	*nl = '\0';
	return 0;
}

static struct sl_hold *sl_find(const struct lockspace *ls, const char *name, int any_handle)
{
	for (struct sl_hold *h = sl_holds; h; h = h->next)
		if ((any_handle || h->ls == ls) && strcmp(h->name, name) == 0 &&
		    strcmp(h->lsname, ls->backend_config) == 0)
			return h;
	return NULL;
}

/* Did sl_sock's connection end (sl_mutex held)? The daemon writes to it only
 * its replies to sanlock_acquire() and sanlock_release(), which read them
 * under sl_mutex: readable here, with the mutex held, means its end. */
static int sl_sock_ended(void)
{
	struct pollfd p = {.fd = sl_sock, .events = POLLIN};
	char c;
	return poll(&p, 1, 0) == 1 && ((p.revents & (POLLHUP | POLLERR | POLLNVAL)) ||
				       recv(sl_sock, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0);
}

/* Register this process with the daemon (sl_mutex held): the daemon then
 * frees its leases when it dies. Once: again only after the registration
 * was lost (the daemon went away, or revoked the leases) and every hold of
 * it released, so that a long-lived process can take leases again from the
 * daemon that replaced it. */
static int sl_register(void)
{
	if (sl_sock >= 0 && (sl_holds || !(sl_gone || sl_sock_ended())))
		return 0;
	if (sl_sock >= 0)
		close(sl_sock);
	sl_sock = -1;
	int sock = sanlock_register();
	if (sock < 0)
		return sock == -ENOENT || sock == -ECONNREFUSED ? -ECONNREFUSED : lsi_sl_err(sock);
	fcntl(sock, F_SETFD, FD_CLOEXEC);
	struct ucred cred;
	socklen_t len = sizeof(cred);
	sl_daemon_pid = getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 ? cred.pid : 0;
	sl_sock = sock;
	sl_gone = 0;
	return 0;
}

/* Release @h (sl_mutex held) and free it. */
static int sl_drop(struct lockspace *ls, struct sl_hold *h)
{
	struct sl_res res;
	int err = lsi_sl_res_struct(ls, h->name, NULL, h->shared, &res);
	struct sanlk_resource *rp = &res.r;
	if (sl_gone)
		err = -ENOLINK; /* the daemon holds nothing for us any more: forget it */
	else if (!err && sl_sock >= 0)
		err = lsi_sl_err(sanlock_release(sl_sock, -1, 0, 1, &rp));
	for (struct sl_hold **p = &sl_holds; *p; p = &(*p)->next)
		if (*p == h) {
			*p = h->next;
			break;
		}
	free(h);
	return err;
}

/* Is the lease file @name, expected in the hand-off state @expect, another
 * than the one of its hand-off (its identity differs: pruned and made
 * again), or, unless we hold it (@held), at another version? 1 yes, 0 no (or
 * it cannot be read: the acquire says why). *@now gets the state read (0 if
 * none was). */
static int sl_expect_gone(const struct lockspace *ls, const char *name, uint64_t expect, int held,
			  uint64_t *now)
{
	*now = 0;
	if ((expect & SL_STATE_LVER) == 0 || lsi_sl_handoff_state(ls, name, now) != 0)
		return (expect & SL_STATE_LVER) == 0;
	if ((*now >> 32) != (expect >> 32))
		return 1;
	/* Held by us, the daemon checked the version (and raised it). */
	return !held && (*now & SL_STATE_LVER) != (expect & SL_STATE_LVER);
}

/* Drop the holds of @ls on @names[0..@n) (sl_mutex held). */
static void sl_drop_names(struct lockspace *ls, char (*names)[LOCKSPACE_NAME_LEN + 1], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct sl_hold *h = sl_find(ls, names[i], 0);
		if (h)
			sl_drop(ls, h);
	}
}

/* One try: take every lease or none. One lease per sanlock call (it takes 8
 * at most, and would not say which one failed); a failure gives back the
 * ones before it, so that a waiter never holds some while it waits.
 * @expect[i] is the hand-off state t[i] expects: the acquire of a lease
 * raises its version, so once taken it is expected from then on at the
 * version this try left (in @expect and, for the daemon, in rp[i]), should a
 * later lease be busy and it be given back: taken by anyone else before the
 * next try, it is gone. */
static int sl_try(struct lockspace *ls, const struct lsi_target *t, uint64_t *expect,
		  char (*names)[LOCKSPACE_NAME_LEN + 1], struct sanlk_resource **rp, struct sl_hold **spare,
		  size_t n, int shared, size_t *bad)
{
	size_t i, got = 0;
	uint64_t now;
	for (i = 0; i < n; i++)
		if (sl_find(ls, names[i], 1)) {
			*bad = i;
			return t[i].expect ? -ECANCELED : -EBUSY; /* held by this process: never twice */
		}
	/* Expecting: every lease still in its state, before any is taken
	 * (an acquire raises the version: a later refusal would void it). */
	for (i = 0; i < n; i++)
		if (t[i].expect && sl_expect_gone(ls, names[i], expect[i], 0, &now)) {
			*bad = i;
			return -ECANCELED;
		}
	uint64_t self_id = 0, self_gen = 0;
	int err = sl_register();
	if (!err)
		err = lsi_sl_self(ls, &self_id, &self_gen);
	if (err)
		return err;
	for (; got < n; got++) {
		/* OWNER_NOWAIT: a lease whose owner host stopped renewing is busy
		 * at once, as a held one, not a wait of a minute inside the daemon
		 * (a waiter tries again until that host's lease expired). */
		int rv = sanlock_acquire(sl_sock, -1, SANLK_ACQUIRE_OWNER_NOWAIT, 1, rp + got, NULL);
		/* lsi_sl_self() found this host joined: the daemon could not open the
		 * file, which a prune removed since lsi_sl_ensure_lease() saw it. */
		err = rv == -ENOENT ? -ESTALE : lsi_sl_err(rv);
		if (!err && (err = lsi_sl_verify(ls, names[got], self_id, self_gen)) != 0)
			(void)sanlock_release(sl_sock, -1, 0, 1, rp + got); /* the lease of a pruned file */
		else if (!err && t[got].expect && sl_expect_gone(ls, names[got], expect[got], 1, &now)) {
			(void)sanlock_release(sl_sock, -1, 0, 1, rp + got); /* another lease file */
			err = -ECANCELED;
		} else if (!err && t[got].expect && now) {
			expect[got] = now; /* the version this acquire left */
			rp[got]->lver = now & SL_STATE_LVER;
		}
		if (err) {
			*bad = got;
			break;
		}
		struct sl_hold *h = spare[got];
		spare[got] = NULL;
		h->ls = ls;
		snprintf(h->lsname, sizeof(h->lsname), "%s", ls->backend_config);
		memcpy(h->name, names[got], sizeof(h->name));
		h->shared = shared;
		h->since = time(NULL);
		h->next = sl_holds;
		sl_holds = h;
	}
	if (err) {
		sl_drop_names(ls, names, got);
		for (i = 0; i < got; i++) /* sl_drop freed them: make new ones for a retry */
			if (!(spare[i] = calloc(1, sizeof(**spare))))
				err = -ENOMEM;
	}
	return err;
}

/* Add @names[0..@n) to the waits of @ls for the acquire @call; with @n 0,
 * take @call's out. Without memory a wait is only not reported. */
static void sl_wait_set(struct lockspace *ls, const void *call, char (*names)[LOCKSPACE_NAME_LEN + 1],
			size_t n, int shared)
{
	pthread_mutex_lock(&sl_mutex);
	sl_forget_if_forked();
	for (struct sl_wait **p = &sl_waits; *p;) {
		struct sl_wait *w = *p;
		if (w->call == call) {
			*p = w->next;
			free(w);
		} else {
			p = &w->next;
		}
	}
	time_t now = time(NULL);
	for (size_t i = 0; i < n; i++) {
		struct sl_wait *w = calloc(1, sizeof(*w));
		if (!w)
			break;
		*w = (struct sl_wait){
			.next = sl_waits, .ls = ls, .call = call, .shared = shared, .since = now};
		memcpy(w->name, names[i], sizeof(w->name));
		sl_waits = w;
	}
	pthread_mutex_unlock(&sl_mutex);
}

/* Sleep @ms, or less when the watched leader changes (read every @every ms
 * once @gap ms passed). Returns 1 if it changed, 0, or -EINTR if a caught
 * signal interrupted the sleep. */
static int sl_pause(struct sl_watch *w, long ms, long gap, long every)
{
	struct timespec end, quiet;
	lsi_deadline(&end, (int)ms);
	lsi_deadline(&quiet, (int)gap);
	long rest;
	while ((rest = lsi_ms_left(&end)) > 0) {
		long step = rest;
		if (w->fd >= 0) {
			long q = lsi_ms_left(&quiet);
			step = q > every ? q : every;
			step = step < rest ? step : rest;
		}
		struct timespec ts = {.tv_sec = step / 1000, .tv_nsec = (step % 1000) * 1000000L};
		if (nanosleep(&ts, NULL) < 0 && errno == EINTR)
			return -EINTR;
		if (lsi_sl_watch_changed(w))
			return 1;
	}
	return 0;
}

/* Take the leases of @t[0..@n) all or none, trying again while one is busy
 * and @wait: the daemon queues no waiter, and one holding some would
 * deadlock another.
 *
 * The daemon tells a waiter on another host nothing when a lease is
 * released: sanlock's host events (sanlock_set_event) and requests travel in
 * the delta leases, written and read once a renewal (every 2 io timeouts: 2 s
 * in the lockspaces init makes, 20 s at sanlock's default). But a release
 * rewrites the lease's leader on the storage: between tries the waiter reads
 * it every SL_WATCH_MS (sanlock_watch.c) and tries at once when it changed;
 * after SL_WATCH_FAST_FOR ms of waiting, every SL_WATCH_SLOW_MS only, so
 * that a long wait reads the shared storage ten times a second, not fifty.
 * Tries are otherwise paced by a pause that doubles from SL_RETRY_FIRST_MS
 * up to SL_RETRY_MS, which keeps the wait correct where the leader says
 * nothing (an owner host that died, shared owners leaving, a leader that
 * cannot be read): a long wait costs the daemon, and the paxos reads of the
 * whole lease, what a try every SL_RETRY_MS costs. A try on a change that
 * finds the lease busy still doubles the time before the next such one, so
 * that waiters whose own tries rewrite the leader (exclusive ones, on a
 * lease that shared owners hold) do not wake each other in a loop. */
static int sl_lock_set(struct lockspace *ls, const struct lsi_target *t, size_t n, int shared, int wait,
		       const struct timespec *deadline, size_t *bad)
{
	int err = 0;
	size_t i;
	char(*names)[LOCKSPACE_NAME_LEN + 1] = calloc(n, sizeof(*names));
	struct sl_res *res = calloc(n, sizeof(*res));
	struct sanlk_resource **rp = calloc(n, sizeof(*rp));
	struct sl_hold **spare = calloc(n, sizeof(*spare)); /* allocated before: no ENOMEM once held */
	uint64_t *expect = calloc(n, sizeof(*expect));
	*bad = 0;
	if (!names || !res || !rp || !spare || !expect)
		err = -ENOMEM;
	for (i = 0; i < n && !err; i++) {
		memcpy(names[i], t[i].name, sizeof(names[i]));
		*bad = i;
		if (!(spare[i] = calloc(1, sizeof(**spare))))
			err = -ENOMEM;
		else
			err = lsi_sl_res_struct(ls, names[i], NULL, shared, &res[i]);
		if (!err && t[i].expect) { /* the daemon refuses another lease version */
			res[i].r.flags |= SANLK_RES_LVER;
			res[i].r.lver = t[i].state & SL_STATE_LVER;
			expect[i] = t[i].state;
		}
		rp[i] = &res[i].r;
	}
	int stale = 0, waiting = 0;
	long pause_ms = SL_RETRY_FIRST_MS, gap_ms = 0;
	struct sl_watch watch = {.fd = -1};
	int woke = 0;
	struct timespec next_sync = {0, 0}; /* the record is rewritten then */
	struct timespec fast_until;	    /* the leader is read every SL_WATCH_MS till then */
	/* The daemon names no holder process: every holder keeps a record. */
	if (!err)
		lsi_record_start(ls);
	while (!err) {
		/* Before every try: a prune may have removed a free lease file. */
		for (i = 0; i < n && !err; i++)
			if ((err = lsi_sl_ensure_lease(ls, names[i], t[i].content)) != 0)
				*bad = i;
		if (err)
			break;
		pthread_mutex_lock(&sl_mutex);
		sl_forget_if_forked();
		err = sl_try(ls, t, expect, names, rp, spare, n, shared, bad);
		pthread_mutex_unlock(&sl_mutex);
		if (err == -ESTALE && deadline && lsi_ms_left(deadline) <= 0) {
			err = -ETIMEDOUT;
			break;
		}
		if (err == -ESTALE && ++stale <= SL_STALE_TRIES) {
			/* Leased a pruned file: try again on the new one. */
			struct timespec pause = {.tv_nsec = SL_STALE_PAUSE_MS * 1000000L};
			nanosleep(&pause, NULL);
			err = 0;
			continue;
		}
		if (err == -ESTALE)
			err = -EBUSY; /* pruned again and again: say busy rather than spin */
		if (err != -EBUSY || !wait)
			break;
		/* The leader as this try left it, at once: a release between
		 * the two is seen only by the next paced try. */
		(void)lsi_sl_watch_start(&watch, ls, names[*bad]);
		/* A waiter is shown on every host from its record, rewritten
		 * every SL_RETRY_MS: another host trusts only a recent one. */
		if (!waiting) {
			sl_wait_set(ls, names, names, n, shared);
			lsi_deadline(&fast_until, SL_WATCH_FAST_FOR);
		}
		waiting = 1;
		if (lsi_ms_left(&next_sync) <= 0) {
			(void)lsi_record_sync(ls);
			lsi_deadline(&next_sync, SL_RETRY_MS);
		}
		long left = deadline ? lsi_ms_left(deadline) : pause_ms;
		if (left <= 0) {
			err = -ETIMEDOUT;
			break;
		}
		if (woke)
			gap_ms = gap_ms * 2 < SL_RETRY_MS ? (gap_ms ? gap_ms * 2 : SL_WATCH_MS) : SL_RETRY_MS;
		long ms = left < pause_ms ? left : pause_ms;
		pause_ms = pause_ms * 2 < SL_RETRY_MS ? pause_ms * 2 : SL_RETRY_MS;
		long every = lsi_ms_left(&fast_until) > 0 ? SL_WATCH_MS : SL_WATCH_SLOW_MS;
		woke = sl_pause(&watch, ms, gap_ms, every);
		/* As F_SETLKW does: a caught signal ends a wait for ever; a
		 * finite one only loses a pause. */
		if (woke == -EINTR && !deadline) {
			err = -EINTR;
			break;
		}
		woke = woke == 1;
		err = 0;
	}
	lsi_sl_watch_free(&watch);
	if (waiting)
		sl_wait_set(ls, names, NULL, 0, shared);
	for (i = 0; spare && i < n; i++)
		free(spare[i]);
	free(spare);
	free(expect);
	free(rp);
	free(res);
	free(names);
	if (err && waiting)
		(void)lsi_record_sync(ls); /* the waits are gone; on success the caller syncs */
	return err;
}

/* The lease version this process's acquire of @name left (while it holds
 * the lease, nobody else can raise it), with the lease file's identity:
 * a file pruned and made again starts its versions again. */
static int sl_handoff(struct lockspace *ls, const char *name, const char *content, uint64_t *state)
{
	(void)content;
	pthread_mutex_lock(&sl_mutex);
	sl_forget_if_forked();
	struct sl_hold *h = sl_find(ls, name, 0);
	int err = !h ? -ENOENT : h->shared ? -EINVAL : sl_gone ? -ENOLINK : 0;
	pthread_mutex_unlock(&sl_mutex);
	uint64_t s = 0;
	if (!err)
		err = lsi_sl_handoff_state(ls, name, &s);
	if (!err && !(s & SL_STATE_LVER))
		err = -EIO; /* a held lease has a version: the read was not of it */
	if (!err)
		*state = s;
	return err;
}

static int sl_unlock(struct lockspace *ls, const char *resource, unsigned flags, int *dropped)
{
	char name[LOCKSPACE_NAME_LEN + 1], *content = NULL;
	int err = lsi_resolve(ls, resource, flags, name, &content);
	free(content);
	if (err)
		return err;
	pthread_mutex_lock(&sl_mutex);
	sl_forget_if_forked();
	struct sl_hold *h = sl_find(ls, name, 0);
	err = h ? sl_drop(ls, h) : -ENOENT;
	pthread_mutex_unlock(&sl_mutex);
	*dropped = h != NULL;
	return err;
}

static int sl_unlock_all(struct lockspace *ls)
{
	int count = 0;
	pthread_mutex_lock(&sl_mutex);
	sl_forget_if_forked();
	struct sl_hold **p = &sl_holds;
	while (*p) {
		if ((*p)->ls != ls) {
			p = &(*p)->next;
			continue;
		}
		sl_drop(ls, *p); /* unlinks it: *p is the next one */
		count++;
	}
	pthread_mutex_unlock(&sl_mutex);
	return count;
}

/* The process's record in a lockspace is one file, which every handle of
 * that lockspace rewrites: each lists the holds and waits of them all. */
static void sl_each_held(struct lockspace *ls,
			 void (*fn)(const char *name, int shared, time_t since, void *arg), void *arg)
{
	pthread_mutex_lock(&sl_mutex);
	sl_forget_if_forked();
	for (struct sl_hold *h = sl_holds; h; h = h->next)
		if (h->ls == ls || strcmp(h->lsname, ls->backend_config) == 0)
			fn(h->name, h->shared, h->since, arg);
	pthread_mutex_unlock(&sl_mutex);
}

static void sl_each_waiting(struct lockspace *ls,
			    void (*fn)(const char *name, int shared, time_t since, void *arg), void *arg)
{
	pthread_mutex_lock(&sl_mutex);
	sl_forget_if_forked();
	for (struct sl_wait *w = sl_waits; w; w = w->next)
		if (w->ls == ls || strcmp(w->ls->backend_config, ls->backend_config) == 0)
			fn(w->name, w->shared, w->since, arg);
	pthread_mutex_unlock(&sl_mutex);
}

/*
 * The daemon ties this process's leases to its registration connection,
 * sl_sock: when the daemon dies (or is restarted) the connection ends and,
 * with no watchdog to reset the host, the leases expire on disk while the
 * process runs on. The daemon writes to that connection only its replies to
 * the acquires and releases made on it (under sl_mutex), so a poller may
 * wake while one is in progress on another thread: sl_lost, under the mutex,
 * tells. When the daemon revokes leases (its lockspace lease failed), it
 * sends SIGTERM, repeatedly, then SIGKILL, to the registered process.
 */
static int sl_watch_fd(struct lockspace *ls)
{
	(void)ls;
	pthread_mutex_lock(&sl_mutex);
	sl_forget_if_forked();
	int fd = sl_sock >= 0 ? sl_sock : -ENOENT;
	pthread_mutex_unlock(&sl_mutex);
	return fd;
}

static int sl_lost(struct lockspace *ls, pid_t sender)
{
	(void)ls;
	pthread_mutex_lock(&sl_mutex);
	sl_forget_if_forked();
	/* The daemon's SIGTERMs repeat until its SIGKILL: each is told apart. */
	int from_daemon = sl_sock >= 0 && sender > 0 && sender == sl_daemon_pid;
	if (sl_sock >= 0 && !sl_gone) {
		if (from_daemon)
			sl_gone = 1;
		if (!sl_gone && sl_sock_ended())
			sl_gone = 1;
	}
	int err = from_daemon ? 1 : sl_gone ? -ENOLINK : 0;
	pthread_mutex_unlock(&sl_mutex);
	return err;
}

/*
 * Remove the lease file @name if it is free. As with fcntl lock files, the
 * file is unlinked only while this process holds its exclusive lease, and
 * only if it is still the file at that path (lsi_sl_verify); an acquirer that
 * leases the unlinked file afterwards finds the path changed and retries.
 * The release then goes to the path, which no longer leads to the file the
 * lease is in: the daemon finds the file gone, or another one whose lease
 * it does not own, and writes nothing.
 */
static int sl_prune_one(struct lockspace *ls, const char *name, int dry_run)
{
	if (!lockspace_valid_name(name)) {
		if (!lsi_sl_stale_tmp(ls, name))
			return 0;
		if (dry_run)
			return 1;
		return unlinkat(ls->dirfd, name, 0) == 0 ? 1 : errno == ENOENT ? 0 : -errno;
	}
	/* A file that is not a lease is that file's problem: kept and
	 * reported (a stray fcntl lock file is pruned as one), and the prune
	 * goes on with the others. */
	struct stat st;
	if (fstatat(ls->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	int err = lsi_sl_lease_shape(ls, name, &st);
	if (err)
		return err == -ENOENT ? 0 : err;
	struct sl_res res;
	struct sanlk_resource *rp = &res.r;
	err = lsi_sl_res_struct(ls, name, NULL, 0, &res);
	if (err)
		return err;
	if (dry_run) {
		struct sanlk_host *hosts = NULL;
		int n = 0;
		int rv = sanlock_read_resource_owners(&res.r, 0, &hosts, &n);
		free(hosts);
		if (rv == -ENOENT)
			return 0; /* gone */
		return rv < 0 ? lsi_sl_lease_err(rv) : n == 0;
	}
	uint64_t id = 0, gen = 0;
	int removed = 0;
	pthread_mutex_lock(&sl_mutex);
	sl_forget_if_forked();
	if (sl_find(ls, name, 1))
		goto out; /* this process holds it */
	err = sl_register();
	if (!err)
		err = lsi_sl_self(ls, &id, &gen);
	if (err)
		goto out;
	int rv = sanlock_acquire(sl_sock, -1, SANLK_ACQUIRE_OWNER_NOWAIT, 1, &rp, NULL);
	if (rv < 0) {
		err = lsi_sl_lease_err(rv);
		/* Gone, or held: keep. Not a lease of this lockspace
		 * (-EBADMSG): kept, and said. */
		if (rv == -ENOENT || err == -EBUSY)
			err = 0;
		goto out;
	}
	err = lsi_sl_verify(ls, name, id, gen);
	if (err == 0) {
		if (unlinkat(ls->dirfd, name, 0) == 0)
			removed = 1;
		else if (errno != ENOENT)
			err = -errno;
	} else if (err == -ESTALE) {
		err = 0; /* another prune removed it just now */
	}
	(void)sanlock_release(sl_sock, -1, 0, 1, &rp);
out:
	pthread_mutex_unlock(&sl_mutex);
	return err < 0 ? err : removed;
}

int lsi_sl_self_hold(const struct lockspace *ls, const char *name, time_t *since)
{
	pthread_mutex_lock(&sl_mutex);
	sl_forget_if_forked();
	struct sl_hold *mine = sl_find(ls, name, 1);
	int shared = mine ? mine->shared : -1;
	*since = mine ? mine->since : 0;
	pthread_mutex_unlock(&sl_mutex);
	return shared;
}

const struct lsi_backend lsi_backend_sanlock = {
	.name = LOCKSPACE_BACKEND_SANLOCK,
	.open = sl_open,
	.lock_set = sl_lock_set,
	.unlock = sl_unlock,
	.unlock_all = sl_unlock_all,
	.view_open = lsi_sl_view_open,
	.owners = lsi_sl_owners,
	.verdict = lsi_sl_verdict,
	.view_close = lsi_sl_view_close,
	.each_held = sl_each_held,
	.each_waiting = sl_each_waiting,
	.init = lsi_sl_init,
	.leave = lsi_sl_leave,
	.holders_sub = lsi_sl_holders_sub,
	.prune_one = sl_prune_one,
	.watch_fd = sl_watch_fd,
	.lost = sl_lost,
	.handoff = sl_handoff,
};
#endif
