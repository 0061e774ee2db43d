/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* name.c: canonical resource paths and their MD5 (or SHA-256) names. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <md5.h>
#include <sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

void lsi_md5_hex(const void *data, size_t len, char out[LOCKSPACE_NAME_LEN + 1])
{
	MD5Data(data, len, out); /* lowercase hex, NUL-terminated */
}

void lsi_name_hash(size_t name_len, const void *data, size_t len, char out[LOCKSPACE_NAME_LEN + 1])
{
	if (name_len == LOCKSPACE_SHA256_NAME_LEN)
		SHA256Data(data, len, out); /* lowercase hex, NUL-terminated */
	else
		MD5Data(data, len, out);
}

static unsigned hex_value(char c)
{
	return c <= '9' ? (unsigned)(c - '0') : (unsigned)(tolower((unsigned char)c) - 'a' + 10);
}

void lsi_name_pack(const char *name, unsigned char out[LSI_DIGEST_SIZE])
{
	size_t n = strlen(name) / 2;
	memset(out, 0, LSI_DIGEST_SIZE);
	for (size_t i = 0; i < n; i++)
		out[i] = (unsigned char)(hex_value(name[2 * i]) << 4 | hex_value(name[2 * i + 1]));
	out[LSI_DIGEST_SIZE - 1] = (unsigned char)n;
}

