/* SPDX-License-Identifier: GPL-3.0-or-later */
/* runner.c - scheduling of the jobs of a run (see runner.h). */
#include "config.h"
#include "runner.h"
#include "adapt.h"
#include "kind.h"
#include "minheap.h"
#include "pidset.h"
#include "signals.h"
#include "util.h"
#include "workq.h"

#include <errno.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

/* fds the runner keeps for itself when it sizes the run (0-2, spawn's
 * /proc/self/exe, the run's cgroup, the guardian's pipe, epoll,
 * /dev/null, the signalfd, --results, and room to spare), and what a
 * running job of the usual kind holds (pidfd, cgroup, stdout and stderr
 * pipes and their spill files).  job-fds.c fd_need counts each job exactly;
 * these only size -j 0 and thread mode's workers. */
#define RUNNER_FDS 16
#define JOB_FDS 6
/* fds the runner may open for a moment while jobs run, one at a time
 * (a cgroup file read while handling an event): kept free.  Thread mode
 * keeps one per worker. */
#define RUNNER_PASSING_FDS 1

struct runner {
	const struct spec *spec;
	const struct run_config *cfg;
	struct run_result *res;
	struct job *jobs;
	size_t n;
	size_t *steps_jobs;          /* indices of steps jobs (progress detail) */
	size_t nsteps_jobs;
	struct job_env env;
	struct job_ops ops;
	struct minheap ready;        /* ready jobs by spec index: starts follow spec order */
	struct slots slots;          /* async mode: each running job's slot */
	size_t running;
	size_t peak;         /* most jobs running at once */
	size_t done;
	size_t not_ok;
	long limit;          /* the ceiling when adaptive */
	bool adaptive;       /* async mode, max_parallel 0: adapt.h's window */
	struct adapt adapt;
	bool throttled;      /* a start failed for lack of fds/processes */
	enum stop_reason stop;
	double signal_ms;    /* when the run was stopped by a signal */
	int sigfd;
	struct watch w_sig;
	struct watch w_out;          /* cfg->out_fd, a pipe or socket */
	struct timer t_run;
	size_t *work;        /* finished jobs whose dependents need updating */
	size_t nwork, work_cap;
	struct contain contain;
	struct fd_reserve fds;
	struct pidset tracked;   /* pids of running jobs' processes */
	struct progress progress;

	/* thread mode: the main thread schedules exactly as in async mode
	 * (signals, dependencies, fail-fast, results) and hands each job to
	 * an idle worker, which supervises it to its end.  Two work queues
	 * of job indices: assignq from main to the workers (an idle worker
	 * waits in workq_pop), doneq back (main's loop watches its eventfd).
	 * running counts the jobs handed out and not yet drained from
	 * doneq, and main hands out one only while running < nworkers: so
	 * a job is only handed out when a worker is idle (or is about to
	 * be: it has pushed its last job to doneq), and neither queue ever
	 * holds more than nworkers, their capacity: no push waits.
	 *
	 * mtx guards running, the owner fields, the tracked set, spawning
	 * and live (and the run's state main shares with progress).  Lock
	 * order: mtx before a workq's own lock, never the reverse (pushing
	 * or popping under mtx is fine; nothing waits for mtx while it
	 * holds a queue's lock, and a worker waits in workq_pop without
	 * mtx). */
	bool threaded;
	pthread_mutex_t mtx;
	pthread_cond_t ended_cv;     /* a job ended: headroom may be back */
	struct worker *workers;
	size_t nworkers;
	struct workq assignq;        /* jobs handed out, for any idle worker */
	struct workq doneq;          /* jobs workers finished, for main */
	struct watch w_done;
	int spawning;                /* workers between clone and pidset_add */
	size_t live;                 /* thread mode: jobs with a process now */
};

enum worker_req { REQ_NONE, REQ_STOP, REQ_KILL };

/* a job's owner besides a worker's index: main's, or handed out and not
 * taken by a worker yet (that worker sees a stop when it takes it) */
enum { OWNER_NONE = -1, OWNER_QUEUED = -2 };

struct worker {
	struct runner *r;
	size_t index;
	pthread_t th;
	struct job_env env;
	struct job_ops ops;
	int wakefd;
	struct watch w_wake;
	struct job *job;
	int req;                     /* enum worker_req, atomic */
};

static void lock(struct runner *r)
{
	if (r->threaded)
		pthread_mutex_lock(&r->mtx);
}

static void unlock(struct runner *r)
{
	if (r->threaded)
		pthread_mutex_unlock(&r->mtx);
}

/* The runner's signals: every terminating signal not ignored at start
 * (signals.h), and SIGCHLD, which only says "some child ended" (orphans,
 * in process-group mode; jobs are reaped through their pidfds). */
static void runner_signals(sigset_t *set)
{
	sigemptyset(set);
	signals_terminating(set);
	sigaddset(set, SIGCHLD);
}

