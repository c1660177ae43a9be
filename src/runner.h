/* SPDX-License-Identifier: GPL-3.0-or-later */
/* runner.h - runs every job of a spec: dependencies, the parallelism
 * limit, waiting for fds/processes, fail-fast, the run timeout and the
 * runner's own signals (every terminating signal not ignored at start,
 * signals.h, arrives on a signalfd).
 * Scheduling lives here; what one job does lives in job.c. */
#ifndef PIPERUN_RUNNER_H
#define PIPERUN_RUNNER_H

#include <stdbool.h>
#include <stddef.h>

#include "contain.h"
#include "job.h"
#include "progress.h"
#include "spec.h"

/* STOP_OUTPUT: on_done said the results can no longer be written (exit 3) */
enum stop_reason { STOP_NONE, STOP_FAIL_FAST, STOP_TIMEOUT, STOP_SIGNAL, STOP_OUTPUT };

struct run_result;

/* What on_done says about where the results go. */
enum results_state {
	RESULTS_OK,
	RESULTS_FAILED,  /* they cannot be written (a full disk): STOP_OUTPUT, exit 3 */
	RESULTS_CLOSED,  /* stdout's reader went away: the run stops as if
			    interrupted by SIGPIPE (CONTRACT §8.2) */
};

struct run_config {
	enum run_mode mode;
	long max_parallel;   /* 0: as many as the limits allow */
	double timeout;      /* whole run, seconds; 0 = none */
	long fail_fast;      /* 0 = off */
	enum progress_when progress;
	bool tag, timestamps;
	bool live_to_stderr; /* the results use stdout: tee and --tag lines of
				jobs' stdout go to stderr (CONTRACT §8.1) */
	/* Called once the run is set up (started_at, limit, containment and
	 * jobs are known), then as each job reaches DONE (completion order;
	 * the job array is res->jobs). */
	void (*on_start)(struct run_result *res, void *ctx);
	/* each job's end, in the runner's thread; anything but RESULTS_OK
	 * stops the run: its results have nowhere to go */
	enum results_state (*on_done)(const struct job *j, void *ctx);
	/* an attempt of j ended and another will follow (j waits for its
	 * retry): in the runner's thread, or in thread mode in a worker's
	 * under the run's lock (as on_done and on_idle are); NULL: none */
	void (*on_attempt)(const struct job *j, void *ctx);
	/* the loop is about to wait (every job that could start has): the
	 * time to write what on_done left for later.  Sets *rs as on_done
	 * answers; returns how long (ms) the loop may wait before asking
	 * again, -1 for as long as it likes.  NULL: on_done writes all. */
	double (*on_idle)(void *ctx, enum results_state *rs);
	/* what piperun writes to (results, live output), when it can tell us
	 * its reader is gone (a pipe or socket: the run then stops as
	 * RESULTS_CLOSED does); 0 or -1: none (stdin is never watched) */
	int out_fd;
	/* --resume: restored[i] non-NULL for the jobs that ended ok in an
	 * earlier run; they reach DONE at once (job_restore takes their
	 * records), their on_done first, before anything starts.  NULL:
	 * none */
	struct job_restored **restored;
	/* --journal: the items a steps job sinks ("S SEQ IH B64" lines,
	 * steps.h), whole lines, as they come: in the runner's thread, or
	 * in thread mode in a worker's under the run's lock.  NULL: steps
	 * jobs do not report them. */
	void (*on_items)(const struct job *j, const char *lines, size_t n, void *ctx);
	/* --resume: sunk_before[i], job i's items sunk in an earlier session
	 * ("SEQ IH B64" lines by SEQ), empty when none.  NULL: none. */
	const struct buf *sunk_before;
	/* where the jobs run (proc.h; NULL: here) and its context (slurm:
	 * the allocation, slurm.h) */
	const struct proc_executor *executor;
	void *exec_ctx;
	/* a Slurm allocation the guardian cancels (with scancel at
	 * cancel_with) should the runner die (one piperun made), and the
	 * directory of its status files it removes; NULL: none */
	const char *cancel_on_death, *cancel_with, *cancel_dir;
	void *ctx;
};

struct run_result {
	struct job *jobs;    /* spec order */
	size_t njobs;
	const struct spec *spec; /* what they were made from */
	char started_at[32];
	double duration_ms;
	enum stop_reason stop;
	int signal;          /* the signal that interrupted the run (SIGPIPE:
				also stdout's reader going away) */
	long limit;          /* the parallelism allowed: with adaptive, the
				ceiling the window moves under */
	bool adaptive;       /* max_parallel 0 in async mode: adapt.h's rule */
	long peak_parallel;  /* most jobs running at once */
	size_t counts[ST__COUNT];
	int fds_start, fds_end;  /* the runner's open fds before and after */
	enum contain_mode containment;
	unsigned long cgroups_created;   /* job cgroups made, and attempts */
	unsigned long cgroups_reused;    /* started in a reused one */
	bool output_failed;  /* on_done or out_fd said results cannot be written */
	struct escaped *orphans; /* process-group mode: adopted and stopped */
	size_t norphans;
	int children_left;       /* children (live or zombie) after the run */
	char *error;             /* the run ended early: its event loop failed,
				    or jobs could never start (the caller
				    says so); NULL */
};

/* Run the jobs.  Returns 0 (res->error may say the run ended early), or
 * -1 with *why (malloc'd, the caller's) if the runner could not set
 * itself up; it prints nothing.  The caller must have blocked the run's
 * signals (see runner_block_signals) before anything else. */
int runner_run(const struct spec *s, const struct run_config *cfg,
	       struct run_result *res, char **why);
void run_result_free(struct run_result *res);
/* Job i's spec: its job's, or made again when the job let it go (after
 * its record; held then until spec_free).  The main thread's. */
const struct job_spec *run_job_spec(const struct run_result *res, size_t i);
/* Block the signals the runner takes through its signalfd. */
void runner_block_signals(void);
/* The default for max_parallel 0: what the fd and process limits allow
 * (in async mode, the ceiling of the adaptive window, adapt.h). */
long runner_auto_parallel(void);
/* How many jobs a run in mode with max_parallel (0: as many as the limits
 * allow) runs at once: 1 in serial mode; thread mode's default stops at
 * 1024 (a thread per slot).  What runner_run uses and plan shows. */
long runner_limit(enum run_mode mode, long max_parallel);

#endif
