/* SPDX-License-Identifier: GPL-3.0-or-later */
/* steps-task.c - task steps: a pool task called in process, or a timer for a
 * task that is a wait (see steps.h); and the note a task that crashes the
 * host leaves behind. */
#include "config.h"
#include "steps-int.h"
#include "task.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------ a crashing task */

/* A task runs in the host's own process: one that faults takes the host
 * with it.  Its record must still say what happened, so while a task
 * runs its thread notes the item, and a handler for the crash signals
 * writes the job's error (an "E" line) and a record naming the item (a
 * "{" line, as write_stats would) to the info pipe with write(2) only,
 * then dies of the signal. */
static _Thread_local struct worker *crash_w;
static _Thread_local const struct item *crash_it;
static int crash_fd = -1;
static const int crash_sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGSYS };

struct sbuf {
	char b[3072];
	size_t n;
};

static void sb_add(struct sbuf *s, const char *p, size_t n)
{
	for (size_t i = 0; i < n && s->n < sizeof s->b; i++)
		s->b[s->n++] = p[i];
}

static void sb_str(struct sbuf *s, const char *p)
{
	sb_add(s, p, strlen(p));
}

static void sb_u64(struct sbuf *s, uint64_t v)
{
	char d[24];
	size_t k = sizeof d;
	do
		d[--k] = (char)('0' + v % 10);
	while ((v /= 10) && k);
	sb_add(s, d + k, sizeof d - k);
}

/* p[0..n) as a JSON string's body, at most max bytes of it. */
static void sb_json(struct sbuf *s, const char *p, size_t n, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n && i < max; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			sb_add(s, e, 2);
		} else if (c < 0x20 || c == 0x7f) {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			sb_add(s, e, 6);
		} else {
			sb_add(s, (const char *)&c, 1);
		}
	}
}

/* p[0..n) on one line of text, at most max bytes of it. */
static void sb_line(struct sbuf *s, const char *p, size_t n, size_t max)
{
	for (size_t i = 0; i < n && i < max; i++)
		sb_add(s, p[i] == '\n' || p[i] == '\r' ? " " : &p[i], 1);
}

static void on_crash(int sig)
{
	struct worker *w = crash_w;
	const struct item *it = crash_it;
	if (w && !it && crash_fd >= 0) {
		const char *name = w->st->sp->name;
		struct sbuf s = { .n = 0 };
		sb_str(&s, "E step ");
		sb_line(&s, name, strlen(name), 200);
		sb_str(&s, ": the task's init() crashed the steps host (");
		sb_str(&s, sig_name(sig));
		sb_str(&s, ")\n");
		ssize_t r = write(crash_fd, s.b, s.n);
		(void)r;
	} else if (w && it && crash_fd >= 0) {
		const char *name = w->st->sp->name, *sn = sig_name(sig);
		struct sbuf s = { .n = 0 };
		sb_str(&s, "E step ");
		sb_line(&s, name, strlen(name), 200);
		sb_str(&s, ": the task crashed the steps host (");
		sb_str(&s, sn);
		sb_str(&s, ") on item \"");
		sb_line(&s, it->text ? it->text : "", it->text ? it->len : 0, 200);
		sb_str(&s, "\"\n");
		/* the E line, then the record: each one write, under PIPE_BUF */
		ssize_t r = write(crash_fd, s.b, s.n);
		s.n = 0;
		sb_str(&s, "{\"items_in\":");
		sb_u64(&s, __atomic_load_n(&w->e->next_seq, __ATOMIC_RELAXED));
		sb_str(&s, ",\"items_out\":null,\"steps\":[],\"failed_items\":[{\"step\":\"");
		sb_json(&s, name, strlen(name), 200);
		sb_str(&s, "\",\"index\":");
		sb_u64(&s, it->seq);
		sb_str(&s, ",\"item\":\"");
		sb_json(&s, it->text ? it->text : "", it->text ? it->len : 0, 1000);
		sb_str(&s, "\",\"returncode\":-");
		sb_u64(&s, (uint64_t)sig);
		sb_str(&s, ",\"signal\":\"");
		sb_str(&s, sn);
		sb_str(&s, "\",\"error\":\"the task crashed the steps host (");
		sb_str(&s, sn);
		sb_str(&s, ")\"}]}\n");
		r = write(crash_fd, s.b, s.n);
		(void)r;
	}
	/* SA_RESETHAND made it the default action: a fault re-runs its
	 * instruction and a raised signal comes again as the handler returns */
	raise(sig);
}

void steps_task_guard(struct engine *e)
{
	crash_fd = e->info_fd;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_crash;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof crash_sigs / sizeof crash_sigs[0]; i++)
		sigaction(crash_sigs[i], &sa, NULL);
}

