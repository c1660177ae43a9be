/* SPDX-License-Identifier: GPL-3.0-or-later */
/* pool.c - the task pool (see pool.h). */
#include "config.h"
#include "enum-name.h"
#include "pool-int.h"
#include "spec.h"
#include "task.h"
#include "util.h"
#include "workq.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

static const struct enum_name pool_modes[] = {
	{ POOL_SERIAL, "serial" }, { POOL_THREAD, "thread" }, { POOL_PROCESS, "process" },
	{ POOL_ASYNC, "async" },
};

const char *pool_mode_name(enum pool_mode m)
{
	return ENUM_NAME(pool_modes, m);
}

const struct enum_name *pool_mode_table(size_t *n)
{
	*n = sizeof pool_modes / sizeof pool_modes[0];
	return pool_modes;
}

/* -------------------------------------------------------------- one item */

void pool_set_result(struct pool_result *r, const struct piperun_task *t,
		     struct piperun_result *res, double dur, int worker)
{
	r->duration_ms = (float)dur;
	r->worker = (uint16_t)worker;
	r->kind = res->kind;
	if (res->kind == PIPERUN_RESULT_NUMBER)
		r->v.d = res->d;
	else
		r->v.i = res->i;
	r->text = NULL;
	switch (res->kind) {
	case PIPERUN_RESULT_INT:
	case PIPERUN_RESULT_NUMBER:
		r->status = POOL_OK;
		if (res->kind == PIPERUN_RESULT_NUMBER && !isfinite(res->d)) {
			r->status = POOL_ERROR;
			r->text = xstrdup("the task returned a number that is not finite");
		}
		break;
	case PIPERUN_RESULT_JSON:
	{
		size_t len;
		r->text = pool_json_result(res->text, &len);
		r->status = len ? POOL_OK : POOL_ERROR;
		break;
	}
	default:
		r->status = POOL_ERROR;
		r->text = xstrdup(res->text ? res->text : "failed");
		break;
	}
	/* a failed item is an error whatever the task meant to return: one
	 * kind in every mode (process mode sends it so), so --compare sees
	 * a NaN or a bad JSON result as the same error everywhere */
	if (r->status == POOL_ERROR)
		r->kind = PIPERUN_RESULT_ERROR;
	if (res->text && t->free_result)
		t->free_result(res);
}

void pool_fail(struct pool_result *r, const char *why, int worker)
{
	r->status = POOL_ERROR;
	r->kind = PIPERUN_RESULT_ERROR;
	r->text = xstrdup(why);
	r->worker = (uint16_t)worker;
}

bool pool_timed_out(const struct pool_opts *o, double dur_ms)
{
	return o->timeout > 0 && dur_ms >= o->timeout * 1000;
}

/* Item i's arguments, in local (16 of them) or malloc'd. */
struct piperun_arg *pool_item_args(const struct pool_items *it, size_t i,
				   struct piperun_arg local[16], size_t *na)
{
	size_t a0 = it->arg0[i];
	*na = it->arg0[i + 1] - a0;
	struct piperun_arg *args = *na <= 16 ? local : xmalloc(*na * sizeof *args);
	for (size_t k = 0; k < *na; k++)
		pool_get_arg(it, a0 + k, &args[k]);
	return args;
}

void pool_run_one(const struct pool_opts *o, void *state, const struct pool_items *it,
		  size_t i, struct pool_result *r, int worker, double *clock)
{
	struct piperun_arg local[16];
	size_t na;
	struct piperun_arg *args = pool_item_args(it, i, local, &na);
	struct piperun_task_ctx ctx = { .state = state, .expired = task_expired };
	double t0 = *clock ? *clock : now_ms();
	struct piperun_result res;
	task_call(o->task, &ctx, args, na, t0, o->timeout * 1000, &res);
	if (args != local)
		free(args);
	*clock = now_ms();
	double dur = *clock - t0;
	if (pool_timed_out(o, dur) && res.kind != PIPERUN_RESULT_ERROR) {
		/* it ended too late: the one rule of every mode (pool.h) */
		if (res.text && o->task->free_result)
			o->task->free_result(&res);
		*r = (struct pool_result){ .status = POOL_ERROR, .kind = PIPERUN_RESULT_ERROR,
					   .text = xstrdup("timed out"), .duration_ms = (float)dur,
					   .worker = (uint16_t)worker };
		return;
	}
	pool_set_result(r, o->task, &res, dur, worker);
}

/* ------------------------------------------------- init() and fini() */

double pool_life_bound_ms(double timeout_s)
{
	return timeout_s > 0 ? timeout_s * 1000 : POOL_LIFE_DEFAULT_MS;
}

