/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sanlock_delta.h: read a host id's delta lease from a sanlock lockspace lease. */
#ifndef LOCKSPACE_SANLOCK_DELTA_H
#define LOCKSPACE_SANLOCK_DELTA_H

#include <stdint.h>

#include "internal.h"

/* The longest host name a delta lease holds (sanlock's NAME_ID_SIZE), and a NUL. */
#define LSI_HOST_NAME_MAX (48 + 1)

/* One host id's delta lease, as the last host that took the id left it. */
struct lsi_delta {
	char host_name[LSI_HOST_NAME_MAX]; /* the daemon's name (sanlock daemon -e); "" never taken */
	uint64_t generation;		   /* counted up at each join of the id; 0 never taken */
	uint64_t timestamp;		   /* the owner's clock at its last renewal; 0 released */
	unsigned io_timeout;		   /* the owner's io timeout, seconds (0 unknown) */
};

/*
 * Read the delta lease of @host_id (1-2000) from <dir>/.lockspace.lease of
 * the sanlock lockspace @ls, with O_DIRECT as sanlock reads it (a host's page
 * cache knows nothing of the other hosts' writes). The timestamp is the
 * owner's monotonic clock: compare two reads of one id, never with this
 * host's clock. Returns 0, -EBADMSG (not a delta lease of this lockspace, or
 * its checksum is wrong), -EINVAL, or -errno.
 */
int lsi_delta_read(const struct lockspace *ls, unsigned host_id, struct lsi_delta *out);

#endif
