/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* name.c: canonical resource paths and their MD5 names. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <md5.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void lsi_md5_hex(const void *data, size_t len, char out[LOCKSPACE_NAME_LEN + 1])
{
	MD5Data(data, len, out); /* lowercase hex, NUL-terminated */
}

static unsigned hex_value(char c)
{
	return c <= '9' ? (unsigned)(c - '0') : (unsigned)(tolower((unsigned char)c) - 'a' + 10);
}

void lsi_name_pack(const char *name, unsigned char out[LOCKSPACE_NAME_LEN / 2])
{
	for (int i = 0; i < LOCKSPACE_NAME_LEN / 2; i++)
		out[i] = (unsigned char)(hex_value(name[2 * i]) << 4 | hex_value(name[2 * i + 1]));
}

void lsi_name_unpack(const unsigned char in[LOCKSPACE_NAME_LEN / 2], char out[LOCKSPACE_NAME_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < LOCKSPACE_NAME_LEN / 2; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[LOCKSPACE_NAME_LEN] = '\0';
}

int lockspace_valid_name(const char *s)
{
	if (!s)
		return 0;
	for (int i = 0; i < LOCKSPACE_NAME_LEN; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return s[LOCKSPACE_NAME_LEN] == '\0';
}

int lockspace_canonical(const char *resource, unsigned flags, char **out)
{
	*out = NULL;
	if (!resource || !*resource)
		return -EINVAL;
	if (flags & LOCKSPACE_BYNAME)
		return -EINVAL;
	if (flags & LOCKSPACE_LITERAL) {
		if (strlen(resource) > LSI_CONTENT_MAX)
			return -ENAMETOOLONG;
		*out = strdup(resource);
		return *out ? 0 : -ENOMEM;
	}
	if (strlen(resource) >= PATH_MAX)
		return -ENAMETOOLONG;
	*out = realpath(resource, NULL);
	return *out ? 0 : -errno;
}

int lsi_resolve(const char *resource, unsigned flags, char out[LOCKSPACE_NAME_LEN + 1], char **content)
{
	*content = NULL;
	if (!resource || !*resource)
		return -EINVAL;
	if (flags & LOCKSPACE_BYNAME) {
		if (!lockspace_valid_name(resource))
			return -EINVAL;
		for (int i = 0; i <= LOCKSPACE_NAME_LEN; i++)
			out[i] = (char)tolower((unsigned char)resource[i]);
		return 0;
	}
	int err = lockspace_canonical(resource, flags, content);
	if (err < 0)
		return err;
	lsi_md5_hex(*content, strlen(*content), out);
	return 0;
}

int lockspace_name(const struct lockspace *ls, const char *resource, unsigned flags,
		   char out[LOCKSPACE_NAME_LEN + 1])
{
	(void)ls;
	char *content;
	int err = lsi_resolve(resource, flags, out, &content);
	free(content);
	return err;
}
