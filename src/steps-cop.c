/* SPDX-License-Identifier: GPL-3.0-or-later */
/* steps-cop.c - coprocess steps: one long-running child per worker, one line
 * in, one line out (see steps.h). */
#include "config.h"
#include "steps-int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void cop_on_exit(struct proc *p);
static void cop_on_io(struct watch *wt, uint32_t ev);

struct item *infl_at(struct worker *w, size_t i)
{
	return &w->infl[(w->in_head + i) % w->in_cap];
}

static void cop_events(struct worker *w)
{
	if (w->fd_w < 0)
		return;
	bool out = w->wbuf.len > w->woff;
	if (w->fd_w == w->fd_r) {
		if (w->w_r.active)
			loop_mod(w->loop, &w->w_r, EPOLLIN | (out ? EPOLLOUT : 0));
	} else if (out && !w->w_w.active) {
		loop_add(w->loop, &w->w_w, w->fd_w, EPOLLOUT, cop_on_io, w);
	} else if (!out && w->w_w.active) {
		loop_del(w->loop, &w->w_w);
	}
}

static void on_stall(struct timer *t);
static void linger_clock(struct worker *w);

/* The head item's clocks (its timeout, the stall warning) start now: it
 * was sent to an idle coprocess, or the item before it was answered. */
static void head_clock(struct worker *w)
{
	struct step *st = w->st;
	timer_stop(w->loop, &w->t_deadline);
	timer_stop(w->loop, &w->t_stall);
	if (w->nin && st->timeout_ms > 0)
		timer_start(w->loop, &w->t_deadline, now_ms() + st->timeout_ms, on_deadline, w);
	if (w->nin && st->stall_ms > 0 && !__atomic_load_n(&st->stall_warned, __ATOMIC_RELAXED))
		timer_start(w->loop, &w->t_stall, now_ms() + st->stall_ms, on_stall, w);
}

static int cop_spawn(struct worker *w, char **why)
{
	const struct step_spec *sp = w->st->sp;
	if (sp->pty) {
		int m, s;
		if (open_pty(&m, &s) < 0) {
			*why = xasprintf("cannot start %s: pseudo-terminal: %s", sp->argv[0], strerror(errno));
			return -1;
		}
		struct proc_stdio io[3] = {
			{ PROC_STDIO_FD, s }, { PROC_STDIO_FD, s }, { PROC_STDIO_FD, w->e->err_fd },
		};
		int rc = child_spawn(w, sp->argv, io, cop_on_exit, why);
		close(s);
		if (rc < 0) {
			close(m);
			return -1;
		}
		set_nonblock(m);
		w->fd_r = w->fd_w = m;
	} else if (spawn_piped(w, sp->argv, -1, cop_on_exit, why) < 0) {
		return -1;
	}
	loop_add(w->loop, &w->w_r, w->fd_r, EPOLLIN, cop_on_io, w);
	w->closing = false;
	w->spawned = true;
	w->cop_given = w->nin;
	/* everything not answered yet goes to the new process */
	w->wbuf.len = w->woff = 0;
	for (size_t i = 0; i < w->nin; i++) {
		buf_add(&w->wbuf, infl_at(w, i)->text, infl_at(w, i)->len);
		buf_addch(&w->wbuf, '\n');
	}
	write_some(w);
	cop_events(w);
	head_clock(w);
	return 0;
}

/* Every item in flight fails with why (a coprocess that cannot start). */
void cop_fail_all(struct worker *w, const char *why)
{
	while (w->nin) {
		struct item it = *infl_at(w, 0);
		w->in_head = (w->in_head + 1) % w->in_cap;
		w->nin--;
		fail_item(w, &it, -1, 0, xstrdup(why));
	}
	timer_stop(w->loop, &w->t_stall);
	busy_end(w);
}

void cop_send(struct worker *w, const struct item *items, size_t n)
{
	if (w->nin + n > w->in_cap) {
		size_t cap = w->in_cap ? w->in_cap * 2 : 16;
		while (cap < w->nin + n)
			cap *= 2;
		struct item *r = xmalloc(cap * sizeof *r);
		for (size_t i = 0; i < w->nin; i++)
			r[i] = *infl_at(w, i);
		free(w->infl);
		w->infl = r;
		w->in_head = 0;
		w->in_cap = cap;
	}
	bool was_empty = !w->nin;
	for (size_t i = 0; i < n; i++) {
		w->infl[(w->in_head + w->nin++) % w->in_cap] = items[i];
		if (child_alive(w)) {
			w->cop_given++;
			buf_add(&w->wbuf, items[i].text, items[i].len);
			buf_addch(&w->wbuf, '\n');
		}
	}
	busy_begin(w);
	if (!child_alive(w)) {
		char *why = NULL;
		if (w->spawned)
			STAT_ADD(w->s.restarts, 1);
		if (cop_spawn(w, &why) < 0) {
			cop_fail_all(w, why);
			free(why);
		}
		return;
	}
	write_some(w);
	cop_events(w);
	if (was_empty)
		head_clock(w);
}

