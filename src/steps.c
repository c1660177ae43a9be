/* SPDX-License-Identifier: GPL-3.0-or-later */
/* steps.c - item pipelines (see steps.h). */
#include "config.h"
#include "steps.h"
#include "jsonw.h"
#include "loop.h"
#include "pool.h"
#include "ladder.h"
#include "signals.h"
#include "spawn.h"
#include "task.h"
#include "util.h"
#include "workq.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define MAX_ITEM_BYTES (16u << 20)  /* one item (a line) */
#define TASK_BATCH 64               /* items a task worker takes at once */
#define SINK_BATCH 256
#define MAX_FAILURES_LISTED 1000
#define PROGRESS_MS 200.0

/* An item: a line without its newline.  text == NULL is a tombstone: the
 * item failed, and an ordered sink must not wait for it. */
struct item {
	char *text;
	size_t len;
	uint64_t seq;        /* 0-based, in input order */
};

/* Counters a worker writes (relaxed atomics: the progress reader is
 * another thread in thread mode). */
#define STAT_ADD(f, v) __atomic_store_n(&(f), (f) + (v), __ATOMIC_RELAXED)
#define STAT_GET(f) __atomic_load_n(&(f), __ATOMIC_RELAXED)

/* -------------------------------------------------------------- workers */

struct engine;
struct step;

struct wstats {
	uint64_t received, processed, failed, restarts;
	uint64_t busy_us, blocked_us;
};

struct worker {
	struct engine *e;
	struct step *st;
	int id;                      /* 1-based within its step */
	struct loop *loop;           /* the engine's (async) or its own (thread) */
	pthread_t thr;
	struct wstats s;
	double busy_since, blocked_since;   /* 0: not busy / not blocked */
	double t_end;                /* when it ended */

	/* results waiting for room in the next queue, oldest first */
	struct item *held;
	size_t nheld, held_cap;

	/* a run step's item, a sleeping task's item */
	struct item cur;
	bool busy;

	/* the child of a run or coprocess step */
	pid_t pid;
	int pidfd, fd_w, fd_r;       /* a pty: fd_w == fd_r, one watch (w_r) */
	struct watch w_pid, w_w, w_r;
	struct timer t_deadline;
	struct timer t_kill;         /* a closing coprocess: KILL if it lingers */
	struct ladder ladder;        /* the child: signal, CONT, KILL */
	struct timer t_stall;        /* coprocess: its head item waits too long */
	bool timed_out, killed_for_stop, overflow;
	int rc, sig;                 /* how it ended (rc -1: by a signal) */
	struct buf rbuf;             /* its output (run), a partial answer (coprocess) */
	struct buf wbuf;             /* bytes still to write */
	size_t woff;

	/* coprocess: items written and not answered yet, oldest first */
	struct item *infl;
	size_t nin, in_head, in_cap;
	bool in_eof;                 /* its input queue is done */
	bool closing;                /* shutting its coprocess down */
	bool spawned;                /* its coprocess has been started before */

	/* task */
	void *tstate;
	bool tinit, tinit_failed;
	struct pool_items scratch;
	struct piperun_arg *args;
	struct timer t_sleep;
	double sleep_secs;

	struct watch w_stop;         /* thread mode: the engine's stop fd */
	bool stop_seen;
};

struct step {
	struct engine *e;
	const struct step_spec *sp;
	size_t index;
	struct workq *in, *out;
	struct worker *w;
	int nw;
	int alive;                   /* workers still running (thread mode) */
	bool out_closed;
	const struct piperun_task *task;
	struct piperun_arg *args;    /* fixed task arguments, or NULL */
	size_t nargs;
	bool timer;                  /* the task is a wait: a timer in async mode */
	double timeout_ms;           /* per item, 0 = none */
	double stall_ms;             /* coprocess: warn after, 0 = never */
	bool stall_warned;           /* said once (atomic: any worker may) */
	uint64_t stall_seq;          /* the item it was said about */
	char *stall_msg;             /* what was said (its worker wrote it) */
	uint64_t stray_lines;        /* coprocess lines no item waited for */
	uint64_t item_us;            /* task: a recent item's time (relaxed) */
};

struct failure {
	size_t step;
	uint64_t seq;
	char *item;
	int rc;                      /* -1: none */
	int sig;
	char *error;
};

struct engine {
	const struct steps_spec *s;
	bool threaded;
	struct step *st;
	size_t n;
	struct workq *q;             /* n + 1: q[k] feeds step k, q[n] the sink */
	int in_fd, out_fd, info_fd, devnull;
	double t0;
	pthread_mutex_t mu;          /* alive counts */

