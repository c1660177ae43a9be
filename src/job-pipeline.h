/* SPDX-License-Identifier: GPL-3.0-or-later */
/* job-pipeline.h - the job side of a pipeline job (job-pipeline.c),
 * called by job.c.  Its host (chain.c) runs the stages; the job gives it
 * its fds, reads its records (results pipe) and diagnostics, and makes
 * the job's outcome of them.  The hooks a job-kind table row needs. */
#ifndef PIPERUN_JOB_PIPELINE_H
#define PIPERUN_JOB_PIPELINE_H

#include "job.h"

/* The host's fds beyond 0-2, declared in io (3 the description, 4 the
 * results pipe, 5 the job's stderr, then one slot per stage with a
 * stderr of its own: stage_slot[i], else -1) and its fd 2 (the
 * diagnostics pipe); io[0..2] hold the job's stdin, stdout and stderr on
 * entry.  Returns the number of slots, or -1 with errno.  *desc (-1 or
 * the description's memfd) is the caller's to close after the spawn,
 * also on error. */
int job_pipeline_stdio(struct job *j, struct proc_stdio *io, int *stage_slot, int *desc);
/* Take the whole records in j->resbuf into the stage results. */
void job_pipeline_records(struct job *j);
/* The attempt's returncode (pipefail rule), or its error. */
void job_pipeline_outcome(struct job *j);
/* Did the host fail for lack of processes or files (the job waits and
 * starts again)? */
bool job_pipeline_came_short(const struct job *j);

#endif
