/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz_name.c: libFuzzer target for name validation and resolution (lockspace_valid_name, lockspace_name). */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

static int all_lower_hex(const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return 0;
	return n == LOCKSPACE_MD5_NAME_LEN || n == LOCKSPACE_SHA256_NAME_LEN;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first byte picks the checks; the rest, cut at a NUL, is the resource. */
	if (size == 0)
		return 0;
	unsigned sel = data[0];
	char *s = strndup((const char *)data + 1, size - 1);
	if (!s)
		return 0;
	size_t len = strlen(s);
	char out[LOCKSPACE_NAME_LEN + 1], sum[LOCKSPACE_NAME_LEN + 1];

	int valid = lockspace_valid_name(s);
	if (valid != ((len == LOCKSPACE_MD5_NAME_LEN || len == LOCKSPACE_SHA256_NAME_LEN) &&
		      strspn(s, "0123456789abcdefABCDEF") == len))
		abort();

	/* By name: accepted exactly when valid, and then lowercased. */
	memset(out, 'Z', sizeof(out));
	int err = lockspace_name(s, LOCKSPACE_BYNAME, out);
	if ((err == 0) != valid || (err && err != -EINVAL))
		abort();
	if (err == 0 && (!all_lower_hex(out) || strcasecmp(out, s) != 0))
		abort();

	/* Literal: any non-empty string up to 4096 bytes, hashed as given. */
	err = lockspace_name(s, LOCKSPACE_LITERAL, out);
	if (len == 0 ? err != -EINVAL : len > LSI_CONTENT_MAX ? err != -ENAMETOOLONG : err != 0)
		abort();
	if (err == 0) {
		lsi_md5_hex(s, len, sum);
		if (!all_lower_hex(out) || strcmp(out, sum) != 0)
			abort();
		char *canon = NULL;
		if (lockspace_canonical(s, LOCKSPACE_LITERAL, &canon) != 0 || strcmp(canon, s) != 0)
			abort();
		free(canon);
	}

	/* BYNAME with LITERAL (and LOOKUP): BYNAME wins, never a crash; a
	 * flag lockspace_name() does not take is -EINVAL, whatever the name. */
	unsigned extra = sel & 0xf0;
	err = lockspace_name(s, LOCKSPACE_BYNAME | LOCKSPACE_LITERAL | extra, out);
	if ((extra & ~(unsigned)LOCKSPACE_LOOKUP) ? err != -EINVAL : (err == 0) != valid)
		abort();

	/* A path: realpath(3) looks it up (read-only); the name is the MD5 of the canonical path. */
	if (sel & 1) {
		char *canon = NULL;
		err = lockspace_name(s, 0, out);
		int cerr = lockspace_canonical(s, 0, &canon);
		if (err != cerr || (len == 0 && err != -EINVAL) || (len >= 4096 && err != -ENAMETOOLONG))
			abort();
		if (err == 0) {
			lsi_md5_hex(canon, strlen(canon), sum);
			if (canon[0] != '/' || strcmp(out, sum) != 0)
				abort();
		}
		free(canon);
	}
	free(s);
	return 0;
}
