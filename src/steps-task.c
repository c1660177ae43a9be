/* SPDX-License-Identifier: GPL-3.0-or-later */
/* steps-task.c - task steps: a pool task called in process, or a timer for a
 * task that is a wait (see steps.h). */
#include "config.h"
#include "steps-int.h"
#include "task.h"

#include <stdlib.h>

static void task_init(struct worker *w)
{
	w->tinit = true;
	const struct piperun_task *t = w->st->task;
	if (t->init && t->init(&w->tstate) != 0)
		w->tinit_failed = true;
}

/* The arguments for this item: the step's own, or the item parsed. */
static int task_args(struct worker *w, struct item *it, const struct piperun_arg **args,
		     size_t *nargs)
{
	struct step *st = w->st;
	if (st->args) {
		*args = st->args;
		*nargs = st->nargs;
		return 0;
	}
	char *why = NULL;
	if (pool_parse_one(&w->scratch, it->text, it->len, &w->args, nargs, &why) < 0) {
		fail_item(w, it, -1, 0, xasprintf("not arguments for %s: %s", st->sp->task, why));
		free(why);
		return -1;
	}
	*args = w->args;
	return 0;
}

/* The task's result: the next item (fixed arguments: the item itself). */
static void task_done(struct worker *w, struct item *it, struct piperun_result *res)
{
	struct step *st = w->st;
	char *text = NULL;
	size_t len = 0;
	if (pool_result_text(st->task, res, &text, &len) < 0) {
		fail_item(w, it, -1, 0, text);
		return;
	}
	if (st->args) {
		free(text);
		worker_emit(w, *it);
	} else {
		struct item r = { text, len, it->seq, it->ih, false };
		item_free(it);
		worker_emit(w, r);
	}
}

/* A task's context in a step: expired() is also true once the job
 * stops, so a long task (a thread-mode sleep, a polling plugin) gives up
 * instead of holding the host until its SIGKILL. */
struct step_ctx {
	struct piperun_task_ctx c; /* first: the task sees only this */
	struct engine *e;
};

static int step_expired(const struct piperun_task_ctx *ctx)
{
	const struct step_ctx *sc = (const struct step_ctx *)ctx;
	return engine_stopping(sc->e) || task_expired(ctx);
}

void step_task_one(struct worker *w, struct item *it)
{
	struct step *st = w->st;
	if (!w->tinit)
		task_init(w);
	if (w->tinit_failed) {
		fail_item(w, it, -1, 0, xasprintf("task %s: init() refused", st->sp->task));
		return;
	}
	const struct piperun_arg *args;
	size_t nargs;
	if (task_args(w, it, &args, &nargs) < 0)
		return;
	struct step_ctx ctx = {
		.c = { .state = w->tstate, .expired = step_expired },
		.e = w->e,
	};
	struct piperun_result res;
	task_call(st->task, &ctx.c, args, nargs, st->timeout_ms > 0 ? now_ms() : 0,
		  st->timeout_ms, &res);
	if (res.kind == PIPERUN_RESULT_ERROR && engine_stopping(w->e)) {
		if (st->task->free_result)
			st->task->free_result(&res);
		fail_item(w, it, -1, 0, xstrdup("cancelled: the job stopped"));
		return;
	}
	task_done(w, it, &res);
}

/* async: a task that is a wait (sleep) is a timer, so the step's
 * workers wait side by side. */
static void step_timer_fire(struct timer *t)
{
	struct worker *w = t->data;
	w->busy = false;
	busy_end(w);
	struct item it = w->cur;
	w->cur.text = NULL;
	if (w->timed_out) {
		fail_item(w, &it, -1, 0, xstrdup("timed out"));
		return;
	}
	struct piperun_result res = { .kind = PIPERUN_RESULT_NUMBER, .d = w->sleep_secs };
	task_done(w, &it, &res);
}

void step_timer_begin(struct worker *w, struct item it)
{
	const struct piperun_arg *args;
	size_t nargs;
	w->cur = it;
	if (task_args(w, &w->cur, &args, &nargs) < 0)
		return;
	struct piperun_result res = { .kind = PIPERUN_RESULT_ERROR };
	double secs;
	if (w->st->task->timer(args, nargs, &secs, &res) < 0) {
		/* its text is the task's: copied, then given back */
		task_done(w, &w->cur, &res);
		return;
	}
	w->busy = true;
	busy_begin(w);
	w->timed_out = w->st->timeout_ms > 0 && w->st->timeout_ms < secs * 1000;
	double ms = w->timed_out ? w->st->timeout_ms : secs * 1000;
	w->sleep_secs = secs;
	timer_start(w->loop, &w->t_sleep, now_ms() + ms, step_timer_fire, w);
}
