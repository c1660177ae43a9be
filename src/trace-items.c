/* SPDX-License-Identifier: GPL-3.0-or-later */
/* trace-items.c - the items of a run's pool and steps jobs in its
 * --trace (trace.h: trace_ask_items): the directory the jobs write
 * their items' traces into, a steps host's trace (trace_steps_*), and
 * the copy of each job's events under a process of its own, on the
 * run's clock, into the run's trace. */
#include "config.h"
#include "trace-int.h"
#include "job.h"
#include "kind.h"
#include "pool.h"
#include "runner.h"
#include "spec.h"
#include "spec-json.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

/* The items' trace of job index, in the run's directory of them. */
static char *items_path(const struct trace *t, size_t index)
{
	return xasprintf("%s/job-%zu.json", t->items_dir, index);
}

void tr_items_dir_remove(struct trace *t)
{
	if (!t->items_dir)
		return;
	/* the files, and a temporary one a job killed left (afile.h) */
	DIR *d = opendir(t->items_dir);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	if (d)
		closedir(d);
	rmdir(t->items_dir);
	free(t->items_dir);
	t->items_dir = NULL;
}

/* A pool job's stage: PIPERUN_TRACE_ITEMS=path in its environment (the
 * runner's own when it had none of its own). */
static void pool_env_add(struct stage_spec *st, const char *path)
{
	size_t n = 0;
	if (st->envp)
		while (st->envp[n])
			n++;
	else
		while (environ[n])
			n++;
	char **envp = xmalloc((n + 2) * sizeof *envp);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char *e = st->envp ? st->envp[i] : environ[i];
		if (strncmp(e, TRACE_ITEMS_ENV "=", sizeof TRACE_ITEMS_ENV))
			envp[k++] = e;
	}
	char *mine = xasprintf("%s=%s", TRACE_ITEMS_ENV, path);
	envp[k++] = mine;
	envp[k] = NULL;
	free(st->envp);
	st->envp = envp;
	st->envp_owned = xrealloc(st->envp_owned, (st->nenvp_owned + 1) * sizeof *st->envp_owned);
	st->envp_owned[st->nenvp_owned++] = mine;
}

/* Each pool and steps job, as it is made: the file it traces its items
 * to. */
static void ask_items(struct job_spec *j, size_t i, void *ctx)
{
	struct trace *t = ctx;
	if (j->kind != KIND_POOL && j->kind != KIND_STEPS)
		return;
	char *p = items_path(t, i);
	if (j->kind == KIND_POOL && j->nstages)
		pool_env_add(&j->stages[0], p);
	if (j->kind == KIND_STEPS && j->steps) {
		free(j->steps->trace_items);
		j->steps->trace_items = xstrdup(p);
	}
	free(p);
}

int trace_ask_items(struct trace *t, struct spec *s)
{
	bool any = false;
	for (size_t k = 0; k < spec_ntemplates(s); k++) {
		const struct job_spec *j = spec_template_job(s, k);
		any |= j && (j->kind == KIND_POOL || j->kind == KIND_STEPS);
	}
	if (!any)
		return 0;
	const char *dir = getenv("TMPDIR");
	t->items_dir = xasprintf("%s/piperun-trace.XXXXXX", dir && *dir ? dir : "/tmp");
	if (!mkdtemp(t->items_dir)) {
		int e = errno;
		free(t->items_dir);
		t->items_dir = NULL;
		errno = e;
		return -1;
	}
	t->nitem_jobs = s->njobs;
	spec_on_make(s, ask_items, t);
	return 0;
}

static void copy_json(struct jw *w, const struct cJSON *v)
{
	const struct cJSON *e;
	if (jv_is_object(v)) {
		jw_obj(w, true);
		JV_EACH(e, v) {
			jw_key(w, jv_key(e));
			copy_json(w, e);
		}
		jw_obj_end(w);
	} else if (jv_is_array(v)) {
		jw_arr(w, true);
		JV_EACH(e, v)
			copy_json(w, e);
		jw_arr_end(w);
	} else if (jv_is_string(v)) {
		jw_str(w, jv_str(v));
	} else if (jv_is_number(v)) {
		double d = jv_num(v); /* an integer stays one (tid, index) */
		if (d > -9e15 && d < 9e15 && d == (double)(int64_t)d)
			jw_int(w, (int64_t)d);
		else
			jw_num(w, d);
	} else if (jv_is_bool(v)) {
		jw_bool(w, jv_is_true(v));
	} else {
		jw_null(w);
	}
}

