/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* options.c: popt set-up shared by the subcommands: --help, --usage, --version, errors. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "output.h"
#include "virlock.h"

void vl_print_version(void)
{
	printf("virlock %d.%d.%d (liblockspace %s)\n", LOCKSPACE_VERSION_MAJOR, LOCKSPACE_VERSION_MINOR,
	       LOCKSPACE_VERSION_PATCH, lockspace_version());
}

int vl_popt_start(struct vl_popt *p, int argc, const char **argv, const struct poptOption *opts,
		  const char *args_help)
{
	memset(p, 0, sizeof(*p));
	p->cmd = argv[0];
	p->argv = calloc((size_t)argc + 1, sizeof(*p->argv));
	if (!p->argv || asprintf(&p->prog, "virlock %s", argv[0]) < 0) {
		p->prog = NULL;
		vl_popt_end(p);
		vl_error("%s: %s", argv[0], strerror(ENOMEM));
		return -1;
	}
	/* popt names the program by argv[0] in its help: make it "virlock CMD". */
	p->argv[0] = p->prog;
	for (int i = 1; i < argc; i++)
		p->argv[i] = argv[i];
	p->con = poptGetContext(p->prog, argc, p->argv, opts, 0);
	if (!p->con) {
		vl_popt_end(p);
		vl_error("%s: %s", argv[0], strerror(ENOMEM));
		return -1;
	}
	if (args_help)
		poptSetOtherOptionHelp(p->con, args_help);
	return 0;
}

void vl_popt_end(struct vl_popt *p)
{
	if (p->con)
		poptFreeContext(p->con);
	free(p->argv);
	free(p->prog);
	p->con = NULL;
	p->argv = NULL;
	p->prog = NULL;
}

void vl_print_help(poptContext con, const char *summary, void (*extra)(FILE *out))
{
	char *buf = NULL;
	size_t size = 0;
	FILE *mem = open_memstream(&buf, &size);
	if (mem) {
		poptPrintHelp(con, mem, 0);
		if (fclose(mem) != 0) {
			free(buf);
			buf = NULL;
		}
	}
	if (!buf) {
		poptPrintHelp(con, stdout, 0);
	} else {
		/* popt starts with the Usage line; the summary goes right after it. */
		char *nl = strchr(buf, '\n');
		char *rest = nl ? nl + 1 : buf + strlen(buf);
		fwrite(buf, 1, (size_t)(rest - buf), stdout);
		printf("%s\n\n%s", summary, rest);
		free(buf);
	}
	if (extra)
		extra(stdout);
	fputs("\nSee virlock(1).\n", stdout);
}

int vl_popt_common(struct vl_popt *p, int rc, const char *summary, void (*extra)(FILE *out))
{
	switch (rc) {
	case VL_OPT_HELP:
		vl_print_help(p->con, summary, extra);
		return vl_finish_stdout(VL_EXIT_OK);
	case VL_OPT_USAGE:
		poptPrintUsage(p->con, stdout, 0);
		return vl_finish_stdout(VL_EXIT_OK);
	case VL_OPT_VERSION:
		vl_print_version();
		return vl_finish_stdout(VL_EXIT_OK);
	default:
		if (rc >= -1)
			return -1;
		vl_error("%s: %s: %s; try 'virlock %s --help'", p->cmd,
			 poptBadOption(p->con, POPT_BADOPTION_NOALIAS), poptStrerror(rc), p->cmd);
		return VL_EXIT_USAGE;
	}
}

const char **vl_popt_args(struct vl_popt *p, int *n)
{
	static const char *none[] = {NULL};
	const char **args = poptGetArgs(p->con);
	if (!args)
		args = none;
	*n = 0;
	while (args[*n])
		(*n)++;
	return args;
}

const char **vl_args_in_argv(const char *const *args, size_t n, int argc, const char **argv)
{
	const char **out = malloc((n + 1) * sizeof(*out));
	if (!out)
		return NULL;
	/* popt keeps the order of the arguments it leaves: walk argv along. */
	int j = 0;
	for (size_t i = 0; i < n; i++) {
		int k = j;
		while (k < argc && strcmp(argv[k], args[i]) != 0)
			k++;
		if (k == argc) {
			free(out); /* not from argv: never happens with popt */
			return NULL;
		}
		out[i] = argv[k];
		j = k + 1;
	}
	out[n] = NULL;
	return out;
}

