/* SPDX-License-Identifier: GPL-3.0-or-later */
/* spec-names.c - a spec's jobs by name (spec-int.h): the index that
 * resolution (after, stdin.from, items.from) and --only look names up
 * in, so that loading a spec of n jobs that each name another stays
 * linear, not n scans of n jobs.  Two maps (strmap.h): by name to the
 * first job of that name, by base name to the first copy, the copies of
 * a base chained in spec order. */
#include "config.h"
#include "spec-int.h"
#include "strmap.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>

struct spec_names {
	struct strmap by_name, by_base;
	size_t *next_base; /* the next job (index + 1) of the same base, or 0 */
};

struct spec_names *spec_names_new(const struct spec *s)
{
	struct spec_names *x = xcalloc(1, sizeof *x);
	strmap_init(&x->by_name, s->njobs);
	strmap_init(&x->by_base, s->njobs);
	x->next_base = xcalloc(s->njobs ? s->njobs : 1, sizeof *x->next_base);
	/* last job first: each job then takes the place of the later ones of
	 * its key, so a map holds the first and a chain runs in order */
	for (size_t i = s->njobs; i-- > 0;) {
		*strmap_put(&x->by_name, s->jobs[i].name, i, NULL) = i;
		bool added;
		size_t *b = strmap_put(&x->by_base, s->jobs[i].base, i, &added);
		x->next_base[i] = added ? 0 : *b + 1;
		*b = i;
	}
	return x;
}

void spec_names_free(struct spec_names *x)
{
	if (!x)
		return;
	strmap_free(&x->by_name);
	strmap_free(&x->by_base);
	free(x->next_base);
	free(x);
}

size_t spec_names_find(const struct spec_names *x, const char *name)
{
	const size_t *k = strmap_get(&x->by_name, name);
	return k ? *k : SIZE_MAX;
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
	const size_t *b = strmap_get(&x->by_base, name);
	size_t *r = NULL, cap = 0;
	for (size_t i = b ? *b + 1 : 0; i; i = x->next_base[i - 1]) {
		xgrow(&r, &cap, *n + 1, sizeof *r);
		r[(*n)++] = i - 1;
	}
	return r;
}
