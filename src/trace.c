/* SPDX-License-Identifier: GPL-3.0-or-later */
/* trace.c - a run as a Chrome Trace Event Format document (see
 * trace.h).  While the run goes on only a few numbers per attempt are
 * kept (no I/O but an RSS sample now and then); the JSON is written at
 * the end with jsonw, into an afile (replaced whole, as --results). */
#include "config.h"
#include "trace.h"
#include "afile.h"
#include "job.h"
#include "jsonw.h"
#include "kind.h"
#include "pool.h"
#include "report.h"
#include "runner.h"
#include "spec.h"
#include "util.h"
#include "trace-int.h"
#include "minheap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void tr_sample_rss(struct trace *t, double now)
{
	char b[128];
	ssize_t n = t->statm >= 0 ? pread(t->statm, b, sizeof b - 1, 0) : -1;
	if (n <= 0)
		return;
	b[n] = 0;
	long size, res;
	if (sscanf(b, "%ld %ld", &size, &res) != 2)
		return;
	xgrow(&t->rss, &t->rss_cap, t->nrss + 1, sizeof *t->rss);
	t->rss[t->nrss++] = (struct tr_sample){ now, res * t->page_kb };
	t->last_sample = now;
}

struct trace *trace_open(const char *path, const char *what, const char *name)
{
	struct trace *t = xcalloc(1, sizeof *t);
	if (afile_open(&t->file, path, O_NONBLOCK) < 0) {
		int e = errno;
		free(t);
		errno = e;
		return NULL;
	}
	fcntl(t->file.fd, F_SETFL, fcntl(t->file.fd, F_GETFL) & ~O_NONBLOCK);
	t->what = xstrdup(what);
	t->name = xstrdup(name ? name : "");
	/* opened before the run, so that the run's fd figures count it */
	t->statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	long ps = sysconf(_SC_PAGESIZE);
	t->page_kb = ps > 0 ? ps / 1024 : 4;
	tr_sample_rss(t, now_ms()); /* (before the start: drawn at 0) */
	return t;
}

void trace_started(struct trace *t, const struct run_result *res)
{
	t->njobs = res->njobs;
	t->traced = xcalloc(res->njobs ? res->njobs : 1, sizeof *t->traced);
	t->limit = res->limit;
	snprintf(t->started_at, sizeof t->started_at, "%s", res->started_at);
	t->t0 = now_ms(); /* the jobs' clock (run_t0) once they have one */
	tr_sample_rss(t, t->t0);
}

void trace_idle(struct trace *t)
{
	double now = now_ms();
	if (now - t->last_sample >= TRACE_SAMPLE_MS)
		tr_sample_rss(t, now);
}

static void add_inst(struct trace *t, uint32_t att, enum tr_inst_kind k, int sig, double ts)
{
	xgrow(&t->insts, &t->insts_cap, t->ninsts + 1, sizeof *t->insts);
	t->insts[t->ninsts++] = (struct tr_inst){ att, (uint8_t)k, sig, ts };
}

/* The stages of a pipeline's attempt that just ended. */
static void add_stages(struct trace *t, const struct job *j, uint32_t att)
{
	const struct tr_att *a = &t->atts[att];
	for (size_t i = 0; job_run_of(j)->stages && i < job_run_of(j)->nstages; i++) {
		const struct stage_result *r = &job_run_of(j)->stages[i];
		if (!r->pid)
			continue;
		/* one that was never reaped lasted as long as we know of */
		double end = r->has_status ? r->ended_ms : a->start + a->dur;
		xgrow(&t->stages, &t->stages_cap, t->nstages + 1, sizeof *t->stages);
		t->stages[t->nstages++] = (struct tr_stage){
			att, (uint32_t)i, r->pid, stage_returncode(r), r->has_status,
			r->started_ms, end < r->started_ms ? r->started_ms : end };
	}
}

/* Attempt k (0-based) of j, from its history; the pid, signals and
 * stages only for the attempt that just ended (the job's current). */
