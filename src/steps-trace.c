/* SPDX-License-Identifier: GPL-3.0-or-later */
/* steps-trace.c - a steps job's host traces its items for the run's
 * --trace (trace.h: trace_ask_items): per worker of each step its first
 * and slowest items (their index, status and times, never their text),
 * and per step its items done and its queue's depth.  An item runs, as
 * its worker sees it, from when the worker took up work (busy_begin) or
 * its last item ended, whichever is later, to its end: a coprocess's
 * items in flight at once so share out its time one after another. */
#include "config.h"
#include "steps-int.h"
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>

void steps_trace_begin(struct engine *e)
{
	if (!e->s->trace_items || !e->n)
		return;
	/* a trace it cannot write costs the run's trace this job's items,
	 * not the job */
	e->trace = trace_open(e->s->trace_items, "steps", "");
	if (!e->trace)
		return;
	const char **names = xcalloc(e->n, sizeof *names);
	int *workers = xcalloc(e->n, sizeof *workers);
	long *queues = xcalloc(e->n, sizeof *queues);
	size_t w0 = 0;
	for (size_t k = 0; k < e->n; k++) {
		names[k] = e->st[k].sp->name;
		workers[k] = e->st[k].nw;
		queues[k] = e->st[k].sp->queue ? e->st[k].sp->queue : e->s->queue;
		e->st[k].trace_w0 = w0;
		w0 += (size_t)e->st[k].nw;
	}
	trace_steps_begin(e->trace, names, e->n, workers, queues);
	free(queues);
	free(workers);
	free(names);
}

void steps_trace_item(struct worker *w, const struct item *it, bool ok)
{
	double now = now_ms();
	double from = w->item_from > w->item_last ? w->item_from : w->item_last;
	trace_steps_item(w->e->trace, w->st->trace_w0 + (size_t)(w->id - 1), (size_t)it->seq,
			 from ? from : now, now, ok);
	w->item_last = now;
}

static void sample(struct engine *e, bool last)
{
	uint64_t *done = xcalloc(e->n, sizeof *done), *queued = xcalloc(e->n, sizeof *queued);
	for (size_t k = 0; k < e->n; k++) {
		const struct step *st = &e->st[k];
		for (int i = 0; i < st->nw; i++)
			done[k] += STAT_GET(st->w[i].s.processed) + STAT_GET(st->w[i].s.failed);
		queued[k] = workq_depth(st->in, NULL);
	}
	trace_steps_count(e->trace, done, queued, last);
	free(queued);
	free(done);
}

void steps_trace_sample(struct engine *e)
{
	sample(e, false);
}

void steps_trace_finish(struct engine *e, double wall_ms)
{
	if (!e->trace)
		return;
	sample(e, true);
	struct trace *t = e->trace;
	e->trace = NULL;
	if (trace_steps_finish(t, wall_ms, e->next_seq) < 0) {
		/* the run's trace goes without this job's items */
	}
}
