/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-step-host.c - the hidden `piperun __step-host [-s SIG] [-k SECS]
 * [-b 1] [-n NICE] [-i N] [-o N]... STATUSFILE ARGV...`: the task of a job's Slurm step (--executor
 * slurm, proc-slurm.c), on the node.  srun's own exit status cannot tell
 * a job's `exit 2` from "not found", nor `exit 143` from SIGTERM; so
 * this host runs the command and writes what happened to STATUSFILE, a
 * line at a time:
 *
 *   start JOBID STEPID NODE            before anything else
 *   exit CODE USER_MS SYS_MS MAXRSS_KB    the command exited
 *   signal SIG CORE USER_MS SYS_MS MAXRSS_KB   it was killed by SIG
 *   error exec ERRNO                   it could not be executed
 *   error nice ERRNO                   or not given its niceness
 *   term SIG REALTIME_MS               sent to what it left behind
 *
 * Its fds beyond 0-2 (-i N, -o N): only fds 0-2 cross srun, so a host
 * of piperun's own (__pipeline-host, __steps: their description on fd
 * 3, their records or info lines on fd 4 and up) gets each as a file
 * next to STATUSFILE: -i N opens STATUSFILE.N (the runner wrote it
 * before srun) for reading as the command's fd N, -o N opens
 * STATUSFILE.N for appending as its fd N, and the runner copies what
 * the command appends there to where that fd goes locally, as it comes
 * (proc-slurm.c).  -b 1: the command starts with every signal blocked
 * (the pipeline host, as the runner starts it locally).  -n NICE: the
 * command runs at niceness NICE (setpriority before exec; the runner
 * adds the job's nice to its own, the niceness a local child gets).
 *
 * The runner takes the job's status from there, never from srun's.
 * The command runs in the host's process group, the step's; the host
 * passes the runner's signals on to the rest of it (see struct watch
 * for which and how), and what the command leaves in the group
 * when it exits gets the job's signal SIG (-s), then KILL after SECS
 * (-k), as a local job's leftovers do (proc_wait_empty); the host, a
 * subreaper, reaps the orphans, and exits once the group is empty, so
 * that nothing of the job outlives its step.  Once the status file has
 * the outcome the host exits 0: srun prints "srun: error: NODE: task 0:
 * Exited with exit code N" (or "Terminated") on the job's own stderr
 * for any other end of its task, --quiet or not.  Should the status
 * file not take it, the host ends as the command did (its exit code, or
 * it dies of its signal).  It runs before piperun's process-wide set-up:
 * the command inherits the process as srun started it. */
#include "config.h"
#include "cmd.h"
#include "util.h"
#include "spawn.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* The signals the host takes and passes on (struct watch). */
static const int passed[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,
			      SIGALRM, SIGCONT, SIGPIPE, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF };


/* The command's fds beyond 0-2: fd[i] becomes its fd num[i]. */
struct extra {
	int num[SPAWN_MAX_EXTRA], fd[SPAWN_MAX_EXTRA], out[SPAWN_MAX_EXTRA];
	int n;
	bool block;  /* -b 1: the command starts with every signal blocked
			(a pipeline host, as the runner starts it locally) */
	bool has_nice;  /* -n N: the command runs at niceness N (the job's
			   nice added to the runner's, as a local child's) */
	int nice;
	int top;     /* above every num (and so every fd the child sets) */
};

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

/* Fork and exec argv; the child's errno comes back on a CLOEXEC pipe,
 * with what failed (*nice: its setpriority, else the exec).  Returns
 * the pid, or -1 with *err. */
