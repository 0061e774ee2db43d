/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* holder_core.c: the requests a holder serves, its record, its control socket and the hotplugs that wait. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "acquire_wait.h"
#include "clock.h"
#include "control.h"
#include "holder_core.h"

/* How often a hotplug that waits tries again: the holder never blocks in a wait. */
#define HC_RETRY_MS 20

/* A hotplug that waits: the client's connection stays open until the answer. */
struct hc_pending {
	int fd;	     /* -1 until control_serve() hands it over */
	char **args; /* the resources; those taken or skipped already are moved past n */
	size_t n, total;
	unsigned flags;
	long long deadline; /* CLOCK_MONOTONIC ms, 0 for ever */
};

struct hc_ctl {
	int sock;  /* the listening control socket */
	int timer; /* ticks while hotplugs wait */
	struct hc_pending *pending;
	size_t npending;
};

void holder_raise_nofile(struct rlimit *saved)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (saved)
		*saved = rl;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void hc_free_args(char **args, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(args[i]);
	free(args);
}

/* The socket, the timer and the connections of waiting hotplugs, in one epoll set. */
static int hc_listen(struct holder *h)
{
	struct hc_ctl *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->sock = c->timer = -1;
	int ep = -1;
	int err = lockspace_control_listen(h->ls, &c->sock);
	if (!err) {
		/* The timer is made by the first hotplug that waits (hc_timer()). */
		ep = epoll_create1(EPOLL_CLOEXEC);
		struct epoll_event sev = {.events = EPOLLIN, .data.fd = c->sock};
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, c->sock, &sev) < 0)
			err = -errno;
	}
	if (err) {
		if (ep >= 0)
			close(ep);
		/* The socket is the handle's (lockspace_close() removes it), but
		 * nobody will accept on it: refuse connections now, so a release
		 * or hotplug is told at once that no one listens, not left to time out. */
		if (c->sock >= 0)
			shutdown(c->sock, SHUT_RDWR);
		free(c);
		return err;
	}
	h->ctl = c;
	h->listenfd = ep;
	return 0;
}

int holder_publish(struct holder *h, const char *owner, pid_t child)
{
	if (!h->dir)
		return 0;
	h->owner = owner;
	/* The socket first, so that the record, written once, publishes its
	 * name; requests are served only from the loop, once both are in place. */
	int lerr = h->listenfd < 0 ? hc_listen(h) : 0;
	int err = lockspace_set_owner(h->ls, owner, child);
	return err ? err : lerr;
}

struct hc_self {
	enum lockspace_state state; /* what this process holds, free if nothing */
};

static int hc_self_cb(const struct lockspace_info *info, void *arg)
{
	struct hc_self *s = arg;
	for (size_t i = 0; i < info->nholders; i++)
		if (info->holders[i].flags & LOCKSPACE_HOLDER_SELF)
			s->state = info->holders[i].mode;
	return 0;
}

/* Does this holder hold @res already? 0 no, 1 in the mode @flags asks, 2 in the other.
 * The process's own table answers (a hotplug that waits asks at every retry,
 * and /proc/locks is no place to look that often); a sanlock lockspace's
 * leases name their owners. */
static int hc_held_here(struct holder *h, const char *res, unsigned flags)
{
	struct hc_self s = {LOCKSPACE_STATE_FREE};
	pid_t pid = 0;
	int err = lockspace_probe(h->ls, res, flags & LOCKSPACE_LITERAL, &s.state, &pid);
	if (err == -EOPNOTSUPP)
		lockspace_inspect(h->ls, res, flags & LOCKSPACE_LITERAL, hc_self_cb, &s);
	else if (err < 0 || pid != getpid())
		return 0;
	if (s.state == LOCKSPACE_STATE_FREE)
		return 0;
	return (s.state == LOCKSPACE_STATE_SHARED) == !!(flags & LOCKSPACE_SHARED) ? 1 : 2;
}

