/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* virlock.h: what every subcommand of virlock shares: global options and messages. */
#ifndef VIRLOCK_H
#define VIRLOCK_H

#include <stdarg.h>
#include <lockspace.h>

#include "exit.h"

/* Global options, parsed before the subcommand. */
struct virlock_ctx {
	const char *lockspace; /* -L DIR, NULL for the default */
	int direct;	       /* --direct */
	int quiet;	       /* -q */
	int verbose;	       /* -v */
};

/* A subcommand: argv[0] is its name; returns the exit status. */
struct virlock_cmd {
	const char *name;
	const char *summary;
	int (*run)(struct virlock_ctx *ctx, int argc, const char **argv);
};

int cmd_acquire(struct virlock_ctx *ctx, int argc, const char **argv);
int cmd_release(struct virlock_ctx *ctx, int argc, const char **argv);
int cmd_list(struct virlock_ctx *ctx, int argc, const char **argv);
int cmd_inspect(struct virlock_ctx *ctx, int argc, const char **argv);
int cmd_hash(struct virlock_ctx *ctx, int argc, const char **argv);
int cmd_prune(struct virlock_ctx *ctx, int argc, const char **argv);
int cmd_init(struct virlock_ctx *ctx, int argc, const char **argv);
int cmd_leave(struct virlock_ctx *ctx, int argc, const char **argv);

/* Print "virlock: MESSAGE" on stderr (always, even with -q). */
void vl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "virlock: MESSAGE" on stderr with -v only. */
void vl_verbose(const struct virlock_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Open the lockspace the global options name (the default directory, created
 * with its parents, when there is no -L; direct mode with --direct). On
 * failure print one line naming the directory and return the exit status;
 * on success return 0 with *ls set.
 */
int vl_open_lockspace(const struct virlock_ctx *ctx, struct lockspace **ls);

/*
 * The same for a command that only looks or removes (list, inspect, release,
 * prune): it never creates a lockspace. A missing one returns 0 with *ls NULL
 * and *missing its path (malloc'd, for messages), and prints nothing;
 * otherwise *missing is NULL.
 */
int vl_open_existing_lockspace(const struct virlock_ctx *ctx, struct lockspace **ls, char **missing);

/* Say why lockspace_open() refused @dir with -EPERM (world-writable, or
 * another user's), after the prefix @cmd ("" or "init: "). */
void vl_unsafe_lockspace(const char *cmd, const char *dir);
/* Report @err opening the lockspace @dir (after "@cmd", e.g. "init: ") in one
 * line; returns the exit status. */
int vl_lockspace_error(const char *cmd, const char *dir, int err);

/* This host's id in the sanlock lockspace @ls (from its records directory,
 * <dir>/.holders/h<id>), 0 if it has not joined it or it is not sanlock. */
long vl_self_host_id(struct lockspace *ls);

/*
 * In a sanlock lockspace this host has not joined, say so for the command
 * @cmd ("release") with what to run, and return 71; otherwise return 0 and
 * print nothing. Every command that needs this host's membership (its
 * holders, records and control sockets) asks this first.
 */
int vl_check_joined(const char *cmd, struct lockspace *ls);

/* Write "host N (NAME)" for @h into @buf (just "host N" without a name). */
void vl_host_text(char *buf, size_t len, const struct lockspace_holder *h);

/* The advice that goes with a library error, or "" when there is none. */
const char *vl_advice(int err);

/* Name @dir in the advice to join a sanlock lockspace (-ENOTCONN), as
 * vl_check_joined() does; the lockspace a command opens is named so. */
void vl_join_advice(const char *dir);
/* The default lockspace into *@out (malloc'd): $VIRLOCK_LOCKSPACE, else
 * lockspace_default_dir(). 0 or -ENOMEM. */
int vl_default_dir(char **out);

/*
 * Print the error of turning the resource argument @res into a name
 * (lockspace_name(), lockspace_canonical()) and return its exit status: a
 * path that does not resolve (no such file, a component not a directory, a
 * symbolic link loop) is a bad resource, 66, never a corrupt lock file.
 */
int vl_resource_error(const char *res, int err);

/*
 * A resource named twice among the @n of @res (a.img ./a.img; with
 * @direct, where the file is the lock, also two hard links of one file;
 * @literal: strings, not paths) is a usage error, said before anything is
 * made, taken or released. Returns 0, or the exit status after one line.
 */
int vl_named_twice(const char *const *res, size_t n, unsigned literal, int direct);

#endif
