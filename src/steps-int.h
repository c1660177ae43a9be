/* SPDX-License-Identifier: GPL-3.0-or-later */
/* steps-int.h - what the files of a steps job's host share (steps.h is
 * its interface): the item, the worker, the step, the engine, and the
 * functions one file of it calls in another.  Not for other modules. */
#ifndef PIPERUN_STEPS_INT_H
#define PIPERUN_STEPS_INT_H

#include "steps.h"
#include "loop.h"
#include "pool.h"
#include "proc.h"
#include "util.h"
#include "workq.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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
	uint64_t ih;         /* the input item's hash (journal_items, resume) */
	bool restored;       /* sunk in an earlier session: text is its output */
};

/* Counters a worker writes (relaxed atomics: the progress reader is
 * another thread in thread mode). */
#define STAT_ADD(f, v) __atomic_store_n(&(f), (f) + (v), __ATOMIC_RELAXED)
#define STAT_GET(f) __atomic_load_n(&(f), __ATOMIC_RELAXED)


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
	double item_from, item_last; /* --trace: it took up work, its last
					item ended (steps-trace.c) */

	/* results waiting for room in the next queue, oldest first */
	struct item *held;
	size_t nheld, held_cap;

	/* a run step's item, a sleeping task's item */
	struct item cur;
	bool busy;

	/* the child of a run or coprocess step (steps-child.h) */
	struct proc child;           /* its status: how it ended */
	int fd_w, fd_r;              /* a pty: fd_w == fd_r, one watch (w_r) */
	struct watch w_w, w_r;
	struct timer t_deadline;
	struct timer t_kill;         /* a closing coprocess: KILL if it lingers */
	struct timer t_stall;        /* coprocess: its head item waits too long */
	bool timed_out, killed_for_stop, overflow;
	struct buf rbuf;             /* its output (run), a partial answer (coprocess) */
	struct buf wbuf;             /* bytes still to write */
	size_t woff;

	/* coprocess: items written and not answered yet, oldest first */
	struct item *infl;
	size_t nin, in_head, in_cap;
	bool in_eof;                 /* its input queue is done */
	bool closing;                /* shutting its coprocess down */
	size_t cop_given;            /* items its coprocess was given */
	bool spawned;                /* its coprocess has been started before */

	/* task */
	void *tstate;
	bool tinit, tinit_failed, tinit_hung;
	struct pool_items scratch;
	struct piperun_arg *args;
	struct timer t_sleep;
	double sleep_secs;

	struct watch w_stop;         /* thread mode: the engine's stop fd */
};

struct step {
	struct engine *e;
	const struct step_spec *sp;
	size_t index;
	struct workq *in, *out;
	struct worker *w;
	int nw;
	int alive;                   /* workers still running (thread mode) */
	int healthy;                 /* workers whose init() did not hang (atomic) */
	bool out_closed;
	const struct piperun_task *task;
	struct piperun_arg *args;    /* fixed task arguments, or NULL */
	size_t nargs;
	double timeout_ms;           /* per item, 0 = none */
	double stall_ms;             /* coprocess: warn after, 0 = never */
	bool stall_warned;           /* said once (atomic: any worker may) */
	uint64_t stall_seq;          /* the item it was said about */
	char *stall_msg;             /* what was said (its worker wrote it) */
	char *fd_msg;                /* fewer workers than asked: the fd limit */
	uint64_t stray_lines;        /* coprocess lines no item waited for */
	uint64_t item_us;            /* task: a recent item's time (relaxed) */
	size_t trace_w0;             /* --trace: its first worker's number */
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
	int err_fd;                  /* the job's stderr (2, or a dup above 2) */
	bool out_aside;              /* out_fd a dup of fd 1, which is fd 2 now */
	bool fds_aside;              /* in_fd, err_fd dups above 2 (task steps) */
	double t0;
	pthread_mutex_t mu;          /* alive counts */

	/* source */
	uint64_t next_seq;
	bool src_done;
	struct buf ibuf;
	size_t ioff;
	bool in_eof;
	bool skip_line;              /* the rest of a line over MAX_ITEM_BYTES */
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

	/* the journal (steps-resume.c): the items sunk in an earlier
	 * session (sorted by seq; the source passes them by in order), and
	 * the "S" lines of the items sunk now, not yet written */
	struct resumed *resumed;
	size_t nresumed, at_resumed;
	char *sunk_mem;              /* the text they are in (freed at the end) */
	uint64_t items_resumed;
	bool want_ih;
	struct buf sbuf;
	pthread_mutex_t imu;         /* info_fd: whole lines from any thread */

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

	struct trace *trace;         /* the run's --trace (steps-trace.c), or NULL */

	/* async */
	struct loop *loop;
	struct watch w_sig, w_stopw;
	struct timer t_progress;
	int sigfd;
	char progress[512];
};