static void cop_answer(struct worker *w, const char *line, size_t len)
{
	/* a child already signalled (item timeout, stop) may still answer:
	 * its head item fails with it, whatever it wrote */
	if (w->timed_out || w->killed_for_stop)
		return;
	if (!w->nin) {
		/* more lines than items: say so once, count them all */
		struct step *st = w->st;
		pthread_mutex_lock(&w->e->fmu);
		bool first = !st->stray_lines++;
		pthread_mutex_unlock(&w->e->fmu);
		if (first)
			host_say(w->e, "step %s: the coprocess wrote a line no item was waiting for (one line in, one line out)",
				 st->sp->name);
		return;
	}
	struct item it = *infl_at(w, 0);
	w->in_head = (w->in_head + 1) % w->in_cap;
	w->nin--;
	if (len && line[len - 1] == '\r' && w->st->sp->pty)
		len--;
	if (len > MAX_ITEM_BYTES) {
		fail_item(w, &it, 0, 0, xasprintf("its answer is over %u bytes", MAX_ITEM_BYTES));
	} else if (memchr(line, 0, len)) {
		fail_item(w, &it, 0, 0, xstrdup("its answer holds a NUL byte (an item is a line of text)"));
	} else {
		struct item res = { xstrndup(line, len), len, it.seq, it.ih, false };
		item_free(&it);
		worker_emit(w, res);
	}
	if (!w->nin)
		busy_end(w);
	head_clock(w);
	linger_clock(w);
}

static void cop_take_lines(struct worker *w)
{
	size_t off = 0;
	char *nl;
	if (!w->rbuf.len)
		return;
	while ((nl = memchr(w->rbuf.p + off, '\n', w->rbuf.len - off))) {
		cop_answer(w, w->rbuf.p + off, (size_t)(nl - (w->rbuf.p + off)));
		off = (size_t)(nl - w->rbuf.p) + 1;
	}
	memmove(w->rbuf.p, w->rbuf.p + off, w->rbuf.len - off);
	w->rbuf.len -= off;
}

/* The coprocess ended: a last line without its newline is a line all the
 * same, an answer or a stray one. */
static void cop_take_rest(struct worker *w)
{
	cop_take_lines(w);
	if (w->rbuf.len && !w->overflow)
		cop_answer(w, w->rbuf.p, w->rbuf.len);
	w->rbuf.len = 0;
}

static void cop_on_io(struct watch *wt, uint32_t ev)
{
	struct worker *w = wt->data;
	if (wt == &w->w_w || (ev & EPOLLOUT)) {
		write_some(w);
		cop_events(w);
		/* closing: its EOF follows the last line written */
		if (w->closing && w->fd_w >= 0 && w->fd_w != w->fd_r && w->wbuf.len <= w->woff)
			close_watched(w, &w->fd_w, &w->w_w);
	}
	if (wt == &w->w_r && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		bool open = read_some(w, false);
		cop_take_lines(w);
		if (!open || w->overflow) {
			/* it closed its output: it is ending (its on_exit says how) */
			if (w->fd_r == w->fd_w)
				w->fd_w = -1;
			close_watched(w, &w->fd_r, &w->w_r);
			if (w->overflow)
				worker_kill(w, SIGKILL);
		}
	}
}

/* The coprocess has held its oldest item for stall_warning without an
 * answer: most likely it buffers its output (stdio does on a pipe) and
 * waits for more input, which waits for its answers, until the item or
 * job timeout.  Say so once per step, in the job's stderr (this host's)
 * and, through the counts, in its record. */
static void on_stall(struct timer *t)
{
	struct worker *w = t->data;
	struct step *st = w->st;
	/* answers may be there unread (thread mode: this worker waited for
	 * room downstream); an answer restarts the clock */
	if (w->w_r.active)
		cop_on_io(&w->w_r, EPOLLIN);
	if (!w->nin || !child_alive(w) || w->fd_r < 0 || timer_armed(&w->t_stall) || w->timed_out ||
	    w->killed_for_stop || engine_stopping(w->e))
		return;
	if (__atomic_exchange_n(&st->stall_warned, true, __ATOMIC_ACQ_REL))
		return;
	const struct step_spec *sp = st->sp;
	st->stall_seq = infl_at(w, 0)->seq;
	st->stall_msg = xasprintf(
		"coprocess %s has had an item for %gs without an answer; %s"
		"make it write each answer at once (sed -u, python3 -u, stdbuf -oL CMD, "
		"awk: fflush() after print); if it is only slow, raise the step's stall_warning",
		sp->argv[0], st->stall_ms / 1000,
		sp->pty ? "if it buffers its output, "
			: "a program that buffers its output on a pipe answers only when its "
			  "input ends: set \"pty\": true on the step, or ");
	host_say(w->e, "step %s: %s", sp->name, st->stall_msg);
}