void runner_block_signals(void)
{
	sigset_t set;
	runner_signals(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

long runner_limit(enum run_mode mode, long max_parallel)
{
	if (mode == MODE_SERIAL)
		return 1;
	if (max_parallel > 0)
		return max_parallel;
	long lim = runner_auto_parallel();
	/* a thread per slot: "as many as the limits allow" stops at 1024 */
	return mode == MODE_THREAD && lim > 1024 ? 1024 : lim;
}

/* A running job of the usual kind holds JOB_FDS (pidfd, cgroup, stdout
 * and stderr pipes and their spill files; job-fds.c counts each kind
 * exactly and makes jobs wait when they run short). */
long runner_auto_parallel(void)
{
	return adapt_ceiling(RUNNER_FDS, JOB_FDS);
}

/* -------------------------------------------------------- job completion */

/* A job reached DONE: count it, tell the caller, and settle its
 * dependents (iteratively: chains of thousands of skips are normal). */
static void stop_run(struct runner *r, enum stop_reason why);

/* The results have nowhere to go: the run is an error (exit 3) and stops
 * now, unless a timeout or a signal is stopping it already; fail-fast's
 * cleanup jobs no longer start. */
static void output_failed(struct runner *r)
{
	r->res->output_failed = true;
	if (r->stop == STOP_NONE || r->stop == STOP_FAIL_FAST)
		stop_run(r, STOP_OUTPUT);
}

/* stdout's reader went away (`| head -1`): the run stops as an interrupt
 * by SIGPIPE does, and the caller dies of it (CONTRACT §8.2).  Not
 * counted as a signal received: the SIGPIPE our own writes may raise
 * next is not a second Ctrl-C. */
static void output_closed(struct runner *r)
{
	if (r->stop == STOP_SIGNAL)
		return;
	r->res->signal = SIGPIPE;
	r->signal_ms = now_ms();
	stop_run(r, STOP_SIGNAL);
}

/* j's spec is made when j leaves the ready list or ends without
 * starting (main thread); job_release and job_reader_done let it go
 * with the job. */
static void job_made(struct runner *r, struct job *j)
{
	job_make_spec(j, r->spec);
}

static void finished(struct runner *r, struct job *j)
{
	xgrow(&r->work, &r->work_cap, r->nwork + 1, sizeof *r->work);
	r->work[r->nwork++] = j->index;
	if (r->nwork > 1)
		return; /* an outer call is already draining the list */
	while (r->nwork) {
		struct job *f = &r->jobs[r->work[--r->nwork]];
		r->done++;
		r->res->counts[f->status]++;
		/* fail-fast counts jobs that ran and were not ok; the jobs
		 * skipped because of them are consequences, not new failures */
		if (f->status == ST_FAILED || f->status == ST_TIMEOUT || f->status == ST_ERROR)
			r->not_ok++;
		job_made(r, f);
		spec_programs_changed(r->spec);
		if (f->spec->in.kind == IN_FROM)
			job_reader_done(&r->jobs[f->spec->in.from_idx], r->spec);
		enum results_state rs = r->cfg->on_done ? r->cfg->on_done(f, r->cfg->ctx)
					: RESULTS_OK;
		if (rs == RESULTS_CLOSED)
			output_closed(r);
		else if (rs == RESULTS_FAILED)
			output_failed(r);
		for (size_t k = 0; k < f->nrdeps; k++) {
			struct job *d = &r->jobs[f->rdeps[k]];
			switch (job_dep_done(d, f)) {
			case JOB_DEP_SKIPPED:
				/* pushing to the work list is all finished() does
				 * when nested */
				xgrow(&r->work, &r->work_cap, r->nwork + 1, sizeof *r->work);
				r->work[r->nwork++] = d->index;
				break;
			case JOB_DEP_READY:
				minheap_push(&r->ready, d->index);
				break;
			case JOB_DEP_WAIT:
				break;
			}
		}
	}
}

/* The loop is about to wait: on_idle writes the records on_done left
 * for then.  Returns how long the loop may wait. */
static double results_idle(struct runner *r)
{
	enum results_state rs = RESULTS_OK;
	double wait = r->cfg->on_idle ? r->cfg->on_idle(r->cfg->ctx, &rs) : -1;
	if (rs == RESULTS_CLOSED)
		output_closed(r);
	else if (rs == RESULTS_FAILED)
		output_failed(r);
	return wait;
}

static void reap_orphans_locked(struct runner *r);

static void on_ended(struct job *j)
{
	struct runner *r = j->env->ops->ctx;
	pidset_del(&r->tracked, job_run_of(j)->proc.pid);
	r->running--;
	slots_give(&r->slots, j->slot);
	if (r->adaptive) /* (no sample when its start came short) */
		adapt_ended(&r->adapt, j->index, now_ms(), stage_cpu_ms(&j->run->proc.status),
			    j->state != JOB_PENDING);
	r->throttled = false;
	if (j->state == JOB_RETRY_WAIT && r->cfg->on_attempt)
		r->cfg->on_attempt(j, r->cfg->ctx);
	if (j->state == JOB_PENDING && !job_resumes(j)) {
		enum short_verdict v = job_start_came_short(j, r->running > 0);
		if (v == SHORT_RETRY)
			reap_orphans_locked(r);
		if (v != SHORT_FAIL)
			minheap_push(&r->ready, j->index);
		r->throttled = v == SHORT_WAIT;
	}
	if (j->state == JOB_DONE) {
		finished(r, j);
		if (r->cfg->fail_fast && r->not_ok >= (size_t)r->cfg->fail_fast &&
		    r->stop == STOP_NONE)
			stop_run(r, STOP_FAIL_FAST);
	}
}

static void on_ready(struct job *j)
{
	struct runner *r = j->env->ops->ctx;
	/* a retry: back in line, in spec order like every other start */
	job_retry_due(j);
	minheap_push(&r->ready, j->index);
}

static void on_items_sunk(struct job *j, const char *lines, size_t n)
{
	struct runner *r = j->env->ops->ctx;
	r->cfg->on_items(j, lines, n, r->cfg->ctx);
}

static const char *stop_why(struct runner *r)
{
	switch (r->stop) {
	case STOP_FAIL_FAST:
		return "not started: fail-fast";
	case STOP_TIMEOUT:
		return "not started: the run timed out";
	case STOP_SIGNAL:
		return "not started: the run was interrupted";
	case STOP_OUTPUT:
		return "not started: the results could not be written";
	default:
		return NULL;
	}
}

/* Whether a job may still start once the run is stopping: cleanup jobs
 * (always: true) run after fail-fast, never after a timeout or signal. */
static bool may_start(struct runner *r, const struct job *j)
{
	return r->stop == STOP_NONE || (r->stop == STOP_FAIL_FAST && j->always);
}

static void worker_request(struct worker *w, enum worker_req req);

static void stop_run(struct runner *r, enum stop_reason why)
{
	r->stop = why;
	r->res->stop = why;
	r->env.stopping = true;
	for (size_t i = 0; i < r->n; i++) {
		struct job *j = &r->jobs[i];
		if (j->owner >= 0) {
			/* a worker's: it cancels the job in its own thread */
			worker_request(&r->workers[j->owner], REQ_STOP);
		} else if (j->state == JOB_RUNNING || j->state == JOB_ENDING) {
			job_cancel(j, false);
		} else if (j->state == JOB_RETRY_WAIT) {
			job_cancel(j, false);
			finished(r, j);
		}
	}
	/* workers waiting for headroom look again: their job no longer
	 * starts (worker_start) */
	if (r->threaded)
		pthread_cond_broadcast(&r->ended_cv);
	/* pending jobs that may no longer start are skipped now, in spec
	 * order (a worker's job is its worker's business: it may be ending
	 * right now, e.g. one that was still opening its files) */
	for (size_t i = 0; i < r->n; i++) {
		struct job *j = &r->jobs[i];
		if (j->owner == OWNER_NONE && j->state == JOB_PENDING && !may_start(r, j)) {
			job_made(r, j);
			job_skip(j, stop_why(r));
			finished(r, j);
		}
	}
}

/* --------------------------------------------------------------- signals */
static bool is_tracked(pid_t pid, void *ctx)
{
	return pidset_has(&((struct runner *)ctx)->tracked, pid);
}

/* Reap orphans, unless a worker is between clone and registering its
 * child as tracked: that child could be taken for an orphan. */
static void reap_orphans_locked(struct runner *r)
{
	if (!r->spawning)
		contain_reap_orphans(&r->contain, is_tracked, r);
}

static void reap_orphans(struct job *j)
{
	struct runner *r = j->env->ops->ctx;
	lock(r);
	reap_orphans_locked(r);
	unlock(r);
}

/* The reader of our stdout went away (`| head -1`): stop now rather
 * than at the next record. */
static void on_out_gone(struct watch *w, uint32_t ev)
{
	struct runner *r = w->data;
	loop_del(r->env.loop, &r->w_out);
	lock(r);
	output_closed(r);
	unlock(r);
}

/* Signals that come together are one request to stop: timeout(1) sends
 * its signal to piperun and then to piperun's whole group, a closing
 * terminal HUP and CONT, a session's end HUP and TERM.  Only a signal
 * that comes this much later is a second one (a second Ctrl-C: KILL). */
#define SIGNAL_AGAIN_MS 100.0

static void on_signal(struct watch *w, uint32_t ev)
{
	struct runner *r = w->data;
	struct signalfd_siginfo si;
	lock(r);
	while (read(r->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGCHLD) {
			reap_orphans_locked(r);
			continue;
		}
		if (signals_self_raised(&si))
			continue; /* EPIPE/EFBIG tell the writer already */
		double now = now_ms();
		if (r->stop != STOP_SIGNAL) {
			r->res->signal = (int)si.ssi_signo;
			r->signal_ms = now;
			stop_run(r, STOP_SIGNAL);
		} else if (now - r->signal_ms >= SIGNAL_AGAIN_MS) {
			/* a second signal: no more patience */
			for (size_t i = 0; i < r->n; i++) {
				struct job *j = &r->jobs[i];
				if (j->owner >= 0)
					worker_request(&r->workers[j->owner], REQ_KILL);
				else if (j->state == JOB_RUNNING || j->state == JOB_ENDING)
					job_cancel(j, true);
			}
		}
	}
	unlock(r);
}

static void on_run_timeout(struct timer *t)
{
	struct runner *r = t->data;
	lock(r);
	if (r->stop == STOP_NONE || r->stop == STOP_FAIL_FAST)
		stop_run(r, STOP_TIMEOUT);
	unlock(r);
}

/* ------------------------------------------------------------- dispatch */
/* The next ready job that may start, in spec order; those that may no
 * longer (the run is stopping) are skipped on the way.  NULL: none. */
static struct job *ready_next(struct runner *r)
{
	while (r->ready.n) {
		struct job *j = &r->jobs[minheap_pop(&r->ready)];
		if (j->state != JOB_PENDING)
			continue;
		job_made(r, j);
		if (!may_start(r, j)) {
			job_skip(j, stop_why(r));
			finished(r, j);
			continue;
		}
		return j;
	}
	return NULL;
}

/* Start j, timed for the adaptive window: 0, or -1 with errno.  (A job
 * that ended inside its start was counted by on_ended.) */
static int start_one(struct runner *r, struct job *j)
{
	if (!r->adaptive)
		return job_start(j);
	double t0 = now_ms();
	adapt_started(&r->adapt, j->index, t0);
	int rc = job_start(j), e = errno;
	bool live = job_run_of(j)->proc.pid > 0 && (j->state == JOB_RUNNING || j->state == JOB_ENDING);
	adapt_spawned(&r->adapt, j->index, now_ms() - t0, rc == 0 && live,
		      rc < 0 || j->state == JOB_PENDING);
	errno = e;
	return rc;
}

/* Start what may start.  Returns how long the loop may wait for events
 * before dispatch() has more to do on its own: 0 after a full batch,
 * until a young job leaves a full adaptive window, or -1 (an event). */
static double dispatch(struct runner *r)
{
	struct job *j;
	int batch = 0;
	while (!r->throttled && r->running < (size_t)r->limit) {
		if (r->adaptive && r->ready.n) {
			if (batch == ADAPT_BATCH)
				return 0;
			double now = now_ms();
			if (!adapt_may_start(&r->adapt, now))
				return adapt_wait_ms(&r->adapt, now);
		}
		if (!(j = ready_next(r)))
			break;
		batch++;
		if (++r->running > r->peak)
			r->peak = r->running;
		job_set_slot(j, (int)slots_take(&r->slots));
		if (r->done + r->running == r->n) /* the last to start (but retries) */
			contain_no_more(&r->contain);
		if (start_one(r, j) == 0) {
			if (job_run_of(j)->proc.pid > 0 && (j->state == JOB_RUNNING || j->state == JOB_ENDING))
				pidset_add(&r->tracked, job_run_of(j)->proc.pid);
			continue;
		}
		/* out of fds or processes: wait for a running job to end */
		int e = errno;
		r->running--;
		slots_give(&r->slots, j->slot);
		job_start_short(j, e);
		enum short_verdict v = job_start_came_short(j, r->running > 0);
		if (v == SHORT_FAIL) {
			finished(r, j);
			continue;
		}
		if (v == SHORT_RETRY)
			reap_orphans_locked(r);
		minheap_push(&r->ready, j->index);
		r->throttled = v == SHORT_WAIT;
	}
	return -1;
}

/* ---------------------------------------------------------- thread mode */

static void worker_request(struct worker *w, enum worker_req req)
{
	int cur = __atomic_load_n(&w->req, __ATOMIC_ACQUIRE);
	/* KILL wins over STOP; never downgrade */
	if ((int)req > cur)
		__atomic_store_n(&w->req, (int)req, __ATOMIC_RELEASE);
	uint64_t one = 1;
	ssize_t n = write(w->wakefd, &one, sizeof one);
	(void)n;
}

/* A request from the main thread, handled in the worker's own thread. */
static void on_wake(struct watch *wt, uint32_t ev)
{
	struct worker *w = wt->data;
	uint64_t v;
	ssize_t n = read(w->wakefd, &v, sizeof v);
	(void)n;
	int req = __atomic_exchange_n(&w->req, REQ_NONE, __ATOMIC_ACQ_REL);
	if (req == REQ_NONE)
		return;
	w->env.stopping = true;
	if (w->job)
		job_cancel(w->job, req == REQ_KILL);
}

static void worker_ended(struct job *j)
{
	struct worker *w = j->env->ops->ctx;
	lock(w->r);
	pidset_del(&w->r->tracked, job_run_of(j)->proc.pid);
	if (job_run_of(j)->proc.pid > 0 && w->r->live)
		w->r->live--;
	pthread_cond_broadcast(&w->r->ended_cv);
	if (j->state == JOB_RETRY_WAIT && w->r->cfg->on_attempt)
		w->r->cfg->on_attempt(j, w->r->cfg->ctx);
	/* a start that came short (start_came_short) waits here for a job
	 * to end, then starts again */
	if (j->state == JOB_PENDING && !job_resumes(j)) {
		enum short_verdict v = job_start_came_short(j, w->r->live || w->r->spawning);
		if (v == SHORT_WAIT)
			pthread_cond_wait(&w->r->ended_cv, &w->r->mtx);
		else if (v == SHORT_RETRY)
			reap_orphans_locked(w->r);
	}
	unlock(w->r);
	/* DONE and RETRY_WAIT are seen by worker_run; PENDING is started
	 * again there */
}

static void worker_items_sunk(struct job *j, const char *lines, size_t n)
{
	struct worker *w = j->env->ops->ctx;
	lock(w->r);
	w->r->cfg->on_items(j, lines, n, w->r->cfg->ctx);
	unlock(w->r);
}

static void worker_ready(struct job *j)
{
	job_retry_due(j);
}

static void worker_reap(struct job *j)
{
	struct worker *w = j->env->ops->ctx;
	lock(w->r);
	reap_orphans_locked(w->r);
	unlock(w->r);
}

/* Start j (again); false when it had to give up for lack of headroom
 * with nothing else running (then it is DONE with an error). */
static void worker_start(struct worker *w, struct job *j)
{
	struct runner *r = w->r;
	for (;;) {
		lock(r);
		/* the run stopped while this job waited for headroom (or a
		 * retry): it no longer starts, as in async mode */
		if (!may_start(r, j)) {
			char *why = xstrdup(stop_why(r));
			unlock(r);
			job_skip(j, why);
			free(why);
			return;
		}
		r->spawning++;
		unlock(r);
		int rc = job_start(j);
		int e = errno;
		lock(r);
		if (rc == 0 && job_run_of(j)->proc.pid > 0 && (j->state == JOB_RUNNING || j->state == JOB_ENDING)) {
			pidset_add(&r->tracked, job_run_of(j)->proc.pid);
			r->live++;
		}
		r->spawning--;
		if (rc == 0) {
			unlock(r);
			return;
		}
		/* out of fds or processes: wait for a job that holds some to
		 * end (workers waiting like us hold none; one that is starting
		 * a job right now may be what took them) */
		job_start_short(j, e);
		enum short_verdict v = job_start_came_short(j, r->live || r->spawning);
		if (v == SHORT_FAIL) {
			unlock(r);
			return;
		}
		if (v == SHORT_WAIT)
			pthread_cond_wait(&r->ended_cv, &r->mtx);
		else
			reap_orphans_locked(r);
		unlock(r);
	}
}

/* Run one job to its end, waiting on the worker's own loop. */
static void worker_run(struct worker *w, struct job *j)
{
	w->job = j;
	job_move(j, &w->env);
	while (j->state != JOB_DONE) {
		if (j->state == JOB_PENDING)
			worker_start(w, j);
		else if (loop_run_once(w->env.loop, -1) < 0 && errno != EINTR)
			break;
	}
	w->job = NULL;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct runner *r = w->r;
	size_t idx;
	/* -1: closed and drained (workers_stop) */
	while (workq_pop(&r->assignq, &idx, 1, 1, true) > 0) {
		struct job *j = &r->jobs[idx];
		lock(r);
		/* from here main sends stop/kill requests to this worker; a
		 * stop that came before applies */
		job_assign(j, (int)w->index);
		w->env.stopping = r->stop != STOP_NONE;
		unlock(r);

		worker_run(w, j);

		lock(r);
		job_assign(j, OWNER_NONE);
		bool aborted; /* (never closed) */
		workq_push(&r->doneq, &idx, 1, false, &aborted);
		pthread_cond_broadcast(&r->ended_cv);
		unlock(r);
	}
	return NULL;
}

/* Main thread (lock held): hand ready jobs to idle workers, in spec
 * order, as dispatch() does in async mode.  Until a worker takes it the
 * job is OWNER_QUEUED: stop_run leaves it to that worker. */
static void dispatch_threads(struct runner *r)
{
	struct job *j;
	while (r->running < r->nworkers && (j = ready_next(r))) {
		bool aborted;
		job_assign(j, OWNER_QUEUED);
		/* its attempts' state is made here, not by the worker: the
		 * main thread reads the pointer while the job runs (the
		 * progress line's steps counts) and frees it once the
		 * record is out */
		job_run_make(j);
		if (++r->running > r->peak)
			r->peak = r->running;
		workq_push(&r->assignq, &j->index, 1, false, &aborted);
	}
}

/* Main thread: settle what the workers finished, then hand out more. */
static void on_done_queue(struct watch *wt, uint32_t ev)
{
	struct runner *r = wt->data;
	size_t idx;
	/* cleared before the queue is read: a push after this wakes us */
	workq_clear_fd(&r->doneq);
	lock(r);
	while (workq_pop(&r->doneq, &idx, 1, 1, false) > 0) {
		r->running--;
		finished(r, &r->jobs[idx]);
		if (r->cfg->fail_fast && r->not_ok >= (size_t)r->cfg->fail_fast &&
		    r->stop == STOP_NONE)
			stop_run(r, STOP_FAIL_FAST);
	}
	dispatch_threads(r);
	unlock(r);
}

/* How many workers to start: a thread per slot. */
static size_t workers_wanted(const struct runner *r)
{
	size_t n = (size_t)r->limit;
	if (n > r->n)
		n = r->n;
	/* a worker holds 2 fds (epoll, eventfd) and one passing one while
	 * it handles its job, which holds JOB_FDS: never more workers than
	 * the fd limit can feed */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		size_t cap = rl.rlim_cur > RUNNER_FDS + 3 + JOB_FDS
			? (size_t)(rl.rlim_cur - RUNNER_FDS) / (3 + JOB_FDS) : 1;
		if (n > cap)
			n = cap;
	}
	return n ? n : 1;
}

/* Up to n workers; -1 when not even one started. */
static int workers_start(struct runner *r, size_t n)
{
	r->workers = xcalloc(n, sizeof *r->workers);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (size_t i = 0; i < n; i++) {
		struct worker *w = &r->workers[i];
		w->r = r;
		w->index = i;
		w->env = r->env;
		w->env.loop = loop_new();
		w->env.scratch = xmalloc(JOB_SCRATCH);
		w->ops.ended = worker_ended;
		w->ops.ready = worker_ready;
		w->ops.reap_orphans = worker_reap;
		w->ops.items_sunk = r->ops.items_sunk ? worker_items_sunk : NULL;
		w->ops.ctx = w;
		w->env.ops = &w->ops;
		w->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (!w->env.loop || w->wakefd < 0 ||
		    loop_add(w->env.loop, &w->w_wake, w->wakefd, EPOLLIN, on_wake, w) < 0 ||
		    pthread_create(&w->th, &attr, worker_main, w) != 0) {
			/* fewer workers than asked: the run goes on with those
			 * (max_parallel in the results says how many) */
			loop_free(w->env.loop);
			free(w->env.scratch);
			if (w->wakefd >= 0)
				close(w->wakefd);
			break;
		}
		r->nworkers++;
	}
	pthread_attr_destroy(&attr);
	if (r->nworkers) {
		r->limit = (long)r->nworkers;
		r->res->limit = r->limit;
	}
	return r->nworkers ? 0 : -1;
}

static void workers_stop(struct runner *r)
{
	/* a job handed out still runs (its worker takes it first) */
	workq_close(&r->assignq, false);
	for (size_t i = 0; i < r->nworkers; i++) {
		struct worker *w = &r->workers[i];
		pthread_join(w->th, NULL);
		loop_del(w->env.loop, &w->w_wake);
		close(w->wakefd);
		loop_free(w->env.loop);
		free(w->env.scratch);
	}
	free(r->workers);
	r->workers = NULL;
	r->nworkers = 0;
}

/* Thread mode's queues (doneq in the main loop) and its workers; on
 * failure (-1, errno) nothing of them is left but r->workers (empty). */
static int threads_setup(struct runner *r)
{
	size_t n = workers_wanted(r);
	/* room for n: as many as can be handed out at once (running <
	 * nworkers <= n, see struct runner), so no push ever waits */
	if (workq_init(&r->assignq, sizeof(size_t), n, 0, 0) < 0)
		return -1;
	if (workq_init(&r->doneq, sizeof(size_t), n, 0, WORKQ_EVENTFD) < 0) {
		int e = errno;
		workq_destroy(&r->assignq, NULL);
		errno = e;
		return -1;
	}
	if (loop_add(r->env.loop, &r->w_done, workq_fd(&r->doneq), EPOLLIN,
		     on_done_queue, r) < 0 || workers_start(r, n) < 0) {
		int e = errno;
		loop_del(r->env.loop, &r->w_done);
		workq_destroy(&r->doneq, NULL);
		workq_destroy(&r->assignq, NULL);
		errno = e;
		return -1;
	}
	return 0;
}

/* Nothing runs and nothing is ready: only jobs waiting out a retry delay
 * may legitimately keep the run going. */
static bool stalled_ok(struct runner *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->jobs[i].state == JOB_RETRY_WAIT)
			return true;
	return false;
}

