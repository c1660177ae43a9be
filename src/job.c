/* SPDX-License-Identifier: GPL-3.0-or-later */
/* job.c - the lifecycle of one command job (see job.h). */
#include "config.h"
#include "job.h"
#include "chain.h"
#include "opener.h"
#include "spawn.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define FEED_CHUNK (64 * 1024)
/* Reads per wake-up per stream, so one chatty job cannot starve others. */
#define READS_PER_EVENT 16

const char *job_status_name(enum job_status s)
{
	static const char *const names[] = {
		"pending", "ok", "failed", "timeout", "error", "skipped", "cancelled",
	};
	return names[s];
}

void job_init(struct job *j, const struct job_spec *spec, size_t index,
	      struct job_env *env)
{
	memset(j, 0, sizeof *j);
	j->spec = spec;
	j->env = env;
	j->index = index;
	j->state = JOB_PENDING;
	j->pidfd = j->fd_in = j->fd_out = j->fd_err = -1;
	j->fd_res = j->fd_diag = -1;
	j->cj.dirfd = j->cj.procs_fd = -1;
	j->owner = -1;
	j->out.spill_fd = j->err.spill_fd = -1;

}

bool job_ok(const struct job *j)
{
	return j->status == ST_OK;
}

static double since_start(const struct job *j)
{
	return now_ms() - j->t_start;
}

static void add_term(struct job *j, int sig)
{
	xgrow(&j->term, &j->term_cap, j->nterm + 1, sizeof *j->term);
	j->term[j->nterm].signal = sig;
	j->term[j->nterm].at_ms = since_start(j);
	j->nterm++;
}

/* The ladder's send(): everything of the job, its process group and in
 * cgroup mode every process in its cgroup (escaped ones included).  The
 * SIGCONT that follows each signal is not listed in termination. */
static bool signal_group(void *ctx, int sig, bool follow_up)
{
	struct job *j = ctx;
	if (j->pid <= 0)
		return false;
	if (!follow_up)
		contain_job_escaped(&j->cj, j->pid, &j->escaped, &j->nescaped, &j->escaped_cap);
	bool any = contain_job_signal(j->env->contain, &j->cj, j->pid, sig);
	if (any && !follow_up)
		add_term(j, sig);
	return any;
}

static void close_fd(struct job *j, int *fd, struct watch *w)
{
	if (*fd < 0)
		return;
	loop_del(j->env->loop, w);
	close(*fd);
	*fd = -1;
}

static void feeder_free(struct feeder *f)
{
	if (f->kind == IN_RANDOM || f->kind == IN_FROM)
		free(f->chunk);
	memset(f, 0, sizeof *f);
}

static void close_in(struct job *j)
{
	close_fd(j, &j->fd_in, &j->w_in);
	feeder_free(&j->feed);
}

/* ------------------------------------------------------------- output */

/* Give back what is left of the job's promised spill files (fd_need). */
static void unpromise(struct job *j, int n)
{
	if (n > j->fds_promised)
		n = j->fds_promised;
	if (n <= 0)
		return;
	j->fds_promised -= n;
	if (j->env->fds)
		__atomic_sub_fetch(&j->env->fds->spills, n, __ATOMIC_RELAXED);
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
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return true;
		close_fd(j, fd, w);
		return false;
	}
	return true;
}

/* The pipeline host's records: whole struct chain_record units. */
static void take_records(struct job *j)
{
	size_t n = j->resbuf.len / sizeof(struct chain_record);
	for (size_t k = 0; k < n; k++) {
		struct chain_record rec;
		memcpy(&rec, j->resbuf.p + k * sizeof rec, sizeof rec);
		if (rec.type == CHAIN_REC_FATAL) {
			j->host_fatal = true;
			j->host_fatal_err = rec.err;
			continue;
		}
		if (rec.index < 0 || (size_t)rec.index >= j->nstages)
			continue;
		struct stage_result *s = &j->stages[rec.index];
		s->pid = rec.pid;
		if (rec.type == CHAIN_REC_ENDED && (rec.exit_code >= 0 || rec.signal)) {
			s->has_status = true;
			s->exit_code = rec.exit_code;
			s->signal = rec.signal;
			s->user_ms = rec.utime_us / 1e3;
			s->sys_ms = rec.stime_us / 1e3;
			s->maxrss_kb = (long)rec.maxrss_kb;
			j->stages_ended++;
		}
	}
	size_t used = n * sizeof(struct chain_record);
	memmove(j->resbuf.p, j->resbuf.p + used, j->resbuf.len - used);
	j->resbuf.len -= used;
}

/* A steps host's info lines (steps.h): "P progress", "E error", and last
 * the JSON counts. */
static pthread_mutex_t steps_progress_mu = PTHREAD_MUTEX_INITIALIZER;

void job_steps_progress(const struct job *j, char *out, size_t n)
{
	pthread_mutex_lock(&steps_progress_mu);
	snprintf(out, n, "%s", j->steps_progress);
	pthread_mutex_unlock(&steps_progress_mu);
}

static void take_steps_info(struct job *j)
{
	size_t off = 0;
	char *nl;
	while ((nl = memchr(j->resbuf.p + off, '\n', j->resbuf.len - off))) {
		char *line = j->resbuf.p + off;
		*nl = 0;
		if (!strncmp(line, "P ", 2)) {
			pthread_mutex_lock(&steps_progress_mu);
			snprintf(j->steps_progress, sizeof j->steps_progress, "%s", line + 2);
			pthread_mutex_unlock(&steps_progress_mu);
		} else if (!strncmp(line, "E ", 2)) {
			free(j->steps_error);
			j->steps_error = xstrdup(line + 2);
		} else if (*line == '{') {
			free(j->steps_info);
			j->steps_info = xstrdup(line);
		}
		off = (size_t)(nl - j->resbuf.p) + 1;
	}
	memmove(j->resbuf.p, j->resbuf.p + off, j->resbuf.len - off);
	j->resbuf.len -= off;
}

static void take_side(struct job *j)
{
	if (j->spec->kind == KIND_STEPS)
		take_steps_info(j);
	else
		take_records(j);
}

