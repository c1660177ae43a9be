/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd.h - the subcommand table.  Adding a subcommand is one cmd-*.c file
 * and one row in main.c's cmd_table. */
#ifndef PIPERUN_CMD_H
#define PIPERUN_CMD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "enum-name.h"

/* cmd_entry.flags */
enum {
	/* A host that piperun starts itself (`piperun __steps`): not listed
	 * by usage or help, not found by `piperun help`, and run only when
	 * its name is the one argument. */
	CMD_HIDDEN = 1 << 0,
	/* Runs before piperun's process-wide set-up (std fds, spawn_init,
	 * the SHA-256 choice): its children inherit the process as started. */
	CMD_BEFORE_SETUP = 1 << 1,
	/* A hidden host that takes arguments after its name (the others run
	 * only as the one argument). */
	CMD_ARGS = 1 << 2,
};

struct cmd_entry {
	const char *name;
	const char *synopsis;   /* "run [OPTIONS] SPEC.json|-" */
	const char *summary;    /* one line */
	const char *help;       /* options, for `piperun help CMD` */
	int (*exec)(int argc, char **argv);
	unsigned flags;         /* CMD_* */
	int stdout_fail;        /* the status when what went to stdout
				   (help, version) did not get there; 0:
				   EXIT_USAGE (exec and timeout: 125) */
};

extern const struct cmd_entry cmd_run_entry;
extern const struct cmd_entry cmd_validate_entry;
extern const struct cmd_entry cmd_plan_entry;
extern const struct cmd_entry cmd_journal_entry;
extern const struct cmd_entry cmd_show_entry;
extern const struct cmd_entry cmd_schema_entry;
extern const struct cmd_entry cmd_exec_entry;
extern const struct cmd_entry cmd_pool_entry;
extern const struct cmd_entry cmd_timeout_entry;
extern const struct cmd_entry cmd_timeline_entry;
/* `piperun timeout ARGS` (as_timeout false), or piperun run under the
 * name `timeout` (true, argv[0] that name, as typed, is the messages'
 * prefix as coreutils' program_name). */
int cmd_timeout_main(int argc, char **argv, bool as_timeout);
/* piperun was started with fd 0, 1 or 2 closed (main.c parks /dev/null
 * there for its own sake). */
extern bool cmd_std_closed[3];
/* Hidden hosts: of a steps job (cmd-steps.c), of a pipeline job
 * (cmd-pipeline-host.c, around chain.h's chain_host_main). */
extern const struct cmd_entry cmd_steps_host_entry;
extern const struct cmd_entry cmd_pipeline_host_entry;
extern const struct cmd_entry cmd_step_host_entry;

/* Exit statuses (CONTRACT §2); see the table at the top of main.c. */
enum {
	EXIT_OK = 0,
	EXIT_JOBS_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_RUNNER = 3,
};

/* Print "usage: piperun SYNOPSIS" and the help hint to f. */
void cmd_usage(FILE *f, const struct cmd_entry *c);
/* For option errors: message + usage on stderr; returns EXIT_USAGE. */
int cmd_bad_usage(const struct cmd_entry *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print help for c on stdout. */
void cmd_help(const struct cmd_entry *c);

/* The getopt_long answers every command handles alike (its optstring
 * starts with ':'): 'h' prints the help (returns EXIT_OK); ':' is a
 * missing value, anything else an unknown option (message and usage on
 * stderr; returns EXIT_USAGE). */
int cmd_opt_common(const struct cmd_entry *c, int opt, char **argv);
/* Options of a command whose only option is -h/--help: returns -1 when
 * the command goes on (optind at its first operand), else its exit
 * status (help printed, or an option error said). */
int cmd_opts_help_only(const struct cmd_entry *c, int argc, char **argv);

/* arg named in the n rows of t (an option that takes a word from a
 * fixed list)?  Sets *value, returns 0.  Else says "piperun: CMD: OPT:
 * expected a, b or c, got "arg"" (the names in t's row order) and the
 * usage on stderr and returns -1 (the command returns EXIT_USAGE). */
int cmd_choose(const struct cmd_entry *c, const char *opt, const struct enum_name *t, size_t n,
	       const char *arg, int *value);
/* cmd_choose over a whole static table t. */
#define CMD_CHOOSE(c, opt, t, arg, vp) \
	cmd_choose((c), (opt), (t), sizeof(t) / sizeof((t)[0]), (arg), (vp))
/* arg an integer from lo to hi?  Sets *value, returns 0.  Else says
 * "piperun: CMD: OPT: expected an integer from LO to HI[NOTE], got "arg""
 * and the usage on stderr and returns -1 (the command returns
 * EXIT_USAGE).  note is "" or a remark such as " (0: no limit)". */
int cmd_int_range(const struct cmd_entry *c, const char *opt, const char *arg, int64_t lo,
		  int64_t hi, const char *note, int64_t *value);

/* Options that take one value may be given once: the getopt answer
 * opt (a byte) seen before?  The first time marks it in seen (zeroed by
 * the caller, one flag per byte) and returns 0; again, says "piperun:
 * CMD: NAME given twice (it takes one value)" and the usage on stderr
 * and returns -1 (the command returns EXIT_USAGE), rather than keep the
 * last silently. */
int cmd_once(const struct cmd_entry *c, bool seen[256], int opt, const char *name);

/* arg a duration (util.h's dur_parse)?  Sets *secs, returns 0.  Else
 * says "piperun: CMD: OPT: expected a duration like 1.5s, got "arg"" (or
 * the limit it passed) and the usage on stderr and returns -1. */
int cmd_duration(const struct cmd_entry *c, const char *opt, const char *arg, double *secs);

struct fd_sink;
struct errlist;
/* A jsonw sink on stdout (fd 1) for a command's results; the caller
 * free()s it (after cmd_flush_stdout). */
struct fd_sink *cmd_stdout_sink(void);
/* Flush out at the end of a command: returns rc when all got there.  A
 * reader that went away ends piperun by SIGPIPE, as any filter; another
 * failure is said ("piperun: CMD: writing to stdout: WHY") and returns
 * EXIT_RUNNER.  out stays the caller's. */
int cmd_flush_stdout(const struct cmd_entry *c, struct fd_sink *out, int rc);
/* A spec that did not load: print its errors (stderr), free them,
 * return EXIT_USAGE. */
int cmd_spec_errors(struct errlist *errs);
/* A terminating signal pending while the caller kept it blocked (a
 * foreach command source stopped by it while the spec loaded): die of
 * it, as the run would.  Returns when none is pending. */
void cmd_die_if_interrupted(void);

#endif
