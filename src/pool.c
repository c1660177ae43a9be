/* SPDX-License-Identifier: GPL-3.0-or-later */
/* pool.c - the task pool (see pool.h). */
#include "config.h"
#include "pool.h"
#include "loop.h"
#include "spec.h"
#include "task.h"
#include "util.h"
#include "workq.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

const char *pool_mode_name(enum pool_mode m)
{
	static const char *const names[] = { "serial", "thread", "process", "async" };
	return names[m];
}

int pool_mode_parse(const char *s, enum pool_mode *m)
{
	for (int i = POOL_SERIAL; i <= POOL_ASYNC; i++)
		if (!strcmp(s, pool_mode_name(i))) {
			*m = (enum pool_mode)i;
			return 0;
		}
	return -1;
}

/* ------------------------------------------------------------- parsing */

static void grow_args(struct pool_items *it, size_t need)
{
	if (need <= it->args_cap)
		return;
	size_t cap = it->args_cap ? it->args_cap : 64;
	while (cap < need)
		cap *= 2;
	it->vals = xrealloc(it->vals, cap * sizeof *it->vals);
	it->types = xrealloc(it->types, cap);
	it->args_cap = cap;
}

static void put_arg(struct pool_items *it, const struct piperun_arg *a)
{
	grow_args(it, it->nargs + 1);
	size_t k = it->nargs++;
	it->types[k] = (uint8_t)a->type;
	switch (a->type) {
	case PIPERUN_ARG_INT:
		it->vals[k] = a->i;
		break;
	case PIPERUN_ARG_NUMBER:
		memcpy(&it->vals[k], &a->d, sizeof a->d);
		break;
	default:
		xgrow(&it->strings, &it->strings_cap, it->nstrings + 1, sizeof *it->strings);
		it->strings[it->nstrings] = (char *)a->s; /* ownership passes */
		it->vals[k] = (int64_t)it->nstrings++;
	}
}

/* Argument k as the task ABI has it. */
static void pool_get_arg(const struct pool_items *it, size_t k, struct piperun_arg *a)
{
	memset(a, 0, sizeof *a);
	a->type = (enum piperun_arg_type)it->types[k];
	switch (a->type) {
	case PIPERUN_ARG_INT:
		a->i = it->vals[k];
		a->d = (double)a->i;
		break;
	case PIPERUN_ARG_NUMBER:
		memcpy(&a->d, &it->vals[k], sizeof a->d);
		break;
	default:
		a->s = it->strings[it->vals[k]];
	}
}

/* One number token: an int64 when it is one, else a double (an integer
 * too big for int64 stays a NUMBER: tasks say "overflow"). */
static int parse_number(const char *p, size_t len, struct piperun_arg *a)
{
	/* the common case, plain decimal integers, without strtoll */
	{
		size_t k = 0;
		bool neg = false;
		if (k < len && (p[k] == '-' || p[k] == '+'))
			neg = p[k++] == '-';
		if (k < len && len - k <= 18) {
			uint64_t v = 0;
			size_t d = k;
			while (k < len && p[k] >= '0' && p[k] <= '9')
				v = v * 10 + (uint64_t)(p[k++] - '0');
			if (k == len && k > d) {
				a->type = PIPERUN_ARG_INT;
				a->i = neg ? -(int64_t)v : (int64_t)v;
				a->d = (double)a->i;
				return 0;
			}
		}
	}
	char tok[64];
	if (!len || len >= sizeof tok)
		return -1;
	memcpy(tok, p, len);
	tok[len] = 0;
	const char *q = tok;
	if (*q == '-' || *q == '+')
		q++;
	if (!*q)
		return -1;
	bool integral = strspn(q, "0123456789") == strlen(q);
	char *end;
	if (integral) {
		errno = 0;
		long long v = strtoll(tok, &end, 10);
		if (!errno && !*end) {
			a->type = PIPERUN_ARG_INT;
			a->i = v;
			a->d = (double)v;
			return 0;
		}
	}
	/* decimal only: strtod would also take hex, inf and nan */
	if (strspn(q, "0123456789.eE+-") != strlen(q))
		return -1;
	errno = 0;
	double d = strtod(tok, &end);
	if (*end || !isfinite(d))
		return -1;
	a->type = PIPERUN_ARG_NUMBER;
	a->d = d;
	return 0;
}

/* "[1, 2, 3]" with numbers only; returns -1 to let the full JSON parser
 * decide anything else. */
