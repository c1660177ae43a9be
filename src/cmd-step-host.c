/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-step-host.c - the hidden `piperun __step-host STATUSFILE ARGV...`:
 * the task of a job's Slurm step (--executor slurm, proc-slurm.c), on
 * the node.  srun's own exit status cannot tell a job's `exit 2` from
 * "not found", nor `exit 143` from SIGTERM; so this host runs the
 * command and writes what happened to STATUSFILE, a line at a time:
 *
 *   start JOBID STEPID NODE            before anything else
 *   exit CODE USER_MS SYS_MS MAXRSS_KB    the command exited
 *   signal SIG CORE USER_MS SYS_MS MAXRSS_KB   it was killed by SIG
 *   error exec ERRNO                   it could not be executed
 *
 * The runner takes the job's status from there, never from srun's; and
 * once it is told, the host exits 0 (see below).
 * The command stays in the host's process group (the step's: Slurm's
 * proctrack/pgid signals and kills that group), so a signal Slurm sends
 * to the step (scancel --signal) reaches it and all it started, as a
 * local job's group signal does; the host only notes such signals and
 * waits for the command.  Should the status file not take the outcome,
 * the host ends as the command did (its exit code, or dies of its
 * signal).  It
 * runs before piperun's process-wide set-up: the command inherits the
 * process as srun started it. */
#include "config.h"
#include "cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* The signals a step gets from Slurm (scancel --signal, srun passing
 * its own on): noted, not acted on (the command gets them too). */
static const int passed[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,
			      SIGALRM, SIGCONT, SIGPIPE, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF };

static void noted(int sig)
{
	(void)sig;
}

/* One line to the status file; whether it got there whole. */
static bool say(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool say(int fd, const char *fmt, ...)
{
	char b[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b, sizeof b, fmt, ap);
	va_end(ap);
	return n > 0 && (size_t)n < sizeof b && write(fd, b, (size_t)n) == n;
}

/* argv[0] on PATH, as execvp finds it (without its /bin/sh fallback:
 * the local executor has none either).  Returns the path to exec (or
 * prog itself), errno of the best failure in *err. */
static const char *lookup(const char *prog, char *buf, size_t n, int *err)
{
	*err = ENOENT;
	if (strchr(prog, '/'))
		return prog;
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path; ; ) {
		const char *e = strchr(p, ':');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		snprintf(buf, n, "%.*s/%s", (int)len, len ? p : ".", prog);
		struct stat st;
		if (stat(buf, &st) == 0 && !S_ISDIR(st.st_mode)) {
			if (access(buf, X_OK) == 0)
				return buf;
			*err = EACCES;
		}
		if (!e)
			return NULL;
		p = e + 1;
	}
}

/* Fork and exec argv; the child's exec errno comes back on a CLOEXEC
 * pipe.  Returns the pid, or -1 with *err. */
static pid_t launch(char **argv, const sigset_t *mask, int *err)
{
	char buf[4096];
	const char *exe = lookup(argv[0], buf, sizeof buf, err);
	if (!exe)
		return -1;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		*err = errno;
		return -1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		/* async-signal-safe calls only */
		close(p[0]);
		sigprocmask(SIG_SETMASK, mask, NULL);
		execve(exe, argv, environ);
		int e = errno;
		ssize_t w = write(p[1], &e, sizeof e);
		(void)w;
		_exit(127);
	}
	close(p[1]);
	if (pid < 0) {
		*err = errno;
		close(p[0]);
		return -1;
	}
	int e;
	ssize_t r;
	while ((r = read(p[0], &e, sizeof e)) < 0 && errno == EINTR)
		;
	close(p[0]);
	if (r == sizeof e) {
		waitpid(pid, NULL, 0);
		*err = e;
		return -1;
	}
	return pid;
}

static double ms(struct timeval t)
{
	return t.tv_sec * 1e3 + t.tv_usec / 1e3;
}

static int step_host_main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "piperun: __step-host: usage: __step-host STATUSFILE ARGV...\n");
		return 2;
	}
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "piperun: __step-host: %s: %s\n", argv[1], strerror(errno));
		return 125;
	}
	char node[256] = "";
	const char *nn = getenv("SLURMD_NODENAME");
	if (nn)
		snprintf(node, sizeof node, "%s", nn);
	else if (gethostname(node, sizeof node - 1) < 0)
		strcpy(node, "?");
	const char *job = getenv("SLURM_JOB_ID"), *step = getenv("SLURM_STEP_ID");
	say(fd, "start %s %s %s\n", job ? job : "?", step ? step : "?", node);

	sigset_t orig;
	sigprocmask(SIG_SETMASK, NULL, &orig);
	struct sigaction sa = { .sa_handler = noted };
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof passed / sizeof *passed; i++)
		sigaction(passed[i], &sa, NULL);
	int err;
	pid_t pid = launch(argv + 2, &orig, &err);
	if (pid < 0) {
		bool told = say(fd, "error exec %d\n", err);
		return close(fd) == 0 && told ? 0 : err == ENOENT ? 127 : 126;
	}
	int st;
	struct rusage ru;
	while (wait4(pid, &st, 0, &ru) < 0)
		if (errno != EINTR)
			return 125;
	/* Told: exit 0.  srun prints "srun: error: NODE: task 0: Exited
	 * with exit code N" (or "Terminated") on the job's own stderr for
	 * any other end of its task, --quiet or not, which would make the
	 * job's stderr differ from a local run's. */
	bool told;
	if (WIFSIGNALED(st))
		told = say(fd, "signal %d %d %.3f %.3f %ld\n", WTERMSIG(st), WCOREDUMP(st) ? 1 : 0,
			   ms(ru.ru_utime), ms(ru.ru_stime), ru.ru_maxrss);
	else
		told = say(fd, "exit %d %.3f %.3f %ld\n", WEXITSTATUS(st), ms(ru.ru_utime),
			   ms(ru.ru_stime), ru.ru_maxrss);
	told = close(fd) == 0 && told;
	if (told)
		return 0;
	if (WIFSIGNALED(st)) {
		/* not told: die of the same signal (no core of our own), as
		 * the command did */
		int sig = WTERMSIG(st);
		/* die of it too (no core of our own), as a local job's
		 * process would have */
		struct rlimit no = { 0, 0 };
		setrlimit(RLIMIT_CORE, &no);
		signal(sig, SIG_DFL);
		sigset_t one;
		sigemptyset(&one);
		sigaddset(&one, sig);
		sigprocmask(SIG_UNBLOCK, &one, NULL);
		raise(sig);
		return 128 + sig;
	}
	return WEXITSTATUS(st);
}

const struct cmd_entry cmd_step_host_entry = {
	.name = "__step-host",
	.synopsis = "__step-host STATUSFILE ARGV...",
	.summary = "the task of one job's Slurm step (started by `piperun run "
		   "--executor slurm` through srun)",
	.help = "",
	.exec = step_host_main,
	.flags = CMD_HIDDEN | CMD_BEFORE_SETUP | CMD_ARGS,
};
