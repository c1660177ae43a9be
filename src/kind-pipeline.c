/* SPDX-License-Identifier: GPL-3.0-or-later */
/* kind-pipeline.c - pipeline jobs.  Spec side: the stages (each an argv,
 * or an object with its argv, env and stderr), and their plan.  Job side:
 * the host (`piperun __pipeline-host`) and its stdio, the stage records it
 * sends back, and the job's outcome from them (pipefail). */
#include "config.h"
#include "kind.h"
#include "jsonw.h"
#include "chain.h"
#include "job.h"
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

/* ------------------------------------------------------------ job side */

/* The pipeline host's records: whole struct chain_record units. */
static void pipeline_records(struct job *j)
{
	size_t n = j->run->resbuf.len / sizeof(struct chain_record);
	double now = now_ms(); /* the host reports each as it happens */
	for (size_t k = 0; k < n; k++) {
		struct chain_record rec;
		memcpy(&rec, j->run->resbuf.p + k * sizeof rec, sizeof rec);
		if (rec.type == CHAIN_REC_FATAL) {
			j->run->host_fatal = true;
			j->run->host_fatal_err = rec.err;
			continue;
		}
		if (rec.index < 0 || (size_t)rec.index >= j->run->nstages)
			continue;
		struct stage_result *s = &j->run->stages[rec.index];
		if (!s->pid)
			s->started_ms = now - j->env->run_t0;
		s->pid = rec.pid;
		if (rec.type == CHAIN_REC_ENDED && (rec.exit_code >= 0 || rec.signal)) {
			s->has_status = true;
			s->ended_ms = now - j->env->run_t0;
			s->exit_code = rec.exit_code;
			s->signal = rec.signal;
			s->user_ms = rec.utime_us / 1e3;
			s->sys_ms = rec.stime_us / 1e3;
			s->maxrss_kb = (long)rec.maxrss_kb;
			j->run->stages_ended++;
		}
	}
	size_t used = n * sizeof(struct chain_record);
	memmove(j->run->resbuf.p, j->run->resbuf.p + used, j->run->resbuf.len - used);
	j->run->resbuf.len -= used;
}

/* A pipeline's outcome from its host's records.  Every stage reported:
 * the pipefail rule.  Otherwise the host failed (a fatal libpipeline
 * error: the job's error) or was killed with its stages (timeout,
 * cancel: the host's own signal is the best we know). */
static void pipeline_outcome(struct job *j)
{
	if ((size_t)j->run->stages_ended == j->run->nstages) {
		int *rc = xmalloc(j->run->nstages * sizeof *rc);
		for (size_t i = 0; i < j->run->nstages; i++)
			rc[i] = stage_returncode(&j->run->stages[i]);
		j->has_rc = true;
		j->returncode = chain_returncode(rc, j->run->nstages, j->spec->pipefail);
		free(rc);
		return;
	}
	if (j->timed_out || j->cancelled) {
		j->has_rc = j->run->proc.status.has_status;
		j->returncode = stage_returncode(&j->run->proc.status);
		return;
	}
	/* the first line libpipeline (or the host) printed, if any */
	char *nl = j->run->diag.p ? strchr(j->run->diag.p, '\n') : NULL;
	if (nl)
		*nl = 0;
	const char *what = j->run->diag.len ? j->run->diag.p : "no message";
	if (!strncmp(what, "piperun: ", 9))
		what += 9;
	j->status = ST_ERROR;
	j->has_rc = false;
	free(j->error);
	if (j->run->proc.status.signal)
		j->error = xasprintf("pipeline host killed by %s (%s)", sig_name(j->run->proc.status.signal), what);
	else
		j->error = xasprintf("pipeline host failed with exit status %d: %s",
				     j->run->proc.status.exit_code, what);
}

/* A pipeline host that could not fork (or the system ran out of files):
 * like a spawn that found no headroom, the job waits for running ones and
 * starts again.  EMFILE is not here: the host's fd limit is its own and
 * other jobs ending would not raise it. */
static bool pipeline_came_short(const struct job *j, int *err)
{
	int herr = job_run_of(j)->host_fatal_err;
	*err = herr;
	return j->status != ST_ERROR && job_run_of(j)->host_fatal &&
	       (size_t)job_run_of(j)->stages_ended < job_run_of(j)->nstages && !j->timed_out && !j->cancelled &&
	       (herr == EAGAIN || herr == ENFILE || herr == ENOMEM);
}

static void stage_arrays(struct job *j)
{
	const struct job_spec *s = j->spec;
	if (!j->run->fd_stage) {
		j->run->fd_stage = xmalloc(s->nstages * sizeof *j->run->fd_stage);
		j->run->w_stage = xcalloc(s->nstages, sizeof *j->run->w_stage);
		j->run->stage_err = xcalloc(s->nstages, sizeof *j->run->stage_err);
		j->run->stage_live = xcalloc(s->nstages, sizeof *j->run->stage_live);
		for (size_t i = 0; i < s->nstages; i++)
			j->run->stage_err[i].spill_fd = -1;
	}
	for (size_t i = 0; i < s->nstages; i++)
		j->run->fd_stage[i] = -1;
}

/* A pipeline host's fds beyond 0-2 (chain.h): 3 the description, 4 the
 * results pipe, 5 the default stderr target, then one per stage that
 * routes its stderr somewhere of its own (stage_slot[i], else -1); its
 * own fd 2 is the diagnostics pipe.  Returns the number of slots, or -1
 * with errno (*desc the description's memfd, the caller's to close). */
static int pipeline_stdio(struct job *j, struct proc_stdio *io, int *stage_slot, int *desc)
{
	const struct job_spec *s = j->spec;
	enum chain_err *route = xcalloc(s->nstages, sizeof *route);
	int n = 6;
	stage_arrays(j);
	io[5] = io[2];
	io[2] = io[4] = JOB_PIPE_TO_RUNNER;
	for (size_t i = 0; i < s->nstages; i++) {
		const struct stage_spec *st = &s->stages[i];
		stage_slot[i] = -1;
		route[i] = !st->has_err ? CHAIN_ERR_JOB
			 : st->err.mode == IO_STDOUT ? CHAIN_ERR_MERGE : CHAIN_ERR_FD;
		if (route[i] != CHAIN_ERR_FD)
			continue;
		stage_slot[i] = n;
		io[n++] = job_out_slot(j, &st->err, 2, 3 + i);
	}
	*desc = chain_describe(s, route);
	free(route);
	io[3] = (struct proc_stdio){ PROC_STDIO_FD, *desc };
	return *desc < 0 ? -1 : n;
}

static char *const pipeline_host_argv[] = { "piperun", "__pipeline-host", NULL };

static const struct kind_host pipeline_host = {
	.argv = pipeline_host_argv,
	.own_env = true,
	.block_signals = true,
	.prog = "pipeline host",
	.setup = "pipeline",
	.err_slot = CHAIN_FD_JOBERR,
	.side_slot = CHAIN_FD_RESULTS,
	.fds_steady = 2,        /* the results and diagnostics pipes */
	.fds_transient = 3,     /* and the description, a pipe's other end */
	.stdio = pipeline_stdio,
	.take_side = pipeline_records,
	.came_short = pipeline_came_short,
};

const struct job_kind kind_pipeline = {
	.name = "pipeline",
	.id = KIND_PIPELINE,
	.parse = pipeline_parse,
	.plan = pipeline_plan,
	.from_key = "stdin",
	.host = &pipeline_host,
	.many_stages = true,
	.outcome = pipeline_outcome,
};
