/* SPDX-License-Identifier: GPL-3.0-or-later */
/* kind-pool.c - pool jobs.  Spec side: a "pool" object becomes the
 * command line of `piperun pool` (the only place outside cmd-pool.c that
 * knows its flags) and its items that command's stdin, one JSON array
 * per line.  Job side: the pool's outcome (why it could not run, from
 * its stderr) and what it printed, spliced into the job's record. */
#include "config.h"
#include "kind.h"
#include "job.h"
#include "jsonw.h"
#include "spec.h"
#include "spec-int.h"
#include "spec-plan.h"
#include "task.h"
#include "util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The command line being built: at most 2 + 2 x 8 options. */
struct pool_argv {
	char *v[32];
	size_t n;
};

static void arg(struct pool_argv *a, const char *s)
{
	a->v[a->n++] = xstrdup(s);
}

/* "task" (a built-in) or "plugin" ("LIB.so:NAME"): exactly one. */
static void pool_task(struct ctx *c, const struct cJSON *v, const char *path,
		      struct pool_argv *a)
{
	const struct cJSON *task = jv_get(v, "task");
	const struct cJSON *plugin = jv_get(v, "plugin");
	if (!task == !plugin) {
		char *names = task_builtin_names(", ");
		spec_err(c, path, "expected \"task\" (%s) or \"plugin\" (\"LIB.so:NAME\")", names);
		free(names);
		return;
	}
	char *p = spec_path_key(path, task ? "task" : "plugin");
	const char *s = spec_get_str(c, task ? task : plugin, p);
	if (s && task && !task_builtin(s)) {
		char *names = task_builtin_names(" or ");
		spec_expected(c, p, names, task);
		free(names);
	} else if (s && !task && !strchr(s, ':')) {
		spec_expected(c, p, "\"LIB.so:NAME\"", plugin);
	} else if (s) {
		arg(a, task ? "--task" : "--task-plugin");
		arg(a, s);
	}
	free(p);
}

/* An integer option: flag N. */
static void pool_long(struct ctx *c, const struct cJSON *v, const char *path, const char *key,
		      long max, const char *flag, struct pool_argv *a)
{
	const struct cJSON *e = jv_get(v, key);
	long n;
	if (!e)
		return;
	char *p = spec_path_key(path, key);
	if (spec_get_long(c, e, p, 1, max, &n)) {
		char b[24];
		snprintf(b, sizeof b, "%ld", n);
		arg(a, flag);
		arg(a, b);
	}
	free(p);
}

/* mode, workers, timeout, fail_fast, max_inflight, max_items_per_worker:
 * the flags they are. */
static void pool_options(struct ctx *c, const struct cJSON *v, const char *path,
			 struct pool_argv *a)
{
	static const char *const modes[] = { "serial", "thread", "process", "async", NULL };
	const struct cJSON *e;
	char *p = NULL;
	bool process = false, async = false;
#define POOLKEY(k) (free(p), p = spec_path_key(path, k), e = jv_get(v, k))
	if (POOLKEY("mode")) {
		const char *s = jv_is_string(e) ? jv_str(e) : "";
		size_t m = 0;
		while (modes[m] && strcmp(s, modes[m]))
			m++;
		if (!modes[m]) {
			spec_expected(c, p, "serial, thread, process or async", e);
		} else {
			arg(a, "--mode");
			arg(a, s);
			process = !strcmp(s, "process");
			async = !strcmp(s, "async");
		}
	}
	pool_long(c, v, path, "workers", 4096, "-j", a);
	double d;
	if (POOLKEY("timeout") && spec_get_duration(c, e, p, &d) && d > 0) {
		char b[40];
		snprintf(b, sizeof b, "%.6f", d);
		arg(a, "--timeout");
		arg(a, b);
	}
	bool ff = false;
	if (POOLKEY("fail_fast") && spec_get_bool(c, e, p, &ff) && ff)
		arg(a, "--fail-fast");
#undef POOLKEY
	free(p);
	/* as `piperun pool` refuses them: each has a meaning in one mode */
	if (jv_get(v, "max_inflight") && !async)
		spec_err(c, path, "max_inflight is for \"mode\": \"async\" "
			 "(items in flight in the one event loop)");
	else
		pool_long(c, v, path, "max_inflight", LONG_MAX, "--max-inflight", a);
	if (jv_get(v, "max_items_per_worker") && !process)
		spec_err(c, path, "max_items_per_worker is for \"mode\": \"process\" "
			 "(a worker process that ends after so many items)");
	else
		pool_long(c, v, path, "max_items_per_worker", LONG_MAX, "--max-items-per-worker", a);
}

/* "items" (they become the job's stdin) or "items_file" (--items). */
static void pool_items(struct ctx *c, const struct cJSON *v, const char *path,
		       struct tmpl *t, struct pool_argv *a)
{
	const struct cJSON *items = jv_get(v, "items");
	const struct cJSON *file = jv_get(v, "items_file");
	if (items && file)
		spec_err(c, path, "expected \"items\" or \"items_file\", not both");
	if (file) {
		char *p = spec_path_key(path, "items_file");
		const char *s = spec_get_str(c, file, p);
		if (s) {
			arg(a, "--items");
			arg(a, s);
		}
		free(p);
	}
	if (!items)
		return;
	char *p = spec_path_key(path, "items");
	if (!jv_is_array(items)) {
		spec_expected(c, p, "an array of items (each an array of arguments)", items);
		free(p);
		return;
	}
	/* one JSON array per line: what `piperun pool` reads; an item is
	 * an array (a bare 4 is refused, not taken as [4]: plan, validate
	 * and the run say the same) */
	struct buf lines = { 0 };
	const struct cJSON *it;
	size_t i = 0;
	JV_EACH(it, items) {
		if (!jv_is_array(it)) {
			char *ip = spec_path_idx(p, i);
			spec_expected(c, ip, "an array of arguments (a one-argument item is [4])", it);
			free(ip);
		}
		spec_json_print(&lines, it);
		buf_addch(&lines, '\n');
		i++;
	}
	t->j.in.kind = IN_TEXT;
	free(t->j.in.data);
	t->j.in.len = lines.len;
	t->j.in.data = buf_detach(&lines);
	t->j.pool_items_given = true;
	free(p);
}