/* A bounded call: the caller and the thread each hold a reference; the
 * last one out frees it, so a caller that gave up leaves it to the
 * thread (which may never come out: then it is never freed). */
struct bcall {
	void (*fn)(void *);
	void *arg;
	bool done;
	int refs;                    /* atomic */
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void bcall_unref(struct bcall *c)
{
	if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL))
		return;
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c);
}

static void *bcall_main(void *arg)
{
	struct bcall *c = arg;
	c->fn(c->arg);
	pthread_mutex_lock(&c->mu);
	c->done = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	bcall_unref(c);
	return NULL;
}

bool pool_call_bounded(void (*fn)(void *), void *arg, double bound_ms)
{
	if (bound_ms <= 0) {
		fn(arg);
		return true;
	}
	struct bcall *c = xcalloc(1, sizeof *c);
	c->fn = fn;
	c->arg = arg;
	c->refs = 2;
	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_t th;
	if (pthread_create(&th, NULL, bcall_main, c) != 0) {
		/* no thread to spare: unbounded, as before */
		c->refs = 1;
		bcall_unref(c);
		fn(arg);
		return true;
	}
	pthread_detach(th);
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	long long ns = until.tv_nsec + (long long)(bound_ms * 1e6);
	until.tv_sec += (time_t)(ns / 1000000000);
	until.tv_nsec = (long)(ns % 1000000000);
	pthread_mutex_lock(&c->mu);
	while (!c->done && pthread_cond_timedwait(&c->cv, &c->mu, &until) == 0)
		;
	bool done = c->done;
	pthread_mutex_unlock(&c->mu);
	bcall_unref(c);
	return done;
}

struct lifecall {
	const struct piperun_task *t;
	void *state;
	int rc;
};

static void life_init(void *arg)
{
	struct lifecall *l = arg;
	l->rc = l->t->init(&l->state);
}

static void life_fini(void *arg)
{
	struct lifecall *l = arg;
	l->t->fini(l->state);
}

int pool_task_init(const struct piperun_task *t, void **state, double bound_ms)
{
	*state = NULL;
	if (!t->init)
		return 0;
	struct lifecall *l = xcalloc(1, sizeof *l);
	l->t = t;
	if (!pool_call_bounded(life_init, l, bound_ms))
		return 2; /* l is the thread's now, for good */
	int rc = l->rc;
	*state = l->state;
	free(l);
	return rc == 0 ? 0 : 1;
}

bool pool_task_fini(const struct piperun_task *t, void *state, double bound_ms)
{
	if (!t->fini)
		return true;
	struct lifecall *l = xcalloc(1, sizeof *l);
	l->t = t;
	l->state = state;
	if (!pool_call_bounded(life_fini, l, bound_ms))
		return false;
	free(l);
	return true;
}

/* What a worker says when fini() did not return (on the job's stderr:
 * every item already has its result). */
static void fini_hung(const struct pool_opts *o, int worker)
{
	fprintf(stderr, "piperun: pool: worker %d: the task's fini() did not return within %gs; "
		"left behind\n", worker, pool_life_bound_ms(o->timeout) / 1000);
}

char *pool_init_hung_text(const struct pool_opts *o)
{
	return xasprintf("not run: the task's init() did not return within %gs",
			 pool_life_bound_ms(o->timeout) / 1000);
}

/* --------------------------------------------------------------- serial */

size_t pool_fail_pending(const struct pool_opts *o, struct pool_result *res, size_t n,
			 const char *why)
{
	size_t failed = 0;
	for (size_t i = 0; i < n; i++) {
		if (res[i].status != POOL_PENDING)
			continue;
		pool_fail(&res[i], why, 0);
		failed++;
		if (o->on_result)
			o->on_result(i, &res[i], o->ctx);
	}
	return failed;
}

void pool_skip_rest(struct pool_result *res, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (res[i].status == POOL_PENDING)
			res[i].status = POOL_SKIPPED;
}

void pool_run_serial(const struct pool_opts *o, const struct pool_items *it,
		     struct pool_result *res)
{
	void *state = NULL;
	int init = pool_task_init(o->task, &state, pool_life_bound_ms(o->timeout));
	bool ok = init == 0;
	char *hung = init == 2 ? pool_init_hung_text(o) : NULL;
	double clock = 0;
	for (size_t i = 0; i < it->n; i++) {
		if (ok) {
			pool_run_one(o, state, it, i, &res[i], 1, &clock);
		} else {
			pool_fail(&res[i], hung ? hung : "the task's init failed", 1);
		}
		if (o->on_result) {
			o->on_result(i, &res[i], o->ctx);
			clock = 0; /* writing it out is not the next item's time */
		}
		if (o->fail_fast && res[i].status == POOL_ERROR)
			break;
	}
	free(hung);
	if (ok && !pool_task_fini(o->task, state, pool_life_bound_ms(o->timeout)))
		fini_hung(o, 1);
	pool_skip_rest(res, it->n);
}

