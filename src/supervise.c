/* SPDX-License-Identifier: GPL-3.0-or-later */
/* supervise.c - one command under a deadline (see supervise.h): the
 * engine of `piperun exec` and `piperun timeout`, with the rules of each
 * in one table. */
#include "config.h"
#include "supervise.h"
#include "afile.h"
#include "cu-args.h"
#include "jsonw.h"
#include "job.h"
#include "loop.h"
#include "proc.h"
#include "report.h"
#include "signals.h"
#include "spawn.h"
#include "spec.h"
#include "trace.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* What differs between the two sets of rules. */
struct sup_rule {
	enum proc_group group;     /* without --foreground */
	bool alrm_times_out;       /* an outside SIGALRM is the deadline */
	bool kill_is_137;          /* a command KILLed on timeout: 137 */
	bool leave_leftovers;      /* ended on its own: leave what it left */
	bool death_signal;         /* piperun's death: -s, then KILL */
	bool pass_cont_winch;      /* SIGCONT and SIGWINCH are passed on */
	bool may_die_of_kill;      /* die of SIGKILL like the command */
	bool as_execvp;            /* a path is exec'd as given, a script
				      without #! runs in /bin/sh, the fds
				      piperun inherited open are passed on
				      and closed std fds stay closed */
};

static const struct sup_rule rules[] = {
	[SUP_EXEC] = {
		.group = PROC_GROUP_OWN, .pass_cont_winch = true,
	},
	[SUP_TIMEOUT] = {
		.group = PROC_GROUP_SHARED, .alrm_times_out = true, .kill_is_137 = true,
		.leave_leftovers = true, .death_signal = true, .may_die_of_kill = true,
		.as_execvp = true,
	},
};

/* coreutils' term_sig list (src/term-sig.h): what timeout(1) passes on,
 * besides the real-time signals. */
static const int timeout_term_sigs[] = {
	SIGALRM, SIGINT, SIGQUIT, SIGHUP, SIGTERM, SIGPIPE, SIGUSR1, SIGUSR2,
	SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU, SIGXFSZ,
	SIGSYS, SIGVTALRM, SIGPROF, SIGPOLL, SIGPWR, SIGSTKFLT,
};

struct sup_state {
	const struct sup_opts *o;
	int *pass_fds;            /* as_execvp: inherited fds, for the command */
	size_t npass_fds;
	char **sh_argv;           /* as_execvp: /bin/sh's, for a script */
	const struct sup_rule *r;
	struct proc proc;         /* the command */
	bool timed_out;
	bool forwarded;           /* a signal was passed on */
	bool sent_kill;           /* piperun sent the KILL (-k, -s KILL) */
	sigset_t sent_own;        /* signals piperun sent to its own group:
				     their copies come back to it */
	bool kill_next;           /* a signal went out with -k: the next
				     deadline (timer or SIGALRM) is the KILL,
				     as coreutils' term_signal becomes */
	bool done;                /* it and everything it left behind */
	bool released;            /* what it left was let go (SUP_TIMEOUT) */
	struct loop *loop;
	struct watch w_sig;
	int sigfd;
	struct timer t_timeout;
	struct contain contain;
	bool contained;           /* contain_init() ran (not --foreground) */
	double t_start, duration_ms;
};

static void sup_vsay(const struct sup_state *x, const char *fmt, va_list ap)
{
	char *m = xvasprintf(fmt, ap);
	err_line("%s: %s", x->o->who, m);
	free(m);
}

static void sup_say(const struct sup_state *x, const char *fmt, ...) PRINTF(2, 3);
static void sup_say(const struct sup_state *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sup_vsay(x, fmt, ap);
	va_end(ap);
}

/* "failed to run command 'cmd': why", with coreutils' quoting */
static void say_cannot_run(const struct sup_state *x, const char *why)
{
	char *q = cu_quote(x->o->cmd[0]);
	sup_say(x, "failed to run command %s: %s", q, why);
	free(q);
}

/* timeout -v: "sending signal TERM to command 'sleep'", said while the
 * command itself is there to get it. */
static void say_sending(const struct sup_state *x, int sig)
{
	if (!x->o->verbose || x->proc.exited)
		return;
	char name[CU_SIGNAME_MAX];
	char *q = cu_quote(x->o->cmd[0]);
	sup_say(x, "sending signal %s to command %s", cu_signame(sig, name), q);
	free(q);
}

/* Note what piperun sends to its own group (PROC_GROUP_SHARED), whose
 * copies come back to it. */
