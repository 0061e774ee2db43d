/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* layout.c: a big table laid out in one cheap pass, byte for byte as libsmartcols lays it out for a pipe. */
#include <ctype.h>
#include <stdint.h>
#include <errno.h>
#include <langinfo.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>
#include <wctype.h>

#include "layout.h"

int vl_layout_usable(void)
{
	if (isatty(STDOUT_FILENO) || getenv("LIBSMARTCOLS_DEBUG"))
		return 0;
	const char *cs = nl_langinfo(CODESET);
	return strcmp(cs, "UTF-8") == 0 || strcmp(cs, "ANSI_X3.4-1968") == 0;
}

/* Is @s printable ASCII that libsmartcols copies as it is, one cell a byte
 * (true of UTF-8 and ASCII from the initial shift state)? Its length then. */
static int plain(const char *s, size_t *len)
{
	const unsigned char *p = (const unsigned char *)s;
	for (; *p; p++)
		if (*p < 0x20 || *p > 0x7e || (*p == '\\' && p[1] == 'x'))
			return 0;
	*len = (size_t)(p - (const unsigned char *)s);
	return 1;
}

static char *put_hex(char *o, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	*o++ = '\\';
	*o++ = 'x';
	*o++ = hex[c >> 4];
	*o++ = hex[c & 15];
	return o;
}

/*
 * The "safe" form of @s that libsmartcols prints, into @out (4 bytes a byte
 * of @s at most, plus the NUL), and its width in cells. The rules are
 * libsmartcols': a control character and the backslash of "\x" become \xNN;
 * a byte that does not start a valid character stays if isprint() says so,
 * else becomes \xNN; an unprintable character becomes \xNN for each of its
 * bytes; any other character stays and takes wcwidth() cells.
 */
static size_t encode(const char *s, char *out)
{
	mbstate_t st;
	memset(&st, 0, sizeof(st));
	size_t width = 0;
	char *o = out;
	const char *p = s;
	while (*p) {
		unsigned char c = (unsigned char)*p;
		if ((c == '\\' && p[1] == 'x') || iscntrl(c)) {
			o = put_hex(o, c);
			width += 4;
			p++;
			continue;
		}
		wchar_t wc;
		size_t len = mbrtowc(&wc, p, MB_CUR_MAX, &st);
		if (len == 0)
			break;
		if (len == (size_t)-1 || len == (size_t)-2) {
			len = 1;
			if (isprint(c)) {
				*o++ = (char)c;
				width++;
			} else {
				o = put_hex(o, c);
				width += 4;
			}
		} else if (!iswprint((wint_t)wc)) {
			for (size_t i = 0; i < len; i++)
				o = put_hex(o, (unsigned char)p[i]);
			width += 4 * len;
		} else {
			memcpy(o, p, len);
			o += len;
			width += (size_t)wcwidth(wc); /* as libsmartcols adds it */
		}
		p += len;
	}
	*o = '\0';
	return width;
}

/* A reusable buffer for the safe form of one cell. */
struct cellbuf {
	char *buf;
	size_t cap;
};

/* The text to print for @s (NULL: empty) into *@text, its width into *@width. */
static int cell_text(struct cellbuf *cb, const char *s, const char **text, size_t *width)
{
	size_t len;
	if (!s)
		s = "";
	if (plain(s, &len)) {
		*text = s;
		*width = len;
		return 0;
	}
	len = strlen(s) * 4 + 1;
	if (len > cb->cap) {
		char *b = realloc(cb->buf, len);
		if (!b)
			return -ENOMEM;
		cb->buf = b;
		cb->cap = len;
	}
	*width = encode(s, cb->buf);
	*text = cb->buf;
	return 0;
}

/* A line being put together: one fwrite() a line, not a few a cell. */
struct line {
	char *buf;
	size_t len, cap;
};

static int line_room(struct line *l, size_t more)
{
	if (l->len + more <= l->cap)
		return 0;
	size_t cap = (l->len + more) * 2;
	char *b = realloc(l->buf, cap);
	if (!b)
		return -ENOMEM;
	l->buf = b;
	l->cap = cap;
	return 0;
}

