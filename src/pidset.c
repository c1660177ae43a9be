/* SPDX-License-Identifier: GPL-3.0-or-later */
/* pidset.c - a set of pids (see pidset.h): linear probing; a removal
 * re-inserts the rest of its cluster instead of leaving a tombstone. */
#include "config.h"
#include "pidset.h"
#include "util.h"

#include <stdlib.h>

static size_t pid_hash(pid_t p, size_t cap)
{
	return ((size_t)p * 2654435761u) & (cap - 1);
}

static void rehash(struct pidset *s, size_t cap)
{
	pid_t *old = s->slot;
	size_t oldcap = s->cap;
	s->slot = xcalloc(cap, sizeof *s->slot);
	s->cap = cap;
	s->n = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i] > 0)
			pidset_add(s, old[i]);
	free(old);
}

void pidset_add(struct pidset *s, pid_t p)
{
	if ((s->n + 1) * 2 > s->cap)
		rehash(s, s->cap ? s->cap * 2 : 64);
	size_t i = pid_hash(p, s->cap);
	while (s->slot[i] > 0)
		i = (i + 1) & (s->cap - 1);
	s->slot[i] = p;
	s->n++;
}

void pidset_del(struct pidset *s, pid_t p)
{
	if (!s->cap || p <= 0)
		return;
	size_t i = pid_hash(p, s->cap);
	while (s->slot[i] && s->slot[i] != p)
		i = (i + 1) & (s->cap - 1);
	if (s->slot[i] != p)
		return;
	s->slot[i] = 0;
	s->n--;
	for (i = (i + 1) & (s->cap - 1); s->slot[i]; i = (i + 1) & (s->cap - 1)) {
		pid_t q = s->slot[i];
		s->slot[i] = 0;
		s->n--;
		pidset_add(s, q);
	}
}

bool pidset_has(const struct pidset *s, pid_t p)
{
	if (!s->cap || p <= 0)
		return false;
	size_t i = pid_hash(p, s->cap);
	while (s->slot[i] && s->slot[i] != p)
		i = (i + 1) & (s->cap - 1);
	return s->slot[i] == p;
}

void pidset_free(struct pidset *s)
{
	free(s->slot);
	s->slot = NULL;
	s->cap = s->n = 0;
}
