/* SPDX-License-Identifier: GPL-3.0-or-later */
/* kind-pipeline.c - pipeline jobs, spec side: the stages (each an argv,
 * or an object with its argv, env and stderr), and their plan. */
#include "config.h"
#include "kind.h"
#include "jsonw.h"
#include "chain.h"
#include "spec.h"
#include "spec-plan.h"
#include "spec-int.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool parse_stage(struct ctx *c, const struct cJSON *v, const char *path,
			struct tstage *st)
{
	memset(st, 0, sizeof *st);
	if (jv_is_array(v))
		return spec_parse_argv(c, v, path, &st->argv, &st->argc);
	if (!jv_is_object(v)) {
		spec_expected(c, path, "an argv array or {\"run\": [...], \"env\": {...}, \"stderr\": ...}", v);
		return false;
	}
	static const char *const keys[] = { "run", "env", "stderr", NULL };
	spec_check_keys(c, v, path, keys, "a stage has run, env, stderr");
	bool ok = true;
	char *p = spec_path_key(path, "run");
	const struct cJSON *run = jv_get(v, "run");
	if (!run) {
		spec_err(c, path, "a stage object needs \"run\"");
		ok = false;
	} else {
		ok &= spec_parse_argv(c, run, p, &st->argv, &st->argc);
	}
	free(p);
	const struct cJSON *e = jv_get(v, "env");
	if (e) {
		size_t cap = 0;
		p = spec_path_key(path, "env");
		ok &= spec_parse_env(c, e, p, &st->env, &st->nenv, &cap);
		free(p);
	}
	e = jv_get(v, "stderr");
	if (e) {
		p = spec_path_key(path, "stderr");
		ok &= spec_parse_output(c, e, p, true, &st->err);
		if (st->err.mode == IO_TEE) {
			spec_err(c, p, "a stage's stderr can be \"capture\", \"null\", \"stdout\", \"inherit\" or a file, not \"tee\"");
			ok = false;
		}
		st->has_err = true;
		free(p);
	}
	return ok;
}

static void pipeline_parse(struct ctx *c, const struct cJSON *job, const struct cJSON *v,
			   const char *path, bool in_defaults, struct tmpl *t)
{
	(void)job;
	(void)in_defaults;
	t->j.kind = KIND_PIPELINE;
	if (!jv_is_array(v) || !jv_size(v)) {
		spec_expected(c, path, "a non-empty array of stages", v);
	} else if (jv_size(v) > SPAWN_STAGES_MAX) {
		spec_err(c, path, "a pipeline has at most %d stages, got %d",
			 SPAWN_STAGES_MAX, jv_size(v));
	} else {
		size_t n = (size_t)jv_size(v), i = 0;
		t->stages = xcalloc(n, sizeof *t->stages);
		t->nstages = n;
		const struct cJSON *s;
		JV_EACH(s, v) {
			char *sp = spec_path_idx(path, i);
			parse_stage(c, s, sp, &t->stages[i++]);
			free(sp);
		}
	}
}

static void pipeline_plan(struct jw *w, const struct spec *s, const struct job_spec *j)
{
	(void)s;
	jw_key(w, "stages");
	jw_arr(w, false);
	for (size_t i = 0; i < j->nstages; i++) {
		const struct stage_spec *st = &j->stages[i];
		jw_obj(w, false);
		spec_plan_argv(w, j, st);
		jw_key(w, "env");
		spec_plan_env(w, j, st->env, st->nenv);
		jw_key(w, "stderr");
		if (st->has_err)
			spec_plan_output(w, j, &st->err);
		else
			jw_str(w, "job");
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_kbool(w, "pipefail", j->pipefail);
}

const struct job_kind kind_pipeline = {
	.name = "pipeline",
	.id = KIND_PIPELINE,
	.parse = pipeline_parse,
	.plan = pipeline_plan,
	.from_key = "stdin",
	.host_fds = true,
};
