/* SPDX-License-Identifier: GPL-3.0-or-later */
/* strmap.c - strings to indices (see strmap.h): linear probing over a
 * power-of-two table kept at most half full; FNV-1a (Fowler, Noll, Vo)
 * for the hash. */
#include "config.h"
#include "strmap.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t str_hash(const char *p)
{
	uint64_t h = fnv1a_add(FNV1A_INIT, p, strlen(p));
	return (size_t)(h ^ h >> 32);
}

/* key's slot, or the empty one where it would go */
static size_t slot_of(const struct strmap *m, const char *key)
{
	size_t i = str_hash(key) & (m->cap - 1);
	while (m->key[i] && strcmp(m->key[i], key))
		i = (i + 1) & (m->cap - 1);
	return i;
}

void strmap_init(struct strmap *m, size_t hint)
{
	m->cap = 16;
	while (m->cap / 2 < hint)
		m->cap *= 2;
	m->key = xcalloc(m->cap, sizeof *m->key);
	m->val = xcalloc(m->cap, sizeof *m->val);
	m->n = 0;
}

size_t *strmap_get(const struct strmap *m, const char *key)
{
	if (!m->cap)
		return NULL;
	size_t i = slot_of(m, key);
	return m->key[i] ? &m->val[i] : NULL;
}

static void grow(struct strmap *m)
{
	struct strmap old = *m;
	strmap_init(m, old.cap);
	for (size_t i = 0; i < old.cap; i++)
		if (old.key[i]) {
			size_t k = slot_of(m, old.key[i]);
			m->key[k] = old.key[i];
			m->val[k] = old.val[i];
			m->n++;
		}
	strmap_free(&old);
}

size_t *strmap_put(struct strmap *m, const char *key, size_t v, bool *added)
{
	if (!m->cap)
		strmap_init(m, 0);
	size_t i = slot_of(m, key);
	bool add = !m->key[i];
	if (add) {
		if ((m->n + 1) * 2 > m->cap) {
			grow(m);
			i = slot_of(m, key);
		}
		m->key[i] = key;
		m->val[i] = v;
		m->n++;
	}
	if (added)
		*added = add;
	return &m->val[i];
}

void strmap_free(struct strmap *m)
{
	free(m->key);
	free(m->val);
	m->key = NULL;
	m->val = NULL;
	m->cap = m->n = 0;
}
