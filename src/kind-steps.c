/* SPDX-License-Identifier: GPL-3.0-or-later */
/* kind-steps.c - steps jobs.  Spec side: the steps and items of a job
 * object, and the wire format between the runner and the steps host
 * (`piperun __steps`): steps_describe writes it, steps_desc_parse reads
 * it back.  Job side: the host's stdio (its description on fd 3), its
 * progress and counts, the job's outcome and its record. */
#include "config.h"
#include "enum-name.h"
#include "kind.h"
#include "job.h"
#include "spec.h"
#include "spec-plan.h"
#include "task.h"
#include "spec-int.h"
#include "util.h"
#include "jsonw.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS (1L << 53)
#define MAX_STEPS 64

/* ------------------------------------------------------------ steps jobs */

static const struct enum_name step_kinds[] = {
	{ STEP_RUN, "run" }, { STEP_COPROCESS, "coprocess" }, { STEP_TASK, "task" },
};
static const struct enum_name items_kinds[] = {
	{ ITEMS_COUNT, "count" }, { ITEMS_ARRAY, "array" }, { ITEMS_LINES, "lines" },
	{ ITEMS_STDIN, "stdin" }, { ITEMS_FROM, "from" },
};

const char *steps_step_kind_name(enum step_kind k)
{
	return ENUM_NAME(step_kinds, k);
}

/* A steps job's own keys (besides "steps"). */
static const char *const steps_job_keys[] = { "items", "queue", "ordered", "on_error",
					      "item_timeout", NULL };

static void step_free(struct step_spec *st)
{
	free(st->name);
	spec_strv_free(st->argv, st->argc);
	free(st->exe);
	free(st->exe_error);
	free(st->task);
	free(st->args);
}

void steps_spec_free(struct steps_spec *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nsteps; i++)
		step_free(&s->steps[i]);
	free(s->steps);
	free(s->trace_items);
	free(s);
}

static struct steps_spec *steps_spec_dup(const struct steps_spec *s)
{
	if (!s)
		return NULL;
	struct steps_spec *d = xmalloc(sizeof *d);
	*d = *s;
	d->trace_items = s->trace_items ? xstrdup(s->trace_items) : NULL;
	d->steps = xcalloc(s->nsteps ? s->nsteps : 1, sizeof *d->steps);
	for (size_t i = 0; i < s->nsteps; i++) {
		const struct step_spec *a = &s->steps[i];
		struct step_spec *b = &d->steps[i];
		*b = *a;
		b->name = xstrdup(a->name);
		b->argv = a->argv ? spec_strv_dup(a->argv, a->argc) : NULL;
		b->exe = a->exe ? xstrdup(a->exe) : NULL;
		b->exe_error = a->exe_error ? xstrdup(a->exe_error) : NULL;
		b->task = a->task ? xstrdup(a->task) : NULL;
		b->args = a->args ? xstrdup(a->args) : NULL;
	}
	return d;
}

/* An argv of plain strings ({} is the item: no spec placeholders here). */
static char **get_plain_argv(struct ctx *c, const struct cJSON *v, const char *path, size_t *n)
{
	if (!jv_is_array(v) || !jv_size(v)) {
		spec_expected(c, path, "a non-empty argv array of strings", v);
		return NULL;
	}
	return spec_get_str_array(c, v, path, false, false, n);
}

/* Which of run, coprocess, task, plugin the step is (exactly one), and
 * its argv or task. */