/* --------------------------------------------------------------- thread */

/* The items go out in batches of consecutive indices, through one
 * work queue filled before the workers start. */
struct tbatch {
	size_t start, end;
};

struct tpool {
	const struct pool_opts *o;
	const struct pool_items *it;
	struct pool_result *res;
	struct workq q;         /* struct tbatch */
	int stop;               /* atomic */
	int init_hung;          /* atomic: a worker gave up on init() */
	pthread_mutex_t mtx;    /* on_result */
};

struct tworker {
	struct tpool *p;
	int index;
	pthread_t th;
};

static void *tworker_main(void *arg)
{
	struct tworker *w = arg;
	struct tpool *p = w->p;
	const struct pool_opts *o = p->o;
	void *state = NULL;
	int init = pool_task_init(o->task, &state, pool_life_bound_ms(o->timeout));
	bool ok = init == 0;
	if (init == 2) {
		/* given up: this worker takes no items, the others run them */
		__atomic_store_n(&p->init_hung, 1, __ATOMIC_RELEASE);
		return NULL;
	}
	double clock = 0;
	for (;;) {
		struct tbatch b;
		if (__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE) || workq_pop(&p->q, &b, 1, 1, true) < 0)
			break;
		for (size_t i = b.start; i < b.end; i++) {
			if (__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
				break;
			if (ok) {
				pool_run_one(o, state, p->it, i, &p->res[i], w->index, &clock);
			} else {
				pool_fail(&p->res[i], "the task's init failed", w->index);
			}
			if (o->on_result) {
				pthread_mutex_lock(&p->mtx);
				o->on_result(i, &p->res[i], o->ctx);
				pthread_mutex_unlock(&p->mtx);
				clock = 0;
			}
			if (o->fail_fast && p->res[i].status == POOL_ERROR) {
				__atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
				workq_close(&p->q, true);
			}
		}
	}
	if (ok && !pool_task_fini(o->task, state, pool_life_bound_ms(o->timeout)))
		fini_hung(o, w->index);
	return NULL;
}

static size_t batch_size(size_t n, int workers)
{
	size_t b = n / ((size_t)workers * 16);
	return b < 1 ? 1 : b > 1024 ? 1024 : b;
}

static int run_threads(const struct pool_opts *o, const struct pool_items *it,
		       struct pool_result *res, char **why)
{
	struct tpool p = { .o = o, .it = it, .res = res };
	size_t bs = batch_size(it->n, o->workers);
	workq_init(&p.q, sizeof(struct tbatch), (it->n + bs - 1) / bs, 0, 0);
	for (size_t start = 0; start < it->n; start += bs) {
		struct tbatch b = { start, start + bs < it->n ? start + bs : it->n };
		bool aborted;
		workq_push(&p.q, &b, 1, false, &aborted);
	}
	workq_close(&p.q, false);
	pthread_mutex_init(&p.mtx, NULL);
	struct tworker *w = xcalloc((size_t)o->workers, sizeof *w);
	int started = 0, err = 0;
	for (int i = 0; i < o->workers; i++) {
		w[i].p = &p;
		w[i].index = i + 1;
		/* pthread_create returns its error; errno is not set */
		if ((err = pthread_create(&w[i].th, NULL, tworker_main, &w[i])) != 0)
			break;
		started++;
	}
	for (int i = 0; i < started; i++)
		pthread_join(w[i].th, NULL);
	free(w);
	pthread_mutex_destroy(&p.mtx);
	workq_destroy(&p.q, NULL);
	if (!started) {
		*why = xasprintf("pool: cannot start threads: %s", strerror(err));
		return -1;
	}
	if (__atomic_load_n(&p.init_hung, __ATOMIC_ACQUIRE) && !p.stop) {
		/* every worker left gave up on init(): what is left fails */
		char *hung = pool_init_hung_text(o);
		pool_fail_pending(o, res, it->n, hung);
		free(hung);
	}
	pool_skip_rest(res, it->n);
	return 0;
}

/* ------------------------------------------------------------------ run */

static double cpu_ms(void)
{
	struct rusage a, b;
	getrusage(RUSAGE_SELF, &a);
	getrusage(RUSAGE_CHILDREN, &b);
	return (a.ru_utime.tv_sec + b.ru_utime.tv_sec + a.ru_stime.tv_sec + b.ru_stime.tv_sec) * 1e3 +
	       (a.ru_utime.tv_usec + b.ru_utime.tv_usec + a.ru_stime.tv_usec + b.ru_stime.tv_usec) / 1e3;
}