static void add_attempt(struct trace *t, const struct job *j, size_t k, bool current,
			bool retry)
{
	const struct attempt_rec *h = &job_run_of(j)->hist[k];
	xgrow(&t->atts, &t->atts_cap, t->natts + 1, sizeof *t->atts);
	uint32_t att = (uint32_t)t->natts++;
	t->atts[att] = (struct tr_att){
		.job = (uint32_t)j->index, .attempt = (uint32_t)k + 1, .slot = h->slot,
		.pid = current ? job_run_of(j)->proc.pid : 0, .rc = h->returncode,
		.status = (uint8_t)h->status, .has_rc = h->has_rc, .retry = retry,
		.start = h->started_ms, .dur = h->duration_ms };
	if (!current)
		return;
	if (h->status == ST_TIMEOUT && j->spec->timeout > 0)
		add_inst(t, att, TI_TIMEOUT, 0, h->started_ms + j->spec->timeout * 1000);
	for (size_t i = 0; i < job_run_of(j)->proc.nterm; i++)
		add_inst(t, att, TI_SIGNAL, job_run_of(j)->proc.term[i].signal,
			 h->started_ms + job_run_of(j)->proc.term[i].at_ms);
	if (retry)
		add_inst(t, att, TI_RETRY, 0, h->started_ms + h->duration_ms);
	if (kind_get(j->spec->kind)->many_stages)
		add_stages(t, j, att);
}

void trace_attempt(struct trace *t, const struct job *j, bool retry)
{
	/* the jobs' clock, taken while the run's env is there (its jobs'
	 * env pointer outlives it) */
	if (j->env && j->env->run_t0 > 0)
		t->t0 = j->env->run_t0;
	if (j->restored || j->index >= t->njobs)
		return;
	size_t from = t->traced[j->index];
	for (size_t k = from; k < job_run_of(j)->nhist; k++)
		add_attempt(t, j, k, k + 1 == job_run_of(j)->nhist, retry && k + 1 == job_run_of(j)->nhist);
	t->traced[j->index] = (uint16_t)(job_run_of(j)->nhist > UINT16_MAX ? UINT16_MAX : job_run_of(j)->nhist);
}

static void trace_free(struct trace *t)
{
	tr_items_dir_remove(t);
	free(t->what);
	free(t->name);
	for (size_t i = 0; i < t->nworkers; i++)
		if (t->workers[i]) {
			free(t->workers[i]->step);
			free(t->workers[i]);
		}
	free(t->workers);
	free(t->counts);
	free(t->mode);
	free(t->scounts);
	for (size_t i = 0; t->step_names && i < t->nsteps; i++)
		free(t->step_names[i]);
	free(t->step_names);
	free(t->step_queues);
	if (t->statm >= 0)
		close(t->statm);
	free(t->traced);
	free(t->atts);
	free(t->stages);
	free(t->insts);
	free(t->rss);
	free(t);
}

void trace_abort(struct trace *t)
{
	if (!t)
		return;
	afile_abort(&t->file);
	trace_free(t);
}

/* ---------------------------------------------------------- the file */

/* Trace times are µs.  Every boundary is rounded alike (to the ns), so
 * two events that touch in ms never overlap once rounded. */
double tr_us(double ms)
{
	double ns = ms * 1e6;
	return (double)(long long)(ns >= 0 ? ns + 0.5 : ns - 0.5) / 1e3;
}

/* The start of an event: name, ph, pid, tid (< 0: none) and ts (< 0:
 * none); the caller adds what else it has and closes it. */
void tr_ev(struct jw *w, const char *name, const char *ph, int pid, long tid, double ts_ms)
{
	jw_obj(w, true);
	jw_kstr(w, "name", name);
	jw_kstr(w, "ph", ph);
	jw_kint(w, "pid", pid);
	if (tid >= 0)
		jw_kint(w, "tid", tid);
	if (ts_ms >= 0)
		jw_knum(w, "ts", tr_us(ts_ms));
}

void tr_meta(struct jw *w, const char *what, int pid, long tid, const char *name, long sort)
{
	tr_ev(w, what, "M", pid, tid, -1);
	jw_key(w, "args");
	jw_obj(w, true);
	if (name)
		jw_kstr(w, "name", name);
	else
		jw_kint(w, "sort_index", sort);
	jw_obj_end(w);
	jw_obj_end(w);
}


const char *tr_job_name(struct tw *x, uint32_t job)
{
	if (!x->names[job]) {
		const struct job_spec *s = run_job_spec(x->res, job);
		x->names[job] = spec_redact(s, s->name);
	}
	return x->names[job];
}

static long slot_tid(int32_t slot)
{
	return slot >= 0 ? (long)slot + 1 : 0;
}

