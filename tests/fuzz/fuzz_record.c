/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz_record.c: libFuzzer target for the holder record parser (lsi_record_parse). */
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
	return 0;
}
