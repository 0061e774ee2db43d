/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* supervisor.h: hold locks exactly as long as a command runs. */
#ifndef VIRLOCK_SUPERVISOR_H
#define VIRLOCK_SUPERVISOR_H

#include "acquire_common.h"

/*
 * Acquire o->resources through @ls, run o->command as a child, forward
 * signals to it, serve the control socket while it runs, then release.
 * Takes ownership of @ls (closes it). Returns the exit status: the child's,
 * 128+N if it died of signal N, 126/127 if it could not be run, or the
 * status of the failed acquire.
 */
int supervisor_run(struct lockspace *ls, const struct acquire_opts *o);

#endif
