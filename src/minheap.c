/* SPDX-License-Identifier: GPL-3.0-or-later */
/* minheap.c - a min-heap of indices and slot numbers on it (see
 * minheap.h). */
#include "config.h"
#include "minheap.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

void minheap_push(struct minheap *h, size_t x)
{
	xgrow(&h->v, &h->cap, h->n + 1, sizeof *h->v);
	size_t i = h->n++;
	while (i > 0 && h->v[(i - 1) / 2] > x) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = x;
}

size_t minheap_pop(struct minheap *h)
{
	size_t top = h->v[0], last = h->v[--h->n], i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1] < h->v[c])
			c++;
		if (h->v[c] >= last)
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n)
		h->v[i] = last;
	return top;
}

void minheap_free(struct minheap *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

size_t slots_take(struct slots *s)
{
	return s->free.n ? minheap_pop(&s->free) : s->next++;
}

void slots_give(struct slots *s, long n)
{
	if (n >= 0)
		minheap_push(&s->free, (size_t)n);
}

void slots_free(struct slots *s)
{
	minheap_free(&s->free);
	s->next = 0;
}

size_t lanes_take(struct lanes *l, double start, double end)
{
	size_t k = 0;
	while (k < l->n && l->free_at[k] > start)
		k++;
	if (k == l->n) {
		xgrow(&l->free_at, &l->cap, l->n + 1, sizeof *l->free_at);
		l->n++;
	}
	l->free_at[k] = end;
	return k;
}

void lanes_free(struct lanes *l)
{
	free(l->free_at);
	memset(l, 0, sizeof *l);
}
