/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tap.h: a tiny TAP producer for the unit tests (plan printed at the end; counters in testlib.c). */
#ifndef TAP_H
#define TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tests run and tests failed so far. */
extern int tap_count;
extern int tap_failed;

/* Record one result; print "ok N - what" or "not ok N - what" and where. */
#define ok(cond, ...)                                                                                        \
	do {                                                                                                 \
		int tap_ok_ = !!(cond);                                                                      \
		printf("%sok %d - ", tap_ok_ ? "" : "not ", ++tap_count);                                    \
		printf(__VA_ARGS__);                                                                         \
		printf("\n");                                                                                \
		if (!tap_ok_) {                                                                              \
			tap_failed++;                                                                        \
			printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);                      \
		}                                                                                            \
		fflush(stdout);                                                                              \
	} while (0)

/* Compare two ints and show both on failure. */
#define is_int(got, want, ...)                                                                               \
	do {                                                                                                 \
		long tap_g_ = (long)(got), tap_w_ = (long)(want);                                            \
		ok(tap_g_ == tap_w_, __VA_ARGS__);                                                           \
		if (tap_g_ != tap_w_)                                                                        \
			printf("#   got %ld, want %ld\n", tap_g_, tap_w_);                                   \
	} while (0)

/* Compare two strings (either may be NULL) and show both on failure. */
#define is_str(got, want, ...)                                                                               \
	do {                                                                                                 \
		const char *tap_gs_ = (got), *tap_ws_ = (want);                                              \
		int tap_eq_ = (tap_gs_ == NULL && tap_ws_ == NULL) ||                                        \
			      (tap_gs_ != NULL && tap_ws_ != NULL && strcmp(tap_gs_, tap_ws_) == 0);         \
		ok(tap_eq_, __VA_ARGS__);                                                                    \
		if (!tap_eq_)                                                                                \
			printf("#   got \"%s\", want \"%s\"\n", tap_gs_ ? tap_gs_ : "(null)",                \
			       tap_ws_ ? tap_ws_ : "(null)");                                                \
	} while (0)

/* Record a test that cannot run here as passed, with the reason: "ok N # SKIP why". */
#define skip(...)                                                                                            \
	do {                                                                                                 \
		printf("ok %d # SKIP ", ++tap_count);                                                        \
		printf(__VA_ARGS__);                                                                         \
		printf("\n");                                                                                \
		fflush(stdout);                                                                              \
	} while (0)

/* Print a diagnostic line ("# ..."), which TAP readers ignore. */
#define diag(...)                                                                                            \
	do {                                                                                                 \
		printf("# ");                                                                                \
		printf(__VA_ARGS__);                                                                         \
		printf("\n");                                                                                \
		fflush(stdout);                                                                              \
	} while (0)

/* Print the plan and return the exit status of the test program. */
int tap_done(void);

#endif
