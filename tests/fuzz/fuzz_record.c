/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz_record.c: libFuzzer target for the holder record parser and the records directory's file names. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* What a record the parser accepted must satisfy: list and release trust these. */
static void check(const uint8_t *data, size_t size, const struct lsi_record *r)
{
	if (size < sizeof(LSI_RECORD_MAGIC) || data[size - 1] != '\n' || memchr(data, '\0', size))
		abort();
	if (r->pid <= 0 || r->start == 0 || r->child < 0 || r->live || r->command)
		abort();
	if (r->owner && (!*r->owner || strchr(r->owner, '\n')))
		abort();
	if (r->nclaims && !r->claims)
		abort();
	for (size_t i = 0; i < r->nclaims; i++) {
		const struct lsi_claim *c = &r->claims[i];
		if (!lockspace_valid_name(c->name) || (c->shared != 0 && c->shared != 1) || c->since < 0)
			abort();
	}
	if (r->nwaits && !r->waits)
		abort();
	for (size_t i = 0; i < r->nwaits; i++) {
		const struct lsi_claim *c = &r->waits[i];
		if (!lockspace_valid_name(c->name) || (c->shared != 0 && c->shared != 1) || c->since < 0)
			abort();
	}
}

/* A file name of the records directory: what prune may remove is named by a
 * real pid, which the name spells exactly. */
static void check_name(const uint8_t *data, size_t size)
{
	char name[64];
	if (size >= sizeof(name) || memchr(data, '\0', size))
		return;
	memcpy(name, data, size);
	name[size] = '\0';
	pid_t pid = 0;
	enum lsi_holders_file kind = lsi_holders_file(name, &pid);
	if (kind == LSI_HF_OTHER || kind == LSI_HF_LABEL)
		return;
	if (pid <= 0 || strspn(name + (name[0] == '.'), "0123456789") == 0)
		abort();
	if (kind == LSI_HF_RECORD && strspn(name, "0123456789") != size)
		abort();
	if (kind == LSI_HF_SOCKET && (size < 5 || strcmp(name + size - 5, LOCKSPACE_CONTROL_SUFFIX) != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, so that ASan sees any read past the end. */
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct lsi_record r;
	int err = lsi_record_parse(buf, size, &r);
	if (err == 0) {
		check(data, size, &r);
		lsi_record_free(&r);
	} else if (err != -EBADMSG && err != -ENOMEM) {
		abort();
	} else if (r.owner || r.claims || r.nclaims) {
		abort(); /* a refused record leaves nothing behind */
	}
	free(buf);
	check_name(data, size);
	return 0;
}