static void write_attempts(struct tw *x)
{
	const struct trace *t = x->t;
	for (size_t i = 0; i < t->natts; i++) {
		const struct tr_att *a = &t->atts[i];
		const char *name = tr_job_name(x, a->job);
		tr_ev(&x->w, name, "X", x->pid, slot_tid(a->slot), a->start);
		jw_kstr(&x->w, "cat", kind_name(run_job_spec(x->res, a->job)->kind));
		jw_knum(&x->w, "dur", tr_us(a->start + a->dur) - tr_us(a->start));
		jw_key(&x->w, "args");
		jw_obj(&x->w, true);
		jw_kstr(&x->w, "status", job_status_name(a->status));
		jw_key(&x->w, "returncode");
		if (a->has_rc)
			jw_int(&x->w, a->rc);
		else
			jw_null(&x->w);
		jw_kint(&x->w, "attempt", a->attempt);
		jw_key(&x->w, "pid");
		if (a->pid > 0)
			jw_int(&x->w, a->pid);
		else
			jw_null(&x->w);
		jw_kint(&x->w, "slot", a->slot);
		jw_obj_end(&x->w);
		jw_obj_end(&x->w);
	}
}

static void write_insts(struct tw *x)
{
	const struct trace *t = x->t;
	for (size_t i = 0; i < t->ninsts; i++) {
		const struct tr_inst *in = &t->insts[i];
		const struct tr_att *a = &t->atts[in->att];
		char what[48];
		if (in->kind == TI_SIGNAL)
			snprintf(what, sizeof what, "%s sent", sig_name(in->sig));
		else
			snprintf(what, sizeof what, "%s", in->kind == TI_TIMEOUT ? "timeout" : "retry");
		tr_ev(&x->w, what, "i", x->pid, slot_tid(a->slot), in->ts);
		jw_kstr(&x->w, "s", "t");
		jw_key(&x->w, "args");
		jw_obj(&x->w, true);
		jw_kstr(&x->w, "job", tr_job_name(x, a->job));
		jw_kint(&x->w, "attempt", a->attempt);
		jw_obj_end(&x->w);
		jw_obj_end(&x->w);
	}
}

