/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* output.h: what list, inspect, hash, prune and init print alike: state words, times, safe text. */
#ifndef VIRLOCK_OUTPUT_H
#define VIRLOCK_OUTPUT_H

#include <popt.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include <lockspace.h>

#include "options.h"

/*
 * The waiters of a lock, sorted, each once: /proc/locks can show one waiter
 * twice while other locks on the host change. *out is malloc'd (NULL when
 * *nout is 0). Returns 0 or -ENOMEM.
 */
int vl_waiters_unique(const pid_t *w, size_t n, pid_t **out, size_t *nout);

/* "free", "shared" or "exclusive". */
const char *vl_state_word(enum lockspace_state state);
/* "verified", "empty", "corrupt" or "unreadable". */
const char *vl_integrity_word(int integrity);
/* A holder's own status: "ok", "norecord", "remote" (sanlock: on another
 * host), "stale" or "unconfirmed". */
const char *vl_holder_word(const struct lockspace_holder *h);
/* ISO 8601 local time with its UTC offset, "2024-11-23T18:09:01+01:00". */
#define VL_TIME_LEN 32
/* Format @t into @buf; returns @buf, or NULL when @t is 0 (unknown) or invalid. */
const char *vl_format_time(time_t t, char buf[VL_TIME_LEN]);

/* Print @s with control characters, backslash and invalid UTF-8 escaped as
 * \xNN; "-" for NULL or "" (unknown), and so "\x2d" for "-" itself. */
void vl_print_safe(FILE *out, const char *s);
/* Print a cell of raw output as vl_print_safe() does, blanks and bytes that
 * are not ASCII escaped too (as libsmartcols' raw mode writes them): a cell
 * is then one word that is never empty, and "-" always means unknown. */
void vl_print_raw_cell(FILE *out, const char *s);

/* Flush stdout; on a write error print it and return VL_EXIT_OSERR, else @status. */
int vl_finish_stdout(int status);

#endif
