/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* holder_core.h: what supervisors and detached holders share: locks, record, control socket. */
#ifndef VIRLOCK_HOLDER_CORE_H
#define VIRLOCK_HOLDER_CORE_H

#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <lockspace.h>

struct holder {
	struct lockspace *ls;
	const char *dir; /* lockspace directory, NULL in direct mode */
	char *holders;	 /* this host's records directory, once published */
	int listenfd;	 /* -1 without a control socket */
	size_t nheld;	 /* holds taken through @ls and not released */
};

/* Raise the soft RLIMIT_NOFILE to the hard limit (one descriptor per lock); *saved gets the old one. */
void holder_raise_nofile(struct rlimit *saved);

/*
 * Describe the holder in its record (@owner may be NULL, @child 0) and listen
 * on its control socket. Nothing to do in direct mode. 0 or a negative errno.
 */
int holder_publish(struct holder *h, const char *owner, pid_t child);

/* Serve one pending request on the control socket. */
void holder_serve(struct holder *h);

/* Stop listening, release every lock, delete the record and close the handle. */
void holder_finish(struct holder *h);

#endif