static int cmp_stage_start(const void *a, const void *b)
{
	const struct tr_stage *x = *(struct tr_stage *const *)a, *y = *(struct tr_stage *const *)b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Stages on tracks of their own, packed: each on the lowest track free
 * at its start.  Returns how many tracks. */
static size_t write_stages(struct tw *x)
{
	const struct trace *t = x->t;
	const struct tr_stage **by = xmalloc((t->nstages ? t->nstages : 1) * sizeof *by);
	for (size_t i = 0; i < t->nstages; i++)
		by[i] = &t->stages[i];
	qsort(by, t->nstages, sizeof *by, cmp_stage_start);
	/* (in the trace's µs, as the events carry the times) */
	struct lanes lanes = { 0 };
	for (size_t i = 0; i < t->nstages; i++) {
		const struct tr_stage *s = by[i];
		size_t lane = lanes_take(&lanes, tr_us(s->start), tr_us(s->end));
		const struct tr_att *a = &t->atts[s->att];
		const struct job_spec *js = run_job_spec(x->res, a->job);
		char *argv0 = spec_redact(js, js->stages[s->index].argv[0]);
		char *name = xasprintf("%s[%u] %s", tr_job_name(x, a->job), s->index, argv0);
		tr_ev(&x->w, name, "X", x->pid, x->stage_tid0 + (long)lane, s->start);
		jw_kstr(&x->w, "cat", "stage");
		jw_knum(&x->w, "dur", tr_us(s->end) - tr_us(s->start));
		jw_key(&x->w, "args");
		jw_obj(&x->w, true);
		jw_kstr(&x->w, "job", tr_job_name(x, a->job));
		jw_kint(&x->w, "stage", s->index);
		jw_kint(&x->w, "attempt", a->attempt);
		jw_kint(&x->w, "pid", s->pid);
		jw_key(&x->w, "returncode");
		if (s->has_rc)
			jw_int(&x->w, s->rc);
		else
			jw_null(&x->w);
		jw_obj_end(&x->w);
		jw_obj_end(&x->w);
		free(name);
		free(argv0);
	}
	size_t nlanes = lanes.n;
	lanes_free(&lanes);
	free(by);
	return nlanes;
}

/* A change of the running or waiting count. */
struct tr_delta {
	double ts;
	int running, waiting;
};

static int cmp_delta(const void *a, const void *b)
{
	const struct tr_delta *x = a, *y = b;
	if (tr_us(x->ts) != tr_us(y->ts))
		return tr_us(x->ts) < tr_us(y->ts) ? -1 : 1;
	/* at one instant, ends before starts: a slot handed on is no peak */
	return (x->running + x->waiting) - (y->running + y->waiting);
}

static void delta(struct tr_delta **d, size_t *n, size_t *cap, double ts, int run, int wait)
{
	xgrow(d, cap, *n + 1, sizeof **d);
	(*d)[(*n)++] = (struct tr_delta){ ts, run, wait };
}

/* When attempt a (of a job with attempts before it: prev) was ready to
 * start: its dependencies' ends, or its retry delay's (job.c's rule);
 * -1: not known. */
static double ready_at(const struct trace *t, const struct job_spec *js, const double *end,
		       const struct tr_att *a, const struct tr_att *prev)
{
	if (a->attempt > 1) {
		if (!prev)
			return -1;
		double delay = js->retry_delay * 1000.0;
		for (uint32_t k = 1; k < prev->attempt; k++)
			delay *= js->retry_backoff;
		return prev->start + prev->dur + delay;
	}
	double r = 0;
	for (size_t k = 0; k < js->ndeps; k++)
		if (js->deps[k] < t->njobs && end[js->deps[k]] > r)
			r = end[js->deps[k]];
	return r;
}

/* The counters: jobs running (from the attempts) and jobs waiting
 * (ready, not started: from each attempt's ready time), one "C" event
 * per instant either changes. */
static void write_counts(struct tw *x)
{
	const struct trace *t = x->t;
	double *end = xcalloc(t->njobs ? t->njobs : 1, sizeof *end);
	size_t *last = xmalloc((t->njobs ? t->njobs : 1) * sizeof *last);
	for (size_t i = 0; i < t->njobs; i++)
		last[i] = SIZE_MAX;
	for (size_t i = 0; i < t->natts; i++) {
		const struct tr_att *a = &t->atts[i];
		if (a->start + a->dur > end[a->job])
			end[a->job] = a->start + a->dur;
	}
	struct tr_delta *d = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < t->natts; i++) {
		const struct tr_att *a = &t->atts[i];
		delta(&d, &n, &cap, a->start, 1, 0);
		delta(&d, &n, &cap, a->start + a->dur, -1, 0);
		const struct tr_att *prev = last[a->job] == SIZE_MAX ? NULL : &t->atts[last[a->job]];
		double r = ready_at(t, run_job_spec(x->res, a->job), end, a, prev);
		if (r >= 0 && tr_us(r) < tr_us(a->start)) {
			delta(&d, &n, &cap, r, 0, 1);
			delta(&d, &n, &cap, a->start, 0, -1);
		}
		last[a->job] = i;
	}
	qsort(d, n, sizeof *d, cmp_delta);
	int running = 0, waiting = 0;
	for (size_t i = 0; i < n; i++) {
		running += d[i].running;
		waiting += d[i].waiting;
		if (i + 1 < n && tr_us(d[i + 1].ts) == tr_us(d[i].ts))
			continue;
		tr_ev(&x->w, "jobs", "C", x->pid, x->pid, d[i].ts);
		jw_key(&x->w, "args");
		jw_obj(&x->w, true);
		jw_kint(&x->w, "running", running);
		jw_kint(&x->w, "waiting", waiting);
		jw_obj_end(&x->w);
		jw_obj_end(&x->w);
	}
	free(d);
	free(last);
	free(end);
}

static void write_rss(struct tw *x)
{
	for (size_t i = 0; i < x->t->nrss; i++) {
		double ts = x->t->rss[i].ts - x->t->t0;
		tr_ev(&x->w, "runner RSS", "C", x->pid, x->pid, ts < 0 ? 0 : ts);
		jw_key(&x->w, "args");
		jw_obj(&x->w, true);
		jw_kint(&x->w, "kB", x->t->rss[i].kb);
		jw_obj_end(&x->w);
		jw_obj_end(&x->w);
	}
}

/* Names and order of the tracks: the runner's first, then the slots,
 * then the stage tracks. */
