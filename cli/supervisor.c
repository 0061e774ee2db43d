/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* supervisor.c: run a command as a child while holding its locks, forward signals, reap it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "acquire_wait.h"
#include "holder_core.h"
#include "supervisor.h"

static const int sv_forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
#define SV_NFORWARDED (sizeof(sv_forwarded) / sizeof(sv_forwarded[0]))

/* The child: the caller's signal mask and file limit back, parent-death
 * signal, then exec once the supervisor says go (a byte on @go). */
static void __attribute__((noreturn)) sv_child(const struct acquire_opts *o, const sigset_t *mask,
					       const struct rlimit *nofile, pid_t parent, int go, int report)
{
	sigprocmask(SIG_SETMASK, mask, NULL);
	if (!o->no_kill) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* The supervisor may have died before the line above: never run unlocked. */
		if (getppid() != parent)
			_exit(VL_EXIT_OSERR);
	}
	/* The command starts only once the holder record and control socket
	 * name it: a command that at once runs `virlock release -o LABEL` or a
	 * hotplug must find its supervisor. No byte: the supervisor died. */
	char byte;
	ssize_t got;
	do
		got = read(go, &byte, 1);
	while (got < 0 && errno == EINTR);
	if (got != 1)
		_exit(VL_EXIT_OSERR);
	close(go);
	setrlimit(RLIMIT_NOFILE, nofile);
	/* No copy of the NULL-terminated vector: no malloc in a forked child
	 * (and no heap page copied for it). execvp() takes char *const[] for
	 * history's sake and writes nothing through it. */
	union {
		const char *const *in;
		char *const *out;
	} argv = {.in = o->command};
	execvp(o->command[0], argv.out);
	int err = errno;
	ssize_t w = write(report, &err, sizeof(err));
	(void)w;
	_exit(err == ENOENT ? VL_EXIT_NOT_FOUND : VL_EXIT_CANNOT_EXEC);
}

/* Wait for the exec to succeed (the pipe closes) or fail (it sends errno). */
static int sv_exec_result(int fd, pid_t child, const struct acquire_opts *o)
{
	int err;
	ssize_t n;
	do
		n = read(fd, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(err))
		return 0;
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
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
static int sv_loop(struct holder *h, const struct acquire_opts *o, int sfd, pid_t child)
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
	int report[2] = {-1, -1}, go[2] = {-1, -1};
	/* go is a socket pair, not a pipe: the byte is sent with MSG_NOSIGNAL, so a
	 * child that died before it reads never kills the supervisor with SIGPIPE. */
	if (sfd < 0 || pipe2(report, O_CLOEXEC) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, go) < 0) {
		vl_error("%s: cannot start: %s", o->command[0], strerror(errno));
		if (report[1] >= 0)
			close(report[1]);
		status = VL_EXIT_OSERR;
		goto out;
	}
	fflush(NULL);
	pid_t parent = getpid();
	pid_t child = fork();
	if (child == 0) {
		close(go[1]); /* or the child would wait on its own end when the supervisor dies */
		sv_child(o, &oldmask, &nofile, parent, go[0], report[1]);
	}
	int fork_errno = errno;
	close(report[1]);
	close(go[0]);
	if (child < 0) {
		close(go[1]);
		vl_error("%s: cannot start: %s", o->command[0], strerror(fork_errno));
		status = VL_EXIT_OSERR;
		goto out;
	}
	err = holder_publish(&h, o->owner, child);
	if (err)
		vl_error("%s: holder record or control socket: %s; release and hotplug cannot reach pid %d",
			 h.dir, lockspace_strerror(err), (int)getpid());
	ssize_t sent = send(go[1], "", 1, MSG_NOSIGNAL);
	(void)sent; /* a child that is gone already is reaped below */
	close(go[1]);
	status = sv_exec_result(report[0], child, o);
	if (status)
		goto out;
	status = sv_loop(&h, o, sfd, child);
out:
	holder_finish(&h);
	if (report[0] >= 0)
		close(report[0]);
	if (sfd >= 0)
		close(sfd);
	/* The signals stay blocked: one that comes now must not replace the child's status. */
	return status;
}