/* An item sunk in an earlier session: its input's hash, its output
 * (base64, in the text the host was given: decoded when it is used). */
struct resumed {
	uint64_t seq, ih;
	const char *b64;
	size_t b64_len;
};

/* The step of a failure that happened before the first (the input). */
#define STEP_INPUT SIZE_MAX

static inline bool engine_stopping(struct engine *e)
{
	return __atomic_load_n(&e->stopping, __ATOMIC_ACQUIRE);
}

/* steps.c: the engine, failures, set-up and the entry */
void engine_stop(struct engine *e, int sig, const char *reason, char *fatal);
void busy_begin(struct worker *w);
void busy_end(struct worker *w);
void item_free(struct item *it);
void drop_item(void *it);
void worker_emit(struct worker *w, struct item res);
void record_failure(struct engine *e, size_t step, struct item *it, int rc, int sig,
		    char *why);
void fail_item(struct worker *w, struct item *it, int rc, int sig, char *why);
void note_blocked(struct worker *w, bool blocked);
bool push_held(struct worker *w, bool block);
void worker_stop(struct worker *w);
bool worker_quiet(const struct worker *w);

/* steps-child.c: a step's child (its interface: steps-child.h) */
#include "steps-child.h"

/* Before the workers are made: each step's worker count (st->nw), run
 * and coprocess steps cut to what the fd limit allows (said on the job's
 * stderr and in fd_msg). */
void steps_fd_caps(struct engine *e);

/* steps-run.c */
void on_deadline(struct timer *t);
int spawn_piped(struct worker *w, char **argv, int stdin_fd, void (*on_exit)(struct proc *p),
		char **why);
void run_begin(struct worker *w, struct item it);

/* steps-cop.c */
struct item *infl_at(struct worker *w, size_t i);
void cop_fail_all(struct worker *w, const char *why);
void cop_send(struct worker *w, const struct item *items, size_t n);
void cop_close(struct worker *w);

/* steps-task.c */
void step_task_one(struct worker *w, struct item *it);
/* Once, before any task runs: a task that crashes the host leaves the
 * job's error and the item in its record (the info pipe). */
void steps_task_guard(struct engine *e);
void step_timer_begin(struct worker *w, struct item it);
/* The task's fini() for this worker (within its bound: one that does not
 * return is left behind, said on the job's stderr). */
void task_fini(struct worker *w);
/* The task's init() for this worker, once, within its bound (a worker
 * whose init() did not return has tinit_hung and fails its items). */
void task_init(struct worker *w);
/* With task steps: the host's own fds above 2, so a task that closes
 * (or replaces) fds 0-2 cannot touch them; -1 with errno. */
int task_fds_aside(struct engine *e);
/* After task calls: fds 0-2 a task closed are open again (fd 0 on
 * /dev/null, 1 and 2 on the job's stderr), for the tasks after it. */
void task_fds_mend(struct engine *e);
/* A line on the job's stderr (the host's own words). */
void host_say(struct engine *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* steps-resume.c: the journal's side of the host */
/* Take the items sunk in an earlier session (sunk: lines "SEQ IH
 * B64OUT", by seq, in sunk->mem, which the engine frees); -1 with *err. */
int resume_load(struct engine *e, struct steps_sunk *sunk, char **err);
void resume_free(struct engine *e);
/* The item just read was sunk in an earlier session, from the same
 * input: it becomes that output (restored) and goes to the sink. */
bool resume_take(struct engine *e, struct item *it);
uint64_t item_hash(const char *text, size_t len);
/* The sink: an item sunk now (its "S" line waits for sunk_flush). */
void sunk_note(struct engine *e, const struct item *it);
void sunk_flush(struct engine *e);

/* steps-io.c: source, sink, progress, stats */
/* The next item: 1 (in *it), 3 (in *it, restored: it goes to the sink,
 * not the first step), 2 (a line that failed as an item: nothing to pass
 * on), 0 (more input needed), -1 (no more). */
int source_next(struct engine *e, struct item *it);
int source_read(struct engine *e);
bool window_full(struct engine *e);
void sink_flush(struct engine *e);
void sink_take(struct engine *e, struct item *items, size_t n);
void info_write(struct engine *e, const char *s, size_t n);
void progress_line(struct engine *e);
void write_stats(struct engine *e, double wall_ms);

/* steps-trace.c: the items' trace a run with --trace asked for
 * (steps_spec.trace_items; trace.h) */
void steps_trace_begin(struct engine *e);
/* w's item ended (ok: it goes on), from when w took up work or its last
 * item ended. */
void steps_trace_item(struct worker *w, const struct item *it, bool ok);
/* A sample of the steps' counters (progress_line's tick). */
void steps_trace_sample(struct engine *e);
void steps_trace_finish(struct engine *e, double wall_ms);

/* steps-thread.c */
int steps_run_threads(struct engine *e);

/* steps-async.c */
int steps_run_async(struct engine *e);

#endif
