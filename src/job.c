/* SPDX-License-Identifier: GPL-3.0-or-later */
/* job.c - the lifecycle of one command job (see job.h). */
#include "config.h"
#include "job.h"
#include "kind.h"
#include "job-feed.h"
#include "chain.h"
#include "opener.h"
#include "spawn.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Reads per wake-up per stream, so one chatty job cannot starve others. */
#define READS_PER_EVENT 16

/* Move j by e; false (and no change) when its state refuses e. */
static bool job_event(struct job *j, enum job_event e)
{
	int n = job_state_next(j->state, e);
	if (n < 0)
		return false;
	j->state = (enum job_state)n;
	return true;
}

void job_init(struct job *j, const struct job_spec *spec, size_t index,
	      struct job_env *env)
{
	memset(j, 0, sizeof *j);
	j->spec = spec;
	j->env = env;
	j->index = index;
	j->state = JOB_PENDING;
	j->owner = j->slot = -1;
	j->deps_left = spec ? spec->ndeps : 0;
	j->always = spec && spec->always;
}

void job_set_links(struct job *j, const struct spec_links *l)
{
	j->deps_left = l->ndeps;
	j->always = l->always;
}

void job_make_spec(struct job *j, const struct spec *s)
{
	if (!j->spec)
		j->spec = spec_job(s, j->index);
}

static void run_init(struct job_run *rn)
{
	memset(rn, 0, sizeof *rn);
	rn->fd_in = rn->fd_out = rn->fd_err = -1;
	rn->fd_res = rn->fd_diag = -1;
	proc_init(&rn->proc);
	rn->out.spill_fd = rn->err.spill_fd = -1;
}

const struct job_run job_run_none = {
	.fd_in = -1, .fd_out = -1, .fd_err = -1, .fd_res = -1, .fd_diag = -1,
	.proc = { .pidfd = -1, .cj = { .dirfd = -1 }, .status = { .exit_code = -1 } },
	.out = { .spill_fd = -1 }, .err = { .spill_fd = -1 },
};

struct job_run *job_run_make(struct job *j)
{
	if (!j->run) {
		j->run = xmalloc(sizeof *j->run);
		run_init(j->run);
	}
	return j->run;
}

enum job_status job_outcome(bool timed_out, bool cancelled, int rc, const int *expect,
			    size_t nexpect)
{
	if (timed_out)
		return ST_TIMEOUT;
	if (cancelled)
		return ST_CANCELLED;
	if (!nexpect)
		return rc == 0 ? ST_OK : ST_FAILED;
	for (size_t i = 0; i < nexpect; i++)
		if (rc == expect[i])
			return ST_OK;
	return ST_FAILED;
}

void job_add_dependent(struct job *dep, size_t idx)
{
	xgrow(&dep->rdeps, &dep->rdeps_cap, dep->nrdeps + 1, sizeof *dep->rdeps);
	dep->rdeps[dep->nrdeps++] = idx;
}

void job_add_reader(struct job *src)
{
	src->from_refs++;
}


enum job_dep job_dep_done(struct job *j, const struct job *dep)
{
	if (j->state != JOB_PENDING || j->dep_failed)
		return JOB_DEP_WAIT;
	if (!job_ok(dep) && !j->always) {
		j->dep_failed = true;
		/* dep may have been let go already (its record is out) */
		char *name = dep->spec ? xstrdup(dep->spec->name)
			: spec_job_name(j->env->spec, dep->index);
		char *why = xasprintf("dependency \"%s\" %s", name,
				      dep->status == ST_SKIPPED ? "was skipped"
				      : job_status_name(dep->status));
		free(name);
		job_skip(j, why);
		free(why);
		return JOB_DEP_SKIPPED;
	}
	return --j->deps_left == 0 ? JOB_DEP_READY : JOB_DEP_WAIT;
}

void job_start_short(struct job *j, int err)
{
	free(j->error);
	j->error = xasprintf("cannot start: %s", strerror(err));
}

static void job_unstartable(struct job *j)
{
	char *msg = xasprintf("%s (and no other job is running)",
			      j->error ? j->error : "cannot start");
	job_skip(j, NULL);
	j->status = ST_ERROR;
	j->error = msg;
}

enum short_verdict job_start_came_short(struct job *j, bool others)
{
	if (others)
		return SHORT_WAIT;
	if (j->short_tries < SHORT_TRIES) {
		int k = j->short_tries++;
		long ms = 2L << (k < 7 ? k : 7);   /* 2, 4, ... 256 ms */
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		return SHORT_RETRY;
	}
	job_unstartable(j);
	return SHORT_FAIL;
}

void job_retry_due(struct job *j)
{
	job_event(j, JOB_EV_RETRY_DUE);
}

void job_assign(struct job *j, int owner)
{
	j->owner = owner;
	if (owner >= 0) /* a worker per slot */
		j->slot = owner;
}

void job_move(struct job *j, struct job_env *env)
{
	j->env = env;
}

bool job_ok(const struct job *j)
{
	return j->status == ST_OK;
}

static double since_start(const struct job *j)
{
	return now_ms() - job_run_of(j)->t_start;
}

static void close_fd(struct job *j, int *fd, struct watch *w)
{
	if (*fd < 0)
		return;
	loop_del(j->env->loop, w);
	close(*fd);
	*fd = -1;
}

/* ------------------------------------------------------------- output */