static void sample(void *ctx, struct progress_counts *c)
{
	struct runner *r = ctx;
	lock(r);
	c->total = r->n;
	c->done = r->done;
	c->running = r->running;
	/* as the summary counts them: stopped and never-started jobs are
	 * not failures */
	c->failed = r->res->counts[ST_FAILED] + r->res->counts[ST_TIMEOUT] +
		    r->res->counts[ST_ERROR];
	c->cancelled = r->res->counts[ST_CANCELLED];
	c->skipped = r->res->counts[ST_SKIPPED];
	unlock(r);
	c->detail[0] = 0;
	for (size_t k = 0; k < r->nsteps_jobs; k++) {
		const struct job *j = &r->jobs[r->steps_jobs[k]];
		char line[sizeof c->detail];
		job_steps_progress(j, line, sizeof line);
		if (*line && j->spec) {
			char *red = spec_redact(j->spec, line);
			char *shown = ctl_escape(red, true);
			snprintf(c->detail, sizeof c->detail, "%s", shown);
			free(shown);
			free(red);
			break;
		}
	}
}

/* Undo a set-up that failed (nothing was started), in reverse. */
static void setup_undo(struct runner *r)
{
	if (r->threaded) {
		/* (threads_setup undid its part) */
		pthread_cond_destroy(&r->ended_cv);
		pthread_mutex_destroy(&r->mtx);
		free(r->workers); /* (workers_start started none) */
	}
	free(r->env.scratch);
	if (r->sigfd >= 0) {
		loop_del(r->env.loop, &r->w_sig);
		close(r->sigfd);
	}
	if (r->env.devnull >= 0)
		close(r->env.devnull);
	loop_free(r->env.loop);
	if (r->env.executor && r->env.executor->run_end)
		r->env.executor->run_end(r->env.exec_ctx);
	contain_fini(&r->contain);
	contain_guardian_wait(&r->contain);
	escaped_free(r->contain.orphans, r->contain.norphans);
	free(r->jobs);
}