static int parse_number_array(const char *p, size_t len, struct pool_items *it)
{
	size_t start = it->nargs;
	const char *e = p + len;
	p++; /* '[' */
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	if (p < e && *p == ']')
		return 0;
	for (;;) {
		const char *t = p;
		while (p < e && !strchr(" \t,]", *p))
			p++;
		struct piperun_arg a;
		if (parse_number(t, (size_t)(p - t), &a) < 0)
			goto fallback;
		put_arg(it, &a);
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		if (p < e && *p == ',') {
			p++;
			while (p < e && (*p == ' ' || *p == '\t'))
				p++;
			continue;
		}
		if (p < e && *p == ']') {
			p++;
			while (p < e && (*p == ' ' || *p == '\t'))
				p++;
			if (p == e)
				return 0;
		}
		goto fallback;
	}
fallback:
	it->nargs = start;
	return -1;
}

static int add_line(struct pool_items *it, const char *p, size_t len, size_t lineno, char **err)
{
	while (len && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++, len--;
	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
		len--;
	if (!len)
		return 0;
	size_t arg0 = it->nargs;
	if (*p == '[') {
		if (parse_number_array(p, len, it) < 0) {
			char *why = NULL;
			struct piperun_arg *args = NULL;
			size_t nargs = 0;
			if (spec_parse_item_array(p, len, &args, &nargs, &why) < 0) {
				*err = xasprintf("line %zu: %s", lineno, why);
				free(why);
				return -1;
			}
			for (size_t k = 0; k < nargs; k++)
				put_arg(it, &args[k]);
			free(args);
		}
	} else {
		const char *e = p + len;
		while (p < e) {
			const char *t = p;
			while (p < e && *p != ' ' && *p != '\t')
				p++;
			struct piperun_arg a;
			if (parse_number(t, (size_t)(p - t), &a) == 0) {
				put_arg(it, &a);
			} else {
				it->nargs = arg0;
				*err = xasprintf("line %zu: expected numbers or a JSON array, got \"%.*s\"",
						 lineno, (int)((p - t) > 40 ? 40 : (p - t)), t);
				return -1;
			}
			while (p < e && (*p == ' ' || *p == '\t'))
				p++;
		}
	}
	if (it->nargs > UINT32_MAX) {
		*err = xasprintf("line %zu: too many arguments in all", lineno);
		return -1;
	}
	xgrow(&it->arg0, &it->cap, it->n + 2, sizeof *it->arg0);
	it->arg0[it->n++] = (uint32_t)arg0;
	it->arg0[it->n] = (uint32_t)it->nargs;
	return 0;
}

int pool_parse_text(const char *text, size_t len, struct pool_items *it, char **err)
{
	/* size the arrays once: growing them a million times costs */
	size_t lines = 1;
	for (const char *q = text; (q = memchr(q, '\n', (size_t)(text + len - q))); q++)
		lines++;
	xgrow(&it->arg0, &it->cap, it->n + lines + 1, sizeof *it->arg0);
	grow_args(it, it->nargs + 2 * lines);
	size_t lineno = 0;
	const char *p = text, *e = text + len;
	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(e - p);
		lineno++;
		if (memchr(p, 0, l)) {
			*err = xasprintf("line %zu: a NUL byte", lineno);
			return -1;
		}
		if (add_line(it, p, l, lineno, err) < 0)
			return -1;
		p += l + (nl ? 1 : 0);
	}
	return 0;
}

int pool_parse_fd(int fd, struct pool_items *it, char **err)
{
	struct buf b = { 0 };
	struct stat sb;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0)
		buf_reserve(&b, (size_t)sb.st_size + 1);
	for (;;) {
		buf_reserve(&b, 1 << 16);
		ssize_t r = read(fd, b.p + b.len, b.cap - b.len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*err = xasprintf("cannot read items: %s", strerror(errno));
			buf_free(&b);
			return -1;
		}
		if (!r)
			break;
		b.len += (size_t)r;
	}
	int rc = pool_parse_text(b.p ? b.p : "", b.len, it, err);
	buf_free(&b);
	return rc;
}