/* One cell of width @len in a column of width @width, as libsmartcols' print_data(). */
static int put_cell(struct line *l, const struct vl_layout_col *col, size_t width, int last, const char *text,
		    size_t len)
{
	size_t bytes = strlen(text);
	if (line_room(l, bytes + (width > len ? width - len : 0) + 1) < 0)
		return -ENOMEM;
	if (*text && col->right && len < width) {
		memset(l->buf + l->len, ' ', width - len);
		l->len += width - len;
		len = width;
	}
	memcpy(l->buf + l->len, text, bytes);
	l->len += bytes;
	if (last)
		return 0; /* the last column is never padded after its text */
	if (len < width) {
		memset(l->buf + l->len, ' ', width - len);
		l->len += width - len;
	}
	l->buf[l->len++] = ' ';
	return 0;
}

/* The heading (@r is SIZE_MAX) or row @r. */
static int print_line(FILE *out, struct cellbuf *cb, struct line *l, const struct vl_layout_col *cols,
		      size_t ncols, const size_t *width, size_t r, vl_layout_cell_fn cell, void *arg)
{
	l->len = 0;
	for (size_t c = 0; c < ncols; c++) {
		const char *text;
		size_t len;
		int err = cell_text(cb, r == SIZE_MAX ? cols[c].name : cell(arg, r, c), &text, &len);
		if (!err)
			err = put_cell(l, &cols[c], width[c], c + 1 == ncols, text, len);
		if (err)
			return err;
	}
	if (line_room(l, 1) < 0)
		return -ENOMEM;
	l->buf[l->len++] = '\n';
	fwrite(l->buf, 1, l->len, out);
	return 0;
}

/* The width of column @c, as libsmartcols counts it off a terminal. */
static int column_width(struct cellbuf *cb, const struct vl_layout_col *col, size_t c, size_t nrows,
			vl_layout_cell_fn cell, void *arg, size_t *width)
{
	const char *text;
	size_t len, w = 0;
	int err = cell_text(cb, col->name, &text, &len);
	/* At least the heading, printed or not (and 1) ... */
	size_t wmin = len ? len : 1;
	for (size_t r = 0; r < nrows && !err; r++) {
		err = cell_text(cb, cell(arg, r, c), &text, &len);
		if (!err && len > w)
			w = len;
	}
	/* ... else the hint when it is absolute: for data as wide as the heading. */
	if (w < wmin)
		w = wmin;
	else if (col->whint >= 1 && w < (size_t)col->whint && wmin < (size_t)col->whint)
		w = (size_t)col->whint;
	*width = w;
	return err;
}

int vl_layout_print(FILE *out, const struct vl_layout_col *cols, size_t ncols, size_t nrows,
		    vl_layout_cell_fn cell, void *arg, int noheadings)
{
	if (!nrows || !ncols)
		return 0;
	struct cellbuf cb = {0};
	struct line line = {0};
	size_t *width = calloc(ncols, sizeof(*width));
	if (!width)
		return -ENOMEM;
	int err = 0;
	for (size_t c = 0; c < ncols && !err; c++)
		err = column_width(&cb, &cols[c], c, nrows, cell, arg, &width[c]);
	if (!err && !noheadings)
		err = print_line(out, &cb, &line, cols, ncols, width, SIZE_MAX, cell, arg);
	for (size_t r = 0; r < nrows && !err; r++)
		err = print_line(out, &cb, &line, cols, ncols, width, r, cell, arg);
	free(cb.buf);
	free(line.buf);
	free(width);
	return err;
}

/* libsmartcols' JSON writer, ul_jsonwrt: where the document is. */
struct json {
	FILE *out;
	int indent;
	int after_close;
};

enum { JSON_OBJECT, JSON_ARRAY, JSON_VALUE };

static void json_indent(struct json *j)
{
	for (int i = 0; i < j->indent; i++)
		fputs("   ", j->out);
}