static void write_tracks(struct tw *x, long nslots, size_t nlanes)
{
	char *pname = xasprintf("piperun %s %s", x->t->what, x->t->name);
	tr_meta(&x->w, "process_name", x->pid, -1, pname, 0);
	free(pname);
	tr_meta(&x->w, "thread_name", x->pid, x->pid, "runner", 0);
	tr_meta(&x->w, "thread_sort_index", x->pid, x->pid, NULL, -1);
	for (long s = 0; s < nslots; s++) {
		char name[40];
		snprintf(name, sizeof name, "slot %ld", s);
		tr_meta(&x->w, "thread_name", x->pid, slot_tid((int32_t)s), name, 0);
		tr_meta(&x->w, "thread_sort_index", x->pid, slot_tid((int32_t)s), NULL, s);
	}
	for (size_t l = 0; l < nlanes; l++) {
		char name[40];
		snprintf(name, sizeof name, "stages %zu", l);
		tr_meta(&x->w, "thread_name", x->pid, x->stage_tid0 + (long)l, name, 0);
		tr_meta(&x->w, "thread_sort_index", x->pid, x->stage_tid0 + (long)l, NULL,
		     nslots + (long)l);
	}
}

static void write_doc(struct tw *x)
{
	const struct trace *t = x->t;
	long nslots = 0;
	for (size_t i = 0; i < t->natts; i++)
		if (t->atts[i].slot + 1 > nslots)
			nslots = t->atts[i].slot + 1;
	x->stage_tid0 = nslots + 1;
	jw_obj(&x->w, false);
	jw_kstr(&x->w, "displayTimeUnit", "ms");
	jw_key(&x->w, "otherData");
	jw_obj(&x->w, true);
	jw_kstr(&x->w, "piperun", PACKAGE_VERSION);
	jw_kstr(&x->w, "name", t->name);
	jw_kstr(&x->w, "started_at", t->started_at);
	jw_knum(&x->w, "duration_ms", x->res->duration_ms);
	jw_kint(&x->w, "max_parallel", t->limit);
	jw_obj_end(&x->w);
	jw_key(&x->w, "traceEvents");
	jw_arr(&x->w, false);
	write_attempts(x);
	write_insts(x);
	size_t nlanes = write_stages(x);
	write_counts(x);
	write_rss(x);
	write_tracks(x, nslots, nlanes);
	tr_write_items(x);
	jw_arr_end(&x->w);
	jw_obj_end(&x->w);
	jw_newline(&x->w);
}

/* An items document (pool --trace, a steps or pool job's items): its
 * head up to otherData's own keys, which the caller adds ... */
void tr_items_begin(struct tw *x)
{
	jw_obj(&x->w, false);
	jw_kstr(&x->w, "displayTimeUnit", "ms");
	jw_key(&x->w, "otherData");
	jw_obj(&x->w, true);
	jw_kstr(&x->w, "piperun", PACKAGE_VERSION);
}

/* ... the rest of otherData (counts, the cap, the clock) and each
 * worker's kept items, the events open for the caller's counters ... */
void tr_items_events(struct tw *x, double wall_ms, uint64_t items)
{
	const struct trace *t = x->t;
	size_t kept = 0;
	for (size_t i = 0; i < t->nworkers; i++)
		if (t->workers[i])
			kept += t->workers[i]->nfirst + t->workers[i]->nslow;
	jw_knum(&x->w, "duration_ms", wall_ms);
	jw_kint(&x->w, "items", (int64_t)items);
	jw_kint(&x->w, "items_traced", (int64_t)kept);
	jw_kint(&x->w, "items_first_per_worker", TRACE_ITEMS_FIRST);
	jw_kint(&x->w, "items_slowest_per_worker", TRACE_ITEMS_SLOWEST);
	jw_knum(&x->w, "clock_ms", t->t0);
	jw_kint(&x->w, "pid", x->pid);
	jw_obj_end(&x->w);
	jw_key(&x->w, "traceEvents");
	jw_arr(&x->w, false);
	long tid = 1;
	for (size_t i = 0; i < t->nworkers; i++)
		if (t->workers[i])
			tid = tr_write_worker(x, i, t->workers[i], tid);
}

/* ... and its end: the process and its own track named. */
void tr_items_end(struct tw *x, const char *process, const char *thread)
{
	tr_meta(&x->w, "process_name", x->pid, -1, process, 0);
	tr_meta(&x->w, "thread_name", x->pid, x->pid, thread, 0);
	tr_meta(&x->w, "thread_sort_index", x->pid, x->pid, NULL, -1);
	jw_arr_end(&x->w);
	jw_obj_end(&x->w);
	jw_newline(&x->w);
}

static void write_pool_doc(struct tw *x, const struct pool_stats *st, size_t total);

/* What went into sink, out; the afile committed and t freed.  0, or -1
 * with errno (the target left as it was). */