static void sending(struct sup_state *x, int sig)
{
	if (sig == SIGKILL)
		x->sent_kill = true;
	if (sig > 0)
		sigaddset(&x->sent_own, sig);
}

static void on_send(struct proc *p, int sig)
{
	sending(p->ctx, sig);
	say_sending(p->ctx, sig);
}

static void time_out(struct sup_state *x)
{
	if (x->proc.exited)
		return;
	x->timed_out = true;
	if (x->kill_next) {
		proc_kill(&x->proc);
		return;
	}
	proc_deadline(&x->proc, x->o->sig, x->o->kill_after);
	x->kill_next = x->r->alrm_times_out && x->o->kill_after > 0;
}

static void on_timeout(struct timer *t)
{
	time_out(t->data);
}

static bool is_command(pid_t pid, void *ctx)
{
	const struct sup_state *x = ctx;
	return !x->proc.exited && pid == x->proc.pid;
}

/* Before each look at what the command left: a zombie we adopted still
 * counts as a member of its group. */
static void on_look(struct proc *p)
{
	struct sup_state *x = p->ctx;
	contain_reap_orphans(&x->contain, is_command, x);
}

static void on_empty(struct proc *p)
{
	struct sup_state *x = p->ctx;
	x->done = true;
}

/* The command exited.  What it left gets the -s signal, then KILL after
 * -k or a run job's default kill_after - unless, under timeout(1)'s
 * rules, it ended on its own: then what it left is let go. */
static void on_command_exit(struct proc *p)
{
	struct sup_state *x = p->ctx;
	/* The deadline passed before the exit was seen (both came in one
	 * wake-up, the exit read first: a timeout of 1e-9): timed out, as
	 * coreutils, whose SIGALRM is taken before it reaps. */
	if (!x->timed_out && timer_armed(&x->t_timeout) && x->t_timeout.at <= now_ms())
		x->timed_out = true;
	if (x->r->leave_leftovers && !x->timed_out) {
		if (x->contained) {
			contain_job_release(&x->contain, &p->cj);
			x->contain.leave_orphans = true;
		}
		x->released = true;
		x->done = true;
		return;
	}
	proc_wait_empty(p, x->o->sig,
			x->o->kill_after > 0 ? x->o->kill_after : SPEC_KILL_AFTER_DEFAULT);
}

/* timeout(1) passes a signal on to the command and its group, then
 * SIGCONT; the first one arms the KILL after -k. */
static void pass_on(struct sup_state *x, int sig)
{
	if (!x->forwarded && x->o->kill_after > 0) {
		x->forwarded = x->kill_next = true;
		proc_terminate(&x->proc, sig, x->o->kill_after);  /* says it (on_send) */
		return;
	}
	say_sending(x, sig);
	sending(x, sig);
	x->forwarded = true;
	proc_signal(&x->proc, sig);
	if (!x->o->foreground && sig != SIGKILL && sig != SIGCONT)
		proc_signal(&x->proc, SIGCONT);
}

static void on_one_signal(struct sup_state *x, const struct signalfd_siginfo *si)
{
	int sig = (int)si->ssi_signo;
	if (sig == SIGCHLD) {
		if (x->contained)
			contain_reap_orphans(&x->contain, is_command, x);
		return;
	}
	/* our own: the kernel's SIGPIPE/SIGXFSZ, or a signal we sent to our
	 * own group (PROC_GROUP_SHARED) coming back (one sent by this pid
	 * before it exec'd piperun is not: it was left pending for us) */
	if (signals_self_raised(si) ||
	    (si->ssi_code == SI_USER && (pid_t)si->ssi_pid == getpid() &&
	     sigismember(&x->sent_own, sig)))
		return;
	if (x->proc.exited) {
		if (sig != SIGCONT && sig != SIGWINCH && !x->o->foreground && !x->released)
			proc_kill(&x->proc);
		return;
	}
	/* exec --foreground: the command shares our group, the terminal's
	 * own signals (from the kernel) reached it already.  timeout(1)
	 * passes every one on (a command that left the group gets it; -k
	 * starts; -v says it). */
	if (x->o->foreground && si->ssi_code == SI_KERNEL && !x->r->alrm_times_out)
		return;
	if (!x->r->alrm_times_out) {
		proc_signal(&x->proc, sig);
		return;
	}
	if (sig != SIGALRM)
		pass_on(x, sig);
	else
		time_out(x);
}