int pool_parse_one(struct pool_items *it, const char *p, size_t len,
		   struct piperun_arg **args, size_t *nargs, char **err)
{
	for (size_t i = 0; i < it->nstrings; i++)
		free(it->strings[i]);
	it->nstrings = 0;
	it->nargs = 0;
	it->n = 0;
	if (memchr(p, 0, len)) {
		*err = xstrdup("a NUL byte");
		return -1;
	}
	if (add_line(it, p, len, 1, err) < 0) {
		/* "line 1: " says nothing here */
		if (!strncmp(*err, "line 1: ", 8))
			memmove(*err, *err + 8, strlen(*err + 8) + 1);
		return -1;
	}
	*nargs = it->n ? it->arg0[1] - it->arg0[0] : 0;
	xgrow(args, &it->scratch_cap, *nargs ? *nargs : 1, sizeof **args);
	for (size_t k = 0; k < *nargs; k++)
		pool_get_arg(it, k, &(*args)[k]);
	return 0;
}

int pool_result_text(const struct piperun_task *t, struct piperun_result *res,
		     char **text, size_t *len)
{
	int rc = 0;
	char b[40];
	switch (res->kind) {
	case PIPERUN_RESULT_INT:
		*len = (size_t)snprintf(b, sizeof b, "%" PRId64, res->i);
		*text = xstrndup(b, *len);
		break;
	case PIPERUN_RESULT_NUMBER:
		if (!isfinite(res->d)) {
			*text = xstrdup("the task returned a number that is not finite");
			rc = -1;
			break;
		}
		*len = (size_t)snprintf(b, sizeof b, "%.17g", res->d);
		*text = xstrndup(b, *len);
		break;
	case PIPERUN_RESULT_JSON:
		if (res->text && json_text_valid(res->text) && !strchr(res->text, '\n')) {
			*text = xstrdup(res->text);
			*len = strlen(*text);
		} else {
			*text = xstrdup("the task returned a result that is not one line of JSON");
			rc = -1;
		}
		break;
	default:
		*text = xstrdup(res->text ? res->text : "failed");
		rc = -1;
	}
	if (res->text && t->free_result)
		t->free_result(res);
	return rc;
}

void pool_items_free(struct pool_items *it)
{
	for (size_t i = 0; i < it->nstrings; i++)
		free(it->strings[i]);
	free(it->strings);
	free(it->vals);
	free(it->types);
	free(it->arg0);
	memset(it, 0, sizeof *it);
}

/* -------------------------------------------------------------- one item */

static void pool_set_result(struct pool_result *r, const struct piperun_task *t,
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
		if (res->text && json_text_valid(res->text)) {
			r->status = POOL_OK;
			r->text = xstrdup(res->text);
		} else {
			r->status = POOL_ERROR;
			r->text = xstrdup("the task returned a result that is not JSON");
		}
		break;
	default:
		r->status = POOL_ERROR;
		r->text = xstrdup(res->text ? res->text : "failed");
		break;
	}
	if (res->text && t->free_result)
		t->free_result(res);
}

/* Item i's arguments, in local (16 of them) or malloc'd. */
static struct piperun_arg *pool_item_args(const struct pool_items *it, size_t i,
				     struct piperun_arg local[16], size_t *na)
{
	size_t a0 = it->arg0[i];
	*na = it->arg0[i + 1] - a0;
	struct piperun_arg *args = *na <= 16 ? local : xmalloc(*na * sizeof *args);
	for (size_t k = 0; k < *na; k++)
		pool_get_arg(it, a0 + k, &args[k]);
	return args;
}

/* The seconds item i waits (the task's timer()), or -1 with *err. */
static int item_wait(const struct pool_opts *o, const struct pool_items *it, size_t i,
		     double *secs, struct piperun_result *err)
{
	struct piperun_arg local[16];
	size_t na;
	struct piperun_arg *args = pool_item_args(it, i, local, &na);
	int rc = o->task->timer(args, na, secs, err);
	if (args != local)
		free(args);
	return rc;
}

/* *clock: when the previous item ended (0: read the clock), updated to
 * when this one ended, so a run of items reads the clock once each. */
static void pool_run_one(const struct pool_opts *o, void *state, const struct pool_items *it,
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
	pool_set_result(r, o->task, &res, *clock - t0, worker);
}

/* --------------------------------------------------------------- serial */

static void pool_skip_rest(struct pool_result *res, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (res[i].status == POOL_PENDING)
			res[i].status = POOL_SKIPPED;
}

