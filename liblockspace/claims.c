/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* claims.c: the holder records' claims, indexed by name, for joining with what a backend sees. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

struct lsi_comm {
	struct lsi_comm *next;
	pid_t pid;
	char *name; /* NULL if unknown */
};

const char *lsi_join_command(struct lsi_join *j, pid_t pid)
{
	if (pid <= 0)
		return NULL;
	struct lsi_comm **head = &j->comms[(unsigned)pid & 255], *c;
	for (c = *head; c; c = c->next)
		if (c->pid == pid)
			return c->name;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->pid = pid;
	c->name = lsi_proc_comm(pid);
	c->next = *head;
	*head = c;
	return c->name;
}

/* A new entry at the end of the holders (or of the stale ones), or NULL. */
static struct lockspace_holder *add_entry(struct lsi_join *j, int stale, size_t *n)
{
	struct lockspace_holder **buf = stale ? &j->stale : &j->holders;
	size_t *cap = stale ? &j->cap_stale : &j->cap_holders;
	if (*n >= *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct lockspace_holder *nb = realloc(*buf, ncap * sizeof(*nb));
		if (!nb)
			return NULL;
		*buf = nb;
		*cap = ncap;
	}
	return &(*buf)[(*n)++];
}

/* Add the owners whose lateness is @late; @held: a claim holds. */
static int add_owners(struct lsi_join *j, const struct lsi_owner *o, size_t no, int late, int held,
		      size_t *nh, size_t *ns)
{
	for (size_t i = 0; i < no; i++) {
		if (!o[i].late != !late)
			continue;
		int stale = !!(o[i].h.flags & LOCKSPACE_HOLDER_STALE);
		int covered = !stale && o[i].cover == LSI_COVER_CLAIM && held;
		for (size_t k = 0; !stale && o[i].cover == LSI_COVER_PID && k < *nh && !covered; k++)
			covered = j->holders[k].pid == o[i].h.pid;
		if (covered)
			continue;
		struct lockspace_holder *h = add_entry(j, stale, stale ? ns : nh);
		if (!h)
			return -ENOMEM;
		*h = o[i].h;
		if (!h->command && !(h->flags & LOCKSPACE_HOLDER_REMOTE))
			h->command = lsi_join_command(j, h->pid);
	}
	return 0;
}

int lsi_join(struct lsi_join *j, const char *name, const struct lsi_owners *ow, size_t *nh, size_t *ns)
{
	size_t nc;
	const struct lsi_claim_ref *c = lsi_claims_of(j->claims, name, &nc);
	pid_t self = nc ? getpid() : 0; /* a system call: not for each of 100,000 free files */
	int held = 0;
	*nh = *ns = 0;
	int err = add_owners(j, ow->o, ow->n, 0, 0, nh, ns);
	for (size_t i = 0; !err && i < nc; i++) {
		const struct lsi_record *r = c[i].rec;
		int verdict = j->verdict(j->arg, r, c[i].claim);
		int holds = verdict == LSI_CLAIM_HOLDS;
		struct lockspace_holder *h = add_entry(j, !holds, holds ? nh : ns);
		if (!h)
			return -ENOMEM;
		*h = (struct lockspace_holder){
			.pid = r->pid,
			.mode = c[i].claim->shared ? LOCKSPACE_STATE_SHARED : LOCKSPACE_STATE_EXCLUSIVE,
			.flags = (holds				     ? LOCKSPACE_HOLDER_RECORD
				  : verdict == LSI_CLAIM_UNCONFIRMED ? LOCKSPACE_HOLDER_UNCONFIRMED
								     : LOCKSPACE_HOLDER_STALE) |
				 (r->pid == self ? LOCKSPACE_HOLDER_SELF : 0),
			.command = r->command, /* set only while the process lives */
			.owner = r->owner,
			.child = r->child,
			.since = c[i].claim->since,
			.host_id = ow->host_id,
			.generation = ow->generation,
			.host_name = ow->host_name,
		};
		held |= holds;
	}
	return err ? err : add_owners(j, ow->o, ow->n, 1, held, nh, ns);
}

void lsi_join_free(struct lsi_join *j)
{
	free(j->holders);
	free(j->stale);
	for (size_t i = 0; i < 256; i++)
		while (j->comms[i]) {
			struct lsi_comm *c = j->comms[i];
			j->comms[i] = c->next;
			free(c->name);
			free(c);
		}
	memset(j, 0, sizeof(*j));
}
