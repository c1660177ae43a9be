/* SPDX-License-Identifier: GPL-3.0-or-later */
/* steps-thread.c - the thread engine: a thread per worker, the sink and a
 * ticker on threads of their own, the source on the calling thread. */
#include "config.h"
#include "steps-int.h"
#include "signals.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define QUEUE_LOOK_MS 50.0

static void on_stop_fd(struct watch *wt, uint32_t ev)
{
	struct worker *w = wt->data;
	loop_del(w->loop, wt);
	worker_stop(w);
}

static void worker_ended(struct worker *w)
{
	struct step *st = w->st;
	w->t_end = now_ms();
	busy_end(w);
	pthread_mutex_lock(&w->e->mu);
	bool last = --st->alive == 0;
	pthread_mutex_unlock(&w->e->mu);
	if (last)
		workq_close(st->out, false);
}

/* A worker's start: its loop (run, coprocess), or its task's init().
 * 0 go on, 1 take no items (its init() hung, and another worker of its
 * step can take them: the last one fails them, saying why), -1 it ended
 * (the job stops). */
static int worker_start(struct worker *w)
{
	struct step *st = w->st;
	struct engine *e = w->e;
	if (st->sp->kind == STEP_TASK) {
		task_init(w);
		return w->tinit_hung && __atomic_sub_fetch(&st->healthy, 1, __ATOMIC_ACQ_REL) > 0;
	}
	if (!(w->loop = loop_new())) {
		engine_stop(e, 0, "error", xasprintf("steps: epoll: %s", strerror(errno)));
		w->t_end = now_ms();
		return -1;
	}
	loop_add(w->loop, &w->w_stop, e->stop_fd, EPOLLIN, on_stop_fd, w);
	return 0;
}

/* A task step's worker: one batch from its queue; false when the queue
 * has ended. */
static bool task_batch(struct worker *w, struct item *batch)
{
	struct step *st = w->st;
	struct engine *e = w->e;
	/* quick items: whole batches (less waking up); slow ones: a fair
	 * share, so the step's workers all work */
	uint64_t us = __atomic_load_n(&st->item_us, __ATOMIC_RELAXED);
	int n = workq_pop(st->in, batch, TASK_BATCH, us < 20 ? 1 : (size_t)st->nw, true);
	if (n < 0)
		return false;
	STAT_ADD(w->s.received, (uint64_t)n);
	double t0 = now_ms();
	w->busy_since = w->item_from = t0; /* (item_from: --trace) */
	for (int i = 0; i < n; i++) {
		if (engine_stopping(e)) {
			fail_item(w, &batch[i], -1, 0, xstrdup("cancelled: the job stopped"));
			continue;
		}
		step_task_one(w, &batch[i]);
	}
	task_fds_mend(e);
	__atomic_store_n(&st->item_us, (uint64_t)((now_ms() - t0) * 1000 / n), __ATOMIC_RELAXED);
	busy_end(w);
	return true;
}

static void *thread_worker(void *arg)
{
	struct worker *w = arg;
	struct step *st = w->st;
	struct engine *e = w->e;
	struct item batch[TASK_BATCH];
	int start = worker_start(w);
	if (start < 0)
		return NULL;
	if (start > 0)
		goto out;
	for (;;) {
		if (!push_held(w, true))
			break;
		int n;
		switch (st->sp->kind) {
		case STEP_RUN:
			n = workq_pop(st->in, batch, 1, 1, true);
			if (n < 0)
				goto out;
			STAT_ADD(w->s.received, 1);
			run_begin(w, batch[0]);
			while (w->busy)
				loop_run_once(w->loop, -1);
			break;
		case STEP_COPROCESS:
			if (!w->in_eof && (size_t)w->nin < (size_t)st->sp->window) {
				size_t room = (size_t)st->sp->window - w->nin;
				n = workq_pop(st->in, batch, room < TASK_BATCH ? room : TASK_BATCH,
					  (size_t)st->nw, w->nin == 0);
				if (n < 0) {
					w->in_eof = true;
				} else if (n > 0) {
					STAT_ADD(w->s.received, (uint64_t)n);
					/* a coprocess that ended while we waited
					 * is not the fault of these items */
					if (child_alive(w))
						loop_run_once(w->loop, 0);
					cop_send(w, batch, (size_t)n);
				}
			}
			/* its input ended (seen here also with a full
			 * window): EOF now, so a program that buffers its
			 * output answers (cop_close) */
			if (!w->in_eof && workq_done(st->in))
				w->in_eof = true;
			if (w->in_eof && w->nin && !w->closing)
				cop_close(w);
			/* waiting for answers: look at the queue again now
			 * and then, as its end is what a buffering program
			 * waits for (nothing else wakes this loop for it) */
			if (w->nin)
				loop_run_once(w->loop, w->in_eof ? -1 : QUEUE_LOOK_MS);
			else if (w->in_eof || engine_stopping(e))
				goto out;
			break;
		case STEP_TASK:
			if (!task_batch(w, batch))
				goto out;
			break;
		}
	}
out:
	push_held(w, true);
	if (st->sp->kind == STEP_COPROCESS) {
		cop_close(w);
		while (child_alive(w))
			loop_run_once(w->loop, -1);
		cop_fail_all(w, "cancelled: the job stopped");
	}
	worker_ended(w);
	if (st->sp->kind == STEP_TASK) {
		/* here, not at the end: the workers' fini() run side by side,
		 * so hung ones cost one bound, not one each */
		task_fini(w);
		w->tinit = false;
	}
	if (w->loop) {
		if (w->w_stop.active)
			loop_del(w->loop, &w->w_stop);
		loop_free(w->loop);
		w->loop = NULL;
	}
	return NULL;
}

