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
#include "ladder.h"
#include "loop.h"
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
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum { EXIT_TIMEDOUT = 124, EXIT_CANCELED = 125, EXIT_CANNOT_INVOKE = 126,
       EXIT_ENOENT = 127 };


struct exec_state {
	pid_t pid;
	int pidfd;
	bool foreground;
	int sig;                  /* -s */
	double kill_after;        /* -k, seconds; 0 = never */
	bool timed_out;
	bool exited;              /* the command itself */
	bool done;                /* and everything it left behind */
	struct loop *loop;
	struct watch w_pid, w_sig;
	int sigfd;
	struct timer t_timeout, t_poll;
	double poll_ms;
	struct ladder ladder;
	struct contain contain;
	bool contained;           /* contain_init() ran (not --foreground) */
	struct job rec;           /* the record (--json); its cj, term and
				     escaped lists are live state */
	struct stage_result st;
};

/* The ladder's send(): the command's whole tree (its cgroup and group),
 * or with --foreground the command alone (it shares our group). */
static bool send_sig(void *ctx, int sig, bool follow_up)
{
	struct exec_state *x = ctx;
	struct job *j = &x->rec;
	bool any;
	if (x->foreground) {
		any = !x->exited && kill_pid(x->pid, sig) == 0;
	} else {
		if (!follow_up)
			contain_job_escaped(&j->cj, x->pid, &j->escaped, &j->nescaped,
					    &j->escaped_cap);
		any = contain_job_signal(&x->contain, &j->cj, x->pid, sig);
	}
	if (any && !follow_up) {
		xgrow(&j->term, &j->term_cap, j->nterm + 1, sizeof *j->term);
		j->term[j->nterm].signal = sig;
		j->term[j->nterm].at_ms = now_ms() - j->t_start;
		j->nterm++;
	}
	return any;
}

static void on_timeout(struct timer *t)
{
	struct exec_state *x = t->data;
	if (x->exited)
		return;
	x->timed_out = true;
	ladder_signal_again(&x->ladder, x->sig, x->kill_after);
}

static bool is_command(pid_t pid, void *ctx)
{
	const struct exec_state *x = ctx;
	return !x->exited && pid == x->pid;
}

/* After the command exited: wait for what it left behind to go (its
 * signal, then KILL after the grace), polling with a backoff. */
static void check_left(struct exec_state *x);

static void on_poll(struct timer *t)
{
	check_left(t->data);
}

static void check_left(struct exec_state *x)
{
	if (x->foreground) {
		x->done = true;
		return;
	}
	/* a zombie we adopted still counts as a member of its group */
	contain_reap_orphans(&x->contain, is_command, x);
	if (!contain_job_alive(&x->contain, &x->rec.cj, x->pid)) {
		x->done = true;
		return;
	}
	/* what it left: the -s signal, then KILL after -k, or without -k
	 * after a run job's default kill_after */
	ladder_signal(&x->ladder, x->sig,
		      x->kill_after > 0 ? x->kill_after : SPEC_KILL_AFTER_DEFAULT);
	x->poll_ms = job_poll_backoff(x->poll_ms);
	timer_start(x->loop, &x->t_poll, now_ms() + x->poll_ms, on_poll, x);
}

