/* SPDX-License-Identifier: GPL-3.0-or-later */
/* spec-plan.h - writing a loaded spec's jobs as `piperun plan` shows
 * them (spec-plan.c), and the pieces the kinds' plan hooks write with. */
#ifndef PIPERUN_SPEC_PLAN_H
#define PIPERUN_SPEC_PLAN_H

#include "spec.h"

struct jw;

/* One job of s as a plan object. */
void spec_plan_job(struct jw *w, const struct spec *s, const struct job_spec *j);

/* A string of job j, secrets shown as "***" (key NULL: an array item);
 * other, if set, is a second job whose secrets it may also hold. */
void spec_plan_str(struct jw *w, const struct job_spec *j, const struct job_spec *other,
		   const char *key, const char *v);
/* An environment (names and values), secret names' values as "***". */
void spec_plan_env(struct jw *w, const struct job_spec *j, const struct kv *env, size_t n);
/* An output's routing: its mode's name, or {"file", "append"}. */
void spec_plan_output(struct jw *w, const struct job_spec *j, const struct io_spec *io);
/* key: seconds, or null for 0 (none). */
void spec_plan_duration(struct jw *w, const char *key, double secs);
/* "argv", "path" and "error" of a stage. */
void spec_plan_argv(struct jw *w, const struct job_spec *j, const struct stage_spec *st);

/* The "executor" block, when the spec has one ("allocation": null
 * when the default: SLURM_JOB_ID's, else a new one). */
void spec_plan_executor(struct jw *w, const struct spec *s);

/* A kind's plan that is its first stage's argv (run, pool). */
void spec_plan_first_stage(struct jw *w, const struct spec *s, const struct job_spec *j);

#endif
