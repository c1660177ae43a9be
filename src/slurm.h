/* SPDX-License-Identifier: GPL-3.0-or-later */
/* slurm.h - one Slurm allocation for a run (--executor slurm): obtained
 * with salloc --no-shell (or an existing one used as it is), its CPUs
 * read back, its steps' status files in a run directory, released with
 * scancel at the end.  The jobs run as its steps (proc-slurm.c). */
#ifndef PIPERUN_SLURM_H
#define PIPERUN_SLURM_H

#include "spec.h"

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

struct slurm_helper;

struct slurm_alloc {
	const struct slurm_spec *spec;
	char *jobid;          /* the allocation's job id */
	bool ours;            /* made here: scancel at the end */
	long cpus;            /* its CPUs (NumCPUs) */
	char *srun, *scancel; /* resolved on PATH */
	char *self;           /* piperun's own path (the nodes must have it too) */
	char *rundir;         /* the steps' status files */
	char name[48];        /* unique to the run: "piperun-" and 16 random
				 hex digits, its steps' name, and that of an
				 allocation it asks for */
	bool asked;           /* the allocation was asked for (salloc) */
	char *squeue;         /* resolved on PATH, or NULL */
	int sentinel;         /* write end of the sentinel's pipe, or -1 */
	int sentinel_gone;    /* EOF once the sentinel exited, or -1 */
	unsigned long seq;    /* status file names */
	pthread_mutex_t mtx;  /* seq, helpers (thread mode) */
	struct slurm_helper *helpers;  /* scancel processes not reaped yet */
};

/* What the run asks for. */
struct slurm_want {
	long jobs;            /* jobs in the run */
	long max_parallel;    /* -j; 0: as many as the allocation's CPUs */
	double wait_s;        /* --slurm-wait */
};

/* Set a up for spec x: the Slurm commands found, the run directory
 * made, the sentinel started (slurm.c: should the runner die before
 * slurm_alloc_release ends, it cancels the allocation made here, or the
 * run's steps in one it did not make, by name, and removes the
 * directory), the allocation obtained ("new",
 * SLURM_JOB_ID's or x's job id), its CPUs read back.  Returns 0, or -1
 * with *why (nothing left behind: an allocation made here is cancelled
 * again).  Forks: call it before any thread starts. */
int slurm_alloc_get(struct slurm_alloc *a, const struct slurm_spec *x,
		    const struct slurm_want *w, char **why);
/* End of run: the allocation cancelled when it is ours (its steps with
 * it), helpers reaped, the run directory removed, then the sentinel
 * stood down and waited for.  Idempotent. */
void slurm_alloc_release(struct slurm_alloc *a);
/* The parallelism it gives: its CPUs / cpus_per_job, at least 1. */
long slurm_alloc_parallel(const struct slurm_alloc *a);
/* A new status file's path (malloc'd) in the run directory. */
char *slurm_status_path(struct slurm_alloc *a);
/* Start `scancel --signal=SIG TARGET` (TARGET "JOB.STEP"), not waited
 * for: it is reaped later (slurm_reap_helpers, or at release).  Returns
 * whether it started. */
bool slurm_signal_step(struct slurm_alloc *a, const char *target, int sig);
/* Reap the helpers that ended (block: wait for all of them). */
void slurm_reap_helpers(struct slurm_alloc *a, bool block);

#endif
