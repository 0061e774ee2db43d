/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* options.h: popt set-up shared by the subcommands: --help, --usage, --version, errors. */
#ifndef VIRLOCK_OPTIONS_H
#define VIRLOCK_OPTIONS_H

#include <popt.h>
#include <stdio.h>
#include <sys/types.h>

/* The popt context of a subcommand, parsed as "virlock CMD". */
struct vl_popt {
	poptContext con;
	const char **argv; /* argv with argv[0] = "virlock CMD", as popt keeps it */
	char *prog;
	const char *cmd;
};

/* The values of the standard options every subcommand has. */
enum {
	VL_OPT_HELP = 0x1000,
	VL_OPT_USAGE,
	VL_OPT_VERSION,
};

#define VL_POPT_STANDARD                                                                                     \
	{"help", 'h', POPT_ARG_NONE, NULL, VL_OPT_HELP, "show this help and exit", NULL},                    \
		{"usage", '\0', POPT_ARG_NONE, NULL, VL_OPT_USAGE, "show a short usage message and exit",    \
		 NULL},                                                                                      \
	{                                                                                                    \
		"version", 'V', POPT_ARG_NONE, NULL, VL_OPT_VERSION, "show the version and exit", NULL       \
	}

/* Print --help: popt's Usage line, @summary, the options, @extra (if not
 * NULL) and "See virlock(1).", on stdout. */
void vl_print_help(poptContext con, const char *summary, void (*extra)(FILE *out));
/* Print --version on stdout. */
void vl_print_version(void);
/* Start parsing @argv (argv[0] is the subcommand's name); 0, or -1 when out of memory. */
int vl_popt_start(struct vl_popt *p, int argc, const char **argv, const struct poptOption *opts,
		  const char *args_help);
/* Free what vl_popt_start() made. */
void vl_popt_end(struct vl_popt *p);
/*
 * Handle a poptGetNextOpt() value that is a standard option or an error:
 * print help (Usage line, @summary, options, @extra if not NULL, "See
 * virlock(1).") or usage or the version, or the error line. Returns the exit
 * status to end with, or -1 when @rc is none of those.
 */
int vl_popt_common(struct vl_popt *p, int rc, const char *summary, void (*extra)(FILE *out));
/* The remaining arguments and their count (*n); never NULL. */
const char **vl_popt_args(struct vl_popt *p, int *n);
/*
 * The @n strings of @args (popt's leftovers, which popt owns) as the same
 * strings of @argv, in a malloc'd NULL-terminated array, so that the popt
 * context can be freed: a holder of thousands of locks should not keep
 * popt's copies of its command line for hours. NULL when out of memory.
 */
const char **vl_args_in_argv(const char *const *args, size_t n, int argc, const char **argv);

/*
 * Parse the value of a pid option (@option, e.g. "--pid", names it in the
 * message): decimal digits only, from 1. Returns 0 with *@pid set, or
 * prints one line and returns VL_EXIT_USAGE.
 */
int vl_parse_pid(const char *option, const char *value, pid_t *pid);

/*
 * Parse the value of a number option (@option names it, @what says what it
 * is, e.g. "an exit status"): decimal digits only, from @min to @max (popt's
 * integers take "" as 0, " 7" as 7 and "0x10" as 16). Returns 0 with *@out
 * set, or prints one line and returns VL_EXIT_USAGE.
 */
int vl_parse_range(const char *option, const char *value, int min, int max, const char *what, int *out);

/*
 * Check an owner label given to @option, the same way for every command:
 * non-empty, at most LOCKSPACE_OWNER_MAX bytes, no control characters.
 * Returns 0, or prints one line naming @option and returns VL_EXIT_USAGE.
 */
int vl_check_label(const char *option, const char *label);

/*
 * For each use of the option of @opts whose val is @val in @argv (as popt
 * will parse it, up to "--"), whether its value was attached to it
 * ("--wait=5", "-w5", "-w=5") rather than the next word or none, in
 * @attached (at most @max). Returns the number of uses, in order: the k-th
 * time poptGetNextOpt() returns @val is @attached[k].
 */
size_t vl_popt_attached(const struct poptOption *opts, int val, int argc, const char **argv,
			unsigned char *attached, size_t max);

#endif
