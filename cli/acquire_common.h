/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* acquire_common.h: the parsed acquire request and the helpers its three paths share. */
#ifndef VIRLOCK_ACQUIRE_COMMON_H
#define VIRLOCK_ACQUIRE_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "virlock.h"

struct acquire_opts {
	unsigned flags;		      /* LOCKSPACE_SHARED, LOCKSPACE_LITERAL */
	double wait;		      /* < 0 for ever, 0 no wait, > 0 seconds (what is left) */
	double wait_given;	      /* the wait as the user gave it, for messages */
	int wait_zero;		      /* -w 0 given: busy is not to be met with "wait with -w" */
	const char *owner;	      /* NULL for none */
	int conflict_exit;	      /* the status for busy or timed out (75 or -E) */
	int no_kill;		      /* --no-kill */
	int on_lost;		      /* --on-lost: enum acquire_on_lost */
	pid_t for_pid;		      /* --for-pid, 0 for none */
	const char *const *resources; /* as the user gave them */
	size_t n;
	const char *const *command; /* NULL without a command */
	int attach;		    /* --attach: only add to the live holder o->owner */
	int quiet;		    /* -q: no notices */
	int tell_wait;		    /* say whom a wait waits for (-v, or stderr a terminal) */
	int no_image_check;	    /* --no-image-check */
	const char *expect_state;   /* --expect-state TOKEN, or NULL */
	const uint64_t *states;	    /* its state of each resource (acquire_expect_states()) */
};

/*
 * --expect-state: check o->expect_state against the resources, for the
 * lockspace @ls (its backend and names), and put the state of each in a
 * malloc'd *@states. Returns 0, or prints one line and returns
 * VL_EXIT_USAGE: a malformed token, one of another kind of lockspace, or
 * one that does not hand off exactly these resources.
 */
int acquire_expect_states(struct lockspace *ls, const struct acquire_opts *o, uint64_t **states);

/* What acquire_wait() is to do for @o besides taking the locks. */
unsigned acquire_wait_how(const struct acquire_opts *o);

/* What a holder does to the command (or the --for-pid process) when the
 * backend tells it that its locks are gone (sanlock: the daemon went away
 * or revoked them). */
enum acquire_on_lost {
	ACQUIRE_LOST_KILL,   /* SIGKILL, as when the supervisor itself dies (default) */
	ACQUIRE_LOST_TERM,   /* SIGTERM */
	ACQUIRE_LOST_PAUSE,  /* SIGSTOP: a VM stops writing, and can be looked at */
	ACQUIRE_LOST_IGNORE, /* only say it */
};

/* Parse the value of --on-lost into *@out: 0, or one line printed and VL_EXIT_USAGE. */
int acquire_parse_on_lost(const char *value, int *out);

/*
 * The locks are lost (@why says how): act on @pid (the command or the
 * --for-pid process, named @what; 0 for none) as o->on_lost says, and say
 * so in one line on stderr naming the resources (@nheld of them held).
 */
void acquire_on_lost(const struct acquire_opts *o, size_t nheld, const char *why, pid_t pid,
		     const char *what);

/* "second" or "seconds", as @seconds asks. */
#define ACQUIRE_SECONDS(seconds) ((seconds) == 1 ? "second" : "seconds")

/* The failed index of a label that could not be claimed. */
#define ACQUIRE_FAILED_OWNER ((size_t)-2)

/*
 * Print the one-line error of a failed acquire through @ls, naming
 * resources[@failed] (when valid) with advice, and, when it was busy, who
 * holds it now (vl_conflict_who()); return the exit status: 128+@signo for
 * a wait ended by a signal, conflict_exit for busy or timed out.
 */
int acquire_report(struct lockspace *ls, const struct acquire_opts *o, int err, size_t failed, int signo);

/*
 * Before a wait (o->wait not 0, o->tell_wait): if a resource is busy now,
 * say once on stderr whom the acquire will wait for, as flock(1) never does.
 */
void acquire_tell_wait(struct lockspace *ls, const struct acquire_opts *o);

/*
 * The same for the images, before a detached holder starts (whose own
 * stderr is gone by the time it looks): if another program uses one now,
 * say once whom the holder will wait for.
 */
void acquire_tell_image(const struct acquire_opts *o);

/*
 * Print the one-line error of a failed claim of the label o->owner (naming
 * the holder that has it, asked of @ls) and return the exit status, as
 * acquire_report() does.
 */
int acquire_report_owner(struct lockspace *ls, const struct acquire_opts *o, int err, int signo);

/*
 * Canonicalise every resource (absolute, so that a holder in "/" or another
 * process resolves them the same). On success *out is a malloc'd array of
 * malloc'd strings, freed with acquire_free_list(); on failure the error has
 * been printed and the exit status is returned.
 */
int acquire_canonical_all(const struct acquire_opts *o, char ***out);
void acquire_free_list(char **list, size_t n);

/* "SIGTERM" for SIGTERM, or "signal N". */
const char *acquire_signame(int sig, char *buf, size_t len);

#endif
