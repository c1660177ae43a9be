/* SPDX-License-Identifier: GPL-3.0-or-later */
/* spec.h - the job spec as the rest of piperun sees it: parsed, validated,
 * defaults applied, repeat/foreach expanded, placeholders substituted,
 * dependencies resolved to indices, programs resolved on PATH.  The
 * loader is spec.c (structure) with spec-json.c (the only file that
 * includes cJSON.h), spec-get.c, spec-foreach.c (foreach sources, their
 * values from foreach-src.c), spec-expand.c, spec-resolve.c,
 * spec-warn.c and each kind's kind-*.c (kind.h); spec-int.h is what
 * they share. */
#ifndef PIPERUN_SPEC_H
#define PIPERUN_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "errlist.h"
#include "rlimit.h"

enum job_kind_id { KIND_RUN, KIND_SHELL, KIND_PIPELINE, KIND_POOL, KIND_STEPS };
enum run_mode { MODE_ASYNC, MODE_SERIAL, MODE_THREAD };

/* Where a child's stdout/stderr goes. */
enum io_mode {
	IO_CAPTURE, /* pipe, kept in the record */
	IO_TEE,     /* pipe, kept and streamed to the runner's own fd */
	IO_INHERIT, /* the runner's own fd */
	IO_NULL,    /* /dev/null */
	IO_STDOUT,  /* stderr only: merged into stdout */
	IO_FILE,    /* a file opened by the runner */
};

struct io_spec {
	enum io_mode mode;
	char *path;
	bool append;
};

enum in_kind { IN_NULL, IN_TEXT, IN_BASE64, IN_FILE, IN_RANDOM, IN_FROM, IN_INHERIT };

struct in_spec {
	enum in_kind kind;
	char *data;      /* text / decoded base64 */
	size_t len;
	char *path;      /* file */
	uint64_t nrandom;
	bool seeded;
	uint64_t seed;
	char *from;      /* job name; resolved to from_idx */
	size_t from_idx;
};

enum encoding { ENC_AUTO, ENC_UTF8, ENC_BASE64 };

struct kv {
	char *name, *value;
};

/* A steps job (item pipeline): items flow through steps, each with its
 * own workers, joined by bounded queues (steps.h runs them). */
enum step_kind { STEP_RUN, STEP_COPROCESS, STEP_TASK };
enum items_kind { ITEMS_COUNT, ITEMS_ARRAY, ITEMS_LINES, ITEMS_STDIN, ITEMS_FROM };
/* seconds a coprocess may hold an item unanswered before it is said */
#define STALL_WARNING_DEFAULT 5.0

struct step_spec {
	char *name;
	enum step_kind kind;
	int workers;
	long queue;           /* capacity of its input queue; 0 = the job's */
	char **argv;          /* run, coprocess: NULL-terminated, {} = item */
	size_t argc;
	char *exe;            /* resolved like a job's program */
	int exe_status;       /* 0, 126, 127 */
	char *exe_error;
	bool stdin_null;      /* run: the item is not written to its stdin */
	bool pty;             /* coprocess: a pseudo-terminal, not pipes */
	long window;          /* coprocess: items written ahead of answers */
	double item_timeout;  /* seconds; < 0 = the job's */
	double stall_warning; /* coprocess: seconds an item may wait for its
			       * answer before the job's record and stderr
			       * say so (once per step); 0 = never */
	char *task;           /* task: built-in name, or "LIB.so:NAME" plugin */
	bool plugin;
	char *args;           /* task: JSON array text of fixed arguments, or NULL */
};

struct steps_spec {
	enum items_kind items;
	uint64_t count;       /* ITEMS_COUNT */
	long queue;           /* default queue capacity */
	bool ordered;
	bool stop_on_error;   /* "on_error": "stop" */
	double item_timeout;  /* seconds, 0 = none */
	int mode;             /* -1: from the run's mode; else enum run_mode */
	int signal;           /* for the host: the job's signal and kill_after */
	double kill_after;
	struct step_spec *steps;
	size_t nsteps;
	/* host only (the description): report each item sunk ("S" lines,
	 * for the journal); items sunk in an earlier session come on fd 5
	 * (steps.h) */
	bool journal_items, resume;
	char *trace_items;    /* a run's --trace: where the host traces its
				 items (trace.h), or NULL */
};