/* Give back what is left of the job's promised spill files (fd_need). */
static void unpromise(struct job *j, int n)
{
	if (n > j->run->fds_promised)
		n = j->run->fds_promised;
	if (n <= 0)
		return;
	j->run->fds_promised -= n;
	if (j->env->fds)
		__atomic_sub_fetch(&j->env->fds->spills, n, __ATOMIC_RELAXED);
}

/* After a read of a runner's end that returned r <= 0: 1 to read again
 * (EINTR), 0 to wait for more (EAGAIN), -1 when it is over (EOF, an
 * error: the fd is closed). */
static int read_stop(struct job *j, ssize_t r, int *fd, struct watch *w)
{
	if (r < 0 && errno == EINTR)
		return 1;
	if (r < 0 && errno == EAGAIN)
		return 0;
	close_fd(j, fd, w);
	return -1;
}

/* Read what a pipe holds now; returns false at EOF or error (closed). */
static bool pump(struct job *j, int *fd, struct watch *w, struct capture *c,
		 int max_reads)
{
	for (int i = 0; max_reads < 0 || i < max_reads; i++) {
		ssize_t r = read(*fd, j->env->scratch, JOB_SCRATCH);
		if (r > 0) {
			bool spilled = c->spill_fd >= 0;
			capture_add(c, j->env->scratch, (size_t)r);
			if (!spilled && c->spill_fd >= 0)
				unpromise(j, 1); /* the promised fd is open now */
			/* a short read emptied the pipe: the (level-triggered)
			 * loop says when there is more, so no read is spent on
			 * EAGAIN (drain, max_reads < 0, reads to the end) */
			if (max_reads >= 0 && (size_t)r < JOB_SCRATCH)
				return true;
			continue;
		}
		int k = read_stop(j, r, fd, w);
		if (k <= 0)
			return k == 0;
	}
	return true;
}

/* The host's side pipe, read into resbuf: its kind takes it. */
static void take_side(struct job *j)
{
	kind_get(j->spec->kind)->host->take_side(j);
}

/* Read a small side channel (records, diagnostics) into a buffer. */
static bool pump_buf(struct job *j, int *fd, struct watch *w, struct buf *b)
{
	for (;;) {
		buf_reserve(b, 4096);
		ssize_t r = read(*fd, b->p + b->len, b->cap - b->len - 1);
		if (r > 0) {
			b->len += (size_t)r;
			if (b->len > (1u << 20) && b == &j->run->diag)
				b->len = 1u << 20; /* a host this chatty is broken: keep the start */
			b->p[b->len] = 0;
			continue;
		}
		int k = read_stop(j, r, fd, w);
		if (k <= 0)
			return k == 0;
	}
}

static void on_res(struct watch *w, uint32_t ev)
{
	struct job *j = w->data;
	pump_buf(j, &j->run->fd_res, &j->run->w_res, &j->run->resbuf);
	take_side(j);
}

static void on_diag(struct watch *w, uint32_t ev)
{
	struct job *j = w->data;
	pump_buf(j, &j->run->fd_diag, &j->run->w_diag, &j->run->diag);
}

static void on_stage_err(struct watch *w, uint32_t ev)
{
	struct job *j = w->data;
	size_t i = (size_t)(w - j->run->w_stage);
	pump(j, &j->run->fd_stage[i], &j->run->w_stage[i], &j->run->stage_err[i], READS_PER_EVENT);
}

static void drain(struct job *j)
{
	if (j->run->fd_out >= 0)
		pump(j, &j->run->fd_out, &j->run->w_out, &j->run->out, -1);
	if (j->run->fd_err >= 0)
		pump(j, &j->run->fd_err, &j->run->w_err, &j->run->err, -1);
	if (j->run->fd_res >= 0) {
		pump_buf(j, &j->run->fd_res, &j->run->w_res, &j->run->resbuf);
		take_side(j);
	}
	if (j->run->fd_diag >= 0)
		pump_buf(j, &j->run->fd_diag, &j->run->w_diag, &j->run->diag);
	for (size_t i = 0; j->run->fd_stage && i < j->run->nstages; i++)
		if (j->run->fd_stage[i] >= 0)
			pump(j, &j->run->fd_stage[i], &j->run->w_stage[i], &j->run->stage_err[i], -1);
}

static void close_pipeline_fds(struct job *j)
{
	close_fd(j, &j->run->fd_res, &j->run->w_res);
	close_fd(j, &j->run->fd_diag, &j->run->w_diag);
	for (size_t i = 0; j->run->fd_stage && i < j->run->nstages; i++)
		close_fd(j, &j->run->fd_stage[i], &j->run->w_stage[i]);
}

static void on_out(struct watch *w, uint32_t ev)
{
	struct job *j = w->data;
	pump(j, &j->run->fd_out, &j->run->w_out, &j->run->out, READS_PER_EVENT);
}

static void on_err(struct watch *w, uint32_t ev)
{
	struct job *j = w->data;
	pump(j, &j->run->fd_err, &j->run->w_err, &j->run->err, READS_PER_EVENT);
}

/* --------------------------------------------------------- attempt end */

static void on_retry(struct timer *t);
static void files_close(struct job *j, bool keep_waited);

static void errline(void *ctx, const void *p, size_t n)
{
	struct buf *b = ctx;
	if (b->len < 4096)
		buf_add(b, p, n);
}