/* Read a small side channel (records, diagnostics) into a buffer. */
static bool pump_buf(struct job *j, int *fd, struct watch *w, struct buf *b)
{
	for (;;) {
		buf_reserve(b, 4096);
		ssize_t r = read(*fd, b->p + b->len, b->cap - b->len - 1);
		if (r > 0) {
			b->len += (size_t)r;
			if (b->len > (1u << 20) && b == &j->diag)
				b->len = 1u << 20; /* a host this chatty is broken: keep the start */
			b->p[b->len] = 0;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return true;
		close_fd(j, fd, w);
		return false;
	}
}

static void on_res(struct watch *w, uint32_t ev)
{
	struct job *j = w->data;
	pump_buf(j, &j->fd_res, &j->w_res, &j->resbuf);
	take_side(j);
}

static void on_diag(struct watch *w, uint32_t ev)
{
	struct job *j = w->data;
	pump_buf(j, &j->fd_diag, &j->w_diag, &j->diag);
}

static void on_stage_err(struct watch *w, uint32_t ev)
{
	struct job *j = w->data;
	size_t i = (size_t)(w - j->w_stage);
	pump(j, &j->fd_stage[i], &j->w_stage[i], &j->stage_err[i], READS_PER_EVENT);
}

static void drain(struct job *j)
{
	if (j->fd_out >= 0)
		pump(j, &j->fd_out, &j->w_out, &j->out, -1);
	if (j->fd_err >= 0)
		pump(j, &j->fd_err, &j->w_err, &j->err, -1);
	if (j->fd_res >= 0) {
		pump_buf(j, &j->fd_res, &j->w_res, &j->resbuf);
		take_side(j);
	}
	if (j->fd_diag >= 0)
		pump_buf(j, &j->fd_diag, &j->w_diag, &j->diag);
	for (size_t i = 0; j->fd_stage && i < j->nstages; i++)
		if (j->fd_stage[i] >= 0)
			pump(j, &j->fd_stage[i], &j->w_stage[i], &j->stage_err[i], -1);
}

static void close_pipeline_fds(struct job *j)
{
	close_fd(j, &j->fd_res, &j->w_res);
	close_fd(j, &j->fd_diag, &j->w_diag);
	for (size_t i = 0; j->fd_stage && i < j->nstages; i++)
		close_fd(j, &j->fd_stage[i], &j->w_stage[i]);
}

static void on_out(struct watch *w, uint32_t ev)
{
	struct job *j = w->data;
	pump(j, &j->fd_out, &j->w_out, &j->out, READS_PER_EVENT);
}

static void on_err(struct watch *w, uint32_t ev)
{
	struct job *j = w->data;
	pump(j, &j->fd_err, &j->w_err, &j->err, READS_PER_EVENT);
}

/* -------------------------------------------------------------- stdin */

static void feeder_init(struct job *j)
{
	const struct in_spec *in = &j->spec->in;
	struct feeder *f = &j->feed;
	memset(f, 0, sizeof *f);
	f->kind = in->kind;
	switch (in->kind) {
	case IN_TEXT:
	case IN_BASE64:
		f->chunk = in->data;
		f->chunk_len = in->len;
		break;
	case IN_RANDOM:
		f->left = in->nrandom;
		splitmix_init(&f->rng, in->seed);
		f->chunk = xmalloc(FEED_CHUNK);
		break;
	case IN_FROM:
		f->src = &j->env->all[in->from_idx].out;
		f->chunk = xmalloc(FEED_CHUNK);
		break;
	default:
		break;
	}
}

/* Stage the next bytes; false when the source is exhausted. */
static bool feeder_refill(struct job *j)
{
	struct feeder *f = &j->feed;
	const struct in_spec *in = &j->spec->in;
	f->chunk_off = f->chunk_len = 0;
	if (f->kind == IN_RANDOM && f->left) {
		size_t n = f->left < FEED_CHUNK ? (size_t)f->left : FEED_CHUNK;
		if (in->seeded) {
			splitmix_fill(&f->rng, f->chunk, n);
		} else {
			size_t got = 0;
			while (got < n) {
				ssize_t r = getrandom(f->chunk + got, n - got, 0);
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0)
					return false;
				got += (size_t)r;
			}
		}
		f->left -= n;
		f->chunk_len = n;
		return true;
	}
	if (f->kind == IN_FROM) {
		ssize_t r = capture_read_at(f->src, f->off, f->chunk, FEED_CHUNK);
		if (r <= 0)
			return false;
		f->off += (uint64_t)r;
		f->chunk_len = (size_t)r;
		return true;
	}
	return false;
}

static void on_in(struct watch *w, uint32_t ev);

static void feed(struct job *j)
{
	struct feeder *f = &j->feed;
	while (j->fd_in >= 0) {
		if (f->chunk_off == f->chunk_len && !feeder_refill(j)) {
			close_in(j);
			return;
		}
		ssize_t r = write(j->fd_in, f->chunk + f->chunk_off, f->chunk_len - f->chunk_off);
		if (r > 0) {
			f->chunk_off += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN) {
			if (!j->w_in.active &&
			    loop_add(j->env->loop, &j->w_in, j->fd_in, EPOLLOUT, on_in, j) < 0)
				close_in(j);
			return;
		}
		/* EPIPE: the child stopped reading, which is its right */
		close_in(j);
		return;
	}
}

static void on_in(struct watch *w, uint32_t ev)
{
	feed(w->data);
}

/* --------------------------------------------------------- attempt end */

static void on_retry(struct timer *t);
static void files_close(struct job *j, bool keep_waited);

static int stage_returncode(const struct stage_result *s)
{
	return s->signal ? -s->signal : s->exit_code;
}

static bool short_of_resources(int err);

static void errline(void *ctx, const void *p, size_t n)
{
	struct buf *b = ctx;
	if (b->len < 4096)
		buf_add(b, p, n);
}

/* A pipeline's outcome from its host's records.  Every stage reported:
 * the pipefail rule.  Otherwise the host failed (a fatal libpipeline
 * error: the job's error) or was killed with its stages (timeout,
 * cancel: the host's own signal is the best we know). */
