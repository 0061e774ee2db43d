/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* supervisor.c: run a command as a child while holding its locks, forward signals, reap it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "acquire_wait.h"
#include "holder_core.h"
#include "supervisor.h"

static const int sv_forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
#define SV_NFORWARDED (sizeof(sv_forwarded) / sizeof(sv_forwarded[0]))

/* What the child needs, in the supervisor's memory, which it shares until it execs. */
struct sv_start {
	const struct acquire_opts *o;
	const sigset_t *mask;	     /* the caller's signal mask, for the command */
	const struct rlimit *nofile; /* the caller's file limit */
	pid_t parent;
	int report; /* a failed exec sends its errno here */
};

/*
 * The child, started with CLONE_VM | CLONE_VFORK as posix_spawn(3) starts
 * its children (which cannot set a parent-death signal): it runs on a stack
 * of its own in the supervisor's memory while the supervisor waits for it to
 * exec or exit, so no page table is copied and no page of the supervisor's
 * is copied on write. So it makes system calls and execs, nothing else: no
 * heap, no stdio, no lock of the supervisor's. It starts with every signal
 * blocked, and the caller's mask comes back only just before the exec: a
 * handler would run on the supervisor's memory, and virlock has none
 * installed here (acquire_wait.c sets its own only while it waits). Not
 * instrumented by AddressSanitizer, which does not know this stack.
 */
static int __attribute__((no_sanitize_address)) sv_child(void *arg)
{
	const struct sv_start *s = arg;
	if (!s->o->no_kill) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* The supervisor may have died before the line above: never run unlocked. */
		if (getppid() != s->parent)
			_exit(VL_EXIT_OSERR);
	}
	setrlimit(RLIMIT_NOFILE, s->nofile);
	sigprocmask(SIG_SETMASK, s->mask, NULL);
	/* execvp() takes char *const[] for history's sake and writes nothing through it. */
	union {
		const char *const *in;
		char *const *out;
	} argv = {.in = s->o->command};
	execvp(s->o->command[0], argv.out);
	int err = errno;
	ssize_t w = write(s->report, &err, sizeof(err));
	(void)w;
	_exit(err == ENOENT ? VL_EXIT_NOT_FOUND : VL_EXIT_CANNOT_EXEC);
}

/* Start the child; its pid, or -errno. @report is the pipe's write end. */
static pid_t sv_spawn(const struct acquire_opts *o, const sigset_t *mask, const struct rlimit *nofile,
		      int report)
{
	/* glibc's execvp() needs room for PATH and a name, and for a script
	 * run by /bin/sh a copy of the argument vector: 64 KiB and that copy
	 * (glibc's posix_spawn gives 32 KiB and it). */
	size_t argc = 0;
	while (o->command[argc])
		argc++;
	long page = sysconf(_SC_PAGESIZE);
	size_t psize = page > 0 ? (size_t)page : 4096;
	size_t size = (65536 + (argc + 3) * sizeof(char *) + psize - 1) / psize * psize;
	void *stack =
		mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return -errno;
	struct sv_start s = {.o = o, .mask = mask, .nofile = nofile, .parent = getpid(), .report = report};
	sigset_t all, before;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &before);
	/* The stack grows down: the child starts at the top of the mapping. */
	pid_t child = clone(sv_child, (char *)stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, &s);
	int err = errno;
	sigprocmask(SIG_SETMASK, &before, NULL);
	munmap(stack, size);
	return child < 0 ? -err : child;
}

/* Did the exec fail? The child sent its errno before it ended; no byte and
 * no end of file yet (the pipe is non-blocking) is an exec under way or done.
 * Its exit status to return after a message, or 0. */
static int sv_exec_failed(int fd, const struct acquire_opts *o)
{
	int err;
	if (read(fd, &err, sizeof(err)) != (ssize_t)sizeof(err))
		return 0;
	if (err == ENOENT) {
		vl_error("%s: command not found; check its name and PATH", o->command[0]);
		return VL_EXIT_NOT_FOUND;
	}
	vl_error("%s: cannot run: %s; check that it is an executable program", o->command[0], strerror(err));
	return VL_EXIT_CANNOT_EXEC;
}