/* The first line the job wrote on its captured stderr, or NULL. */
char *job_stderr_first_line(const struct job *j)
{
	struct buf b = { 0 };
	if (job_run_of(j)->err.active)
		capture_each(&j->run->err, errline, &b);
	char *nl = b.p ? strchr(b.p, '\n') : NULL;
	if (nl)
		*nl = 0;
	char *line = b.len ? xstrdup(b.p) : NULL;
	buf_free(&b);
	return line;
}

/* The attempt's start came short after all, for lack of err (a host
 * that could not fork, an opener short of fds): nothing ran, so it is as
 * if the attempt never was; the job is PENDING again and the runner
 * (ended()) has it wait for a running job to end, like a start that
 * found no headroom. */
static void came_short(struct job *j, int err)
{
	j->attempts--;
	j->throttled++;
	job_event(j, JOB_EV_SHORT);
	job_start_short(j, err);
	j->env->ops->ended(j);
}

/* Everything the attempt held: timers, pipes (read to the end first),
 * files, its process's pidfd and cgroup, live relays. */
static void attempt_close(struct job *j)
{
	timer_stop(j->env->loop, &j->run->t_timeout);
	drain(j);
	close_fd(j, &j->run->fd_out, &j->run->w_out);
	close_fd(j, &j->run->fd_err, &j->run->w_err);
	job_feed_stop(j);
	close_pipeline_fds(j);
	files_close(j, false);
	unpromise(j, j->run->fds_promised);
	proc_end(&j->run->proc);
	capture_finish(&j->run->out);
	capture_finish(&j->run->err);
	for (size_t i = 0; j->run->stage_err && i < j->run->nstages; i++)
		capture_finish(&j->run->stage_err[i]);
	live_free(&j->run->live_out);
	live_free(&j->run->live_err);
	for (size_t i = 0; j->run->stage_live && i < j->run->nstages; i++)
		live_free(&j->run->stage_live[i]);
	j->duration_ms = since_start(j);
}

void job_proc_outcome(struct job *j)
{
	j->run->stages[0] = j->run->proc.status;
	j->has_rc = j->run->proc.status.has_status;
	j->returncode = stage_returncode(&j->run->proc.status);
}

/* The executor says the command never ran (an exec error on a node, as
 * a local spawn would have: spawn_failed), or the attempt failed for a
 * reason of its own.  Returns whether it did. */
static bool executor_failed(struct job *j)
{
	const struct proc *p = &j->run->proc;
	if (p->fail_step == SPAWN_OK && !p->fail_msg)
		return false;
	j->status = ST_ERROR;
	j->has_rc = p->fail_step == SPAWN_EXEC;
	j->returncode = p->fail_err == ENOENT ? 127 : 126;
	free(j->error);
	if (p->fail_msg) {
		j->error = xstrdup(p->fail_msg);
	} else {
		/* as spawn_failed says it */
		char *prog = spec_redact(j->spec, j->spec->stages[0].argv[0]);
		j->error = p->fail_step == SPAWN_EXEC
			 ? xasprintf("%s: %s", prog, strerror(p->fail_err))
			 : xasprintf("%s: %s: %s", prog, spawn_step_name(p->fail_step),
				     strerror(p->fail_err));
		free(prog);
	}
	return true;
}

/* The attempt's status, from how its process (or pipeline) ended. */
static void attempt_outcome(struct job *j)
{
	if (j->status == ST_ERROR || executor_failed(j))
		return;
	const struct job_kind *k = kind_get(j->spec->kind);
	if (k->outcome)
		k->outcome(j);
	else
		job_proc_outcome(j);
	if (j->status != ST_ERROR)
		j->status = job_outcome(j->timed_out, j->cancelled, j->returncode,
					j->spec->expect, j->spec->nexpect);
}

static void attempt_end(struct job *j)
{
	attempt_close(j);
	job_steps_progress_clear(j); /* ended: off the progress line */
	const struct kind_host *h = kind_get(j->spec->kind)->host;
	int err;
	if (h && h->came_short && h->came_short(j, &err)) {
		came_short(j, err);
		return;
	}
	attempt_outcome(j);
	xgrow(&j->run->hist, &j->run->hist_cap, j->run->nhist + 1, sizeof *j->run->hist);
	j->run->hist[j->run->nhist++] = (struct attempt_rec){ j->status, j->has_rc, j->returncode,
		j->duration_ms, j->run->t_start - j->env->run_t0, j->slot };

	if ((j->status == ST_FAILED || j->status == ST_TIMEOUT) &&
	    j->attempts <= j->spec->retries && !j->env->stopping) {
		double delay = j->spec->retry_delay * 1000.0;
		for (int k = 1; k < j->attempts; k++)   /* backoff^(attempts-1) */
			delay *= j->spec->retry_backoff;
		job_event(j, JOB_EV_RETRY);
		timer_start(j->env->loop, &j->run->t_retry, now_ms() + delay, on_retry, j);
	} else {
		job_event(j, JOB_EV_END);
	}
	j->env->ops->ended(j);
}

static void on_retry(struct timer *t)
{
	struct job *j = t->data;
	j->env->ops->ready(j);
}

/* ------------------------------------------------------ process events */

/* Before each look at the group: orphans reaped, output read. */
static void job_proc_look(struct proc *p)
{
	struct job *j = p->ctx;
	j->env->ops->reap_orphans(j);
	drain(j);
}

