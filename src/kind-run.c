/* SPDX-License-Identifier: GPL-3.0-or-later */
/* kind-run.c - run and shell jobs, spec side: a "run" argv, or a
 * "shell" script that /bin/sh -c runs (its argv is made per copy at
 * expansion, spec-expand.c, where the script's {} becomes a reference
 * to the value). */
#include "config.h"
#include "kind.h"
#include "jsonw.h"
#include "spec-int.h"
#include "spec-plan.h"
#include "util.h"

#include <stdlib.h>

static void run_parse(struct ctx *c, const struct cJSON *job, const struct cJSON *v,
		      const char *path, bool in_defaults, struct tmpl *t)
{
	(void)job;
	(void)in_defaults;
	t->j.kind = KIND_RUN;
	t->stages = xcalloc(1, sizeof *t->stages);
	t->nstages = 1;
	spec_parse_argv(c, v, path, &t->stages[0].argv, &t->stages[0].argc);
}

const struct job_kind kind_run = {
	.name = "run",
	.id = KIND_RUN,
	.parse = run_parse,
	.plan = spec_plan_first_stage,
	.from_key = "stdin",
};

static void shell_parse(struct ctx *c, const struct cJSON *job, const struct cJSON *v,
			const char *path, bool in_defaults, struct tmpl *t)
{
	(void)job;
	(void)in_defaults;
	t->j.kind = KIND_SHELL;
	const char *s = spec_get_str(c, v, path);
	if (s)
		t->j.shell = xstrdup(s);
	t->shell_path = xstrdup(path);
}

static void shell_plan(struct jw *w, const struct spec *s, const struct job_spec *j)
{
	spec_plan_str(w, j, NULL, "shell", j->shell);
	spec_plan_first_stage(w, s, j);
}

const struct job_kind kind_shell = {
	.name = "shell",
	.id = KIND_SHELL,
	.parse = shell_parse,
	.plan = shell_plan,
	.from_key = "stdin",
};