static void hc_who(const struct holder *h, char *buf, size_t len)
{
	if (h->owner)
		snprintf(buf, len, "holder %d (owner %s)", (int)getpid(), h->owner);
	else
		snprintf(buf, len, "holder %d", (int)getpid());
}

/* The notice of a hotplug that added @added resources and left out those held already. */
static void hc_left_out(char *text, size_t len, const char *first, size_t skipped, const char *who,
			size_t added)
{
	if (skipped == 1)
		snprintf(text, len, "%s: already held by %s; left out, %zu other%s added", first, who, added,
			 added == 1 ? "" : "s");
	else
		snprintf(text, len, "%zu resources already held by %s; left out, %zu other%s added", skipped,
			 who, added, added == 1 ? "" : "s");
}

/*
 * Take @args all-or-nothing without waiting. Those this holder has already,
 * in the mode asked, are left out and named in @text ("ok TEXT"); one it has
 * in the other mode fails the request. Moves what it skips to the end of
 * @args, past *n: *n is what is left to take (0 on success).
 */
static int hc_try(struct holder *h, char **args, size_t *n, unsigned flags, char *text, size_t len,
		  int *final)
{
	*final = 0;
	char who[96];
	size_t skipped = 0;
	const char *first_skipped = NULL;
	hc_who(h, who, sizeof(who));
	for (;;) {
		size_t failed = (size_t)-1;
		int err = *n ? lockspace_acquire_many(h->ls, (const char *const *)args, *n, flags, 0, &failed)
			     : 0;
		if (err == 0) {
			acquire_trim(*n);
			if (skipped && *n)
				hc_left_out(text, len, first_skipped, skipped, who, *n);
			h->nheld += *n;
			*n = 0;
			return 0;
		}
		int here = err == -EBUSY && failed < *n ? hc_held_here(h, args[failed], flags) : 0;
		if (here == 2) {
			snprintf(text, len,
				 "%s: already held by %s in %s mode; release it first to change the mode",
				 args[failed], who, flags & LOCKSPACE_SHARED ? "exclusive" : "shared");
			*final = 1; /* waiting would not change it */
			return err;
		}
		if (here == 0) {
			if (failed < *n)
				snprintf(text, len, "%s: %s", args[failed], lockspace_strerror(err));
			return err;
		}
		if (!skipped++)
			snprintf(text, len, "%s: already held by %s; nothing to add", args[failed], who);
		else
			snprintf(text, len, "%zu resources already held by %s", skipped, who);
		char *skip = args[failed];
		if (!first_skipped)
			first_skipped = skip;
		args[failed] = args[--*n];
		args[*n] = skip;
	}
}

/* Keep the request for retries: the handler returns CONTROL_DEFER, and holder_serve() adds the connection. */
static int hc_defer(struct holder *h, const struct control_request *req, char **left, size_t n, char *text,
		    size_t len)
{
	struct hc_ctl *c = h->ctl;
	struct hc_pending *p = realloc(c->pending, (c->npending + 1) * sizeof(*p));
	char **args = calloc(n, sizeof(*args));
	if (p)
		c->pending = p;
	for (size_t i = 0; args && i < n; i++) {
		args[i] = strdup(left[i]);
		if (!args[i]) {
			hc_free_args(args, i);
			args = NULL;
		}
	}
	if (!p || !args) {
		if (args)
			hc_free_args(args, n); /* calloc'd: the ones not copied are NULL */
		snprintf(text, len, "out of memory");
		return -ENOMEM;
	}
	c->pending[c->npending++] = (struct hc_pending){
		.fd = -1,
		.args = args,
		.n = n,
		.total = n,
		.flags = req->flags,
		.deadline = req->wait_ms > 0 ? vl_now_ms() + req->wait_ms : 0,
	};
	return CONTROL_DEFER;
}

static int hc_acquire(struct holder *h, const struct control_request *req, char *text, size_t len)
{
	size_t n = req->n;
	char **args = malloc(n * sizeof(*args)); /* hc_try reorders them */
	if (!args)
		return -ENOMEM;
	memcpy(args, req->args, n * sizeof(*args));
	int final;
	int err = hc_try(h, args, &n, req->flags, text, len, &final);
	if (err == -EBUSY && req->wait_ms && h->ctl && !final)
		err = hc_defer(h, req, args, n, text, len);
	free(args);
	return err;
}

