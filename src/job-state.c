/* SPDX-License-Identifier: GPL-3.0-or-later */
/* job-state.c - a job's lifecycle as one table, next_state[state][event]
 * (job.c moves a job by it), and the names of its states, events and
 * statuses (see job.h). */
#include "config.h"
#include "job.h"

const char *job_status_name(enum job_status s)
{
	static const char *const names[] = {
		"pending", "ok", "failed", "timeout", "error", "skipped", "cancelled",
	};
	return names[s];
}

/* ------------------------------------------------------- the lifecycle */

#define P JOB_PENDING
#define R JOB_RUNNING
#define E JOB_ENDING
#define W JOB_RETRY_WAIT
#define D JOB_DONE
#define NO (-1)
/* next[state][event]: the job's whole lifecycle.  A timeout, a cancel
 * and an empty group change no state by themselves (the ladder climbs,
 * the attempt ends through RETRY or END). */
static const signed char next_state[JOB__STATES][JOB_EV__COUNT] = {
	/*          START FILES SHORT EXIT EMPTY TIME CANCEL RETRY END DUE SKIP */
	[JOB_PENDING]    = { R, NO, P,  NO, NO, NO, P,  NO, NO, P,  D  },
	[JOB_RUNNING]    = { NO, P, P,  E,  NO, R,  R,  W,  D,  NO, NO },
	[JOB_ENDING]     = { NO, NO, P, NO, E,  E,  E,  W,  D,  NO, NO },
	[JOB_RETRY_WAIT] = { NO, NO, NO, NO, NO, NO, D, NO, NO, P,  NO },
	[JOB_DONE]       = { NO, NO, NO, NO, NO, NO, D, NO, NO, NO, NO },
};
#undef P
#undef R
#undef E
#undef W
#undef D
#undef NO

int job_state_next(enum job_state s, enum job_event e)
{
	if ((unsigned)s >= JOB__STATES || (unsigned)e >= JOB_EV__COUNT)
		return -1;
	return next_state[s][e];
}

const char *job_state_name(enum job_state s)
{
	static const char *const names[] = {
		"pending", "running", "ending", "retry-wait", "done",
	};
	return (unsigned)s < JOB__STATES ? names[s] : "?";
}

const char *job_event_name(enum job_event e)
{
	static const char *const names[] = {
		"start", "files-open", "short", "exited", "group-empty", "timeout",
		"cancel", "retry", "end", "retry-due", "skip",
	};
	return (unsigned)e < JOB_EV__COUNT ? names[e] : "?";
}