static pid_t launch(char **argv, const sigset_t *mask, const struct extra *x, int *err,
		    bool *nice)
{
	*nice = false;
	char buf[4096];
	const char *exe = lookup(argv[0], buf, sizeof buf, err);
	if (!exe)
		return -1;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		*err = errno;
		return -1;
	}
	for (int k = 0; k < 2 && p[k] < x->top; k++) {
		/* out of the way of the fds the child sets */
		int moved = fcntl(p[k], F_DUPFD_CLOEXEC, x->top);
		if (moved >= 0) {
			close(p[k]);
			p[k] = moved;
		}
	}
	sigset_t all;
	sigfillset(&all);
	pid_t pid = fork();
	if (pid == 0) {
		/* async-signal-safe calls only */
		close(p[0]);
		sigprocmask(SIG_SETMASK, x->block ? &all : mask, NULL);
		int e[2] = { 0, 0 };   /* errno, and 1 for the nice */
		if (x->has_nice && setpriority(PRIO_PROCESS, 0, x->nice) < 0) {
			e[0] = errno;
			e[1] = 1;
		}
		for (int k = 0; k < x->n && !e[0]; k++)   /* above every num: no clash */
			if (dup2(x->fd[k], x->num[k]) < 0)
				e[0] = errno;
		if (!e[0]) {
			execve(exe, argv, environ);
			e[0] = errno;
		}
		ssize_t w = write(p[1], e, sizeof e);
		(void)w;
		_exit(127);
	}
	close(p[1]);
	if (pid < 0) {
		*err = errno;
		close(p[0]);
		return -1;
	}
	int e[2];
	ssize_t r;
	while ((r = read(p[0], e, sizeof e)) < 0 && errno == EINTR)
		;
	close(p[0]);
	if (r == sizeof e) {
		waitpid(pid, NULL, 0);
		*err = e[0];
		*nice = e[1];
		return -1;
	}
	return pid;
}

static double ms(struct timeval t)
{
	return t.tv_sec * 1e3 + t.tv_usec / 1e3;
}

static double now(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The host's watch over the command and what it leaves in the group.
 * The command stays in the host's process group, the step's: Slurm's
 * proctrack/pgid signals and kills that group, so nothing of the job
 * escapes when Slurm ends the step (srun SIGKILLed, the allocation
 * cancelled).  Signals stay blocked in the host and are taken with
 * sigtimedwait:
 *   - CARRIER, SIGCONT: the runner's ladder (scancel --signal=CONT to the
 *     step; harmless to the rest of the group): the signals it asks for
 *     are the lines of STATUSFILE.ctl not read yet, each sent to every
 *     other process of the group (then SIGCONT), one by one (a group
 *     signal would reach the host: a KILL would end it).  The runner
 *     never sends the job's signal itself to the step: slurmstepd writes
 *     "*** STEP ... CANCELLED ***" on the job's stderr for a TERM or KILL.
 *   - any other: Slurm's own (or the job's `kill 0`), which reached the
 *     whole group already: nothing to pass on.
 * Once the command exited, what is left in the group gets the job's
 * signal, then KILL after kill_after, each written "term SIG
 * REALTIME_MS"; orphans (ours: a subreaper) are reaped as they end. */
#define CARRIER SIGCONT

struct watch {
	int fd, sig;
	const char *ctl;
	off_t ctl_off;
	double kill_after, kill_at;   /* kill_at < 0: no KILL armed */
	bool killed, done, ladder;
	pid_t pid;
	int status;
	struct rusage ru;
};

/* sig to every other process of our group (found in /proc; as a
 * subreaper, orphans are ours), zombies included: one left behind
 * would keep the step (proctrack/pgid looks at the group) from ending.
 * Returns how many there were. */
static int group_signal(int sig)
{
	pid_t self = getpid(), pg = getpgrp();
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d))) {
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid <= 0 || pid == self)
			continue;
		char path[64], b[512];
		snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t r = fd >= 0 ? read(fd, b, sizeof b - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (r <= 0)
			continue;
		b[r] = '\0';
		char *rp = strrchr(b, ')'), state;
		int ppid, pgrp;
		if (!rp || sscanf(rp + 1, " %c %d %d", &state, &ppid, &pgrp) != 3 || pgrp != pg)
			continue;
		n++;
		if (sig)
			kill(pid, sig);
	}
	if (d)
		closedir(d);
	return n;
}

static void outcome(struct watch *w)
{
	int st = w->status;
	const struct rusage *ru = &w->ru;
	if (WIFSIGNALED(st))
		w->done = say(w->fd, "signal %d %d %.3f %.3f %ld\n", WTERMSIG(st),
			      WCOREDUMP(st) ? 1 : 0, ms(ru->ru_utime), ms(ru->ru_stime),
			      ru->ru_maxrss);
	else
		w->done = say(w->fd, "exit %d %.3f %.3f %ld\n", WEXITSTATUS(st),
			      ms(ru->ru_utime), ms(ru->ru_stime), ru->ru_maxrss);
}