/* One program to run: a run/shell job has one, a pipeline one per stage. */
struct stage_spec {
	char **argv;          /* NULL-terminated */
	size_t argc;
	struct kv *env;       /* stage's own env over the job's */
	size_t nenv;
	struct io_spec err;   /* pipeline stages: their own stderr routing */
	bool has_err;
	/* resolution, done before anything starts */
	char *exe;            /* absolute or as given; NULL if not found */
	int exe_status;       /* 0, 126 (not executable), 127 (not found) */
	char *exe_error;      /* message when exe_status != 0 */
	char **envp;          /* final environment; NULL = the runner's */
	char **envp_owned;    /* the strings of envp that were built here */
	size_t nenvp_owned;
};

struct job_spec {
	char *name;      /* unique, after expansion */
	char *base;      /* the name as written (before #k / [value]) */
	size_t spec_index; /* position of the job object in the spec's jobs[] */
	enum job_kind_id kind;
	char *shell;     /* KIND_SHELL: the command string */
	struct stage_spec *stages; /* run/shell: 1; pipeline: >= 1 */
	size_t nstages;

	struct kv *env;
	size_t nenv;
	bool env_clear;
	char **unset;
	size_t nunset;
	char **secret;   /* names */
	size_t nsecret;
	char **secret_values; /* their values, for redaction */
	size_t nsecret_values;
	char *cwd;

	struct in_spec in;
	struct io_spec out, err;
	enum encoding encoding;
	uint64_t max_output;
	bool digest;

	double timeout;      /* seconds, 0 = none */
	int signal;
	double kill_after;
	int *expect;
	size_t nexpect;
	int retries;
	double retry_delay, retry_backoff;

	char **after;        /* as written (names or bases) */
	size_t nafter;
	size_t *deps;        /* resolved: indices into spec->jobs */
	size_t ndeps;
	bool always;
	bool pipefail;

	bool has_nice;
	int nice;
	bool has_umask;
	mode_t umask;
	struct rlimit_spec *rlimits;
	size_t nrlimits;
	int *pass_fds;
	size_t npass_fds;

	/* KIND_POOL: run as `piperun pool` (stages[0] is that command) */
	bool pool_items_given;   /* "items" in the spec: they are its stdin */
	/* KIND_STEPS: run as `piperun __steps` (stages[0]); items other than
	 * a count reach it on stdin (in) */
	struct steps_spec *steps;

	/* expansion */
	char *value;         /* foreach value, or NULL */
	size_t copy;         /* 1-based copy index, 0 for a job not expanded */
};

/* A job's kill_after when the spec gives none; exec's grace for what a
 * command leaves behind, without -k. */
#define SPEC_KILL_AFTER_DEFAULT 2.0

/* "executor": {"slurm": {...}}: how --executor slurm runs the jobs
 * (spec-executor.c; slurm.h does it). */
struct slurm_spec {
	char *partition;     /* NULL: the cluster's default */
	char *account;       /* NULL: the user's default */
	long cpus_per_job;   /* --cpus-per-task of each step (default 1) */
	long mem_mb;         /* "mem_per_job" in MiB; 0: none asked */
	char *time_limit;    /* the allocation's --time, Slurm's syntax; NULL */
	enum { SLURM_ALLOC_DEFAULT, SLURM_ALLOC_NEW, SLURM_ALLOC_JOB } alloc;
	char *alloc_job;     /* SLURM_ALLOC_JOB: the allocation's job id */
	char **extra_args;   /* given to every srun, before "--" */
	size_t nextra_args;
};