static void parse_step_kind(struct ctx *c, const struct cJSON *v, const char *path,
			    struct step_spec *st)
{
	static const char *const kinds[] = { "run", "coprocess", "task", "plugin" };
	int nk = 0, kind = -1;
	for (int k = 0; k < 4; k++)
		if (jv_get(v, kinds[k])) {
			if (nk++)
				spec_err(c, path, "expected exactly one of run, coprocess, task, plugin; found both \"%s\" and \"%s\"",
					 kinds[kind], kinds[k]);
			else
				kind = k;
		}
	if (!nk)
		spec_err(c, path, "expected one of run, coprocess, task, plugin; found none");
	if (nk != 1)
		return;
	char *p = spec_path_key(path, kinds[kind]);
	const struct cJSON *e = jv_get(v, kinds[kind]);
	if (kind < 2) {
		st->kind = kind ? STEP_COPROCESS : STEP_RUN;
		st->argv = get_plain_argv(c, e, p, &st->argc);
	} else {
		st->kind = STEP_TASK;
		st->plugin = kind == 3;
		const char *s = spec_get_str(c, e, p);
		if (s && !st->plugin && !task_builtin(s)) {
			char *names = task_builtin_names(" or ");
			char *what = xasprintf("%s (or \"plugin\": \"LIB.so:NAME\")", names);
			spec_expected(c, p, what, e);
			free(what);
			free(names);
		} else if (s && st->plugin && !strchr(s, ':'))
			spec_expected(c, p, "\"LIB.so:NAME\"", e);
		else if (s)
			st->task = xstrdup(s);
	}
	free(p);
}

/* The keys that belong to some kinds of step only. */
static void parse_step_options(struct ctx *c, const struct cJSON *v, const char *path,
			       struct step_spec *st)
{
	const struct cJSON *e;
	char *p = NULL;
	long n;
	double d;
#define STEPKEY(k) (free(p), p = spec_path_key(path, k), e = jv_get(v, k))
	if (STEPKEY("args")) {
		if (st->kind != STEP_TASK)
			spec_err(c, p, "\"args\" belongs to task steps (a run or coprocess step's argv has its arguments)");
		else if (!jv_is_array(e))
			spec_expected(c, p, "an array of task arguments", e);
		else {
			struct buf b = { 0 };
			spec_json_print(&b, e);
			st->args = buf_detach(&b);
		}
	}
	if (STEPKEY("stdin")) {
		if (st->kind != STEP_RUN)
			spec_err(c, p, "\"stdin\" belongs to run steps");
		else if (!jv_is_null(e))
			spec_expected(c, p, "null (the item is written to a run step's stdin unless \"stdin\": null)", e);
		else
			st->stdin_null = true;
	}
	if (STEPKEY("pty")) {
		if (st->kind != STEP_COPROCESS)
			spec_err(c, p, "\"pty\" belongs to coprocess steps");
		else
			spec_get_bool(c, e, p, &st->pty);
	}
	if (STEPKEY("window")) {
		if (st->kind != STEP_COPROCESS)
			spec_err(c, p, "\"window\" belongs to coprocess steps");
		else if (spec_get_long(c, e, p, 1, 4096, &n))
			st->window = n;
	}
	if (STEPKEY("item_timeout") && spec_get_duration(c, e, p, &d))
		st->item_timeout = d;
	if (STEPKEY("stall_warning")) {
		if (st->kind != STEP_COPROCESS)
			spec_err(c, p, "\"stall_warning\" belongs to coprocess steps");
		else if (spec_get_duration(c, e, p, &d))
			st->stall_warning = d;
	}
#undef STEPKEY
	free(p);
}

static void parse_step(struct ctx *c, const struct cJSON *v, const char *path, size_t index,
		       struct step_spec *st)
{
	static const char *const keys[] = { "name", "workers", "queue", "run", "coprocess",
					    "task", "plugin", "args", "stdin", "pty", "window",
					    "item_timeout", "stall_warning", NULL };
	st->workers = 1;
	st->window = 16;
	st->item_timeout = -1;
	st->stall_warning = STALL_WARNING_DEFAULT;
	if (!jv_is_object(v)) {
		spec_expected(c, path, "a step object like {\"name\": \"resize\", \"workers\": 4, \"run\": [\"cmd\", \"{}\"]}", v);
		st->name = xasprintf("step%zu", index + 1);
		return;
	}
	spec_check_keys(c, v, path, keys, "a step has name, workers, queue, run, coprocess, task, plugin, args, stdin, pty, window, item_timeout, stall_warning");
	const struct cJSON *e;
	char *p = NULL;
#define STEPKEY(k) (free(p), p = spec_path_key(path, k), e = jv_get(v, k))
	if (STEPKEY("name")) {
		const char *s = spec_get_str(c, e, p);
		if (s && (!*s || strpbrk(s, " \t\n")))
			spec_expected(c, p, "a non-empty name without spaces", e);
		else if (s)
			st->name = xstrdup(s);
	}
	if (!st->name)
		st->name = xasprintf("step%zu", index + 1);
	long n;
	if (STEPKEY("workers") && spec_get_long(c, e, p, 1, 1024, &n))
		st->workers = (int)n;
	if (STEPKEY("queue") && spec_get_long(c, e, p, 1, 1000000, &n))
		st->queue = n;
#undef STEPKEY
	free(p);
	parse_step_kind(c, v, path, st);
	parse_step_options(c, v, path, st);
}