	/* source */
	uint64_t next_seq;
	bool src_done;
	struct buf ibuf;
	size_t ioff;
	bool in_eof;
	struct watch w_in;
	bool in_pollable, w_in_on;

	/* ordered output: a window of items between source and sink */
	uint64_t window, emitted;
	pthread_mutex_t omu;
	pthread_cond_t ocond;
	struct item *reorder;
	bool *present;

	/* sink */
	struct buf obuf;
	uint64_t items_out;
	bool sink_done;

	/* stopping */
	int stopping;
	int stop_sig;
	int stop_fd;                 /* eventfd, readable once stopping */
	char *fatal;
	const char *stop_reason;

	/* failures */
	pthread_mutex_t fmu;
	struct failure *fails;
	size_t nfails, fails_cap;
	uint64_t failed_total;

	/* async */
	struct loop *loop;
	struct watch w_sig, w_stopw;
	struct timer t_progress;
	int sigfd;
	char progress[512];
};

static bool engine_stopping(struct engine *e)
{
	return __atomic_load_n(&e->stopping, __ATOMIC_ACQUIRE);
}

static void worker_kill(struct worker *w, int sig);

/* a failed item is recorded with at most this much of its text */
#define FAILED_ITEM_MAX 4096

static void engine_stop(struct engine *e, int sig, const char *reason, char *fatal)
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

static void busy_begin(struct worker *w)
{
	if (!w->busy_since)
		w->busy_since = now_ms();
}

static void busy_end(struct worker *w)
{
	if (w->busy_since) {
		STAT_ADD(w->s.busy_us, (uint64_t)((now_ms() - w->busy_since) * 1000));
		w->busy_since = 0;
	}
}

static void item_free(struct item *it)
{
	free(it->text);
	it->text = NULL;
}

/* An item left in a queue at the end. */
static void drop_item(void *it)
{
	item_free(it);
}

