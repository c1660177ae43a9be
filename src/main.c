/* SPDX-License-Identifier: GPL-3.0-or-later */
/* main.c - piperun's entry point: the subcommand dispatch table and the
 * exit-status table.
 *
 * EXIT STATUS (CONTRACT §2)
 *   run       0  every job ok
 *   run       1  at least one job not ok (failed, timeout, error, skipped,
 *                cancelled)
 *   run/validate/plan
 *             2  usage or spec error; nothing was started
 *   run       3  the runner itself could not go on (cannot write results,
 *                resources gone); children cleaned up, results written
 *                where still possible
 *   run       killed by the signal that interrupted it (SIGINT, SIGTERM,
 *                SIGHUP or any other terminating signal not ignored at
 *                start) after terminating every job and writing results
 *                (the shell sees 128+N: 130/143/129)
 *   run       killed by SIGPIPE: stdout's reader went away (a filter
 *                that has seen enough, `| head -1`): the run stops like
 *                an interrupt, --results FILE still written (CONTRACT §8.2);
 *                plan, pool and help output die of it quietly too
 *   Precedence: 2 > interrupted > 3 > 1 > 0.
 *
 *   Output that cannot be written to stdout (a full disk, a closed
 *   stdout: see ensure_std_fds) is an error,
 *   checked when the command ends (as gnulib's close_stdout): 3 for run
 *   and pool results and for plan's plan, 2 for help, usage and the
 *   version (125 in exec and timeout, whose own failures are all 125).
 *
 *   Under the name `timeout` (a symlink), piperun is `piperun timeout`:
 *   coreutils timeout(1)'s statuses (cmd-timeout.c).
 */
#include "config.h"
#include "cmd.h"
#include "sha256.h"
#include "signals.h"
#include "spawn.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct cmd_entry *const cmd_table[] = {
	&cmd_run_entry,
	&cmd_validate_entry,
	&cmd_plan_entry,
	&cmd_journal_entry,
	&cmd_show_entry,
	&cmd_schema_entry,
	&cmd_timeline_entry,
	&cmd_exec_entry,
	&cmd_timeout_entry,
	&cmd_pool_entry,
	&cmd_steps_host_entry,
	&cmd_pipeline_host_entry,
	&cmd_step_host_entry,
};

static void main_usage(FILE *f)
{
	fprintf(f, "usage: piperun COMMAND [OPTIONS] [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(cmd_table); i++)
		if (!(cmd_table[i]->flags & CMD_HIDDEN))
			fprintf(f, "  %-9s %s\n", cmd_table[i]->name, cmd_table[i]->summary);
	fprintf(f, "  %-9s %s\n", "help", "show help for a command");
	fprintf(f, "\n'piperun help COMMAND' or 'piperun COMMAND --help' for its options;\n"
		   "man piperun(1) and piperun-spec(5) for everything.\n");
}

/* The command called name: a listed one, or (hidden) a host. */
static const struct cmd_entry *find_cmd(const char *name, bool hidden)
{
	for (size_t i = 0; i < ARRAY_SIZE(cmd_table); i++)
		if (!(cmd_table[i]->flags & CMD_HIDDEN) == !hidden &&
		    !strcmp(cmd_table[i]->name, name))
			return cmd_table[i];
	return NULL;
}

bool cmd_std_closed[3];

/* Children must never get one of our pipes as their 0, 1 or 2 by
 * accident: if piperun was started with any of them closed, park
 * /dev/null there first (and say so in cmd_std_closed).
 *
 * A closed stdout is parked read-only: every write to fd 1 then fails
 * with EBADF as it would on the closed fd, so results, the plan, show's
 * output, help (close_stdout) and a job that inherits stdout all fail
 * as `ls >&-` does, and a command that writes nothing there (-o none)
 * does not.  A closed stderr is parked writable: piperun's messages and
 * its jobs' stderr vanish quietly there, nothing fails for it. */
static void ensure_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
			cmd_std_closed[fd] = true;
			int n = open("/dev/null", fd == 1 ? O_RDONLY : O_RDWR);
			if (n >= 0 && n != fd) {
				dup2(n, fd);
				close(n);
			}
		}
}