static void job_proc_empty(struct proc *p)
{
	struct job *j = p->ctx;
	if (job_event(j, JOB_EV_GROUP_EMPTY))
		attempt_end(j);
}

/* The main process exited: anything left in its group gets the job's
 * signal (then KILL after kill_after); the attempt ends once the group
 * is empty. */
static void job_proc_exit(struct proc *p)
{
	struct job *j = p->ctx;
	job_event(j, JOB_EV_EXITED);
	job_feed_stop(j);
	proc_wait_empty(p, j->spec->signal, j->spec->kill_after);
}

bool job_stream_live(const struct job_spec *s, const struct io_spec *io, bool tag)
{
	return io->mode == IO_TEE ||
	       (tag && (io->mode == IO_INHERIT ||
			(io->mode == IO_CAPTURE &&
			 !(kind_get(s->kind)->splice_stdout && io == &s->out))));
}

static void on_timeout(struct timer *t)
{
	struct job *j = t->data;
	if (j->run->proc.exited || !job_event(j, JOB_EV_TIMEOUT))
		return;
	j->timed_out = true;
	proc_deadline(&j->run->proc, j->spec->signal, j->spec->kill_after);
}

/* An executor's step runs now: its timeout counts from here. */
static void job_proc_running(struct proc *p)
{
	struct job *j = p->ctx;
	if (j->spec->timeout > 0)
		timer_start(j->env->loop, &j->run->t_timeout, now_ms() + j->spec->timeout * 1000,
			    on_timeout, j);
}

/* ---------------------------------------------------------------- start */

static void fail_now(struct job *j, bool has_rc, int rc, char *msg)
{
	j->status = ST_ERROR;
	j->has_rc = has_rc;
	j->returncode = rc;
	free(j->error);
	j->error = msg;
	attempt_end(j);
}

static void reset_attempt(struct job *j)
{
	const struct job_spec *s = j->spec;
	job_event(j, JOB_EV_START);
	j->status = ST_NONE;
	j->has_rc = false;
	free(j->error);
	j->error = NULL;
	j->timed_out = j->cancelled = false;
	proc_clear(&j->run->proc);
	j->run->host_fatal = false;
	j->run->stages_ended = 0;
	capture_free(&j->run->out);
	capture_free(&j->run->err);
	for (size_t i = 0; j->run->stage_err && i < j->run->nstages; i++)
		capture_free(&j->run->stage_err[i]);
	free(j->run->stages);
	j->run->nstages = s->nstages;
	j->run->stages = xcalloc(s->nstages, sizeof *j->run->stages);
	for (size_t i = 0; i < s->nstages; i++)
		j->run->stages[i].exit_code = -1;
	j->run->resbuf.len = 0;
	free(j->run->steps_info);
	free(j->run->steps_error);
	j->run->steps_info = j->run->steps_error = NULL;
	job_steps_progress_clear(j);
	j->run->diag.len = 0;
	if (j->run->diag.p)
		j->run->diag.p[0] = 0;
}

/* A pipe the runner reads: kept (capture, tee) and/or streamed live
 * (tee; inherit under --tag, not kept; capture under --tag, but for a
 * pool job's results).  Live stdout goes to our stderr while the results
 * use our stdout. */
static void start_stream(struct job *j, const struct io_spec *io, int fd,
			 struct capture *c, struct live *lv)
{
	const struct job_spec *s = j->spec;
	bool live = job_stream_live(s, io, j->env->tag);
	if (live) {
		/* the tag's name: untagged lines carry none */
		char *name = j->env->tag ? spec_redact(s, s->name) : NULL;
		char *shown = name ? ctl_escape(name, true) : NULL;
		live_init(lv, fd == 1 && j->env->live_out_to_stderr ? 2 : fd, shown,
			  j->env->tag, j->env->timestamps);
		free(shown);
		free(name);
	}
	/* stdout that is results (a pool's document) is kept whole: the
	 * record holds it, and max_output bounds only what is stdout */
	bool whole = c == &j->run->out && kind_get(s->kind)->splice_stdout;
	capture_init(c, io->mode == IO_INHERIT ? 0 : whole ? UINT64_MAX : s->max_output,
		     s->digest && io->mode != IO_INHERIT, live ? lv : NULL);
}

/* ----------------------------------------------------- files by path */

/* The path slot k opens for the child, with its open flags; NULL when
 * that slot is not a file. */
static const char *file_path(const struct job_spec *s, size_t k, int *flags)
{
	const struct io_spec *io = NULL;
	if (k == 0) {
		*flags = O_RDONLY;
		return s->in.kind == IN_FILE ? s->in.path : NULL;
	}
	if (k <= 2)
		io = k == 1 ? &s->out : &s->err;
	else if (kind_get(s->kind)->many_stages && s->stages[k - 3].has_err)
		io = &s->stages[k - 3].err;
	if (!io || io->mode != IO_FILE)
		return NULL;
	*flags = O_WRONLY | O_CREAT | (io->append ? O_APPEND : O_TRUNC);
	return io->path;
}