/* The items of a steps job: where they come from.  All but a count reach
 * the host on its stdin, so the runner's stdin machinery carries them. */
static void parse_items(struct ctx *c, const struct cJSON *v, const char *path, struct job_spec *j)
{
	struct steps_spec *s = j->steps;
	if (jv_is_array(v)) {
		struct buf lines = { 0 };
		size_t i = 0;
		for (const struct cJSON *it = jv_child(v); it; it = jv_next(it), i++) {
			char *ip = spec_path_idx(path, i);
			char *num = jv_is_number(it) ? spec_num_text(jv_num(it)) : NULL;
			const char *str = num ? num : jv_is_string(it) ? jv_str(it) : NULL;
			if (!str)
				spec_expected(c, ip, "a string or a number", it);
			else if (strchr(str, '\n'))
				spec_err(c, ip, "an item is one line; this one has a newline");
			else if (str) {
				buf_addstr(&lines, str);
				buf_addch(&lines, '\n');
			}
			free(num);
			free(ip);
		}
		s->items = ITEMS_ARRAY;
		j->in.kind = IN_TEXT;
		j->in.len = lines.len;
		j->in.data = lines.p ? buf_detach(&lines) : xstrdup("");
		return;
	}
	if (!jv_is_object(v) || jv_size(v) != 1) {
		spec_expected(c, path, "{\"count\": N}, {\"lines\": FILE or \"-\"}, {\"from\": JOB} or an array of strings", v);
		return;
	}
	const struct cJSON *e = jv_child(v);
	char *p = spec_path_key(path, jv_key(e));
	if (!strcmp(jv_key(e), "count")) {
		long n;
		if (spec_get_long(c, e, p, 0, (long)MAX_ITEMS, &n)) {
			s->items = ITEMS_COUNT;
			s->count = (uint64_t)n;
		}
	} else if (!strcmp(jv_key(e), "lines")) {
		const char *f = spec_get_str(c, e, p);
		if (f && !*f)
			spec_expected(c, p, "a file name or \"-\" (stdin)", e);
		else if (f && !strcmp(f, "-")) {
			s->items = ITEMS_STDIN;
			j->in.kind = IN_INHERIT;
		} else if (f) {
			s->items = ITEMS_LINES;
			j->in.kind = IN_FILE;
			j->in.path = xstrdup(f);
		}
	} else if (!strcmp(jv_key(e), "from")) {
		const char *f = spec_get_str(c, e, p);
		if (f && !*f)
			spec_expected(c, p, "a job name", e);
		else if (f) {
			s->items = ITEMS_FROM;
			j->in.kind = IN_FROM;
			j->in.from = xstrdup(f);
		}
	} else {
		spec_err(c, p, "unknown key (items are {\"count\": N}, {\"lines\": FILE or \"-\"}, {\"from\": JOB} or an array of strings)");
	}
	free(p);
}

