/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-timeout.c - `piperun timeout`, and piperun run under the name
 * `timeout`: a drop-in for GNU coreutils timeout(1) (9.10 and later):
 * its syntax, options, messages and exit statuses, with the engine of
 * supervise.c under SUP_TIMEOUT's rules.  What is better than coreutils
 * (the whole tree goes on a timeout and on piperun's death; --json) is
 * listed in supervise.h and piperun(1), TIMEOUT. */
#include "config.h"
#include "cmd.h"
#include "cu-args.h"
#include "supervise.h"
#include "util.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How we were called: the names in messages. */
struct timeout_name {
	const char *who;          /* "timeout", "piperun: timeout" */
	const char *prog;         /* "timeout", "piperun timeout" */
};

static void usage_text(const struct timeout_name *n)
{
	printf("Usage: %s [OPTION]... DURATION COMMAND [ARG]...\n"
	       "Start COMMAND, and kill it if still running after DURATION.\n"
	       "\n"
	       "Mandatory arguments to long options are mandatory for short options too.\n"
	       "  -f, --foreground\n"
	       "         when not running timeout directly from a shell prompt,\n"
	       "         allow COMMAND to read from the TTY and get TTY signals;\n"
	       "         in this mode, children of COMMAND will not be timed out\n"
	       "  -k, --kill-after=DURATION\n"
	       "         also send a KILL signal if COMMAND is still running\n"
	       "         this long after the initial signal was sent\n"
	       "  -p, --preserve-status\n"
	       "         exit with the same status as COMMAND,\n"
	       "         even when the command times out\n"
	       "  -s, --signal=SIGNAL\n"
	       "         specify the signal to be sent on timeout;\n"
	       "         SIGNAL may be a name like 'HUP' or a number;\n"
	       "         see 'kill -l' for a list of signals\n"
	       "  -v, --verbose\n"
	       "         diagnose to standard error any signal sent upon timeout\n"
	       "      --json=FILE\n"
	       "         write the command's record (as piperun run's results) to FILE\n"
	       "      --trace=FILE\n"
	       "         write a trace of the command (Chrome Trace Event Format) to FILE\n"
	       "      --help        display this help and exit\n"
	       "      --version     output version information and exit\n"
	       "\n"
	       "DURATION is a floating point number with an optional suffix:\n"
	       "'s' for seconds (the default), 'm' for minutes, 'h' for hours or 'd' for days.\n"
	       "A duration of 0 disables the associated timeout.\n"
	       "\n"
	       "Upon timeout, send the TERM signal to COMMAND, if no other SIGNAL specified.\n"
	       "The TERM signal kills any process that does not block or catch that signal.\n"
	       "It may be necessary to use the KILL signal, since this signal can't be caught.\n"
	       "\n"
	       "Unlike coreutils' timeout, on a timeout and when timeout itself dies, the\n"
	       "whole tree of COMMAND goes (its setsid'd and double-forked descendants too,\n"
	       "in a cgroup where one can be made), not only its process group.\n"
	       "\n"
	       "Exit status:\n"
	       "  124  if COMMAND times out, and --preserve-status is not specified\n"
	       "  125  if the timeout command itself fails\n"
	       "  126  if COMMAND is found but cannot be invoked\n"
	       "  127  if COMMAND cannot be found\n"
	       "  137  if COMMAND (or timeout itself) is sent the KILL (9) signal (128+9)\n"
	       "  -    the exit status of COMMAND otherwise\n"
	       "\n"
	       "This is piperun's timeout; see piperun(1), TIMEOUT.\n", n->prog);
}

static void version_text(void)
{
	printf("timeout (piperun) %s\n"
	       "Copyright (C) 2026 the piperun developers.\n"
	       "License GPLv3+: GNU GPL version 3 or later <https://gnu.org/licenses/gpl.html>.\n"
	       "This is free software: you are free to change and redistribute it.\n"
	       "There is NO WARRANTY, to the extent permitted by law.\n", PACKAGE_VERSION);
}

/* A usage error, as coreutils says it: the message (if any), then the
 * hint.  Returns 125. */
static int bad_usage(const struct timeout_name *n, const char *fmt, ...) PRINTF(2, 3);
static int bad_usage(const struct timeout_name *n, const char *fmt, ...)
{
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		char *m = xvasprintf(fmt, ap);
		va_end(ap);
		err_line("%s: %s", n->who, m);
		free(m);
	}
	err_line("Try '%s --help' for more information.", n->prog);
	return SUP_CANCELED;
}

/* The long option "--NAME[=...]" stands for: the one it spells or
 * abbreviates, or NULL; *n is how many it abbreviates (0: none, 2 or
 * more: ambiguous, with their names in *poss, malloc'd). */
static const struct option *long_named(const char *arg, const struct option *opts, int *n,
				       char **poss)
{
	size_t len = strcspn(arg + 2, "=");
	const struct option *found = NULL;
	struct buf b = { 0 };
	*n = 0;
	for (const struct option *o = opts; o->name; o++)
		if (!strncmp(o->name, arg + 2, len)) {
			if (o->name[len] == 0) {
				*n = 1;
				found = o;
				break;
			}
			buf_printf(&b, "%s'--%s'", (*n)++ ? " " : "", o->name);
			found = o;
		}
	if (*n > 1) {
		*poss = buf_detach(&b);
		return NULL;
	}
	*poss = NULL;
	buf_free(&b);
	return *n == 1 ? found : NULL;
}

/* getopt's complaint, in glibc getopt's words (opterr is off: the
 * prefix is ours). */
