/* SPDX-License-Identifier: GPL-3.0-or-later */
/* adapt.h - the adaptive default parallelism (CONTRACT §8.4: max_parallel
 * 0 / no -j): pure logic, fed with measurements the runner takes anyway
 * (now_ms() around each start and at each end; no syscall of its own).
 *
 * The rule.  A run starts at the machine's limits (the ceiling: what the
 * fd and process limits allow): before any job has ended nothing says
 * jobs are short or busy, and 1000 `sleep 1` must all start at once, as
 * fast as the runner can spawn.  Then it keeps the CPUs busy, no more:
 *
 *  - u = the share of its runtime a job keeps a CPU busy: c / R_min,
 *    c the mean CPU time of ended jobs (user + system, their waited-for
 *    children included; EWMA) and R_min the least runtime (start to end
 *    seen) of the last ADAPT_RECENT jobs, so a change of jobs is
 *    followed.  The least runtime, not the mean: jobs that wait
 *    for a CPU take longer, and a rule fed with contended runtimes
 *    raises the window that made them long (measured on 10,000 x
 *    `true`: with the mean it settled at 4 to 16 at once, each slower
 *    than 2).
 *  - The window is  CPUs / u  within [floor, ceiling] (floor: the CPUs):
 *    `true`, all exec and exit (u near 1), runs 2 at once on 2 CPUs;
 *    jobs that sleep or wait on I/O (u near 0) run as many at once as
 *    the limits allow; a job using 8 CPUs makes it the floor.
 *  - Jobs whose CPU time is not known (no process of their own) count
 *    by Little's law instead: floor + ADAPT_K * R / s, s the mean time
 *    one start takes: a runner that starts a job every s ms keeps
 *    itself busy with R/s of them.
 *  - The window counts only young jobs: those started less than tau =
 *    clamp(ADAPT_TAU_K * R_min, ADAPT_TAU_MIN_MS, ADAPT_TAU_MAX_MS) ago
 *    (R, the mean runtime, for Little's rule).  A job running longer than that is not part of
 *    the churn (an idle sleeper, a long build): it leaves the window,
 *    so the backoff can slow the start of many idle jobs but never
 *    serialise them, and jobs that wait for each other all get to run.
 *
 * -j N / max_parallel N never come here: they fix the limit exactly. */
#ifndef PIPERUN_ADAPT_H
#define PIPERUN_ADAPT_H

#include <stdbool.h>
#include <stddef.h>

/* Little's R/s with no extra headroom: the runner's real cycle per job
 * (spawn, reap, records) is longer than s, so R/s already over-provisions;
 * measured on 10,000 x `true`, K = 2 ran ~3% slower than K = 1. */
#define ADAPT_K 1.0
#define ADAPT_TAU_K 4.0          /* young: started less than 4 R_min ago */
#define ADAPT_TAU_MIN_MS 5.0      /* (300 `sleep 1` after 2000 `true`: all
				     started in 0.76 s; with 20 ms, 1.8 s) */
#define ADAPT_TAU_MAX_MS 1000.0
#define ADAPT_EWMA 0.0625        /* weight of a new sample (1/16) */
#define ADAPT_RECENT 64          /* R_min: the least of this many runtimes */
/* The runner starts at most this many jobs before it looks at its loop
 * again: ends are seen (and reaped) while a burst starts, so runtimes
 * are measured, and the window applied, as they happen. */
#define ADAPT_BATCH 16

struct adapt_start {
	size_t id;
	double t;
};

struct adapt {
	long ceiling, floor;
	long window;             /* young jobs allowed now */
	double spawn_ms;         /* s: EWMA of one start's time; 0: none yet */
	double run_ms;           /* R: EWMA of completed jobs' runtimes */
	double run_min_ms;       /* R_min: the least of the last runtimes */
	double recent[ADAPT_RECENT]; /* the last runtimes (a ring) */
	double cpu_ms;           /* c: EWMA of their CPU time */
	size_t cpu_n;            /* CPU-time samples */
	size_t ended;            /* completed jobs (runtime samples) */
	size_t young, old;       /* running jobs by age */
	size_t njobs;
	double *t_start;         /* per job id: its current attempt's start */
	unsigned char *age;      /* per job id: enum in adapt.c */
	struct adapt_start *ring; /* young starts, oldest first */
	size_t rcap, rhead, rlen;
};

/* Job ids are 0..njobs-1; ceiling >= 1 (the machine's limits), floor
 * the least window (clamped to 1..ceiling). */
void adapt_init(struct adapt *a, size_t njobs, long ceiling, long floor);
void adapt_fini(struct adapt *a);
/* Job id starts now (call before spawning it: an end reported while it
 * spawns is then seen). */
void adapt_started(struct adapt *a, size_t id, double now);
/* Job id's start returned after spawn_ms: a sample if it made a process
 * (made), forgotten if it did not happen after all (failed: no process,
 * came short; an end reported meanwhile was counted already). */
void adapt_spawned(struct adapt *a, size_t id, double spawn_ms, bool made, bool failed);
/* Job id's attempt ended at now, having used cpu_ms of CPU time (< 0:
 * not known): a sample if sample (not when its start came short after
 * all). */
void adapt_ended(struct adapt *a, size_t id, double now, double cpu_ms, bool sample);
/* Job id is not running (no sample). */
void adapt_forget(struct adapt *a, size_t id);
/* May one more job start now?  (The caller checks the ceiling, fds and
 * the rest as for a fixed limit.) */
bool adapt_may_start(struct adapt *a, double now);
/* When adapt_may_start said no and no end comes: ms until a young job
 * ages out of the window (>= 0); -1 when the window is not full. */
double adapt_wait_ms(const struct adapt *a, double now);
/* Jobs running now (young + old). */
size_t adapt_running(const struct adapt *a);
/* The CPUs online (at least 1): the runner's floor. */
long adapt_cpus(void);
/* The ceiling: jobs at once that the fd limit (keep_fds for the runner,
 * job_fds a job), the process limit and pid_max allow, leaving half of
 * the last two to everyone else. */
long adapt_ceiling(long keep_fds, long job_fds);

#endif
