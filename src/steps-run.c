/* SPDX-License-Identifier: GPL-3.0-or-later */
/* steps-run.c - run steps: a child process per item (see steps.h). */
#include "config.h"
#include "steps-int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void run_on_pid(struct watch *wt, uint32_t ev);

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
 * another (w->fd_w), or on stdin_fd when that is >= 0 (w->fd_w stays -1).
 * 0, or -1 with *why set. */
int spawn_piped(struct worker *w, char **argv, int stdin_fd, char **why)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	int rc = -1;
	if ((stdin_fd < 0 && pipe_cloexec(in) < 0) || pipe_cloexec(out) < 0)
		*why = xasprintf("cannot start %s: pipe: %s", argv[0], strerror(errno));
	else if ((rc = child_spawn(w, argv, stdin_fd >= 0 ? stdin_fd : in[0], out[1], why)) == 0) {
		w->fd_r = out[0];
		w->fd_w = in[1];
		out[0] = in[1] = -1;
	}
	for (int k = 0; k < 2; k++) {
		if (in[k] >= 0)
			close(in[k]);
		if (out[k] >= 0)
			close(out[k]);
	}
	return rc;
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
	spawn_piped(w, argv, sp->stdin_null ? e->devnull : -1, &why);
	for (size_t a = 1; a < sp->argc; a++)
		free(argv[a]);
	free(argv);
	if (why) {
		w->busy = false;
		busy_end(w);
		fail_item(w, &w->cur, -1, 0, why);
		return;
	}
	set_nonblock(w->fd_r);
	loop_add(w->loop, &w->w_pid, w->pidfd, EPOLLIN, run_on_pid, w);
	loop_add(w->loop, &w->w_r, w->fd_r, EPOLLIN, run_on_out, w);
	if (w->fd_w >= 0) {
		set_nonblock(w->fd_w);
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

static void run_on_pid(struct watch *wt, uint32_t ev)
{
	struct worker *w = wt->data;
	child_reap(w);
	if (w->fd_r >= 0)
		read_some(w, true);
	child_close_fds(w);
	w->wbuf.len = w->woff = 0;
	w->busy = false;
	busy_end(w);
	struct item *it = &w->cur;
	if (w->timed_out)
		fail_item(w, it, w->rc, w->sig, xasprintf("timed out after %gs", w->st->timeout_ms / 1000));
	else if (w->killed_for_stop)
		fail_item(w, it, w->rc, w->sig, xstrdup("cancelled: the job stopped"));
	else if (w->sig || w->rc != 0)
		fail_item(w, it, w->rc, w->sig, status_text(w->rc, w->sig));
	else if (w->overflow)
		fail_item(w, it, 0, 0, xasprintf("its output is over %u bytes", MAX_ITEM_BYTES));
	else {
		size_t len = w->rbuf.len;
		if (len && w->rbuf.p[len - 1] == '\n')
			len--;
		const char *nl = len ? memchr(w->rbuf.p, '\n', len) : NULL;
		if (nl) {
			fail_item(w, it, 0, 0, xstrdup("its output is more than one line (an item is one line)"));
		} else if (len && memchr(w->rbuf.p, 0, len)) {
			fail_item(w, it, 0, 0, xstrdup("its output holds a NUL byte (an item is a line of text)"));
		} else {
			struct item res = { xstrndup(len ? w->rbuf.p : "", len), len, it->seq };
			item_free(it);
			worker_emit(w, res);
		}
	}
	w->rbuf.len = 0;
}