/* An event of a job's items' trace, on the job's process (pid), its
 * time moved by off_us (whole µs: what touched still touches). */
static void copy_event(struct tw *x, const struct cJSON *ev, int pid, double off_us,
		       const char *pname)
{
	const struct cJSON *name = jv_get(ev, "name"), *e;
	bool pmeta = jv_is_string(name) && !strcmp(jv_str(name), "process_name");
	jw_obj(&x->w, true);
	JV_EACH(e, ev) {
		const char *k = jv_key(e);
		jw_key(&x->w, k);
		if (!strcmp(k, "pid")) {
			jw_int(&x->w, pid);
		} else if (!strcmp(k, "ts") && jv_is_number(e)) {
			jw_num(&x->w, jv_num(e) + off_us);
		} else if (!strcmp(k, "args") && pmeta) {
			jw_obj(&x->w, true);
			jw_kstr(&x->w, "name", pname);
			jw_obj_end(&x->w);
		} else {
			copy_json(&x->w, e);
		}
	}
	jw_obj_end(&x->w);
}

/* The whole file at path (malloc'd, *len), or NULL. */
static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct buf b = { 0 };
	char chunk[65536];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof chunk)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			buf_add(&b, chunk, (size_t)n);
	close(fd);
	if (n < 0 || !b.p) {
		buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return buf_detach(&b);
}

/* Job i's items' trace, if it wrote one, under a process of its own:
 * its pid (pids[k], made unique: a pid the kernel gave twice in a run
 * gets a number above any pid). */
static void write_job_items(struct tw *x, size_t i, int *pids, size_t *npids)
{
	char *path = items_path(x->t, i);
	size_t len = 0;
	char *text = slurp(path, &len);
	free(path);
	struct cJSON *doc = text ? jv_parse_whole(text, len) : NULL;
	const struct cJSON *od = jv_get(doc, "otherData"), *evs = jv_get(doc, "traceEvents"), *e;
	if (jv_is_object(od) && jv_is_number(jv_get(od, "clock_ms")) && jv_is_array(evs)) {
		int pid = jv_is_number(jv_get(od, "pid")) ? (int)jv_num(jv_get(od, "pid")) : 0;
		for (size_t k = 0; k < *npids; k++)
			if (pids[k] == pid)
				pid = 0;
		if (pid <= 0)
			pid = (1 << 22) + 1 + (int)i;
		pids[(*npids)++] = pid;
		double off = jv_num(jv_get(od, "clock_ms")) - x->t->t0;
		double off_us = (double)(long long)(off * 1e3 + (off >= 0 ? 0.5 : -0.5));
		const struct job_spec *js = run_job_spec(x->res, i);
		char *pname = xasprintf("%s (%s)", tr_job_name(x, (uint32_t)i), kind_name(js->kind));
		JV_EACH(e, evs)
			if (jv_is_object(e))
				copy_event(x, e, pid, off_us, pname);
		tr_meta(&x->w, "process_sort_index", pid, -1, NULL, 1 + (long)i);
		free(pname);
	}
	jv_free(doc);
	free(text);
}

void tr_write_items(struct tw *x)
{
	size_t n = x->t->nitem_jobs < x->res->njobs ? x->t->nitem_jobs : x->res->njobs;
	if (!x->t->items_dir || !n)
		return;
	int *pids = xcalloc(n + 1, sizeof *pids);
	size_t npids = 1;
	pids[0] = x->pid;
	for (size_t i = 0; i < n; i++)
		write_job_items(x, i, pids, &npids);
	free(pids);
}

/* ------------------------------------------------ a steps job's host */