/* Reap what ended; true once the command has. */
static bool reap(struct watch *w)
{
	int st;
	struct rusage ru;
	pid_t r;
	while ((r = wait4(-1, &st, WNOHANG, &ru)) > 0)
		if (r == w->pid) {
			w->pid = 0;
			w->status = st;
			w->ru = ru;
			outcome(w);
		}
	return w->pid == 0;
}

static void pass_on(struct watch *w, int sig, bool cont)
{
	if (sig == SIGKILL)
		w->killed = true;
	group_signal(sig);
	if (cont && sig != SIGKILL && sig != SIGCONT)
		group_signal(SIGCONT);
}

/* The runner's signals: the new lines of the control file. */
static void take_ctl(struct watch *w)
{
	int fd = open(w->ctl, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	char b[256];
	ssize_t n = pread(fd, b, sizeof b - 1, w->ctl_off);
	close(fd);
	if (n <= 0)
		return;
	b[n] = '\0';
	for (char *l = b, *e; (e = strchr(l, '\n')); l = e + 1) {
		w->ctl_off += e - l + 1;
		int sig = atoi(l);
		if (sig <= 0 || sig >= NSIG)
			continue;
		w->ladder = true;   /* its KILL is the runner's to send */
		pass_on(w, sig, true);
	}
}

/* One look; returns how long to wait (ms) before the next, -1: done. */
static double watch_step(struct watch *w, double *backoff)
{
	bool exited = reap(w);
	double t = now(CLOCK_MONOTONIC);
	if (w->kill_at >= 0 && t >= w->kill_at && !w->killed) {
		say(w->fd, "term %d %.3f\n", SIGKILL, now(CLOCK_REALTIME));
		pass_on(w, SIGKILL, false);
	}
	if (!exited)
		return w->kill_at >= 0 && !w->killed ? w->kill_at - t : 1000;
	if (!group_signal(0))
		return -1;
	if (w->killed) {
		pass_on(w, SIGKILL, false);   /* what a KILL missed (forked since) */
	} else if (w->kill_at < 0 && !w->ladder) {
		say(w->fd, "term %d %.3f\n", w->sig, now(CLOCK_REALTIME));
		pass_on(w, w->sig, true);
		w->kill_at = w->kill_after > 0 ? t + w->kill_after * 1e3 : 1e300;
	}
	*backoff = *backoff ? (*backoff * 2 > 50 ? 50 : *backoff * 2) : 1;
	return w->kill_at >= 0 && !w->killed && w->kill_at - t < *backoff ? w->kill_at - t
									 : *backoff;
}

static void supervise(struct watch *w, const sigset_t *set)
{
	double backoff = 0, wait;
	while ((wait = watch_step(w, &backoff)) >= 0) {
		if (wait < 0.1)
			wait = 0.1;
		struct timespec ts = { (time_t)(wait / 1000),
				       (long)((wait - (time_t)(wait / 1000) * 1000) * 1e6) };
		if (sigtimedwait(set, NULL, &ts) == CARRIER)
			take_ctl(w);
	}
}


/* -s SIG -k SECS -b 1 -i N -o N before STATUSFILE: the job's signal and
 * kill_after for what the command leaves behind, its fds beyond 0-2.
 * Returns the index of STATUSFILE, or -1. */
static int parse(int argc, char **argv, int *sig, double *kill_after, struct extra *x)
{
	int i = 1;
	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (!strcmp(argv[i], "-s")) {
			*sig = atoi(argv[i + 1]);
		} else if (!strcmp(argv[i], "-k")) {
			*kill_after = atof(argv[i + 1]);
		} else if (!strcmp(argv[i], "-b")) {
			x->block = atoi(argv[i + 1]) != 0;
		} else if (!strcmp(argv[i], "-n")) {
			x->has_nice = true;
			x->nice = atoi(argv[i + 1]);
		} else if ((!strcmp(argv[i], "-i") || !strcmp(argv[i], "-o")) &&
			   x->n < SPAWN_MAX_EXTRA) {
			x->num[x->n] = atoi(argv[i + 1]);
			x->out[x->n] = argv[i][1] == 'o';
			if (x->num[x->n] < 3 || x->num[x->n] >= 3 + SPAWN_MAX_EXTRA)
				return -1;
			x->n++;
		} else {
			return -1;
		}
	}
	return argc - i >= 2 && *sig > 0 && *sig < NSIG ? i : -1;
}

