/* SPDX-License-Identifier: GPL-3.0-or-later */
/* steps-run.c - run steps: a child process per item (see steps.h). */
#include "config.h"
#include "steps-int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void run_on_exit(struct proc *p);

static void run_on_out(struct watch *wt, uint32_t ev)
{
	struct worker *w = wt->data;
	if (!read_some(w, false))
		close_watched(w, &w->fd_r, &w->w_r);
}

static void run_on_in(struct watch *wt, uint32_t ev)
{
	struct worker *w = wt->data;
	write_some(w);
	if (!w->wbuf.len)
		close_watched(w, &w->fd_w, &w->w_w);
}

void on_deadline(struct timer *t)
{
	struct worker *w = t->data;
	w->timed_out = true;
	worker_kill(w, w->e->s->signal);
}

static char **subst_argv(const struct step_spec *sp, const struct item *it)
{
	char **argv = xcalloc(sp->argc + 1, sizeof *argv);
	argv[0] = sp->argv[0];
	for (size_t a = 1; a < sp->argc; a++)
		argv[a] = spec_placeholder_subst(sp->argv[a], it->text, (size_t)it->seq + 1);
	return argv;
}

/* Start argv with its stdout on a new pipe (w->fd_r) and its stdin on
 * another (w->fd_w), or on stdin_fd when that is >= 0 (w->fd_w stays -1;
 * stdin_fd stays the caller's).  Both pipe ends O_NONBLOCK.  0, or -1
 * with *why set. */
int spawn_piped(struct worker *w, char **argv, int stdin_fd, void (*on_exit)(struct proc *p),
		char **why)
{
	struct proc_stdio io[3] = {
		stdin_fd >= 0 ? (struct proc_stdio){ PROC_STDIO_FD, stdin_fd }
			      : (struct proc_stdio){ PROC_STDIO_PIPE_IN, -1 },
		{ PROC_STDIO_PIPE_OUT, -1 },
		{ PROC_STDIO_FD, w->e->err_fd },
	};
	if (child_spawn(w, argv, io, on_exit, why) < 0)
		return -1;
	w->fd_r = io[1].fd;
	w->fd_w = stdin_fd >= 0 ? -1 : io[0].fd;
	return 0;
}

void run_begin(struct worker *w, struct item it)
{
	struct engine *e = w->e;
	const struct step_spec *sp = w->st->sp;
	char *why = NULL;
	w->cur = it;
	w->busy = true;
	busy_begin(w);
	char **argv = subst_argv(sp, &it);
	spawn_piped(w, argv, sp->stdin_null ? e->devnull : -1, run_on_exit, &why);
	for (size_t a = 1; a < sp->argc; a++)
		free(argv[a]);
	free(argv);
	if (why) {
		w->busy = false;
		busy_end(w);
		fail_item(w, &w->cur, -1, 0, why);
		return;
	}
	loop_add(w->loop, &w->w_r, w->fd_r, EPOLLIN, run_on_out, w);
	if (w->fd_w >= 0) {
		buf_add(&w->wbuf, it.text, it.len);
		buf_addch(&w->wbuf, '\n');
		write_some(w);
		if (w->wbuf.len)
			loop_add(w->loop, &w->w_w, w->fd_w, EPOLLOUT, run_on_in, w);
		else
			close(w->fd_w), w->fd_w = -1;
	}
	if (w->st->timeout_ms > 0)
		timer_start(w->loop, &w->t_deadline, now_ms() + w->st->timeout_ms, on_deadline, w);
	if (engine_stopping(e))
		worker_kill(w, e->s->signal);
}

static void run_on_exit(struct proc *p)
{
	struct worker *w = p->ctx;
	const struct stage_result *x = &p->status;
	child_ended(w);
	if (w->fd_r >= 0)
		read_some(w, true);
	child_close_fds(w);
	w->wbuf.len = w->woff = 0;
	w->busy = false;
	busy_end(w);
	struct item *it = &w->cur;
	if (w->timed_out)
		fail_item(w, it, x->exit_code, x->signal,
			  xasprintf("timed out after %gs", w->st->timeout_ms / 1000));
	else if (w->killed_for_stop)
		fail_item(w, it, x->exit_code, x->signal, xstrdup("cancelled: the job stopped"));
	else if (x->signal || x->exit_code != 0)
		fail_item(w, it, x->exit_code, x->signal, status_text(x));
	else if (w->overflow)
		fail_item(w, it, 0, 0, xasprintf("its output is over %u bytes", MAX_ITEM_BYTES));
	else {
		size_t len = w->rbuf.len;
		if (len && w->rbuf.p[len - 1] == '\n')
			len--;
		const char *nl = len ? memchr(w->rbuf.p, '\n', len) : NULL;
		if (len > MAX_ITEM_BYTES) {
			fail_item(w, it, 0, 0, xasprintf("its output is over %u bytes", MAX_ITEM_BYTES));
		} else if (nl) {
			fail_item(w, it, 0, 0, xstrdup("its output is more than one line (an item is one line)"));
		} else if (len && memchr(w->rbuf.p, 0, len)) {
			fail_item(w, it, 0, 0, xstrdup("its output holds a NUL byte (an item is a line of text)"));
		} else {
			struct item res = { xstrndup(len ? w->rbuf.p : "", len), len, it->seq, it->ih, false };
			item_free(it);
			worker_emit(w, res);
		}
	}
	w->rbuf.len = 0;
}