/* "stdin file PATH: WHY" and the like, for the job's error. */
static char *file_error(const struct job *j, size_t k, const char *why)
{
	const struct job_spec *s = j->spec;
	int flags;
	const char *path = file_path(s, k, &flags);
	if (k == 0)
		return xasprintf("%s file %s: %s", kind_get(s->kind)->from_key, path, why);
	if (k <= 2)
		return xasprintf("%s file %s: %s", k == 1 ? "stdout" : "stderr", path, why);
	return xasprintf("stage %zu stderr file %s: %s", k - 2, path, why);
}

/* Close the job's files and abandon those still opening; with
 * keep_waited, files that were opened in the background stay (the
 * other end of a FIFO is there: the job keeps it while it waits for
 * headroom). */
static void files_close(struct job *j, bool keep_waited)
{
	for (size_t k = 0; k < j->run->nfiles; k++) {
		struct job_file *f = &j->run->files[k];
		if (f->op) {
			loop_del(j->env->loop, &f->w);
			opener_cancel(f->op);
			f->op = NULL;
		}
		if (f->fd >= 0 && !(keep_waited && f->waited)) {
			close(f->fd);
			f->fd = -1;
			f->waited = false;
		}
	}
	j->run->opening = 0;
}

/* Were its files opened in the background (and kept)? */
static bool files_waited(const struct job *j)
{
	for (size_t k = 0; k < job_run_of(j)->nfiles; k++)
		if (job_run_of(j)->files[k].fd >= 0 && job_run_of(j)->files[k].waited)
			return true;
	return false;
}

bool job_resumes(const struct job *j)
{
	return !job_run_of(j)->opening && files_waited(j);
}

/* The job gave up on a file that is still opening (its timeout, a
 * cancel): no process ever ran.  The record says which file. */
static void open_abandon(struct job *j)
{
	for (size_t k = 0; k < j->run->nfiles; k++) {
		struct job_file *f = &j->run->files[k];
		if (!f->op)
			continue;
		char why[96];
		if (opener_is_fifo(f->op))
			snprintf(why, sizeof why, "a FIFO with no %s yet (it opens once both ends are open)",
				 k == 0 ? "writer" : "reader");
		else
			snprintf(why, sizeof why, "its open had not returned");
		free(j->error);
		j->error = file_error(j, k, why);
		break;
	}
	files_close(j, false);
	attempt_end(j);
}

static void on_open_timeout(struct timer *t)
{
	struct job *j = t->data;
	j->timed_out = true;
	open_abandon(j);
}

static void on_file_open(struct watch *w, uint32_t ev)
{
	struct job *j = w->data;
	struct job_file *f = (struct job_file *)(void *)((char *)w - offsetof(struct job_file, w));
	int fd;
	/* unwatched first: the opener's eventfd closes with it */
	loop_del(j->env->loop, &f->w);
	if (!opener_take(f->op, &fd)) {
		/* not yet (a spurious wake-up) */
		if (loop_add(j->env->loop, &f->w, opener_fd(f->op), EPOLLIN, on_file_open, j) == 0)
			return;
		fd = -1;
		errno = ENOMEM;
		opener_cancel(f->op);
	}
	f->op = NULL;
	j->run->opening--;
	if (fd < 0) {
		int e = errno;
		files_close(j, false);
		if (proc_err_short(e)) {
			/* as a start short of fds: nothing ran, the job waits
			 * for a running one to end (the runner's ended()) */
			timer_stop(j->env->loop, &j->run->t_timeout);
			came_short(j, e);
			return;
		}
		fail_now(j, false, 0, file_error(j, (size_t)(f - j->run->files), strerror(e)));
		return;
	}
	f->fd = fd;
	f->waited = true;
	if (j->run->opening)
		return;
	/* Every file is open: the process starts through the runner's own
	 * start path (spec order, headroom, tracking), as the same attempt.
	 * Its timeout is checked there; until then no timer runs. */
	timer_stop(j->env->loop, &j->run->t_timeout);
	job_event(j, JOB_EV_FILES_OPEN);
	j->env->ops->ended(j);
	j->env->ops->ready(j);
}

/* Open every file of the job that is not open yet.  Returns 0 (all
 * open), 1 (some are opening in the background: on_file_open), or -1
 * with errno and *failed the slot. */
static int files_open(struct job *j, size_t *failed)
{
	const struct job_spec *s = j->spec;
	if (!j->run->files) {
		/* (only jobs that name a file carry the slots) */
		size_t n = 3 + (kind_get(s->kind)->many_stages ? s->nstages : 0), k;
		int flags;
		for (k = 0; k < n && !file_path(s, k, &flags); k++)
			;
		if (k == n)
			return 0;
		j->run->nfiles = n;
		j->run->files = xcalloc(j->run->nfiles, sizeof *j->run->files);
		for (k = 0; k < j->run->nfiles; k++)
			j->run->files[k].fd = -1;
	}
	for (size_t k = 0; k < j->run->nfiles; k++) {
		struct job_file *f = &j->run->files[k];
		int flags;
		const char *path = file_path(s, k, &flags);
		if (!path || f->fd >= 0 || f->op)
			continue;
		int r = opener_open(path, flags, 0666, &f->fd, &f->op);
		if (r == 1 && loop_add(j->env->loop, &f->w, opener_fd(f->op), EPOLLIN,
				       on_file_open, j) < 0) {
			int e = errno;
			opener_cancel(f->op);
			f->op = NULL;
			errno = e;
			r = -1;
		}
		if (r < 0) {
			*failed = k;
			return -1;
		}
		j->run->opening += r;
	}
	return j->run->opening ? 1 : 0;
}

