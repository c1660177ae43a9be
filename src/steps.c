/* SPDX-License-Identifier: GPL-3.0-or-later */
/* steps.c - item pipelines (see steps.h). */
#include "config.h"
#include "json-strict.h"
#include "steps-int.h"
#include "signals.h"
#include "task.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>


/* a failed item is recorded with at most this much of its text */
#define FAILED_ITEM_MAX 4096

void engine_stop(struct engine *e, int sig, const char *reason, char *fatal)
{
	pthread_mutex_lock(&e->fmu);
	bool first = !e->stopping;
	if (first) {
		e->stop_sig = sig;
		e->stop_reason = reason;
		e->fatal = fatal;
		__atomic_store_n(&e->stopping, 1, __ATOMIC_RELEASE);
	} else {
		free(fatal);
	}
	pthread_mutex_unlock(&e->fmu);
	if (!first)
		return;
	for (size_t k = 0; k <= e->n; k++)
		workq_close(&e->q[k], true);
	pthread_mutex_lock(&e->omu);
	pthread_cond_broadcast(&e->ocond);
	pthread_mutex_unlock(&e->omu);
	uint64_t one = 1;
	if (write(e->stop_fd, &one, sizeof one) < 0) {
		/* an eventfd write fails only on overflow: it is readable */
	}
}

void busy_begin(struct worker *w)
{
	if (!w->busy_since)
		w->busy_since = w->item_from = now_ms();
}

void busy_end(struct worker *w)
{
	if (w->busy_since) {
		STAT_ADD(w->s.busy_us, (uint64_t)((now_ms() - w->busy_since) * 1000));
		w->busy_since = 0;
	}
}

void item_free(struct item *it)
{
	free(it->text);
	it->text = NULL;
}

/* An item left in a queue at the end. */
void drop_item(void *it)
{
	item_free(it);
}

/* The item made it through this step: it goes on as res. */
void worker_emit(struct worker *w, struct item res)
{
	xgrow(&w->held, &w->held_cap, w->nheld + 1, sizeof *w->held);
	w->held[w->nheld++] = res;
	STAT_ADD(w->s.processed, 1);
	if (w->e->trace)
		steps_trace_item(w, &res, true);
}

/* A failed item as its record shows it: its head, a NUL byte (which
 * fails an item of input) as U+FFFD. */
static char *failed_item_text(const struct item *it)
{
	size_t n = it->len < FAILED_ITEM_MAX ? it->len : FAILED_ITEM_MAX;
	struct buf b = { 0 };
	for (size_t i = 0; it->text && i < n; i++) {
		if (it->text[i])
			buf_addch(&b, it->text[i]);
		else
			buf_addstr(&b, "\xef\xbf\xbd");
	}
	return b.p ? buf_detach(&b) : xstrdup("");
}

/* The item failed at step (STEP_INPUT: before the first, as it was
 * read): recorded, dropped (or the job stops). */
void record_failure(struct engine *e, size_t step, struct item *it, int rc, int sig,
		    char *why)
{
	pthread_mutex_lock(&e->fmu);
	e->failed_total++;
	if (e->nfails < MAX_FAILURES_LISTED) {
		xgrow(&e->fails, &e->fails_cap, e->nfails + 1, sizeof *e->fails);
		e->fails[e->nfails++] = (struct failure){
			step, it->seq, failed_item_text(it), rc, sig, why,
		};
		why = NULL;
	}
	pthread_mutex_unlock(&e->fmu);
	free(why);
	uint64_t seq = it->seq;
	item_free(it);
	if (e->s->ordered)
		workq_push_extra(&e->q[e->n], &(struct item){ NULL, 0, seq, 0, false });
	if (e->s->stop_on_error)
		engine_stop(e, 0, "on_error", NULL);
}

/* The item failed at this worker's step. */
void fail_item(struct worker *w, struct item *it, int rc, int sig, char *why)
{
	STAT_ADD(w->s.failed, 1);
	if (w->e->trace)
		steps_trace_item(w, it, false);
	record_failure(w->e, w->st->index, it, rc, sig, why);
}

/* Async: the worker waits for room downstream (or no longer does). */
void note_blocked(struct worker *w, bool blocked)
{
	if (blocked && !w->blocked_since) {
		w->blocked_since = now_ms();
	} else if (!blocked && w->blocked_since) {
		STAT_ADD(w->s.blocked_us, (uint64_t)((now_ms() - w->blocked_since) * 1000));
		w->blocked_since = 0;
	}
}