void lsi_name_unpack(const unsigned char in[LSI_DIGEST_SIZE], char out[LOCKSPACE_NAME_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	size_t n = in[LSI_DIGEST_SIZE - 1];
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int lockspace_valid_name(const char *s)
{
	if (!s)
		return 0;
	size_t n = 0;
	while (n <= LOCKSPACE_NAME_LEN && isxdigit((unsigned char)s[n]))
		n++;
	return s[n] == '\0' && (n == LOCKSPACE_MD5_NAME_LEN || n == LOCKSPACE_SHA256_NAME_LEN);
}

/* Symbolic links a lookup follows at most, as the kernel (MAXSYMLINKS). */
#define LOOKUP_LINKS 40

static char *lookup_path(const char *path, int *links);

/* realpath(3) of @path, or its lookup when it does not resolve. */
static char *resolve_or_lookup(const char *path, int *links)
{
	char *r = realpath(path, NULL);
	if (r || errno != ENOENT)
		return r;
	return lookup_path(path, links);
}

/* The target of the symbolic link @link (@len bytes of it, its directory the
 * first @base), looked up in turn; *@links counts down the links followed. */
static char *lookup_link(const char *link, size_t len, size_t base, int *links)
{
	if (--*links < 0) {
		errno = ELOOP;
		return NULL;
	}
	char *name = strndup(link, len);
	char text[PATH_MAX];
	ssize_t n = name ? readlink(name, text, sizeof(text)) : -1;
	free(name);
	if (n < 0)
		return NULL;
	if ((size_t)n >= sizeof(text)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	text[n] = '\0';
	char *target = NULL;
	/* A relative link is relative to the directory it is in. */
	if (text[0] == '/' || base == 0)
		target = strdup(text);
	else if (asprintf(&target, "%.*s%s", (int)base, link, text) < 0)
		target = NULL;
	if (!target) {
		errno = ENOMEM;
		return NULL;
	}
	char *out = resolve_or_lookup(target, links);
	int err = errno;
	free(target);
	errno = err;
	return out;
}

/*
 * The canonical form of @path, which no longer resolves: its parent's realpath
 * and its last component, as it was named while it existed. A dangling
 * symbolic link (the path or its parent) is followed to its target, which is
 * named by the same rule, at most LOOKUP_LINKS links in all (ELOOP beyond).
 * When nothing of the parent is left, the path made absolute and normalised
 * lexically ("." and ".." and repeated slashes removed). NULL with errno set.
 */
static char *lookup_path(const char *path, int *links)
{
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	size_t base = len;
	while (base > 0 && path[base - 1] != '/')
		base--;
	const char *last = path + base;
	size_t lastlen = len - base;
	if (lastlen == 0 || (lastlen == 1 && last[0] == '.') ||
	    (lastlen == 2 && strncmp(last, "..", 2) == 0)) {
		errno = ENOENT;
		return NULL;
	}
	char *self = strndup(path, len);
	if (!self)
		return NULL;
	struct stat st;
	int is_link = lstat(self, &st) == 0 && S_ISLNK(st.st_mode);
	free(self);
	if (is_link) /* dangling, or realpath would have resolved it */
		return lookup_link(path, len, base, links);
	char *dir = base ? strndup(path, base) : strdup(".");
	if (!dir)
		return NULL;
	char *parent = realpath(dir, NULL);
	if (!parent && errno == ENOENT) {
		/* The parent is gone, or a dangling link: named by the same rule. */
		parent = lookup_path(dir, links);
		if (!parent && errno != ENOENT) {
			int err = errno;
			free(dir);
			errno = err;
			return NULL;
		}
		if (!parent)
			errno = ENOENT;
	}
	int perr = errno;
	free(dir);
	char *out = NULL;
	if (parent) {
		size_t plen = strlen(parent);
		if (plen == 1) /* "/" */
			plen = 0;
		out = malloc(plen + 1 + lastlen + 1);
		if (out) {
			memcpy(out, parent, plen);
			out[plen] = '/';
			memcpy(out + plen + 1, last, lastlen);
			out[plen + 1 + lastlen] = '\0';
		}
		free(parent);
		return out;
	}
	if (perr != ENOENT && perr != ENOTDIR) {
		errno = perr;
		return NULL;
	}
	/* The parent is gone too: the path alone, made absolute, then normalised. */
	char *cwd = NULL;
	if (path[0] != '/' && !(cwd = getcwd(NULL, 0)))
		return NULL;
	size_t clen = cwd ? strlen(cwd) : 0;
	char *abs = malloc(clen + 1 + len + 1);
	out = malloc(clen + 1 + len + 2);
	if (!abs || !out) {
		free(cwd);
		free(abs);
		free(out);
		errno = ENOMEM;
		return NULL;
	}
	snprintf(abs, clen + 1 + len + 1, "%s/%.*s", cwd ? cwd : "", (int)len, path);
	free(cwd);
	size_t o = 0;
	for (char *save = NULL, *part = strtok_r(abs, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		if (strcmp(part, ".") == 0)
			continue;
		if (strcmp(part, "..") == 0) {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		out[o++] = '/';
		size_t pl = strlen(part);
		memcpy(out + o, part, pl);
		o += pl;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	free(abs);
	if (o >= PATH_MAX) {
		free(out);
		errno = ENAMETOOLONG;
		return NULL;
	}
	return out;
}

/*
 * virtlockd hashes a disk's path as the domain XML spells it: no symbolic
 * link is resolved and nothing is normalised, so neither is it here. A
 * relative path is made absolute (libvirt wants absolute paths). What is
 * locked must exist, as with realpath(3): -ENOENT unless LOCKSPACE_LOOKUP.
 */
static int as_spelled(const char *resource, unsigned flags, char **out)
{
	struct stat st;
	if (!(flags & LOCKSPACE_LOOKUP) && stat(resource, &st) < 0)
		return -errno;
	if (resource[0] == '/') {
		*out = strdup(resource);
		return *out ? 0 : -ENOMEM;
	}
	char *cwd = getcwd(NULL, 0);
	if (!cwd)
		return -errno;
	int n = asprintf(out, "%s%s%s", cwd, strcmp(cwd, "/") == 0 ? "" : "/", resource);
	free(cwd);
	if (n < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	if ((size_t)n >= PATH_MAX) {
		free(*out);
		*out = NULL;
		return -ENAMETOOLONG;
	}
	return 0;
}

static int canonical(const char *resource, unsigned flags, char **out)
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
	if (flags & LOCKSPACE_SHA256)
		return as_spelled(resource, flags, out);
	*out = realpath(resource, NULL);
	if (!*out && errno == ENOENT && (flags & LOCKSPACE_LOOKUP)) {
		int links = LOOKUP_LINKS;
		*out = lookup_path(resource, &links);
	}
	return *out ? 0 : -errno;
}

int lockspace_canonical(const char *resource, unsigned flags, char **out)
{
	if (!out)
		return -EINVAL;
	if (!LSI_FLAGS_OK(flags, LOCKSPACE_LITERAL | LOCKSPACE_LOOKUP | LSI_HASH_FLAGS)) {
		*out = NULL;
		return -EINVAL;
	}
	return canonical(resource, flags, out);
}

static int resolve(const char *resource, unsigned flags, char out[LOCKSPACE_NAME_LEN + 1], char **content)
{
	*content = NULL;
	if (!resource || !*resource)
		return -EINVAL;
	if (flags & LOCKSPACE_BYNAME) {
		if (!lockspace_valid_name(resource))
			return -EINVAL;
		for (size_t i = 0; i == 0 || resource[i - 1]; i++)
			out[i] = (char)tolower((unsigned char)resource[i]);
		return 0;
	}
	int err = canonical(resource, flags, content);
	if (err < 0)
		return err;
	lsi_name_hash(flags & LOCKSPACE_SHA256 ? LOCKSPACE_SHA256_NAME_LEN : LOCKSPACE_MD5_NAME_LEN, *content,
		      strlen(*content), out);
	return 0;
}

int lsi_resolve(const struct lockspace *ls, const char *resource, unsigned flags,
		char out[LOCKSPACE_NAME_LEN + 1], char **content)
{
	/* What is locked must exist: a lookup is only for looking. */
	return resolve(resource, (flags & ~(unsigned)LOCKSPACE_LOOKUP) | ls->hash, out, content);
}

int lsi_resolve_lookup(const struct lockspace *ls, const char *resource, unsigned flags,
		       char out[LOCKSPACE_NAME_LEN + 1], char **content)
{
	return resolve(resource, flags | ls->hash, out, content);
}

int lockspace_name(const char *resource, unsigned flags, char out[LOCKSPACE_NAME_LEN + 1])
{
	if (!out || !LSI_FLAGS_OK(flags, LSI_NAME_FLAGS | LSI_HASH_FLAGS))
		return -EINVAL;
	char *content;
	int err = resolve(resource, flags, out, &content);
	free(content);
	return err;
}
