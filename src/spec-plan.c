/* SPDX-License-Identifier: GPL-3.0-or-later */
/* spec-plan.c - the plan of a job as `piperun plan` prints it: a job
 * spec written as JSON, secrets shown as "***".  What each kind adds
 * comes from its row of the kind table (kind.h). */
#include "config.h"
#include "spec-plan.h"
#include "kind.h"
#include "jsonw.h"
#include "spec.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_secret(const struct job_spec *j, const char *name)
{
	for (size_t i = 0; i < j->nsecret; i++)
		if (!strcmp(j->secret[i], name))
			return true;
	return false;
}

/* A string of job j, secrets shown as "***" (key NULL: an array item);
 * other, if set, is a second job whose secrets it may also hold. */
void spec_plan_str(struct jw *w, const struct job_spec *j, const struct job_spec *other,
		  const char *key, const char *v)
{
	const struct job_spec *both[] = { j, other };
	char *r = spec_redact_jobs(both, other ? 2 : 1, v);
	if (key)
		jw_kstr(w, key, r);
	else
		jw_str(w, r);
	free(r);
}

void spec_plan_env(struct jw *w, const struct job_spec *j, const struct kv *env,
		     size_t n)
{
	jw_obj(w, false);
	for (size_t i = 0; i < n; i++) {
		if (is_secret(j, env[i].name)) {
			jw_kstr(w, env[i].name, "***");
		} else {
			spec_plan_str(w, j, NULL, env[i].name, env[i].value);
		}
	}
	jw_obj_end(w);
}

void spec_plan_output(struct jw *w, const struct job_spec *j, const struct io_spec *io)
{
	if (io->mode == IO_FILE) {
		jw_obj(w, true);
		spec_plan_str(w, j, NULL, "file", io->path);
		jw_kbool(w, "append", io->append);
		jw_obj_end(w);
	} else {
		jw_str(w, spec_io_mode_name(io->mode));
	}
}

void spec_plan_duration(struct jw *w, const char *k, double secs)
{
	jw_key(w, k);
	if (secs > 0)
		jw_num(w, secs);
	else
		jw_null(w);
}

void spec_plan_first_stage(struct jw *w, const struct spec *s, const struct job_spec *j)
{
	(void)s;
	spec_plan_argv(w, j, &j->stages[0]);
}

void spec_plan_argv(struct jw *w, const struct job_spec *j, const struct stage_spec *st)
{
	jw_key(w, "argv");
	jw_arr(w, true);
	for (size_t i = 0; i < st->argc; i++)
		spec_plan_str(w, j, NULL, NULL, st->argv[i]);
	jw_arr_end(w);
	spec_plan_str(w, j, NULL, "path", st->exe);
	spec_plan_str(w, j, NULL, "error", st->exe_error);
}

static char *redact_piece(const char *piece, void *ctx)
{
	return spec_redact(ctx, piece);
}

/* Job i's name where j names it (its secrets and j's hidden). */
static void plan_job_name(struct jw *w, const struct job_spec *j, const struct spec *s,
			  size_t i, const char *key)
{
	bool held;
	const struct job_spec *o = spec_job_peek(s, i, &held);
	spec_plan_str(w, j, o, key, o->name);
	spec_job_unpeek(s, i, held);
}

static void plan_stdin(struct jw *w, const struct spec *s, const struct job_spec *j)
{
	const struct in_spec *in = &j->in;
	jw_key(w, "stdin");
	switch (in->kind) {
	case IN_NULL:
		jw_null(w);
		return;
	case IN_INHERIT:
		jw_str(w, "inherit");
		return;
	default:
		break;
	}
	jw_obj(w, true);
	switch (in->kind) {
	case IN_TEXT: {
		/* it may hold NUL bytes (\u0000): redact the pieces between */
		size_t n;
		char *t = map_pieces(in->data, in->len, redact_piece, (void *)j, &n);
		jw_key(w, "text");
		jw_strn(w, t, n);
		free(t);
		break;
	}
	case IN_BASE64:
		jw_key(w, "base64");
		jw_b64_open(w);
		jw_b64_feed(w, in->data, in->len);
		jw_b64_close(w);
		break;
	case IN_FILE:
		spec_plan_str(w, j, NULL, "file", in->path);
		break;
	case IN_RANDOM:
		jw_kint(w, "random", (int64_t)in->nrandom);
		if (in->seeded)
			jw_kint(w, "seed", (int64_t)in->seed);
		break;
	case IN_FROM:
		plan_job_name(w, j, s, in->from_idx, "from");
		break;
	default:
		break;
	}
	jw_obj_end(w);
}