/* ---------------------------------------------------------------- start */

const struct proc_stdio JOB_PIPE_TO_RUNNER = { PROC_STDIO_PIPE_OUT, -1 };

/* What the child's output fd is for io: a pipe the runner reads
 * (capture, tee; inherit under --tag, relayed line by line), /dev/null,
 * the file of slot file (opened already, files_open) or piperun's own
 * fd (inherit). */
struct proc_stdio job_out_slot(const struct job *j, const struct io_spec *io,
			       int inherit_fd, size_t file)
{
	switch (io->mode) {
	case IO_CAPTURE:
	case IO_TEE:
		return JOB_PIPE_TO_RUNNER;
	case IO_INHERIT:
		if (j->env->tag)
			return JOB_PIPE_TO_RUNNER;
		return (struct proc_stdio){ PROC_STDIO_FD, inherit_fd };
	case IO_NULL:
		return (struct proc_stdio){ PROC_STDIO_FD, j->env->devnull };
	case IO_FILE:
		return (struct proc_stdio){ PROC_STDIO_FD, job_run_of(j)->files[file].fd };
	case IO_STDOUT:
		break;
	}
	return (struct proc_stdio){ PROC_STDIO_DUP, 1 };
}

/* The child's fds, declared (proc.h).  Returns how many, or -1 with
 * errno. */
static int declare_stdio(struct job *j, struct proc_stdio *io, int *stage_slot, int *desc)
{
	const struct job_spec *s = j->spec;
	switch (s->in.kind) {
	case IN_NULL:
		io[0] = (struct proc_stdio){ PROC_STDIO_FD, j->env->devnull };
		break;
	case IN_INHERIT:
		io[0] = (struct proc_stdio){ PROC_STDIO_INHERIT, 0 };
		break;
	case IN_FILE:
		io[0] = (struct proc_stdio){ PROC_STDIO_FD, j->run->files[0].fd };
		break;
	default:
		io[0] = (struct proc_stdio){ PROC_STDIO_PIPE_IN, -1 };
		break;
	}
	io[1] = job_out_slot(j, &s->out, 1, 1);
	io[2] = job_out_slot(j, &s->err, 2, 2);
	*desc = -1;
	const struct kind_host *h = kind_get(s->kind)->host;
	return h ? h->stdio(j, io, stage_slot, desc) : 3;
}

static int piped_fd(const struct proc_stdio *io)
{
	return io->kind == PROC_STDIO_PIPE_IN || io->kind == PROC_STDIO_PIPE_OUT ? io->fd : -1;
}

/* The process runs: the runner's ends of its pipes, watched. */
static void started(struct job *j, const struct proc_stdio *io, const int *stage_slot)
{
	const struct job_spec *s = j->spec;
	struct loop *l = j->env->loop;
	const struct job_kind *k = kind_get(s->kind);
	const struct kind_host *h = k->host;
	int err_slot = h ? h->err_slot : 2;
	j->run->fd_in = piped_fd(&io[0]);
	j->run->fd_out = piped_fd(&io[1]);
	j->run->fd_err = piped_fd(&io[err_slot]);
	if (!k->many_stages)
		j->run->stages[0].pid = j->run->proc.pid;
	if (j->run->fd_out >= 0) {
		start_stream(j, &s->out, 1, &j->run->out, &j->run->live_out);
		loop_add(l, &j->run->w_out, j->run->fd_out, EPOLLIN, on_out, j);
	}
	if (j->run->fd_err >= 0) {
		start_stream(j, &s->err, 2, &j->run->err, &j->run->live_err);
		loop_add(l, &j->run->w_err, j->run->fd_err, EPOLLIN, on_err, j);
	}
	if (h) {
		j->run->fd_res = io[h->side_slot].fd;
		loop_add(l, &j->run->w_res, j->run->fd_res, EPOLLIN, on_res, j);
	}
	if (err_slot != 2) {
		j->run->fd_diag = io[2].fd;
		loop_add(l, &j->run->w_diag, j->run->fd_diag, EPOLLIN, on_diag, j);
	}
	for (size_t i = 0; k->many_stages && i < s->nstages; i++) {
		j->run->fd_stage[i] = stage_slot[i] < 0 ? -1 : piped_fd(&io[stage_slot[i]]);
		if (j->run->fd_stage[i] < 0)
			continue;
		start_stream(j, &s->stages[i].err, 2, &j->run->stage_err[i], &j->run->stage_live[i]);
		loop_add(l, &j->run->w_stage[i], j->run->fd_stage[i], EPOLLIN, on_stage_err, j);
	}
	if (j->run->fd_in >= 0) {
		job_feed_start(j);
	}
	if (s->timeout > 0 && j->run->proc.running)
		timer_start(l, &j->run->t_timeout, j->run->t_start + s->timeout * 1000, on_timeout, j);
}

/* Nothing started for lack of fds or processes (errno): the job waits
 * for headroom (job_start's -1). */
static int unstart(struct job *j)
{
	int saved = errno;
	job_event(j, JOB_EV_SHORT);
	j->throttled++;
	/* a FIFO whose other end came stays open while the job waits: the
	 * attempt goes on once there is headroom */
	files_close(j, true);
	if (!job_resumes(j))
		j->attempts--; /* nothing started: as if this attempt never was */
	errno = saved;
	return -1;
}