/* The shared env every job gets (workers copy it). */
static void env_setup(struct runner *r)
{
	const struct run_config *cfg = r->cfg;
	r->env.contain = &r->contain;
	r->env.executor = cfg->executor;
	r->env.exec_ctx = cfg->exec_ctx;
	r->fds.runner = RUNNER_PASSING_FDS;
	r->env.fds = &r->fds;
	r->env.scratch = xmalloc(JOB_SCRATCH);
	r->env.tag = cfg->tag;
	r->env.timestamps = cfg->timestamps;
	r->env.live_out_to_stderr = cfg->live_to_stderr;
	r->env.spec = r->spec;
	r->env.all = r->jobs;
	r->ops.ended = on_ended;
	r->ops.ready = on_ready;
	r->ops.reap_orphans = reap_orphans;
	r->ops.items_sunk = cfg->on_items ? on_items_sunk : NULL;
	r->env.journal_items = cfg->on_items != NULL;
	r->ops.ctx = r;
	r->env.ops = &r->ops;
	r->env.run_t0 = now_ms(); /* before the workers copy env */
}

/* Containment, the loop, /dev/null, the signalfd, the env and thread
 * mode's workers.  Returns 0, or -1 with *why (everything undone). */
static int runner_setup(struct runner *r, char **why)
{
	if (contain_init(&r->contain, why) < 0) {
		char *m = xasprintf("containment: %s", *why);
		free(*why);
		*why = m;
		free(r->jobs);
		if (r->threaded) {
			pthread_cond_destroy(&r->ended_cv);
			pthread_mutex_destroy(&r->mtx);
		}
		return -1;
	}
	/* from here on, every way out goes through contain_fini: nothing
	 * of the run (its cgroup, the guardian) may outlive it */
	if (r->cfg->cancel_on_death)
		contain_slurm_job(&r->contain, r->cfg->cancel_on_death, r->cfg->cancel_with,
				  r->cfg->cancel_dir);
	const char *what = NULL;
	r->env.devnull = -1;
	r->env.loop = loop_new();
	if (!r->env.loop) {
		what = "cannot set up the event loop";
		goto fail;
	}
	r->env.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (r->env.devnull < 0) {
		what = "cannot open /dev/null";
		goto fail;
	}
	sigset_t set;
	runner_signals(&set);
	r->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (r->sigfd < 0 || loop_add(r->env.loop, &r->w_sig, r->sigfd, EPOLLIN, on_signal, r) < 0) {
		/* an interrupt would never be seen */
		what = "cannot set up signal handling";
		goto fail;
	}
	env_setup(r);
	if (r->threaded) {
		if (threads_setup(r) < 0) {
			what = "cannot start thread mode";
			goto fail;
		}
		/* each worker may open a passing fd while it handles its job */
		if ((size_t)r->fds.runner < r->nworkers)
			r->fds.runner = (int)r->nworkers;
	}
	return 0;
fail:
	*why = xasprintf("%s: %s", what, strerror(errno));
	setup_undo(r);
	return -1;
}