static void pipeline_outcome(struct job *j)
{
	if ((size_t)j->stages_ended == j->nstages) {
		int *rc = xmalloc(j->nstages * sizeof *rc);
		for (size_t i = 0; i < j->nstages; i++)
			rc[i] = stage_returncode(&j->stages[i]);
		j->has_rc = true;
		j->returncode = chain_returncode(rc, j->nstages, j->spec->pipefail);
		free(rc);
		return;
	}
	if (j->timed_out || j->cancelled) {
		j->has_rc = j->main.has_status;
		j->returncode = stage_returncode(&j->main);
		return;
	}
	/* the first line libpipeline (or the host) printed, if any */
	char *nl = j->diag.p ? strchr(j->diag.p, '\n') : NULL;
	if (nl)
		*nl = 0;
	const char *what = j->diag.len ? j->diag.p : "no message";
	if (!strncmp(what, "piperun: ", 9))
		what += 9;
	j->status = ST_ERROR;
	j->has_rc = false;
	free(j->error);
	if (j->main.signal)
		j->error = xasprintf("pipeline host killed by %s (%s)", sig_name(j->main.signal), what);
	else
		j->error = xasprintf("pipeline host failed with exit status %d: %s",
				     j->main.exit_code, what);
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
	j->state = JOB_PENDING;
	free(j->error);
	j->error = xasprintf("cannot start: %s", strerror(err));
	j->env->ops->ended(j);
}

static void attempt_end(struct job *j)
{
	struct loop *l = j->env->loop;
	timer_stop(l, &j->t_timeout);
	ladder_reset(&j->ladder);
	timer_stop(l, &j->t_poll);
	drain(j);
	close_fd(j, &j->fd_out, &j->w_out);
	close_fd(j, &j->fd_err, &j->w_err);
	close_in(j);
	close_pipeline_fds(j);
	files_close(j, false);
	j->resume = false;
	unpromise(j, j->fds_promised);
	if (j->pidfd >= 0) {
		loop_del(l, &j->w_pid);
		close(j->pidfd);
		j->pidfd = -1;
	}
	contain_job_end(j->env->contain, &j->cj);
	capture_finish(&j->out);
	capture_finish(&j->err);
	for (size_t i = 0; j->stage_err && i < j->nstages; i++)
		capture_finish(&j->stage_err[i]);
	live_free(&j->live_out);
	live_free(&j->live_err);
	for (size_t i = 0; j->stage_live && i < j->nstages; i++)
		live_free(&j->stage_live[i]);
	j->duration_ms = since_start(j);
	if (j->steps_progress[0]) {
		pthread_mutex_lock(&steps_progress_mu);
		j->steps_progress[0] = 0; /* ended: off the progress line */
		pthread_mutex_unlock(&steps_progress_mu);
	}

	bool pipeline = j->spec->kind == KIND_PIPELINE;
	int herr = j->host_fatal_err;
	if (pipeline && j->status != ST_ERROR && j->host_fatal &&
	    (size_t)j->stages_ended < j->nstages && !j->timed_out && !j->cancelled &&
	    (herr == EAGAIN || herr == ENFILE || herr == ENOMEM)) {
		/* the host could not fork (or the system ran out of files):
		 * like a spawn that found no headroom, the job waits for
		 * running ones and starts again.  EMFILE is not here: the
		 * host's fd limit is its own and other jobs ending would not
		 * raise it. */
		came_short(j, j->host_fatal_err);
		return;
	}
	if (j->status != ST_ERROR) {
		if (pipeline) {
			pipeline_outcome(j);
		} else {
			j->stages[0] = j->main;
			j->has_rc = j->main.has_status;
			j->returncode = stage_returncode(&j->main);
		}
	}
	if (j->status != ST_ERROR && j->spec->kind == KIND_POOL && j->has_rc &&
	    (j->returncode == 2 || j->returncode == 3) && !j->timed_out && !j->cancelled) {
		/* the pool could not run its items: say why, from its stderr */
		struct buf b = { 0 };
		if (j->err.active)
			capture_each(&j->err, errline, &b);
		char *nl = b.p ? strchr(b.p, '\n') : NULL;
		if (nl)
			*nl = 0;
		j->status = ST_ERROR;
		free(j->error);
		j->error = xstrdup(b.len ? b.p : "the pool could not run");
		buf_free(&b);
	}
	if (j->status != ST_ERROR && j->spec->kind == KIND_STEPS && j->has_rc &&
	    !j->timed_out && !j->cancelled) {
		if (j->returncode == 2) {
			/* the steps could not run: say why */
			struct buf b = { 0 };
			if (!j->steps_error && j->err.active)
				capture_each(&j->err, errline, &b);
			char *nl = b.p ? strchr(b.p, '\n') : NULL;
			if (nl)
				*nl = 0;
			j->status = ST_ERROR;
			free(j->error);
			j->error = xstrdup(j->steps_error ? j->steps_error
					   : b.len ? b.p : "the steps could not run");
			buf_free(&b);
		} else if (j->returncode == 1 && j->steps_error) {
			free(j->error);
			j->error = xstrdup(j->steps_error);
		}
	}
	if (j->status != ST_ERROR) {
		if (j->timed_out)
			j->status = ST_TIMEOUT;
		else if (j->cancelled)
			j->status = ST_CANCELLED;
		else {
			j->status = ST_FAILED;
			const struct job_spec *sp = j->spec;
			if (!sp->nexpect && j->returncode == 0)
				j->status = ST_OK;
			for (size_t i = 0; i < sp->nexpect; i++)
				if (j->returncode == sp->expect[i])
					j->status = ST_OK;
		}
	}
	xgrow(&j->hist, &j->hist_cap, j->nhist + 1, sizeof *j->hist);
	j->hist[j->nhist++] = (struct attempt_rec){ j->status, j->has_rc,
						    j->returncode, j->duration_ms };

	if ((j->status == ST_FAILED || j->status == ST_TIMEOUT) &&
	    j->attempts <= j->spec->retries && !j->env->stopping) {
		double delay = j->spec->retry_delay * 1000.0 *
			       pow(j->spec->retry_backoff, j->attempts - 1);
		j->state = JOB_RETRY_WAIT;
		timer_start(l, &j->t_retry, now_ms() + delay, on_retry, j);
	} else {
		j->state = JOB_DONE;
	}
	j->env->ops->ended(j);
}

static void on_retry(struct timer *t)
{
	struct job *j = t->data;
	j->env->ops->ready(j);
}

/* ------------------------------------------------------ process events */

