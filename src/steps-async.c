/* SPDX-License-Identifier: GPL-3.0-or-later */
/* steps-async.c - the async engine: one thread, one event loop, every worker a
 * state machine that a scheduler moves items through. */
#include "config.h"
#include "steps-int.h"
#include "signals.h"

#include <errno.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* The loop's one thread ran st's task inline from t0 to t1: no other
 * worker was served meanwhile.  A worker of a step before st waiting on
 * its child (busy) was in fact waiting on st, as thread mode shows it:
 * blocked, not busy; one after st was neither. */
static void inline_time(struct engine *e, const struct step *st, double t0, double t1)
{
	for (size_t k = 0; k < e->n; k++) {
		if (k == st->index)
			continue;
		for (int i = 0; i < e->st[k].nw; i++) {
			struct worker *w = &e->st[k].w[i];
			if (!w->busy_since || w->busy_since >= t1)
				continue;
			double dt = t1 - (w->busy_since > t0 ? w->busy_since : t0);
			w->busy_since += dt; /* busy_end counts without it */
			if (k < st->index && !w->blocked_since)
				STAT_ADD(w->s.blocked_us, (uint64_t)(dt * 1000));
		}
	}
}

static bool async_step(struct step *st)
{
	struct engine *e = st->e;
	bool moved = false;
	struct item batch[TASK_BATCH];
	for (int i = 0; i < st->nw; i++) {
		struct worker *w = &st->w[i];
		if (w->nheld) {
			size_t before = w->nheld;
			push_held(w, false);
			moved |= w->nheld != before;
			if (w->nheld)
				continue;
		}
		if (engine_stopping(e))
			continue;
		int n;
		switch (st->sp->kind) {
		case STEP_RUN:
			if (w->busy || (n = workq_pop(st->in, batch, 1, 1, false)) <= 0)
				break;
			STAT_ADD(w->s.received, 1);
			run_begin(w, batch[0]);
			moved = true;
			break;
		case STEP_COPROCESS:
			if (!w->closing && (size_t)w->nin < (size_t)st->sp->window) {
				size_t room = (size_t)st->sp->window - w->nin;
				n = workq_pop(st->in, batch, room < TASK_BATCH ? room : TASK_BATCH,
					  (size_t)st->nw, false);
				if (n > 0) {
					STAT_ADD(w->s.received, (uint64_t)n);
					cop_send(w, batch, (size_t)n);
					moved = true;
				}
			}
			/* its input ended: EOF now, items in flight or not,
			 * a full window too (cop_close) */
			if (!w->closing && workq_done(st->in)) {
				cop_close(w);
				moved |= w->closing;
			}
			break;
		case STEP_TASK:
			if (st->task->timer) { /* a wait: a timer */
				if (w->busy || (n = workq_pop(st->in, batch, 1, 1, false)) <= 0)
					break;
				STAT_ADD(w->s.received, 1);
				step_timer_begin(w, batch[0]);
				moved = true;
				break;
			}
			/* in line: as long as the next queue has room */
			if (i)
				break;
			while (!engine_stopping(e) && !w->nheld && !workq_full(st->out) &&
			       (n = workq_pop(st->in, batch, TASK_BATCH, 1, false)) > 0) {
				STAT_ADD(w->s.received, (uint64_t)n);
				busy_begin(w);
				double t0 = w->busy_since;
				for (int k = 0; k < n; k++)
					step_task_one(w, &batch[k]);
				task_fds_mend(e);
				busy_end(w);
				inline_time(e, st, t0, now_ms());
				push_held(w, false);
				moved = true;
			}
			/* items waiting, no room after: back-pressure */
			if (!w->nheld)
				note_blocked(w, !engine_stopping(e) && workq_full(st->out) &&
					     workq_depth(st->in, NULL) > 0);
			break;
		}
	}
	if (!st->out_closed && workq_done(st->in)) {
		bool quiet = true;
		for (int i = 0; i < st->nw && quiet; i++)
			quiet = worker_quiet(&st->w[i]);
		if (quiet) {
			st->out_closed = true;
			for (int i = 0; i < st->nw; i++) {
				st->w[i].t_end = now_ms();
				busy_end(&st->w[i]);
			}
			workq_close(st->out, false);
			moved = true;
		}
	}
	return moved;
}

static void async_in(struct watch *wt, uint32_t ev)
{
	struct engine *e = wt->data;
	size_t avail = e->ibuf.len - e->ioff;
	if (!e->in_eof && !(avail && memchr(e->ibuf.p + e->ioff, '\n', avail)))
		source_read(e);
}

/* Watch the input only while an item is wanted (a pipe whose writer is
 * gone reports HUP whatever the events asked for). */
static void want_input(struct engine *e, bool on)
{
	if (on == e->w_in_on)
		return;
	if (on)
		loop_add(e->loop, &e->w_in, e->in_fd, EPOLLIN, async_in, e);
	else
		loop_del(e->loop, &e->w_in);
	e->w_in_on = on;
}