/* Every job, its dependents and stdin.from readers; the first ready. */
static void jobs_setup(struct runner *r)
{
	const struct spec *s = r->spec;
	size_t steps_cap = 0;
	for (size_t i = 0; i < r->n; i++)
		job_init(&r->jobs[i], NULL, i, &r->env);
	/* what scheduling needs of each job, without making its spec */
	for (size_t i = 0; i < r->n; i++) {
		struct spec_links l;
		spec_job_links(s, i, &l);
		job_set_links(&r->jobs[i], &l);
		if (kind_get(l.kind)->progress) {
			xgrow(&r->steps_jobs, &steps_cap, r->nsteps_jobs + 1, sizeof *r->steps_jobs);
			r->steps_jobs[r->nsteps_jobs++] = i;
		}
		if (l.from)
			job_add_reader(&r->jobs[l.from_idx]);
		for (size_t k = 0; k < l.ndeps; k++)
			job_add_dependent(&r->jobs[l.deps[k]], i);
		free(l.deps);
	}
	const struct run_config *cfg = r->cfg;
	for (size_t i = 0; i < r->n; i++) {
		if (!r->jobs[i].deps_left && !(cfg->restored && cfg->restored[i]))
			minheap_push(&r->ready, i);
		if (cfg->sunk_before && cfg->sunk_before[i].len)
			r->jobs[i].sunk_before = &cfg->sunk_before[i];
	}
	/* restored jobs are done before anything starts: their dependents
	 * that wait for nothing else become ready (pushed once: by finished,
	 * never by the loop above).  All are DONE before the first finished:
	 * its record may stop the run (results that cannot be written),
	 * which skips the jobs still pending, and a restored one must not
	 * be among them (it would be counted twice) */
	lock(r);
	for (size_t i = 0; cfg->restored && i < r->n; i++)
		if (cfg->restored[i]) {
			job_made(r, &r->jobs[i]);
			job_restore(&r->jobs[i], cfg->restored[i]);
		}
	for (size_t i = 0; cfg->restored && i < r->n; i++)
		if (cfg->restored[i])
			finished(r, &r->jobs[i]);
	unlock(r);
}

