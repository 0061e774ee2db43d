/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sanlock_client.c: open libsanlock_client on first use (see sanlock_client.h). */
#ifdef HAVE_SANLOCK
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "sanlock_client.h"

struct lsi_sanlock_client lsi_sanlock_client;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_err = -ENOPKG;

/* dlsym() gives an object pointer; POSIX makes it a function's too. */
#define LOAD(member, symbol) (*(void **)&lsi_sanlock_client.member = dlsym(handle, symbol)) != NULL

static void load(void)
{
	void *handle = dlopen("libsanlock_client.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!handle)
		return;
	if (LOAD(version, "sanlock_version") && LOAD(get_lockspaces, "sanlock_get_lockspaces") &&
	    LOAD(get_hosts, "sanlock_get_hosts") && LOAD(write_lockspace, "sanlock_write_lockspace") &&
	    LOAD(add_lockspace_timeout, "sanlock_add_lockspace_timeout") &&
	    LOAD(rem_lockspace, "sanlock_rem_lockspace") && LOAD(write_resource, "sanlock_write_resource") &&
	    LOAD(read_resource_owners, "sanlock_read_resource_owners") && LOAD(reg, "sanlock_register") &&
	    LOAD(acquire, "sanlock_acquire") && LOAD(release, "sanlock_release") &&
	    LOAD(inquire, "sanlock_inquire"))
		load_err = 0;
	/* On failure the handle stays open: the library is loaded for good
	 * either way, and closing it would gain nothing. */
}

/* Open libsanlock_client.so.1 once (thread-safe). Returns 0, or -ENOPKG
 * when it is not installed or lacks a call. */
static int client_load(void)
{
	pthread_once(&load_once, load);
	return load_err;
}

/* The calling thread's mask and SIGPIPE state during one call. */
static _Thread_local sigset_t call_mask;
static _Thread_local int call_pipe_pending;

int lsi_sanlock_enter(void)
{
	int err = client_load();
	if (err)
		return err;
	sigset_t pipe_set, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &call_mask);
	call_pipe_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
	return 0;
}

int lsi_sanlock_leave(int rv)
{
	sigset_t pipe_set, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	if (!call_pipe_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
		/* Raised by the call's write to a daemon that is gone: the error
		 * the call returns says it. */
		struct timespec now = {0, 0};
		while (sigtimedwait(&pipe_set, NULL, &now) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &call_mask, NULL);
	return rv;
}
#endif
