/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* holder_core.h: what supervisors and detached holders share: locks, record, control socket. */
#ifndef VIRLOCK_HOLDER_CORE_H
#define VIRLOCK_HOLDER_CORE_H

#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <lockspace.h>

struct hc_ctl;

struct holder {
	struct lockspace *ls;
	const char *dir;      /* lockspace directory, NULL in direct mode */
	int listenfd;	      /* what the loop polls for holder_serve() (the control socket and the
			       * hotplugs that wait, as one epoll set); -1 without a control socket */
	size_t nheld;	      /* holds taken through @ls and not released */
	const char *owner;    /* its label, NULL for none */
	struct hc_ctl *ctl;   /* the control socket and the waiting hotplugs, NULL before publishing */
	int leave_when_empty; /* a detached holder: once it holds nothing and no hotplug waits, it
			       * lets go of everything before it answers the request that emptied it */
};

/* Raise the soft RLIMIT_NOFILE to the hard limit (one descriptor per lock); *saved gets the old one. */
void holder_raise_nofile(struct rlimit *saved);

/*
 * Describe the holder in its record (@owner may be NULL, @child 0; the label
 * is claimed, if it is not yet) and listen on its control socket. Nothing to
 * do in direct mode. 0 or a negative errno (-EBUSY: another holder has the
 * label). @owner must live as long as @h.
 */
int holder_publish(struct holder *h, const char *owner, pid_t child);

/* Serve what is ready: a request on the control socket, a retry of a hotplug that waits. */
void holder_serve(struct holder *h);

/* Hotplugs that wait for busy resources: a detached holder stays while there are any. */
size_t holder_waiting(const struct holder *h);

/* Delete the record, release every lock and the label, close the handle,
 * stop listening, then answer the hotplugs that wait (the holder ends). */
void holder_finish(struct holder *h);

#endif