/* Thread mode is over: its workers, queues and lock.  Jobs the workers
 * finished that main did not settle (the loop failed) are settled here,
 * as on_done_queue does: their records kept, their dependents released
 * (the workers are joined: no lock needed). */
static void threads_finish(struct runner *r)
{
	size_t idx;
	workers_stop(r);
	while (workq_pop(&r->doneq, &idx, 1, 1, false) > 0) {
		r->running--;
		finished(r, &r->jobs[idx]);
	}
	loop_del(r->env.loop, &r->w_done);
	workq_destroy(&r->doneq, NULL);
	workq_destroy(&r->assignq, NULL);
	pthread_cond_destroy(&r->ended_cv);
	pthread_mutex_destroy(&r->mtx);
	r->threaded = false;
}

/* Run until every job is done (or the loop fails: res->error). */
static void run_loop(struct runner *r)
{
	if (r->threaded) {
		lock(r);
		dispatch_threads(r);
		unlock(r);
	}
	while (r->threaded && r->done < r->n) {
		lock(r);
		double wait = results_idle(r);
		unlock(r);
		if (loop_run_once(r->env.loop, wait) < 0 && errno != EINTR) {
			r->res->error = xasprintf("event loop: %s", strerror(errno));
			break;
		}
	}
	if (r->threaded)
		threads_finish(r);
	while (r->done < r->n) {
		double wait = dispatch(r);
		if (r->done == r->n)
			break;
		/* the sooner of the adaptive limit's and the results' */
		double idle = results_idle(r);
		if (idle >= 0 && (wait < 0 || idle < wait))
			wait = idle;
		if (!r->running && !r->ready.n && !stalled_ok(r)) {
			/* cannot happen: every pending job waits on a job that
			 * will end; say so rather than hang (unless the loop
			 * already failed: that error is the cause) */
			if (!r->res->error)
				r->res->error = xasprintf("internal error: %zu jobs can never start",
							  r->n - r->done);
			break;
		}
		if (loop_run_once(r->env.loop, wait) < 0 && errno != EINTR) {
			if (!r->res->error)
				r->res->error = xasprintf("event loop: %s", strerror(errno));
			break;
		}
	}
	/* jobs the loop never reached (it failed): their records are
	 * written too, from their specs */
	for (size_t i = 0; r->done < r->n && i < r->n; i++)
		if (r->jobs[i].state != JOB_DONE)
			job_made(r, &r->jobs[i]);
	/* the records still waiting, out (and their jobs' output let go)
	 * before the run's figures are taken */
	results_idle(r);
}