static void pool_run_serial(const struct pool_opts *o, const struct pool_items *it,
		       struct pool_result *res)
{
	void *state = NULL;
	bool ok = !o->task->init || o->task->init(&state) == 0;
	double clock = 0;
	for (size_t i = 0; i < it->n; i++) {
		if (ok) {
			pool_run_one(o, state, it, i, &res[i], 1, &clock);
		} else {
			res[i].status = POOL_ERROR;
			res[i].text = xstrdup("the task's init failed");
			res[i].worker = 1;
		}
		if (o->on_result)
			o->on_result(i, &res[i], o->ctx);
		if (o->fail_fast && res[i].status == POOL_ERROR)
			break;
	}
	if (ok && o->task->fini)
		o->task->fini(state);
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
	bool ok = !o->task->init || o->task->init(&state) == 0;
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
				p->res[i].status = POOL_ERROR;
				p->res[i].text = xstrdup("the task's init failed");
				p->res[i].worker = (uint16_t)w->index;
			}
			if (o->on_result) {
				pthread_mutex_lock(&p->mtx);
				o->on_result(i, &p->res[i], o->ctx);
				pthread_mutex_unlock(&p->mtx);
			}
			if (o->fail_fast && p->res[i].status == POOL_ERROR) {
				__atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
				workq_close(&p->q, true);
			}
		}
	}
	if (ok && o->task->fini)
		o->task->fini(state);
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
	int started = 0;
	for (int i = 0; i < o->workers; i++) {
		w[i].p = &p;
		w[i].index = i + 1;
		if (pthread_create(&w[i].th, NULL, tworker_main, &w[i]) != 0)
			break;
		started++;
	}
	for (int i = 0; i < started; i++)
		pthread_join(w[i].th, NULL);
	free(w);
	pthread_mutex_destroy(&p.mtx);
	workq_destroy(&p.q, NULL);
	if (!started) {
		*why = xasprintf("pool: cannot start threads: %s", strerror(errno));
		return -1;
	}
	pool_skip_rest(res, it->n);
	return 0;
}

/* ---------------------------------------------------------------- async */

struct apool {
	const struct pool_opts *o;
	const struct pool_items *it;
	struct pool_result *res;
	struct loop *loop;
	struct timer *timers;
	double *started;
	size_t next, inflight, done;
	bool stop;
};

static void async_more(struct apool *a);

static void async_fire(struct timer *t)
{
	struct apool *a = t->data;
	size_t i = (size_t)(t - a->timers);
	struct pool_result *r = &a->res[i];
	double secs = 0;
	struct piperun_result err = { 0 };
	item_wait(a->o, a->it, i, &secs, &err); /* as when it started: fine */
	r->worker = 1;
	r->duration_ms = (float)(now_ms() - a->started[i]);
	if (a->o->timeout > 0 && secs > a->o->timeout) {
		r->status = POOL_ERROR;
		r->text = xstrdup("timed out");
	} else {
		r->status = POOL_OK;
		r->kind = PIPERUN_RESULT_NUMBER;
		r->v.d = secs;
	}
	a->inflight--;
	a->done++;
	if (a->o->on_result)
		a->o->on_result(i, r, a->o->ctx);
	if (a->o->fail_fast && r->status == POOL_ERROR)
		a->stop = true;
	async_more(a);
}

static void async_more(struct apool *a)
{
	const struct pool_opts *o = a->o;
	while (!a->stop && a->next < a->it->n &&
	       (!o->max_inflight || a->inflight < (size_t)o->max_inflight)) {
		size_t i = a->next++;
		double secs;
		struct piperun_result err = { 0 };
		if (item_wait(o, a->it, i, &secs, &err) < 0) {
			pool_set_result(&a->res[i], o->task, &err, 0, 1);
			a->done++;
			if (o->on_result)
				o->on_result(i, &a->res[i], o->ctx);
			if (o->fail_fast)
				a->stop = true;
			continue;
		}
		/* the timer fires at the end, or at the item's timeout */
		double wait = secs;
		if (o->timeout > 0 && o->timeout < wait)
			wait = o->timeout;
		a->started[i] = now_ms();
		timer_start(a->loop, &a->timers[i], a->started[i] + wait * 1000, async_fire, a);
		a->inflight++;
	}
}

