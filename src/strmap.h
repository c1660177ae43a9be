/* SPDX-License-Identifier: GPL-3.0-or-later */
/* strmap.h - strings to indices (open addressing, linear probing,
 * FNV-1a): for every lookup by name that would otherwise scan all names
 * (job names while a spec loads, keys of one JSON object, env names).
 * Keys are not copied: each must stay put until the map is freed.  No
 * removal. */
#ifndef PIPERUN_STRMAP_H
#define PIPERUN_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct strmap {
	const char **key;  /* NULL: empty */
	size_t *val;
	size_t cap, n;     /* cap a power of two, at least twice n */
};

/* An empty map sized for about hint keys (it grows past them). */
void strmap_init(struct strmap *m, size_t hint);
/* Where key's value is, or NULL when key is not in m. */
size_t *strmap_get(const struct strmap *m, const char *key);
/* Where key's value is, key added with value v first when it is not in
 * m (*added says which; NULL: not asked).  The pointer holds until the
 * next strmap_put. */
size_t *strmap_put(struct strmap *m, const char *key, size_t v, bool *added);
void strmap_free(struct strmap *m);

#endif