/* @value as decimal digits only (no sign, space or base prefix), up to
 * @max; 0 with *@out set, or -1. */
static int vl_decimal(const char *value, long long max, long long *out)
{
	/* popt's integers take "" as 0, " 7" as 7 and "0x10" as 16. */
	long long v = 0;
	const char *s = value ? value : "";
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	return 0;
}

int vl_parse_pid(const char *option, const char *value, pid_t *pid)
{
	/* "list -p 0" would list every lock. */
	long long v = 0;
	if (vl_decimal(value, INT_MAX, &v) == 0 && v > 0) {
		*pid = (pid_t)v;
		return 0;
	}
	if (!value || !*value)
		vl_error("%s: no process id given (an empty word); give a positive pid", option);
	else
		vl_error("%s %s: not a process id; give a positive pid", option, value);
	return VL_EXIT_USAGE;
}

int vl_parse_range(const char *option, const char *value, int min, int max, const char *what, int *out)
{
	long long v = 0;
	if (vl_decimal(value, max, &v) == 0 && v >= min) {
		*out = (int)v;
		return 0;
	}
	if (!value || !*value)
		vl_error("%s: no value given (an empty word); give a decimal number from %d to %d", option,
			 min, max);
	else
		vl_error("%s %s: not %s; give a decimal number from %d to %d", option, value, what, min, max);
	return VL_EXIT_USAGE;
}

int vl_check_label(const char *option, const char *label)
{
	if (!label || !*label) {
		vl_error("%s: an empty label; give a non-empty label", option);
		return VL_EXIT_USAGE;
	}
	size_t len = strlen(label);
	if (len > LOCKSPACE_OWNER_MAX) {
		vl_error("%s: label is %zu bytes; give at most %d", option, len, LOCKSPACE_OWNER_MAX);
		return VL_EXIT_USAGE;
	}
	for (const unsigned char *s = (const unsigned char *)label; *s; s++) {
		if (*s < ' ' || *s == 0x7f) {
			vl_error(
				"%s: a label has no control characters; give a label of printable characters",
				option);
			return VL_EXIT_USAGE;
		}
	}
	return 0;
}

/* The option of @opts that @arg ("--long" up to @len, or a short @c) names. */
static const struct poptOption *vl_find_option(const struct poptOption *opts, const char *name, size_t len,
					       char c)
{
	for (; opts->longName || opts->shortName || opts->arg; opts++) {
		if (name && opts->longName && strlen(opts->longName) == len &&
		    strncmp(opts->longName, name, len) == 0)
			return opts;
		if (!name && c && opts->shortName == c)
			return opts;
	}
	return NULL;
}

static int vl_takes_value(const struct poptOption *o)
{
	unsigned type = o->argInfo & POPT_ARG_MASK;
	return type != POPT_ARG_NONE && type != POPT_ARG_VAL;
}

size_t vl_popt_attached(const struct poptOption *opts, int val, int argc, const char **argv,
			unsigned char *attached, size_t max)
{
	size_t n = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || a[1] == '\0')
			continue; /* an argument */
		if (strcmp(a, "--") == 0)
			break; /* the rest are arguments */
		const struct poptOption *o = NULL;
		const char *value = NULL;
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
			o = vl_find_option(opts, a + 2, len, 0);
			if (!o)
				break; /* popt stops here with an error */
			if (!vl_takes_value(o))
				continue;
			value = eq ? eq + 1 : NULL;
		} else {
			/* A cluster of short options: the first that takes a
			 * value takes the rest of the word, after an optional '='. */
			for (const char *c = a + 1; *c; c++) {
				o = vl_find_option(opts, NULL, 0, *c);
				if (!o || vl_takes_value(o)) {
					if (o && c[1])
						value = c + 1;
					break;
				}
			}
			if (!o)
				break;
			if (!vl_takes_value(o))
				continue;
		}
		if (o->val == val && n < max)
			attached[n++] = value != NULL;
		/* A value not attached is the next word: always for a required
		 * one, and for an optional one unless that word is an option. */
		if (!value && i + 1 < argc &&
		    (!(o->argInfo & POPT_ARGFLAG_OPTIONAL) || argv[i + 1][0] != '-'))
			i++;
	}
	return n;
}