/* host: a description (steps_describe), whose items may be "stdin". */
static void parse_steps(struct ctx *c, const struct cJSON *job, const struct cJSON *v,
			const char *jpath, struct job_spec *j, bool host)
{
	struct steps_spec *s = j->steps = xcalloc(1, sizeof *s);
	s->queue = 100;
	s->mode = -1;
	char *p = spec_path_key(jpath, "steps");
	if (!jv_is_array(v) || !jv_size(v)) {
		spec_expected(c, p, "a non-empty array of steps", v);
	} else if (jv_size(v) > MAX_STEPS) {
		spec_err(c, p, "a steps job has at most %d steps, got %d", MAX_STEPS, jv_size(v));
	} else {
		s->nsteps = (size_t)jv_size(v);
		s->steps = xcalloc(s->nsteps, sizeof *s->steps);
		size_t i = 0;
		for (const struct cJSON *e = jv_child(v); e; e = jv_next(e), i++) {
			char *sp = spec_path_idx(p, i);
			parse_step(c, e, sp, i, &s->steps[i]);
			free(sp);
		}
		for (size_t a = 0; a < s->nsteps; a++)
			for (size_t b = 0; b < a; b++)
				if (!strcmp(s->steps[a].name, s->steps[b].name)) {
					char *sp = spec_path_idx(p, a);
					spec_err(c, sp, "a step named \"%s\" comes earlier; step names are unique",
					    s->steps[a].name);
					free(sp);
					break;
				}
	}
	const struct cJSON *e;
#define JOBKEY(k) (free(p), p = spec_path_key(jpath, k), e = jv_get(job, k))
	if (JOBKEY("items") && host && jv_is_string(e) && !strcmp(jv_str(e), "stdin"))
		s->items = ITEMS_STDIN;
	else if (e)
		parse_items(c, e, p, j);
	else
		spec_err(c, jpath, "a steps job needs \"items\": {\"count\": N}, {\"lines\": FILE or \"-\"}, {\"from\": JOB} or an array of strings");
	long n;
	if (JOBKEY("queue") && spec_get_long(c, e, p, 1, 1000000, &n))
		s->queue = n;
	if (JOBKEY("ordered"))
		spec_get_bool(c, e, p, &s->ordered);
	if (JOBKEY("on_error")) {
		const char *str = jv_is_string(e) ? jv_str(e) : "";
		if (!strcmp(str, "stop"))
			s->stop_on_error = true;
		else if (strcmp(str, "drop"))
			spec_expected(c, p, "\"drop\" (the default) or \"stop\"", e);
	}
	if (JOBKEY("item_timeout"))
		spec_get_duration(c, e, p, &s->item_timeout);
#undef JOBKEY
	free(p);
}

/* The host's description: the steps as the user wrote them, programs
 * resolved, the job's signal rules and the mode settled. */
