/* SPDX-License-Identifier: GPL-3.0-or-later */
/* spec-int.h - what the files of the spec loader share (spec.c,
 * spec-json.c, spec-foreach.c, spec-expand.c, spec-resolve.c,
 * spec-warn.c, kind-*.c);
 * not for the rest of piperun, which sees spec.h.  JSON comes through
 * spec-json.h. */
#ifndef PIPERUN_SPEC_INT_H
#define PIPERUN_SPEC_INT_H

#include "spec.h"
#include "spec-json.h"
#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_JOBS 1000000

/* ------------------------------------------------------- job templates */

/* An argv item before expansion; raw items came from base64 and are
 * never touched by placeholder substitution. */
struct targ {
	char *s;
	bool raw;
};

struct tstage {
	struct targ *argv;
	size_t argc;
	struct kv *env;
	size_t nenv;
	struct io_spec err;
	bool has_err;
};

struct tmpl {
	struct job_spec j;   /* fields that expansion copies as they are */
	char *path;          /* "jobs[i]" */
	char *shell_path;    /* where shell and foreach came from (the job */
	char *foreach_path;  /* or defaults), for expansion's errors */
	struct tstage *stages;
	size_t nstages;
	char **foreach;
	size_t nforeach;
	struct fsrc *src;    /* foreach is a source (its values read into
				foreach by spec_foreach_fill), or NULL */
	bool has_foreach;
	long repeat;
	bool has_repeat;
};

/* --------------------------------------------------- structure (spec.c) */

void spec_strv_free(char **v, size_t n);
char **spec_strv_dup(char *const *v, size_t n);
bool spec_parse_argv(struct ctx *c, const struct cJSON *v, const char *path,
		     struct targ **out, size_t *n);
bool spec_parse_env(struct ctx *c, const struct cJSON *v, const char *path,
		    struct kv **env, size_t *n, size_t *cap);
bool spec_parse_output(struct ctx *c, const struct cJSON *v, const char *path,
		       bool is_stderr, struct io_spec *out);
void spec_job_free(struct job_spec *j);

/* -------------------------------------------------- kinds (kind-*.c) */

/* Each kind's parsing is its row's parse hook (kind.h). */

/* -------------------------------------- foreach sources (spec-foreach.c) */

struct fsrc;
/* The foreach object v at path: a source (foreach-src.h), or NULL after
 * errors about its shape (nothing is read or run). */
struct fsrc *spec_foreach_parse(struct ctx *c, const struct cJSON *v, const char *path);
void spec_foreach_free(struct fsrc *s);
/* Read the values of every template's source into its foreach (errors
 * at the source's path); with c->sources unset only a range's, the
 * others' templates noted in c->deferred (they make no copies). */
void spec_foreach_fill(struct ctx *c, struct tmpl *t, size_t nt);
/* Is name that of a copy of a template whose values were not read (its
 * base, or base[...])? */
bool spec_foreach_deferred(const struct ctx *c, const char *name);

/* ------------------------------------------- expansion (spec-expand.c) */

/* Expand every template into concrete jobs, in spec order. */
void spec_expand(struct ctx *c, struct tmpl *t, size_t nt, struct spec *s);

/* ---------------------------------------------- names (spec-names.c) */

/* s's jobs by name, built once in O(n) and looked up in O(1): what every
 * lookup of a job by name while a spec loads goes through.  It reads
 * s->jobs as they are when it is made: make a new one after jobs change. */
struct spec_names;
struct spec_names *spec_names_new(const struct spec *s);
void spec_names_free(struct spec_names *x);
/* The index of the (first) job of that exact name, or SIZE_MAX. */
size_t spec_names_find(const struct spec_names *x, const char *name);
/* Indices of the jobs `name` refers to (malloc'd, *n of them, NULL when
 * none): the job of that exact name, else every copy of a base name, in
 * spec order. */
size_t *spec_names_lookup(const struct spec_names *x, const char *name, size_t *n);

/* ----------------------------------------- resolution (spec-resolve.c) */

void spec_check_names(struct ctx *c, struct spec *s);
void spec_resolve_deps(struct ctx *c, struct spec *s);
void spec_check_cycles(struct ctx *c, struct spec *s);
/* Every value j's secret names have, longest first (for spec_redact). */
void spec_collect_secrets(struct job_spec *j);
/* Resolve every job's programs and environments. */
void spec_resolve_jobs(struct spec *s);

/* ---------------------------------------- executor (spec-executor.c) */

/* The top-level "executor" object v into s->slurm. */
void spec_parse_executor(struct ctx *c, const struct cJSON *v, struct spec *s);

/* ------------------------------------------------ warnings (spec-warn.c) */

/* spec_load_mem_warns's warnings about the document root (any JSON
 * value, or NULL: none). */
void spec_warnings_tree(const char *name, const struct cJSON *root, struct errlist *warns);

#endif