/*
 * Let go of everything, in the order a newcomer needs: record, locks and
 * label, then the socket (lockspace_close() does it in that order). A
 * connection still in the socket's backlog is reset; its client finds the
 * label free and starts anew.
 */
static void hc_let_go(struct holder *h)
{
	lockspace_close(h->ls);
	h->ls = NULL;
	h->nheld = 0;
	if (h->ctl)
		h->ctl->sock = -1;
}

/* A detached holder left with nothing, and no hotplug to wait for besides
 * @keep of them, is done: it lets go before it answers, so that the answer
 * means the label and the locks are free. */
static void hc_let_go_if_empty(struct holder *h, size_t keep)
{
	if (h->leave_when_empty && h->ls && h->nheld == 0 && holder_waiting(h) <= keep)
		hc_let_go(h);
}

/* Drop every hold of each name: a release asks for the lock to be free. */
static int hc_release(struct holder *h, const struct control_request *req, char *text, size_t len)
{
	int first = 0;
	for (size_t i = 0; i < req->n; i++) {
		int err, released = 0;
		/* -ENOLINK: the lease was lost already, and the hold is gone. */
		while ((err = lockspace_release(h->ls, req->args[i], LOCKSPACE_BYNAME)) == 0 ||
		       err == -ENOLINK) {
			released = 1;
			if (h->nheld > 0)
				h->nheld--;
		}
		if (!released && !first) {
			first = err;
			snprintf(text, len, "%s: %s", req->args[i],
				 err == -ENOENT ? "not held by this holder" : lockspace_strerror(err));
		}
	}
	return first;
}

/* Mark the one name for its hand-off, then release it; answer its state. */
static int hc_handoff(struct holder *h, const struct control_request *req, char *text, size_t len)
{
	uint64_t state = 0;
	int err = lockspace_handoff(h->ls, req->args[0], LOCKSPACE_BYNAME, &state);
	if (err) {
		snprintf(text, len, "%s: %s", req->args[0],
			 err == -ENOENT	  ? "not held by this holder"
			 : err == -EINVAL ? "held shared; only an exclusive hold can be handed off"
					  : lockspace_strerror(err));
		return err;
	}
	err = hc_release(h, req, text, len);
	if (!err)
		snprintf(text, len, "%" PRIx64, state);
	return err;
}

static int hc_handle(const struct control_request *req, char *text, size_t len, void *arg)
{
	struct holder *h = arg;
	switch (req->op) {
	case CONTROL_PING:
		return 0;
	case CONTROL_ACQUIRE:
		return hc_acquire(h, req, text, len);
	case CONTROL_RELEASE: {
		int err = hc_release(h, req, text, len);
		hc_let_go_if_empty(h, 0);
		return err;
	}
	case CONTROL_HANDOFF: {
		int err = hc_handoff(h, req, text, len);
		hc_let_go_if_empty(h, 0);
		return err;
	}
	case CONTROL_RELEASE_ALL:
		lockspace_release_all(h->ls);
		h->nheld = 0;
		hc_let_go_if_empty(h, 0);
		return 0;
	}
	return -EINVAL;
}

/* Make the retry timer, once: a holder that no hotplug waits on never needs it. 0 or -1 (errno set). */
static int hc_timer_make(struct holder *h)
{
	struct hc_ctl *c = h->ctl;
	if (c->timer >= 0)
		return 0;
	c->timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct epoll_event tev = {.events = EPOLLIN, .data.fd = c->timer};
	if (c->timer >= 0 && epoll_ctl(h->listenfd, EPOLL_CTL_ADD, c->timer, &tev) == 0)
		return 0;
	int err = errno;
	if (c->timer >= 0)
		close(c->timer);
	c->timer = -1;
	errno = err;
	return -1;
}

