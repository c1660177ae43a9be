/* SPDX-License-Identifier: GPL-3.0-or-later */
/* kind-run.c - run and shell jobs, spec side: a "run" argv, or a
 * "shell" script that /bin/sh -c runs (its argv is made per copy at
 * expansion, shell_expand, where the script's {} becomes a reference
 * to the value, shell.c). */
#include "config.h"
#include "kind.h"
#include "jsonw.h"
#include "spec-int.h"
#include "spec-plan.h"
#include "shell.h"
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

/* A foreach template's script must have a place for the value (its {}
 * a reference, passed as $1; checked once), and each value must be data
 * there (at its first copy). */
static bool shell_expand_prepare(struct ctx *c, const struct tmpl *t, struct kind_expand *x)
{
	if (!t->j.shell || !t->has_foreach)
		return true;
	struct shell_script sc;
	char *why;
	if (shell_subst(t->j.shell, NULL, 1, &sc, &why) < 0) {
		spec_err(c, t->shell_path, "%s", why);
		free(why);
		return false;
	}
	if (sc.takes_value) {
		x->check_value = shell_value_check;
		x->arg = sc.arith;
	}
	free(sc.script);
	return true;
}

/* A copy's script, and its argv: /bin/sh -c SCRIPT. */
static void shell_expand(const struct tmpl *t, struct job_spec *j, const char *value,
			 size_t index, bool subst)
{
	const struct job_spec *s = &t->j;
	bool pass_value = false;
	j->nstages = 0;
	j->stages = NULL;
	if (!s->shell)
		return;
	j->shell = !subst ? xstrdup(s->shell) : NULL;
	if (subst) {
		/* a foreach value never becomes script text: sh gets it as
		 * $1; repeat's {} is the copy index, an integer, as text */
		struct shell_script sc;
		char *why;
		if (shell_subst(s->shell, t->has_foreach ? NULL : value, index, &sc, &why) == 0) {
			j->shell = sc.script;
			pass_value = sc.takes_value;
		} else {        /* spec_expand() reported it and made no copies */
			free(why);
			j->shell = xstrdup(s->shell);
		}
	}
	j->nstages = 1;
	j->stages = xcalloc(1, sizeof *j->stages);
	j->stages[0].argc = pass_value ? 5 : 3;
	j->stages[0].argv = xcalloc(6, sizeof(char *));
	j->stages[0].argv[0] = xstrdup("/bin/sh");
	j->stages[0].argv[1] = xstrdup("-c");
	j->stages[0].argv[2] = xstrdup(j->shell);
	if (pass_value) {       /* $0 as without a value, $1 the value */
		j->stages[0].argv[3] = xstrdup("/bin/sh");
		j->stages[0].argv[4] = xstrdup(value);
	}
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
	.expand_prepare = shell_expand_prepare,
	.expand = shell_expand,
	.from_key = "stdin",
};