/* @s quoted: '"' and '\\' escaped, the controls as \b \t \n \f \r or
 * \u00xx, every other byte as it is; with @lower, ASCII lowercased. */
static void json_quoted(FILE *out, const char *s, int lower)
{
	const char *run = s;
	putc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c != '"' && c != '\\' && !(lower && c >= 'A' && c <= 'Z'))
			continue;
		fwrite(run, 1, (size_t)(s - run), out);
		run = s + 1;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c >= 0x20)
			putc(c - 'A' + 'a', out);
		else if (c == '\b' || c == '\t' || c == '\n' || c == '\f' || c == '\r')
			fprintf(out, "\\%c",
				c == '\b'   ? 'b'
				: c == '\t' ? 't'
				: c == '\n' ? 'n'
				: c == '\f' ? 'f'
					    : 'r');
		else
			fprintf(out, "\\u00%02x", c);
	}
	fwrite(run, 1, (size_t)(s - run), out);
	putc('"', out);
}

static void json_open(struct json *j, const char *name, int type)
{
	if (name) {
		if (j->after_close)
			fputs(",\n", j->out);
		json_indent(j);
		json_quoted(j->out, name, 1);
	} else if (j->after_close) {
		putc(',', j->out);
	} else {
		json_indent(j);
	}
	if (type == JSON_VALUE) {
		fputs(name ? ": " : " ", j->out);
	} else {
		fputs(type == JSON_OBJECT ? (name ? ": {\n" : "{\n") : (name ? ": [\n" : "[\n"), j->out);
		j->indent++;
	}
	j->after_close = 0;
}

static void json_close(struct json *j, int type)
{
	if (j->indent == 1) {
		fputs("\n}\n", j->out);
		j->indent--;
	} else if (type != JSON_VALUE) {
		j->indent--;
		putc('\n', j->out);
		json_indent(j);
		putc(type == JSON_OBJECT ? '}' : ']', j->out);
	}
	j->after_close = 1;
}

/* A member: a string, a raw number, or null for an empty cell. */
static void json_value(struct json *j, const char *name, const char *data, int string)
{
	json_open(j, name, JSON_VALUE);
	if (!data || !*data)
		fputs("null", j->out);
	else if (string)
		json_quoted(j->out, data, 0);
	else
		fputs(data, j->out);
	json_close(j, JSON_VALUE);
}

/* An array of numbers, one a line of @data, each printed raw. */
static void json_lines(struct json *j, const char *name, const char *data)
{
	json_open(j, name, JSON_ARRAY);
	do {
		const char *nl = strchr(data, '\n');
		size_t len = nl ? (size_t)(nl - data) : strlen(data);
		json_open(j, NULL, JSON_VALUE);
		if (len)
			fwrite(data, 1, len, j->out);
		else
			fputs("null", j->out);
		json_close(j, JSON_VALUE);
		data = nl ? nl + 1 : NULL;
	} while (data);
	json_close(j, JSON_ARRAY);
}

int vl_layout_print_json(FILE *out, const char *name, const struct vl_layout_col *cols, size_t ncols,
			 size_t nrows, vl_layout_cell_fn cell, void *arg)
{
	struct json j = {.out = out};
	json_open(&j, NULL, JSON_OBJECT);
	json_open(&j, name, JSON_ARRAY);
	for (size_t r = 0; r < nrows; r++) {
		json_open(&j, NULL, JSON_OBJECT);
		for (size_t c = 0; c < ncols; c++) {
			const char *data = cell(arg, r, c);
			if (cols[c].json == VL_LAYOUT_ARRAY_NUMBER)
				json_lines(&j, cols[c].name, data ? data : "");
			else
				json_value(&j, cols[c].name, data, cols[c].json == VL_LAYOUT_STRING);
		}
		json_close(&j, JSON_OBJECT);
	}
	json_close(&j, JSON_ARRAY);
	json_close(&j, JSON_OBJECT);
	return 0;
}