/* The spawn failed: wait for headroom, or end the attempt with why. */
static int spawn_failed(struct job *j, const struct proc_error *e, int errslot)
{
	const struct job_spec *s = j->spec;
	errno = e->err;
	if (e->slot == 0 || (e->step == SPAWN_CLONE && proc_err_short(e->err)) ||
	    (e->slot > 0 && proc_err_short(e->err)))
		return unstart(j);
	if (e->slot > 0) {
		/* files are open already: what failed is a pipe */
		const struct kind_host *h = kind_get(s->kind)->host;
		const char *what = e->slot == 1 ? "stdout" : e->slot == errslot ? "stderr"
				 : h ? h->setup : "stdio";
		fail_now(j, false, 0, xasprintf("%s set-up: %s", what, strerror(e->err)));
		return 0;
	}
	const struct kind_host *h = kind_get(s->kind)->host;
	char *prog = spec_redact(s, h && h->prog ? h->prog : s->stages[0].argv[0]);
	if (e->unwatched) {
		fail_now(j, false, 0, xasprintf("%s: cannot watch it: %s", prog, strerror(e->err)));
	} else if (e->step == SPAWN_EXEC) {
		fail_now(j, true, e->err == ENOENT ? 127 : 126,
			 xasprintf("%s: %s", prog, strerror(e->err)));
	} else if (e->step == SPAWN_CHDIR) {
		char *cwd = spec_redact(s, s->cwd);
		fail_now(j, false, 0, xasprintf("cwd %s: %s", cwd, strerror(e->err)));
		free(cwd);
	} else {
		fail_now(j, false, 0, xasprintf("%s: %s: %s", prog, spawn_step_name(e->step),
						strerror(e->err)));
	}
	free(prog);
	return 0;
}

/* Declare the child's fds and start it, in a cgroup of its own where
 * the run has them. */
static int spawn_attempt(struct job *j, int spills)
{
	const struct job_spec *s = j->spec;
	struct job_env *env = j->env;
	const struct stage_spec *st = &s->stages[0];
	const struct kind_host *h = kind_get(s->kind)->host;
	struct proc_stdio io[6 + SPAWN_STAGES_MAX];
	int stage_slot[SPAWN_STAGES_MAX], desc;
	int n = declare_stdio(j, io, stage_slot, &desc);
	if (n < 0) {    /* (only a host's own fds fail here) */
		if (proc_err_short(errno))
			return unstart(j);
		fail_now(j, false, 0, xasprintf("%s set-up: %s", h->setup, strerror(errno)));
		return 0;
	}
	struct proc_opts o = {
		.spawn = {
			/* a host is this very program, whatever became of its file */
			.path = h ? "/proc/self/exe" : st->exe,
			.argv = h ? h->argv : st->argv,
			.envp = h && h->own_env ? NULL : st->envp,
			.cwd = s->cwd,
			.has_nice = s->has_nice, .nice = s->nice,
			.has_umask = s->has_umask, .umask = s->umask,
			.rlimits = s->rlimits, .nrlimits = s->nrlimits,
			.pass_fds = s->pass_fds, .npass_fds = s->npass_fds,
			.block_signals = h && h->block_signals,
		},
		.stdio = io, .nstdio = n,
		.group = PROC_GROUP_OWN, .contain = env->contain,
		.executor = env->executor, .exec_ctx = env->exec_ctx,
		.leftover_sig = s->signal, .leftover_kill_after = s->kill_after,
		.loop = env->loop, .t0 = j->run->t_start,
		.on_exit = job_proc_exit, .on_look = job_proc_look, .on_empty = job_proc_empty,
		.on_running = job_proc_running, .ctx = j,
	};
	struct proc_error e;
	int rc = proc_spawn(&j->run->proc, &o, &e);
	if (desc >= 0)
		close(desc);
	if (rc < 0)
		return spawn_failed(j, &e, h ? h->err_slot : 2);
	/* the child has its own copies of the files */
	files_close(j, false);
	j->run->fds_promised = spills;
	if (env->fds)
		__atomic_add_fetch(&env->fds->spills, spills, __ATOMIC_RELAXED);
	started(j, io, stage_slot);
	return 0;
}

/* Every program is resolved before anything starts: one that is missing
 * fails the job and leaves nothing running or blocked.  Returns whether
 * one is. */
static bool program_missing(struct job *j)
{
	const struct job_spec *s = j->spec;
	for (size_t i = 0; i < s->nstages; i++) {
		if (!s->stages[i].exe_status)
			continue;
		char *msg;
		if (kind_get(s->kind)->many_stages)
			msg = xasprintf("stage %zu: %s", i + 1, s->stages[i].exe_error);
		else
			msg = xstrdup(s->stages[i].exe_error);
		fail_now(j, true, s->stages[i].exe_status, msg);
		return true;
	}
	for (size_t i = 0; s->steps && i < s->steps->nsteps; i++) {
		const struct step_spec *sp = &s->steps->steps[i];
		if (sp->exe_status) {
			fail_now(j, true, sp->exe_status, xstrdup(sp->exe_error));
			return true;
		}
	}
	return false;
}