/* --------------------------------------------------- fds 0-2 and tasks */

/* A task runs in the host's process and may close fds 0-2 (a daemon's
 * habit, a careless plugin): the host reads, writes and hands its
 * children only fds above 2 (out_fd is set aside as in pool). */
int task_fds_aside(struct engine *e)
{
	int in = fcntl(e->in_fd, F_DUPFD_CLOEXEC, 3);
	if (in < 0)
		return -1;
	int err = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (err < 0) {
		close(in);
		return -1;
	}
	/* a task that reads stdin reads nothing (the items are the host's) */
	if (e->in_fd == STDIN_FILENO)
		dup2(e->devnull, STDIN_FILENO);
	e->in_fd = in;
	e->err_fd = err;
	e->fds_aside = true;
	return 0;
}

/* Fill the lowest free fds while they are 0-2: F_DUPFD takes the lowest
 * free one, so an fd another thread opened meanwhile is never replaced. */
void task_fds_mend(struct engine *e)
{
	if (!e->fds_aside)
		return;
	for (;;) {
		int fd = fcntl(e->devnull, F_DUPFD, 0);
		if (fd < 0)
			return;
		if (fd > STDERR_FILENO) {
			close(fd);
			return;
		}
		if (fd == STDIN_FILENO)
			continue;
		/* 1 and 2: the job's stderr (what a task prints goes there) */
		close(fd);
		int again = fcntl(e->err_fd, F_DUPFD, fd);
		if (again > STDERR_FILENO) {
			close(again);
			return;
		}
		if (again < 0)
			return;
	}
}

/* ----------------------------------------------------------- task steps */

/* init() on a thread of its own (pool_call_bounded): the box is that
 * thread's if it never returns. */
struct tinit {
	struct worker *w;
	void *state;
	int rc;
};

static void tinit_call(void *arg)
{
	struct tinit *b = arg;
	crash_w = b->w;          /* this thread's: a crash in init() says so */
	crash_it = NULL;
	b->rc = b->w->st->task->init(&b->state);
	crash_w = NULL;
}

/* A task's init() and fini() have pool's bound: the step's item timeout,
 * else POOL_LIFE_DEFAULT_MS. */
static double life_bound(const struct step *st)
{
	return pool_life_bound_ms(st->timeout_ms / 1000);
}

void task_init(struct worker *w)
{
	w->tinit = true;
	if (!w->st->task->init)
		return;
	struct tinit *b = xcalloc(1, sizeof *b);
	b->w = w;
	if (!pool_call_bounded(tinit_call, b, life_bound(w->st))) {
		w->tinit_failed = w->tinit_hung = true;
		return; /* b is the thread's now */
	}
	w->tstate = b->state;
	w->tinit_failed = b->rc != 0;
	free(b);
}

void task_fini(struct worker *w)
{
	const struct step *st = w->st;
	if (!w->tinit || w->tinit_failed || !st->task->fini)
		return;
	if (!pool_task_fini(st->task, w->tstate, life_bound(st)))
		host_say(w->e, "step %s: worker %d: the task's fini() did not return within %gs; "
			 "left behind", st->sp->name, w->id, life_bound(st) / 1000);
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
	if (len > MAX_ITEM_BYTES) {
		/* the next step could not take it as a line of input either */
		free(text);
		fail_item(w, it, -1, 0, xasprintf("its result is over %u bytes", MAX_ITEM_BYTES));
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
		fail_item(w, it, -1, 0, w->tinit_hung
			  ? xasprintf("task %s: init() did not return within %gs", st->sp->task,
				      life_bound(st) / 1000)
			  : xasprintf("task %s: init() refused", st->sp->task));
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
	crash_w = w;
	crash_it = it;
	double t0 = st->timeout_ms > 0 ? now_ms() : 0;
	task_call(st->task, &ctx.c, args, nargs, t0, st->timeout_ms, &res);
	crash_w = NULL;
	crash_it = NULL;
	if (st->timeout_ms > 0 && now_ms() - t0 >= st->timeout_ms &&
	    res.kind != PIPERUN_RESULT_ERROR) {
		/* the pool's one rule: an item that ran for its timeout or
		 * longer timed out, whatever it returned then */
		if (st->task->free_result)
			st->task->free_result(&res);
		fail_item(w, it, -1, 0, xstrdup("timed out"));
		return;
	}
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
	w->timed_out = w->st->timeout_ms > 0 && secs * 1000 >= w->st->timeout_ms;
	double ms = w->timed_out ? w->st->timeout_ms : secs * 1000;
	w->sleep_secs = secs;
	timer_start(w->loop, &w->t_sleep, now_ms() + ms, step_timer_fire, w);
}
