/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* strutil.h: string helpers every part of virlock shares: UTF-8 checks and the one escaper. */
#ifndef VIRLOCK_STRUTIL_H
#define VIRLOCK_STRUTIL_H

#include <stddef.h>
#include <stdio.h>

/* Length of the valid UTF-8 sequence at @s (1 for ASCII), or 0 if it is not one. */
size_t vl_utf8_seq(const char *s);
/* 1 if @s is valid UTF-8, else 0. */
int vl_utf8_valid(const char *s);
/* A malloc'd copy of @s with each invalid UTF-8 byte replaced by U+FFFD. */
char *vl_utf8_clean(const char *s);

/*
 * What vl_escape() escapes besides control characters (below 0x20, 0x7f,
 * and, but with VL_ESC_JSON, the C1 controls U+0080 to U+009F as UTF-8),
 * which it always does. Each escaped byte becomes \xNN, or '?' with
 * VL_ESC_QMARK, or what JSON wants with VL_ESC_JSON.
 */
enum vl_esc_flags {
	VL_ESC_BACKSLASH = 1u << 0, /* '\' itself, so that an escape reads back unambiguously */
	VL_ESC_BADUTF8 = 1u << 1,   /* each byte that is not part of valid UTF-8 */
	VL_ESC_NONASCII = 1u << 2,  /* every byte from 0x80 on, valid UTF-8 or not */
	VL_ESC_BLANK = 1u << 3,	    /* ' ': a raw cell is one word */
	VL_ESC_QMARK = 1u << 4,	    /* '?' instead of \xNN (one line of a protocol) */
	/* The inside of a JSON string (RFC 8259), alone: '"', '\' and control
	 * characters as JSON escapes (\", \\, \n, \t, \r, else \u00NN), each
	 * byte that is not part of valid UTF-8 as \ufffd; valid UTF-8 as is. */
	VL_ESC_JSON = 1u << 5,
};

/*
 * The one escaper: write @s escaped as @flags say into @out, NUL-terminated,
 * and return its length (without the NUL). With @out NULL only count: a
 * caller sizes its buffer with one call and fills it with a second. With
 * VL_ESC_QMARK the length is strlen(@s), and @out may be @s itself.
 */
size_t vl_escape(char *out, const char *s, unsigned flags);

/* Print @s escaped by vl_escape() with @flags on @out. */
void vl_fputs_escaped(FILE *out, const char *s, unsigned flags);

#endif