/* Move held results on.  Returns false if the job stopped (they are
 * dropped: they were processed, and nothing more moves). */
bool push_held(struct worker *w, bool block)
{
	if (!w->nheld)
		return !engine_stopping(w->e);
	double t0 = block ? now_ms() : 0;
	bool aborted;
	size_t r = workq_push(w->st->out, w->held, w->nheld, block, &aborted);
	if (block)
		STAT_ADD(w->s.blocked_us, (uint64_t)((now_ms() - t0) * 1000));
	memmove(w->held, w->held + r, (w->nheld - r) * sizeof *w->held);
	w->nheld -= r;
	if (aborted) {
		for (size_t i = 0; i < w->nheld; i++)
			item_free(&w->held[i]);
		w->nheld = 0;
		return false;
	}
	if (!block)
		note_blocked(w, w->nheld > 0);
	return true;
}

/* ------------------------------------------------------------ set-up */

/* A task step's task, arguments and fds (-1 with *err). */
static int setup_task(struct engine *e, struct step *st, char **err)
{
	const struct step_spec *sp = st->sp;
	char *why = NULL;
	st->task = sp->plugin ? task_plugin(sp->task, &why) : task_builtin(sp->task);
	if (!st->task) {
		*err = xasprintf("step %s: %s", sp->name, why ? why : "no such task");
		free(why);
		return -1;
	}
	if (sp->args && jstrict_item_array(sp->args, strlen(sp->args), &st->args,
					   &st->nargs, &why) < 0) {
		*err = xasprintf("step %s: args: %s", sp->name, why);
		free(why);
		return -1;
	}
	if (sp->args && !st->args)
		st->args = xcalloc(1, sizeof *st->args);
	steps_task_guard(e);
	/* what a task prints goes to stderr, never among the
	 * items out (as in pool) */
	if (e->out_fd == STDOUT_FILENO && !e->out_aside) {
		int fd = task_stdout_aside();
		if (fd >= 0) {
			e->out_fd = fd;
			e->out_aside = true;
		}
	}
	if (!e->fds_aside && task_fds_aside(e) < 0) {
		*err = xasprintf("steps: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* -1 with a message in *err ("step NAME: ...", for a "piperun: " prefix) */
static int setup(struct engine *e, const struct steps_spec *s, int in_fd, int out_fd,
		 int info_fd, char **err)
{
	memset(e, 0, sizeof *e);
	e->s = s;
	e->threaded = s->mode == MODE_THREAD;
	e->n = s->nsteps;
	e->in_fd = in_fd;
	e->out_fd = out_fd;
	e->info_fd = info_fd;
	e->sigfd = -1;
	e->err_fd = STDERR_FILENO;
	e->t0 = now_ms();
	pthread_mutex_init(&e->mu, NULL);
	pthread_mutex_init(&e->omu, NULL);
	pthread_cond_init(&e->ocond, NULL);
	pthread_mutex_init(&e->fmu, NULL);
	pthread_mutex_init(&e->imu, NULL);
	e->want_ih = s->journal_items || s->resume;
	e->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	e->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->devnull < 0 || e->stop_fd < 0) {
		*err = xasprintf("steps: %s", strerror(errno));
		return -1;
	}
	e->st = xcalloc(e->n, sizeof *e->st);
	steps_fd_caps(e);
	e->q = xcalloc(e->n + 1, sizeof *e->q);
	/* the ordered window: room for everything that can be on the way */
	uint64_t win = 0;
	for (size_t k = 0; k < e->n; k++) {
		const struct step_spec *sp = &s->steps[k];
		win += (uint64_t)(sp->queue ? sp->queue : s->queue);
		win += (uint64_t)sp->workers * (uint64_t)(sp->kind == STEP_COPROCESS ? sp->window
							  : sp->kind == STEP_TASK ? TASK_BATCH : 1);
	}
	win += (uint64_t)s->queue + 1;
	e->window = win;
	for (size_t k = 0; k < e->n; k++) {
		const struct step_spec *sp = &s->steps[k];
		workq_init(&e->q[k], sizeof(struct item), (size_t)(sp->queue ? sp->queue : s->queue), 0, 0);
	}
	workq_init(&e->q[e->n], sizeof(struct item), (size_t)s->queue, s->ordered ? (size_t)win : 0, 0);
	if (s->ordered) {
		e->reorder = xcalloc(win, sizeof *e->reorder);
		e->present = xcalloc(win, sizeof *e->present);
	}
	for (size_t k = 0; k < e->n; k++) {
		struct step *st = &e->st[k];
		const struct step_spec *sp = &s->steps[k];
		st->e = e;
		st->sp = sp;
		st->index = k;
		st->item_us = UINT64_MAX; /* unknown: fair shares until measured */
		st->in = &e->q[k];
		st->out = &e->q[k + 1];
		double to = sp->item_timeout >= 0 ? sp->item_timeout : s->item_timeout;
		st->timeout_ms = to > 0 ? to * 1000 : 0;
		st->stall_ms = sp->kind == STEP_COPROCESS ? sp->stall_warning * 1000 : 0;
		if (sp->kind == STEP_TASK) {
			if (setup_task(e, st, err) < 0)
				return -1;
		} else if (!sp->exe) {
			*err = xasprintf("step %s: no program", sp->name);
			return -1;
		}
		st->w = xcalloc((size_t)st->nw, sizeof *st->w);
		st->alive = st->healthy = st->nw;
		for (int i = 0; i < st->nw; i++) {
			struct worker *w = &st->w[i];
			w->e = e;
			w->st = st;
			w->id = i + 1;
			proc_init(&w->child);
			w->fd_r = w->fd_w = -1;
		}
	}
	return 0;
}

static void teardown(struct engine *e)
{
	if (e->out_aside) {
		close(e->out_fd);
		e->out_aside = false;
	}
	for (size_t k = 0; e->st && k < e->n; k++) {
		struct step *st = &e->st[k];
		for (int i = 0; st->w && i < st->nw; i++) {
			struct worker *w = &st->w[i];
			for (size_t h = 0; h < w->nheld; h++)
				item_free(&w->held[h]);
			free(w->held);
			item_free(&w->cur);
			for (size_t h = 0; h < w->nin; h++)
				item_free(infl_at(w, h));
			free(w->infl);
			buf_free(&w->rbuf);
			buf_free(&w->wbuf);
			if (st->task)
				task_fini(w);
			pool_items_free(&w->scratch);
			free(w->args);
			proc_free(&w->child);
		}
		free(st->w);
		free(st->stall_msg);
		free(st->fd_msg);
		if (st->args) {
			for (size_t a = 0; a < st->nargs; a++)
				if (st->args[a].type == PIPERUN_ARG_STRING || st->args[a].type == PIPERUN_ARG_OTHER)
					free((char *)st->args[a].s);
			free(st->args);
		}
	}
	for (size_t k = 0; e->q && k <= e->n; k++)
		workq_destroy(&e->q[k], drop_item);
	if (e->reorder) {
		for (uint64_t i = 0; i < e->window; i++)
			if (e->present[i])
				item_free(&e->reorder[i]);
		free(e->reorder);
		free(e->present);
	}
	for (size_t i = 0; i < e->nfails; i++) {
		free(e->fails[i].item);
		free(e->fails[i].error);
	}
	free(e->fails);
	free(e->st);
	free(e->q);
	buf_free(&e->ibuf);
	buf_free(&e->obuf);
	free(e->fatal);
	if (e->devnull >= 0)
		close(e->devnull);
	if (e->stop_fd >= 0)
		close(e->stop_fd);
	if (e->sigfd >= 0)
		close(e->sigfd);
	pthread_mutex_destroy(&e->mu);
	pthread_mutex_destroy(&e->omu);
	pthread_cond_destroy(&e->ocond);
	pthread_mutex_destroy(&e->fmu);
	pthread_mutex_destroy(&e->imu);
	resume_free(e);
	/* last: fini() above may still say something on err_fd */
	if (e->fds_aside) {
		close(e->in_fd);
		close(e->err_fd);
		e->fds_aside = false;
	}
}

/* A worker's reaction to the job stopping: its child goes. */
void worker_stop(struct worker *w)
{
	if (child_alive(w)) {
		w->killed_for_stop = true;
		worker_kill(w, w->e->s->signal);
	}
	if (timer_armed(&w->t_sleep)) {
		timer_stop(w->loop, &w->t_sleep);
		w->busy = false;
		busy_end(w);
		fail_item(w, &w->cur, -1, 0, xstrdup("cancelled: the job stopped"));
	}
}

bool worker_quiet(const struct worker *w)
{
	return !w->busy && !w->nin && !w->nheld && !child_alive(w);
}

void host_say(struct engine *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	char *line = xasprintf("piperun: %s\n", msg);
	if (write_full(e->err_fd, line, strlen(line)) < 0) {
		/* the job's stderr is gone: nothing else to tell */
	}
	free(line);
	free(msg);
}

/* ---------------------------------------------------------------- entry */

/* One info line: an error text (a plugin's, an item's) may hold line
 * breaks, which would end the line early. */
static void info_line(struct engine *e, const char *text)
{
	char *line = xasprintf("%s\n", text);
	size_t n = strlen(line);
	for (size_t i = 0; i + 1 < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	info_write(e, line, n);
	free(line);
}

/* Lines coprocesses wrote that no item was waiting for: more answers
 * than items, so some answer went to the wrong item.  That fails the job
 * (its items were passed on before the count was known). */
static uint64_t stray_total(const struct engine *e)
{
	uint64_t n = 0;
	for (size_t k = 0; k < e->n; k++)
		n += e->st[k].stray_lines;
	return n;
}

static void stray_note(const struct engine *e, struct buf *b)
{
	for (size_t k = 0; k < e->n; k++) {
		const struct step *st = &e->st[k];
		if (!st->stray_lines)
			continue;
		buf_printf(b, "%sstep %s: the coprocess wrote %" PRIu64 " more line%s than the items "
			   "it was given (one line in, one line out: an answer may have gone to "
			   "another item)", b->len > 2 ? "; " : "", st->sp->name,
			   (uint64_t)st->stray_lines, st->stray_lines == 1 ? "" : "s");
	}
}

int steps_run(const struct steps_spec *s, int in_fd, int out_fd, int info_fd,
	      struct steps_sunk *sunk, char **why)
{
	struct engine e;
	int set = setup(&e, s, in_fd, out_fd, info_fd, why);
	if (sunk && set == 0)
		set = resume_load(&e, sunk, why);   /* the engine frees sunk->mem */
	else if (sunk)
		free(sunk->mem);
	if (set < 0) {
		teardown(&e);
		return 2;
	}
	/* the job's signal (its timeout or cancel), or any terminating signal
	 * not ignored at start: stop, report, die of it */
	sigset_t sigs, old;
	sigemptyset(&sigs);
	signals_terminating(&sigs);
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	e.sigfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (e.sigfd < 0) {
		*why = xasprintf("steps: signalfd: %s", strerror(errno));
		teardown(&e);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return 2;
	}
	steps_trace_begin(&e);
	double t0 = now_ms();
	if (e.threaded)
		steps_run_threads(&e);
	else
		steps_run_async(&e);
	progress_line(&e);
	if (e.fatal) {
		*why = xstrdup(e.fatal);
		char *line = xasprintf("E %s", e.fatal);
		info_line(&e, line);
		free(line);
	} else if ((e.failed_total || stray_total(&e)) && !e.stop_sig) {
		struct buf b = { 0 };
		buf_addstr(&b, "E ");
		if (e.failed_total)
			buf_printf(&b, "%s%" PRIu64 " of %" PRIu64 " items failed",
				   e.stop_reason ? "stopped (on_error: stop): " : "", e.failed_total,
				   e.next_seq);
		if (e.nfails) {
			const struct failure *f = &e.fails[0];
			if (f->step == STEP_INPUT)
				buf_printf(&b, " (first: item \"%.200s\": %s)", f->item, f->error);
			else
				buf_printf(&b, " (first: step %s, item \"%.200s\": %s)",
					   e.st[f->step].sp->name, f->item, f->error);
		}
		stray_note(&e, &b);
		info_line(&e, b.p);
		buf_free(&b);
	}
	write_stats(&e, now_ms() - t0);
	steps_trace_finish(&e, now_ms() - t0);
	int rc = e.fatal ? 2 : e.failed_total || stray_total(&e) ? 1 : 0;
	int sig = e.stop_sig;
	teardown(&e);
	if (sig)
		rc = 128 + sig;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}
