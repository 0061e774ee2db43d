/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* virlock.c: global options and the table of subcommands. */
#include <errno.h>
#include <popt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "virlock.h"

static const struct virlock_cmd commands[] = {
	{"acquire", "take locks, around a command or in a detached holder", cmd_acquire},
	{"release", "ask the holders of locks to drop them", cmd_release},
	{"list", "show held locks (and free lock files with -a)", cmd_list},
	{"inspect", "show everything about one resource", cmd_inspect},
	{"hash", "print the lock file name of each resource", cmd_hash},
	{"prune", "remove free lock files and stale holder records", cmd_prune},
	{"init", "make a lockspace explicitly", cmd_init},
	{"leave", "make this host leave a sanlock lockspace", cmd_leave},
};

static void print_commands(FILE *out)
{
	fputs("\nCommands:\n", out);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fputs("\nRun 'virlock COMMAND --help' for a command's options.\n", out);
}

int main(int argc, const char **argv)
{
	struct virlock_ctx ctx = {0};
	char *lockspace = NULL;
	int action = 0;
	struct poptOption options[] = {
		{"lockspace", 'L', POPT_ARG_STRING, NULL, 'L', "lockspace directory", "DIR"},
		{"direct", '\0', POPT_ARG_NONE, &ctx.direct, 0, "lock the resource files themselves", NULL},
		{"quiet", 'q', POPT_ARG_NONE, &ctx.quiet, 0, "print no messages but errors", NULL},
		{"verbose", 'v', POPT_ARG_NONE, &ctx.verbose, 0, "say what is done", NULL},
		{"help", 'h', POPT_ARG_NONE, NULL, 'h', "show this help and exit", NULL},
		{"usage", '\0', POPT_ARG_NONE, NULL, 'u', "show a short usage message and exit", NULL},
		{"version", 'V', POPT_ARG_NONE, NULL, 'V', "show the version and exit", NULL},
		POPT_TABLEEND,
	};
	poptContext con = poptGetContext("virlock", argc, argv, options, POPT_CONTEXT_POSIXMEHARDER);
	poptSetOtherOptionHelp(con, "[OPTION...] COMMAND [OPTIONS] [ARGS]");
	int rc;
	while ((rc = poptGetNextOpt(con)) > 0) {
		if (rc != 'L') {
			action = rc;
			continue;
		}
		free(lockspace); /* given again: the last one counts */
		lockspace = poptGetOptArg(con);
	}
	if (rc < -1) {
		vl_error("%s: %s; try 'virlock --help'", poptBadOption(con, POPT_BADOPTION_NOALIAS),
			 poptStrerror(rc));
		poptFreeContext(con);
		free(lockspace);
		return VL_EXIT_USAGE;
	}
	int status = VL_EXIT_OK;
	if (action == 'h') {
		vl_print_help(con, "Lock disk images and other resources in a lockspace directory.",
			      print_commands);
		goto out;
	}
	if (action == 'u') {
		poptPrintUsage(con, stdout, 0);
		goto out;
	}
	if (action == 'V') {
		vl_print_version();
		goto out;
	}
	const char **rest = poptGetArgs(con);
	if (!rest || !rest[0]) {
		vl_error("no command given; try 'virlock --help'");
		status = VL_EXIT_USAGE;
		goto out;
	}
	ctx.lockspace = lockspace;
	if (ctx.lockspace && ctx.direct) {
		vl_error("--lockspace and --direct exclude each other; give one");
		status = VL_EXIT_USAGE;
		goto out;
	}
	int nrest = 0;
	while (rest[nrest])
		nrest++;
	const struct virlock_cmd *cmd = NULL;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(rest[0], commands[i].name) == 0)
			cmd = &commands[i];
	if (!cmd) {
		vl_error("%s: unknown command; try 'virlock --help'", rest[0]);
		status = VL_EXIT_USAGE;
		goto out;
	}
	/* popt's copies of the command line can go before a holder settles
	 * down for hours: the command's arguments are the tail of argv (popt
	 * stops at the command), or failing that the same strings of argv. */
	const char **args = argv + (argc - nrest), **copy = NULL;
	for (int i = 0; i < nrest && args; i++)
		if (strcmp(args[i], rest[i]) != 0)
			args = NULL;
	if (!args && !(args = copy = vl_args_in_argv(rest, (size_t)nrest, argc, argv))) {
		vl_error("out of memory");
		status = VL_EXIT_OSERR;
		goto out;
	}
	poptFreeContext(con);
	con = NULL;
	status = cmd->run(&ctx, nrest, args);
	free(copy);
out:
	poptFreeContext(con);
	free(lockspace);
	return status;
}