struct spec {
	char *file;          /* as given on the command line ("-" = stdin) */
	char *name;
	enum run_mode mode;
	long max_parallel;   /* 0 = as many as the limits allow */
	double timeout;
	long fail_fast;      /* 0 = off, N = stop after N jobs not ok */
	bool tag;
	char *journal;       /* "journal": FILE (--journal), or NULL */
	struct slurm_spec *slurm;  /* "executor": {"slurm"}, or NULL */
	size_t njobs;        /* jobs, after expansion and --only: spec_job() */
	struct spec_copies *copies; /* the templates they are made from */
	char **ran;          /* the foreach command sources run while it
				loaded, by JSON path ("jobs[2].foreach.command") */
	size_t nran;
	char **unrun;        /* those SPEC_LOAD_FILES left alone, likewise */
	size_t nunrun;
};


/* Read and load a spec file ("-" = stdin).  Returns NULL and fills errs
 * with every problem found. */
struct spec *spec_load(const char *file, struct errlist *errs);
/* spec_load, and the warnings spec_load_mem_warns finds added to warns
 * (NULL: none collected; spec_load is this with NULL). */
struct spec *spec_load_warns(const char *file, struct errlist *errs, struct errlist *warns);
/* Just read a spec file ("-" = stdin): its bytes (malloc'd, *len of
 * them), or NULL with the error in errs.  spec_load = this + load_mem. */
char *spec_read(const char *file, size_t *len, struct errlist *errs);
/* Load from memory (tests, fuzzing); name is used in messages. */
struct spec *spec_load_mem(const char *name, const char *text, size_t len,
			   struct errlist *errs);
/* spec_load_mem, and from the same parse (valid spec or not) the
 * warnings about a spec that may well be valid (`piperun validate`),
 * each "piperun: FILE: PATH: warning: what", added to warns: a {}
 * spliced into the script of an `sh -c` argv.  No warnings when text is
 * no JSON. */
struct spec *spec_load_mem_warns(const char *name, const char *text, size_t len,
				 struct errlist *errs, struct errlist *warns);
/* What loading may do beyond reading the spec.  SPEC_LOAD_SOURCES: read
 * the files and run the commands of foreach sources for their values
 * (run, plan).  Without it (every spec_load* above; validate, tests,
 * fuzzing) a source is checked for its shape only, nothing is read or
 * run, and its job makes no copies (but a range, which reads nothing:
 * its copies are made); names of such copies (after, stdin.from) are
 * taken on trust. */
#define SPEC_LOAD_SOURCES 1u
/* SPEC_LOAD_FILES: read the files of foreach sources but run no command
 * source: its job is left as without SPEC_LOAD_SOURCES, and its path
 * goes to unrun (plan --no-commands, shell completion). */
#define SPEC_LOAD_FILES 2u
struct spec *spec_load_flags(const char *file, unsigned flags, struct errlist *errs,
			     struct errlist *warns);
struct spec *spec_load_mem_flags(const char *name, const char *text, size_t len,
				 unsigned flags, struct errlist *errs, struct errlist *warns);
void spec_free(struct spec *s);
/* The slurm block's defaults (for --executor slurm without one). */
struct slurm_spec *spec_slurm_default(void);
void spec_slurm_free(struct slurm_spec *x);

/* The spec's job i (0 <= i < njobs, spec order after expansion and
 * --only), made from its template when first asked for and held until
 * spec_job_drop(s, i) or spec_free: a spec of a million copies holds
 * only the jobs someone holds.  Not thread-safe: the thread that loaded
 * the spec makes its jobs. */
const struct job_spec *spec_job(const struct spec *s, size_t i);
/* Is job i held (made and not dropped)? */
bool spec_job_held(const struct spec *s, size_t i);
/* Let job i go (what spec_job returned for it is freed). */
void spec_job_drop(const struct spec *s, size_t i);
/* What the runner needs of job i before it is made: its kind, whether
 * it always runs, the job whose stdout it reads, the jobs it waits for
 * (deps malloc'd, the caller frees). */
