/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* virlock.h: what every subcommand of virlock shares: global options, the command table, messages. */
#ifndef VIRLOCK_H
#define VIRLOCK_H

#include <stdarg.h>
#include <lockspace.h>

#include "exit.h"
#include "options.h"

struct virlock_cmd;

/* Global options, parsed before the subcommand, and the subcommand. */
struct virlock_ctx {
	const char *lockspace;	       /* -L DIR, NULL for the default */
	int direct;		       /* --direct */
	int quiet;		       /* -q */
	int verbose;		       /* -v */
	const struct virlock_cmd *cmd; /* the subcommand that runs */
	/* The subcommand's words as its options are parsed from them (argv[0]
	 * its name; for acquire, the words before "--"), and what follows
	 * "--" (NULL when there is no "--") where a command takes one. */
	int argc;
	const char **argv;
	const char **after_dashes;
};

/* What a subcommand does with the lockspace. */
enum vl_lockspace_use {
	VL_LOCKSPACE_NONE,     /* opens none (hash) */
	VL_LOCKSPACE_EXISTING, /* only looks or removes: a missing one is empty */
	VL_LOCKSPACE_CREATE,   /* makes it when it does not exist yet */
};

/*
 * A subcommand's interface. main() parses its options with @options (which
 * ends with VL_POPT_STANDARD), answers --help, --usage and --version, says
 * the popt errors, refuses --direct with @no_direct, runs @run with the
 * arguments that are left and flushes stdout.
 */
struct virlock_cmd {
	const char *name;
	const char *summary; /* its line in 'virlock --help' */
	const char *help;    /* the line under Usage in its --help */
	const char *usage;   /* its arguments in the Usage line */
	struct poptOption *options;
	void (*help_extra)(FILE *out); /* more --help after the options, or NULL */
	enum vl_lockspace_use lockspace;
	const char *no_direct; /* the message refusing --direct, NULL when it works */
	int dashes;	       /* takes a command after "--" (ctx->after_dashes) */
	/* An option whose val is not 0 (and not a standard one), with its value
	 * (malloc'd, the hook's to free; NULL without one): 0 or the exit status
	 * to stop with, after one line. NULL when there is none. */
	int (*option)(struct virlock_ctx *ctx, int val, char *arg);
	/* Run with the arguments popt left (@args, @nargs of them); the exit status. */
	int (*run)(struct virlock_ctx *ctx, int nargs, const char **args);
	/* Free what @option kept, whether @run ran or not; NULL when nothing. */
	void (*end)(void);
};

/* The global --hash: LOCKSPACE_SHA256, or 0 for MD5 (the default). Set once
 * by main() before any subcommand runs; every name computed without a handle
 * (lockspace_name(), lockspace_canonical()) adds it to its flags, and the
 * lockspace is opened with LOCKSPACE_OPEN_SHA256 when it is set. */
extern unsigned vl_hash;

extern const struct virlock_cmd vl_cmd_acquire, vl_cmd_release, vl_cmd_list, vl_cmd_inspect, vl_cmd_hash,
	vl_cmd_prune, vl_cmd_init, vl_cmd_leave, vl_cmd_check;

/* Print "virlock: MESSAGE" on stderr (always, even with -q). */
void vl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "virlock: MESSAGE" on stderr with -v only. */
void vl_verbose(const struct virlock_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Open the lockspace the global options name, as the command ctx->cmd uses
 * it (direct mode with --direct). VL_LOCKSPACE_CREATE makes the default
 * directory with its parents when there is no -L. VL_LOCKSPACE_EXISTING
 * never makes one: a missing one returns 0 with *ls NULL and *missing its
 * path (malloc'd, for messages), and prints nothing; otherwise *missing is
 * NULL (@missing is unused for VL_LOCKSPACE_CREATE). On failure print one
 * line naming the directory and return the exit status; on success return
 * 0 with *ls set.
 */
int vl_lockspace_open(const struct virlock_ctx *ctx, struct lockspace **ls, char **missing);

/* Say why lockspace_open() refused @dir with -EPERM (world-writable, or
 * another user's), after the prefix @cmd ("" or "init: "). */
void vl_unsafe_lockspace(const char *cmd, const char *dir);
/* Report @err opening the lockspace @dir (after "@cmd", e.g. "init: ") in one
 * line; returns the exit status. */
int vl_lockspace_error(const char *cmd, const char *dir, int err);

/* This host's id in the sanlock lockspace @ls (lockspace_host_id()), 0 if
 * it has not joined it or it is not sanlock. */
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