static void on_signal(struct watch *w, uint32_t ev)
{
	struct sup_state *x = w->data;
	struct signalfd_siginfo si;
	(void)ev;
	while (read(x->sigfd, &si, sizeof si) == (ssize_t)sizeof si)
		on_one_signal(x, &si);
}

static int sup_fail(const struct sup_state *x, const char *fmt, ...) PRINTF(2, 3);
static int sup_fail(const struct sup_state *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sup_vsay(x, fmt, ap);
	va_end(ap);
	return SUP_CANCELED;
}

/* The command's record (the same as a `run` job's). */
static struct command_record sup_record(const struct sup_state *x)
{
	const struct stage_result *st = &x->proc.status;
	return (struct command_record){
		.name = x->o->rules == SUP_TIMEOUT ? "timeout" : "exec",
		.status = job_outcome(x->timed_out, false, stage_returncode(st), NULL, 0),
		.duration_ms = x->duration_ms,
		.argv = x->o->cmd,
		.proc = &x->proc,
	};
}

/* The record to an fd opened before the command started. */
static int write_json(struct afile *f, const struct sup_state *x)
{
	int fd = f->fd;
	struct command_record rec = sup_record(x);
	struct fd_sink *s = xcalloc(1, sizeof *s);
	s->fd = fd;
	struct jw w;
	jw_init(&w, fd_sink_write, s, true);
	report_command(&w, &rec);
	jw_newline(&w);
	int rc = fd_sink_flush(s);
	int e = s->err;
	free(s);
	if (rc < 0) {
		afile_abort(f);
	} else if (afile_commit(f) < 0) {
		e = errno;
		rc = -1;
	}
	errno = e;
	return rc;
}

/* --------------------------------------------------------------- set up */

/* The signals read from the signalfd.  exec: every terminating signal
 * not ignored at start, SIGCONT and SIGWINCH.  timeout: coreutils' list
 * and the real-time signals, but those ignored at start; SIGALRM and the
 * -s signal always (their children get them at the default, as a
 * handler would leave them after exec).  Both: SIGCHLD (orphans). */
static void sup_sigset(const struct sup_state *x, sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	if (x->r->pass_cont_winch) {
		signals_terminating(set);
		sigaddset(set, SIGCONT);
		sigaddset(set, SIGWINCH);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(timeout_term_sigs); i++)
		if (!signals_ignored_at_start(timeout_term_sigs[i]))
			sigaddset(set, timeout_term_sigs[i]);
	for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		if (!signals_ignored_at_start(sig))
			sigaddset(set, sig);
	sigaddset(set, SIGALRM);
	if (x->o->sig > 0 && x->o->sig != SIGKILL && x->o->sig != SIGSTOP)
		sigaddset(set, x->o->sig);
}

/* timeout(1)'s process layout and dispositions: our own process group
 * (not with --foreground), SIGTTIN/SIGTTOU ignored here (a background
 * command touching the terminal stops, we do not), and the signals it
 * handles at their default in the command. */