/* The item made it through this step: it goes on as res. */
static void worker_emit(struct worker *w, struct item res)
{
	xgrow(&w->held, &w->held_cap, w->nheld + 1, sizeof *w->held);
	w->held[w->nheld++] = res;
	STAT_ADD(w->s.processed, 1);
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
#define STEP_INPUT SIZE_MAX
static void record_failure(struct engine *e, size_t step, struct item *it, int rc, int sig,
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
		workq_push_extra(&e->q[e->n], &(struct item){ NULL, 0, seq });
	if (e->s->stop_on_error)
		engine_stop(e, 0, "on_error", NULL);
}

/* The item failed at this worker's step. */
static void fail_item(struct worker *w, struct item *it, int rc, int sig, char *why)
{
	STAT_ADD(w->s.failed, 1);
	record_failure(w->e, w->st->index, it, rc, sig, why);
}

/* Async: the worker waits for room downstream (or no longer does). */
static void note_blocked(struct worker *w, bool blocked)
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
static bool push_held(struct worker *w, bool block)
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

static char *status_text(int rc, int sig)
{
	if (sig)
		return xasprintf("killed by %s", sig_name(sig));
	return xasprintf("exit status %d", rc);
}

/* ------------------------------------------------------- child plumbing */

static void close_watched(struct worker *w, int *fd, struct watch *wt)
{
	if (*fd < 0)
		return;
	if (wt->active)
		loop_del(w->loop, wt);
	close(*fd);
	*fd = -1;
}

static void child_close_fds(struct worker *w)
{
	if (w->fd_w == w->fd_r)
		w->fd_w = -1;
	close_watched(w, &w->fd_w, &w->w_w);
	close_watched(w, &w->fd_r, &w->w_r);
}

static void on_kill_timer(struct timer *t)
{
	struct worker *w = t->data;
	if (w->pid > 0)
		kill_pid(w->pid, SIGKILL);
}

/* The ladder's send(): the child itself (it shares the host's group). */
static bool child_signal(void *ctx, int sig, bool follow_up)
{
	struct worker *w = ctx;
	return w->pid > 0 && kill_pid(w->pid, sig) == 0;
}

/* Signal the child (then SIGCONT); KILL after kill_after if it is still
 * there.  SIGKILL: at once. */
static void worker_kill(struct worker *w, int sig)
{
	if (w->pid <= 0)
		return;
	if (sig == SIGKILL)
		ladder_kill(&w->ladder);
	else
		ladder_signal(&w->ladder, sig, w->e->s->kill_after);
}

/* Reap the child (its pidfd is readable). */
static void child_reap(struct worker *w)
{
	struct spawn_exit x;
	w->rc = -1;
	w->sig = 0;
	if (spawn_reap(w->pidfd, true, &x) > 0) {
		w->rc = x.exit_code;
		w->sig = x.signal;
	}
	loop_del(w->loop, &w->w_pid);
	close(w->pidfd);
	w->pidfd = -1;
	w->pid = 0;
	timer_stop(w->loop, &w->t_kill);
	ladder_reset(&w->ladder);
	timer_stop(w->loop, &w->t_deadline);
	timer_stop(w->loop, &w->t_stall);
}

/* Read what is there (the child has exited: no waiting for the write
 * ends its own children may still hold). */
static bool read_some(struct worker *w, bool all)
{
	for (;;) {
		char tmp[65536];
		ssize_t r = read(w->fd_r, tmp, sizeof tmp);
		if (r > 0) {
			if (w->overflow || w->rbuf.len + (size_t)r > MAX_ITEM_BYTES) {
				/* the answer is dropped whole: its head item fails
				 * when the child is gone, nothing of it is emitted */
				w->overflow = true;
				w->rbuf.len = 0;
			} else {
				buf_add(&w->rbuf, tmp, (size_t)r);
			}
			if (!all)
				return true;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return true;
		return false; /* EOF, or EIO from a pty whose other side is gone */
	}
}

static void write_some(struct worker *w)
{
	while (w->woff < w->wbuf.len) {
		ssize_t r = write(w->fd_w, w->wbuf.p + w->woff, w->wbuf.len - w->woff);
		if (r > 0) {
			w->woff += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		/* EPIPE: it does not read; its exit will tell */
		w->woff = w->wbuf.len;
	}
	w->wbuf.len = w->woff = 0;
}

static int pipe_cloexec(int p[2])
{
	return pipe2(p, O_CLOEXEC);
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* A pseudo-terminal in raw mode (no echo, no CR/LF games), both ends
 * CLOEXEC: openpty(3) cannot promise that while other threads spawn. */
static int open_pty(int *master, int *slave)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return -1;
	char name[128];
	if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof name) != 0)
		goto fail;
	int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		goto fail;
	struct termios t;
	if (tcgetattr(s, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(s, TCSANOW, &t);
	}
	*master = m;
	*slave = s;
	return 0;
fail:;
	int saved = errno;
	close(m);
	errno = saved;
	return -1;
}

/* Start the step's program; fds are the child's 0 and 1. */
static int child_spawn(struct worker *w, char *const *argv, int in, int out, char **why)
{
	const struct step_spec *sp = w->st->sp;
	struct spawn_opts o = {
		.path = sp->exe,
		.argv = argv,
		.fd = { in, out, 2 },
		.pgid = -1,              /* the host's group: job signals reach it */
		.cgroup_procs_fd = -1,
	};
	struct spawn_error se;
	if (spawn_start(&o, &w->pid, &w->pidfd, &se) < 0) {
		w->pid = 0;
		*why = xasprintf("cannot start %s: %s: %s", argv[0], spawn_step_name(se.step),
				 strerror(se.err));
		return -1;
	}
	w->timed_out = w->killed_for_stop = w->overflow = false;
	w->rbuf.len = 0;
	ladder_init(&w->ladder, w->loop, child_signal, w);
	return 0;
}

/* ------------------------------------------------------------ run steps */

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

static void on_deadline(struct timer *t)
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
		argv[a] = placeholder_subst(sp->argv[a], it->text, (size_t)it->seq + 1);
	return argv;
}

/* Start argv with its stdout on a new pipe (w->fd_r) and its stdin on
 * another (w->fd_w), or on stdin_fd when that is >= 0 (w->fd_w stays -1).
 * 0, or -1 with *why set. */
static int spawn_piped(struct worker *w, char **argv, int stdin_fd, char **why)
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

static void run_begin(struct worker *w, struct item it)
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

/* ------------------------------------------------------ coprocess steps */

static void cop_on_pid(struct watch *wt, uint32_t ev);
static void cop_on_io(struct watch *wt, uint32_t ev);

static struct item *infl_at(struct worker *w, size_t i)
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
		int rc = child_spawn(w, sp->argv, s, s, why);
		close(s);
		if (rc < 0) {
			close(m);
			return -1;
		}
		w->fd_r = w->fd_w = m;
	} else {
		if (spawn_piped(w, sp->argv, -1, why) < 0)
			return -1;
		set_nonblock(w->fd_w);
	}
	set_nonblock(w->fd_r);
	loop_add(w->loop, &w->w_pid, w->pidfd, EPOLLIN, cop_on_pid, w);
	loop_add(w->loop, &w->w_r, w->fd_r, EPOLLIN, cop_on_io, w);
	w->closing = false;
	w->spawned = true;
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
static void cop_fail_all(struct worker *w, const char *why)
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