/* The run is over: its figures, and everything of it let go. */
static void runner_finish(struct runner *r)
{
	struct run_result *res = r->res;
	timer_stop(r->env.loop, &r->t_run);
	progress_finish(&r->progress, r->stop == STOP_SIGNAL ? "interrupted"
			: res->counts[ST_OK] == r->n ? "ok" : "failed");
	res->duration_ms = now_ms() - r->env.run_t0;
	res->peak_parallel = (long)r->peak;
	if (r->adaptive)
		adapt_fini(&r->adapt);
	res->jobs = r->jobs;
	res->njobs = r->n;
	if (r->sigfd >= 0) {
		loop_del(r->env.loop, &r->w_sig);
		close(r->sigfd);
	}
	loop_del(r->env.loop, &r->w_out);
	close(r->env.devnull);
	loop_free(r->env.loop);
	res->cgroups_created = r->contain.cg_created;
	res->cgroups_reused = r->contain.cg_reused;
	if (r->env.executor && r->env.executor->run_end)
		r->env.executor->run_end(r->env.exec_ctx);
	contain_fini(&r->contain);
	res->orphans = r->contain.orphans;
	res->norphans = r->contain.norphans;
	free(r->env.scratch);
	minheap_free(&r->ready);
	slots_free(&r->slots);
	free(r->work);
	pidset_free(&r->tracked);
	free(r->steps_jobs);
	res->fds_end = count_open_fds();
	contain_guardian_wait(&r->contain);
	res->children_left = count_children();
}