static bool async_source(struct engine *e)
{
	bool moved = false;
	while (!e->src_done && !engine_stopping(e) && !window_full(e) && !workq_full(&e->q[0])) {
		struct item it;
		int r = source_next(e, &it);
		if (r == 2) {
			moved = true;
			continue;
		}
		if (r == 3) {
			/* sunk before: straight to the sink (this thread's) */
			sink_take(e, &it, 1);
			moved = true;
			continue;
		}
		if (r > 0) {
			bool aborted;
			if (!workq_push(&e->q[0], &it, 1, false, &aborted))
				item_free(&it); /* cannot be full: only aborted */
			moved = true;
			continue;
		}
		if (r < 0) {
			e->src_done = true;
			workq_close(&e->q[0], false);
			moved = true;
			break;
		}
		if (e->in_pollable) {
			want_input(e, true);
			return moved;
		}
		/* a regular file (epoll refuses those): read now */
		if (source_read(e) < 0)
			break;
	}
	if (e->in_pollable)
		want_input(e, false);
	return moved;
}

static bool async_sink(struct engine *e)
{
	struct item items[SINK_BATCH];
	bool moved = false;
	int n;
	while ((n = workq_pop(&e->q[e->n], items, SINK_BATCH, 1, false)) > 0) {
		sink_take(e, items, (size_t)n);
		moved = true;
	}
	if (n < 0)
		e->sink_done = true;
	return moved;
}

/* Move items until nothing moves, or for at most KICK_MS: a line of
 * task steps could otherwise keep the loop from signals, the stop fd and
 * progress for the whole job.  True when there is more to move. */
#define KICK_MS 20.0
static bool kick(struct engine *e)
{
	bool moved;
	double until = now_ms() + KICK_MS;
	do {
		moved = async_sink(e);
		for (size_t k = e->n; k-- > 0;)
			moved |= async_step(&e->st[k]);
		moved |= async_source(e);
	} while (moved && now_ms() < until);
	sink_flush(e);
	return moved;
}

static void async_stop_seen(struct watch *wt, uint32_t ev)
{
	struct engine *e = wt->data;
	loop_del(e->loop, wt);
	for (size_t k = 0; k < e->n; k++)
		for (int i = 0; i < e->st[k].nw; i++)
			worker_stop(&e->st[k].w[i]);
}

static void async_signal(struct watch *wt, uint32_t ev)
{
	struct engine *e = wt->data;
	struct signalfd_siginfo si;
	if (read(e->sigfd, &si, sizeof si) == (ssize_t)sizeof si && !signals_self_raised(&si))
		engine_stop(e, (int)si.ssi_signo, NULL, NULL);
}

static void async_tick(struct timer *t)
{
	struct engine *e = t->data;
	progress_line(e);
	timer_start(e->loop, t, now_ms() + PROGRESS_MS, async_tick, e);
}

static bool async_busy(struct engine *e)
{
	for (size_t k = 0; k < e->n; k++)
		for (int i = 0; i < e->st[k].nw; i++) {
			const struct worker *w = &e->st[k].w[i];
			if (child_alive(w) || w->busy)
				return true;
		}
	return false;
}

int steps_run_async(struct engine *e)
{
	if (!(e->loop = loop_new())) {
		engine_stop(e, 0, "error", xasprintf("steps: epoll: %s", strerror(errno)));
		return -1;
	}
	for (size_t k = 0; k < e->n; k++)
		for (int i = 0; i < e->st[k].nw; i++)
			e->st[k].w[i].loop = e->loop;
	loop_add(e->loop, &e->w_stopw, e->stop_fd, EPOLLIN, async_stop_seen, e);
	loop_add(e->loop, &e->w_sig, e->sigfd, EPOLLIN, async_signal, e);
	if (e->s->items != ITEMS_COUNT && loop_add(e->loop, &e->w_in, e->in_fd, EPOLLIN, async_in, e) == 0) {
		e->in_pollable = true;
		e->w_in_on = true;
	}
	timer_start(e->loop, &e->t_progress, now_ms() + PROGRESS_MS, async_tick, e);
	for (;;) {
		bool more = kick(e);
		if (!more && e->sink_done && !async_busy(e))
			break;
		loop_run_once(e->loop, more ? 0 : -1);
	}
	timer_stop(e->loop, &e->t_progress);
	if (e->w_in_on)
		loop_del(e->loop, &e->w_in);
	if (e->w_stopw.active)
		loop_del(e->loop, &e->w_stopw);
	loop_del(e->loop, &e->w_sig);
	for (size_t k = 0; k < e->n; k++)
		for (int i = 0; i < e->st[k].nw; i++) {
			struct worker *w = &e->st[k].w[i];
			if (!w->t_end)
				w->t_end = now_ms();
			busy_end(w);
		}
	loop_free(e->loop);
	e->loop = NULL;
	return 0;
}
