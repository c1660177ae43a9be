/* SPDX-License-Identifier: GPL-3.0-or-later */
/* proc-slurm.c - the Slurm executor: a proc's process is a step of the
 * run's allocation (slurm.h).  The local process is
 *
 *   srun --jobid=J --overlap -n1 -N1 --cpus-per-task=C [--mem=M]
 *        --job-name=NAME --kill-on-bad-exit --quiet [extra_args] --
 *        PIPERUN __step-host STATUSFILE ARGV...
 *
 * with the job's stdio as its own (srun passes stdin, stdout and stderr
 * through the step byte for byte), so proc.c's watch, pipes and ladder
 * apply unchanged.  The job's status comes from STATUSFILE, which the
 * step host (cmd-step-host.c) writes on the node, never from srun's
 * exit status.  Its signals go to the host with scancel (CARRIER,
 * below; a signal to srun itself makes it SIGKILL the step at once,
 * with no grace); before the step is known (its host not started yet),
 * to srun.
 * A host of piperun's own (a pipeline or steps job: fds 3 and up,
 * chain.h, kind-steps.c) has its fds beyond 0-2 as files next to
 * STATUSFILE, since only 0-2 cross srun (__step-host -i/-o): its fd 3,
 * its input (the description), is copied to STATUSFILE.3 before srun
 * starts; each of its fds 4 and up, an output (records, info lines, a
 * stderr of its own), is STATUSFILE.N, which the runner copies to
 * where that fd goes locally (the pipe the job reads, a file) as it
 * grows: polled, 1 ms doubling to 50 ms while nothing comes, and to
 * the end once srun exited (the step is over; until the copy is done
 * the proc counts as alive, so the job reads it all before it ends).
 * The job's cwd, umask and rlimits are srun's, which it passes on to the
 * step; its nice the host's -n (srun passes on none); its environment is srun's too (with SLURM_CONF kept), plus what
 * Slurm adds (SLURM_*). */
#include "config.h"
#include "jsonw.h"
#include "proc.h"
#include "slurm.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* The ladder's signals reach the command through its host
 * (cmd-step-host.c): a line "SIG" appended to STATUSFILE.ctl, then
 * scancel --signal=CONT to the step (a wake-up that is harmless to the
 * job's processes, which share the host's process group so that Slurm
 * ends them all with the step); the host sends each signal to the others
 * of its group.  A TERM or KILL sent to the step itself would have
 * slurmstepd write "*** STEP ... CANCELLED ***" on the job's stderr, and
 * a KILL would end the host.  Should srun still be there this long after
 * the KILL went so, the step gets a real one. */
#define CARRIER SIGCONT
#define KILL_BACKSTOP_MS 3000.0

/* One of a host's outputs: a file the runner copies to sink. */
struct tail {
	int sink;             /* where the fd goes locally (ours, CLOEXEC) */
	char *path;
	off_t off;            /* copied so far */
};

struct step {
	char *status;         /* the status file */
	struct tail *tails;   /* the host's fds 4 and up */
	int ntails;
	struct timer t_tail;
	double tail_ms;
	char *ctl;            /* the ladder's signals for the host */
	struct timer t_kill;  /* the KILL's backstop */
	struct timer t_run;   /* looks for the host's start line */
	double run_ms;
	struct proc *p;
	char target[64];      /* "JOB.STEP" once known, else "" */
	char node[128];
};

/* The job's environment and what srun itself needs of piperun's. */
static char **step_env(char *const *envp)
{
	static const char *const keep[] = { "SLURM_CONF", NULL };
	char *const *base = envp ? envp : environ;
	size_t n = 0;
	while (base[n])
		n++;
	char **e = xcalloc(n + 2, sizeof *e);
	memcpy(e, base, n * sizeof *e);
	for (size_t k = 0; envp && keep[k]; k++) {
		const char *v = getenv(keep[k]);
		size_t kl = strlen(keep[k]);
		bool has = false;
		for (size_t i = 0; i < n && !has; i++)
			has = !strncmp(e[i], keep[k], kl) && e[i][kl] == '=';
		if (v && !has)
			e[n++] = xasprintf("%s=%s", keep[k], v);   /* step_env_free's */
	}
	return e;
}

