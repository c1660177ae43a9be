/* SPDX-License-Identifier: GPL-3.0-or-later */
/* spec-int.h - what the files of the spec loader share (spec.c,
 * spec-json.c, spec-expand.c, spec-resolve.c, spec-warn.c, kind-*.c);
 * not for the rest of piperun, which sees spec.h.  JSON values are
 * struct cJSON, opaque outside spec-json.c. */
#ifndef PIPERUN_SPEC_INT_H
#define PIPERUN_SPEC_INT_H

#include "spec.h"
#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

#define MAX_JOBS 1000000

/* A string value cJSON cut short at a \u0000 but whose bytes are data
 * (stdin.text): its token, for parse_stdin to decode whole. */
struct nul_text {
	const struct cJSON *v;
	const char *tok;
	size_t len;
};

struct ctx {
	const char *file;
	struct errlist *errs;
	struct nul_text *nul_texts;
	size_t nnul_texts, nul_texts_cap;
};

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
	bool has_foreach;
	long repeat;
	bool has_repeat;
	bool ok;
};

/* The keys that say what a job runs, and those only steps jobs have. */
extern const char *const spec_what_keys[];
extern const char *const spec_steps_job_keys[];

/* ----------------------------------------------- messages (spec-json.c) */

/* Add "piperun: FILE: PATH: what" (path NULL or "": no PATH) to c->errs. */
void spec_err(struct ctx *c, const char *path, const char *fmt, ...) PRINTF(3, 4);
/* "expected WHAT, got (a description of v)". */
void spec_expected(struct ctx *c, const char *path, const char *what,
		   const struct cJSON *v);
/* What a value is, for messages (malloc'd). */
char *spec_describe(const struct cJSON *v);
/* path.key (or path["k y"]) and path[i], malloc'd. */
char *spec_path_key(const char *path, const char *key);
char *spec_path_idx(const char *path, size_t i);
/* A spec number as text: integers as digits, else the shortest text that
 * reads back as the same double (malloc'd). */
char *spec_num_text(double d);

/* ------------------------------------------------- parsing (spec-json.c) */

/* Parse text; NULL after adding an error with line and column. */
struct cJSON *spec_parse_json(struct ctx *c, const char *text, size_t len);
/* The second read of text beside root: false after adding errors. */
bool spec_check_raw(struct ctx *c, const struct cJSON *root, const char *text, size_t len);
/* A string token's bytes, escapes decoded, NULs kept (malloc'd, *n). */
char *spec_raw_string(const char *tok, size_t len, size_t *n);
/* A value as compact JSON text, its numbers as spec_num_text writes them. */
void spec_json_print(struct buf *b, const struct cJSON *v);
void spec_check_dups(struct ctx *c, const struct cJSON *v, const char *path);
/* An error for each key of obj not in allowed (NULL-terminated). */
void spec_check_keys(struct ctx *c, const struct cJSON *obj, const char *path,
		     const char *const *allowed, const char *what);

/* Typed getters: false (NULL) after adding an "expected ..." error. */
bool spec_get_bool(struct ctx *c, const struct cJSON *v, const char *path, bool *out);
bool spec_get_long(struct ctx *c, const struct cJSON *v, const char *path,
		   long min, long max, long *out);
const char *spec_get_str(struct ctx *c, const struct cJSON *v, const char *path);
bool spec_get_duration(struct ctx *c, const struct cJSON *v, const char *path, double *out);
bool spec_get_signal(struct ctx *c, const struct cJSON *v, const char *path, int *out);
bool spec_get_size(struct ctx *c, const struct cJSON *v, const char *path, uint64_t *out);
/* An array of strings, malloc'd and NULL-terminated (*n of them). */
char **spec_get_str_array(struct ctx *c, const struct cJSON *v, const char *path,
			  bool allow_single, bool allow_numbers, size_t *n);

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

bool spec_parse_stage(struct ctx *c, const struct cJSON *v, const char *path,
		      struct tstage *st);
void spec_parse_pool(struct ctx *c, const struct cJSON *v, const char *path, struct tmpl *t);
/* host: a description (steps_describe), whose items may be "stdin". */
void spec_parse_steps(struct ctx *c, const struct cJSON *job, const struct cJSON *v,
		      const char *jpath, struct job_spec *j, bool host);
struct steps_spec *steps_spec_dup(const struct steps_spec *s);

/* ------------------------------------------- expansion (spec-expand.c) */

/* Expand every template into concrete jobs, in spec order. */
void spec_expand(struct ctx *c, struct tmpl *t, size_t nt, struct spec *s);

/* ----------------------------------------- resolution (spec-resolve.c) */

void spec_check_names(struct ctx *c, struct spec *s);
void spec_resolve_deps(struct ctx *c, struct spec *s);
void spec_check_cycles(struct ctx *c, struct spec *s);
/* Every value j's secret names have, longest first (for spec_redact). */
void spec_collect_secrets(struct job_spec *j);
/* Resolve every job's programs and environments. */
void spec_resolve_jobs(struct spec *s);

#endif
