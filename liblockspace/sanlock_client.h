/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sanlock_client.h: libsanlock_client, loaded when a sanlock lockspace is first used. */
#ifndef LOCKSPACE_SANLOCK_CLIENT_H
#define LOCKSPACE_SANLOCK_CLIENT_H

#include <errno.h>
#include <stdint.h>
#include <sanlock.h>
#include <sanlock_admin.h>
#include <sanlock_resource.h>

/*
 * Every virlock process is a short one, and most never see a sanlock
 * lockspace: linking libsanlock_client would cost each of them one more
 * shared library to load, and make the sanlock package a dependency of
 * hosts that do not use it. So the library is opened on first use, and the
 * calls below go through these pointers.
 */
struct lsi_sanlock_client {
	__typeof__(sanlock_version) *version;
	__typeof__(sanlock_get_lockspaces) *get_lockspaces;
	__typeof__(sanlock_get_hosts) *get_hosts;
	__typeof__(sanlock_write_lockspace) *write_lockspace;
	__typeof__(sanlock_add_lockspace_timeout) *add_lockspace_timeout;
	__typeof__(sanlock_rem_lockspace) *rem_lockspace;
	__typeof__(sanlock_write_resource) *write_resource;
	__typeof__(sanlock_read_resource_owners) *read_resource_owners;
	__typeof__(sanlock_register) *reg;
	__typeof__(sanlock_acquire) *acquire;
	__typeof__(sanlock_release) *release;
	__typeof__(sanlock_inquire) *inquire;
};

extern struct lsi_sanlock_client lsi_sanlock_client;

/*
 * libsanlock_client writes to the daemon's socket with plain send(): once
 * the daemon is gone, that raises SIGPIPE, whose default action would end
 * the calling program. Every call therefore runs with SIGPIPE blocked in the
 * calling thread: lsi_sanlock_enter() blocks it (and loads the library),
 * lsi_sanlock_leave() consumes a SIGPIPE the call raised (one that was
 * pending before is left alone), restores the mask and returns @rv, so that
 * the call only returns an error (-EPIPE). Not nestable: one call at a time
 * per thread.
 */
int lsi_sanlock_enter(void);
int lsi_sanlock_leave(int rv);

#define LSI_SANLOCK_CALL(fn, ...)                                                                            \
	(lsi_sanlock_enter() == 0 ? lsi_sanlock_leave(lsi_sanlock_client.fn(__VA_ARGS__)) : -ENOPKG)

#define sanlock_version(...)		   LSI_SANLOCK_CALL(version, __VA_ARGS__)
#define sanlock_get_lockspaces(...)	   LSI_SANLOCK_CALL(get_lockspaces, __VA_ARGS__)
#define sanlock_get_hosts(...)		   LSI_SANLOCK_CALL(get_hosts, __VA_ARGS__)
#define sanlock_write_lockspace(...)	   LSI_SANLOCK_CALL(write_lockspace, __VA_ARGS__)
#define sanlock_add_lockspace_timeout(...) LSI_SANLOCK_CALL(add_lockspace_timeout, __VA_ARGS__)
#define sanlock_rem_lockspace(...)	   LSI_SANLOCK_CALL(rem_lockspace, __VA_ARGS__)
#define sanlock_write_resource(...)	   LSI_SANLOCK_CALL(write_resource, __VA_ARGS__)
#define sanlock_read_resource_owners(...)  LSI_SANLOCK_CALL(read_resource_owners, __VA_ARGS__)
#define sanlock_register()		   (lsi_sanlock_enter() == 0 ? lsi_sanlock_leave(lsi_sanlock_client.reg()) : -ENOPKG)
#define sanlock_acquire(...)		   LSI_SANLOCK_CALL(acquire, __VA_ARGS__)
#define sanlock_release(...)		   LSI_SANLOCK_CALL(release, __VA_ARGS__)
#define sanlock_inquire(...)		   LSI_SANLOCK_CALL(inquire, __VA_ARGS__)

#endif