static void timeout_layout(const struct sup_state *x)
{
	if (!x->o->foreground)
		setpgid(0, 0);
	signal(SIGTTIN, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
	spawn_child_default(SIGALRM, true);
	spawn_child_default(SIGCHLD, true);
	if (x->o->sig > 0 && x->o->sig != SIGKILL && x->o->sig != SIGSTOP)
		spawn_child_default(x->o->sig, false);
}

/* The loop, the signalfd (watched) and containment.  Returns 0 or
 * SUP_CANCELED (said); the caller closes the signalfd and frees the
 * loop either way. */
static int sup_setup(struct sup_state *x)
{
	sigset_t set;
	sup_sigset(x, &set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (x->r->alrm_times_out)
		timeout_layout(x);
	x->loop = loop_new();
	x->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (!x->loop || x->sigfd < 0)
		return sup_fail(x, "cannot set up: %s", strerror(errno));
	/* watched before the command starts, so it can never be left
	 * unsupervised; the loop only runs once it has started, and signals
	 * wait in the signalfd until then */
	if (loop_add(x->loop, &x->w_sig, x->sigfd, EPOLLIN, on_signal, x) < 0)
		return sup_fail(x, "cannot watch the command: %s", strerror(errno));
	/* --foreground keeps the command in the caller's group and leaves
	 * its children alone (coreutils). */
	if (!x->o->foreground) {
		char *why = NULL;
		if (contain_init(&x->contain, &why) < 0) {
			sup_fail(x, "containment: %s", why);
			free(why);
			return SUP_CANCELED;
		}
		x->contained = true;
		if (x->r->death_signal)
			contain_on_death(&x->contain, x->o->sig,
					 x->o->kill_after > 0 ? x->o->kill_after
							      : SPEC_KILL_AFTER_DEFAULT);
	}
	return 0;
}

/* What the command gets if piperun dies: exec's and run's SIGKILL; under
 * timeout(1)'s rules its -s signal, from the guardian to the whole tree
 * when there is one, else from the kernel to the command alone. */
static int pdeath_sig(const struct sup_state *x)
{
	if (!x->r->death_signal)
		return 0;
	if (x->contained && x->contain.guard.pid > 0)
		return SPAWN_PDEATH_NONE;
	return x->o->sig > 0 ? x->o->sig : SPAWN_PDEATH_NONE;
}

/* --------------------------------------------------------------- run */

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* timeout(1) runs its command with execvp and closes nothing: the fds
 * piperun was started with open (make's jobserver, a flock) go on to
 * the command, sorted; and a script without #! runs in /bin/sh (argv
 * as glibc's execvp builds it). */
static void as_execvp(struct sup_state *x, const char *path)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t cap = 0;
	while (d && (e = readdir(d))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		if (*end || fd <= 2 || fd == dirfd(d))
			continue;
		int flags = fcntl((int)fd, F_GETFD);
		if (flags < 0 || (flags & FD_CLOEXEC))
			continue;
		xgrow(&x->pass_fds, &cap, x->npass_fds + 1, sizeof *x->pass_fds);
		x->pass_fds[x->npass_fds++] = (int)fd;
	}
	if (d)
		closedir(d);
	if (x->npass_fds)
		qsort(x->pass_fds, x->npass_fds, sizeof *x->pass_fds, cmp_int);
	size_t n = 0;
	while (x->o->cmd[n])
		n++;
	x->sh_argv = xcalloc(n + 2, sizeof *x->sh_argv);
	x->sh_argv[0] = "/bin/sh";
	x->sh_argv[1] = (char *)path;
	for (size_t i = 1; i < n; i++)
		x->sh_argv[i + 1] = x->o->cmd[i];
}

/* Start the command and supervise it to its end (and that of what it
 * left).  Returns 0, or the exit status of a failure (said). */
static int sup_run(struct sup_state *x, const char *path)
{
	const struct sup_opts *o = x->o;
	int rc = sup_setup(x);
	if (rc)
		return rc;
	struct proc_stdio io[3];
	for (int k = 0; k < 3; k++)
		io[k] = (struct proc_stdio){ o->closed_std[k] && x->r->as_execvp
					     ? PROC_STDIO_CLOSED : PROC_STDIO_INHERIT, k };
	if (x->r->as_execvp)
		as_execvp(x, path);
	x->t_start = now_ms();
	struct proc_opts po = {
		.spawn = { .path = path, .argv = o->cmd,
			   .default_tty_signals = !o->foreground || x->r->alrm_times_out,
			   .pdeath_sig = pdeath_sig(x),
			   .pass_fds = x->pass_fds, .npass_fds = x->npass_fds,
			   .enoexec_argv = x->sh_argv },
		.stdio = io, .nstdio = 3,
		.group = o->foreground ? PROC_GROUP_NONE : x->r->group,
		.contain = x->contained ? &x->contain : NULL,
		/* one command: a cgroup short of fds is no reason to fail it */
		.short_in_group = true,
		.loop = x->loop, .t0 = x->t_start,
		.on_exit = on_command_exit, .on_look = on_look, .on_empty = on_empty,
		.on_send = on_send,
		/* coreutils sends no SIGCONT with --foreground */
		.no_cont = o->foreground && x->r->alrm_times_out,
		.ctx = x,
	};
	struct proc_error e;
	if (proc_spawn(&x->proc, &po, &e) < 0) {
		if (e.unwatched)
			return sup_fail(x, "cannot watch the command: %s", strerror(e.err));
		say_cannot_run(x, strerror(e.err));
		return e.step == SPAWN_EXEC ? (e.err == ENOENT ? SUP_ENOENT : SUP_CANNOT_INVOKE)
					    : SUP_CANCELED;
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

/* Die of the signal the command died of, like timeout(1), when that
 * cannot hurt: exec never of SIGKILL's like (a script could not tell it
 * from a crash of piperun), nor of a signal piperun was started
 * ignoring. */
static bool may_raise(const struct sup_state *x, int sig)
{
	if (sig == SIGSTOP)
		return false;
	if (x->r->may_die_of_kill)
		return true;
	return sig != SIGKILL && !signals_ignored_at_start(sig);
}

/* The command's record, and our exit status: the command's, or 124 on
 * a timeout (timeout: 137 when it had to be KILLed).  *die_sig: the
 * signal to die of once everything is cleaned up. */
static int sup_emit(const struct sup_state *x, struct afile *json, struct trace *trace,
		    int *die_sig)
{
	const struct stage_result *st = &x->proc.status;
	int rc = stage_shell_status(st);
	bool preserve = x->o->preserve;
	bool killed = x->timed_out && st->signal == SIGKILL && x->r->kill_is_137;
	if (x->timed_out && !preserve && !killed)
		rc = SUP_TIMEDOUT;
	if (st->core_dumped && x->r->alrm_times_out)
		sup_say(x, "the monitored command dumped core");
	/* the command ran: a record that cannot be written is said on
	 * stderr, and the command's own status stands */
	if (json->fd >= 0 && write_json(json, x) < 0)
		sup_say(x, "--json %s: %s", x->o->json, strerror(errno));
	struct command_record rec = sup_record(x);
	if (trace && trace_command_finish(trace, &rec, x->o->timeout) < 0)
		sup_say(x, "--trace %s: %s", x->o->trace, strerror(errno));
	*die_sig = 0;
	if (st->signal && !x->timed_out && may_raise(x, st->signal))
		*die_sig = st->signal;
	/* coreutils sends KILL to its own group, and so dies of it - when it
	 * sent one (a command that KILLed itself: 137, an exit) */
	if (killed && x->sent_kill && !x->o->foreground)
		*die_sig = SIGKILL;
	return rc;
}

int supervise(const struct sup_opts *o)
{
	struct sup_state x = { .o = o, .r = &rules[o->rules], .sigfd = -1 };
	sigemptyset(&x.sent_own);
	/* The record's file is opened before anything runs: a bad path is
	 * piperun's failure (125) with nothing started, never a command that
	 * ran and then "failed" (a script retrying on 125 would run it
	 * twice).  A FIFO waits for its reader here, like a shell redirection
	 * (signals still work: nothing is blocked yet).  A regular file is
	 * replaced only once the record is whole (afile.h). */
	struct afile json = { .fd = -1 };
	if (o->json && afile_open(&json, o->json, 0) < 0)
		return sup_fail(&x, "--json %s: %s", o->json, strerror(errno));
	struct trace *trace = NULL;
	if (o->trace && !(trace = trace_open(o->trace, o->rules == SUP_TIMEOUT ? "timeout"
					     : "exec", o->cmd[0]))) {
		int e = errno;
		if (json.fd >= 0)
			afile_abort(&json);
		return sup_fail(&x, "--trace %s: %s", o->trace, strerror(e));
	}
	/* resolve like execvp, with the exit statuses of timeout(1); under
	 * its rules a path goes to execve as it is, whose error says what
	 * is wrong with it (ENOTDIR, ELOOP: 126, as coreutils) */
	int st = 0;
	char *path = x.r->as_execvp && strchr(o->cmd[0], '/')
		? xstrdup(o->cmd[0]) : spec_path_resolve(o->cmd[0], getenv("PATH"), NULL, &st);
	if (!path) {
		say_cannot_run(&x, strerror(st == SUP_ENOENT ? ENOENT : EACCES));
		if (json.fd >= 0)
			afile_abort(&json);
		trace_abort(trace);
		return st;
	}
	proc_init(&x.proc);
	int die_sig = 0;
	int rc = sup_run(&x, path);
	if (!rc) {
		rc = sup_emit(&x, &json, trace, &die_sig);
		json.fd = -1;
	} else {
		trace_abort(trace);
	}
	proc_end(&x.proc);
	if (x.contained) {
		contain_fini(&x.contain);
		contain_guardian_wait(&x.contain);
		/* orphans it had to stop: not part of a command's record */
		escaped_free(x.contain.orphans, x.contain.norphans);
	}
	if (x.sigfd >= 0)
		close(x.sigfd);
	loop_free(x.loop);
	if (json.fd >= 0)
		afile_abort(&json);
	proc_free(&x.proc);
	free(x.pass_fds);
	free(x.sh_argv);
	free(path);
	if (die_sig)
		die_of_signal(die_sig);
	return rc;
}