static int pool_run_async(const struct pool_opts *o, const struct pool_items *it,
		     struct pool_result *res, char **why)
{
	if (!o->task->timer) {
		/* CPU work cannot overlap in one thread: it runs inline, one
		 * item after another, as the seed's coroutines would; a wait
		 * (a task with a timer) is a timer on the loop */
		pool_run_serial(o, it, res);
		return 0;
	}
	struct apool a = { .o = o, .it = it, .res = res };
	a.loop = loop_new();
	if (!a.loop) {
		*why = xasprintf("pool: cannot create the event loop: %s", strerror(errno));
		return -1;
	}
	a.timers = xcalloc(it->n ? it->n : 1, sizeof *a.timers);
	a.started = xcalloc(it->n ? it->n : 1, sizeof *a.started);
	async_more(&a);
	while (a.inflight)
		if (loop_run_once(a.loop, -1) < 0 && errno != EINTR)
			break;
	loop_free(a.loop);
	free(a.timers);
	free(a.started);
	pool_skip_rest(res, it->n);
	return 0;
}

/* -------------------------------------------------------------- process */

/* What each worker shows the parent: the item it is on, since when. */
struct pslot {
	volatile int64_t cur;       /* -1: between items */
	volatile double started_ms;
};

/* A result on the wire: this header, then an int64 / double / u32 length
 * and text, as kind says. */
struct wire {
	uint32_t index;
	uint8_t status;             /* POOL_OK or POOL_ERROR */
	uint8_t kind;
	uint16_t pad;
	double duration_ms;
};

struct pworker {
	int index;                  /* 1-based, as in results */
	pid_t pid;
	int pidfd, sock;
	struct watch w_sock, w_pid;
	uint32_t *batch;
	size_t nbatch, batch_cap;
	struct buf in;
	bool busy, timed_out;
};

struct ppool {
	const struct pool_opts *o;
	const struct pool_items *it;
	struct pool_result *res;
	struct loop *loop;
	struct pworker *w;
	int nw;
	struct pslot *slots;
	size_t *queue;              /* items to run again (a worker died) */
	size_t nqueue, qcap;
	size_t next, done;
	bool stop;
	struct timer tick;
	int failed;                 /* could not fork at all */
};

static void wire_put(struct buf *b, uint32_t index, const struct pool_result *r)
{
	struct wire h = { .index = index, .status = r->status, .kind = r->kind,
			  .duration_ms = r->duration_ms };
	if (r->status == POOL_ERROR)
		h.kind = PIPERUN_RESULT_ERROR;
	buf_add(b, &h, sizeof h);
	switch (h.kind) {
	case PIPERUN_RESULT_INT:
	case PIPERUN_RESULT_NUMBER:
		buf_add(b, &r->v, sizeof r->v);
		break;
	default: {
		uint32_t n = r->text ? (uint32_t)strlen(r->text) : 0;
		buf_add(b, &n, sizeof n);
		buf_add(b, r->text ? r->text : "", n);
	}
	}
}

/* The worker process: batches of indices in, results out. */
static void pworker_main(int sock, struct pslot *slot, const struct pool_opts *o,
			 const struct pool_items *it, int index, pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	signal(SIGPIPE, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	void *state = NULL;
	bool ok = !o->task->init || o->task->init(&state) == 0;
	struct buf out = { 0 };
	uint32_t *idx = NULL;
	size_t cap = 0;
	for (;;) {
		uint32_t n;
		if (read_full(sock, &n, sizeof n) < 0)
			break;
		xgrow(&idx, &cap, n ? n : 1, sizeof *idx);
		if (read_full(sock, idx, n * sizeof *idx) < 0)
			break;
		double clock = 0;
		for (uint32_t k = 0; k < n; k++) {
			struct pool_result r = { 0 };
			slot->started_ms = clock ? clock : now_ms();
			slot->cur = idx[k];
			if (ok) {
				pool_run_one(o, state, it, idx[k], &r, index, &clock);
			} else {
				r.status = POOL_ERROR;
				r.text = xstrdup("the task's init failed");
			}
			slot->cur = -1;
			wire_put(&out, idx[k], &r);
			free(r.text);
			if (out.len >= 32768) {
				if (write_full(sock, out.p, out.len) < 0)
					_exit(1);
				out.len = 0;
			}
		}
		if (out.len) {
			if (write_full(sock, out.p, out.len) < 0)
				_exit(1);
			out.len = 0;
		}
	}
	if (ok && o->task->fini)
		o->task->fini(state);
	_exit(0);
}

static void pw_on_sock(struct watch *w, uint32_t ev);
static void pw_on_pid(struct watch *w, uint32_t ev);

static int pw_spawn(struct ppool *p, struct pworker *w)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	p->slots[w->index - 1].cur = -1;
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		/* only its socket, as fd 3; stdout goes to stderr so that a
		 * chatty plugin cannot corrupt the results */
		int s = fcntl(sv[1], F_DUPFD, 10);
		dup2(s, 3);
		close_range(4, ~0U, 0);
		int dn = open("/dev/null", O_RDONLY);
		if (dn >= 0 && dn != 0) {
			dup2(dn, 0);
			close(dn);
		}
		dup2(2, 1);
		/* sanitizers: this copy of the pool never frees what it holds */
		pworker_main(3, &p->slots[w->index - 1], p->o, p->it, w->index, parent);
	}
	close(sv[1]);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	w->pid = pid;
	w->sock = sv[0];
	w->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	w->busy = false;
	w->timed_out = false;
	w->nbatch = 0;
	w->in.len = 0;
	loop_add(p->loop, &w->w_sock, w->sock, EPOLLIN, pw_on_sock, p);
	if (w->pidfd >= 0)
		loop_add(p->loop, &w->w_pid, w->pidfd, EPOLLIN, pw_on_pid, p);
	return 0;
}

