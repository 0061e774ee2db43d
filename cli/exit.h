/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* exit.h: virlock's exit status table and the map from library codes to it. */
#ifndef VIRLOCK_EXIT_H
#define VIRLOCK_EXIT_H

/* The values follow sysexits.h, as DESIGN and virlock(1) document them. */
enum virlock_exit {
	VL_EXIT_OK = 0,
	VL_EXIT_USAGE = 64,   /* usage error */
	VL_EXIT_DATAERR = 65, /* corrupt lock file or record */
	VL_EXIT_NOINPUT = 66, /* no such resource, lock or holder */
	VL_EXIT_OSERR = 71,   /* any other system error */
	VL_EXIT_BUSY = 75,    /* busy, or the wait timed out (changed by -E) */
	VL_EXIT_NOPERM = 77,  /* permission denied */
	VL_EXIT_CANNOT_EXEC = 126,
	VL_EXIT_NOT_FOUND = 127,
};

/* Map a negative errno from liblockspace to an exit status; 0 maps to 0. */
int virlock_exit_code(int err);

#endif