int job_start(struct job *j)
{
	const struct job_spec *s = j->spec;
	int spills;
	size_t bad;

	job_run_make(j);
	if (job_fds_short(j, &spills)) {
		j->throttled++;
		errno = EMFILE;
		return -1;
	}
	if (job_resumes(j)) {
		/* the same attempt, its files open: did that take all its time? */
		job_event(j, JOB_EV_START);
		if (s->timeout > 0 && now_ms() >= j->run->t_start + s->timeout * 1000) {
			j->timed_out = true;
			attempt_end(j);
			return 0;
		}
	} else {
		j->attempts++;
		j->run->t_start = now_ms();
		if (j->attempts == 1)
			j->started_ms = j->run->t_start - j->env->run_t0;
		reset_attempt(j);
		if (program_missing(j))
			return 0;
	}
	/* Files by path first.  A FIFO or a device may wait for its other
	 * end for as long as it likes: the job waits (RUNNING, holding its
	 * slot, no process) and its timeout, a cancel or the run's end may
	 * end that; nothing else waits with it. */
	switch (files_open(j, &bad)) {
	case -1:
		if (proc_err_short(errno))
			return unstart(j);
		fail_now(j, false, 0, file_error(j, bad, strerror(errno)));
		return 0;
	case 1:
		if (s->timeout > 0)
			timer_start(j->env->loop, &j->run->t_timeout, j->run->t_start + s->timeout * 1000,
				    on_open_timeout, j);
		return 0;
	}
	return spawn_attempt(j, spills);
}

void job_skip(struct job *j, const char *why)
{
	if (j->run)
		files_close(j, false); /* a FIFO kept while waiting for headroom */
	job_event(j, JOB_EV_SKIP);
	/* a retry that no longer starts: the job ran, and its last
	 * attempt's outcome stands; a job that ran is never "skipped" */
	if (j->attempts > 0 && j->run->nhist > 0) {
		j->status = j->run->hist[j->run->nhist - 1].status;
		return;
	}
	j->status = ST_SKIPPED;
	free(j->error);
	j->error = why ? xstrdup(why) : NULL;
}

void job_restore(struct job *j, struct job_restored *r)
{
	job_event(j, JOB_EV_SKIP);   /* it will never run: pending -> done */
	j->status = ST_OK;
	j->attempts = r->attempts;
	j->has_rc = r->has_rc;
	j->returncode = r->returncode;
	j->duration_ms = r->duration_ms;
	free(j->restored);
	j->restored = r->record;
	r->record = NULL;
	if (r->has_out) {
		job_run_make(j);
		capture_init(&j->run->out, UINT64_MAX, false, NULL);
		capture_add(&j->run->out, r->out, r->out_len);
		capture_finish(&j->run->out);
	}
}

void job_cancel(struct job *j, bool now)
{
	if (j->run && j->run->opening) {
		/* still opening its files: there is no process to signal */
		j->cancelled = true;
		open_abandon(j);
		return;
	}
	switch (j->state) {
	case JOB_RUNNING:
	case JOB_ENDING:
		job_event(j, JOB_EV_CANCEL);
		if (!j->run->proc.exited && !j->timed_out)
			j->cancelled = true;
		if (now)
			proc_kill(&j->run->proc);
		else
			proc_terminate(&j->run->proc, j->spec->signal, j->spec->kill_after);
		break;
	case JOB_RETRY_WAIT:
		timer_stop(j->env->loop, &j->run->t_retry);
		job_event(j, JOB_EV_CANCEL);
		break;
	default:
		break;
	}
}

/* Its stdout stays, for the jobs still to read it; the rest of its
 * output (and spill files' fds) goes now. */
static void run_let_go_but_stdout(struct job_run *rn)
{
	capture_free(&rn->err);
	for (size_t i = 0; rn->stage_err && i < rn->nstages; i++)
		capture_free(&rn->stage_err[i]);
	proc_free(&rn->proc);
	buf_free(&rn->resbuf);
	buf_free(&rn->diag);
	free(rn->steps_info);
	rn->steps_info = NULL;
}

/* Everything of j's attempts, and the struct: j keeps its status and
 * counts only.  Every attempt closed its files and left the loop. */
static void run_free(struct job *j)
{
	struct job_run *rn = j->run;
	if (!rn)
		return;
	run_let_go_but_stdout(rn);
	for (size_t k = 0; k < rn->nfiles; k++)
		if (rn->files[k].fd >= 0)
			close(rn->files[k].fd);
	free(rn->files);
	capture_free(&rn->out);
	free(rn->stage_err);
	free(rn->stage_live);
	free(rn->fd_stage);
	free(rn->w_stage);
	free(rn->steps_error);
	free(rn->stages);
	free(rn->hist);
	free(rn);
	j->run = NULL;
}

/* Nothing of j is needed but its counts: its attempts and its spec go. */
static void let_go(struct job *j, const struct spec *s)
{
	run_free(j);
	if (s) {
		spec_job_drop(s, j->index);
		j->spec = NULL;
	}
}

void job_reader_done(struct job *src, const struct spec *s)
{
	if (--src->from_refs == 0 && src->written)
		let_go(src, s);
}

void job_release(struct job *j, const struct spec *s)
{
	j->written = true;
	if (!j->from_refs)
		let_go(j, s);   /* its stdout too: no job reads it */
	else if (j->run)
		run_let_go_but_stdout(j->run);
}

void job_free(struct job *j)
{
	run_free(j);
	free(j->error);
	free(j->rdeps);
	free(j->restored);
	j->restored = NULL;
	j->error = NULL;
	j->rdeps = NULL;
}
