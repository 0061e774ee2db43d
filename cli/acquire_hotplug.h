/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* acquire_hotplug.h: adding resources to a live holder found by its owner label. */
#ifndef VIRLOCK_ACQUIRE_HOTPLUG_H
#define VIRLOCK_ACQUIRE_HOTPLUG_H

#include "acquire_common.h"

/*
 * Ask holder @pid (the kernel's owner of the label o->owner) to acquire
 * o->resources too (all-or-nothing). After its "ok" the kernel must show
 * @pid holding each of them (F_GETLK), or the answer is not trusted (71). With o->wait, the holder waits for
 * busy ones until the deadline, and stays for this hotplug even if a release leaves it nothing meanwhile.
 * Resources it holds already in the mode asked are left out (status 0, a notice unless o->quiet). Returns the
 * exit status, the error printed.
 */
int acquire_hotplug(struct lockspace *ls, pid_t pid, const struct acquire_opts *o);

/* acquire_hotplug(): holder @pid ended, or let go of the label, before it
 * took the request; nothing was printed or added: look up the label anew. */
#define ACQUIRE_HOLDER_GONE (-2)

#endif
