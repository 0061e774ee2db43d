/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* acquire_hotplug.h: adding resources to a live holder found by its owner label. */
#ifndef VIRLOCK_ACQUIRE_HOTPLUG_H
#define VIRLOCK_ACQUIRE_HOTPLUG_H

#include "acquire_common.h"

/* Find the live holder labelled @owner: 0 with *pid, -ENOENT if none, or -errno. */
int acquire_find_owner(struct lockspace *ls, const char *owner, pid_t *pid);

/*
 * Ask holder @pid to acquire o->resources too (all-or-nothing). With o->wait,
 * a busy answer is asked again until the deadline. Returns the exit status,
 * the error printed.
 */
int acquire_hotplug(struct lockspace *ls, pid_t pid, const struct acquire_opts *o);

#endif
