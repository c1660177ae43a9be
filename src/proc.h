/* SPDX-License-Identifier: GPL-3.0-or-later */
/* proc.h - the one supervised process.
 *
 * A proc is one child that piperun started and watches to its end: a run
 * job's command, a pipeline or steps host, the command of `piperun exec`,
 * and a steps worker's child (steps-child.c).  What it does, once
 * for all of them:
 *
 *   - declared stdio (struct proc_stdio, after libuv's
 *     uv_stdio_container_t): for each of the child's fds, /dev/null, the
 *     caller's own fd, a pipe in or out made here, a given fd, or another
 *     slot again;
 *   - containment joined at spawn: PROC_GROUP_OWN leads a process group of
 *     its own and, when given a struct contain in cgroup mode, joins a
 *     cgroup of its own before exec; PROC_GROUP_NONE stays in the
 *     caller's group and is signalled alone (exec --foreground; a steps
 *     worker's child, which lives in its host's group so that the job's
 *     signals reach it);
 *   - its pidfd watched on a loop, the exit decoded once (struct
 *     stage_result: status, exit code or signal, CPU times, peak RSS),
 *     one on_exit callback;
 *   - one way to stop it: proc_terminate(sig, kill_after) = sig, then
 *     SIGCONT (a stopped process acts on the signal), then SIGKILL after
 *     the grace (cgroup.kill in cgroup mode) - the ladder of ladder.h;
 *     each signal that reached something is listed (term) with its time,
 *     and processes that left the group but not the cgroup (escaped);
 *   - after the process exited, proc_wait_empty() waits for what it left
 *     in its group or cgroup to go, climbing the same ladder.
 *
 * A steps worker's child uses it as PROC_GROUP_NONE with contain NULL and
 * its stdio as PROC_STDIO_PIPE_IN / PROC_STDIO_PIPE_OUT (or, for a pty,
 * PROC_STDIO_FD twice with the slave end, which the worker closes after
 * proc_spawn), proc_terminate(sig, kill_after) for its deadline and
 * stops, and on_exit for its reaping.  Its loop is the worker's: the
 * thread engine's workers each run a loop of their own, and each spawns,
 * signals and reaps its proc only there.
 *
 * Ownership of fds, also on error:
 *   PROC_STDIO_NULL      /dev/null, opened and closed by proc_spawn.
 *   PROC_STDIO_INHERIT   the caller's fd of the same number (slots 0-2).
 *   PROC_STDIO_PIPE_IN   a pipe the child reads; PIPE_OUT: one it writes.
 *                        proc_spawn makes it (both ends CLOEXEC, the
 *                        caller's end O_NONBLOCK) and closes the child's
 *                        end once the child has it.  On success .fd is
 *                        the caller's end and the caller owns it (closes
 *                        it); on failure nothing is left open, .fd is -1.
 *   PROC_STDIO_FD        .fd as it is: borrowed.  The caller keeps it and
 *                        closes it when it likes (after proc_spawn
 *                        returns, whatever it returned).
 *   PROC_STDIO_DUP       the child's fd of slot .fd (a lower slot) again,
 *                        e.g. stderr to stdout.
 *   PROC_STDIO_CLOSED    slots 0-2 only: the child has no such fd.
 * The pidfd and the attempt's cgroup are the proc's: proc_end() closes
 * and removes them.
 *
 * A proc belongs to one loop (one thread), like its timers. */
#ifndef PIPERUN_PROC_H
#define PIPERUN_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "contain.h"
#include "ladder.h"
#include "loop.h"
#include "spawn.h"

/* How a process ended: the command's, or a pipeline stage's as its host
 * reports it (chain.h). */
struct stage_result {
	pid_t pid;           /* 0: never started */
	bool has_status;
	int exit_code;       /* -1: none (killed) */
	int signal;          /* 0: none */
	bool core_dumped;
	double user_ms, sys_ms;
	long maxrss_kb;
	/* a pipeline's stages: when the runner heard its host report the
	 * stage started (pid set) and reaped (has_status), ms since the
	 * run's start */
	double started_ms, ended_ms;
};

/* Fill s from a reaped child: status, CPU times, peak RSS. */
void stage_result_exited(struct stage_result *s, const struct spawn_exit *x);
/* Its CPU time (user + system, waited-for children included), -1 if
 * it has not exited. */
double stage_cpu_ms(const struct stage_result *s);
/* The results' returncode: the exit code, or minus the signal. */
int stage_returncode(const struct stage_result *s);
/* A shell's status: the exit code, or 128 + the signal. */
int stage_shell_status(const struct stage_result *s);

/* A signal that reached the tree, for the record's termination list. */
struct term_rec {
	int signal;
	double at_ms;        /* since proc_opts.t0 */
};

enum proc_stdio_kind {
	PROC_STDIO_NULL, PROC_STDIO_INHERIT, PROC_STDIO_PIPE_IN, PROC_STDIO_PIPE_OUT,
	PROC_STDIO_FD, PROC_STDIO_DUP,
	PROC_STDIO_CLOSED,   /* slots 0-2: closed in the child (timeout,
				when piperun itself was started so) */
};

