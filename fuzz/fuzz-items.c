/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fuzz-items.c - libFuzzer harness: the pool's item-line parser (lines
 * of `piperun pool --items`, `pool` jobs and task steps): whitespace-
 * separated numbers, or one JSON array per line.
 * Properties: a parse that fails says which line; one that succeeds has
 * consistent arrays (arg0 ascending, ending at nargs; string indices in
 * range; OTHER arguments valid JSON, and compact: json-strict.c gives
 * them back unchanged), and parsing each line alone
 * (pool_parse_one, as steps do) gives the same arguments. */
#include "config.h"
#include "fuzz.h"
#include "json-strict.h"
#include "pool.h"
#include "spec.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void same_arg(const struct pool_items *it, size_t k, const struct piperun_arg *a)
{
	CHECK(it->types[k] == a->type);
	switch (a->type) {
	case PIPERUN_ARG_INT:
		CHECK(it->vals[k] == a->i);
		break;
	case PIPERUN_ARG_NUMBER: {
		double d;
		memcpy(&d, &it->vals[k], sizeof d);
		CHECK(memcmp(&d, &a->d, sizeof d) == 0);
		break;
	}
	default:
		CHECK(it->vals[k] >= 0 && (size_t)it->vals[k] < it->nstrings);
		CHECK(!strcmp(it->strings[it->vals[k]], a->s));
		if (a->type == PIPERUN_ARG_OTHER) {
			CHECK(spec_json_text_valid(a->s));
			char *why = NULL;
			size_t n = 0;
			char *c = jstrict_compact(a->s, strlen(a->s), &n, &why);
			CHECK(c && n == strlen(a->s) && !memcmp(c, a->s, n));
			free(c);
			free(why);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct pool_items all = { 0 };
	char *err = NULL;
	if (pool_parse_text(text, size, &all, &err) < 0) {
		CHECK(err && !strncmp(err, "line ", 5));
		free(err);
		pool_items_free(&all);
		return 0;
	}
	CHECK(all.n == 0 || all.arg0[all.n] == all.nargs);
	for (size_t i = 0; i < all.n; i++)
		CHECK(all.arg0[i] <= all.arg0[i + 1]);

	struct pool_items one = { 0 };
	struct piperun_arg *args = NULL;
	size_t item = 0;
	for (const char *p = text, *e = text + size; p < e;) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(e - p);
		size_t nargs = 0;
		CHECK(pool_parse_one(&one, p, l, &args, &nargs, &err) == 0);
		if (one.n) {
			CHECK(item < all.n);
			CHECK(nargs == all.arg0[item + 1] - all.arg0[item]);
			for (size_t k = 0; k < nargs; k++)
				same_arg(&all, all.arg0[item] + k, &args[k]);
			item++;
		}
		p += l + (nl ? 1 : 0);
	}
	CHECK(item == all.n);
	free(args);
	pool_items_free(&one);
	pool_items_free(&all);
	return 0;
}