int tr_commit(struct trace *t, struct fd_sink *sink)
{
	int rc = fd_sink_finish(sink);
	int e = sink->err ? sink->err : EIO;
	free(sink);
	if (rc < 0) {
		trace_abort(t);
		errno = e;
		return -1;
	}
	rc = afile_commit(&t->file); /* (closed and let go either way) */
	e = errno;
	trace_free(t);
	errno = e;
	return rc;
}

/* The document into the afile, committed; t freed.  A run's (x->res)
 * or a pool's. */
static int trace_write(struct trace *t, struct tw *x, const struct pool_stats *st,
		       size_t total)
{
	struct fd_sink *sink = xcalloc(1, sizeof *sink);
	sink->fd = t->file.fd;
	x->names = xcalloc(t->njobs ? t->njobs : 1, sizeof *x->names);
	jw_init(&x->w, fd_sink_write, sink, true);
	if (x->res)
		write_doc(x);
	else
		write_pool_doc(x, st, total);
	for (size_t i = 0; i < t->njobs; i++)
		free(x->names[i]);
	free(x->names);
	return tr_commit(t, sink);
}

int trace_finish(struct trace *t, const struct run_result *res)
{
	tr_sample_rss(t, now_ms());
	struct tw x = { .t = t, .res = res, .pid = (int)getpid() };
	return trace_write(t, &x, NULL, 0);
}

/* ------------------------------------------------------------- pool */

void trace_pool_begin(struct trace *t, const char *mode)
{
	t->mode = xstrdup(mode);
	t->t0 = now_ms();
	t->count_every = TRACE_SAMPLE_MS;
	t->counts = xmalloc(TRACE_MAX_COUNTS * sizeof *t->counts);
	tr_sample_rss(t, t->t0);
}

static void count_now(struct trace *t, double now)
{
	if (t->ncounts == TRACE_MAX_COUNTS) {
		/* full: keep every other one, and take half as many from now */
		for (size_t i = 0; i < TRACE_MAX_COUNTS / 2; i++)
			t->counts[i] = t->counts[2 * i + 1];
		t->ncounts = TRACE_MAX_COUNTS / 2;
		t->count_every *= 2;
	}
	long kb = t->nrss ? t->rss[t->nrss - 1].kb : 0;
	t->counts[t->ncounts++] = (struct tr_count){ now - t->t0, t->done, t->ok, t->error, kb };
}

/* Keep it if it is among the worker's first or slowest. */
void tr_keep_item(struct tr_worker *w, const struct tr_item *it)
{
	if (w->nfirst < TRACE_ITEMS_FIRST) {
		w->first[w->nfirst++] = *it;
		return;
	}
	double d = it->end - it->start;
	struct tr_item *h = w->slow;
	size_t n = w->nslow, i;
	if (n == TRACE_ITEMS_SLOWEST) {
		if (d <= h[0].end - h[0].start)
			return;
		/* replace the fastest kept: sift the new one down from the top */
		for (i = 0;;) {
			size_t c = 2 * i + 1;
			if (c >= n)
				break;
			if (c + 1 < n && h[c + 1].end - h[c + 1].start < h[c].end - h[c].start)
				c++;
			if (h[c].end - h[c].start >= d)
				break;
			h[i] = h[c];
			i = c;
		}
		h[i] = *it;
		return;
	}
	for (i = w->nslow++; i > 0 && h[(i - 1) / 2].end - h[(i - 1) / 2].start > d;
	     i = (i - 1) / 2)
		h[i] = h[(i - 1) / 2];
	h[i] = *it;
}

void trace_pool_item(struct trace *t, size_t index, const struct pool_result *r)
{
	if (r->status == POOL_SKIPPED || r->status == POOL_PENDING)
		return;
	double now = now_ms();
	t->done++;
	t->ok += r->status == POOL_OK;
	t->error += r->status == POOL_ERROR;
	size_t wk = r->worker;
	if (wk >= t->nworkers) {
		size_t cap = t->nworkers;
		xgrow(&t->workers, &cap, wk + 1, sizeof *t->workers);
		memset(t->workers + t->nworkers, 0, (cap - t->nworkers) * sizeof *t->workers);
		t->nworkers = cap;
	}
	if (!t->workers[wk])
		t->workers[wk] = xcalloc(1, sizeof *t->workers[wk]);
	struct tr_worker *w = t->workers[wk];
	w->items++;
	/* it ended now, as far as the pool can tell: it began its duration
	 * before */
	double end = now - t->t0, start = end - r->duration_ms;
	struct tr_item it = { index, start < 0 ? 0 : start, end, r->status };
	tr_keep_item(w, &it);
	if (now - t->last_sample >= t->count_every) {
		tr_sample_rss(t, now);
		t->last_sample = now;
		count_now(t, now);
	}
}

