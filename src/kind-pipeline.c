/* SPDX-License-Identifier: GPL-3.0-or-later */
/* kind-pipeline.c - pipeline jobs, spec side: a stage's object (its argv,
 * env and stderr). */
#include "config.h"
#include "spec.h"
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

bool spec_parse_stage(struct ctx *c, const struct cJSON *v, const char *path,
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