void spec_plan_job(struct jw *w, const struct spec *s, const struct job_spec *j)
{
	jw_obj(w, false);
	spec_plan_str(w, j, NULL, "name", j->name);
	spec_plan_str(w, j, NULL, "base", j->base);
	jw_key(w, "copy");
	if (j->copy)
		jw_int(w, (int64_t)j->copy);
	else
		jw_null(w);
	spec_plan_str(w, j, NULL, "value", j->value);
	jw_kstr(w, "kind", kind_name(j->kind));
	kind_get(j->kind)->plan(w, s, j);
	jw_key(w, "env");
	jw_obj(w, false);
	jw_kbool(w, "clear", j->env_clear);
	jw_key(w, "set");
	spec_plan_env(w, j, j->env, j->nenv);
	jw_key(w, "unset");
	jw_arr(w, true);
	for (size_t i = 0; i < j->nunset; i++)
		jw_str(w, j->unset[i]);
	jw_arr_end(w);
	jw_key(w, "secret");
	jw_arr(w, true);
	for (size_t i = 0; i < j->nsecret; i++)
		jw_str(w, j->secret[i]);
	jw_arr_end(w);
	jw_obj_end(w);
	spec_plan_str(w, j, NULL, "cwd", j->cwd);
	plan_stdin(w, s, j);
	jw_key(w, "stdout");
	spec_plan_output(w, j, &j->out);
	jw_key(w, "stderr");
	spec_plan_output(w, j, &j->err);
	jw_kstr(w, "encoding", spec_encoding_name(j->encoding));
	jw_kint(w, "max_output", (int64_t)j->max_output);
	jw_kbool(w, "digest", j->digest);
	spec_plan_duration(w, "timeout", j->timeout);
	jw_kstr(w, "signal", sig_name(j->signal));
	spec_plan_duration(w, "kill_after", j->kill_after);
	jw_key(w, "expect");
	jw_arr(w, true);
	if (!j->nexpect)
		jw_int(w, 0);
	for (size_t i = 0; i < j->nexpect; i++)
		jw_int(w, j->expect[i]);
	jw_arr_end(w);
	jw_kint(w, "retries", j->retries);
	spec_plan_duration(w, "retry_delay", j->retry_delay);
	jw_knum(w, "retry_backoff", j->retry_backoff);
	jw_key(w, "after");
	jw_arr(w, true);
	for (size_t i = 0; i < j->ndeps; i++)
		plan_job_name(w, j, s, j->deps[i], NULL);
	jw_arr_end(w);
	jw_kbool(w, "always", j->always);
	jw_key(w, "nice");
	if (j->has_nice)
		jw_int(w, j->nice);
	else
		jw_null(w);
	jw_key(w, "umask");
	if (j->has_umask) {
		char m[8];
		snprintf(m, sizeof m, "%03o", (unsigned)j->umask);
		jw_str(w, m);
	} else {
		jw_null(w);
	}
	jw_key(w, "rlimits");
	jw_obj(w, true);
	for (size_t i = 0; i < j->nrlimits; i++) {
		if (j->rlimits[i].value == (uint64_t)-1)
			jw_kstr(w, j->rlimits[i].name, "unlimited");
		else
			jw_kint(w, j->rlimits[i].name, (int64_t)j->rlimits[i].value);
	}
	jw_obj_end(w);
	jw_key(w, "pass_fds");
	jw_arr(w, true);
	for (size_t i = 0; i < j->npass_fds; i++)
		jw_int(w, j->pass_fds[i]);
	jw_arr_end(w);
	jw_obj_end(w);
}

