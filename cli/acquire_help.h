/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* acquire_help.h: the --help layout of the acquire and release subcommands. */
#ifndef VIRLOCK_ACQUIRE_HELP_H
#define VIRLOCK_ACQUIRE_HELP_H

#include <popt.h>
#include <stdio.h>

/* Usage line, @summary, the options, then "See virlock(1).". */
void acquire_help_print(poptContext con, const char *summary, FILE *out);

#endif