/* A pool job: `piperun pool` with these options. */
static void pool_parse(struct ctx *c, const struct cJSON *job, const struct cJSON *v,
		       const char *path, bool in_defaults, struct tmpl *t)
{
	(void)job;
	(void)in_defaults;
	t->j.kind = KIND_POOL;
	if (!jv_is_object(v)) {
		spec_expected(c, path, "an object like {\"task\": \"gcd\", \"items\": [[12, 18]]}", v);
		return;
	}
	static const char *const keys[] = { "task", "plugin", "mode", "workers", "items",
					    "items_file", "timeout", "fail_fast",
					    "max_inflight", "max_items_per_worker", NULL };
	spec_check_keys(c, v, path, keys, "a pool has task, plugin, mode, workers, items, items_file, timeout, fail_fast, max_inflight, max_items_per_worker");
	struct pool_argv a = { .n = 0 };
	arg(&a, "piperun");
	arg(&a, "pool");
	pool_task(c, v, path, &a);
	pool_options(c, v, path, &a);
	pool_items(c, v, path, t, &a);
	arg(&a, "--output");
	arg(&a, "json");
	t->stages = xcalloc(1, sizeof *t->stages);
	t->nstages = 1;
	t->stages[0].argc = a.n;
	t->stages[0].argv = xcalloc(a.n, sizeof *t->stages[0].argv);
	for (size_t i = 0; i < a.n; i++)
		t->stages[0].argv[i].s = a.v[i];
}

/* Its items are its stdin, and its stdout its results. */
static void pool_check(struct ctx *c, const struct cJSON *job, struct tmpl *t)
{
	if (t->j.pool_items_given && jv_get(job, "stdin")) {
		char *p = spec_path_key(t->path, "stdin");
		spec_err(c, p, "a pool job with \"items\" takes its items as stdin");
		free(p);
	}
	if (t->j.out.mode != IO_CAPTURE) {
		char *p = spec_path_key(t->path, "stdout");
		spec_err(c, p, "a pool job's stdout is its results; it is always captured");
		free(p);
	}
}

/* ------------------------------------------------------------ job side */

static void to_buf(void *ctx, const void *p, size_t n)
{
	buf_add(ctx, p, n);
}

/* Did the pool's document arrive whole, its summary agreeing with its
 * exit status (0: every item ok; 1: some item not)? */
static bool pool_document_whole(const struct job *j)
{
	if (!job_run_of(j)->out.active || !job_run_of(j)->out.total || capture_truncated(&job_run_of(j)->out))
		return false;
	struct buf b = { 0 };
	capture_each(&job_run_of(j)->out, to_buf, &b);
	struct cJSON *doc = b.p ? jv_parse_whole(b.p, b.len) : NULL;
	buf_free(&b);
	const struct cJSON *sum = jv_get(doc, "summary");
	double total = jv_num(jv_get(sum, "total")), ok = jv_num(jv_get(sum, "ok"));
	bool whole = jv_is_number(jv_get(sum, "total")) && jv_is_number(jv_get(sum, "ok")) &&
		     jv_is_array(jv_get(doc, "items")) &&
		     (double)jv_size(jv_get(doc, "items")) == total &&
		     (j->returncode == 0) == (ok == total);
	jv_free(doc);
	return whole;
}

/* The pool could not run its items (its exit status 2 or 3): say why,
 * from its stderr.  Status 0 or 1 only with its document whole. */
static void pool_outcome(struct job *j)
{
	job_proc_outcome(j);
	if (!j->has_rc || j->timed_out || j->cancelled)
		return;
	if (j->returncode != 2 && j->returncode != 3) {
		kind_require_results(j, pool_document_whole(j), "the pool", "its results document");
		return;
	}
	char *line = job_stderr_first_line(j);
	j->status = ST_ERROR;
	free(j->error);
	j->error = line ? line : xstrdup("the pool could not run");
}

/* A pool job's record carries what `piperun pool` printed: task, mode,
 * workers, summary, items (CONTRACT §5). */
static bool pool_splice(struct jw *w, const struct job *j)
{
	static const char *const skip[] = { "duration_ms", "cpu_ms", NULL };
	if (!job_run_of(j)->out.active || !job_run_of(j)->out.total || capture_truncated(&job_run_of(j)->out))
		return false;
	struct buf b = { 0 };
	capture_each(&job_run_of(j)->out, to_buf, &b);
	bool ok = b.p && spec_json_splice_members(w, b.p, b.len, skip, j->spec) == 0;
	buf_free(&b);
	return ok;
}

const struct job_kind kind_pool = {
	.name = "pool",
	.id = KIND_POOL,
	.parse = pool_parse,
	.check = pool_check,
	.plan = spec_plan_first_stage,
	.from_key = "stdin",
	.runs_self = true,
	.outcome = pool_outcome,
	.splice_stdout = pool_splice,
};