struct proc_stdio {
	enum proc_stdio_kind kind;
	int fd;              /* FD: the fd; DUP: the slot; PIPE_*: set by
				proc_spawn to the caller's end */
};

/* Slots: the child's 0, 1, 2, then its 3, 4, ... */
#define PROC_MAX_STDIO (3 + SPAWN_MAX_EXTRA)

enum proc_group {
	PROC_GROUP_OWN,      /* a process group (and cgroup) of its own */
	PROC_GROUP_NONE,     /* the caller's group; signalled alone */
	PROC_GROUP_SHARED,   /* the caller's group, which the caller leads
				(timeout(1)'s layout: the command keeps the
				terminal its caller has), and a cgroup of its
				own; its tree is the group but the caller,
				and the cgroup.  The caller keeps the signals
				it sends blocked, and takes those that come
				back to it from itself as its own. */
};

struct proc;
struct proc_error;

/* Where a proc's process runs: the executor seam.  proc.c does what is
 * the same everywhere (stdio, the pidfd watch, the exit decode, the
 * ladder, the term and escaped lists, waiting for the tree to go); an
 * executor does what depends on where the process runs.  The local one
 * (proc-local.c) spawns here, in a process group and cgroup of its own;
 * another (a cluster's: its job step's launcher is the local process
 * that proc watches) is one proc-NAME.c file and one row in proc.c's
 * table.  Its hooks see the proc's public fields and p->contain, p->cj. */
struct proc_executor {
	const char *name;
	/* Start so (fds, pgid filled by proc_spawn) for p: set p->pid,
	 * p->pidfd (CLOEXEC) and p->in_cgroup; or -1 with *e (nothing left
	 * running).  short_in_group: see proc_opts. */
	int (*start)(struct proc *p, struct spawn_opts *so, bool short_in_group,
		     struct proc_error *e);
	/* sig to the whole tree (PROC_GROUP_OWN); whether it reached
	 * anything. */
	bool (*signal)(struct proc *p, int sig);
	/* Is anything of the tree alive (after the process was reaped)? */
	bool (*alive)(struct proc *p);
	/* The attempt is over: release what start took (the cgroup). */
	void (*end)(struct proc *p);
	/* The local process was reaped (p->status is its decode): say how
	 * the job itself ended (p->status, or p->fail_*), and what its
	 * record adds (p->report_*).  NULL: the local decode is the job's. */
	void (*exited)(struct proc *p);
	/* The run is about to end (before contain_fini, which would take
	 * what it still runs for orphans): wait for its own helpers.
	 * NULL: none. */
	void (*run_end)(void *exec_ctx);
	/* Its command starts later than start returns (a cluster's step
	 * waits for the cluster): start leaves p->running false and sets it
	 * once the command runs, then calls proc_opts' on_running.  A
	 * signal sent before then waits for it. */
	bool late_start;
};
extern const struct proc_executor proc_local;
extern const struct proc_executor proc_slurm;
/* An executor by name ("local"), or NULL. */
const struct proc_executor *proc_executor_find(const char *name);
/* Each executor in turn: i from 0 until it returns NULL. */
const struct proc_executor *proc_executor_at(size_t i);
struct proc_opts {
	/* what to run: path, argv, envp, cwd, nice, umask, rlimits,
	 * pass_fds, block_signals, default_tty_signals (fd, extra_fds,
	 * pgid and cgroup_fd are proc_spawn's) */
	struct spawn_opts spawn;
	struct proc_stdio *stdio;  /* nstdio slots, updated (PIPE_*) */
	int nstdio;
	enum proc_group group;
	struct contain *contain;   /* PROC_GROUP_OWN: the run's containment
				      (a cgroup in cgroup mode); NULL: a
				      process group only */
	const struct proc_executor *executor;  /* NULL: proc_local */
	void *exec_ctx;            /* the executor's (slurm: its allocation) */
	int leftover_sig;          /* what proc_wait_empty will be given, for */
	double leftover_kill_after;  /* an executor whose host waits out the
				      leftovers itself (slurm); 0: SIGTERM, 2 s */
	bool short_in_group;       /* a cgroup that cannot be made for lack
				      of fds or memory: go on in the process
				      group (exec) instead of failing with
				      SPAWN_CLONE so the caller can wait (a
				      run's job) */
	struct loop *loop;         /* the pidfd is watched here */
	double t0;                 /* term times are since this (now_ms()) */
	/* The process exited (p->status says how); the pidfd is closed. */
	void (*on_exit)(struct proc *p);
	/* proc_wait_empty: before each look at the group (reap orphans,
	 * drain pipes); may be NULL. */
	void (*on_look)(struct proc *p);
	/* proc_wait_empty: nothing of it is left. */
	void (*on_empty)(struct proc *p);
	bool no_cont;              /* the ladder sends no SIGCONT after its
				      signal (timeout --foreground, as
				      coreutils: a debugger's stopped child
				      stays stopped) */
	/* The ladder is about to send sig (not its follow-up SIGCONT): for
	 * timeout -v.  May be NULL. */
	void (*on_send)(struct proc *p, int sig);
	/* The command runs now, later than proc_spawn returned (an
	 * executor's late_start: a job's timeout counts from here).  May
	 * be NULL. */
	void (*on_running)(struct proc *p);
	void *ctx;
};

