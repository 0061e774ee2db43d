/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* layout.c: big tables and JSON in one cheap pass, byte for byte as libsmartcols prints them to a pipe. */
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

/* libsmartcols' JSON writer, ul_jsonwrt: where the document is. Written
 * through a buffer of its own: stdio's calls cost more than the bytes. */
struct json {
	FILE *out;
	int indent;
	int after_close;
	size_t len;
	char buf[1 << 14];
};

static void json_flush(struct json *j)
{
	fwrite(j->buf, 1, j->len, j->out);
	j->len = 0;
}

static void json_put(struct json *j, const char *s, size_t n)
{
	if (j->len + n > sizeof(j->buf))
		json_flush(j);
	if (n > sizeof(j->buf)) {
		fwrite(s, 1, n, j->out);
		return;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
}

static void json_puts(struct json *j, const char *s)
{
	json_put(j, s, strlen(s));
}

enum { JSON_OBJECT, JSON_ARRAY, JSON_VALUE };

static void json_indent(struct json *j)
{
	static const char blanks[] = "               ";
	for (int i = 0; i < j->indent; i += 5)
		json_put(j, blanks, 3 * (size_t)(j->indent - i < 5 ? j->indent - i : 5));
}

/* @s quoted: '"' and '\\' escaped, the controls as \b \t \n \f \r or
 * \u00xx, every other byte as it is; with @lower, ASCII lowercased. */
static void json_quoted(struct json *j, const char *s, int lower)
{
	const char *run = s;
	json_put(j, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c != '"' && c != '\\' && !(lower && c >= 'A' && c <= 'Z'))
			continue;
		json_put(j, run, (size_t)(s - run));
		run = s + 1;
		char esc[8];
		if (c == '"' || c == '\\')
			snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c >= 0x20)
			snprintf(esc, sizeof(esc), "%c", c - 'A' + 'a');
		else if (c == '\b' || c == '\t' || c == '\n' || c == '\f' || c == '\r')
			snprintf(esc, sizeof(esc), "\\%c",
				 c == '\b'   ? 'b'
				 : c == '\t' ? 't'
				 : c == '\n' ? 'n'
				 : c == '\f' ? 'f'
					     : 'r');
		else
			snprintf(esc, sizeof(esc), "\\u00%02x", c);
		json_puts(j, esc);
	}
	json_put(j, run, (size_t)(s - run));
	json_put(j, "\"", 1);
}

/* Open a member named @qname, already quoted (NULL: an element). */
static void json_open(struct json *j, const char *qname, int type)
{
	if (qname) {
		if (j->after_close)
			json_puts(j, ",\n");
		json_indent(j);
		json_puts(j, qname);
	} else if (j->after_close) {
		json_puts(j, ",");
	} else {
		json_indent(j);
	}
	if (type == JSON_VALUE) {
		json_puts(j, qname ? ": " : " ");
	} else {
		json_puts(j, type == JSON_OBJECT ? (qname ? ": {\n" : "{\n") : (qname ? ": [\n" : "[\n"));
		j->indent++;
	}
	j->after_close = 0;
}

static void json_close(struct json *j, int type)
{
	if (j->indent == 1) {
		json_puts(j, "\n}\n");
		j->indent--;
	} else if (type != JSON_VALUE) {
		j->indent--;
		json_puts(j, "\n");
		json_indent(j);
		json_puts(j, type == JSON_OBJECT ? "}" : "]");
	}
	j->after_close = 1;
}

/* A member: a string, a raw number, or null for an empty cell. */
static void json_value(struct json *j, const char *qname, const char *data, int string)
{
	json_open(j, qname, JSON_VALUE);
	if (!data || !*data)
		json_puts(j, "null");
	else if (string)
		json_quoted(j, data, 0);
	else
		json_puts(j, data);
	json_close(j, JSON_VALUE);
}

/* An array of numbers, one a line of @data, each printed raw. */
static void json_lines(struct json *j, const char *qname, const char *data)
{
	json_open(j, qname, JSON_ARRAY);
	do {
		const char *nl = strchr(data, '\n');
		size_t len = nl ? (size_t)(nl - data) : strlen(data);
		json_open(j, NULL, JSON_VALUE);
		if (len)
			json_put(j, data, len);
		else
			json_puts(j, "null");
		json_close(j, JSON_VALUE);
		data = nl ? nl + 1 : NULL;
	} while (data);
	json_close(j, JSON_ARRAY);
}

int vl_layout_print_json(FILE *out, const char *name, const struct vl_layout_col *cols, size_t ncols,
			 size_t nrows, vl_layout_cell_fn cell, void *arg)
{
	struct json *j = calloc(1, sizeof(*j));
	/* The member names, quoted and lowercased once. */
	char **qname = calloc(ncols + 1, sizeof(*qname));
	int err = j && qname ? 0 : -ENOMEM;
	for (size_t c = 0; c <= ncols && !err; c++) {
		size_t len;
		if (!(j->out = open_memstream(&qname[c], &len))) {
			err = -ENOMEM;
			break;
		}
		json_quoted(j, c < ncols ? cols[c].name : name, 1);
		json_flush(j);
		if (fclose(j->out) != 0)
			err = -ENOMEM;
	}
	if (!err) {
		j->out = out;
		json_open(j, NULL, JSON_OBJECT);
		json_open(j, qname[ncols], JSON_ARRAY);
		for (size_t r = 0; r < nrows; r++) {
			json_open(j, NULL, JSON_OBJECT);
			for (size_t c = 0; c < ncols; c++) {
				const char *data = cell(arg, r, c);
				if (cols[c].json == VL_LAYOUT_ARRAY_NUMBER)
					json_lines(j, qname[c], data ? data : "");
				else
					json_value(j, qname[c], data, cols[c].json == VL_LAYOUT_STRING);
			}
			json_close(j, JSON_OBJECT);
		}
		json_close(j, JSON_ARRAY);
		json_close(j, JSON_OBJECT);
		json_flush(j);
	}
	for (size_t c = 0; qname && c <= ncols; c++)
		free(qname[c]);
	free(qname);
	free(j);
	return err;
}