/* Its input ended and it ended too, its answers short of its items:
 * which item's answer is missing cannot be known (one line in, one line
 * out), so every item still waiting fails, saying so; the answers that
 * came went on in order. */
static void cop_short(struct worker *w, const struct stage_result *x)
{
	size_t missing = w->nin, given = w->cop_given;
	char *st = status_text(x);
	while (w->nin) {
		struct item it = *infl_at(w, 0);
		w->in_head = (w->in_head + 1) % w->in_cap;
		w->nin--;
		fail_item(w, &it, x->exit_code, x->signal,
			  xasprintf("no answer: the coprocess ended (%s) after its input with %zu of "
				    "the %zu items it was given unanswered (one line in, one line "
				    "out: the answers it gave may belong to other items)",
				    st, missing, given));
	}
	free(st);
	timer_stop(w->loop, &w->t_stall);
	timer_stop(w->loop, &w->t_deadline);
	busy_end(w);
}

static void cop_on_exit(struct proc *p)
{
	struct worker *w = p->ctx;
	const struct stage_result *x = &p->status;
	child_ended(w);
	if (w->fd_r >= 0) {
		read_some(w, true);
		cop_take_lines(w);
	}
	/* a last line without its newline: from a coprocess that ended on
	 * its own (one killed mid-line left half an answer) */
	if (!x->signal && !w->timed_out && !w->killed_for_stop)
		cop_take_rest(w);
	child_close_fds(w);
	w->wbuf.len = w->woff = 0;
	w->rbuf.len = 0;
	if (!w->nin)
		return; /* ended with nothing in flight: a new one when needed */
	/* it exited after its input ended with items unanswered: a short
	 * count (cop_short).  Killed by a signal it crashed, as mid-stream:
	 * the head item fails, the rest go to a new one, which gets its EOF
	 * in turn. */
	if (w->closing && !x->signal && !w->timed_out && !w->killed_for_stop && !w->overflow &&
	    !engine_stopping(w->e)) {
		cop_short(w, x);
		return;
	}
	struct item it = *infl_at(w, 0);
	w->in_head = (w->in_head + 1) % w->in_cap;
	w->nin--;
	int rc = x->exit_code, sig = x->signal;
	if (w->killed_for_stop || engine_stopping(w->e)) {
		fail_item(w, &it, rc, sig, xstrdup("cancelled: the job stopped"));
		cop_fail_all(w, "cancelled: the job stopped");
		return;
	}
	if (w->timed_out)
		fail_item(w, &it, rc, sig, xasprintf("timed out after %gs", w->st->timeout_ms / 1000));
	else if (w->overflow)
		fail_item(w, &it, rc, sig, xasprintf("its answer is over %u bytes", MAX_ITEM_BYTES));
	else {
		char *st = status_text(x);
		fail_item(w, &it, rc, sig, xasprintf("the coprocess ended (%s)", st));
		free(st);
	}
	if (engine_stopping(w->e)) {
		/* that failure stopped the job (on_error: stop) */
		cop_fail_all(w, "cancelled: the job stopped");
		return;
	}
	if (!w->nin) {
		busy_end(w);
		return;
	}
	/* the rest of the line goes to a new one */
	char *why = NULL;
	STAT_ADD(w->s.restarts, 1);
	if (!engine_stopping(w->e) && cop_spawn(w, &why) < 0) {
		cop_fail_all(w, why);
		free(why);
	}
}

/* A closing coprocess with every item answered (or the job stopping)
 * has kill_after (and a second) to end before its KILL. */
static void linger_clock(struct worker *w)
{
	if (w->closing && (!w->nin || engine_stopping(w->e)) && child_alive(w) &&
	    !timer_armed(&w->t_kill))
		timer_start(w->loop, &w->t_kill, now_ms() + w->e->s->kill_after * 1000 + 1000,
			    on_kill_timer, w);
}

/* No more items: EOF on its stdin, also while items are in flight, so a
 * program that buffers its output (sed, mawk on a pipe) writes its
 * answers now and ends.  A pty is closed only once every item has its
 * answer (the terminal goes away; a program on a terminal answers line
 * by line): the caller calls again then. */
void cop_close(struct worker *w)
{
	if (w->st->sp->pty && w->nin && child_alive(w))
		return;
	w->closing = true;
	if (!child_alive(w))
		return;
	if (w->fd_w == w->fd_r) {
		w->fd_w = -1;
		close_watched(w, &w->fd_r, &w->w_r);
	} else if (w->wbuf.len > w->woff) {
		/* lines still to write: EOF after them (write_some) */
	} else {
		close_watched(w, &w->fd_w, &w->w_w);
	}
	linger_clock(w);
}