/* Open the files of the command's fds, each moved above every fd
 * number it is to become (the child dup2s them into place).  Returns
 * 0, or -1 after saying why. */
static int open_extra(struct extra *x, const char *status)
{
	int top = 3;
	for (int k = 0; k < x->n; k++)
		if (x->num[k] + 1 > top)
			top = x->num[k] + 1;
	for (int k = 0; k < x->n; k++) {
		char path[4096];
		snprintf(path, sizeof path, "%s.%d", status, x->num[k]);
		int fd = open(path, x->out[k] ? O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC
			      : O_RDONLY | O_CLOEXEC, 0600);
		int moved = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, top) : -1;
		if (fd >= 0)
			close(fd);
		if (moved < 0) {
			fprintf(stderr, "piperun: __step-host: %s: %s\n", path, strerror(errno));
			return -1;
		}
		x->fd[k] = moved;
	}
	x->top = top;
	return 0;
}

/* "start JOB STEP NODE". */
static void say_start(int fd)
{
	char node[256] = "";
	const char *nn = getenv("SLURMD_NODENAME");
	if (nn)
		snprintf(node, sizeof node, "%s", nn);
	else if (gethostname(node, sizeof node - 1) < 0)
		strcpy(node, "?");
	const char *job = getenv("SLURM_JOB_ID"), *step = getenv("SLURM_STEP_ID");
	say(fd, "start %s %s %s\n", job ? job : "?", step ? step : "?", node);
}

/* Not told (the status file failed us): end as the command did, its
 * exit code, or its signal (no core of our own). */
static int end_as(int st)
{
	if (!WIFSIGNALED(st))
		return WEXITSTATUS(st);
	die_of_signal(WTERMSIG(st));
	return 128 + WTERMSIG(st);
}

static int step_host_main(int argc, char **argv)
{
	int sig = SIGTERM;
	double kill_after = 2;
	struct extra x = { .n = 0, .top = 3 };
	int a = parse(argc, argv, &sig, &kill_after, &x);
	if (a < 0) {
		fprintf(stderr, "piperun: __step-host: usage: __step-host [-s SIG] [-k SECS] "
			"[-b 1] [-n NICE] [-i FD] [-o FD]... STATUSFILE ARGV...\n");
		return 2;
	}
	int fd = open(argv[a], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "piperun: __step-host: %s: %s\n", argv[a], strerror(errno));
		return 125;
	}
	if (open_extra(&x, argv[a]) < 0) {
		close(fd);
		return 125;
	}
	/* Signals blocked before "start": the runner's wake-up once it has
	 * seen it must not be lost */
	sigset_t orig, set;
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof passed / sizeof *passed; i++)
		sigaddset(&set, passed[i]);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &orig);
	say_start(fd);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	int err;
	char ctl[4096];
	snprintf(ctl, sizeof ctl, "%s.ctl", argv[a]);
	struct watch w = { .fd = fd, .sig = sig, .kill_after = kill_after, .kill_at = -1,
			   .ctl = ctl };
	bool nice;
	w.pid = launch(argv + a + 1, &orig, &x, &err, &nice);
	for (int k = 0; k < x.n; k++)
		close(x.fd[k]);
	if (w.pid < 0) {
		bool told = say(fd, "error %s %d\n", nice ? "nice" : "exec", err);
		return close(fd) == 0 && told ? 0 : err == ENOENT ? 127 : 126;
	}
	take_ctl(&w);   /* what the runner sent before we started */
	supervise(&w, &set);
	bool told = close(fd) == 0 && w.done;
	return told ? 0 : end_as(w.status);
}

const struct cmd_entry cmd_step_host_entry = {
	.name = "__step-host",
	.synopsis = "__step-host [-s SIG] [-k SECS] [-b 1] [-n NICE] [-i FD] [-o FD]... STATUSFILE ARGV...",
	.summary = "the task of one job's Slurm step (started by `piperun run "
		   "--executor slurm` through srun)",
	.help = "",
	.exec = step_host_main,
	.flags = CMD_HIDDEN | CMD_BEFORE_SETUP | CMD_ARGS,
};