static void step_env_free(char **e, char *const *envp)
{
	size_t n = 0;
	while (envp && envp[n])
		n++;
	for (size_t i = n; envp && e[i]; i++)
		free(e[i]);
	free(e);
}

/* srun's argv for command argv (malloc'd, with its strings). */
static char **srun_argv(struct slurm_alloc *a, const struct proc *p, const char *status,
			char *const *argv, bool self, int nextra, bool block, const int *nice)
{
	const struct slurm_spec *x = a->spec;
	size_t n = 0;
	while (argv[n])
		n++;
	char **v = xcalloc(26 + x->nextra_args + n + 2 * (size_t)nextra, sizeof *v);
	size_t k = 0;
	v[k++] = xstrdup(a->srun);
	v[k++] = xasprintf("--jobid=%s", a->jobid);
	v[k++] = xstrdup("--overlap");
	v[k++] = xstrdup("-n1");
	v[k++] = xstrdup("-N1");
	v[k++] = xasprintf("--cpus-per-task=%ld", x->cpus_per_job);
	if (x->mem_mb)
		v[k++] = xasprintf("--mem=%ldM", x->mem_mb);
	v[k++] = xasprintf("--job-name=%s", a->name);   /* the sentinel's (slurm.c) */
	v[k++] = xstrdup("--kill-on-bad-exit");
	v[k++] = xstrdup("--quiet");
	for (size_t i = 0; i < x->nextra_args; i++)
		v[k++] = xstrdup(x->extra_args[i]);
	v[k++] = xstrdup("--");
	v[k++] = xstrdup(a->self);
	v[k++] = xstrdup("__step-host");
	v[k++] = xstrdup("-s");
	v[k++] = xasprintf("%d", p->leftover_sig);
	v[k++] = xstrdup("-k");
	v[k++] = xasprintf("%.3f", p->leftover_kill_after);
	if (block) {
		v[k++] = xstrdup("-b");
		v[k++] = xstrdup("1");
	}
	if (nice) {
		v[k++] = xstrdup("-n");
		v[k++] = xasprintf("%d", *nice);
	}
	for (int i = 0; i < nextra; i++) {
		v[k++] = xstrdup(i == 0 ? "-i" : "-o");
		v[k++] = xasprintf("%d", 3 + i);
	}
	v[k++] = xstrdup(status);
	for (size_t i = 0; i < n; i++)
		v[k++] = xstrdup(i == 0 && self ? a->self : argv[i]);
	return v;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* The host's input, fd 3 (its description, a memfd): its bytes to
 * path.  Returns 0, or -1 with errno. */
static int copy_in(int fd, const char *path)
{
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		return -1;
	char b[65536];
	off_t off = 0;
	ssize_t r, w = 0;
	while ((r = pread(fd, b, sizeof b, off)) > 0) {
		for (ssize_t done = 0; done < r; done += w)
			if ((w = write(out, b + done, (size_t)(r - done))) < 0)
				break;
		if (w < 0)
			break;
		off += r;
	}
	int err = r < 0 || w < 0 ? errno : 0;
	if (close(out) < 0 && !err)
		err = errno;
	errno = err;
	return err ? -1 : 0;
}

/* Where one of the host's outputs goes locally, as an fd of our own: a
 * pipe opened anew, non-blocking (the runner reads it on this very
 * loop; the child's end, which srun may share, stays as it is), or
 * else fd itself again. */
static int sink_of(int fd)
{
	struct stat sb;
	if (fstat(fd, &sb) == 0 && S_ISFIFO(sb.st_mode)) {
		char path[64];
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		int s = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (s >= 0)
			return s;
	}
	return fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

/* Copy what the host appended to its outputs since the last time.
 * Returns whether some is left for later (a sink full); *moved: whether
 * anything went. */
static bool tail_pump(struct step *st, bool *moved)
{
	bool pending = false;
	char b[65536];
	for (int i = 0; i < st->ntails; i++) {
		struct tail *t = &st->tails[i];
		int fd = t->sink >= 0 ? open(t->path, O_RDONLY | O_CLOEXEC) : -1;
		ssize_t r;
		while (fd >= 0 && (r = pread(fd, b, sizeof b, t->off)) > 0) {
			ssize_t w = write(t->sink, b, (size_t)r);
			if (w > 0) {
				t->off += w;
				*moved = true;
			}
			if (w == r)
				continue;
			if (w < 0 && errno != EAGAIN && errno != EINTR) {
				close(t->sink);   /* its reader is gone */
				t->sink = -1;
			} else {
				pending = true;
			}
			break;
		}
		if (fd >= 0)
			close(fd);
	}
	return pending;
}

static void on_tail(struct timer *t)
{
	struct step *st = t->data;
	bool moved = false;
	tail_pump(st, &moved);
	st->tail_ms = moved ? 1 : proc_poll_backoff(st->tail_ms);
	timer_start(st->p->loop, &st->t_tail, now_ms() + st->tail_ms, on_tail, st);
}

static void tails_free(struct step *st)
{
	for (int i = 0; i < st->ntails; i++) {
		if (st->tails[i].sink >= 0)
			close(st->tails[i].sink);
		unlink(st->tails[i].path);
		free(st->tails[i].path);
	}
	free(st->tails);
	st->tails = NULL;
	st->ntails = 0;
}

/* The host's fds beyond 0-2 as files (see the top): fd 3 copied in,
 * the others made empty with their sinks.  Returns 0, or -1 with *e. */
static int extra_files(struct step *st, const struct spawn_opts *so, struct proc_error *e)
{
	if (so->nextra <= 0)
		return 0;
	st->tails = xcalloc((size_t)so->nextra, sizeof *st->tails);
	char *in = xasprintf("%s.3", st->status);
	int rc = copy_in(so->extra_fds[0], in);
	free(in);
	for (int i = 1; rc == 0 && i < so->nextra; i++) {
		struct tail *t = &st->tails[st->ntails];
		t->path = xasprintf("%s.%d", st->status, 3 + i);
		t->sink = -1;
		st->ntails++;
		int fd = open(t->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
		t->sink = fd >= 0 ? sink_of(so->extra_fds[i]) : -1;
		rc = t->sink < 0 ? -1 : 0;
	}
	if (rc < 0) {
		*e = (struct proc_error){ .step = SPAWN_DUP, .err = errno,
					  .slot = 3 + (st->ntails ? st->ntails : 0) };
		return -1;
	}
	return 0;
}

static void on_run_poll(struct timer *t);

static int slurm_start(struct proc *p, struct spawn_opts *so, bool short_in_group,
		       struct proc_error *e)
{
	struct slurm_alloc *a = p->exec_ctx;
	struct step *st = xcalloc(1, sizeof *st);
	st->status = slurm_status_path(a);
	st->ctl = xasprintf("%s.ctl", st->status);
	int nextra = so->nextra;
	int rc = extra_files(st, so, e);
	char *in = xasprintf("%s.3", st->status);
	if (rc == 0) {
		/* piperun itself (a pool job, a host): the same program on the node */
		bool self = so->path && !strcmp(so->path, "/proc/self/exe");
		/* the job's niceness on the node, set by the host: ours plus
		 * its nice, as a local child's (spawn.c); srun runs at ours */
		errno = 0;
		int cur = getpriority(PRIO_PROCESS, 0);
		cur = errno ? 0 : cur;
		int nice = cur + (so->has_nice ? so->nice : 0);
		nice = nice > 19 ? 19 : nice < -20 ? -20 : nice;
		char **argv = srun_argv(a, p, st->status, so->argv, self, nextra,
					so->block_signals, so->has_nice || cur ? &nice : NULL);
		so->has_nice = false;
		char **envp = step_env(so->envp);
		char *const *job_env = so->envp;
		so->path = a->srun;
		so->argv = argv;
		so->envp = envp;
		so->enoexec_argv = NULL;
		so->extra_fds = NULL;     /* the host's own, as files */
		so->nextra = 0;
		so->block_signals = false;   /* the host's command's (-b), not srun's */
		rc = proc_local.start(p, so, short_in_group, e);
		strv_free(argv);
		step_env_free(envp, job_env);
	}
	if (rc < 0) {
		tails_free(st);
		unlink(in);
		free(in);
		free(st->status);
		free(st->ctl);
		free(st);
		return -1;
	}
	free(in);
	st->p = p;
	p->exec_data = st;
	if (st->ntails)
		timer_start(p->loop, &st->t_tail, now_ms() + 1, on_tail, st);
	timer_start(p->loop, &st->t_run, now_ms() + 1, on_run_poll, st);
	return 0;
}

static void add_term(struct proc *p, int sig, double at)
{
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	double mono_at = now_ms() - (rt.tv_sec * 1e3 + rt.tv_nsec / 1e6 - at);
	xgrow(&p->term, &p->term_cap, p->nterm + 1, sizeof *p->term);
	p->term[p->nterm].signal = sig;
	p->term[p->nterm].at_ms = mono_at - p->t0;
	p->nterm++;
}

/* The status file's lines: start, then the outcome (cmd-step-host.c).
 * Returns whether it has an outcome line (in *last). */
static bool read_status(struct proc *p, struct step *st, char *last, size_t nlast)
{
	FILE *f = fopen(st->status, "re");
	char line[512];
	bool outcome = false;
	while (f && fgets(line, sizeof line, f)) {
		char job[32], stepid[32], node[128];
		int sig;
		double at;
		if (sscanf(line, "term %d %lf", &sig, &at) == 2) {
			if (p)
				add_term(p, sig, at);
		} else if (sscanf(line, "start %31s %31s %127s", job, stepid, node) == 3) {
			snprintf(st->target, sizeof st->target, "%s.%s", job, stepid);
			snprintf(st->node, sizeof st->node, "%s", node);
		} else {
			snprintf(last, nlast, "%s", line);
			outcome = true;
		}
	}
	if (f)
		fclose(f);
	return outcome;
}

/* Has the host said "start" (the command runs)?  The first time it
 * has: p->running, and the job hears of it (its timeout counts from
 * here, not from srun's start, which may wait for the cluster). */
static bool step_started(struct step *st)
{
	struct proc *p = st->p;
	char last[512];
	if (!*st->target)
		read_status(NULL, st, last, sizeof last);
	if (!*st->target || p->running || p->exited)
		return *st->target;
	p->running = true;
	timer_stop(p->loop, &st->t_run);
	if (p->on_running)
		p->on_running(p);
	return true;
}

static void on_run_poll(struct timer *t)
{
	struct step *st = t->data;
	if (step_started(st) || st->p->exited)
		return;
	st->run_ms = proc_poll_backoff(st->run_ms);
	timer_start(st->p->loop, &st->t_run, now_ms() + st->run_ms, on_run_poll, st);
}

static void on_backstop(struct timer *t)
{
	struct step *st = t->data;
	if (!st->p->exited && *st->target)
		slurm_signal_step(st->p->exec_ctx, st->target, SIGKILL);
}

static bool slurm_signal(struct proc *p, int sig)
{
	struct step *st = p->exec_data;
	if (p->exited || !st)
		return false;
	if (sig == SIGCONT)
		return true;   /* the host sends the ladder's CONT itself */
	/* The line first, then the look for the host's start: a host that
	 * started since says so before it reads the control file (which
	 * it does once its command runs), so either it reads the line or
	 * we see its start and wake it. */
	char line[16];
	int n = snprintf(line, sizeof line, "%d\n", sig);
	int fd = open(st->ctl, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	bool ok = fd >= 0 && write(fd, line, (size_t)n) == n;
	if (fd >= 0)
		close(fd);
	if (step_started(st)) {
		if (sig == SIGKILL && !timer_armed(&st->t_kill))
			timer_start(p->loop, &st->t_kill, now_ms() + KILL_BACKSTOP_MS, on_backstop, st);
		return ok && slurm_signal_step(p->exec_ctx, st->target, CARRIER);
	}
	/* No step yet: the host passes the signal on as its command starts
	 * (a signal to srun would SIGKILL the step at once, no grace).  A
	 * KILL ends srun too: a step that never starts must end. */
	return sig == SIGKILL ? kill(p->pid, sig) == 0 : ok;
}

static bool slurm_alive(struct proc *p)
{
	/* srun ended with its step; what the step left Slurm ends.  What
	 * the host's outputs still hold goes first (the job reads it before
	 * each look). */
	struct step *st = p->exec_data;
	if (!p->exited)
		return true;
	bool moved = false;
	return st && st->ntails && (tail_pump(st, &moved) || moved);
}

/* The record's "slurm": {"jobid", "stepid", "node"}. */
static void report(struct proc *p, const struct step *st)
{
	char *dot = strchr(st->target, '.');
	if (!dot)
		return;
	struct buf b = { 0 };
	struct jw w;
	char *job = xstrndup(st->target, (size_t)(dot - st->target));
	jw_init(&w, buf_sink_write, &b, false);
	jw_obj(&w, true);
	jw_kstr(&w, "jobid", job);
	char *end;
	long step = strtol(dot + 1, &end, 10);
	if (*end)
		jw_kstr(&w, "stepid", dot + 1);
	else
		jw_kint(&w, "stepid", step);
	jw_kstr(&w, "node", st->node);
	jw_obj_end(&w);
	free(job);
	p->report_key = "slurm";
	p->report_json = buf_detach(&b);
}

/* The job's outcome from the status file: exit, signal, exec error; the
 * whole step killed (SIGKILL: no outcome line) as the KILL it was. */
static void slurm_exited(struct proc *p)
{
	struct step *st = p->exec_data;
	if (!st)
		return;
	char last[512];
	bool outcome = read_status(p, st, last, sizeof last);
	timer_stop(p->loop, &st->t_run);
	report(p, st);
	if (st->ntails) {
		/* the step is over: the rest of its outputs */
		bool moved = false;
		timer_stop(p->loop, &st->t_tail);
		tail_pump(st, &moved);
	}
	struct stage_result *s = &p->status;
	int code, sig, core, err;
	double u, sy;
	long rss;
	if (outcome && sscanf(last, "exit %d %lf %lf %ld", &code, &u, &sy, &rss) == 4) {
		*s = (struct stage_result){ .pid = s->pid, .has_status = true, .exit_code = code,
					    .user_ms = u, .sys_ms = sy, .maxrss_kb = rss };
	} else if (outcome && sscanf(last, "signal %d %d %lf %lf %ld", &sig, &core, &u, &sy,
				     &rss) == 5) {
		*s = (struct stage_result){ .pid = s->pid, .has_status = true, .exit_code = -1,
					    .signal = sig, .core_dumped = core, .user_ms = u,
					    .sys_ms = sy, .maxrss_kb = rss };
	} else if (outcome && sscanf(last, "error exec %d", &err) == 1) {
		p->fail_step = SPAWN_EXEC;
		p->fail_err = err;
	} else if (outcome && sscanf(last, "error nice %d", &err) == 1) {
		p->fail_step = SPAWN_NICE;
		p->fail_err = err;
	} else if (*st->target && s->has_status && (s->signal || s->exit_code == 128 + SIGKILL)) {
		/* the step was killed whole (scancel --signal=KILL): host and
		 * command alike, as a local KILL to the group */
		*s = (struct stage_result){ .pid = s->pid, .has_status = true, .exit_code = -1,
					    .signal = SIGKILL };
	} else {
		p->fail_msg = xasprintf("slurm step %s: no status from the step (srun %s %d)",
					*st->target ? st->target : "(not started)",
					s->signal ? "killed by signal" : "exited", s->signal
					? s->signal : s->exit_code);
	}
}

static void slurm_end(struct proc *p)
{
	struct step *st = p->exec_data;
	proc_local.end(p);
	if (!st)
		return;
	timer_stop(p->loop, &st->t_kill);
	timer_stop(p->loop, &st->t_tail);
	timer_stop(p->loop, &st->t_run);
	tails_free(st);
	char *in = xasprintf("%s.3", st->status);
	unlink(in);
	free(in);
	unlink(st->status);
	unlink(st->ctl);
	free(st->status);
	free(st->ctl);
	free(st);
	p->exec_data = NULL;
}

static void slurm_run_end(void *ctx)
{
	slurm_reap_helpers(ctx, true);
}

const struct proc_executor proc_slurm = {
	.run_end = slurm_run_end,
	.name = "slurm",
	.start = slurm_start,
	.signal = slurm_signal,
	.alive = slurm_alive,
	.end = slurm_end,
	.exited = slurm_exited,
	.late_start = true,
};
