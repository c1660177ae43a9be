/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-exec.c - `piperun exec`: run one command like coreutils timeout(1),
 * with its exit statuses, and contain its whole tree like a run job
 * (the engine is supervise.c, with SUP_EXEC's rules).
 *
 * Differences from coreutils, deliberate: a timeout always exits 124,
 * also when KILL was needed or -s KILL was asked for (coreutils says 137
 * there, which a script cannot tell from a crash); the command runs in a
 * process group and a cgroup of its own, a guardian kills its tree if
 * piperun dies, and what it leaves behind when it exits is stopped (its
 * signal, then KILL after -k or a run job's default kill_after) - except
 * with --foreground, where, as with coreutils, its children are left
 * alone.  `piperun timeout` (cmd-timeout.c) is the coreutils-compatible
 * one. */
#include "config.h"
#include "cmd.h"
#include "cu-args.h"
#include "supervise.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* timeout(1)'s duration grammar (1.5, 2m, 1d, 1e-3, 0x1p-3; huge
 * values saturate), and piperun's own ms and us suffixes. */
static int exec_duration(const struct cmd_entry *c, const char *opt, const char *arg,
			 double *secs)
{
	if (cu_duration(arg, secs) == 0)
		return 0;
	return cmd_duration(c, opt, arg, secs);
}

/* ------------------------------------------------------------- parse */

/* Returns -1 to go on, or the exit status (help, usage errors). */
static int exec_parse(int argc, char **argv, struct sup_opts *o)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "kill-after", required_argument, NULL, 'k' },
		{ "signal", required_argument, NULL, 's' },
		{ "preserve-status", no_argument, NULL, 'p' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "json", required_argument, NULL, 'J' },
		{ "trace", required_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd_entry *self = &cmd_exec_entry;
	int c;
	*o = (struct sup_opts){ .rules = SUP_EXEC, .who = "piperun: exec", .sig = SIGTERM };
	optind = 1;
	opterr = 0;
	/* '+': options end at the command, as for timeout(1) */
	while ((c = getopt_long(argc, argv, "+:t:k:s:vh", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (exec_duration(self, "-t/--timeout", optarg, &o->timeout) < 0)
				return SUP_CANCELED;
			break;
		case 'k':
			if (exec_duration(self, "-k/--kill-after", optarg, &o->kill_after) < 0)
				return SUP_CANCELED;
			break;
		case 's':
			o->sig = cu_signal(optarg);
			if (o->sig < 0)
				return cmd_bad_usage(self, "-s/--signal: expected a signal like TERM or a number from 0 to %d, got \"%s\"", NSIG - 1, optarg), SUP_CANCELED;
			break;
		case 'p':
			o->preserve = true;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'J':
			o->json = optarg;
			break;
		case 'X':
			o->trace = optarg;
			break;
		default: {
			/* help, or a usage error: timeout(1)'s 125 */
			int r = cmd_opt_common(self, c, argv);
			return r == EXIT_OK ? r : SUP_CANCELED;
		}
		}
	}
	if (optind >= argc)
		return cmd_bad_usage(self, "expected a command to run"), SUP_CANCELED;
	o->cmd = argv + optind;
	return -1;
}

/* --------------------------------------------------------------- run */

static int cmd_exec(int argc, char **argv)
{
	struct sup_opts o;
	int rc = exec_parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	/* a closed stdout is parked read-only (main.c), but opening it by
	 * name would open /dev/null anew for writing: the record would go
	 * nowhere without a word */
	if (o.json && cmd_std_closed[1] &&
	    (!strcmp(o.json, "/dev/stdout") || !strcmp(o.json, "/dev/fd/1") ||
	     !strcmp(o.json, "/proc/self/fd/1"))) {
		err_line("piperun: exec: --json %s: %s", o.json, strerror(EBADF));
		return SUP_CANCELED;
	}
	return supervise(&o);
}

const struct cmd_entry cmd_exec_entry = {
	.name = "exec",
	.synopsis = "exec [OPTIONS] [--] CMD [ARG]...",
	.summary = "run one command with a time limit, like timeout(1)",
	.help =
	"options:\n"
	"  -t, --timeout DUR      send the signal after DUR (\"10\", \"1.5s\", \"2m\",\n"
	"                         \"1d\", \"500ms\": timeout(1)'s grammar and ms, us)\n"
	"  -k, --kill-after DUR   then SIGKILL after DUR more if still running\n"
	"  -s, --signal SIG       the signal for the timeout (default TERM; 0: none,\n"
	"                         only the KILL after -k)\n"
	"  -v, --verbose          say on stderr each signal sent to the command\n"
	"      --preserve-status  exit with the command's status even on timeout\n"
	"      --foreground       keep the command in piperun's process group (it\n"
	"                         can use the terminal; its children are not\n"
	"                         signalled on timeout)\n"
	"      --json FILE        write the command's record (as in run results)\n"
	"      --trace FILE       write a trace (Chrome Trace Event Format)\n"
	"  -h, --help             show this help\n"
	"\n"
	"The command runs in a process group (and a cgroup, where possible) of its\n"
	"own; a timeout signals all of it, then SIGCONT.  What it leaves behind when\n"
	"it exits gets the signal too, then SIGKILL after -k (default 2s).  Every\n"
	"terminating signal sent to piperun (but those ignored at start), SIGCONT\n"
	"and SIGWINCH are passed on to it.  stdio is inherited.\n"
	"\n"
	"exit status: the command's; 124 if it timed out (also when KILL was\n"
	"needed, unlike coreutils' 137), 125 if piperun itself failed (usage\n"
	"errors too), 126 found but not executable, 127 not found, 128+N killed\n"
	"by signal N (piperun then dies of N itself when that is safe).\n",
	.exec = cmd_exec,
	.stdout_fail = 125,
};