char *steps_describe(const struct job_spec *j, enum run_mode mode, bool journal_items,
		     bool resume)
{
	const struct steps_spec *s = j->steps;
	struct buf b = { 0 };
	struct jw w;
	jw_init(&w, buf_sink_write, &b, false);
	jw_obj(&w, false);
	jw_key(&w, "items");
	if (s->items == ITEMS_COUNT) {
		jw_obj(&w, true);
		jw_kint(&w, "count", (int64_t)s->count);
		jw_obj_end(&w);
	} else {
		jw_str(&w, "stdin");
	}
	jw_kint(&w, "queue", s->queue);
	jw_kbool(&w, "ordered", s->ordered);
	jw_kstr(&w, "on_error", s->stop_on_error ? "stop" : "drop");
	jw_knum(&w, "item_timeout", s->item_timeout);
	/* s->mode is -1 here: only steps_desc_parse (host side) sets it */
	jw_kstr(&w, "mode", mode == MODE_THREAD ? "thread" : "async");
	jw_kint(&w, "signal", j->signal);
	jw_knum(&w, "kill_after", j->kill_after);
	if (journal_items)
		jw_kbool(&w, "journal_items", true);
	if (resume)
		jw_kbool(&w, "resume", true);
	if (s->trace_items)
		jw_kstr(&w, "trace_items", s->trace_items);
	jw_key(&w, "steps");
	jw_arr(&w, false);
	for (size_t i = 0; i < s->nsteps; i++) {
		const struct step_spec *st = &s->steps[i];
		jw_obj(&w, true);
		jw_kstr(&w, "name", st->name);
		jw_kint(&w, "workers", st->workers);
		jw_kint(&w, "queue", st->queue ? st->queue : s->queue);
		if (st->kind == STEP_TASK) {
			jw_kstr(&w, st->plugin ? "plugin" : "task", st->task);
			if (st->args) {
				jw_key(&w, "args");
				jw_raw(&w, st->args);
			}
		} else {
			jw_key(&w, steps_step_kind_name(st->kind));
			jw_arr(&w, true);
			for (size_t a = 0; a < st->argc; a++)
				jw_str(&w, a == 0 && st->exe ? st->exe : st->argv[a]);
			jw_arr_end(&w);
		}
		if (st->stdin_null)
			jw_knull(&w, "stdin");
		if (st->kind == STEP_COPROCESS) {
			jw_kbool(&w, "pty", st->pty);
			jw_kint(&w, "window", st->window);
			jw_knum(&w, "stall_warning", st->stall_warning);
		}
		if (st->item_timeout >= 0)
			jw_knum(&w, "item_timeout", st->item_timeout);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	return buf_detach(&b);
}

struct steps_spec *steps_desc_parse(const char *text, size_t len, char **why)
{
	struct errlist errs = { 0 };
	struct ctx c = { .file = "steps description", .errs = &errs };
	struct job_spec j = { 0 };
	struct cJSON *root = spec_parse_json(&c, text, len);
	if (root && !jv_is_object(root))
		spec_expected(&c, NULL, "an object", root);
	if (root && jv_is_object(root)) {
		static const char *const keys[] = { "items", "queue", "ordered", "on_error",
						    "item_timeout", "mode", "signal",
						    "kill_after", "journal_items", "resume",
						    "trace_items", "steps", NULL };
		spec_check_keys(&c, root, "", keys, "not a description field");
		parse_steps(&c, root, jv_get(root, "steps"), "", &j, true);
		const struct cJSON *e;
		/* programs were resolved by the runner */
		for (size_t i = 0; i < j.steps->nsteps; i++)
			if (j.steps->steps[i].argv)
				j.steps->steps[i].exe = xstrdup(j.steps->steps[i].argv[0]);
		if ((e = jv_get(root, "mode"))) {
			const char *m = jv_is_string(e) ? jv_str(e) : "";
			j.steps->mode = !strcmp(m, "thread") ? MODE_THREAD : MODE_ASYNC;
		}
		if ((e = jv_get(root, "signal")))
			spec_get_signal(&c, e, "signal", &j.steps->signal);
		if ((e = jv_get(root, "kill_after")))
			spec_get_duration(&c, e, "kill_after", &j.steps->kill_after);
		if ((e = jv_get(root, "journal_items")))
			spec_get_bool(&c, e, "journal_items", &j.steps->journal_items);
		if ((e = jv_get(root, "resume")))
			spec_get_bool(&c, e, "resume", &j.steps->resume);
		if ((e = jv_get(root, "trace_items")) && spec_get_str(&c, e, "trace_items"))
			j.steps->trace_items = xstrdup(jv_str(e));
	}
	jv_free(root);
	free(j.in.data);
	free(j.in.path);
	free(j.in.from);
	if (errs.n) {
		*why = xstrdup(errs.msg[0]);
		errlist_free(&errs);
		steps_spec_free(j.steps);
		return NULL;
	}
	return j.steps;
}

/* ------------------------------------------------------- the kind's row */

/* A steps job runs as `piperun __steps`, its host (stages[0]). */
static void steps_parse(struct ctx *c, const struct cJSON *job, const struct cJSON *v,
			const char *path, bool in_defaults, struct tmpl *t)
{
	if (in_defaults) {
		spec_err(c, path, "a steps job names its steps itself (not in defaults)");
		return;
	}
	t->j.kind = KIND_STEPS;
	parse_steps(c, job, v, t->path, &t->j, false);
	t->stages = xcalloc(1, sizeof *t->stages);
	t->nstages = 1;
	t->stages[0].argc = 2;
	t->stages[0].argv = xcalloc(2, sizeof *t->stages[0].argv);
	t->stages[0].argv[0].s = xstrdup("piperun");
	t->stages[0].argv[1].s = xstrdup("__steps");
}

static void steps_plan(struct jw *w, const struct spec *s, const struct job_spec *j)
{
	const struct steps_spec *ss = j->steps;
	jw_key(w, "items");
	jw_obj(w, true);
	jw_kstr(w, "kind", ENUM_NAME(items_kinds, ss->items));
	if (ss->items == ITEMS_COUNT)
		jw_kint(w, "count", (int64_t)ss->count);
	jw_obj_end(w);
	jw_kint(w, "queue", ss->queue);
	jw_kbool(w, "ordered", ss->ordered);
	jw_kstr(w, "on_error", ss->stop_on_error ? "stop" : "drop");
	spec_plan_duration(w, "item_timeout", ss->item_timeout);
	jw_kstr(w, "steps_mode", s->mode == MODE_THREAD ? "thread" : "async");
	jw_key(w, "steps");
	jw_arr(w, false);
	for (size_t i = 0; i < ss->nsteps; i++) {
		const struct step_spec *st = &ss->steps[i];
		jw_obj(w, false);
		spec_plan_str(w, j, NULL, "name", st->name);
		jw_kstr(w, "kind", steps_step_kind_name(st->kind));
		jw_kint(w, "workers", st->workers);
		jw_kint(w, "queue", st->queue ? st->queue : ss->queue);
		if (st->kind == STEP_TASK) {
			spec_plan_str(w, j, NULL, st->plugin ? "plugin" : "task", st->task);
			jw_key(w, "args");
			if (st->args)
				jw_raw(w, st->args);
			else
				jw_null(w);
		} else {
			struct stage_spec tmp = { .argv = st->argv, .argc = st->argc,
						  .exe = st->exe, .exe_error = st->exe_error };
			spec_plan_argv(w, j, &tmp);
		}
		if (st->kind == STEP_RUN)
			jw_kbool(w, "stdin", !st->stdin_null);
		if (st->kind == STEP_COPROCESS) {
			jw_kbool(w, "pty", st->pty);
			jw_kint(w, "window", st->window);
			spec_plan_duration(w, "stall_warning", st->stall_warning);
		}
		spec_plan_duration(w, "item_timeout", st->item_timeout >= 0 ? st->item_timeout
			      : ss->item_timeout);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void steps_dup_data(struct job_spec *to, const struct job_spec *from)
{
	to->steps = steps_spec_dup(from->steps);
}

static void steps_free_data(struct job_spec *j)
{
	steps_spec_free(j->steps);
	j->steps = NULL;
}

/* ------------------------------------------------------------ job side */

/* A steps host's info lines (steps.h): "P progress", "E error", and last
 * the JSON counts. */
static pthread_mutex_t steps_progress_mu = PTHREAD_MUTEX_INITIALIZER;

void job_steps_progress(const struct job *j, char *out, size_t n)
{
	pthread_mutex_lock(&steps_progress_mu);
	snprintf(out, n, "%s", job_run_of(j)->steps_progress);
	pthread_mutex_unlock(&steps_progress_mu);
}

void job_steps_progress_clear(struct job *j)
{
	if (!j->run->steps_progress[0])
		return;
	pthread_mutex_lock(&steps_progress_mu);
	j->run->steps_progress[0] = 0;
	pthread_mutex_unlock(&steps_progress_mu);
}

static void steps_info(struct job *j)
{
	size_t off = 0, s_from = 0, s_to = 0;
	char *nl;
	while ((nl = memchr(j->run->resbuf.p + off, '\n', j->run->resbuf.len - off))) {
		char *line = j->run->resbuf.p + off;
		if (!strncmp(line, "S ", 2) && j->env->ops->items_sunk) {
			/* items sunk, for the journal: a run of them at once */
			if (s_to != off) {
				if (s_to > s_from)
					j->env->ops->items_sunk(j, j->run->resbuf.p + s_from, s_to - s_from);
				s_from = off;
			}
			off = s_to = (size_t)(nl - j->run->resbuf.p) + 1;
			continue;
		}
		*nl = 0;
		if (!strncmp(line, "P ", 2)) {
			pthread_mutex_lock(&steps_progress_mu);
			snprintf(j->run->steps_progress, sizeof j->run->steps_progress, "%s", line + 2);
			pthread_mutex_unlock(&steps_progress_mu);
		} else if (!strncmp(line, "E ", 2)) {
			free(j->run->steps_error);
			j->run->steps_error = xstrdup(line + 2);
		} else if (*line == '{') {
			free(j->run->steps_info);
			j->run->steps_info = xstrdup(line);
		}
		off = (size_t)(nl - j->run->resbuf.p) + 1;
	}
	if (s_to > s_from)
		j->env->ops->items_sunk(j, j->run->resbuf.p + s_from, s_to - s_from);
	memmove(j->run->resbuf.p, j->run->resbuf.p + off, j->run->resbuf.len - off);
	j->run->resbuf.len -= off;
}

/* A signal only a fault sends (the host's own, or a task's in it). */
static bool host_crashed(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL ||
	       sig == SIGABRT || sig == SIGSYS || sig == SIGTRAP;
}

/* A steps host's status 2: the steps could not run (its "E" line or
 * stderr says why); 1 with an "E" line: that is the job's error; 0 or 1
 * only with its counts (the last info line it sends). */
static void steps_outcome(struct job *j)
{
	job_proc_outcome(j);
	if (!j->has_rc || j->timed_out || j->cancelled)
		return;
	if (kind_require_results(j, j->run->steps_info != NULL, "the steps host", "its counts"))
		return;
	if (j->returncode == 2) {
		char *line = j->run->steps_error ? NULL : job_stderr_first_line(j);
		j->status = ST_ERROR;
		free(j->error);
		j->error = xstrdup(j->run->steps_error ? j->run->steps_error
				   : line ? line : "the steps could not run");
		free(line);
	} else if ((j->returncode == 1 || j->returncode < 0) && j->run->steps_error) {
		/* < 0: a task crashed the host, and its note says where */
		free(j->error);
		j->error = xstrdup(j->run->steps_error);
	} else if (j->returncode < 0 && !j->error && host_crashed(-j->returncode)) {
		free(j->error);
		j->error = xasprintf("the steps host died of %s", sig_name(-j->returncode));
	}
}

/* A steps host's fds beyond 0-2 (cmd-steps.c): 3 its description (one
 * line; with --resume the items it sank in an earlier session follow
 * it), 4 the write end of its info pipe (read into resbuf). */
static int steps_stdio(struct job *j, struct proc_stdio *io, int *stage_slot, int *desc)
{
	(void)stage_slot;
	struct buf b = { 0 };
	char *text = steps_describe(j->spec, j->env->spec->mode, j->env->ops->items_sunk != NULL,
				    j->sunk_before != NULL);
	buf_addstr(&b, text);
	free(text);
	if (j->sunk_before) {
		buf_addch(&b, '\n');
		buf_add(&b, j->sunk_before->p, j->sunk_before->len);
	}
	*desc = memfd_from("piperun-steps", b.p, b.len);
	buf_free(&b);
	io[3] = (struct proc_stdio){ PROC_STDIO_FD, *desc };
	io[4] = JOB_PIPE_TO_RUNNER;
	return *desc < 0 ? -1 : 5;
}

/* A steps job's record carries its host's counts: steps[], failed_items
 * and the totals (steps.h). */
static void steps_report(struct jw *w, const struct job *j)
{
	static const char *const skip[] = { "wall_ms", NULL };
	if (!job_run_of(j)->steps_info || spec_json_splice_members(w, job_run_of(j)->steps_info, strlen(job_run_of(j)->steps_info), skip, j->spec) < 0) {
		jw_knull(w, "items_in");
		jw_knull(w, "items_out");
		jw_key(w, "steps");
		jw_arr(w, false);
		jw_arr_end(w);
		jw_key(w, "failed_items");
		jw_arr(w, false);
		jw_arr_end(w);
	}
}

static char *const steps_host_argv[] = { "piperun", "__steps", NULL };

static const struct kind_host steps_host = {
	.argv = steps_host_argv,
	.setup = "steps",
	.err_slot = 2,
	.side_slot = 4,
	.fds_steady = 1,        /* the info pipe */
	.fds_transient = 2,     /* and the description */
	.stdio = steps_stdio,
	.take_side = steps_info,
};

const struct job_kind kind_steps = {
	.name = "steps",
	.id = KIND_STEPS,
	.parse = steps_parse,
	.plan = steps_plan,
	.dup_data = steps_dup_data,
	.free_data = steps_free_data,
	.own_keys = steps_job_keys,
	.stdin_error = "a steps job reads its items from \"items\" (e.g. {\"lines\": \"-\"} for stdin)",
	.from_key = "items",
	.runs_self = true,
	.host = &steps_host,
	.outcome = steps_outcome,
	.report_more = steps_report,
	.progress = true,
};
