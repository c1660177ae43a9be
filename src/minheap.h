/* SPDX-License-Identifier: GPL-3.0-or-later */
/* minheap.h - a min-heap of indices, and on it the numbering of slots:
 * the runner's ready jobs (started in spec order) and the concurrency
 * slot each running job holds (the lowest free number first, so a run
 * limited to N jobs at once uses slots 0..N-1; results and traces draw
 * one lane per slot). */
#ifndef PIPERUN_MINHEAP_H
#define PIPERUN_MINHEAP_H

#include <stddef.h>

struct minheap {
	size_t *v;
	size_t n, cap;
};

void minheap_push(struct minheap *h, size_t x);
/* The smallest; the heap must not be empty (h->n > 0). */
size_t minheap_pop(struct minheap *h);
void minheap_free(struct minheap *h);

/* Slot numbers: taken as a job starts, given back as it ends. */
struct slots {
	struct minheap free;         /* numbers given back */
	size_t next;                 /* never taken yet from here on */
};

/* The lowest free slot number. */
size_t slots_take(struct slots *s);
/* n is free again (a number slots_take returned; negative: ignored). */
void slots_give(struct slots *s, long n);
void slots_free(struct slots *s);

#endif