static int run_serial(const struct pool_opts *o, const struct pool_items *it,
		      struct pool_result *res, char **why)
{
	(void)why;
	pool_run_serial(o, it, res);
	return 0;
}

/* The engine of each mode (its name: pool_modes).  A mode is an engine
 * function (its own file, pool-int.h) and a row here and there. */
static const struct pool_engine {
	int (*run)(const struct pool_opts *o, const struct pool_items *it,
		   struct pool_result *res, char **why);
	bool one_worker;             /* runs on the calling thread alone */
} engines[] = {
	[POOL_SERIAL] = { run_serial, true },
	[POOL_THREAD] = { run_threads, false },
	[POOL_PROCESS] = { pool_run_processes, false },
	[POOL_ASYNC] = { pool_run_async, true },
};

int pool_run(const struct pool_opts *o, const struct pool_items *it,
	     struct pool_result *results, struct pool_stats *st, char **why)
{
	memset(st, 0, sizeof *st);
	double t0 = now_ms(), c0 = cpu_ms();
	const struct pool_engine *e = &engines[o->mode];
	st->workers = e->one_worker ? 1 : o->workers;
	int rc = e->run(o, it, results, why);
	st->wall_ms = now_ms() - t0;
	st->cpu_ms = cpu_ms() - c0;
	char *hung = NULL;
	for (size_t i = 0; i < it->n; i++) {
		if (results[i].status == POOL_OK) {
			st->ok++;
		} else if (results[i].status == POOL_ERROR) {
			st->error++;
			if (!st->gave_up && results[i].text &&
			    !strcmp(results[i].text, hung ? hung : (hung = pool_init_hung_text(o)))) {
				st->gave_up = hung;
				hung = NULL;
			}
		} else {
			st->skipped++;
		}
	}
	free(hung);
	return rc;
}

struct pool_result *pool_results_alloc(size_t n)
{
	/* prefaulted in one go: a million page-fault traps cost more than
	 * the work on tiny items */
	size_t bytes = (n ? n : 1) * sizeof(struct pool_result);
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "piperun: out of memory (%zu results)\n", n);
		abort();
	}
	return p;
}

void pool_results_free(struct pool_result *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i].text);
	munmap(r, (n ? n : 1) * sizeof *r);
}

/* --------------------------------------------------------------- output */

void pool_write_input(struct jw *w, const struct pool_items *it, size_t i)
{
	jw_arr(w, true);
	for (size_t k = it->arg0[i]; k < it->arg0[i + 1]; k++) {
		struct piperun_arg arg;
		pool_get_arg(it, k, &arg);
		const struct piperun_arg *a = &arg;
		switch (a->type) {
		case PIPERUN_ARG_INT:
			jw_int(w, a->i);
			break;
		case PIPERUN_ARG_NUMBER:
			jw_double(w, a->d);
			break;
		case PIPERUN_ARG_STRING:
			jw_str(w, a->s);
			break;
		default:
			jw_raw(w, a->s);
		}
	}
	jw_arr_end(w);
}

void pool_write_item(struct jw *w, const struct pool_items *it, size_t i,
		     const struct pool_result *r)
{
	static const char *const st[] = { "pending", "ok", "error", "skipped" };
	jw_obj(w, true);
	jw_kint(w, "index", (int64_t)(it->base + i));
	jw_key(w, "input");
	pool_write_input(w, it, i);
	jw_kstr(w, "status", st[r->status]);
	jw_key(w, "result");
	if (r->status != POOL_OK) {
		jw_null(w);
	} else if (r->kind == PIPERUN_RESULT_INT) {
		jw_int(w, r->v.i);
	} else if (r->kind == PIPERUN_RESULT_NUMBER) {
		jw_double(w, r->v.d);
	} else {
		jw_raw(w, r->text);
	}
	jw_kstr(w, "error", r->status == POOL_ERROR ? r->text : NULL);
	jw_key(w, "worker");
	if (r->worker)
		jw_int(w, r->worker);
	else
		jw_null(w);
	jw_knum(w, "duration_ms", r->duration_ms);
	jw_obj_end(w);
}

void pool_write_summary(struct jw *w, const struct pool_stats *st, size_t total)
{
	jw_key(w, "summary");
	jw_obj(w, true);
	jw_kint(w, "total", (int64_t)total);
	jw_kint(w, "ok", (int64_t)st->ok);
	jw_kint(w, "error", (int64_t)st->error);
	jw_kint(w, "skipped", (int64_t)st->skipped);
	jw_obj_end(w);
}
