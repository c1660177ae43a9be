/* cmd-exec.c - `piperun exec`: run one command like coreutils timeout(1),
 * with the same exit statuses, plus a whole-group kill and an optional
 * JSON record.
 *
 * Shape borrowed from tini/catatonit: every forwarded signal blocked and
 * read from a signalfd, the child watched through its pidfd, deadlines on
 * the event loop; no signal handler anywhere.
 *
 * One deliberate difference from coreutils: a timeout always exits 124,
 * also when KILL was needed or -s KILL was asked for (coreutils says 137
 * there, which a script cannot tell from a crash). */
#include "config.h"
#include "cmd.h"
#include "jsonw.h"
#include "loop.h"
#include "report.h"
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

/* Signals piperun passes on to the command. */
static const int forwarded[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,
				 SIGALRM, SIGCONT, SIGWINCH };

struct exec_state {
	pid_t pid;
	int pidfd;
	bool foreground;
	int sig;                  /* -s */
	double kill_after;        /* -k, seconds; 0 = never */
	bool timed_out;
	bool exited;
	struct loop *loop;
	struct watch w_pid, w_sig;
	int sigfd;
	struct timer t_timeout, t_kill;
	double t0;
	struct job rec;           /* for --json */
	struct stage_result st;
};

static void send_sig(struct exec_state *x, int sig)
{
	/* the command's whole group, unless it shares ours (--foreground) */
	if (x->foreground)
		kill_pid(x->pid, sig);
	else
		kill_group(x->pid, sig);
	struct job *j = &x->rec;
	xgrow(&j->term, &j->term_cap, j->nterm + 1, sizeof *j->term);
	j->term[j->nterm].signal = sig;
	j->term[j->nterm].at_ms = now_ms() - x->t0;
	j->nterm++;
}

static void on_kill(struct timer *t)
{
	struct exec_state *x = t->data;
	if (!x->exited)
		send_sig(x, SIGKILL);
}

static void on_timeout(struct timer *t)
{
	struct exec_state *x = t->data;
	if (x->exited)
		return;
	x->timed_out = true;
	send_sig(x, x->sig);
	/* a stopped command would not see TERM until continued */
	if (x->sig != SIGKILL && x->sig != SIGCONT) {
		if (x->foreground)
			kill_pid(x->pid, SIGCONT);
		else
			kill_group(x->pid, SIGCONT);
	}
	if (x->kill_after > 0)
		timer_start(x->loop, &x->t_kill, now_ms() + x->kill_after * 1000, on_kill, x);
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
}

static void on_signal(struct watch *w, uint32_t ev)
{
	struct exec_state *x = w->data;
	struct signalfd_siginfo si;
	while (read(x->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (x->exited)
			continue;
		/* In --foreground mode the command shares our group: the
		 * terminal's own signals (from the kernel) reached it already. */
		if (x->foreground && si.ssi_code == SI_KERNEL)
			continue;
		if (x->foreground)
			kill_pid(x->pid, (int)si.ssi_signo);
		else
			kill_group(x->pid, (int)si.ssi_signo);
	}
}

static int exec_fail(const char *fmt, ...) PRINTF(1, 2);
static int exec_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "piperun: exec: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return EXIT_CANCELED;
}

/* Die of the signal the command died of, when that cannot hurt: not for
 * signals whose default action dumps core (a core of piperun would
 * mislead). */
static bool safe_to_raise(int sig)
{
	switch (sig) {
	case SIGHUP: case SIGINT: case SIGPIPE: case SIGTERM: case SIGUSR1:
	case SIGUSR2: case SIGALRM: case SIGKILL: case SIGVTALRM: case SIGPROF:
		return true;
	default:
		return false;
	}
}

