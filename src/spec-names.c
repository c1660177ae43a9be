/* SPDX-License-Identifier: GPL-3.0-or-later */
/* spec-names.c - a spec's jobs by name (spec-int.h): the index that
 * resolution (after, stdin.from, items.from) and --only look names up
 * in, so that loading a spec of n jobs that each name another stays
 * linear, not n scans of n jobs.  Two open-addressing tables of job
 * indices (linear probing, FNV-1a), one keyed by name and one by base
 * name; the copies of a base are chained in spec order. */
#include "config.h"
#include "spec-int.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* slot: a job's index + 1, 0 for empty; cap a power of two, at least
 * twice the jobs in it */
struct name_table {
	size_t *slot;
	size_t cap;
};

struct spec_names {
	const struct spec *s;
	struct name_table by_name, by_base;
	size_t *next_base; /* the next job (index + 1) of the same base, or 0 */
};

static uint64_t name_hash(const char *p)
{
	uint64_t h = 1469598103934665603ull;
	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h;
}

static const char *key_of(const struct spec *s, size_t i, bool base)
{
	return base ? s->jobs[i].base : s->jobs[i].name;
}

/* The slot holding a job whose key is key, or the empty slot where it
 * would go. */
static size_t *table_find(const struct name_table *t, const struct spec *s, const char *key,
			  bool base)
{
	size_t i = (size_t)name_hash(key) & (t->cap - 1);
	while (t->slot[i] && strcmp(key_of(s, t->slot[i] - 1, base), key))
		i = (i + 1) & (t->cap - 1);
	return &t->slot[i];
}

static void table_init(struct name_table *t, size_t n)
{
	t->cap = 16;
	while (t->cap < 2 * n)
		t->cap *= 2;
	t->slot = xcalloc(t->cap, sizeof *t->slot);
}

struct spec_names *spec_names_new(const struct spec *s)
{
	struct spec_names *x = xcalloc(1, sizeof *x);
	x->s = s;
	table_init(&x->by_name, s->njobs);
	table_init(&x->by_base, s->njobs);
	x->next_base = xcalloc(s->njobs ? s->njobs : 1, sizeof *x->next_base);
	/* last job first: each job then takes the place of the later ones of
	 * its key, so the table holds the first and a chain runs in order */
	for (size_t i = s->njobs; i-- > 0;) {
		*table_find(&x->by_name, s, s->jobs[i].name, false) = i + 1;
		size_t *b = table_find(&x->by_base, s, s->jobs[i].base, true);
		x->next_base[i] = *b;
		*b = i + 1;
	}
	return x;
}

void spec_names_free(struct spec_names *x)
{
	if (!x)
		return;
	free(x->by_name.slot);
	free(x->by_base.slot);
	free(x->next_base);
	free(x);
}

size_t spec_names_find(const struct spec_names *x, const char *name)
{
	size_t k = *table_find(&x->by_name, x->s, name, false);
	return k ? k - 1 : SIZE_MAX;
}

size_t *spec_names_lookup(const struct spec_names *x, const char *name, size_t *n)
{
	*n = 0;
	size_t k = spec_names_find(x, name);
	if (k != SIZE_MAX) {
		size_t *r = xmalloc(sizeof *r);
		r[0] = k;
		*n = 1;
		return r;
	}
	size_t *r = NULL, cap = 0;
	for (k = *table_find(&x->by_base, x->s, name, true); k; k = x->next_base[k - 1]) {
		xgrow(&r, &cap, *n + 1, sizeof *r);
		r[(*n)++] = k - 1;
	}
	return r;
}