static void hc_timer(struct hc_ctl *c)
{
	long ms = c->npending ? HC_RETRY_MS : 0;
	struct itimerspec it = {.it_interval = {0, ms * 1000000L}, .it_value = {0, ms * 1000000L}};
	timerfd_settime(c->timer, 0, &it, NULL);
}

/* Answer (or, with @fd < 0 answered already, just forget) waiting hotplug @i. */
static void hc_done(struct holder *h, size_t i, int code, const char *text)
{
	struct hc_ctl *c = h->ctl;
	struct hc_pending *p = &c->pending[i];
	if (code)
		hc_let_go_if_empty(h, 1); /* it was the last reason to stay */
	if (p->fd >= 0) {
		epoll_ctl(h->listenfd, EPOLL_CTL_DEL, p->fd, NULL);
		if (code == 1)
			close(p->fd); /* the client hung up */
		else
			control_answer(p->fd, code, text);
	}
	hc_free_args(p->args, p->total);
	c->pending[i] = c->pending[--c->npending];
	if (!c->npending)
		hc_timer(c);
}

/* Try every waiting hotplug again. */
static void hc_retry(struct holder *h)
{
	struct hc_ctl *c = h->ctl;
	long long now = vl_now_ms();
	for (size_t i = c->npending; i-- > 0;) {
		struct hc_pending *p = &c->pending[i];
		char text[CONTROL_MAX_ANSWER - 32] = "";
		int final;
		int err = hc_try(h, p->args, &p->n, p->flags, text, sizeof(text), &final);
		if (err == -EBUSY && !final) {
			if (!p->deadline || now < p->deadline)
				continue;
			err = -ETIMEDOUT;
		}
		hc_done(h, i, err, text);
	}
}

void holder_serve(struct holder *h)
{
	struct hc_ctl *c = h->ctl;
	struct epoll_event ev[16];
	int n = c ? epoll_wait(h->listenfd, ev, 16, 0) : 0;
	for (int k = 0; k < n; k++) {
		int fd = ev[k].data.fd;
		if (fd == c->sock) {
			size_t before = c->npending;
			int kept = control_serve(c->sock, hc_handle, h);
			if (kept >= 0 && c->npending > before) {
				struct hc_pending *p = &c->pending[c->npending - 1];
				struct epoll_event pev = {.events = EPOLLRDHUP, .data.fd = kept};
				p->fd = kept;
				if (hc_timer_make(h) < 0 ||
				    epoll_ctl(h->listenfd, EPOLL_CTL_ADD, kept, &pev) < 0) {
					p->fd = -1;
					control_answer(kept, -errno, "cannot wait");
					hc_done(h, c->npending - 1, 0, NULL);
				} else if (c->npending == 1) {
					hc_timer(c);
				}
			} else if (kept >= 0) {
				control_answer(kept, -EPROTO, "bad request");
			}
		} else if (fd == c->timer) {
			unsigned long long ticks;
			if (read(c->timer, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
				continue;
			hc_retry(h);
		} else {
			for (size_t i = 0; i < c->npending; i++)
				if (c->pending[i].fd == fd) {
					hc_done(h, i, 1, NULL); /* the client gave up */
					break;
				}
		}
	}
}

size_t holder_waiting(const struct holder *h)
{
	return h->ctl ? h->ctl->npending : 0;
}

void holder_finish(struct holder *h)
{
	struct hc_ctl *c = h->ctl;
	/* Free first, answer after: a hotplug told that its holder ended
	 * finds the label free when it starts anew. */
	hc_let_go(h);
	if (c) {
		char text[128];
		snprintf(text, sizeof(text),
			 "holder %d ended before the resources were free; nothing was added", (int)getpid());
		while (c->npending)
			hc_done(h, c->npending - 1, -ESRCH, text);
		free(c->pending);
		if (c->timer >= 0)
			close(c->timer);
		close(h->listenfd);
		free(c);
		h->ctl = NULL;
		h->listenfd = -1;
	}
}