static int write_json(const char *file, struct exec_state *x, struct job_spec *js)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0)
		return -1;
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
	(void)js;
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

	/* resolve like execvp, with the exit statuses of timeout(1) */
	int st;
	char *path = path_resolve(cmd[0], getenv("PATH"), NULL, &st);
	if (!path) {
		fprintf(stderr, "piperun: exec: failed to run command '%s': %s\n", cmd[0],
			st == 127 ? "No such file or directory" : "Permission denied");
		return st;
	}

	struct exec_state x = { .foreground = foreground, .sig = sig, .kill_after = kill_after,
				.pidfd = -1, .sigfd = -1 };
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(&set, forwarded[i]);
	if (sig != SIGKILL && sig != SIGSTOP)
		sigaddset(&set, sig);
	sigprocmask(SIG_BLOCK, &set, NULL);
	x.loop = loop_new();
	x.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (!x.loop || x.sigfd < 0) {
		free(path);
		loop_free(x.loop);
		return exec_fail("cannot set up: %s", strerror(errno));
	}

	struct spawn_opts o = {
		.path = path,
		.argv = cmd,
		.fd = { 0, 1, 2 },
		.pgid = foreground ? -1 : 0,
		.cgroup_procs_fd = -1,
		.default_tty_signals = !foreground,
	};
	struct spawn_error se;
	x.t0 = now_ms();
	if (spawn_start(&o, &x.pid, &x.pidfd, &se) < 0) {
		int code = se.step == SPAWN_EXEC ? (se.err == ENOENT ? EXIT_ENOENT : EXIT_CANNOT_INVOKE)
						 : EXIT_CANCELED;
		fprintf(stderr, "piperun: exec: failed to run command '%s': %s\n", cmd[0],
			strerror(se.err));
		free(path);
		close(x.sigfd);
		loop_free(x.loop);
		return code;
	}
	loop_add(x.loop, &x.w_pid, x.pidfd, EPOLLIN, on_pid, &x);
	loop_add(x.loop, &x.w_sig, x.sigfd, EPOLLIN, on_signal, &x);
	if (timeout > 0)
		timer_start(x.loop, &x.t_timeout, x.t0 + timeout * 1000, on_timeout, &x);
	while (!x.exited)
		if (loop_run_once(x.loop, -1) < 0 && errno != EINTR)
			break;
	double dur = now_ms() - x.t0;
	timer_stop(x.loop, &x.t_timeout);
	timer_stop(x.loop, &x.t_kill);
	loop_del(x.loop, &x.w_sig);
	close(x.sigfd);
	close(x.pidfd);
	loop_free(x.loop);

	int rc = x.st.signal ? 128 + x.st.signal : x.st.exit_code;
	if (x.timed_out && !preserve)
		rc = EXIT_TIMEDOUT;
	if (json) {
		/* the same record as a `run` job's */
		struct stage_spec stage = { .argv = cmd, .argc = (size_t)(argc - optind), .exe = path };
		struct job_spec js = { .name = "exec", .kind = KIND_RUN, .stages = &stage, .nstages = 1,
				       .out = { .mode = IO_INHERIT }, .err = { .mode = IO_INHERIT },
				       .signal = sig, .kill_after = kill_after, .timeout = timeout };
		x.rec.spec = &js;
		x.rec.attempts = 1;
		x.rec.duration_ms = dur;
		x.rec.stages = &x.st;
		x.rec.nstages = 1;
		x.rec.has_rc = true;
		x.rec.returncode = x.st.signal ? -x.st.signal : x.st.exit_code;
		x.rec.status = x.timed_out ? ST_TIMEOUT : x.rec.returncode == 0 ? ST_OK : ST_FAILED;
		x.rec.out.spill_fd = x.rec.err.spill_fd = -1;
		if (write_json(json, &x, &js) < 0) {
			fprintf(stderr, "piperun: exec: --json %s: %s\n", json, strerror(errno));
			if (!x.timed_out && !x.st.signal)
				rc = EXIT_CANCELED;
		}
		x.rec.stages = NULL;
	}
	free(x.rec.term);
	free(path);
	if (x.st.signal && !x.timed_out && safe_to_raise(x.st.signal)) {
		/* like coreutils: a command killed by N makes us killed by N */
		die_of_signal(x.st.signal);
	}
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
	"The command runs in a process group of its own; a timeout signals the\n"
	"whole group.  SIGHUP/INT/QUIT/TERM/USR1/USR2/ALRM/CONT/WINCH sent to piperun\n"
	"are passed on to it.  stdio is inherited.\n"
	"\n"
	"exit status: the command's; 124 if it timed out (also when KILL was\n"
	"needed, unlike coreutils' 137), 125 if piperun itself failed (usage\n"
	"errors too), 126 found but not executable, 127 not found, 128+N killed\n"
	"by signal N (piperun then dies of N itself when that is safe).\n",
	.exec = cmd_exec,
};
