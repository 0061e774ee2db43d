/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* handoff.c: hand a resource over to a known next holder: the calls, the tokens, the fcntl markers. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "internal.h"

/* A marker: <holders>/handoff.<name>.<16 hex digits of the state>, a hard
 * link to the lock file <name>, made while its holder holds it. */
#define HO_PREFIX     "handoff."
#define HO_STATE_LEN  16
#define HO_FILE_LEN   (sizeof(HO_PREFIX) + LOCKSPACE_NAME_LEN + 1 + HO_STATE_LEN)
#define HO_TOKEN_HEAD "vlh1:"

static void ho_file(char buf[HO_FILE_LEN], const char *name, uint64_t state)
{
	snprintf(buf, HO_FILE_LEN, HO_PREFIX "%s.%016" PRIx64, name, state);
}

/* The name of the lock file whose marker @file is, in @name; 0 if not a marker. */
static int ho_name_of(const char *file, char name[LOCKSPACE_NAME_LEN + 1])
{
	size_t plen = strlen(HO_PREFIX);
	if (strncmp(file, HO_PREFIX, plen) != 0)
		return 0;
	const char *dot = strchr(file + plen, '.');
	size_t len = dot ? (size_t)(dot - file - (ptrdiff_t)plen) : 0;
	if (!dot || len > LOCKSPACE_NAME_LEN || strlen(dot + 1) != HO_STATE_LEN ||
	    strspn(dot + 1, "0123456789abcdef") != HO_STATE_LEN)
		return 0;
	memcpy(name, file + plen, len);
	name[len] = '\0';
	return lockspace_valid_name(name);
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return S_ISREG(a->st_mode) && a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Walk the markers of @name in the holders directory @dfd (closed here):
 * with @remove, remove them all (0 or -errno); else 1 when one is a link
 * of @st, 0 when none is. */
static int ho_scan(int dfd, const char *name, const struct stat *st, int remove)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		int err = -errno;
		close(dfd);
		return err;
	}
	int found = 0, err = 0;
	struct dirent *de;
	char of[LOCKSPACE_NAME_LEN + 1];
	while ((de = readdir(d))) {
		if (!ho_name_of(de->d_name, of) || strcmp(of, name) != 0)
			continue;
		struct stat ms;
		if (remove && unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && !err)
			err = -errno;
		else if (!remove && fstatat(dirfd(d), de->d_name, &ms, AT_SYMLINK_NOFOLLOW) == 0 &&
			 same_file(&ms, st))
			found = 1;
	}
	closedir(d);
	return err ? err : found;
}

int lsi_handoff_marked(const struct lockspace *ls, const char *name, const struct stat *st)
{
	if (st->st_nlink != 2 || ls->dirfd < 0)
		return 0;
	int dfd = lsi_holders_dir(ls, 0);
	return dfd >= 0 && ho_scan(dfd, name, st, 0) == 1;
}

int lsi_handoff_mark(const struct lockspace *ls, const char *name, const struct stat *st, uint64_t *state)
{
	uint64_t v = 0;
	while (v == 0)
		if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v) && errno != EINTR)
			return -errno;
	int dfd = lsi_holders_dir(ls, LSI_HOLDERS_CREATE);
	if (dfd < 0)
		return dfd;
	/* One marker a resource: a new hand-off replaces an unconsumed one. */
	int scan = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	int err = scan < 0 ? -errno : ho_scan(scan, name, st, 1);
	char file[HO_FILE_LEN];
	ho_file(file, name, v);
	struct stat ms;
	if (!err && linkat(ls->dirfd, name, dfd, file, 0) < 0)
		err = -errno;
	else if (!err && (fstatat(dfd, file, &ms, AT_SYMLINK_NOFOLLOW) < 0 || !same_file(&ms, st))) {
		(void)unlinkat(dfd, file, 0); /* the name leads elsewhere: not our lock file */
		err = -ESTALE;
	}
	close(dfd);
	if (!err)
		*state = v;
	return err;
}

int lsi_handoff_take(const struct lockspace *ls, const struct lsi_target *t, const struct stat *st)
{
	int dfd = lsi_holders_dir(ls, 0);
	if (dfd == -ENOENT)
		return t->expect ? -ECANCELED : 0;
	if (dfd < 0)
		return dfd;
	if (!t->expect)
		return ho_scan(dfd, t->name, st, 1); /* taken by another: no hand-off */
	char file[HO_FILE_LEN];
	struct stat ms;
	ho_file(file, t->name, t->state);
	int err = 0;
	if (fstatat(dfd, file, &ms, AT_SYMLINK_NOFOLLOW) < 0 || !same_file(&ms, st))
		err = -ECANCELED; /* consumed by an acquire in between, or never made */
	close(dfd);
	return err;
}

int lsi_handoff_consume(struct lockspace *ls, const struct lsi_target *t)
{
	int dfd = lsi_holders_dir(ls, 0);
	if (dfd < 0)
		return dfd;
	char file[HO_FILE_LEN];
	ho_file(file, t->name, t->state);
	/* Held exclusively, nobody else could consume it since
	 * lsi_handoff_take() saw it; held shared, another shared acquire may
	 * have: then the hand-off was that one's, not ours. */
	int err = 0;
	if (unlinkat(dfd, file, 0) < 0)
		err = errno == ENOENT ? -ECANCELED : -errno;
	close(dfd);
	return err;
}

