/* SPDX-License-Identifier: GPL-3.0-or-later */
/* kind.h - the job-kind table: what a kind of job (run, shell,
 * pipeline, pool, steps) does differently, as one row of hooks and data
 * per kind, in the style of tmux's cmd_table.  Each kind's row lives in
 * its own file (kind-run.c: run and shell; kind-pipeline.c;
 * kind-pool.c; kind-steps.c), spec side and job side; kind.c lists the
 * rows.  Adding a kind is one file and one row (and its KIND_ value in
 * spec.h); a kind whose process is a host also has its command
 * (cmd-*.c) and the host itself (pipeline: chain.c; steps: steps.c).
 * No code outside these files asks which kind a job is: it reads the
 * row.
 *
 * Ownership on the job side: whatever a hook fills is the job's
 * (job.h).  The pipes a host's stdio hook declares (PIPE_OUT slots)
 * are closed by job.c at the attempt's end, and it frees resbuf, diag,
 * steps_info and steps_error; the stage arrays (fd_stage, w_stage,
 * stage_err, stage_live) that the pipeline's stdio hook makes once per
 * job are freed by job_free.  Hooks never close a job's fds, never end
 * an attempt and never print. */
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

/* What a kind's expand_prepare asks of each foreach value of a
 * template (shell: that it is data where the script reads it). */
struct kind_expand {
	/* Set: NULL if value may be the {} of the copies, else why
	 * (malloc'd), with arg. */
	char *(*check_value)(const char *value, const char *arg);
	const char *arg;        /* static */
};

/* A kind whose process is piperun itself in a hidden role (`piperun
 * __pipeline-host`, `piperun __steps`): it gets the job's description on
 * an fd and reports back on pipes the job reads.  job.c spawns it and
 * watches its pipes; the hooks (the kind's file) make its fds and read
 * what it sends. */
struct kind_host {
	char *const *argv;      /* run as /proc/self/exe with this argv */
	bool own_env;           /* keeps piperun's environment (the stages
				   get theirs through the description);
				   false: stages[0].envp */
	bool block_signals;     /* starts with signals blocked (it unblocks
				   those it handles) */
	const char *prog;       /* its name in spawn errors ("pipeline
				   host"); NULL: stages[0].argv[0] */
	const char *setup;      /* "SETUP set-up: why" when its own fds
				   cannot be made */
	int err_slot;           /* the job's stderr among its fds; not 2:
				   its own fd 2 is a diagnostics pipe, read
				   into job->diag */
	int side_slot;          /* its side pipe (records, info lines), read
				   into job->resbuf */
	int fds_steady;         /* fds the runner holds for it while it runs */
	int fds_transient;      /* and while it starts (job-fds.c) */
	/* Declare its fds beyond 0-2: io[0..2] hold the job's stdin, stdout
	 * and stderr on entry (it may move io[2] to err_slot);
	 * stage_slot[i] is the slot of stage i's own stderr or -1
	 * (many_stages).  Returns the number of slots, or -1 with errno.
	 * *desc (-1 or the description's memfd) is the caller's to close
	 * after the spawn, also on error. */
	int (*stdio)(struct job *j, struct proc_stdio *io, int *stage_slot, int *desc);
	/* Take the whole units (records, lines) in job->resbuf, leaving a
	 * partial one. */
	void (*take_side)(struct job *j);
	/* Did its start come short after all (it could not fork): the job
	 * waits and starts again, for lack of *err.  NULL: never. */
	bool (*came_short)(const struct job *j, int *err);
};

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
	/* Expansion (spec-expand.c), before template t's copies are made:
	 * check what the kind needs of t (errors to c; false: t makes no
	 * copies) and say in x what each foreach value must be.  NULL:
	 * nothing to check. */
	bool (*expand_prepare)(struct ctx *c, const struct tmpl *t, struct kind_expand *x);
	/* Make copy j's command (its stages, and its kind's text such as
	 * j->shell) from t, for value and index (subst: j is one of t's
	 * copies, its {} and {#} replaced).  NULL: t's stages, {} and {#}
	 * substituted in argv and env. */
	void (*expand)(const struct tmpl *t, struct job_spec *j, const char *value,
		       size_t index, bool subst);
	/* Copy from's kind-specific data into to (a copy of the whole
	 * struct, pointers still shared); free it (NULL: none). */
	void (*dup_data)(struct job_spec *to, const struct job_spec *from);
	void (*free_data)(struct job_spec *j);

	/* Job keys only this kind takes (NULL-terminated, or NULL). */
	const char *const *own_keys;
	/* Set: "stdin" is no field of this kind; the error it is. */
	const char *stdin_error;
	/* The key stdin.from is written under: "stdin", or "items"; also
	 * what its stdin file is called in errors ("items file X: ..."). */
	const char *from_key;
	/* stages[0] is piperun itself (a subcommand): /proc/self/exe. */
	bool runs_self;

	/* ---- job side (job.c, job-fds.c, report.c, runner.c) */

	/* How its process starts: NULL, the job's own command (stages[0]:
	 * exe, argv, envp); else piperun itself as that host (which uses
	 * fds 3 and up: pass_fds is an error, spec.c). */
	const struct kind_host *host;
	/* Its stages are a pipeline's many: a missing program is "stage N:
	 * ...", each stage may route its stderr its own way (a file slot
	 * 3 + i among the job's files, a capture in the stage's record),
	 * and the host reports each stage's pid and status. */
	bool many_stages;
	/* The attempt's has_rc and returncode from how its process ended
	 * (and its stages' status), or status ST_ERROR with its error.
	 * Called unless the attempt is ST_ERROR already; the status is then
	 * job_outcome()'s.  NULL: job_proc_outcome. */
	void (*outcome)(struct job *j);
	/* Its stdout is its results (pool): never relayed live, and its
	 * record takes them in: splice the captured stdout's members into w
	 * (report.c then writes the stdout members as null); false: nothing
	 * written, the usual stdout member.  NULL: an ordinary stdout. */
	bool (*splice_stdout)(struct jw *w, const struct job *j);
	/* What its record adds after "stderr" once it started (steps: the
	 * counts).  NULL: nothing. */
	void (*report_more)(struct jw *w, const struct job *j);
	/* Its host sends progress lines (job_steps_progress): the runner's
	 * progress display shows them. */
	bool progress;
};

extern const struct job_kind kind_run, kind_shell, kind_pipeline, kind_pool, kind_steps;

/* For a host kind's outcome hook (pool, steps): exit status 0 or 1
 * says every item ran, but only with what must come with it (what: the
 * pool's results document, the steps host's counts).  A task running in
 * the host's own process can end it with exit(0) before either is sent:
 * when the attempt ended by exit status 0 or 1 (not timed out, not
 * cancelled) and !arrived, the attempt is ST_ERROR with an error that
 * says so.  Returns whether it was. */
bool kind_require_results(struct job *j, bool arrived, const char *who, const char *what);

/* The row of a kind, or NULL. */
const struct job_kind *kind_get(enum job_kind_id id);
/* A kind's name. */
const char *kind_name(enum job_kind_id id);
/* Each row in turn: i from 0 until it returns NULL. */
const struct job_kind *kind_at(size_t i);

#endif
