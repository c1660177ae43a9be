/* SPDX-License-Identifier: GPL-3.0-or-later */
/* pool-async.c - the pool's async mode: one event loop; a task that
 * is a wait (its timer) becomes a timer per item, other tasks run
 * inline, one item after another. */
#include "config.h"
#include "pool-int.h"
#include "loop.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The seconds item i waits (the task's timer()), or -1 with *err. */
static int item_wait(const struct pool_opts *o, const struct pool_items *it, size_t i,
		     double *secs, struct piperun_result *err)
{
	struct piperun_arg local[16];
	size_t na;
	struct piperun_arg *args = pool_item_args(it, i, local, &na);
	int rc = o->task->timer(args, na, secs, err);
	if (args != local)
		free(args);
	return rc;
}

struct apool {
	const struct pool_opts *o;
	const struct pool_items *it;
	struct pool_result *res;
	struct loop *loop;
	struct timer *timers;
	double *started;
	double *secs;                /* what each item waits (its timer()) */
	size_t next, inflight;
	bool stop;
};

static void async_more(struct apool *a);

static void async_fire(struct timer *t)
{
	struct apool *a = t->data;
	size_t i = (size_t)(t - a->timers);
	struct pool_result *r = &a->res[i];
	double secs = a->secs[i];
	r->worker = 1;
	r->duration_ms = (float)(now_ms() - a->started[i]);
	/* the rule of every mode (pool_timed_out): a wait as long as the
	 * timeout is timed out, also when the timer fired a hair early */
	if (pool_timed_out(a->o, secs * 1000) || pool_timed_out(a->o, r->duration_ms)) {
		pool_fail(r, "timed out", 1);
	} else {
		r->status = POOL_OK;
		r->kind = PIPERUN_RESULT_NUMBER;
		r->v.d = secs;
	}
	a->inflight--;
	if (a->o->on_result)
		a->o->on_result(i, r, a->o->ctx);
	if (a->o->fail_fast && r->status == POOL_ERROR)
		a->stop = true;
	async_more(a);
}

static void async_more(struct apool *a)
{
	const struct pool_opts *o = a->o;
	while (!a->stop && a->next < a->it->n &&
	       (!o->max_inflight || a->inflight < (size_t)o->max_inflight)) {
		size_t i = a->next++;
		double secs;
		struct piperun_result err = { 0 };
		if (item_wait(o, a->it, i, &secs, &err) < 0) {
			pool_set_result(&a->res[i], o->task, &err, 0, 1);
			if (o->on_result)
				o->on_result(i, &a->res[i], o->ctx);
			if (o->fail_fast)
				a->stop = true;
			continue;
		}
		/* the timer fires at the end, or at the item's timeout */
		double wait = secs;
		if (o->timeout > 0 && o->timeout < wait)
			wait = o->timeout;
		a->secs[i] = secs;
		a->started[i] = now_ms();
		timer_start(a->loop, &a->timers[i], a->started[i] + wait * 1000, async_fire, a);
		a->inflight++;
	}
}

int pool_run_async(const struct pool_opts *o, const struct pool_items *it,
		   struct pool_result *res, char **why)
{
	if (!o->task->timer) {
		/* CPU work cannot overlap in one thread: it runs inline, one
		 * item after another, as the seed's coroutines would; a wait
		 * (a task with a timer) is a timer on the loop */
		pool_run_serial(o, it, res);
		return 0;
	}
	struct apool a = { .o = o, .it = it, .res = res };
	a.loop = loop_new();
	if (!a.loop) {
		*why = xasprintf("pool: cannot create the event loop: %s", strerror(errno));
		return -1;
	}
	a.timers = xcalloc(it->n ? it->n : 1, sizeof *a.timers);
	a.started = xcalloc(it->n ? it->n : 1, sizeof *a.started);
	a.secs = xcalloc(it->n ? it->n : 1, sizeof *a.secs);
	async_more(&a);
	while (a.inflight)
		if (loop_run_once(a.loop, -1) < 0 && errno != EINTR)
			break;
	loop_free(a.loop);
	free(a.timers);
	free(a.started);
	free(a.secs);
	pool_skip_rest(res, it->n);
	return 0;
}
