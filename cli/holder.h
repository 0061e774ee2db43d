/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* holder.h: the detached holder, which keeps locks until released. */
#ifndef VIRLOCK_HOLDER_H
#define VIRLOCK_HOLDER_H

#include "acquire_common.h"

/*
 * Fork a detached holder that acquires o->resources and keeps them until a
 * release leaves it nothing, a signal, or the end of o->for_pid. Returns in
 * the caller only once the locks are held (0) or the holder failed (its
 * error printed, the exit status returned). Takes ownership of @ls. In the
 * holder itself it returns too, when it is done: *in_holder is then set.
 * The holder claims o->owner before the locks, waiting as for them.
 */
/* holder_run(): another holder claimed o->owner first; nothing was printed or held. */
#define HOLDER_LABEL_TAKEN (-1)

int holder_run(struct lockspace *ls, const struct acquire_opts *o, int *in_holder);

#endif