void trace_steps_begin(struct trace *t, const char *const *steps, size_t nsteps,
		       const int *workers, const long *queues)
{
	t->mode = xstrdup("steps");
	t->t0 = now_ms();
	t->count_every = TRACE_SAMPLE_MS;
	t->nsteps = nsteps;
	t->step_names = xcalloc(nsteps ? nsteps : 1, sizeof *t->step_names);
	t->step_queues = xcalloc(nsteps ? nsteps : 1, sizeof *t->step_queues);
	t->scounts = xmalloc(TRACE_MAX_COUNTS * (1 + 2 * nsteps) * sizeof *t->scounts);
	for (size_t k = 0; k < nsteps; k++) {
		t->step_names[k] = xstrdup(steps[k]);
		t->step_queues[k] = queues[k];
		t->nworkers += (size_t)workers[k];
	}
	t->workers = xcalloc(t->nworkers ? t->nworkers : 1, sizeof *t->workers);
	size_t wk = 0;
	for (size_t k = 0; k < nsteps; k++)
		for (int i = 1; i <= workers[k]; i++, wk++) {
			t->workers[wk] = xcalloc(1, sizeof *t->workers[wk]);
			t->workers[wk]->step = xstrdup(steps[k]);
			t->workers[wk]->id = i;
		}
	tr_sample_rss(t, t->t0);
}

void trace_steps_item(struct trace *t, size_t worker, size_t index, double start,
		      double end, bool ok)
{
	if (worker >= t->nworkers)
		return;
	struct tr_worker *w = t->workers[worker];
	w->items++;
	start -= t->t0;
	end -= t->t0;
	struct tr_item it = { index, start < 0 ? 0 : start, end < start ? start : end,
			      ok ? POOL_OK : POOL_ERROR };
	tr_keep_item(w, &it);
}

void trace_steps_count(struct trace *t, const uint64_t *done, const uint64_t *queued,
		       bool last)
{
	double now = now_ms();
	if (!last && t->nscounts && now - t->last_sample < t->count_every)
		return;
	size_t stride = 1 + 2 * t->nsteps;
	if (t->nscounts == TRACE_MAX_COUNTS) {
		/* full: keep every other one, and take half as many from now */
		for (size_t i = 0; i < TRACE_MAX_COUNTS / 2; i++)
			memcpy(t->scounts + i * stride, t->scounts + (2 * i + 1) * stride,
			       stride * sizeof *t->scounts);
		t->nscounts = TRACE_MAX_COUNTS / 2;
		t->count_every *= 2;
	}
	tr_sample_rss(t, now);
	double *c = t->scounts + t->nscounts++ * stride;
	c[0] = now - t->t0;
	for (size_t k = 0; k < t->nsteps; k++) {
		c[1 + 2 * k] = (double)done[k];
		c[2 + 2 * k] = (double)queued[k];
	}
}

/* Per step two counters: its items done, and the items in its queue
 * (its capacity in the name: one at it is full). */
static void write_steps_counts(struct tw *x)
{
	const struct trace *t = x->t;
	size_t stride = 1 + 2 * t->nsteps;
	for (size_t i = 0; i < t->nscounts; i++) {
		const double *c = t->scounts + i * stride;
		for (size_t k = 0; k < t->nsteps; k++) {
			for (int q = 0; q < 2; q++) {
				char *name = q ? xasprintf("step %s queue (of %ld)", t->step_names[k],
							   t->step_queues[k])
					       : xasprintf("step %s done", t->step_names[k]);
				tr_ev(&x->w, name, "C", x->pid, x->pid, c[0]);
				free(name);
				jw_key(&x->w, "args");
				jw_obj(&x->w, true);
				jw_kint(&x->w, "items", (int64_t)c[1 + q + 2 * k]);
				jw_obj_end(&x->w);
				jw_obj_end(&x->w);
			}
		}
	}
	for (size_t i = 0; i < t->nrss; i++) {
		double ts = t->rss[i].ts - t->t0;
		tr_ev(&x->w, "host RSS", "C", x->pid, x->pid, ts < 0 ? 0 : ts);
		jw_key(&x->w, "args");
		jw_obj(&x->w, true);
		jw_kint(&x->w, "kB", t->rss[i].kb);
		jw_obj_end(&x->w);
		jw_obj_end(&x->w);
	}
}

static void write_steps_doc(struct tw *x, double wall_ms, uint64_t items)
{
	tr_items_begin(x);
	tr_items_events(x, wall_ms, items);
	write_steps_counts(x);
	tr_items_end(x, "piperun steps", "steps");
}

int trace_steps_finish(struct trace *t, double wall_ms, uint64_t items)
{
	struct fd_sink *sink = xcalloc(1, sizeof *sink);
	sink->fd = t->file.fd;
	struct tw x = { .t = t, .pid = (int)getpid() };
	jw_init(&x.w, fd_sink_write, sink, true);
	write_steps_doc(&x, wall_ms, items);
	return tr_commit(t, sink);
}

