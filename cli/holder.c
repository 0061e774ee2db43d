/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* holder.c: the detached holder: fork, detach, acquire, report through a pipe, serve. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "acquire_wait.h"
#include "holder.h"
#include "holder_core.h"

/* What the holder tells its parent once it holds the locks or has failed. */
struct hd_report {
	int err;
	int signo;
	size_t failed;
};

static volatile sig_atomic_t hd_parent_signo;

static void hd_parent_handler(int sig)
{
	hd_parent_signo = sig;
}

static int hd_pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	return fd < 0 ? -errno : fd;
#else
	(void)pid;
	return -ENOSYS;
#endif
}

/* Keep nothing of the caller's but the report pipe: a daemon must not hold its fds open. */
static void hd_detach(int keep)
{
	setsid();
	if (keep > STDERR_FILENO + 1)
		close_range(STDERR_FILENO + 1, (unsigned)keep - 1, 0);
	close_range((unsigned)keep + 1, ~0u, 0);
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	if (chdir("/") < 0)
		return;
}

/* Is the process --for-pid names gone? For the fallback without pidfd. */
static int hd_gone(pid_t pid)
{
	return kill(pid, 0) < 0 && errno == ESRCH;
}

/* The locks were lost: a --for-pid holder acts on that process as --on-lost
 * says (its stderr is /dev/null: the message goes nowhere, the action counts). */
static void hd_lost(const struct holder *h, const struct acquire_opts *o, const char *why)
{
	if (o->for_pid && h->nheld > 0)
		acquire_on_lost(o, h->nheld, why, o->for_pid, "process");
}

/* Serve until nothing is held (and no hotplug waits), a signal comes, the
 * --for-pid process ends, or the locks are lost. */
static void hd_loop(struct holder *h, const struct acquire_opts *o, int sfd, int pidfd)
{
	pid_t for_pid = o->for_pid;
	while (h->nheld > 0 || holder_waiting(h)) {
		/* Asked each pass: a hotplug after the last release may register anew. */
		int watch = h->nheld ? lockspace_watch_fd(h->ls) : -1;
		struct pollfd p[4] = {{.fd = sfd, .events = POLLIN},
				      {.fd = h->listenfd, .events = POLLIN},
				      {.fd = pidfd, .events = POLLIN},
				      {.fd = watch, .events = POLLIN}};
		int timeout = for_pid && pidfd < 0 ? 100 : -1;
		int n = poll(p, 4, timeout);
		if (n < 0 && errno != EINTR)
			return;
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si) && si.ssi_signo == SIGTERM &&
			    lockspace_lost(h->ls, (pid_t)si.ssi_pid) == 1)
				hd_lost(h, o, "the sanlock daemon revoked the leases");
			return;
		}
		if (p[2].revents & POLLIN)
			return;
		if (for_pid && pidfd < 0 && hd_gone(for_pid))
			return;
		if (p[3].revents && lockspace_lost(h->ls, 0) == -ENOLINK) {
			hd_lost(h, o, "the sanlock daemon went away");
			return;
		}
		if (p[1].revents & POLLIN)
			holder_serve(h);
	}
}

