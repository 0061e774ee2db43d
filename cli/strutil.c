/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* strutil.c: UTF-8 checks and the one escaper; no global state, so any part of virlock links it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

size_t vl_utf8_seq(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t cp;
	size_t len;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are not valid. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int vl_utf8_valid(const char *s)
{
	while (*s) {
		size_t len = vl_utf8_seq(s);
		if (!len)
			return 0;
		s += len;
	}
	return 1;
}

char *vl_utf8_clean(const char *s)
{
	/* Each bad byte grows to the three bytes of U+FFFD at most. */
	char *out = malloc(strlen(s) * 3 + 1);
	if (!out)
		return NULL;
	char *o = out;
	while (*s) {
		size_t len = vl_utf8_seq(s);
		if (len) {
			memcpy(o, s, len);
			o += len;
			s += len;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			s++;
		}
	}
	*o = '\0';
	return out;
}

/* The longest stand-in for one character: \uXXXX. */
#define ESC_MAX 8

/* @c as a JSON string wants it, into @buf; its length. */
static size_t escape_json(unsigned char c, size_t len, char buf[ESC_MAX])
{
	static const char hex[] = "0123456789abcdef";
	const char *two = c == '"'    ? "\\\""
			  : c == '\\' ? "\\\\"
			  : c == '\n' ? "\\n"
			  : c == '\t' ? "\\t"
			  : c == '\r' ? "\\r"
				      : NULL;
	if (len == 0) {
		memcpy(buf, "\\ufffd", 6);
		return 6;
	}
	if (two) {
		memcpy(buf, two, 2);
		return 2;
	}
	memcpy(buf, "\\u00", 4);
	buf[4] = hex[c >> 4];
	buf[5] = hex[c & 15];
	return 6;
}

/* Escape the character at @s: put what stands for it into @buf (ESC_MAX
 * bytes at most, not terminated), its length into *@outlen, and return how
 * many bytes of @s it took. */
static size_t escape_one(const char *s, unsigned flags, char buf[ESC_MAX], size_t *outlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c = (unsigned char)*s;
	/* UTF-8 is only decoded when a flag looks at it. */
	size_t len =
		c >= 0x80 && (flags & (VL_ESC_BADUTF8 | VL_ESC_NONASCII | VL_ESC_JSON)) ? vl_utf8_seq(s) : 1;
	/* A C1 control (U+0080 to U+009F: CSI is U+009B) acts on a terminal
	 * as its escape sequence does, whether as UTF-8 or as one byte. */
	int c1 = c == 0xc2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] < 0xa0;
	int esc = c < 0x20 || c == 0x7f || (c1 && !(flags & VL_ESC_JSON)) ||
		  (c == '\\' && (flags & (VL_ESC_BACKSLASH | VL_ESC_JSON))) ||
		  (c == '"' && (flags & VL_ESC_JSON)) || (c == ' ' && (flags & VL_ESC_BLANK)) ||
		  (c >= 0x80 && (flags & VL_ESC_NONASCII)) ||
		  (len == 0 && (flags & (VL_ESC_BADUTF8 | VL_ESC_JSON)));
	if (!esc) {
		memcpy(buf, s, len);
		*outlen = len;
		return len;
	}
	if (flags & VL_ESC_JSON) {
		*outlen = escape_json(c, len, buf);
	} else if (flags & VL_ESC_QMARK) {
		buf[0] = buf[1] = '?'; /* one for each byte: the length stays */
		*outlen = c1 ? 2 : 1;
		return *outlen;
	} else if (c1) {
		memcpy(buf, "\\xc2\\x", 6);
		buf[6] = hex[(unsigned char)s[1] >> 4];
		buf[7] = hex[s[1] & 15];
		*outlen = 8;
		return 2;
	} else {
		buf[0] = '\\';
		buf[1] = 'x';
		buf[2] = hex[c >> 4];
		buf[3] = hex[c & 15];
		*outlen = 4;
	}
	return 1;
}

size_t vl_escape(char *out, const char *s, unsigned flags)
{
	size_t n = 0;
	while (*s) {
		char buf[ESC_MAX];
		size_t len;
		s += escape_one(s, flags, buf, &len);
		if (out)
			memcpy(out + n, buf, len);
		n += len;
	}
	if (out)
		out[n] = '\0';
	return n;
}

void vl_fputs_escaped(FILE *out, const char *s, unsigned flags)
{
	/* Runs of characters that stand for themselves go out in one write:
	 * one fwrite() a character made raw output of many rows slow. */
	const char *run = s;
	while (*s) {
		unsigned char c = (unsigned char)*s;
		if (c > ' ' && c < 0x7f && c != '\\' && c != '"') {
			s++; /* stands for itself whatever the flags */
			continue;
		}
		char buf[ESC_MAX];
		size_t len, took = escape_one(s, flags, buf, &len);
		if (len != took || memcmp(buf, s, len) != 0) {
			fwrite(run, 1, (size_t)(s - run), out);
			fwrite(buf, 1, len, out);
			run = s + took;
		}
		s += took;
	}
	fwrite(run, 1, (size_t)(s - run), out);
}