static void pw_assign(struct ppool *p, struct pworker *w)
{
	if (p->stop || w->busy || w->sock < 0)
		return;
	size_t remaining = p->nqueue + (p->it->n - p->next);
	if (!remaining)
		return;
	size_t bs = remaining / ((size_t)p->nw * 4);
	bs = bs < 1 ? 1 : bs > 4096 ? 4096 : bs;
	w->nbatch = 0;
	while (w->nbatch < bs && (p->nqueue || p->next < p->it->n)) {
		size_t i = p->nqueue ? p->queue[--p->nqueue] : p->next++;
		xgrow(&w->batch, &w->batch_cap, w->nbatch + 1, sizeof *w->batch);
		w->batch[w->nbatch++] = (uint32_t)i;
	}
	uint32_t n = (uint32_t)w->nbatch;
	w->busy = true;
	if (write_full(w->sock, &n, sizeof n) < 0 ||
	    write_full(w->sock, w->batch, n * sizeof *w->batch) < 0) {
		/* the worker is gone: its pidfd will say so and requeue */
	}
}

static void pw_take(struct ppool *p, struct pworker *w)
{
	size_t off = 0;
	for (;;) {
		if (w->in.len - off < sizeof(struct wire))
			break;
		struct wire h;
		memcpy(&h, w->in.p + off, sizeof h);
		size_t need = sizeof h;
		uint32_t tlen = 0;
		if (h.kind == PIPERUN_RESULT_INT || h.kind == PIPERUN_RESULT_NUMBER) {
			need += 8;
		} else {
			if (w->in.len - off < sizeof h + 4)
				break;
			memcpy(&tlen, w->in.p + off + sizeof h, 4);
			need += 4 + tlen;
		}
		if (w->in.len - off < need)
			break;
		if (h.index < p->it->n && p->res[h.index].status == POOL_PENDING) {
			struct pool_result *r = &p->res[h.index];
			r->status = h.status;
			r->kind = h.kind;
			r->duration_ms = (float)h.duration_ms;
			r->worker = (uint16_t)w->index;
			const char *payload = w->in.p + off + sizeof h;
			if (h.kind == PIPERUN_RESULT_INT || h.kind == PIPERUN_RESULT_NUMBER)
				memcpy(&r->v, payload, 8);
			else
				r->text = xstrndup(payload + 4, tlen);
			p->done++;
			if (p->o->on_result)
				p->o->on_result(h.index, r, p->o->ctx);
			if (p->o->fail_fast && r->status == POOL_ERROR)
				p->stop = true;
		}
		off += need;
	}
	memmove(w->in.p, w->in.p + off, w->in.len - off);
	w->in.len -= off;
	/* the batch is complete when every item of it has a result */
	if (w->busy) {
		bool complete = true;
		for (size_t k = 0; k < w->nbatch && complete; k++)
			complete = p->res[w->batch[k]].status != POOL_PENDING;
		if (complete) {
			w->busy = false;
			pw_assign(p, w);
		}
	}
}

