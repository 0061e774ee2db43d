/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* conflict.h: naming who holds a resource that an acquire finds busy. */
#ifndef VIRLOCK_CONFLICT_H
#define VIRLOCK_CONFLICT_H

#include <stddef.h>

#include <lockspace.h>

/* Room for one description: a command, a pid, a label cut short, a time, all escaped. */
#define VL_WHO_LEN 1024

/*
 * Describe the holders of @resource (LOCKSPACE_LITERAL in @flags for a
 * literal) as the kernel and the records of @ls say now, for one line:
 * "qemu-system-x86 (pid 4242, owner web1, since 2026-12-07 14:50:01)", a
 * sanlock holder on another host as "host 2 (name)", " and N more" for
 * further shared holders. Returns 1 with @who filled, 0 when no holder can
 * be named (free by now, or a holder the kernel does not name, such as an
 * open file description lock or one on another host of a cluster filesystem).
 */
int vl_conflict_who(struct lockspace *ls, const char *resource, unsigned flags, char who[VL_WHO_LEN]);

#endif
