/* SPDX-License-Identifier: GPL-3.0-or-later */
/* job-steps.h - the job side of a steps job (job-steps.c), called by
 * job.c.  Its host (`piperun __steps`, steps.c) gets its description and
 * an info pipe, and writes there "P progress", "E error" and last the
 * JSON counts. */
#ifndef PIPERUN_JOB_STEPS_H
#define PIPERUN_JOB_STEPS_H

#include "job.h"

/* The host's fds beyond 0-2: io[3] its description, io[4] its info
 * pipe.  Returns 5, or -1 with errno.  *desc (-1 or the description's
 * memfd) is the caller's to close after the spawn, also on error. */
int job_steps_stdio(struct job *j, struct proc_stdio *io, int *desc);
/* Take the whole info lines in j->resbuf. */
void job_steps_info(struct job *j);
/* The host's exit statuses 1 and 2: the job's error. */
void job_steps_outcome(struct job *j);
/* Off the progress line (ended, or a new attempt). */
void job_steps_progress_clear(struct job *j);

#endif