static void *thread_sink(void *arg)
{
	struct engine *e = arg;
	struct workq *q = &e->q[e->n];
	struct item items[SINK_BATCH];
	for (;;) {
		int n = workq_pop(q, items, SINK_BATCH, 1, false);
		if (n == 0) {
			sink_flush(e);
			n = workq_pop(q, items, SINK_BATCH, 1, true);
		}
		if (n < 0)
			break;
		sink_take(e, items, (size_t)n);
	}
	sink_flush(e);
	return NULL;
}

struct ticker {
	struct engine *e;
	int end_fd;
};

/* Progress lines and signals (thread mode). */
static void *thread_ticker(void *arg)
{
	struct ticker *t = arg;
	struct engine *e = t->e;
	struct pollfd p[2] = { { t->end_fd, POLLIN, 0 }, { e->sigfd, POLLIN, 0 } };
	for (;;) {
		int r = poll(p, 2, (int)PROGRESS_MS);
		if (r > 0 && (p[0].revents & POLLIN))
			break;
		if (r > 0 && (p[1].revents & POLLIN)) {
			struct signalfd_siginfo si;
			if (read(e->sigfd, &si, sizeof si) == (ssize_t)sizeof si &&
			    !signals_self_raised(&si))
				engine_stop(e, (int)si.ssi_signo, NULL, NULL);
		}
		progress_line(e);
	}
	return NULL;
}

static void source_push(struct engine *e, struct item *batch, size_t *n)
{
	bool aborted;
	size_t r = *n ? workq_push(&e->q[0], batch, *n, true, &aborted) : 0;
	for (size_t i = r; i < *n; i++)
		item_free(&batch[i]);
	*n = 0;
}

int steps_run_threads(struct engine *e)
{
	pthread_t sink, tick;
	struct ticker tk = { e, eventfd(0, EFD_CLOEXEC) };
	if (tk.end_fd < 0) {
		engine_stop(e, 0, "error", xasprintf("steps: eventfd: %s", strerror(errno)));
		return -1;
	}
	size_t started = 0;
	int err = 0;
	for (size_t k = 0; k < e->n && !err; k++)
		for (int i = 0; i < e->st[k].nw && !err; i++) {
			err = pthread_create(&e->st[k].w[i].thr, NULL, thread_worker, &e->st[k].w[i]);
			if (!err)
				started++;
		}
	bool sink_up = false, tick_up = false;
	if (!err)
		sink_up = !(err = pthread_create(&sink, NULL, thread_sink, e));
	if (!err)
		tick_up = !(err = pthread_create(&tick, NULL, thread_ticker, &tk));
	if (err) {
		engine_stop(e, 0, "error", xasprintf("cannot start a thread: %s", strerror(err)));
	} else {
		/* the source, here */
		struct item batch[TASK_BATCH];
		size_t nb = 0;
		for (;;) {
			if (engine_stopping(e))
				break;
			if (window_full(e)) {
				source_push(e, batch, &nb);
				pthread_mutex_lock(&e->omu);
				while (window_full(e) && !engine_stopping(e))
					pthread_cond_wait(&e->ocond, &e->omu);
				pthread_mutex_unlock(&e->omu);
				continue;
			}
			struct item it;
			int r = source_next(e, &it);
			if (r == 2)
				continue;
			if (r == 3) {
				/* sunk before: to the sink's queue, behind the
				 * items read before it (their batch first) */
				bool aborted;
				source_push(e, batch, &nb);
				if (!workq_push(&e->q[e->n], &it, 1, true, &aborted))
					item_free(&it);
				continue;
			}
			if (r > 0) {
				batch[nb++] = it;
				if (nb == TASK_BATCH)
					source_push(e, batch, &nb);
				continue;
			}
			source_push(e, batch, &nb);
			if (r < 0)
				break;
			struct pollfd p[2] = { { e->in_fd, POLLIN, 0 }, { e->stop_fd, POLLIN, 0 } };
			if (poll(p, 2, -1) < 0 && errno != EINTR)
				break;
			if (p[1].revents)
				break;
			if (source_read(e) < 0)
				break;
		}
		for (size_t i = 0; i < nb; i++)
			item_free(&batch[i]);
		e->src_done = true;
		workq_close(&e->q[0], false);
	}
	size_t joined = 0;
	for (size_t k = 0; k < e->n; k++)
		for (int i = 0; i < e->st[k].nw && joined < started; i++, joined++)
			pthread_join(e->st[k].w[i].thr, NULL);
	if (sink_up)
		pthread_join(sink, NULL);
	if (tick_up) {
		uint64_t one = 1;
		if (write(tk.end_fd, &one, sizeof one) < 0) {
			/* cannot fail on a fresh eventfd */
		}
		pthread_join(tick, NULL);
	}
	close(tk.end_fd);
	return 0;
}