struct proc_error {
	enum spawn_step step;  /* SPAWN_CLONE also for a cgroup that could
				  not be made for lack of fds or memory */
	int err;
	int slot;              /* >= 0: making that slot's pipe failed */
	bool unwatched;        /* it started but could not be watched: it
				  was killed and reaped */
};

/* Does err say the machine is short of fds, processes or memory
 * (EMFILE, ENFILE, EAGAIN, ENOMEM)? */
bool proc_err_short(int err);

struct proc {
	pid_t pid;                 /* 0: not started */
	pid_t pgid;                /* its group: pid (OWN), the caller's
				      (SHARED), 0 (NONE) */
	int pidfd;                 /* -1 once reaped */
	bool exited;
	bool running;              /* its command runs (or ran): at once
				      after proc_spawn but for an executor's
				      late_start */
	bool in_cgroup;            /* it joined a cgroup of its own */
	enum proc_group group;
	struct stage_result status;  /* once exited */
	struct term_rec *term;     /* the signals sent to it (this spawn's) */
	size_t nterm, term_cap;
	struct escaped *escaped;   /* left its group, seen in its cgroup */
	size_t nescaped, escaped_cap;
	/* Set by an executor's exited hook (once exited): the command never
	 * ran (fail_step: SPAWN_EXEC or SPAWN_CHDIR with fail_err, as a
	 * local spawn says it), or fail_msg, an error of the executor's
	 * (malloc'd); and a member the record adds, report_key with the
	 * JSON object report_json (malloc'd). */
	enum spawn_step fail_step;
	int fail_err;
	char *fail_msg;
	const char *report_key;
	char *report_json;
	void *ctx;

	/* private */
	struct loop *loop;
	struct watch w_pid;
	const struct proc_executor *exec;
	void *exec_ctx;
	void *exec_data;           /* the executor's, per attempt */
	int leftover_sig;
	double leftover_kill_after;
	struct contain *contain;
	struct contain_job cj;
	struct ladder ladder;
	struct timer t_poll;
	double poll_ms, t0;
	int wait_sig;              /* proc_wait_empty's ladder */
	double wait_kill_after;
	void (*on_exit)(struct proc *p);
	void (*on_look)(struct proc *p);
	void (*on_empty)(struct proc *p);
	void (*on_send)(struct proc *p, int sig);
	void (*on_running)(struct proc *p);
	bool no_cont;
};

/* Once, before anything else (no process, no lists). */
void proc_init(struct proc *p);
/* Forget the last spawn's process, status, term and escaped lists (a
 * new attempt that may fail before it spawns). */
void proc_clear(struct proc *p);
/* Start the process and watch it.  Returns 0, or -1 with *e saying why
 * (nothing is left running or open but the caller's own fds; a failure
 * of the cgroup itself falls back to a process group for the rest of
 * the run, contain_fallback()).  Resets term, escaped and status. */
int proc_spawn(struct proc *p, const struct proc_opts *o, struct proc_error *e);
/* Stop it: sig (then SIGCONT) to its tree, SIGKILL after kill_after
 * seconds (0: never).  Once climbing, a second call does not repeat sig
 * and a KILL already due keeps its time.  Returns whether sig reached
 * anything. */
bool proc_terminate(struct proc *p, int sig, double kill_after);
/* A deadline passed: as proc_terminate, but sig goes out again and the
 * KILL is re-armed kill_after from now even when already climbing. */
bool proc_deadline(struct proc *p, int sig, double kill_after);
/* SIGKILL to its tree, now. */
void proc_kill(struct proc *p);
/* Pass sig on to its tree (not listed in term, no ladder). */
bool proc_signal(struct proc *p, int sig);
/* Once exited: wait for the rest of its group (cgroup) to go, climbing
 * the ladder with sig and kill_after, looking again with a backoff (1 ms
 * doubling to 50 ms); once a KILL went out (the ladder's, proc_kill's,
 * or sig itself), each look sends KILL again to what is still there
 * (what a one-by-one KILL missed); on_empty when nothing is left (at
 * once for PROC_GROUP_NONE). */
void proc_wait_empty(struct proc *p, int sig, double kill_after);
/* Is anything of its tree alive (after the process was reaped)? */
bool proc_alive(struct proc *p);
/* The attempt is over: stop the timers, close the pidfd (the process
 * not reaped: it is left to the subreaper), leave the cgroup.  Idempotent.
 * term, escaped and status stay for the record. */
void proc_end(struct proc *p);
/* Free the lists (after proc_end). */
void proc_free(struct proc *p);
/* The wait before looking again: 1 ms, doubling up to 50 ms. */
double proc_poll_backoff(double prev_ms);

#endif
