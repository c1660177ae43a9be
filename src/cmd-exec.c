/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-exec.c - `piperun exec`: run one command like coreutils timeout(1),
 * with its exit statuses, and contain its whole tree like a run job.
 *
 * Shape borrowed from tini/catatonit: every signal piperun passes on is
 * blocked and read from a signalfd, the child watched through its pidfd,
 * deadlines on the event loop; no signal handler anywhere.
 *
 * Differences from coreutils, deliberate: a timeout always exits 124,
 * also when KILL was needed or -s KILL was asked for (coreutils says 137
 * there, which a script cannot tell from a crash); the command runs in a
 * cgroup of its own where one can be made, a guardian kills its tree if
 * piperun dies, and what it leaves behind when it exits is stopped (its
 * signal, then KILL after -k or a run job's default kill_after) - except with
 * --foreground, where, as with coreutils, its children are left alone.
 * `piperun timeout` (a later issue) is the coreutils-compatible one. */
#include "config.h"
#include "cmd.h"
#include "jsonw.h"
#include "job.h"
#include "loop.h"
#include "proc.h"
#include "report.h"
#include "signals.h"
#include "spawn.h"
#include "spec.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

enum { EXIT_TIMEDOUT = 124, EXIT_CANCELED = 125, EXIT_CANNOT_INVOKE = 126,
       EXIT_ENOENT = 127 };

/* What the command line asked for. */
struct exec_opts {
	double timeout;           /* -t, seconds; 0 = none */
	double kill_after;        /* -k, seconds; 0 = never */
	int sig;                  /* -s */
	bool preserve;            /* --preserve-status */
	bool foreground;
	const char *json;         /* --json FILE */
	char **cmd;               /* NULL-terminated */
};

struct exec_state {
	const struct exec_opts *o;
	struct proc proc;         /* the command */
	bool timed_out;
	bool done;                /* it and everything it left behind */
	struct loop *loop;
	struct watch w_sig;
	int sigfd;
	struct timer t_timeout;
	struct contain contain;
	bool contained;           /* contain_init() ran (not --foreground) */
	double t_start, duration_ms;
};

static void on_timeout(struct timer *t)
{
	struct exec_state *x = t->data;
	if (x->proc.exited)
		return;
	x->timed_out = true;
	proc_deadline(&x->proc, x->o->sig, x->o->kill_after);
}

static bool is_command(pid_t pid, void *ctx)
{
	const struct exec_state *x = ctx;
	return !x->proc.exited && pid == x->proc.pid;
}

/* Before each look at what the command left: a zombie we adopted still
 * counts as a member of its group. */
static void on_look(struct proc *p)
{
	struct exec_state *x = p->ctx;
	contain_reap_orphans(&x->contain, is_command, x);
}

static void on_empty(struct proc *p)
{
	struct exec_state *x = p->ctx;
	x->done = true;
}

/* The command exited: what it left gets the -s signal, then KILL after
 * -k, or without -k after a run job's default kill_after (with
 * --foreground, nothing: its children are left alone). */
static void on_command_exit(struct proc *p)
{
	struct exec_state *x = p->ctx;
	proc_wait_empty(p, x->o->sig,
			x->o->kill_after > 0 ? x->o->kill_after : SPEC_KILL_AFTER_DEFAULT);
}

/* Terminating signals are passed on to the command (its group, or the
 * command alone with --foreground), as are SIGCONT and SIGWINCH; once the
 * command has exited, a terminating signal ends what it left behind at
 * once.  SIGCHLD: orphans that ended (we are their subreaper). */
static void on_signal(struct watch *w, uint32_t ev)
{
	struct exec_state *x = w->data;
	struct signalfd_siginfo si;
	while (read(x->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		int sig = (int)si.ssi_signo;
		if (sig == SIGCHLD) {
			if (x->contained)
				contain_reap_orphans(&x->contain, is_command, x);
			continue;
		}
		if (signals_self_raised(&si))
			continue;
		if (x->proc.exited) {
			if (sig != SIGCONT && sig != SIGWINCH && !x->o->foreground)
				proc_kill(&x->proc);
			continue;
		}
		/* In --foreground mode the command shares our group: the
		 * terminal's own signals (from the kernel) reached it already. */
		if (x->o->foreground && si.ssi_code == SI_KERNEL)
			continue;
		proc_signal(&x->proc, sig);
	}
}

static int exec_fail(const char *fmt, ...) PRINTF(1, 2);
static int exec_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	err_line("piperun: exec: %s", m);
	free(m);
	return EXIT_CANCELED;
}

/* Die of the signal the command died of, when that cannot hurt: never
 * of SIGKILL's like (it cannot be raised so), and not of a signal piperun
 * was started ignoring (it would not end us). */
static bool safe_to_raise(int sig)
{
	return sig != SIGKILL && sig != SIGSTOP && !signals_ignored_at_start(sig);
}

/* The record (the same as a `run` job's), to an fd opened before the
 * command started. */
static int write_json(int fd, const struct exec_state *x)
{
	const struct stage_result *st = &x->proc.status;
	struct command_record rec = {
		.name = "exec",
		.status = job_outcome(x->timed_out, false, stage_returncode(st), NULL, 0),
		.duration_ms = x->duration_ms,
		.argv = x->o->cmd,
		.proc = &x->proc,
	};
	struct fd_sink *s = xcalloc(1, sizeof *s);
	s->fd = fd;
	struct jw w;
	jw_init(&w, fd_sink_write, s, true);
	report_command(&w, &rec);
	jw_newline(&w);
	int rc = fd_sink_flush(s);
	int e = s->err;
	free(s);
	if (close(fd) < 0 && !rc) {
		e = errno;
		rc = -1;
	}
	errno = e;
	return rc;
}

/* ------------------------------------------------------------- parse */

/* Returns -1 to go on, or the exit status (help, usage errors). */
static int exec_parse(int argc, char **argv, struct exec_opts *o)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "kill-after", required_argument, NULL, 'k' },
		{ "signal", required_argument, NULL, 's' },
		{ "preserve-status", no_argument, NULL, 'p' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "json", required_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd_entry *self = &cmd_exec_entry;
	int c;
	*o = (struct exec_opts){ .sig = SIGTERM };
	optind = 1;
	opterr = 0;
	/* '+': options end at the command, as for timeout(1) */
	while ((c = getopt_long(argc, argv, "+:t:k:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (cmd_duration(self, "-t/--timeout", optarg, &o->timeout) < 0)
				return EXIT_CANCELED;
			break;
		case 'k':
			if (cmd_duration(self, "-k/--kill-after", optarg, &o->kill_after) < 0)
				return EXIT_CANCELED;
			break;
		case 's':
			o->sig = sig_parse(optarg);
			if (o->sig <= 0)
				return cmd_bad_usage(self, "-s/--signal: expected a signal like TERM or a number from 1 to %d, got \"%s\"", NSIG - 1, optarg), EXIT_CANCELED;
			break;
		case 'p':
			o->preserve = true;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'J':
			o->json = optarg;
			break;
		default: {
			/* help, or a usage error: timeout(1)'s 125 */
			int r = cmd_opt_common(self, c, argv);
			return r == EXIT_OK ? r : EXIT_CANCELED;
		}
		}
	}
	if (optind >= argc)
		return cmd_bad_usage(self, "expected a command to run"), EXIT_CANCELED;
	o->cmd = argv + optind;
	return -1;
}

/* --------------------------------------------------------------- run */

/* The loop, the signalfd (watched) and containment.  Every terminating
 * signal not ignored at start is passed on (see on_signal), and SIGCONT
 * and SIGWINCH; SIGCHLD reaps orphans.  Returns 0 or EXIT_CANCELED
 * (said); the caller closes the signalfd and frees the loop either way. */
static int exec_setup(struct exec_state *x)
{
	sigset_t set;
	sigemptyset(&set);
	signals_terminating(&set);
	sigaddset(&set, SIGCONT);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	x->loop = loop_new();
	x->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (!x->loop || x->sigfd < 0)
		return exec_fail("cannot set up: %s", strerror(errno));
	/* watched before the command starts, so it can never be left
	 * unsupervised; the loop only runs once it has started, and signals
	 * wait in the signalfd until then */
	if (loop_add(x->loop, &x->w_sig, x->sigfd, EPOLLIN, on_signal, x) < 0)
		return exec_fail("cannot watch the command: %s", strerror(errno));
	/* The command's tree is contained like a run job's: a cgroup where
	 * one can be made, the guardian either way.  --foreground keeps the
	 * command in our group and leaves its children alone (coreutils). */
	if (!x->o->foreground) {
		char *why = NULL;
		if (contain_init(&x->contain, &why) < 0) {
			exec_fail("containment: %s", why);
			free(why);
			return EXIT_CANCELED;
		}
		x->contained = true;
	}
	return 0;
}

/* Start the command and supervise it to its end (and that of what it
 * left).  Returns 0, or the exit status of a failure (said). */
static int exec_run(struct exec_state *x, const char *path)
{
	const struct exec_opts *o = x->o;
	int rc = exec_setup(x);
	if (rc)
		return rc;
	struct proc_stdio io[3] = {
		{ PROC_STDIO_INHERIT, 0 }, { PROC_STDIO_INHERIT, 1 }, { PROC_STDIO_INHERIT, 2 },
	};
	x->t_start = now_ms();
	struct proc_opts po = {
		.spawn = { .path = path, .argv = o->cmd, .default_tty_signals = !o->foreground },
		.stdio = io, .nstdio = 3,
		.group = o->foreground ? PROC_GROUP_NONE : PROC_GROUP_OWN,
		.contain = x->contained ? &x->contain : NULL,
		/* one command: a cgroup short of fds is no reason to fail it */
		.short_in_group = true,
		.loop = x->loop, .t0 = x->t_start,
		.on_exit = on_command_exit, .on_look = on_look, .on_empty = on_empty,
		.ctx = x,
	};
	struct proc_error e;
	if (proc_spawn(&x->proc, &po, &e) < 0) {
		if (e.unwatched)
			return exec_fail("cannot watch the command: %s", strerror(e.err));
		err_line("piperun: exec: failed to run command '%s': %s", o->cmd[0],
			 strerror(e.err));
		return e.step == SPAWN_EXEC ? (e.err == ENOENT ? EXIT_ENOENT : EXIT_CANNOT_INVOKE)
					    : EXIT_CANCELED;
	}
	if (o->timeout > 0)
		timer_start(x->loop, &x->t_timeout, x->t_start + o->timeout * 1000, on_timeout, x);
	while (!x->done)
		if (loop_run_once(x->loop, -1) < 0 && errno != EINTR)
			break;
	x->duration_ms = now_ms() - x->t_start;
	timer_stop(x->loop, &x->t_timeout);
	proc_end(&x->proc);
	loop_del(x->loop, &x->w_sig);
	return 0;
}

/* -------------------------------------------------------------- emit */

/* The command's record, and our exit status: the command's, or 124 on
 * a timeout.  *die_sig: the signal to die of, like coreutils (a command
 * killed by N makes us killed by N, once everything is cleaned up). */
static int exec_emit(const struct exec_state *x, int json_fd, int *die_sig)
{
	const struct stage_result *st = &x->proc.status;
	int rc = stage_shell_status(st);
	if (x->timed_out && !x->o->preserve)
		rc = EXIT_TIMEDOUT;
	/* the command ran: a record that cannot be written is said on
	 * stderr, and the command's own status stands */
	if (json_fd >= 0 && write_json(json_fd, x) < 0)
		err_line("piperun: exec: --json %s: %s", x->o->json, strerror(errno));
	*die_sig = st->signal && !x->timed_out && safe_to_raise(st->signal) ? st->signal : 0;
	return rc;
}

static int cmd_exec(int argc, char **argv)
{
	struct exec_opts o;
	int rc = exec_parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	/* The record's file is opened before anything runs: a bad path is
	 * piperun's failure (125) with nothing started, never a command that
	 * ran and then "failed" (a script retrying on 125 would run it
	 * twice).  A FIFO waits for its reader here, like a shell redirection
	 * (signals still work: nothing is blocked yet). */
	int json_fd = -1;
	if (o.json) {
		json_fd = open(o.json, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (json_fd < 0)
			return exec_fail("--json %s: %s", o.json, strerror(errno));
	}
	/* resolve like execvp, with the exit statuses of timeout(1) */
	int st;
	char *path = spec_path_resolve(o.cmd[0], getenv("PATH"), NULL, &st);
	if (!path) {
		err_line("piperun: exec: failed to run command '%s': %s", o.cmd[0],
			 st == 127 ? "No such file or directory" : "Permission denied");
		if (json_fd >= 0)
			close(json_fd);
		return st;
	}
	struct exec_state x = { .o = &o, .sigfd = -1 };
	proc_init(&x.proc);
	int die_sig = 0;
	rc = exec_run(&x, path);
	if (!rc) {
		rc = exec_emit(&x, json_fd, &die_sig);
		json_fd = -1;
	}
	proc_end(&x.proc);
	if (x.contained)
		contain_fini(&x.contain);
	if (x.sigfd >= 0)
		close(x.sigfd);
	loop_free(x.loop);
	if (json_fd >= 0)
		close(json_fd);
	proc_free(&x.proc);
	free(path);
	if (die_sig)
		die_of_signal(die_sig);
	return rc;
}

const struct cmd_entry cmd_exec_entry = {
	.name = "exec",
	.synopsis = "exec [OPTIONS] [--] CMD [ARG]...",
	.summary = "run one command with a time limit, like timeout(1)",
	.help =
	"options:\n"
	"  -t, --timeout DUR      send the signal after DUR (\"10\", \"1.5s\", \"2m\")\n"
	"  -k, --kill-after DUR   then SIGKILL after DUR more if still running\n"
	"  -s, --signal SIG       the signal for the timeout (default TERM)\n"
	"      --preserve-status  exit with the command's status even on timeout\n"
	"      --foreground       keep the command in piperun's process group (it\n"
	"                         can use the terminal; its children are not\n"
	"                         signalled on timeout)\n"
	"      --json FILE        write the command's record (as in run results)\n"
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
};