static void on_poll(struct timer *t);

/* After the main process has exited: anything left in its group gets the
 * job's signal (then KILL after kill_after); the attempt ends once the
 * group is empty. */
static void check_group(struct job *j)
{
	struct loop *l = j->env->loop;
	if (!contain_job_alive(j->env->contain, &j->cj, j->pid)) {
		attempt_end(j);
		return;
	}
	ladder_signal(&j->ladder, j->spec->signal, j->spec->kill_after);
	j->poll_ms = job_poll_backoff(j->poll_ms);
	timer_start(l, &j->t_poll, now_ms() + j->poll_ms, on_poll, j);
}

static void on_poll(struct timer *t)
{
	struct job *j = t->data;
	j->env->ops->reap_orphans(j);
	drain(j);
	check_group(j);
}

bool job_stream_live(const struct job_spec *s, const struct io_spec *io, bool tag)
{
	return io->mode == IO_TEE ||
	       (tag && (io->mode == IO_INHERIT ||
			(io->mode == IO_CAPTURE && !(s->kind == KIND_POOL && io == &s->out))));
}

double job_poll_backoff(double prev_ms)
{
	return prev_ms ? fmin(prev_ms * 2, 50.0) : 1.0;
}

void stage_result_exited(struct stage_result *s, const struct spawn_exit *x)
{
	s->has_status = true;
	s->exit_code = x->exit_code;
	s->signal = x->signal;
	s->user_ms = x->ru.ru_utime.tv_sec * 1e3 + x->ru.ru_utime.tv_usec / 1e3;
	s->sys_ms = x->ru.ru_stime.tv_sec * 1e3 + x->ru.ru_stime.tv_usec / 1e3;
	s->maxrss_kb = x->ru.ru_maxrss;
}

static void on_pid(struct watch *w, uint32_t ev)
{
	struct job *j = w->data;
	struct spawn_exit x;
	int r = spawn_reap(j->pidfd, false, &x);
	if ((r < 0 && errno == EINTR) || r == 0)
		return; /* interrupted, or not exited yet (spurious wake-up) */
	j->main.pid = j->pid;
	if (r > 0)
		stage_result_exited(&j->main, &x);
	loop_del(j->env->loop, &j->w_pid);
	close(j->pidfd);
	j->pidfd = -1;
	j->exited = true;
	j->env->ops->reap_orphans(j);
	j->state = JOB_ENDING;
	close_in(j);
	drain(j);
	check_group(j);
}