static int cmp_item_start(const void *a, const void *b)
{
	const struct tr_item *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start ? 1
	       : (x->index > y->index) - (x->index < y->index);
}

/* A worker's items kept, by start.  A worker of the serial, thread and
 * process modes runs one item after another: where the times the pool
 * saw overlap (it hears of an end a moment late), an item starts when
 * the one before ended.  Async mode runs many at once: those that
 * overlap go on the worker's next track.  Returns the next free tid. */
long tr_write_worker(struct tw *x, size_t wk, const struct tr_worker *w, long tid)
{
	bool one_by_one = !x->t->mode || strcmp(x->t->mode, "async");
	size_t n = 0;
	struct tr_item *all = xmalloc((w->nfirst + w->nslow + 1) * sizeof *all);
	for (size_t i = 0; i < w->nfirst; i++)
		all[n++] = w->first[i];
	for (size_t i = 0; i < w->nslow; i++)
		all[n++] = w->slow[i];
	qsort(all, n, sizeof *all, cmp_item_start);
	/* (free_at in the trace's µs, as the events carry the times) */
	struct lanes lanes = { 0 };
	for (size_t i = 0; i < n; i++) {
		if (one_by_one && lanes.n && tr_us(all[i].start) < lanes.free_at[0]) {
			all[i].start = lanes.free_at[0] / 1000;
			if (all[i].end < all[i].start)
				all[i].end = all[i].start;
		}
		size_t l = lanes_take(&lanes, tr_us(all[i].start), tr_us(all[i].end));
		char name[48];
		snprintf(name, sizeof name, "item %zu", all[i].index);
		tr_ev(&x->w, name, "X", x->pid, tid + (long)l, all[i].start);
		jw_kstr(&x->w, "cat", "item");
		jw_knum(&x->w, "dur", tr_us(all[i].end) - tr_us(all[i].start));
		jw_key(&x->w, "args");
		jw_obj(&x->w, true);
		jw_kint(&x->w, "index", (int64_t)all[i].index);
		jw_kstr(&x->w, "status", all[i].status == POOL_OK ? "ok" : "error");
		if (w->step)
			jw_kstr(&x->w, "step", w->step);
		jw_kint(&x->w, "worker", w->step ? (int64_t)w->id : (int64_t)wk);
		jw_obj_end(&x->w);
		jw_obj_end(&x->w);
	}
	size_t nl = lanes.n;
	lanes_free(&lanes);
	for (size_t l = 0; l < nl; l++) {
		char *name = w->step ? xasprintf("%s worker %ld", w->step, w->id)
				     : xasprintf("worker %zu", wk);
		if (l) {
			char *more = xasprintf("%s (%zu)", name, l + 1);
			free(name);
			name = more;
		}
		tr_meta(&x->w, "thread_name", x->pid, tid + (long)l, name, 0);
		free(name);
		tr_meta(&x->w, "thread_sort_index", x->pid, tid + (long)l, NULL, tid + (long)l);
	}
	free(all);
	return tid + (long)(nl ? nl : 0);
}

static void write_pool_counts(struct tw *x)
{
	const struct trace *t = x->t;
	for (size_t i = 0; i < t->ncounts; i++) {
		const struct tr_count *c = &t->counts[i];
		tr_ev(&x->w, "items", "C", x->pid, x->pid, c->ts);
		jw_key(&x->w, "args");
		jw_obj(&x->w, true);
		jw_kint(&x->w, "done", (int64_t)c->done);
		jw_kint(&x->w, "ok", (int64_t)c->ok);
		jw_kint(&x->w, "error", (int64_t)c->error);
		jw_obj_end(&x->w);
		jw_obj_end(&x->w);
		tr_ev(&x->w, "runner RSS", "C", x->pid, x->pid, c->ts);
		jw_key(&x->w, "args");
		jw_obj(&x->w, true);
		jw_kint(&x->w, "kB", c->kb);
		jw_obj_end(&x->w);
		jw_obj_end(&x->w);
	}
}

