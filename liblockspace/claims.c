/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* claims.c: the holder records' claims, indexed by name, for joining with what a backend sees. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* By name, then in the records' order: a name's claims keep that order. */
static int claim_cmp(const void *a, const void *b)
{
	const struct lsi_claim_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

int lsi_claims_index(struct lsi_claims *c, const struct lsi_record *recs, size_t nrecs)
{
	memset(c, 0, sizeof(*c));
	size_t total = 0;
	for (size_t i = 0; i < nrecs; i++)
		total += recs[i].nclaims;
	if (!total)
		return 0;
	c->refs = malloc(total * sizeof(*c->refs));
	if (!c->refs)
		return -ENOMEM;
	for (size_t i = 0; i < nrecs; i++)
		for (size_t j = 0; j < recs[i].nclaims; j++, c->n++)
			c->refs[c->n] = (struct lsi_claim_ref){
				.name = recs[i].claims[j].name,
				.rec = &recs[i],
				.claim = &recs[i].claims[j],
				.seq = c->n,
			};
	qsort(c->refs, c->n, sizeof(*c->refs), claim_cmp);
	return 0;
}

const struct lsi_claim_ref *lsi_claims_of(const struct lsi_claims *c, const char *name, size_t *n)
{
	*n = 0;
	if (!c->n)
		return NULL;
	/* The first claim on @name: a lower bound. */
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(c->refs[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t end = lo;
	while (end < c->n && strcmp(c->refs[end].name, name) == 0)
		end++;
	*n = end - lo;
	return *n ? &c->refs[lo] : NULL;
}

void lsi_claims_free(struct lsi_claims *c)
{
	free(c->refs);
	memset(c, 0, sizeof(*c));
}
