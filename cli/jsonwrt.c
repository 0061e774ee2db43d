/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* jsonwrt.c: a small JSON writer, the shape of util-linux's lib/jsonwrt.c; strings quoted by the one escaper
 * (VL_ESC_JSON). */
#include "jsonwrt.h"
#include "strutil.h"

/* Start the next member: its separator, indent and name. */
static void member(struct vl_json *j, const char *name)
{
	int d = j->depth;
	if (d > 0) {
		if (j->members[d])
			fputc(',', j->out);
		if (j->oneline[d]) {
			if (j->members[d])
				fputc(' ', j->out);
		} else {
			fprintf(j->out, "\n%*s", 2 * d, "");
		}
		j->members[d] = 1;
	}
	if (name)
		fprintf(j->out, "\"%s\": ", name);
}

void vl_json_open(struct vl_json *j, const char *name, char type, int oneline)
{
	member(j, name);
	fputc(type, j->out);
	if (j->depth + 1 >= VL_JSON_MAXDEPTH)
		return; /* deeper than any document of virlock: a bug, seen in the output */
	j->depth++;
	j->members[j->depth] = 0;
	j->oneline[j->depth] = (unsigned char)!!oneline;
}

void vl_json_close(struct vl_json *j, char type)
{
	int d = j->depth;
	if (d > 0 && j->members[d] && !j->oneline[d])
		fprintf(j->out, "\n%*s", 2 * (d - 1), "");
	fputc(type, j->out);
	if (d > 0)
		j->depth--;
}

void vl_json_null(struct vl_json *j, const char *name)
{
	member(j, name);
	fputs("null", j->out);
}

void vl_json_bool(struct vl_json *j, const char *name, int v)
{
	member(j, name);
	fputs(v ? "true" : "false", j->out);
}

void vl_json_int(struct vl_json *j, const char *name, long long v)
{
	member(j, name);
	fprintf(j->out, "%lld", v);
}

void vl_json_uint(struct vl_json *j, const char *name, unsigned long long v)
{
	member(j, name);
	fprintf(j->out, "%llu", v);
}

void vl_json_string(struct vl_json *j, const char *name, const char *s)
{
	FILE *out = j->out;
	member(j, name);
	if (!s) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	vl_fputs_escaped(out, s, VL_ESC_JSON);
	fputc('"', out);
}