struct spec_links {
	enum job_kind_id kind;
	bool always;
	bool from;
	size_t from_idx;
	size_t *deps;
	size_t ndeps;
};
void spec_job_links(const struct spec *s, size_t i, struct spec_links *l);
/* Job i's name (malloc'd), without making the job. */
char *spec_job_name(const struct spec *s, size_t i);
/* A job ended: it may have made or removed programs.  Lookups that found
 * nothing are made again from now on (those that found a program stay
 * remembered). */
void spec_programs_changed(const struct spec *s);
/* spec_job for a look at job i: *held says whether someone held it
 * already; spec_job_unpeek then lets it go unless they did. */
const struct job_spec *spec_job_peek(const struct spec *s, size_t i, bool *held);
void spec_job_unpeek(const struct spec *s, size_t i, bool held);
/* Call fn on each job as it is made (and now on those held): what a
 * command adds to every job of the run (trace_ask_items); NULL: no more. */
void spec_on_make(const struct spec *s, void (*fn)(struct job_spec *j, size_t i, void *ctx),
		  void *ctx);
/* The spec's job objects (templates) and, for template t, a job that
 * shows what all its copies share (kind, stdio modes, flags, stages):
 * its first copy, held with the spec; NULL when none of its copies runs
 * (--only, or a foreach of no values). */
size_t spec_ntemplates(const struct spec *s);
const struct job_spec *spec_template_job(const struct spec *s, size_t t);

/* Keep only the named jobs and what they depend on (--only).  Returns -1
 * and adds an error when a name matches nothing. */
int spec_select(struct spec *s, char **names, size_t n, struct errlist *errs);

/* Replace every secret value in s by "***"; returns a new string.  Where
 * secrets overlap, the whole covered run becomes one "***". */
char *spec_redact(const struct job_spec *j, const char *s);
/* The same with the secrets of several jobs at once. */
char *spec_redact_jobs(const struct job_spec *const *jobs, size_t njobs, const char *s);

const char *spec_run_mode_name(enum run_mode m);
const char *spec_io_mode_name(enum io_mode m);
const char *spec_encoding_name(enum encoding e);
/* The run modes' names (enum-name.h): *n rows, "async", "thread",
 * "serial" in that order (the order messages name them in); static. */
struct enum_name;
const struct enum_name *spec_run_mode_table(size_t *n);

/* The bytes of the string that is text's (a JSON object's) member key,
 * escapes decoded, a \u0000 kept (malloc'd, *n of them), or NULL. */
char *spec_json_member_bytes(const char *text, size_t len, const char *key, size_t *n);
/* Write the members of the JSON object in text (but those named in
 * skip, NULL-terminated) into the object w is writing, strings redacted
 * with redact's secrets when it is set.  Returns -1 if text is not a JSON
 * object. */
struct jw;
int spec_json_splice_members(struct jw *w, const char *text, size_t len, const char *const *skip,
			const struct job_spec *redact);
/* Is text one valid JSON value? */
bool spec_json_text_valid(const char *text);

/* A steps job's description for its host (`piperun __steps`), as JSON
 * text; mode is the run's mode unless the job names its own;
 * journal_items: the host reports the items it sinks; resume: it reads
 * those of an earlier session on fd 5 (steps.h). */
char *steps_describe(const struct job_spec *j, enum run_mode mode, bool journal_items,
		     bool resume);
/* Read a description back (the host).  Returns NULL with *why. */
struct steps_spec *steps_desc_parse(const char *text, size_t len, char **why);
void steps_spec_free(struct steps_spec *s);
const char *steps_step_kind_name(enum step_kind k);

/* Substitute {} / {#} / {{}} in s, the value as it is (argv, env, cwd,
 * stdin.text, a step's argv; `shell` scripts: shell_subst in shell.h). */
char *spec_placeholder_subst(const char *s, const char *value, size_t index);
/* Look up a program like execvp would: returns a malloc'd path, or NULL
 * with *status 127 (not found) or 126 (not executable). */
char *spec_path_resolve(const char *prog, const char *path_env, const char *cwd,
		   int *status);

#endif