static void cop_send(struct worker *w, const struct item *items, size_t n)
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
		if (w->pid > 0) {
			buf_add(&w->wbuf, items[i].text, items[i].len);
			buf_addch(&w->wbuf, '\n');
		}
	}
	busy_begin(w);
	if (w->pid <= 0) {
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
			fprintf(stderr, "piperun: step %s: the coprocess wrote a line no item was waiting for (one line in, one line out)\n",
				st->sp->name);
		return;
	}
	struct item it = *infl_at(w, 0);
	w->in_head = (w->in_head + 1) % w->in_cap;
	w->nin--;
	if (len && line[len - 1] == '\r' && w->st->sp->pty)
		len--;
	if (memchr(line, 0, len)) {
		fail_item(w, &it, 0, 0, xstrdup("its answer holds a NUL byte (an item is a line of text)"));
	} else {
		struct item res = { xstrndup(line, len), len, it.seq };
		item_free(&it);
		worker_emit(w, res);
	}
	if (!w->nin)
		busy_end(w);
	head_clock(w);
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

static void cop_on_io(struct watch *wt, uint32_t ev)
{
	struct worker *w = wt->data;
	if (wt == &w->w_w || (ev & EPOLLOUT)) {
		write_some(w);
		cop_events(w);
	}
	if (wt == &w->w_r && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		bool open = read_some(w, false);
		cop_take_lines(w);
		if (!open || w->overflow) {
			/* it closed its output: it is ending (the pidfd says how) */
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
	if (!w->nin || w->pid <= 0 || w->fd_r < 0 || timer_armed(&w->t_stall) || w->timed_out ||
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
	fprintf(stderr, "piperun: step %s: %s\n", sp->name, st->stall_msg);
}

static void cop_on_pid(struct watch *wt, uint32_t ev)
{
	struct worker *w = wt->data;
	child_reap(w);
	if (w->fd_r >= 0) {
		read_some(w, true);
		cop_take_lines(w);
	}
	child_close_fds(w);
	w->wbuf.len = w->woff = 0;
	w->rbuf.len = 0;
	if (!w->nin)
		return; /* ended with nothing in flight: a new one when needed */
	struct item it = *infl_at(w, 0);
	w->in_head = (w->in_head + 1) % w->in_cap;
	w->nin--;
	if (w->killed_for_stop || engine_stopping(w->e)) {
		fail_item(w, &it, w->rc, w->sig, xstrdup("cancelled: the job stopped"));
		cop_fail_all(w, "cancelled: the job stopped");
		return;
	}
	if (w->timed_out)
		fail_item(w, &it, w->rc, w->sig, xasprintf("timed out after %gs", w->st->timeout_ms / 1000));
	else if (w->overflow)
		fail_item(w, &it, w->rc, w->sig, xasprintf("its answer is over %u bytes", MAX_ITEM_BYTES));
	else {
		char *st = status_text(w->rc, w->sig);
		fail_item(w, &it, w->rc, w->sig, xasprintf("the coprocess ended (%s)", st));
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

/* No more items: EOF on its stdin (a pty: the terminal goes away). */
static void cop_close(struct worker *w)
{
	w->closing = true;
	if (w->pid <= 0)
		return;
	if (w->fd_w == w->fd_r) {
		w->fd_w = -1;
		close_watched(w, &w->fd_r, &w->w_r);
	} else {
		close_watched(w, &w->fd_w, &w->w_w);
	}
	if (!timer_armed(&w->t_kill))
		timer_start(w->loop, &w->t_kill, now_ms() + w->e->s->kill_after * 1000 + 1000,
			    on_kill_timer, w);
}

/* ----------------------------------------------------------- task steps */

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
		struct item r = { text, len, it->seq };
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

static void step_task_one(struct worker *w, struct item *it)
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
	struct piperun_result res = { .kind = PIPERUN_RESULT_NUMBER, .d = w->sleep_secs };
	if (w->timed_out) {
		res.kind = PIPERUN_RESULT_ERROR;
		res.text = xstrdup("timed out");
	}
	struct item it = w->cur;
	w->cur.text = NULL;
	if (res.kind == PIPERUN_RESULT_ERROR) {
		fail_item(w, &it, -1, 0, res.text);
		return;
	}
	task_done(w, &it, &res);
}

static void step_timer_begin(struct worker *w, struct item it)
{
	const struct piperun_arg *args;
	size_t nargs;
	w->cur = it;
	if (task_args(w, &w->cur, &args, &nargs) < 0)
		return;
	struct piperun_result res = { .kind = PIPERUN_RESULT_ERROR };
	double secs;
	if (w->st->task->timer(args, nargs, &secs, &res) < 0) {
		fail_item(w, &w->cur, -1, 0, res.text);
		return;
	}
	w->busy = true;
	busy_begin(w);
	w->timed_out = w->st->timeout_ms > 0 && w->st->timeout_ms < secs * 1000;
	double ms = w->timed_out ? w->st->timeout_ms : secs * 1000;
	w->sleep_secs = secs;
	timer_start(w->loop, &w->t_sleep, now_ms() + ms, step_timer_fire, w);
}

/* --------------------------------------------------------------- source */

/* The next item: 1 (in *it), 2 (a line that failed as an item: nothing
 * to pass on), 0 (more input needed), -1 (no more). */
static int source_next(struct engine *e, struct item *it)
{
	const struct steps_spec *s = e->s;
	if (s->items == ITEMS_COUNT) {
		if (e->next_seq >= s->count)
			return -1;
		char b[24];
		int n = snprintf(b, sizeof b, "%" PRIu64, e->next_seq + 1);
		*it = (struct item){ xstrndup(b, (size_t)n), (size_t)n, e->next_seq++ };
		return 1;
	}
	size_t avail = e->ibuf.len - e->ioff;
	char *p = avail ? e->ibuf.p + e->ioff : NULL;
	char *nl = avail ? memchr(p, '\n', avail) : NULL;
	size_t len;
	if (nl)
		len = (size_t)(nl - p);
	else if (e->in_eof && avail)
		len = avail;
	else if (e->in_eof)
		return -1;
	else
		return 0;
	*it = (struct item){ xstrndup(p, len), len, e->next_seq++ };
	e->ioff += len + (nl ? 1 : 0);
	if (memchr(it->text, 0, len)) {
		/* a step's argv would end it there: it fails, the rest go on */
		record_failure(e, STEP_INPUT, it, -1, 0,
			       xasprintf("line %" PRIu64 ": a NUL byte (an item is a line of text)",
					 it->seq + 1));
		return 2;
	}
	return 1;
}

/* Read more input (once).  Returns -1 on a read error (fatal). */
static int source_read(struct engine *e)
{
	if (e->ioff) {
		memmove(e->ibuf.p, e->ibuf.p + e->ioff, e->ibuf.len - e->ioff);
		e->ibuf.len -= e->ioff;
		e->ioff = 0;
	}
	if (e->ibuf.len > MAX_ITEM_BYTES) {
		engine_stop(e, 0, "error", xasprintf("items: a line of more than %u bytes", MAX_ITEM_BYTES));
		return -1;
	}
	buf_reserve(&e->ibuf, 65536);
	ssize_t r;
	do
		r = read(e->in_fd, e->ibuf.p + e->ibuf.len, 65536);
	while (r < 0 && errno == EINTR);
	if (r < 0 && errno == EAGAIN)
		return 0;
	if (r < 0) {
		engine_stop(e, 0, "error", xasprintf("items: cannot read: %s", strerror(errno)));
		return -1;
	}
	if (!r)
		e->in_eof = true;
	e->ibuf.len += (size_t)r;
	return 0;
}

/* Ordered output keeps at most window items between source and sink. */
static bool window_full(struct engine *e)
{
	return e->s->ordered && e->next_seq - __atomic_load_n(&e->emitted, __ATOMIC_ACQUIRE) >= e->window;
}

/* ----------------------------------------------------------------- sink */


static void sink_flush(struct engine *e)
{
	if (!e->obuf.len)
		return;
	if (write_full(e->out_fd, e->obuf.p, e->obuf.len) < 0)
		engine_stop(e, 0, "error", xasprintf("writing items: %s", strerror(errno)));
	e->obuf.len = 0;
}

static void sink_out(struct engine *e, struct item *it)
{
	if (it->text) {
		buf_add(&e->obuf, it->text, it->len);
		buf_addch(&e->obuf, '\n');
		e->items_out++;
		item_free(it);
		if (e->obuf.len >= 65536)
			sink_flush(e);
	}
}

static void sink_take(struct engine *e, struct item *items, size_t n)
{
	if (!e->s->ordered) {
		for (size_t i = 0; i < n; i++)
			sink_out(e, &items[i]);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		size_t slot = (size_t)(items[i].seq % e->window);
		e->reorder[slot] = items[i];
		e->present[slot] = true;
	}
	uint64_t em = e->emitted, start = em;
	while (e->present[em % e->window]) {
		size_t slot = (size_t)(em % e->window);
		e->present[slot] = false;
		sink_out(e, &e->reorder[slot]);
		em++;
	}
	if (em != start) {
		pthread_mutex_lock(&e->omu);
		__atomic_store_n(&e->emitted, em, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&e->ocond);
		pthread_mutex_unlock(&e->omu);
	}
}

/* ------------------------------------------------------- progress, stats */

static void worker_totals(const struct step *st, struct wstats *t)
{
	memset(t, 0, sizeof *t);
	for (int i = 0; i < st->nw; i++) {
		const struct wstats *s = &st->w[i].s;
		t->received += STAT_GET(s->received);
		t->processed += STAT_GET(s->processed);
		t->failed += STAT_GET(s->failed);
		t->restarts += STAT_GET(s->restarts);
		t->busy_us += STAT_GET(s->busy_us);
		t->blocked_us += STAT_GET(s->blocked_us);
	}
}

static void info_write(struct engine *e, const char *s, size_t n)
{
	if (e->info_fd >= 0 && write_full(e->info_fd, s, n) < 0)
		e->info_fd = -1; /* the runner went away: carry on */
}

static void progress_line(struct engine *e)
{
	if (e->info_fd < 0)
		return;
	struct buf b = { 0 };
	buf_addstr(&b, "P ");
	for (size_t k = 0; k < e->n; k++) {
		struct wstats t;
		worker_totals(&e->st[k], &t);
		buf_printf(&b, "%s%s %" PRIu64 " q%zu", k ? " | " : "", e->st[k].sp->name,
			   t.processed + t.failed, workq_depth(e->st[k].in, NULL));
	}
	if (strcmp(b.p, e->progress)) {
		snprintf(e->progress, sizeof e->progress, "%s", b.p);
		buf_addch(&b, '\n');
		info_write(e, b.p, b.len);
	}
	buf_free(&b);
}

static void write_stats(struct engine *e, double wall_ms)
{
	struct buf b = { 0 };
	struct jw w;
	jw_init(&w, buf_sink_write, &b, false);
	jw_obj(&w, true);
	jw_kint(&w, "items_in", (int64_t)e->next_seq);
	jw_kint(&w, "items_out", (int64_t)e->items_out);
	jw_kint(&w, "items_failed", (int64_t)e->failed_total);
	/* read but neither out nor failed: they were between steps (in a
	 * queue, a full worker's hands, the reorder window) when the job
	 * stopped; 0 whenever the job ran to the end */
	uint64_t done = e->items_out + e->failed_total;
	jw_kint(&w, "items_cancelled", (int64_t)(e->next_seq > done ? e->next_seq - done : 0));
	jw_kstr(&w, "steps_mode", e->threaded ? "thread" : "async");
	jw_kbool(&w, "ordered", e->s->ordered);
	jw_key(&w, "stopped");
	if (e->stop_sig)
		jw_str(&w, sig_name(e->stop_sig));
	else
		jw_str(&w, e->stop_reason);
	jw_key(&w, "steps");
	jw_arr(&w, false);
	for (size_t k = 0; k < e->n; k++) {
		struct step *st = &e->st[k];
		struct wstats t;
		worker_totals(st, &t);
		double life = 0;
		for (int i = 0; i < st->nw; i++)
			life += (st->w[i].t_end ? st->w[i].t_end : now_ms()) - e->t0;
		double busy = (double)t.busy_us / 1000, blocked = (double)t.blocked_us / 1000;
		double idle = life - busy - blocked;
		size_t maxd;
		workq_depth(st->in, &maxd);
		jw_obj(&w, true);
		jw_kstr(&w, "name", st->sp->name);
		jw_kstr(&w, "kind", step_kind_name(st->sp->kind));
		jw_kint(&w, "workers", st->nw);
		jw_kint(&w, "received", (int64_t)t.received);
		jw_kint(&w, "processed", (int64_t)t.processed);
		jw_kint(&w, "failed", (int64_t)t.failed);
		jw_knum(&w, "busy_ms", busy);
		jw_knum(&w, "idle_ms", idle > 0 ? idle : 0);
		jw_knum(&w, "blocked_ms", blocked);
		jw_kint(&w, "queue", (int64_t)st->in->cap);
		jw_kint(&w, "max_queue_depth", (int64_t)maxd);
		jw_kint(&w, "restarts", (int64_t)t.restarts);
		if (st->stray_lines)
			jw_kint(&w, "stray_lines", (int64_t)st->stray_lines);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_key(&w, "failed_items");
	jw_arr(&w, false);
	for (size_t i = 0; i < e->nfails; i++) {
		const struct failure *f = &e->fails[i];
		jw_obj(&w, true);
		jw_kstr(&w, "step", f->step == STEP_INPUT ? NULL : e->st[f->step].sp->name);
		jw_kint(&w, "index", (int64_t)f->seq);
		jw_kstr(&w, "item", f->item);
		jw_key(&w, "returncode");
		if (f->sig)
			jw_int(&w, -f->sig);
		else if (f->rc >= 0)
			jw_int(&w, f->rc);
		else
			jw_null(&w);
		jw_kstr(&w, "signal", f->sig ? sig_name(f->sig) : NULL);
		jw_kstr(&w, "error", f->error);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_kint(&w, "failed_items_omitted", (int64_t)(e->failed_total - e->nfails));
	jw_key(&w, "warnings");
	jw_arr(&w, false);
	for (size_t k = 0; k < e->n; k++) {
		const struct step *st = &e->st[k];
		if (!st->stall_msg)
			continue;
		jw_obj(&w, true);
		jw_kstr(&w, "step", st->sp->name);
		jw_kstr(&w, "kind", "stall");
		jw_kint(&w, "index", (int64_t)st->stall_seq);
		jw_kstr(&w, "message", st->stall_msg);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_knum(&w, "wall_ms", wall_ms);
	jw_obj_end(&w);
	buf_addch(&b, '\n');
	info_write(e, b.p, b.len);
	buf_free(&b);
}

/* ------------------------------------------------------------ set-up */

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
	e->t0 = now_ms();
	pthread_mutex_init(&e->mu, NULL);
	pthread_mutex_init(&e->omu, NULL);
	pthread_cond_init(&e->ocond, NULL);
	pthread_mutex_init(&e->fmu, NULL);
	e->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	e->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->devnull < 0 || e->stop_fd < 0) {
		*err = xasprintf("steps: %s", strerror(errno));
		return -1;
	}
	e->st = xcalloc(e->n, sizeof *e->st);
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
		st->nw = sp->workers;
		double to = sp->item_timeout >= 0 ? sp->item_timeout : s->item_timeout;
		st->timeout_ms = to > 0 ? to * 1000 : 0;
		st->stall_ms = sp->kind == STEP_COPROCESS ? sp->stall_warning * 1000 : 0;
		if (sp->kind == STEP_TASK) {
			char *why = NULL;
			st->task = sp->plugin ? task_plugin(sp->task, &why) : task_builtin(sp->task);
			if (!st->task) {
				*err = xasprintf("step %s: %s", sp->name, why ? why : "no such task");
				free(why);
				return -1;
			}
			st->timer = st->task->timer != NULL;
			if (sp->args && spec_parse_item_array(sp->args, strlen(sp->args), &st->args,
							      &st->nargs, &why) < 0) {
				*err = xasprintf("step %s: args: %s", sp->name, why);
				free(why);
				return -1;
			}
			if (sp->args && !st->args)
				st->args = xcalloc(1, sizeof *st->args);
		} else if (!sp->exe) {
			*err = xasprintf("step %s: no program", sp->name);
			return -1;
		}
		st->w = xcalloc((size_t)st->nw, sizeof *st->w);
		st->alive = st->nw;
		for (int i = 0; i < st->nw; i++) {
			struct worker *w = &st->w[i];
			w->e = e;
			w->st = st;
			w->id = i + 1;
			w->pidfd = w->fd_r = w->fd_w = -1;
		}
	}
	return 0;
}

static void teardown(struct engine *e)
{
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
			if (w->tinit && !w->tinit_failed && st->task->fini)
				st->task->fini(w->tstate);
			pool_items_free(&w->scratch);
			free(w->args);
		}
		free(st->w);
		free(st->stall_msg);
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
}

/* A worker's reaction to the job stopping: its child goes. */
static void worker_stop(struct worker *w)
{
	if (w->pid > 0) {
		w->killed_for_stop = true;
		worker_kill(w, w->e->s->signal ? w->e->s->signal : SIGTERM);
	}
	if (timer_armed(&w->t_sleep)) {
		timer_stop(w->loop, &w->t_sleep);
		w->busy = false;
		busy_end(w);
		fail_item(w, &w->cur, -1, 0, xstrdup("cancelled: the job stopped"));
	}
}

static bool worker_quiet(const struct worker *w)
{
	return !w->busy && !w->nin && !w->nheld && w->pid <= 0;
}

/* ------------------------------------------------------- thread engine */

static void on_stop_fd(struct watch *wt, uint32_t ev)
{
	struct worker *w = wt->data;
	loop_del(w->loop, wt);
	w->stop_seen = true;
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

static void *thread_worker(void *arg)
{
	struct worker *w = arg;
	struct step *st = w->st;
	struct engine *e = w->e;
	struct item batch[TASK_BATCH];
	if (st->sp->kind != STEP_TASK) {
		if (!(w->loop = loop_new())) {
			engine_stop(e, 0, "error", xasprintf("steps: epoll: %s", strerror(errno)));
			w->t_end = now_ms();
			return NULL;
		}
		loop_add(w->loop, &w->w_stop, e->stop_fd, EPOLLIN, on_stop_fd, w);
	}
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
					if (w->pid > 0)
						loop_run_once(w->loop, 0);
					cop_send(w, batch, (size_t)n);
				}
			}
			if (w->nin)
				loop_run_once(w->loop, -1);
			else if (w->in_eof || engine_stopping(e))
				goto out;
			break;
		case STEP_TASK: {
			/* quick items: whole batches (less waking up); slow
			 * ones: a fair share, so the step's workers all work */
			uint64_t us = __atomic_load_n(&st->item_us, __ATOMIC_RELAXED);
			n = workq_pop(st->in, batch, TASK_BATCH, us < 20 ? 1 : (size_t)st->nw, true);
			if (n < 0)
				goto out;
			STAT_ADD(w->s.received, (uint64_t)n);
			double t0 = now_ms();
			w->busy_since = t0;
			for (int i = 0; i < n; i++) {
				if (engine_stopping(e)) {
					fail_item(w, &batch[i], -1, 0, xstrdup("cancelled: the job stopped"));
					continue;
				}
				step_task_one(w, &batch[i]);
			}
			__atomic_store_n(&st->item_us, (uint64_t)((now_ms() - t0) * 1000 / n), __ATOMIC_RELAXED);
			busy_end(w);
			break;
		}
		}
	}
out:
	push_held(w, true);
	if (st->sp->kind == STEP_COPROCESS) {
		cop_close(w);
		while (w->pid > 0)
			loop_run_once(w->loop, -1);
		cop_fail_all(w, "cancelled: the job stopped");
	}
	worker_ended(w);
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

static int steps_run_threads(struct engine *e)
{
	size_t total = 0;
	for (size_t k = 0; k < e->n; k++)
		total += (size_t)e->st[k].nw;
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
	if (started < total) /* some never ran: the sink must not wait for them */
		workq_close(&e->q[e->n], true);
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

/* -------------------------------------------------------- async engine */

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
				} else if (n < 0 && !w->nin) {
					cop_close(w);
					moved = true;
				}
			}
			break;
		case STEP_TASK:
			if (st->timer) {
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
				for (int k = 0; k < n; k++)
					step_task_one(w, &batch[k]);
				busy_end(w);
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
			if (w->pid > 0 || w->busy)
				return true;
		}
	return false;
}

static int steps_run_async(struct engine *e)
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

int steps_run(const struct steps_spec *s, int in_fd, int out_fd, int info_fd, char **why)
{
	struct engine e;
	if (setup(&e, s, in_fd, out_fd, info_fd, why) < 0) {
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
		return 2;
	}
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
	} else if (e.failed_total && !e.stop_sig) {
		struct buf b = { 0 };
		buf_printf(&b, "E %s%" PRIu64 " of %" PRIu64 " items failed",
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
		info_line(&e, b.p);
		buf_free(&b);
	}
	write_stats(&e, now_ms() - t0);
	int rc = e.fatal ? 2 : e.failed_total ? 1 : 0;
	int sig = e.stop_sig;
	teardown(&e);
	if (sig) {
		/* die of it, as the runner expects of a job it signalled */
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		die_of_signal(sig);
		rc = 128 + sig;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}
