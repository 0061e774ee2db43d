/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* virlock.c: global options, the table of subcommands, and parsing and running one. */
#include <errno.h>
#include <popt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "output.h"
#include "virlock.h"

static const struct virlock_cmd *const commands[] = {
	&vl_cmd_acquire, &vl_cmd_release, &vl_cmd_list,	 &vl_cmd_inspect, &vl_cmd_hash,
	&vl_cmd_prune,	 &vl_cmd_init,	  &vl_cmd_leave, &vl_cmd_check,
};

static void print_commands(FILE *out)
{
	fputs("\nCommands:\n", out);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-9s %s\n", commands[i]->name, commands[i]->summary);
	fputs("\nRun 'virlock COMMAND --help' for a command's options.\n", out);
}

/*
 * Parse the options of the command ctx->cmd from its @argc words @argv
 * (argv[0] its name), then run it: the exit status.
 */
static int parse_and_run(struct virlock_ctx *ctx, int argc, const char **argv)
{
	const struct virlock_cmd *cmd = ctx->cmd;
	int split = argc;
	if (cmd->dashes) { /* the options end at "--": what follows is the command */
		for (split = 1; split < argc && strcmp(argv[split], "--") != 0; split++)
			;
		ctx->after_dashes = split < argc ? argv + split + 1 : NULL;
	}
	ctx->argc = split;
	ctx->argv = argv;
	struct vl_popt p;
	if (vl_popt_start(&p, split, argv, cmd->options, cmd->usage) < 0)
		return VL_EXIT_OSERR;
	int rc, status = 0;
	while ((rc = poptGetNextOpt(p.con)) > 0) {
		if (rc == VL_OPT_HELP || rc == VL_OPT_USAGE || rc == VL_OPT_VERSION) {
			status = vl_popt_common(&p, rc, cmd->help, cmd->help_extra);
			vl_popt_end(&p);
			return status;
		}
		status = cmd->option(ctx, rc, poptGetOptArg(p.con));
		if (status) {
			vl_popt_end(&p);
			return status;
		}
	}
	if (rc < -1) {
		status = vl_popt_common(&p, rc, cmd->help, cmd->help_extra);
		vl_popt_end(&p);
		return status;
	}
	/* A holder may keep thousands of locks for hours: popt's copies of
	 * the command line go before the command runs. */
	int nargs;
	const char **left = vl_popt_args(&p, &nargs);
	const char **args = vl_args_in_argv(left, (size_t)nargs, split, argv);
	vl_popt_end(&p);
	if (!args) {
		vl_error("%s: %s", cmd->name, strerror(ENOMEM));
		return VL_EXIT_OSERR;
	}
	if (ctx->direct && cmd->no_direct) {
		vl_error("%s: %s", cmd->name, cmd->no_direct);
		status = VL_EXIT_USAGE;
	} else {
		status = vl_finish_stdout(cmd->run(ctx, nargs, args));
	}
	free(args);
	return status;
}

/* Run ctx->cmd, then free what its options kept. */
static int run_command(struct virlock_ctx *ctx, int argc, const char **argv)
{
	int status = parse_and_run(ctx, argc, argv);
	if (ctx->cmd->end)
		ctx->cmd->end();
	return status;
}

unsigned vl_hash;

/* The value of --hash: 0 and vl_hash set, or the usage status after one line. */
static int parse_hash(const char *arg)
{
	if (strcmp(arg, "md5") == 0)
		vl_hash = 0;
	else if (strcmp(arg, "sha256") == 0)
		vl_hash = LOCKSPACE_SHA256;
	else {
		vl_error("--hash %s: unknown hash; give md5 (the default) or sha256 (libvirt's virtlockd)",
			 arg);
		return VL_EXIT_USAGE;
	}
	return 0;
}

int main(int argc, const char **argv)
{
	struct virlock_ctx ctx = {0};
	char *lockspace = NULL, *hash = NULL;
	int action = 0;
	struct poptOption options[] = {
		{"lockspace", 'L', POPT_ARG_STRING, NULL, 'L', "lockspace directory", "DIR"},
		{"direct", '\0', POPT_ARG_NONE, &ctx.direct, 0, "lock the resource files themselves", NULL},
		{"hash", '\0', POPT_ARG_STRING, &hash, 0,
		 "name lock files by md5 (default) or sha256 of the path as spelled (virtlockd)", "HASH"},
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
	if (hash && (status = parse_hash(hash)) != 0)
		goto out;
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
		if (strcmp(rest[0], commands[i]->name) == 0)
			cmd = commands[i];
	if (!cmd) {
		vl_error("%s: unknown command; try 'virlock --help'", rest[0]);
		status = VL_EXIT_USAGE;
		goto out;
	}
	/* The command's own options are parsed from its words; the
	 * command's words are the tail of argv (popt stops at the command),
	 * or failing that the same strings of argv. */
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
	ctx.cmd = cmd;
	status = run_command(&ctx, nrest, args);
	free(copy);
out:
	poptFreeContext(con);
	free(lockspace);
	free(hash);
	return status;
}