static void pw_drain(struct ppool *p, struct pworker *w)
{
	for (;;) {
		buf_reserve(&w->in, 65536);
		ssize_t r = read(w->sock, w->in.p + w->in.len, w->in.cap - w->in.len - 1);
		if (r > 0) {
			w->in.len += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		break;
	}
	pw_take(p, w);
}

static void pw_on_sock(struct watch *wt, uint32_t ev)
{
	struct ppool *p = wt->data;
	struct pworker *w = (struct pworker *)((char *)wt - offsetof(struct pworker, w_sock));
	pw_drain(p, w);
}

static void pw_close(struct ppool *p, struct pworker *w)
{
	if (w->sock >= 0) {
		loop_del(p->loop, &w->w_sock);
		close(w->sock);
		w->sock = -1;
	}
	if (w->pidfd >= 0) {
		loop_del(p->loop, &w->w_pid);
		close(w->pidfd);
		w->pidfd = -1;
	}
}

/* A worker died: what it had started costs exactly its current item; the
 * rest of its batch goes to a replacement. */
static void pw_on_pid(struct watch *wt, uint32_t ev)
{
	struct ppool *p = wt->data;
	struct pworker *w = (struct pworker *)((char *)wt - offsetof(struct pworker, w_pid));
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid(P_PIDFD, (id_t)w->pidfd, &si, WEXITED | WNOHANG) < 0 || !si.si_pid)
		return;
	pw_drain(p, w);
	int64_t cur = p->slots[w->index - 1].cur;
	char *why = w->timed_out ? xstrdup("timed out (the worker was killed)")
		: si.si_code == CLD_EXITED ? xasprintf("the worker exited with status %d", si.si_status)
		: xasprintf("the worker was killed by %s", sig_name(si.si_status));
	for (size_t k = 0; w->busy && k < w->nbatch; k++) {
		size_t i = w->batch[k];
		if (p->res[i].status != POOL_PENDING)
			continue;
		if ((int64_t)i == cur) {
			struct pool_result *r = &p->res[i];
			r->status = POOL_ERROR;
			r->text = xstrdup(why);
			r->worker = (uint16_t)w->index;
			r->duration_ms = (float)(now_ms() - p->slots[w->index - 1].started_ms);
			p->done++;
			if (p->o->on_result)
				p->o->on_result(i, r, p->o->ctx);
			if (p->o->fail_fast)
				p->stop = true;
		} else {
			xgrow(&p->queue, &p->qcap, p->nqueue + 1, sizeof *p->queue);
			p->queue[p->nqueue++] = i;
		}
	}
	free(why);
	w->busy = false;
	pw_close(p, w);
	if (!p->stop && (p->nqueue || p->next < p->it->n)) {
		if (pw_spawn(p, w) == 0)
			pw_assign(p, w);
		else
			p->failed++;
	}
}

static void pw_tick(struct timer *t)
{
	struct ppool *p = t->data;
	double now = now_ms();
	for (int k = 0; k < p->nw; k++) {
		struct pworker *w = &p->w[k];
		struct pslot *s = &p->slots[k];
		if (w->sock >= 0 && w->busy && !w->timed_out && s->cur >= 0 &&
		    now - s->started_ms > p->o->timeout * 1000) {
			w->timed_out = true;
			kill_pid(w->pid, SIGKILL);
		}
	}
	double every = p->o->timeout * 1000 / 10;
	timer_start(p->loop, &p->tick, now + (every < 1 ? 1 : every > 100 ? 100 : every),
		    pw_tick, p);
}

static bool pw_any_alive(struct ppool *p)
{
	for (int k = 0; k < p->nw; k++)
		if (p->w[k].sock >= 0)
			return true;
	return false;
}