static void on_timeout(struct timer *t)
{
	struct job *j = t->data;
	if (j->exited)
		return;
	j->timed_out = true;
	ladder_signal_again(&j->ladder, j->spec->signal, j->spec->kill_after);
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

static bool short_of_resources(int err)
{
	return err == EMFILE || err == ENFILE || err == EAGAIN || err == ENOMEM;
}

/* Open what the child's fd `which` (1 or 2) should be; sets *runner_end
 * for pipes.  Returns the child's fd, or -1 with errno. */
static int open_output(struct job *j, const struct io_spec *io, int which,
		       int *runner_end, bool *owned)
{
	int p[2];
	*owned = false;
	switch (io->mode) {
	case IO_CAPTURE:
	case IO_TEE:
		if (pipe2(p, O_CLOEXEC) < 0)
			return -1;
		fcntl(p[0], F_SETFL, O_NONBLOCK);
		*runner_end = p[0];
		*owned = true;
		return p[1];
	case IO_INHERIT:
		if (!j->env->tag)
			return which;
		/* --tag: relayed through a pipe, line by line */
		if (pipe2(p, O_CLOEXEC) < 0)
			return -1;
		fcntl(p[0], F_SETFL, O_NONBLOCK);
		*runner_end = p[0];
		*owned = true;
		return p[1];
	case IO_NULL:
		return j->env->devnull;
	case IO_FILE:
		/* opened already (files_open), closed with the job's files */
		return j->files[which].fd;
	case IO_STDOUT:
		break;
	}
	errno = EINVAL;
	return -1;
}

static void reset_attempt(struct job *j)
{
	const struct job_spec *s = j->spec;
	j->state = JOB_RUNNING;
	j->status = ST_NONE;
	j->has_rc = false;
	free(j->error);
	j->error = NULL;
	j->nterm = 0;
	j->exited = j->timed_out = j->cancelled = false;
	ladder_init(&j->ladder, j->env->loop, signal_group, j);
	j->host_fatal = false;
	j->stages_ended = 0;
	j->poll_ms = 0;
	j->pid = 0;
	memset(&j->main, 0, sizeof j->main);
	j->main.exit_code = -1;
	escaped_free(j->escaped, j->nescaped);
	j->escaped = NULL;
	j->nescaped = j->escaped_cap = 0;
	capture_free(&j->out);
	capture_free(&j->err);
	for (size_t i = 0; j->stage_err && i < j->nstages; i++)
		capture_free(&j->stage_err[i]);
	free(j->stages);
	j->nstages = s->nstages;
	j->stages = xcalloc(s->nstages, sizeof *j->stages);
	for (size_t i = 0; i < s->nstages; i++)
		j->stages[i].exit_code = -1;
	j->resbuf.len = 0;
	free(j->steps_info);
	free(j->steps_error);
	j->steps_info = j->steps_error = NULL;
	pthread_mutex_lock(&steps_progress_mu);
	j->steps_progress[0] = 0;
	pthread_mutex_unlock(&steps_progress_mu);
	j->diag.len = 0;
	if (j->diag.p)
		j->diag.p[0] = 0;
}

/* The fds a pipeline host gets beyond 0-2 (chain.h): the description,
 * the results pipe, the default stderr target, then one per stage that
 * routes its stderr somewhere of its own.  Returns the number of extra
 * fds, or -1 with errno (nothing left open). */
static int pipeline_fds(struct job *j, int job_err, int *extra, bool *owned,
			int *res_w, int *diag_w)
{
	const struct job_spec *s = j->spec;
	enum chain_err *route = xcalloc(s->nstages, sizeof *route);
	int n = 0, p[2], saved;
	*res_w = *diag_w = -1;
	if (!j->fd_stage) {
		j->fd_stage = xmalloc(s->nstages * sizeof *j->fd_stage);
		j->w_stage = xcalloc(s->nstages, sizeof *j->w_stage);
		j->stage_err = xcalloc(s->nstages, sizeof *j->stage_err);
		j->stage_live = xcalloc(s->nstages, sizeof *j->stage_live);
		for (size_t i = 0; i < s->nstages; i++)
			j->stage_err[i].spill_fd = -1;
	}
	for (size_t i = 0; i < s->nstages; i++)
		j->fd_stage[i] = -1;
	/* slots 0..2: description, results, default stderr */
	extra[0] = extra[1] = -1;
	extra[2] = job_err;
	owned[0] = owned[1] = true;
	owned[2] = false;
	n = 3;
	for (size_t i = 0; i < s->nstages; i++) {
		const struct stage_spec *st = &s->stages[i];
		if (!st->has_err) {
			route[i] = CHAIN_ERR_JOB;
			continue;
		}
		int fd = -1;
		bool own = false;
		switch (st->err.mode) {
		case IO_STDOUT:
			route[i] = CHAIN_ERR_MERGE;
			continue;
		case IO_CAPTURE:
			if (pipe2(p, O_CLOEXEC) < 0)
				goto fail;
			fcntl(p[0], F_SETFL, O_NONBLOCK);
			j->fd_stage[i] = p[0];
			fd = p[1];
			own = true;
			break;
		case IO_NULL:
			fd = j->env->devnull;
			break;
		case IO_INHERIT:
			if (j->env->tag) {
				/* relayed, so its lines are tagged too */
				if (pipe2(p, O_CLOEXEC) < 0)
					goto fail;
				fcntl(p[0], F_SETFL, O_NONBLOCK);
				j->fd_stage[i] = p[0];
				fd = p[1];
				own = true;
			} else {
				fd = 2;
			}
			break;
		case IO_FILE:
			fd = j->files[3 + i].fd; /* opened already (files_open) */
			break;
		case IO_TEE:
			break; /* rejected by the spec loader */
		}
		route[i] = CHAIN_ERR_FD;
		extra[n] = fd;
		owned[n] = own;
		n++;
	}
	extra[0] = chain_describe(s, route);
	if (extra[0] < 0)
		goto fail;
	if (pipe2(p, O_CLOEXEC) < 0)
		goto fail;
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	j->fd_res = p[0];
	extra[1] = *res_w = p[1];
	if (pipe2(p, O_CLOEXEC) < 0)
		goto fail;
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	j->fd_diag = p[0];
	*diag_w = p[1];
	free(route);
	return n;
fail:
	saved = errno;
	for (int k = 0; k < n; k++)
		if (owned[k] && extra[k] >= 0)
			close(extra[k]);
	if (*res_w >= 0)
		close(*res_w);
	close_pipeline_fds(j);
	free(route);
	errno = saved;
	return -1;
}

/* A steps host's fds beyond 0-2 (cmd-steps.c): 3 its description, 4 the
 * write end of its info pipe (read into resbuf).  Returns 2, or -1 with
 * errno (nothing left open). */
static int steps_fds(struct job *j, int *extra, bool *owned)
{
	char *desc = steps_describe(j->spec, j->env->spec->mode);
	int fd = memfd_from("piperun-steps", desc, strlen(desc)), p[2], saved;
	free(desc);
	if (fd < 0)
		return -1;
	if (pipe2(p, O_CLOEXEC) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	j->fd_res = p[0];
	extra[0] = fd;
	extra[1] = p[1];
	owned[0] = owned[1] = true;
	return 2;
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
	capture_init(c, io->mode == IO_INHERIT ? 0 : s->max_output,
		     s->digest && io->mode != IO_INHERIT, live ? lv : NULL);
}

/* -------------------------------------------------------- fd headroom */

/* Is io a pipe the runner reads? */
static bool piped(const struct job *j, const struct io_spec *io)
{
	return io->mode == IO_CAPTURE || io->mode == IO_TEE ||
	       (io->mode == IO_INHERIT && j->env->tag);
}

/* May its capture open a spill file later (capture.c: beyond
 * CAPTURE_MEM_MAX kept bytes)? */
static bool may_spill(const struct job_spec *s, const struct io_spec *io)
{
	return (io->mode == IO_CAPTURE || io->mode == IO_TEE) &&
	       s->max_output > CAPTURE_MEM_MAX;
}

static bool file_held(const struct job *j, size_t k)
{
	return j->files && k < j->nfiles && (j->files[k].fd >= 0 || j->files[k].op);
}

/* The fds an attempt of j takes in the runner, counted from its spec:
 *   steady     while it runs: the runner's ends of its pipes (stdin,
 *              stdout, stderr as configured; a pipeline's results and
 *              diagnostics and each captured stage stderr; a steps
 *              host's info pipe), its pidfd, its cgroup directory;
 *   transient  on top, during job_start only: the child's ends of those
 *              pipes, its files (unless already open), cgroup.procs, a
 *              pipeline's or steps host's description and the write ends
 *              of its side pipes;
 *   spills     later, one per captured stream whose capture may spill
 *              to a file (*spills).
 * The peak is steady + the larger of the other two. */
static int fd_need(const struct job *j, int *spills)
{
	const struct job_spec *s = j->spec;
	int cg = __atomic_load_n(&j->env->contain->mode, __ATOMIC_ACQUIRE) == CONTAIN_CGROUP;
	int steady = 1 + cg, transient = cg;
	*spills = 0;
	switch (s->in.kind) {
	case IN_NULL:
	case IN_INHERIT:
		break;
	case IN_FILE:
		transient += !file_held(j, 0);
		break;
	default: /* fed through a pipe */
		steady++;
		transient++;
		break;
	}
	for (size_t k = 1; k <= 2; k++) {
		const struct io_spec *io = k == 1 ? &s->out : &s->err;
		if (piped(j, io)) {
			steady++;
			transient++;
		} else if (io->mode == IO_FILE) {
			transient += !file_held(j, k);
		}
		*spills += may_spill(s, io);
	}
	if (s->kind == KIND_PIPELINE) {
		steady += 2;
		transient += 3;
		for (size_t i = 0; i < s->nstages; i++) {
			const struct stage_spec *st = &s->stages[i];
			if (!st->has_err)
				continue;
			if (piped(j, &st->err)) {
				steady++;
				transient++;
			} else if (st->err.mode == IO_FILE) {
				transient += !file_held(j, 3 + i);
			}
			*spills += may_spill(s, &st->err);
		}
	}
	if (s->kind == KIND_STEPS) {
		steady += 1;
		transient += 2;
	}
	return steady + (transient > *spills ? transient : *spills);
}

/* fds among [lo, hi) that poll(2) flags POLLNVAL, counted up to want:
 * closed ones, and O_PATH ones (which poll cannot see).  This counts
 * without taking an fd (in thread mode other workers may be opening
 * some at this very moment). */
static long count_free(long lo, long hi, long want)
{
	struct pollfd p[1024];
	long n = 0;
	for (long at = lo; at < hi && n < want;) {
		int k = hi - at < 1024 ? (int)(hi - at) : 1024;
		for (int i = 0; i < k; i++)
			p[i] = (struct pollfd){ .fd = (int)(at + i) };
		if (poll(p, (nfds_t)k, 0) < 0)
			return want; /* cannot tell: a real shortage still throttles */
		for (int i = 0; i < k; i++)
			n += (p[i].revents & POLLNVAL) != 0;
		at += k;
	}
	return n;
}

/* Are at least n fds free under the soft limit, opath of those in use
 * being O_PATH ones?  fds are handed out lowest first, so the top ones
 * are free unless nearly all are in use: look there first, and count
 * the rest only then.  (O_PATH fds are taken off the count wherever
 * they are: at worst a little too careful.) */
static bool fds_free(long n, long opath)
{
	struct rlimit rl;
	if (n <= 0 || getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return true;
	long lim = rl.rlim_cur > INT_MAX ? INT_MAX : (long)rl.rlim_cur;
	long want = n + opath;
	if (want > lim)
		return false;
	long top = count_free(lim - want, lim, want);
	return top == want || top + count_free(0, lim - want, want - top) >= want;
}

/* Too few fds to start j, keep what running jobs were promised for
 * their spill files and leave the runner its own?  Sets *spills to what
 * j will be promised once it runs. */
static bool fds_short(const struct job *j, int *spills)
{
	long n = fd_need(j, spills);
	const struct fd_reserve *r = j->env->fds;
	if (r)
		n += r->runner + __atomic_load_n(&r->spills, __ATOMIC_RELAXED);
	return !fds_free(n, pathfds_open());
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
	else if (s->kind == KIND_PIPELINE && s->stages[k - 3].has_err)
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
		return xasprintf("%s file %s: %s", s->kind == KIND_STEPS ? "items" : "stdin",
				 path, why);
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
	for (size_t k = 0; k < j->nfiles; k++) {
		struct job_file *f = &j->files[k];
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
	j->opening = 0;
}

static bool files_waited(const struct job *j)
{
	for (size_t k = 0; k < j->nfiles; k++)
		if (j->files[k].fd >= 0 && j->files[k].waited)
			return true;
	return false;
}

/* The job gave up on a file that is still opening (its timeout, a
 * cancel): no process ever ran.  The record says which file. */
static void open_abandon(struct job *j)
{
	for (size_t k = 0; k < j->nfiles; k++) {
		struct job_file *f = &j->files[k];
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
	j->opening--;
	if (fd < 0) {
		int e = errno;
		files_close(j, false);
		if (short_of_resources(e)) {
			/* as a start short of fds: nothing ran, the job waits
			 * for a running one to end (the runner's ended()) */
			timer_stop(j->env->loop, &j->t_timeout);
			came_short(j, e);
			return;
		}
		fail_now(j, false, 0, file_error(j, (size_t)(f - j->files), strerror(e)));
		return;
	}
	f->fd = fd;
	f->waited = true;
	if (j->opening)
		return;
	/* Every file is open: the process starts through the runner's own
	 * start path (spec order, headroom, tracking), as the same attempt.
	 * Its timeout is checked there; until then no timer runs. */
	timer_stop(j->env->loop, &j->t_timeout);
	j->resume = true;
	j->state = JOB_PENDING;
	j->env->ops->ended(j);
	j->env->ops->ready(j);
}

/* Open every file of the job that is not open yet.  Returns 0 (all
 * open), 1 (some are opening in the background: on_file_open), or -1
 * with errno and *failed the slot. */
static int files_open(struct job *j, size_t *failed)
{
	const struct job_spec *s = j->spec;
	if (!j->files) {
		/* (only jobs that name a file carry the slots) */
		size_t n = 3 + (s->kind == KIND_PIPELINE ? s->nstages : 0), k;
		int flags;
		for (k = 0; k < n && !file_path(s, k, &flags); k++)
			;
		if (k == n)
			return 0;
		j->nfiles = n;
		j->files = xcalloc(j->nfiles, sizeof *j->files);
		for (k = 0; k < j->nfiles; k++)
			j->files[k].fd = -1;
	}
	for (size_t k = 0; k < j->nfiles; k++) {
		struct job_file *f = &j->files[k];
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
		j->opening += r;
	}
	return j->opening ? 1 : 0;
}

/* ---------------------------------------------------------------- start */

int job_start(struct job *j)
{
	const struct job_spec *s = j->spec;
	struct job_env *env = j->env;
	const struct stage_spec *st = &s->stages[0];
	int child[3] = { -1, -1, -1 };
	bool owned[3] = { false, false, false };
	int extra[3 + SPAWN_STAGES_MAX];
	bool extra_owned[3 + SPAWN_STAGES_MAX];
	int nextra = 0, diag_w = -1, res_w = -1, spills;
	char *msg = NULL;
	int saved;
	size_t bad;

	if (fds_short(j, &spills)) {
		j->throttled++;
		errno = EMFILE;
		return -1;
	}
	if (j->resume) {
		/* the same attempt, its files open: did that take all its time? */
		j->state = JOB_RUNNING;
		if (s->timeout > 0 && now_ms() >= j->t_start + s->timeout * 1000) {
			j->timed_out = true;
			attempt_end(j);
			return 0;
		}
		goto files;
	}
	j->attempts++;
	j->t_start = now_ms();
	if (j->attempts == 1)
		j->started_ms = j->t_start - env->run_t0;
	reset_attempt(j);

	/* Every program is resolved before anything starts: one that is
	 * missing fails the job and leaves nothing running or blocked. */
	for (size_t i = 0; i < s->nstages; i++) {
		if (!s->stages[i].exe_status)
			continue;
		if (s->kind == KIND_PIPELINE)
			msg = xasprintf("stage %zu: %s", i + 1, s->stages[i].exe_error);
		else
			msg = xstrdup(s->stages[i].exe_error);
		fail_now(j, true, s->stages[i].exe_status, msg);
		return 0;
	}
	for (size_t i = 0; s->steps && i < s->steps->nsteps; i++) {
		const struct step_spec *sp = &s->steps->steps[i];
		if (sp->exe_status) {
			fail_now(j, true, sp->exe_status, xstrdup(sp->exe_error));
			return 0;
		}
	}

files:
	/* Files by path first.  A FIFO or a device may wait for its other
	 * end for as long as it likes: the job waits (RUNNING, holding its
	 * slot, no process) and its timeout, a cancel or the run's end may
	 * end that; nothing else waits with it. */
	switch (files_open(j, &bad)) {
	case -1:
		if (short_of_resources(errno))
			goto throttle;
		fail_now(j, false, 0, file_error(j, bad, strerror(errno)));
		return 0;
	case 1:
		if (s->timeout > 0)
			timer_start(env->loop, &j->t_timeout, j->t_start + s->timeout * 1000,
				    on_open_timeout, j);
		return 0;
	}

	/* stdin */
	switch (s->in.kind) {
	case IN_NULL:
		child[0] = env->devnull;
		break;
	case IN_INHERIT:
		child[0] = 0;
		break;
	case IN_FILE:
		child[0] = j->files[0].fd;
		break;
	default: {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0)
			goto throttle;
		fcntl(p[1], F_SETFL, O_NONBLOCK);
		child[0] = p[0];
		owned[0] = true;
		j->fd_in = p[1];
		break;
	}
	}
	/* stdout, stderr */
	child[1] = open_output(j, &s->out, 1, &j->fd_out, &owned[1]);
	if (child[1] < 0)
		goto open_failed;
	if (s->err.mode == IO_STDOUT) {
		child[2] = child[1];
	} else {
		child[2] = open_output(j, &s->err, 2, &j->fd_err, &owned[2]);
		if (child[2] < 0)
			goto open_failed;
	}

	struct spawn_opts o = {
		.path = st->exe,
		.argv = st->argv,
		.envp = st->envp,
		.fd = { child[0], child[1], child[2] },
		.cwd = s->cwd,
		.has_nice = s->has_nice,
		.nice = s->nice,
		.has_umask = s->has_umask,
		.umask = s->umask,
		.rlimits = s->rlimits,
		.nrlimits = s->nrlimits,
		.pass_fds = s->pass_fds,
		.npass_fds = s->npass_fds,
		.pgid = 0,
		.cgroup_procs_fd = -1,
	};
	static char *const host_argv[] = { "piperun", "__pipeline-host", NULL };
	static char *const steps_argv[] = { "piperun", "__steps", NULL };
	if (s->kind == KIND_STEPS) {
		nextra = steps_fds(j, extra, extra_owned);
		if (nextra < 0)
			goto open_failed;
		o.path = "/proc/self/exe";
		o.argv = steps_argv;
		o.extra_fds = extra;
		o.nextra = nextra;
	}
	if (s->kind == KIND_PIPELINE) {
		nextra = pipeline_fds(j, child[2], extra, extra_owned, &res_w, &diag_w);
		if (nextra < 0)
			goto open_failed;
		/* the host is this very program, whatever became of its file */
		o.path = "/proc/self/exe";
		o.argv = host_argv;
		o.envp = NULL;
		o.fd[2] = diag_w;
		o.block_signals = true;
		o.extra_fds = extra;
		o.nextra = nextra;
	}
	struct spawn_error se;
	pid_t pid;
	int pidfd, rc;
	/* each attempt in a cgroup of its own, joined before exec */
	o.cgroup_procs_fd = contain_job_prepare(env->contain, &j->cj);
	if (o.cgroup_procs_fd < 0 &&
	    __atomic_load_n(&env->contain->mode, __ATOMIC_ACQUIRE) == CONTAIN_CGROUP &&
	    short_of_resources(errno)) {
		rc = -1;
		se.step = SPAWN_CLONE;
		se.err = errno;
	} else {
		rc = spawn_start(&o, &pid, &pidfd, &se);
		if (rc < 0 && se.step == SPAWN_CGROUP) {
			/* cgroups exist but cannot take our processes (odd
			 * delegation): the rest of the run uses process groups */
			contain_job_end(j->env->contain, &j->cj);
			__atomic_store_n(&env->contain->mode, CONTAIN_PGROUP, __ATOMIC_RELEASE);
			o.cgroup_procs_fd = -1;
			rc = spawn_start(&o, &pid, &pidfd, &se);
		}
	}
	if (rc < 0)
		contain_job_end(j->env->contain, &j->cj);
	for (int i = 0; i < 3; i++)
		if (owned[i])
			close(child[i]);
	for (int i = 0; i < nextra; i++)
		if (extra_owned[i] && extra[i] >= 0)
			close(extra[i]);
	if (diag_w >= 0)
		close(diag_w);
	if (rc < 0) {
		if (se.step == SPAWN_CLONE && short_of_resources(se.err)) {
			errno = se.err;
			close_fd(j, &j->fd_in, &j->w_in);
			close_fd(j, &j->fd_out, &j->w_out);
			close_fd(j, &j->fd_err, &j->w_err);
			close_pipeline_fds(j);
			goto unstart;
		}
		char *prog = spec_redact(s, s->kind == KIND_PIPELINE ? "pipeline host" : st->argv[0]);
		if (se.step == SPAWN_EXEC)
			fail_now(j, true, se.err == ENOENT ? 127 : 126,
				 xasprintf("%s: %s", prog, strerror(se.err)));
		else if (se.step == SPAWN_CHDIR) {
			char *cwd = spec_redact(s, s->cwd);
			fail_now(j, false, 0, xasprintf("cwd %s: %s", cwd, strerror(se.err)));
			free(cwd);
		} else
			fail_now(j, false, 0, xasprintf("%s: %s: %s", prog,
							spawn_step_name(se.step),
							strerror(se.err)));
		free(prog);
		return 0;
	}
	/* the child has its own copies of the files */
	files_close(j, false);
	j->resume = false;
	j->fds_promised = spills;
	if (env->fds)
		__atomic_add_fetch(&env->fds->spills, spills, __ATOMIC_RELAXED);
	j->pid = pid;
	j->pidfd = pidfd;
	j->in_cgroup = o.cgroup_procs_fd >= 0;
	contain_job_started(env->contain, &j->cj, pid);
	if (s->kind != KIND_PIPELINE)
		j->stages[0].pid = pid;

	struct loop *l = env->loop;
	loop_add(l, &j->w_pid, pidfd, EPOLLIN, on_pid, j);
	if (j->fd_out >= 0) {
		start_stream(j, &s->out, 1, &j->out, &j->live_out);
		loop_add(l, &j->w_out, j->fd_out, EPOLLIN, on_out, j);
	}
	if (j->fd_err >= 0) {
		start_stream(j, &s->err, 2, &j->err, &j->live_err);
		loop_add(l, &j->w_err, j->fd_err, EPOLLIN, on_err, j);
	}
	if (s->kind == KIND_STEPS)
		loop_add(l, &j->w_res, j->fd_res, EPOLLIN, on_res, j);
	if (s->kind == KIND_PIPELINE) {
		loop_add(l, &j->w_res, j->fd_res, EPOLLIN, on_res, j);
		loop_add(l, &j->w_diag, j->fd_diag, EPOLLIN, on_diag, j);
		for (size_t i = 0; i < s->nstages; i++)
			if (j->fd_stage[i] >= 0) {
				start_stream(j, &s->stages[i].err, 2, &j->stage_err[i], &j->stage_live[i]);
				loop_add(l, &j->w_stage[i], j->fd_stage[i], EPOLLIN, on_stage_err, j);
			}
	}
	if (j->fd_in >= 0) {
		feeder_init(j);
		feed(j);
	}
	if (s->timeout > 0)
		timer_start(l, &j->t_timeout, j->t_start + s->timeout * 1000, on_timeout, j);
	return 0;

open_failed:
	saved = errno;
	for (int i = 0; i < 3; i++)
		if (owned[i])
			close(child[i]);
	close_fd(j, &j->fd_in, &j->w_in);
	close_fd(j, &j->fd_out, &j->w_out);
	close_fd(j, &j->fd_err, &j->w_err);
	if (short_of_resources(saved)) {
		errno = saved;
		goto unstart;
	}
	/* files are open already: what failed is a pipe or a description */
	if (child[1] < 0 || (child[2] < 0 && s->err.mode != IO_STDOUT))
		msg = xasprintf("%s set-up: %s", child[1] < 0 ? "stdout" : "stderr",
				strerror(saved));
	else
		msg = xasprintf("%s set-up: %s", s->kind == KIND_STEPS ? "steps" : "pipeline",
				strerror(saved));
	fail_now(j, false, 0, msg);
	return 0;

throttle:
	saved = errno;
	for (int i = 0; i < 3; i++)
		if (owned[i])
			close(child[i]);
	close_fd(j, &j->fd_in, &j->w_in);
	errno = saved;
unstart:
	j->state = JOB_PENDING;
	j->throttled++;
	/* a FIFO whose other end came stays open while the job waits: the
	 * attempt goes on once there is headroom */
	files_close(j, true);
	j->resume = files_waited(j);
	if (!j->resume)
		j->attempts--; /* nothing started: as if this attempt never was */
	return -1;
}

void job_skip(struct job *j, const char *why)
{
	files_close(j, false); /* a FIFO kept while waiting for headroom */
	j->resume = false;
	j->state = JOB_DONE;
	j->status = ST_SKIPPED;
	free(j->error);
	j->error = why ? xstrdup(why) : NULL;
}

void job_cancel(struct job *j, bool now)
{
	if (j->opening) {
		/* still opening its files: there is no process to signal */
		j->cancelled = true;
		open_abandon(j);
		return;
	}
	switch (j->state) {
	case JOB_RUNNING:
	case JOB_ENDING:
		if (!j->exited && !j->timed_out)
			j->cancelled = true;
		if (now)
			ladder_kill(&j->ladder);
		else
			ladder_signal(&j->ladder, j->spec->signal, j->spec->kill_after);
		break;
	case JOB_RETRY_WAIT:
		timer_stop(j->env->loop, &j->t_retry);
		j->state = JOB_DONE;
		break;
	default:
		break;
	}
}

void job_release(struct job *j)
{
	j->written = true;
	if (!j->from_refs)
		capture_free(&j->out);
	capture_free(&j->err);
	for (size_t i = 0; j->stage_err && i < j->nstages; i++)
		capture_free(&j->stage_err[i]);
	escaped_free(j->escaped, j->nescaped);
	j->escaped = NULL;
	j->nescaped = 0;
	buf_free(&j->resbuf);
	buf_free(&j->diag);
	free(j->steps_info);
	j->steps_info = NULL;
}

void job_free(struct job *j)
{
	/* every attempt closed its files (and the runner's loop is gone) */
	for (size_t k = 0; k < j->nfiles; k++)
		if (j->files[k].fd >= 0)
			close(j->files[k].fd);
	free(j->files);
	j->files = NULL;
	j->nfiles = 0;
	capture_free(&j->out);
	capture_free(&j->err);
	for (size_t i = 0; j->stage_err && i < j->nstages; i++)
		capture_free(&j->stage_err[i]);
	free(j->stage_err);
	free(j->stage_live);
	j->stage_live = NULL;
	free(j->fd_stage);
	free(j->w_stage);
	buf_free(&j->resbuf);
	buf_free(&j->diag);
	free(j->steps_info);
	free(j->steps_error);
	j->steps_info = j->steps_error = NULL;
	j->stage_err = NULL;
	j->fd_stage = NULL;
	j->w_stage = NULL;
	free(j->stages);
	free(j->term);
	free(j->hist);
	free(j->error);
	free(j->rdeps);
	escaped_free(j->escaped, j->nescaped);
	j->escaped = NULL;
	j->nescaped = 0;
	j->stages = NULL;
	j->term = NULL;
	j->hist = NULL;
	j->error = NULL;
	j->rdeps = NULL;
}