int runner_run(const struct spec *s, const struct run_config *cfg,
	       struct run_result *res, char **why)
{
	struct runner r = { 0 };
	memset(res, 0, sizeof *res);
	res->spec = s;
	r.spec = s;
	r.cfg = cfg;
	r.res = res;
	r.n = s->njobs;
	r.jobs = xcalloc(r.n ? r.n : 1, sizeof *r.jobs);
	r.sigfd = -1;
	res->fds_start = count_open_fds();
	iso8601_now(res->started_at);
	r.threaded = cfg->mode == MODE_THREAD;
	if (r.threaded) {
		/* first: every way out (fail: too) destroys them */
		pthread_mutex_init(&r.mtx, NULL);
		pthread_cond_init(&r.ended_cv, NULL);
	}
	r.limit = runner_limit(cfg->mode, cfg->max_parallel);
	res->limit = r.limit;
	/* thread mode keeps a worker per slot, up to 1024: a fixed pool */
	r.adaptive = cfg->mode == MODE_ASYNC && cfg->max_parallel == 0;
	res->adaptive = r.adaptive;
	*why = NULL;
	if (runner_setup(&r, why) < 0)
		return -1;
	if (r.adaptive)
		adapt_init(&r.adapt, r.n, r.limit, adapt_cpus());
	res->containment = r.contain.mode;
	res->jobs = r.jobs;
	res->njobs = r.n;
	if (cfg->on_start)
		cfg->on_start(res, cfg->ctx);

	struct stat st;
	if (cfg->out_fd > 0 && fstat(cfg->out_fd, &st) == 0 &&
	    (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		/* no events asked: EPOLLERR/EPOLLHUP come anyway */
		loop_add(r.env.loop, &r.w_out, cfg->out_fd, 0, on_out_gone, &r);
	jobs_setup(&r);
	if (cfg->timeout > 0)
		timer_start(r.env.loop, &r.t_run, r.env.run_t0 + cfg->timeout * 1000,
			    on_run_timeout, &r);
	progress_start(&r.progress, cfg->progress, r.env.loop, sample, &r);
	run_loop(&r);
	runner_finish(&r);
	return 0;
}

void run_result_free(struct run_result *res)
{
	escaped_free(res->orphans, res->norphans);
	res->orphans = NULL;
	res->norphans = 0;
	free(res->error);
	res->error = NULL;
	for (size_t i = 0; i < res->njobs; i++)
		job_free(&res->jobs[i]);
	free(res->jobs);
	res->jobs = NULL;
	res->njobs = 0;
}

const struct job_spec *run_job_spec(const struct run_result *res, size_t i)
{
	return res->jobs[i].spec ? res->jobs[i].spec : spec_job(res->spec, i);
}
