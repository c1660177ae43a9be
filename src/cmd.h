/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd.h - the subcommand table.  Adding a subcommand is one cmd-*.c file
 * and one row in main.c's cmd_table. */
#ifndef PIPERUN_CMD_H
#define PIPERUN_CMD_H

#include <stdio.h>

struct cmd_entry {
	const char *name;
	const char *synopsis;   /* "run [OPTIONS] SPEC.json|-" */
	const char *summary;    /* one line */
	const char *help;       /* options, for `piperun help CMD` */
	int (*exec)(int argc, char **argv);
};

extern const struct cmd_entry cmd_run_entry;
extern const struct cmd_entry cmd_validate_entry;
extern const struct cmd_entry cmd_plan_entry;
extern const struct cmd_entry cmd_exec_entry;
extern const struct cmd_entry cmd_pool_entry;
/* Hidden: the host of a steps job (cmd-steps.c). */
int steps_host_main(void);

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
/* The options of a command that has only -h/--help (validate, plan;
 * cmd-validate.c): -1 when operands start at optind, else the exit
 * status to return (help printed, or a usage error). */
int cmd_help_only_opts(const struct cmd_entry *c, int argc, char **argv);

#endif