static void write_pool_doc(struct tw *x, const struct pool_stats *st, size_t total)
{
	const struct trace *t = x->t;
	tr_items_begin(x);
	jw_kstr(&x->w, "task", t->name);
	jw_kstr(&x->w, "mode", t->mode ? t->mode : "");
	jw_kint(&x->w, "workers", st->workers);
	tr_items_events(x, st->wall_ms, total);
	write_pool_counts(x);
	char *pname = xasprintf("piperun pool %s", t->name);
	tr_items_end(x, pname, "pool");
	free(pname);
}

int trace_pool_finish(struct trace *t, const struct pool_stats *st, size_t total)
{
	double now = now_ms();
	tr_sample_rss(t, now);
	count_now(t, now);
	struct tw x = { .t = t, .pid = (int)getpid() };
	return trace_write(t, &x, st, total);
}

/* ------------------------------------------------------- exec, timeout */

/* The one command on slot 0: its event, the timeout and the signals
 * sent as instants, the counters at its start and end. */
static void write_command(struct tw *x, const struct command_record *r, double timeout_s)
{
	const struct stage_result *st = &r->proc->status;
	char *name = xasprintf("%s %s", r->name, r->argv[0]);
	tr_ev(&x->w, name, "X", x->pid, 1, 0);
	jw_kstr(&x->w, "cat", r->name);
	jw_knum(&x->w, "dur", tr_us(r->duration_ms));
	jw_key(&x->w, "args");
	jw_obj(&x->w, true);
	jw_kstr(&x->w, "status", job_status_name(r->status));
	jw_key(&x->w, "returncode");
	if (st->has_status)
		jw_int(&x->w, stage_returncode(st));
	else
		jw_null(&x->w);
	jw_kint(&x->w, "attempt", 1);
	jw_kint(&x->w, "pid", r->proc->pid);
	jw_kint(&x->w, "slot", 0);
	jw_obj_end(&x->w);
	jw_obj_end(&x->w);
	if (r->status == ST_TIMEOUT && timeout_s > 0 && timeout_s * 1000 <= r->duration_ms) {
		tr_ev(&x->w, "timeout", "i", x->pid, 1, timeout_s * 1000);
		jw_kstr(&x->w, "s", "t");
		jw_obj_end(&x->w);
	}
	for (size_t i = 0; i < r->proc->nterm; i++) {
		char what[48];
		snprintf(what, sizeof what, "%s sent", sig_name(r->proc->term[i].signal));
		tr_ev(&x->w, what, "i", x->pid, 1, r->proc->term[i].at_ms);
		jw_kstr(&x->w, "s", "t");
		jw_obj_end(&x->w);
	}
	for (int k = 0; k < 2; k++) {
		tr_ev(&x->w, "jobs", "C", x->pid, x->pid, k ? r->duration_ms : 0);
		jw_key(&x->w, "args");
		jw_obj(&x->w, true);
		jw_kint(&x->w, "running", !k);
		jw_kint(&x->w, "waiting", 0);
		jw_obj_end(&x->w);
		jw_obj_end(&x->w);
	}
	free(name);
}

int trace_command_finish(struct trace *t, const struct command_record *r, double timeout_s)
{
	double now = now_ms();
	tr_sample_rss(t, now);
	t->t0 = now - r->duration_ms; /* (the command's start, near enough) */
	struct fd_sink *sink = xcalloc(1, sizeof *sink);
	sink->fd = t->file.fd;
	struct tw x = { .t = t, .pid = (int)getpid() };
	jw_init(&x.w, fd_sink_write, sink, true);
	jw_obj(&x.w, false);
	jw_kstr(&x.w, "displayTimeUnit", "ms");
	jw_key(&x.w, "otherData");
	jw_obj(&x.w, true);
	jw_kstr(&x.w, "piperun", PACKAGE_VERSION);
	jw_kstr(&x.w, "name", r->name);
	jw_knum(&x.w, "duration_ms", r->duration_ms);
	jw_obj_end(&x.w);
	jw_key(&x.w, "traceEvents");
	jw_arr(&x.w, false);
	write_command(&x, r, timeout_s);
	write_rss(&x);
	char *pname = xasprintf("piperun %s", r->name);
	tr_meta(&x.w, "process_name", x.pid, -1, pname, 0);
	free(pname);
	tr_meta(&x.w, "thread_name", x.pid, x.pid, "runner", 0);
	tr_meta(&x.w, "thread_name", x.pid, 1, "slot 0", 0);
	jw_arr_end(&x.w);
	jw_obj_end(&x.w);
	jw_newline(&x.w);
	return tr_commit(t, sink);
}