static int option_error(const struct timeout_name *n, int c, char **argv,
			const struct option *opts)
{
	const char *arg = argv[optind - 1];
	if (strncmp(arg, "--", 2)) {
		if (c == ':')
			return bad_usage(n, "option requires an argument -- '%c'", optopt);
		return bad_usage(n, "invalid option -- '%c'", optopt);
	}
	int many;
	char *poss;
	const struct option *o = long_named(arg, opts, &many, &poss);
	if (poss) {
		int rc = bad_usage(n, "option '%.*s' is ambiguous; possibilities: %s",
				   (int)strcspn(arg, "="), arg, poss);
		free(poss);
		return rc;
	}
	if (o && c == ':')
		return bad_usage(n, "option '--%s' requires an argument", o->name);
	if (o && o->has_arg == no_argument && strchr(arg, '='))
		return bad_usage(n, "option '--%s' doesn't allow an argument", o->name);
	return bad_usage(n, "unrecognized option '%s'", arg);
}

static int duration_arg(const struct timeout_name *n, const char *arg, double *secs)
{
	if (cu_duration(arg, secs) == 0)
		return 0;
	char *q = cu_quote(arg);
	bad_usage(n, "invalid time interval %s", q);
	free(q);
	return -1;
}

enum { OPT_HELP = 256, OPT_VERSION, OPT_JSON, OPT_TRACE };

/* Returns -1 to go on, or the exit status (help, version, usage). */
static int timeout_parse(const struct timeout_name *n, int argc, char **argv,
			 struct sup_opts *o)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "kill-after", required_argument, NULL, 'k' },
		{ "preserve-status", no_argument, NULL, 'p' },
		{ "signal", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "json", required_argument, NULL, OPT_JSON },
		{ "trace", required_argument, NULL, OPT_TRACE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	*o = (struct sup_opts){ .rules = SUP_TIMEOUT, .who = n->who, .sig = SIGTERM };
	optind = 1;
	opterr = 0;
	int c;
	/* '+': options end at the command */
	while ((c = getopt_long(argc, argv, "+:fk:ps:v", opts, NULL)) != -1) {
		switch (c) {
		case 'f': o->foreground = true; break;
		case 'p': o->preserve = true; break;
		case 'v': o->verbose = true; break;
		case OPT_JSON: o->json = optarg; break;
		case OPT_TRACE: o->trace = optarg; break;
		case 'k':
			if (duration_arg(n, optarg, &o->kill_after) < 0)
				return SUP_CANCELED;
			break;
		case 's': {
			o->sig = cu_signal(optarg);
			if (o->sig < 0) {
				char *q = cu_quote(optarg);
				bad_usage(n, "%s: invalid signal", q);
				free(q);
				return SUP_CANCELED;
			}
			break;
		}
		case OPT_HELP:
		case OPT_VERSION:
			/* piperun parked /dev/null on a closed stdout; coreutils
			 * would fail to write there */
			if (cmd_std_closed[1]) {
				err_line("%s: write error: Bad file descriptor", n->who);
				return SUP_CANCELED;
			}
			if (c == OPT_HELP)
				usage_text(n);
			else
				version_text();
			return 0;
		default:
			return option_error(n, c, argv, opts);
		}
	}
	/* coreutils says only the hint here */
	if (argc - optind < 2)
		return bad_usage(n, NULL);
	if (duration_arg(n, argv[optind], &o->timeout) < 0)
		return SUP_CANCELED;
	o->cmd = argv + optind + 1;
	return -1;
}

int cmd_timeout_main(int argc, char **argv, bool as_timeout)
{
	/* coreutils' program_name is argv[0] as typed */
	const struct timeout_name as_piperun = { "piperun: timeout", "piperun timeout" };
	const struct timeout_name as_name = { argv[0], argv[0] };
	const struct timeout_name *n = as_timeout ? &as_name : &as_piperun;
	struct sup_opts o;
	int rc = timeout_parse(n, argc, argv, &o);
	if (rc >= 0)
		return rc;
	memcpy(o.closed_std, cmd_std_closed, sizeof o.closed_std);
	return supervise(&o);
}

static int cmd_timeout(int argc, char **argv)
{
	return cmd_timeout_main(argc, argv, false);
}

const struct cmd_entry cmd_timeout_entry = {
	.name = "timeout",
	.synopsis = "timeout [OPTION]... DURATION COMMAND [ARG]...",
	.summary = "a drop-in for coreutils timeout(1) that ends the whole tree",
	.help =
	"options (those of GNU coreutils timeout 9.10 and later):\n"
	"  -f, --foreground        keep COMMAND in the caller's process group (it\n"
	"                          can read the terminal); only it is signalled\n"
	"  -k, --kill-after=DUR    also send KILL if still running DUR after the signal\n"
	"  -p, --preserve-status   exit with COMMAND's status, even on a timeout\n"
	"  -s, --signal=SIG        the signal to send on timeout (name or number,\n"
	"                          0 for none; default TERM)\n"
	"  -v, --verbose           say on stderr each signal sent\n"
	"      --json=FILE         write the command's record (as piperun exec's)\n"
	"      --trace=FILE        write a trace (Chrome Trace Event Format)\n"
	"      --help, --version\n"
	"\n"
	"DURATION: a floating point number with an optional suffix s, m, h or d;\n"
	"0 disables the timeout.  The same program answers to the name `timeout'\n"
	"(ln -s piperun ~/bin/timeout).  Unlike coreutils, on a timeout and when\n"
	"piperun dies the command's whole tree goes (setsid'd and double-forked\n"
	"descendants too, in a cgroup where one can be made).\n"
	"\n"
	"exit status: 124 timed out; 125 timeout itself failed; 126 COMMAND not\n"
	"executable; 127 not found; 137 COMMAND (or timeout) got KILL; else\n"
	"COMMAND's.\n",
	.exec = cmd_timeout,
	.stdout_fail = 125,
};
