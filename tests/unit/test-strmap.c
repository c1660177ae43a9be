/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-strmap.c - strings to indices (strmap.h): every key found with its
 * own value through growth, a key put twice keeps its first value, keys
 * that differ in one byte or are prefixes of each other stay apart. */
#include "config.h"
#include "strmap.h"
#include "tap.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	struct strmap m = { 0 };
	ok(!strmap_get(&m, "a"), "a map never set up: nothing in it");
	enum { N = 20000 };
	char **keys = xcalloc(N, sizeof *keys);
	for (size_t i = 0; i < N; i++)
		keys[i] = xasprintf("j%zu", i); /* j1, j10, j100: prefixes */
	bool added = false;
	for (size_t i = 0; i < N; i++)
		strmap_put(&m, keys[i], i, &added);
	ok(added, "the last new key said it was added");
	is_int(m.n, N, "%d keys in it", N);
	ok(m.cap >= 2 * m.n, "it grew to twice its load (%zu)", m.cap);
	size_t wrong = 0;
	for (size_t i = 0; i < N; i++) {
		const size_t *v = strmap_get(&m, keys[i]);
		wrong += !v || *v != i;
	}
	is_int(wrong, 0, "every key found with its own value");
	size_t *v = strmap_put(&m, "j7", 99, &added);
	ok(!added && *v == 7, "a key put again keeps its value (%zu)", *v);
	*v = 70;
	ok(*strmap_get(&m, keys[7]) == 70, "the value can be changed through the pointer");
	ok(!strmap_get(&m, "j") && !strmap_get(&m, "j20000") && !strmap_get(&m, ""),
	   "keys not put are not found");
	strmap_put(&m, "", 5, &added);
	ok(added && *strmap_get(&m, "") == 5, "the empty string is a key like any");
	strmap_free(&m);
	ok(!strmap_get(&m, "j1") && m.n == 0, "freed: empty again");
	for (size_t i = 0; i < N; i++)
		free(keys[i]);
	free(keys);
	return done_testing();
}