/* gnulib's close_stdout: what went to stdout through stdio (help, the
 * version) must have got there; results go through their own checked
 * writes.  Returns rc, or fail after saying why; a reader that went
 * away ends us as it would any filter (SIGPIPE). */
static int close_stdout(int rc, int fail, const char *who)
{
	bool pending = __fpending(stdout) != 0;
	bool prev = ferror(stdout) != 0;
	errno = 0;
	bool bad = fclose(stdout) != 0;
	int e = bad ? errno : 0;
	if (!prev && (!bad || (!pending && e == EBADF)))
		return rc;
	/* (with SIGPIPE ignored from the start, EPIPE is an error like any) */
	if (e == EPIPE && !signals_ignored_at_start(SIGPIPE))
		die_of_signal(SIGPIPE);
	if (e)
		err_line("%s: write error: %s", who, strerror(e));
	else
		err_line("%s: write error", who);
	return fail;
}

int main(int argc, char **argv)
{
	/* A hidden host (its name the one argument) that must run before
	 * the set-up below goes first: the pipeline host, before anything
	 * changes a signal disposition its stages would inherit. */
	const char *base = argv[0] ? strrchr(argv[0], '/') : NULL;
	bool as_timeout = argv[0] && !strcmp(base ? base + 1 : argv[0], "timeout");
	const struct cmd_entry *host = argc >= 2 && !as_timeout ? find_cmd(argv[1], true) : NULL;
	if (host && argc > 2 && !(host->flags & CMD_ARGS))
		host = NULL;
	if (host && (host->flags & CMD_BEFORE_SETUP))
		return host->exec(argc - 1, argv + 1);
	ensure_std_fds();
	spawn_init();
	sha256_use_hw(1); /* decided once, before any thread hashes */
	/* under the name timeout (ln -s piperun timeout): coreutils'
	 * timeout(1), all of it */
	if (as_timeout)
		return close_stdout(cmd_timeout_main(argc, argv, true), 125, argv[0]);
	if (argc < 2) {
		main_usage(stderr);
		return EXIT_USAGE;
	}
	if (host)
		return host->exec(argc - 1, argv + 1);
	const char *name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
		main_usage(stdout);
		return close_stdout(EXIT_OK, EXIT_USAGE, "piperun");
	}
	if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
		printf("piperun %s\n"
		       "Copyright (C) 2026 the piperun developers.\n"
		       "License GPLv3+: GNU GPL version 3 or later <https://gnu.org/licenses/gpl.html>.\n"
		       "This is free software: you are free to change and redistribute it.\n"
		       "There is NO WARRANTY, to the extent permitted by law.\n", PACKAGE_VERSION);
		return close_stdout(EXIT_OK, EXIT_USAGE, "piperun");
	}
	if (!strcmp(name, "help")) {
		if (argc < 3) {
			main_usage(stdout);
			return close_stdout(EXIT_OK, EXIT_USAGE, "piperun");
		}
		const struct cmd_entry *c = find_cmd(argv[2], false);
		if (!c) {
			err_line("piperun: help: unknown command '%s'", argv[2]);
			main_usage(stderr);
			return EXIT_USAGE;
		}
		cmd_help(c);
		return close_stdout(EXIT_OK, EXIT_USAGE, "piperun");
	}
	const struct cmd_entry *c = find_cmd(name, false);
	if (!c) {
		if (name[0] == '-')
			err_line("piperun: unknown option '%s'", name);
		else
			err_line("piperun: unknown command '%s'", name);
		main_usage(stderr);
		return EXIT_USAGE;
	}
	/* exec's and timeout's own failures are all 125, as timeout(1)'s */
	return close_stdout(c->exec(argc - 1, argv + 1), c->stdout_fail ? c->stdout_fail : EXIT_USAGE,
			    c == &cmd_timeout_entry ? "piperun: timeout" : "piperun");
}
