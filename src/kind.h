/* SPDX-License-Identifier: GPL-3.0-or-later */
/* kind.h - the job-kind table: what a kind of job (run, shell,
 * pipeline, pool, steps) does differently, as one row of hooks and data
 * per kind, in the style of tmux's cmd_table.  Each kind's row lives in
 * its own file (kind-run.c: run and shell; kind-pipeline.c;
 * kind-pool.c; kind-steps.c); kind.c lists the rows.  Adding a kind is
 * one file and one row (and its KIND_ value in spec.h). */
#ifndef PIPERUN_KIND_H
#define PIPERUN_KIND_H

#include "spec.h"

#include <stdbool.h>

struct cJSON;
struct ctx;
struct job;
struct jw;
struct proc_stdio;
struct tmpl;

struct job_kind {
	const char *name;       /* the job object's key; "kind" in records */
	enum job_kind_id id;

	/* ---- spec side (the loader: spec.c, spec-expand.c, spec-resolve.c;
	 * plan: spec-plan.c) */

	/* Parse v, the value of the job's `name` key, found at path in job
	 * (or in the defaults: in_defaults), into t: the kind's own fields
	 * and t->stages; sets t->j.kind.  Errors go to c. */
	void (*parse)(struct ctx *c, const struct cJSON *job, const struct cJSON *v,
		      const char *path, bool in_defaults, struct tmpl *t);
	/* Rules across fields, once all are parsed (NULL: none). */
	void (*check)(struct ctx *c, const struct cJSON *job, struct tmpl *t);
	/* Write what plan shows of this kind: after "kind", before "env". */
	void (*plan)(struct jw *w, const struct spec *s, const struct job_spec *j);
	/* Copy from's kind-specific data into to (a copy of the whole
	 * struct, pointers still shared); free it (NULL: none). */
	void (*dup_data)(struct job_spec *to, const struct job_spec *from);
	void (*free_data)(struct job_spec *j);

	/* Job keys only this kind takes (NULL-terminated, or NULL). */
	const char *const *own_keys;
	/* Set: "stdin" is no field of this kind; the error it is. */
	const char *stdin_error;
	/* The key stdin.from is written under: "stdin", or "items". */
	const char *from_key;
	/* stages[0] is piperun itself (a subcommand): /proc/self/exe. */
	bool runs_self;
	/* Its host uses fds 3 and up: pass_fds is an error. */
	bool host_fds;

	/* ---- job side: prepare (start fds), on_output, outcome and report
	 * hooks are added by the integrator in wave 2 (from job.c, report.c
	 * and runner.c). */
};

extern const struct job_kind kind_run, kind_shell, kind_pipeline, kind_pool, kind_steps;

/* The row of a kind; the row a job object's key names, or NULL. */
const struct job_kind *kind_get(enum job_kind_id id);
const struct job_kind *kind_find(const char *name);
/* Each row in turn: i from 0 until it returns NULL. */
const struct job_kind *kind_at(size_t i);

/* ---- job side of the pipeline kind (kind-pipeline.c), for job.c.  Its
 * host (chain.c) runs the stages; the job gives it its fds, reads its
 * records (results pipe) and diagnostics, and makes the job's outcome
 * of them. */
/* The host's fds beyond 0-2, declared in io (3 the description, 4 the
 * results pipe, 5 the job's stderr, then one slot per stage with a
 * stderr of its own: stage_slot[i], else -1) and its fd 2 (the
 * diagnostics pipe); io[0..2] hold the job's stdin, stdout and stderr on
 * entry.  Returns the number of slots, or -1 with errno.  *desc (-1 or
 * the description's memfd) is the caller's to close after the spawn,
 * also on error. */
int job_pipeline_stdio(struct job *j, struct proc_stdio *io, int *stage_slot, int *desc);
/* Take the whole records in j->resbuf into the stage results. */
void job_pipeline_records(struct job *j);
/* The attempt's returncode (pipefail rule), or its error. */
void job_pipeline_outcome(struct job *j);
/* Did the host fail for lack of processes or files (the job waits and
 * starts again)? */
bool job_pipeline_came_short(const struct job *j);

/* ---- job side of the steps kind (kind-steps.c), for job.c.  Its host
 * (`piperun __steps`, steps.c) gets its description and an info pipe,
 * and writes there "P progress", "E error" and last the JSON counts. */
/* The host's fds beyond 0-2: io[3] its description, io[4] its info
 * pipe.  Returns 5, or -1 with errno.  *desc (-1 or the description's
 * memfd) is the caller's to close after the spawn, also on error. */
int job_steps_stdio(struct job *j, struct proc_stdio *io, int *desc);
/* Take the whole info lines in j->resbuf. */
void job_steps_info(struct job *j);
/* The host's exit statuses 1 and 2: the job's error. */
void job_steps_outcome(struct job *j);
/* Off the progress line (ended, or a new attempt). */
void job_steps_progress_clear(struct job *j);
/* A steps job's record: its host's counts (from report.c). */
void splice_steps(struct jw *w, const struct job *j);

/* ---- job side of the pool kind (kind-pool.c): its outcome (from
 * job.c) and its record's results (from report.c). */
void pool_outcome(struct job *j);
bool splice_pool(struct jw *w, const struct job *j);

#endif
