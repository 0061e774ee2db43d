/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* acquire_help.c: --help with a one-line description under popt's usage line. */
#include <stdlib.h>
#include <string.h>

#include "acquire_help.h"

void acquire_help_print(poptContext con, const char *summary, FILE *out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	if (mem) {
		poptPrintHelp(con, mem, 0);
		fclose(mem);
	}
	const char *options = buf ? strchr(buf, '\n') : NULL;
	if (options) {
		fwrite(buf, 1, (size_t)(options - buf) + 1, out);
		fprintf(out, "%s\n\n%s", summary, options + 1);
	} else {
		poptPrintHelp(con, out, 0);
	}
	fputs("\nSee virlock(1).\n", out);
	free(buf);
}