static void on_pid(struct watch *w, uint32_t ev)
{
	struct exec_state *x = w->data;
	struct spawn_exit e;
	if (spawn_reap(x->pidfd, false, &e) <= 0)
		return;
	x->exited = true;
	x->st.pid = x->pid;
	stage_result_exited(&x->st, &e);
	loop_del(x->loop, &x->w_pid);
	check_left(x);
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
		if (x->exited) {
			if (sig != SIGCONT && sig != SIGWINCH && !x->foreground)
				ladder_kill(&x->ladder);
			continue;
		}
		/* In --foreground mode the command shares our group: the
		 * terminal's own signals (from the kernel) reached it already. */
		if (x->foreground && si.ssi_code == SI_KERNEL)
			continue;
		if (x->foreground)
			kill_pid(x->pid, sig);
		else
			contain_job_signal(&x->contain, &x->rec.cj, x->pid, sig);
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

/* The record, to an fd opened before the command started. */
static int write_json(int fd, struct exec_state *x)
{
	struct fd_sink *s = xcalloc(1, sizeof *s);
	s->fd = fd;
	struct jw w;
	jw_init(&w, fd_sink_write, s, true);
	report_job(&w, &x->rec);
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

static int cmd_exec(int argc, char **argv)
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
	double timeout = 0, kill_after = 0;
	int sig = SIGTERM, c;
	bool preserve = false, foreground = false;
	const char *json = NULL;
	optind = 1;
	opterr = 0;
	/* '+': options end at the command, as for timeout(1) */
	while ((c = getopt_long(argc, argv, "+:t:k:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (dur_parse(optarg, &timeout) < 0)
				return cmd_bad_usage(self, "-t/--timeout: expected %s, got \"%s\"", dur_expected(optarg), optarg), EXIT_CANCELED;
			break;
		case 'k':
			if (dur_parse(optarg, &kill_after) < 0)
				return cmd_bad_usage(self, "-k/--kill-after: expected %s, got \"%s\"", dur_expected(optarg), optarg), EXIT_CANCELED;
			break;
		case 's':
			sig = sig_parse(optarg);
			if (sig <= 0)
				return cmd_bad_usage(self, "-s/--signal: expected a signal like TERM or a number from 1 to %d, got \"%s\"", NSIG - 1, optarg), EXIT_CANCELED;
			break;
		case 'p':
			preserve = true;
			break;
		case 'f':
			foreground = true;
			break;
		case 'J':
			json = optarg;
			break;
		case 'h':
			cmd_help(self);
			return EXIT_OK;
		case ':':
			return cmd_bad_usage(self, "option '%s' needs a value", argv[optind - 1]), EXIT_CANCELED;
		default:
			return cmd_bad_usage(self, "unknown option '%s'", argv[optind - 1]), EXIT_CANCELED;
		}
	}
	if (optind >= argc)
		return cmd_bad_usage(self, "expected a command to run"), EXIT_CANCELED;
	char **cmd = argv + optind;

	/* The record's file is opened before anything runs: a bad path is
	 * piperun's failure (125) with nothing started, never a command that
	 * ran and then "failed" (a script retrying on 125 would run it
	 * twice).  A FIFO waits for its reader here, like a shell redirection
	 * (signals still work: nothing is blocked yet). */
	int json_fd = -1;
	if (json) {
		json_fd = open(json, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (json_fd < 0)
			return exec_fail("--json %s: %s", json, strerror(errno));
	}

	/* resolve like execvp, with the exit statuses of timeout(1) */
	int st;
	char *path = spec_path_resolve(cmd[0], getenv("PATH"), NULL, &st);
	if (!path) {
		err_line("piperun: exec: failed to run command '%s': %s", cmd[0],
			 st == 127 ? "No such file or directory" : "Permission denied");
		if (json_fd >= 0)
			close(json_fd);
		return st;
	}

	struct exec_state x = { .foreground = foreground, .sig = sig, .kill_after = kill_after,
				.pidfd = -1, .sigfd = -1 };
	struct stage_spec stage = { .argv = cmd, .argc = (size_t)(argc - optind), .exe = path };
	struct job_spec js = { .name = "exec", .kind = KIND_RUN, .stages = &stage, .nstages = 1,
			       .out = { .mode = IO_INHERIT }, .err = { .mode = IO_INHERIT },
			       .signal = sig, .kill_after = kill_after, .timeout = timeout };
	struct job *j = &x.rec;
	j->spec = &js;
	j->cj.dirfd = j->cj.procs_fd = -1;
	j->out.spill_fd = j->err.spill_fd = -1;
	j->uncontained = foreground;

	/* Every terminating signal not ignored at start is passed on (see
	 * on_signal), and SIGCONT and SIGWINCH; SIGCHLD reaps orphans. */
	sigset_t set;
	sigemptyset(&set);
	signals_terminating(&set);
	sigaddset(&set, SIGCONT);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int rc = EXIT_CANCELED, die_sig = 0;
	x.loop = loop_new();
	x.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (!x.loop || x.sigfd < 0) {
		exec_fail("cannot set up: %s", strerror(errno));
		goto out;
	}
	/* The command's tree is contained like a run job's: a cgroup where
	 * one can be made, the guardian either way.  --foreground keeps the
	 * command in our group and leaves its children alone (coreutils). */
	if (!foreground) {
		char *why = NULL;
		if (contain_init(&x.contain, &why) < 0) {
			exec_fail("containment: %s", why);
			free(why);
			goto out;
		}
		x.contained = true;
	}
	ladder_init(&x.ladder, x.loop, send_sig, &x);

	struct spawn_opts o = {
		.path = path,
		.argv = cmd,
		.fd = { 0, 1, 2 },
		.pgid = foreground ? -1 : 0,
		.cgroup_procs_fd = x.contained ? contain_job_prepare(&x.contain, &j->cj) : -1,
		.default_tty_signals = !foreground,
	};
	struct spawn_error se;
	j->t_start = now_ms();
	int src = spawn_start(&o, &x.pid, &x.pidfd, &se);
	if (src < 0 && se.step == SPAWN_CGROUP) {
		/* cgroups exist but cannot take our processes: a process group */
		contain_job_end(&x.contain, &j->cj);
		o.cgroup_procs_fd = -1;
		src = spawn_start(&o, &x.pid, &x.pidfd, &se);
	}
	if (src < 0) {
		rc = se.step == SPAWN_EXEC ? (se.err == ENOENT ? EXIT_ENOENT : EXIT_CANNOT_INVOKE)
					   : EXIT_CANCELED;
		err_line("piperun: exec: failed to run command '%s': %s", cmd[0],
			 strerror(se.err));
		goto out;
	}
	j->pid = x.pid;
	j->in_cgroup = o.cgroup_procs_fd >= 0;
	if (x.contained)
		contain_job_started(&x.contain, &j->cj, x.pid);
	if (loop_add(x.loop, &x.w_pid, x.pidfd, EPOLLIN, on_pid, &x) < 0 ||
	    loop_add(x.loop, &x.w_sig, x.sigfd, EPOLLIN, on_signal, &x) < 0) {
		/* it could never be supervised: end it rather than hang */
		exec_fail("cannot watch the command: %s", strerror(errno));
		ladder_kill(&x.ladder);
		struct spawn_exit e;
		spawn_reap(x.pidfd, true, &e);
		goto out;
	}
	if (timeout > 0)
		timer_start(x.loop, &x.t_timeout, j->t_start + timeout * 1000, on_timeout, &x);
	while (!x.done)
		if (loop_run_once(x.loop, -1) < 0 && errno != EINTR)
			break;
	double dur = now_ms() - j->t_start;
	timer_stop(x.loop, &x.t_timeout);
	timer_stop(x.loop, &x.t_poll);
	ladder_reset(&x.ladder);
	loop_del(x.loop, &x.w_sig);

	rc = x.st.signal ? 128 + x.st.signal : x.st.exit_code;
	if (x.timed_out && !preserve)
		rc = EXIT_TIMEDOUT;
	if (json_fd >= 0) {
		/* the same record as a `run` job's */
		j->attempts = 1;
		j->duration_ms = dur;
		j->stages = &x.st;
		j->nstages = 1;
		j->has_rc = true;
		j->returncode = x.st.signal ? -x.st.signal : x.st.exit_code;
		j->status = x.timed_out ? ST_TIMEOUT : j->returncode == 0 ? ST_OK : ST_FAILED;
		/* the command ran: a record that cannot be written is said on
		 * stderr, and the command's own status stands */
		if (write_json(json_fd, &x) < 0)
			err_line("piperun: exec: --json %s: %s", json, strerror(errno));
		json_fd = -1;
		j->stages = NULL;
	}
	/* like coreutils: a command killed by N makes us killed by N (once
	 * everything is cleaned up) */
	if (x.st.signal && !x.timed_out && safe_to_raise(x.st.signal))
		die_sig = x.st.signal;
out:
	if (x.pidfd >= 0)
		close(x.pidfd);
	if (x.contained) {
		contain_job_end(&x.contain, &j->cj);
		contain_fini(&x.contain);
	}
	if (x.sigfd >= 0)
		close(x.sigfd);
	loop_free(x.loop);
	if (json_fd >= 0)
		close(json_fd);
	free(j->term);
	escaped_free(j->escaped, j->nescaped);
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
