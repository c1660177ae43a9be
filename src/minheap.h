/* SPDX-License-Identifier: GPL-3.0-or-later */
/* minheap.h - a min-heap of indices, and on it the numbering of slots:
 * the runner's ready jobs (started in spec order) and the concurrency
 * slot each running job holds (the lowest free number first, so a run
 * limited to N jobs at once uses slots 0..N-1; results and traces draw
 * one lane per slot); and lanes for intervals known only afterwards. */
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

/* Lanes for intervals laid out after the fact, in order of start (a
 * timeline's bars, a trace's stages and items): each on the lowest lane
 * free at its start, free_at[l] being when lane l's last one ended. */
struct lanes {
	double *free_at;
	size_t n, cap;
};

/* The lane for [start, end): the lowest whose last interval ended at or
 * before start (a new one when none). */
size_t lanes_take(struct lanes *l, double start, double end);
void lanes_free(struct lanes *l);

#endif
