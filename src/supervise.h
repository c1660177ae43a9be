/* SPDX-License-Identifier: GPL-3.0-or-later */
/* supervise.h - one command under a deadline: the engine behind
 * `piperun exec` and `piperun timeout`.
 *
 * The command inherits piperun's stdio and environment; its tree is
 * contained like a run job's (a cgroup where one can be made, a guardian
 * either way, unless --foreground); every signal piperun passes on is
 * blocked and read from a signalfd, the command watched through its
 * pidfd, deadlines on the event loop: no signal handler anywhere (shape
 * of tini/catatonit).
 *
 * Two sets of rules, one engine (the table in supervise.c):
 *
 *   SUP_EXEC     piperun's own: the command leads a process group of its
 *                own; a timeout exits 124 whatever was needed; what the
 *                command leaves behind when it exits is stopped (its
 *                signal, then KILL); terminating signals, SIGCONT and
 *                SIGWINCH are passed on; piperun's death KILLs the tree.
 *   SUP_TIMEOUT  GNU coreutils timeout(1)'s (9.10 and later): piperun
 *                leads a process group and the command stays in it (the
 *                terminal and job control behave as with timeout(1));
 *                SIGALRM from outside times out now; coreutils' list of
 *                terminating signals is passed on, signals ignored at
 *                start are left alone; 137 (and death by SIGKILL) when
 *                KILL was needed; when the command ends on its own what it
 *                left running is left alone (moved out of the cgroup); on
 *                piperun's death the tree gets the -s signal, then KILL
 *                after -k or SPEC_KILL_AFTER_DEFAULT.  Better than
 *                coreutils: on a timeout the whole tree goes (setsid'd and
 *                double-forked descendants too), and --json.
 */
#ifndef PIPERUN_SUPERVISE_H
#define PIPERUN_SUPERVISE_H

#include <stdbool.h>

enum sup_rules { SUP_EXEC, SUP_TIMEOUT };

enum { SUP_TIMEDOUT = 124, SUP_CANCELED = 125, SUP_CANNOT_INVOKE = 126,
       SUP_ENOENT = 127 };

struct sup_opts {
	enum sup_rules rules;
	const char *who;          /* message prefix: "piperun: exec",
				     "timeout", "piperun: timeout" */
	double timeout;           /* seconds; 0: none; huge or +inf: never */
	double kill_after;        /* seconds; 0: none */
	int sig;                  /* 0 (nothing is sent) to NSIG - 1 */
	bool preserve;            /* --preserve-status */
	bool foreground;
	bool verbose;             /* say each signal sent, as timeout -v */
	const char *json;         /* --json FILE */
	const char *trace;        /* --trace FILE */
	bool closed_std[3];       /* piperun was started with fd 0, 1 or 2
				     closed (SUP_TIMEOUT: so is the
				     command's) */
	char **cmd;               /* NULL-terminated, at least one word */
};

/* Run o->cmd to its end.  Returns the exit status (124 to 127, the
 * command's); may instead die of the signal the command died of (or of
 * SIGKILL, SUP_TIMEOUT), as timeout(1) does, once everything is cleaned
 * up and the record written. */
int supervise(const struct sup_opts *o);

#endif