static int pool_run_processes(const struct pool_opts *o, const struct pool_items *it,
			 struct pool_result *res, char **why)
{
	struct ppool p = { .o = o, .it = it, .res = res, .nw = o->workers };
	if ((size_t)p.nw > it->n)
		p.nw = it->n ? (int)it->n : 1;
	p.loop = loop_new();
	p.slots = mmap(NULL, (size_t)p.nw * sizeof *p.slots, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!p.loop || p.slots == MAP_FAILED) {
		*why = xasprintf("pool: cannot set up process mode: %s", strerror(errno));
		loop_free(p.loop);
		return -1;
	}
	/* Workers never touch the results array (theirs go over the socket):
	 * leave it out of their address space, or every page the parent
	 * writes after a fork is a copy-on-write fault. */
	madvise(res, (it->n ? it->n : 1) * sizeof *res, MADV_DONTFORK);
	p.w = xcalloc((size_t)p.nw, sizeof *p.w);
	int started = 0;
	for (int k = 0; k < p.nw; k++) {
		p.w[k].index = k + 1;
		p.w[k].sock = p.w[k].pidfd = -1;
		if (it->n && pw_spawn(&p, &p.w[k]) == 0)
			started++;
	}
	if (it->n && !started) {
		*why = xasprintf("pool: cannot start worker processes: %s", strerror(errno));
		loop_free(p.loop);
		munmap(p.slots, (size_t)p.nw * sizeof *p.slots);
		free(p.w);
		return -1;
	}
	for (int k = 0; k < p.nw; k++)
		pw_assign(&p, &p.w[k]);
	if (o->timeout > 0) {
		p.tick.data = &p;
		pw_tick(&p.tick);
	}
	while (p.done < it->n && pw_any_alive(&p)) {
		/* fail-fast: stop once nothing is in flight */
		if (p.stop) {
			bool busy = false;
			for (int k = 0; k < p.nw; k++)
				busy |= p.w[k].busy && p.w[k].sock >= 0;
			if (!busy)
				break;
		}
		if (loop_run_once(p.loop, -1) < 0 && errno != EINTR)
			break;
	}
	timer_stop(p.loop, &p.tick);
	/* EOF tells every worker to finish; then reap them all: no worker
	 * outlives the pool */
	for (int k = 0; k < p.nw; k++) {
		struct pworker *w = &p.w[k];
		if (w->sock >= 0) {
			loop_del(p.loop, &w->w_sock);
			close(w->sock);
			w->sock = -1;
		}
	}
	for (int k = 0; k < p.nw; k++) {
		struct pworker *w = &p.w[k];
		if (w->pidfd >= 0) {
			siginfo_t si;
			while (waitid(P_PIDFD, (id_t)w->pidfd, &si, WEXITED) < 0 && errno == EINTR)
				;
			loop_del(p.loop, &w->w_pid);
			close(w->pidfd);
			w->pidfd = -1;
		}
		buf_free(&w->in);
		free(w->batch);
	}
	loop_free(p.loop);
	munmap(p.slots, (size_t)p.nw * sizeof *p.slots);
	free(p.w);
	free(p.queue);
	for (size_t i = 0; i < it->n; i++)
		if (res[i].status == POOL_PENDING && !p.stop && p.failed) {
			res[i].status = POOL_ERROR;
			res[i].text = xstrdup("no worker process could be started for it");
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

int pool_run(const struct pool_opts *o, const struct pool_items *it,
	     struct pool_result *results, struct pool_stats *st, char **why)
{
	memset(st, 0, sizeof *st);
	double t0 = now_ms(), c0 = cpu_ms();
	int rc = 0;
	st->workers = o->mode == POOL_SERIAL || o->mode == POOL_ASYNC ? 1 : o->workers;
	switch (o->mode) {
	case POOL_SERIAL:
		pool_run_serial(o, it, results);
		break;
	case POOL_THREAD:
		rc = run_threads(o, it, results, why);
		break;
	case POOL_PROCESS:
		rc = pool_run_processes(o, it, results, why);
		break;
	case POOL_ASYNC:
		rc = pool_run_async(o, it, results, why);
		break;
	}
	st->wall_ms = now_ms() - t0;
	st->cpu_ms = cpu_ms() - c0;
	for (size_t i = 0; i < it->n; i++) {
		if (results[i].status == POOL_OK)
			st->ok++;
		else if (results[i].status == POOL_ERROR)
			st->error++;
		else
			st->skipped++;
	}
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
		case PIPERUN_ARG_NUMBER: {
			char b[40];
			snprintf(b, sizeof b, "%.17g", a->d);
			jw_raw(w, b);
			break;
		}
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
	jw_kint(w, "index", (int64_t)i);
	jw_key(w, "input");
	pool_write_input(w, it, i);
	jw_kstr(w, "status", st[r->status]);
	jw_key(w, "result");
	if (r->status != POOL_OK) {
		jw_null(w);
	} else if (r->kind == PIPERUN_RESULT_INT) {
		jw_int(w, r->v.i);
	} else if (r->kind == PIPERUN_RESULT_NUMBER) {
		char b[40];
		snprintf(b, sizeof b, "%.17g", r->v.d);
		jw_raw(w, b);
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
