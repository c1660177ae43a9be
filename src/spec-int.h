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

/* One concrete job from a template: copy index (1-based; 0 for a job
 * that is not expanded) with value (its foreach value, or the index as
 * text).  j owns all it holds (spec_job_free). */
void spec_instantiate(const struct tmpl *t, struct job_spec *j, char *name,
		      const char *value, size_t index);
void spec_tmpl_free(struct tmpl *t);

/* ----------------------------------------- the copies (spec-copies.c) */

/* Take the templates t[0..nt) (filled, foreach values read) into s:
 * count their copies, check each foreach value with the kind, names
 * (no two jobs of one name), resolve after and stdin.from and look for
 * cycles, all per template.  Errors go to c. */
void spec_copies_build(struct ctx *c, struct tmpl *t, size_t nt, struct spec *s);
void spec_copies_free(struct spec_copies *x);

/* ----------------------------------------- resolution (spec-resolve.c) */

/* Every value j's secret names have, longest first (for spec_redact). */
void spec_collect_secrets(struct job_spec *j);
/* Resolve a job's programs (PATH lookups remembered in rc) and
 * environments. */
struct resolve_cache;
struct resolve_cache *spec_resolve_cache_new(void);
void spec_resolve_cache_free(struct resolve_cache *rc);
/* Lookups that found nothing are forgotten (spec_programs_changed). */
void spec_resolve_cache_forget_missing(struct resolve_cache *rc);
void spec_resolve_job(struct job_spec *j, struct resolve_cache *rc);

/* ---------------------------------------- executor (spec-executor.c) */

/* The top-level "executor" object v into s->slurm. */
void spec_parse_executor(struct ctx *c, const struct cJSON *v, struct spec *s);

/* ------------------------------------------------ warnings (spec-warn.c) */

/* spec_load_mem_warns's warnings about the document root (any JSON
 * value, or NULL: none). */
void spec_warnings_tree(const char *name, const struct cJSON *root, struct errlist *warns);

#endif
