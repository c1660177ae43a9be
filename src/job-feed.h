/* SPDX-License-Identifier: GPL-3.0-or-later */
/* job-feed.h - a job's stdin, fed through a pipe by the runner
 * (job-feed.c).  The job owns the pipe's write end (j->fd_in) from its
 * start; job_feed_stop closes it. */
#ifndef PIPERUN_JOB_FEED_H
#define PIPERUN_JOB_FEED_H

#include "job.h"

/* j->fd_in is open (non-blocking): write what stdin holds, now and
 * whenever the pipe has room, closing it at the end or when the child
 * stops reading (EPIPE). */
void job_feed_start(struct job *j);
/* Close j->fd_in (if open) and free what the feeder holds. */
void job_feed_stop(struct job *j);

#endif