static int sv_status(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* The locks were lost: act as --on-lost says; after all but ignore, hold
 * nothing and keep no record while the child ends. A supervisor whose
 * locks were all released loses nothing. */
static void sv_lost(struct holder *h, const struct acquire_opts *o, pid_t child, const char *why, int *lost)
{
	if (h->nheld == 0)
		return;
	*lost = 1;
	acquire_on_lost(o, h->nheld, why, child, o->command[0]);
	if (o->on_lost != ACQUIRE_LOST_IGNORE)
		holder_finish(h);
}

/* Serve signals and control requests until the child ends; return its
 * status, or VL_EXIT_OSERR when the locks were lost and the child was acted on. */
static int sv_loop(struct holder *h, const struct acquire_opts *o, int sfd, pid_t child, int report)
{
	int lost = 0;
	for (;;) {
		/* Ignored, a loss ends with its last lease: a lease attached
		 * later is registered anew, and watched. */
		if (lost && o->on_lost == ACQUIRE_LOST_IGNORE && h->nheld == 0)
			lost = 0;
		/* Asked each pass: the descriptor changes when a loss was followed
		 * by a release of every lease and a new acquire. */
		int watch = !lost && h->ls && h->nheld ? lockspace_watch_fd(h->ls) : -1;
		struct pollfd p[3] = {{.fd = sfd, .events = POLLIN},
				      {.fd = h->listenfd, .events = POLLIN},
				      {.fd = watch, .events = POLLIN}};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[2].revents && !lost && lockspace_lost(h->ls, 0) == -ENOLINK)
			sv_lost(h, o, child, "the sanlock daemon went away", &lost);
		if (p[1].revents & POLLIN)
			holder_serve(h);
		if (!(p[0].revents & POLLIN))
			continue;
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			int status;
			if (si.ssi_signo == SIGCHLD) {
				pid_t r = waitpid(child, &status, WNOHANG);
				/* A failed exec, where the spawn did not wait for it. */
				int failed = r == child ? sv_exec_failed(report, o) : 0;
				if (failed)
					return failed;
				if (r == child)
					return lost && o->on_lost != ACQUIRE_LOST_IGNORE ? VL_EXIT_OSERR
											 : sv_status(status);
			} else if (si.ssi_signo == SIGTERM && h->ls &&
				   lockspace_lost(h->ls, (pid_t)si.ssi_pid) == 1) {
				/* The daemon revokes the leases of a registered process with
				 * SIGTERM, again until its SIGKILL: never passed on. */
				if (!lost)
					sv_lost(h, o, child, "the sanlock daemon revoked the leases", &lost);
			} else if (si.ssi_code != SI_KERNEL || getpgid(child) != getpgrp()) {
				/* A terminal's signal (SI_KERNEL) already reached our process group. */
				kill(child, (int)si.ssi_signo);
				/* A paused child acts on the signal only once continued. */
				if (lost && o->on_lost == ACQUIRE_LOST_PAUSE)
					kill(child, SIGCONT);
			}
		}
	}
	/* poll failed: still wait for the child, it must not outlive its locks unseen. */
	int status;
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return VL_EXIT_OSERR;
	return lost && o->on_lost != ACQUIRE_LOST_IGNORE ? VL_EXIT_OSERR : sv_status(status);
}

int supervisor_run(struct lockspace *ls, const struct acquire_opts *o)
{
	struct holder h = {.ls = ls, .dir = lockspace_dir(ls), .listenfd = -1, .nheld = o->n};
	struct rlimit nofile;
	size_t failed = (size_t)-1;
	int signo = 0, status;
	holder_raise_nofile(&nofile);
	int err = acquire_wait_expect(ls, o->resources, o->n, o->flags, o->states, acquire_wait_how(o),
				      o->wait, &failed, &signo);
	if (err) {
		status = acquire_report(ls, o, err, failed, signo);
		lockspace_close(ls);
		return status;
	}

	sigset_t set, oldmask;
	sigemptyset(&set);
	for (size_t i = 0; i < SV_NFORWARDED; i++)
		sigaddset(&set, sv_forwarded[i]);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &oldmask);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	int report[2] = {-1, -1};
	if (sfd < 0 || pipe2(report, O_CLOEXEC | O_NONBLOCK) < 0) {
		vl_error("%s: cannot start: %s", o->command[0], strerror(errno));
		status = VL_EXIT_OSERR;
		goto out;
	}
	/* The record and the control socket before the command runs: it may at
	 * once run `virlock release -o LABEL` or a hotplug, which must find its
	 * supervisor. The child's pid is not known yet: see lockspace_set_owner(). */
	err = holder_publish(&h, o->owner, LOCKSPACE_CHILD_STARTING);
	if (err)
		vl_error("%s: holder record or control socket: %s; release and hotplug cannot reach pid %d",
			 h.dir, lockspace_strerror(err), (int)getpid());
	pid_t child = sv_spawn(o, &oldmask, &nofile, report[1]);
	close(report[1]);
	if (child < 0) {
		vl_error("%s: cannot start: %s", o->command[0], strerror((int)-child));
		status = VL_EXIT_OSERR;
		goto out;
	}
	status = sv_exec_failed(report[0], o);
	if (status) {
		while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
			;
		goto out;
	}
	/* Writes only where the record could not say "kernel-child" (a sanlock
	 * lockspace: there the command starts a moment before its record names
	 * it), or where the first try failed: while the command starts. */
	int named = holder_publish(&h, o->owner, child);
	if (named && !err)
		vl_error("%s: holder record: %s; it does not name the child %d", h.dir,
			 lockspace_strerror(named), (int)child);
	status = sv_loop(&h, o, sfd, child, report[0]);
out:
	holder_finish(&h);
	if (report[0] >= 0)
		close(report[0]);
	if (sfd >= 0)
		close(sfd);
	/* The signals stay blocked: one that comes now must not replace the child's status. */
	return status;
}
