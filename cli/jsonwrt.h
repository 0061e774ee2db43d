/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* jsonwrt.h: a small JSON writer: objects, arrays and members, indented two spaces a level. */
#ifndef VIRLOCK_JSONWRT_H
#define VIRLOCK_JSONWRT_H

#include <stdio.h>

#define VL_JSON_MAXDEPTH 8

/* A document being written to a stream: start it zeroed with .out set. */
struct vl_json {
	FILE *out;
	int depth;
	unsigned char members[VL_JSON_MAXDEPTH]; /* has the container at this depth any yet */
	unsigned char oneline[VL_JSON_MAXDEPTH]; /* is it written on one line, "[1, 2]" */
};

/*
 * Open an object ('{') or array ('[') as the next member: named @name inside
 * an object, NULL inside an array or at the top. An array opened with
 * @oneline keeps its values on one line; an object or array of members
 * otherwise puts each on a line of its own, and an empty one is "{}" or "[]".
 */
void vl_json_open(struct vl_json *j, const char *name, char type, int oneline);
/* Close the container opened last; @type is its closing '}' or ']'. */
void vl_json_close(struct vl_json *j, char type);
/* A string member (invalid UTF-8 as U+FFFD), or null when @s is NULL. */
void vl_json_string(struct vl_json *j, const char *name, const char *s);
/* A number member, signed or not. */
void vl_json_int(struct vl_json *j, const char *name, long long v);
void vl_json_uint(struct vl_json *j, const char *name, unsigned long long v);
/* A true or false member. */
void vl_json_bool(struct vl_json *j, const char *name, int v);
/* A null member. */
void vl_json_null(struct vl_json *j, const char *name);

#endif