int lsi_handoff_orphan(const struct lockspace *ls, int dfd, const char *file)
{
	char name[LOCKSPACE_NAME_LEN + 1];
	struct stat ms, st;
	if (!ho_name_of(file, name) || fstatat(dfd, file, &ms, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (fstatat(ls->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT;
	return !same_file(&ms, &st);
}

int lockspace_handoff(struct lockspace *ls, const char *resource, unsigned flags, uint64_t *state)
{
	if (!ls || !resource || !state || !LSI_FLAGS_OK(flags, LOCKSPACE_LITERAL | LOCKSPACE_BYNAME))
		return -EINVAL;
	if (ls->dirfd < 0 || !ls->backend->handoff)
		return -EOPNOTSUPP;
	char name[LOCKSPACE_NAME_LEN + 1], *content = NULL;
	int err = lsi_resolve(ls, resource, flags, name, &content);
	if (!err)
		err = ls->backend->handoff(ls, name, content, state);
	free(content);
	return err;
}

int lockspace_acquire_expect(struct lockspace *ls, const char *const *resources, size_t n, unsigned flags,
			     int timeout_ms, const uint64_t *states, size_t *failed)
{
	if (!states && n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (states[i] == 0) { /* no lockspace_handoff() gives 0 */
			if (failed)
				*failed = i;
			return -EINVAL;
		}
	if (ls && ls->dirfd < 0)
		return -EOPNOTSUPP;
	return lsi_acquire(ls, resources, n, flags, timeout_ms, states ? states : (const uint64_t[]){0},
			   failed);
}

/* ---- tokens ---- */

static int item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct lockspace_handoff_item *)a)->name,
		      ((const struct lockspace_handoff_item *)b)->name);
}

/* The letter of @backend in a token, or 0. */
static char backend_letter(const char *backend)
{
	if (backend && strcmp(backend, LOCKSPACE_BACKEND_FCNTL) == 0)
		return 'f';
	if (backend && strcmp(backend, LOCKSPACE_BACKEND_SANLOCK) == 0)
		return 's';
	return 0;
}

int lockspace_handoff_format(const char *backend, const struct lockspace_handoff_item *items, size_t n,
			     char **out)
{
	char letter = backend_letter(backend);
	if (!out || !items || !n || !letter || n > (SIZE_MAX / 128))
		return -EINVAL;
	*out = NULL;
	struct lockspace_handoff_item *s = malloc(n * sizeof(*s));
	size_t cap = sizeof(HO_TOKEN_HEAD) + 2 + n * (LOCKSPACE_NAME_LEN + 2 + HO_STATE_LEN);
	char *buf = malloc(cap);
	int err = s && buf ? 0 : -ENOMEM;
	if (!err)
		memcpy(s, items, n * sizeof(*s));
	for (size_t i = 0; !err && i < n; i++)
		if (!lockspace_valid_name(s[i].name) || !s[i].state)
			err = -EINVAL;
	if (!err)
		qsort(s, n, sizeof(*s), item_cmp);
	for (size_t i = 1; !err && i < n; i++)
		if (strcmp(s[i - 1].name, s[i].name) == 0)
			err = -EINVAL;
	size_t len = err ? 0 : (size_t)snprintf(buf, cap, HO_TOKEN_HEAD "%c", letter);
	for (size_t i = 0; !err && i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, ":%s=%" PRIx64, s[i].name, s[i].state);
	free(s);
	if (err)
		free(buf);
	else
		*out = buf;
	return err;
}

/* Parse ":NAME=HEX" at *@p into @it; advances *@p. 0 or -EINVAL. */
static int parse_item(const char **p, struct lockspace_handoff_item *it)
{
	const char *s = *p;
	if (*s++ != ':')
		return -EINVAL;
	size_t len = strspn(s, "0123456789abcdef");
	if (len > LOCKSPACE_NAME_LEN || s[len] != '=')
		return -EINVAL;
	memcpy(it->name, s, len);
	it->name[len] = '\0';
	if (!lockspace_valid_name(it->name))
		return -EINVAL;
	s += len + 1;
	len = strspn(s, "0123456789abcdef");
	if (len == 0 || len > HO_STATE_LEN || s[0] == '0' || (s[len] && s[len] != ':'))
		return -EINVAL;
	it->state = 0;
	for (size_t i = 0; i < len; i++)
		it->state = it->state << 4 | (uint64_t)(s[i] <= '9' ? s[i] - '0' : s[i] - 'a' + 10);
	*p = s + len;
	return 0;
}

int lockspace_handoff_parse(const char *backend, const char *token, struct lockspace_handoff_item **items,
			    size_t *n)
{
	char letter = backend_letter(backend);
	if (!token || !items || !n || !letter)
		return -EINVAL;
	*items = NULL;
	*n = 0;
	size_t hlen = strlen(HO_TOKEN_HEAD);
	if (strncmp(token, HO_TOKEN_HEAD, hlen) != 0 || (token[hlen] != 'f' && token[hlen] != 's') ||
	    token[hlen + 1] != ':')
		return -EINVAL;
	size_t count = 0;
	for (const char *c = token + hlen + 1; *c; c++)
		count += *c == ':';
	struct lockspace_handoff_item *it = calloc(count, sizeof(*it));
	if (!it)
		return -ENOMEM;
	const char *p = token + hlen + 1;
	int err = 0;
	for (size_t i = 0; !err && i < count; i++) {
		err = parse_item(&p, &it[i]);
		if (!err && i && strcmp(it[i - 1].name, it[i].name) >= 0)
			err = -EINVAL; /* in name order, each once */
	}
	if (!err && *p)
		err = -EINVAL;
	if (!err && token[hlen] != letter)
		err = -EXDEV;
	if (err) {
		free(it);
		return err;
	}
	*items = it;
	*n = count;
	return 0;
}