/* The holder process: returns the status it exits with. Frees @resources. */
static int hd_child(const char *dir, char **resources, const struct acquire_opts *o, int report)
{
	struct hd_report r = {.failed = (size_t)-1};
	struct holder h = {.listenfd = -1};
	int sfd = -1, pidfd = -1;
	if (report <= STDERR_FILENO) {
		/* Started with stdio closed: keep the pipe clear of /dev/null. */
		int fd = fcntl(report, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
		if (fd >= 0) {
			close(report);
			report = fd;
		}
	}
	hd_detach(report);
	holder_raise_nofile(NULL);
	double wait = o->wait;
	r.err = lockspace_open(dir, LOCKSPACE_OPEN_NOCREATE | (vl_hash ? LOCKSPACE_OPEN_SHA256 : 0), &h.ls);
	if (!r.err && o->owner) {
		/* Only --for-pid waits for a label: a plain detached acquire adds
		 * to the holder that has it (the caller retries as a hotplug). */
		double owner_wait = o->for_pid ? wait : 0;
		r.err = acquire_wait_owner(h.ls, o->owner, &owner_wait, &r.signo);
		wait = o->for_pid ? owner_wait : wait;
		if (r.err)
			r.failed = ACQUIRE_FAILED_OWNER;
	}
	if (!r.err)
		r.err = acquire_wait_expect(h.ls, (const char *const *)resources, o->n, o->flags, o->states,
					    acquire_wait_how(o), wait, &r.failed, &r.signo);
	/* The table keeps what it needs: a holder of thousands of locks
	 * should not keep the list as well, for hours, nor the pages that
	 * setting up used. */
	acquire_free_list(resources, o->n);
	malloc_trim(0);
	if (r.err)
		goto out;
	h.dir = lockspace_dir(h.ls);
	h.nheld = o->n;
	h.leave_when_empty = 1;

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		r.err = -errno;
	if (!r.err && o->for_pid) {
		pidfd = hd_pidfd_open(o->for_pid);
		if (pidfd == -ESRCH || (pidfd < 0 && hd_gone(o->for_pid)))
			r.err = -ESRCH;
	}
	if (!r.err)
		r.err = holder_publish(&h, o->owner, 0);
out:
	if (r.err)
		holder_finish(&h); /* nothing held, label free, before the caller hears of it */
	ssize_t n = write(report, &r, sizeof(r));
	(void)n;
	close(report);
	if (!r.err)
		hd_loop(&h, o, sfd, pidfd);
	holder_finish(&h);
	if (sfd >= 0)
		close(sfd);
	if (pidfd >= 0)
		close(pidfd);
	return r.err ? VL_EXIT_OSERR : VL_EXIT_OK;
}

/* In the caller: wait for the report, passing on the signals that should stop the holder. */
static int hd_parent(struct lockspace *ls, int fd, pid_t child, const struct acquire_opts *o)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = hd_parent_handler;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);

	struct hd_report r;
	ssize_t n;
	int forwarded = 0;
	for (;;) {
		n = read(fd, &r, sizeof(r));
		if (hd_parent_signo && !forwarded) {
			forwarded = hd_parent_signo;
			kill(child, forwarded);
		}
		if (n >= 0 || errno != EINTR)
			break;
	}
	close(fd);
	char what[64];
	if (forwarded || n != (ssize_t)sizeof(r)) {
		int status;
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
		if (forwarded) {
			vl_error("%s: interrupted by %s; the holder stopped and nothing is held",
				 o->resources[0], acquire_signame(forwarded, what, sizeof(what)));
			return 128 + forwarded;
		}
		if (WIFSIGNALED(status))
			vl_error("%s: the holder was killed by %s before it held the locks", o->resources[0],
				 acquire_signame(WTERMSIG(status), what, sizeof(what)));
		else
			vl_error("%s: the holder ended before it held the locks (status %d)", o->resources[0],
				 WEXITSTATUS(status));
		return VL_EXIT_OSERR;
	}
	if (r.err) {
		while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
			;
		if (r.failed == ACQUIRE_FAILED_OWNER) {
			/* Free a moment ago: someone else's holder won it; add to that one. */
			if (r.err == -EBUSY && !o->for_pid)
				return HOLDER_LABEL_TAKEN;
			return acquire_report_owner(ls, o, r.err, r.signo);
		}
		if (r.err == -ESRCH) {
			vl_error("process %d: no such process; --for-pid needs a running process",
				 (int)o->for_pid);
			return VL_EXIT_NOINPUT;
		}
		return acquire_report(ls, o, r.err, r.failed, r.signo);
	}
	return VL_EXIT_OK;
}

int holder_run(struct lockspace *ls, const struct acquire_opts *o, int *in_holder)
{
	char **resources = NULL;
	int status = acquire_canonical_all(o, &resources);
	*in_holder = 0;
	if (status) {
		lockspace_close(ls);
		return status;
	}
	char *dir = lockspace_dir(ls) ? strdup(lockspace_dir(ls)) : NULL;
	int report[2];
	if ((lockspace_dir(ls) && !dir) || pipe2(report, O_CLOEXEC) < 0) {
		vl_error("%s: cannot start a holder: %s", o->resources[0], strerror(errno));
		status = VL_EXIT_OSERR;
		goto out;
	}
	fflush(NULL);
	pid_t child = fork();
	if (child == 0) {
		/* The child holds nothing through the parent's handle: let it go and open its own. */
		lockspace_close(ls);
		ls = NULL;
		close(report[0]);
		*in_holder = 1;
		status = hd_child(dir, resources, o, report[1]); /* frees resources */
		resources = NULL;
		goto out;
	}
	close(report[1]);
	if (child < 0) {
		close(report[0]);
		vl_error("%s: cannot start a holder: %s", o->resources[0], strerror(errno));
		status = VL_EXIT_OSERR;
		goto out;
	}
	status = hd_parent(ls, report[0], child, o);
out:
	lockspace_close(ls);
	acquire_free_list(resources, o->n);
	free(dir);
	return status;
}
