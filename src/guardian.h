/* SPDX-License-Identifier: GPL-3.0-or-later */
/* guardian.h - the process that cleans up after a runner that died
 * outright (SIGKILL, the OOM killer): see contain.h for what it does.
 *
 * It is a fork of the runner, started before any job, in a session of
 * its own.  Tried and taken back (RELIABILITY.md, issue 16): sharing the
 * runner's memory instead (the OOM killer kills every process of an mm
 * together, guardian included), and an exec of piperun (cheaper for the
 * runner to start, dearer in CPU: a dynamic start-up on every run). */
#ifndef PIPERUN_GUARDIAN_H
#define PIPERUN_GUARDIAN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define GUARD_SLOTS (1u << 20)

/* Shared between the runner and its guardian (MAP_SHARED): what the
 * guardian needs once the runner is gone. */
struct guard_table {
	volatile int death_set;    /* contain_on_death was called */
	volatile int death_sig;
	volatile double death_grace;
	volatile int released;     /* contain_job_release ran: the guardian
				      signals and kills nothing, and removes
				      the run's cgroups once they are empty */
	volatile int clean;        /* the runner ended and left nothing: the
				      guardian just exits */
	volatile size_t hwm;
	char slurm_job[32];        /* a Slurm allocation to cancel, or "" */
	char slurm_scancel[512];   /* with scancel there */
	char slurm_dir[512];       /* and its steps' status files: removed */
	volatile pid_t pg[GUARD_SLOTS];
};

struct guardian {
	pid_t pid;                 /* 0: none */
	int fd;                    /* write end: closing it wakes the guardian */
	struct guard_table *table;
};

/* Start the guardian of a run whose cgroup is run_path (NULL in
 * process-group mode), killfd its cgroup.kill (or -1; closed here).
 * 0, or -1 when there is none (the run goes on without: only runner
 * death then loses grandchildren). */
int guardian_start(struct guardian *g, const char *run_path, int killfd);

/* The runner ends: clean says nothing of the run is left for the
 * guardian (which then just exits).  Closes the pipe that wakes it. */
void guardian_release(struct guardian *g, bool clean);
/* Then, with wait, wait for it to exit; without (it lingers over
 * cgroups still in use), leave it.  g is then empty. */
void guardian_stop(struct guardian *g, bool wait);

#endif
