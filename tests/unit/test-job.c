/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-job.c - the job lifecycle table (job.h): each state's events,
 * what they lead to, and the events each state refuses. */
#include "config.h"
#include "job.h"
#include "tap.h"

#include <string.h>

struct step {
	enum job_state from;
	enum job_event ev;
	int to;               /* -1: refused */
};

int main(void)
{
	static const struct step steps[] = {
		/* the usual life */
		{ JOB_PENDING, JOB_EV_START, JOB_RUNNING },
		{ JOB_RUNNING, JOB_EV_EXITED, JOB_ENDING },
		{ JOB_ENDING, JOB_EV_GROUP_EMPTY, JOB_ENDING },
		{ JOB_ENDING, JOB_EV_END, JOB_DONE },
		/* retries */
		{ JOB_ENDING, JOB_EV_RETRY, JOB_RETRY_WAIT },
		{ JOB_RETRY_WAIT, JOB_EV_RETRY_DUE, JOB_PENDING },
		{ JOB_RETRY_WAIT, JOB_EV_CANCEL, JOB_DONE },
		/* files opening in the background */
		{ JOB_RUNNING, JOB_EV_FILES_OPEN, JOB_PENDING },
		{ JOB_PENDING, JOB_EV_RETRY_DUE, JOB_PENDING },
		/* no headroom */
		{ JOB_RUNNING, JOB_EV_SHORT, JOB_PENDING },
		{ JOB_ENDING, JOB_EV_SHORT, JOB_PENDING },
		/* ended before it ran (a missing program, a file that failed) */
		{ JOB_RUNNING, JOB_EV_END, JOB_DONE },
		{ JOB_RUNNING, JOB_EV_RETRY, JOB_RETRY_WAIT },
		/* timeout and cancel: the ladder climbs, the state stays */
		{ JOB_RUNNING, JOB_EV_TIMEOUT, JOB_RUNNING },
		{ JOB_ENDING, JOB_EV_TIMEOUT, JOB_ENDING },
		{ JOB_RUNNING, JOB_EV_CANCEL, JOB_RUNNING },
		{ JOB_ENDING, JOB_EV_CANCEL, JOB_ENDING },
		{ JOB_PENDING, JOB_EV_SKIP, JOB_DONE },
		/* refused */
		{ JOB_PENDING, JOB_EV_EXITED, -1 },
		{ JOB_PENDING, JOB_EV_TIMEOUT, -1 },
		{ JOB_PENDING, JOB_EV_END, -1 },
		{ JOB_PENDING, JOB_EV_GROUP_EMPTY, -1 },
		{ JOB_RUNNING, JOB_EV_START, -1 },
		{ JOB_RUNNING, JOB_EV_GROUP_EMPTY, -1 },
		{ JOB_RUNNING, JOB_EV_SKIP, -1 },
		{ JOB_ENDING, JOB_EV_EXITED, -1 },
		{ JOB_ENDING, JOB_EV_START, -1 },
		{ JOB_RETRY_WAIT, JOB_EV_START, -1 },
		{ JOB_RETRY_WAIT, JOB_EV_EXITED, -1 },
		{ JOB_RETRY_WAIT, JOB_EV_SKIP, -1 },
	};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		const struct step *s = &steps[i];
		int got = job_state_next(s->from, s->ev);
		if (s->to < 0)
			ok(got == -1, "%s refuses %s", job_state_name(s->from), job_event_name(s->ev));
		else
			ok(got == s->to, "%s --%s--> %s (got %s)", job_state_name(s->from),
			   job_event_name(s->ev), job_state_name(s->to),
			   got < 0 ? "refused" : job_state_name(got));
	}

	/* DONE is final: it takes nothing but a (harmless) cancel */
	int moves = 0;
	for (int e = 0; e < JOB_EV__COUNT; e++) {
		int n = job_state_next(JOB_DONE, e);
		moves += n >= 0 && n != JOB_DONE;
	}
	is_int(moves, 0, "done leads nowhere");
	is_int(job_state_next(JOB_DONE, JOB_EV_START), -1, "done refuses start");

	/* every state can reach DONE, and every event is allowed somewhere */
	for (int st = 0; st < JOB__STATES; st++) {
		int seen = 1 << st, grew = 1;
		while (grew) {
			grew = 0;
			for (int s2 = 0; s2 < JOB__STATES; s2++)
				for (int e = 0; (seen >> s2 & 1) && e < JOB_EV__COUNT; e++) {
					int n = job_state_next(s2, e);
					if (n >= 0 && !(seen >> n & 1)) {
						seen |= 1 << n;
						grew = 1;
					}
				}
		}
		ok(seen >> JOB_DONE & 1, "%s can reach done", job_state_name(st));
	}
	for (int e = 0; e < JOB_EV__COUNT; e++) {
		int any = 0;
		for (int st = 0; st < JOB__STATES; st++)
			any |= job_state_next(st, e) >= 0;
		ok(any, "%s is taken in some state", job_event_name(e));
	}
	is_int(job_state_next(JOB__STATES, JOB_EV_START), -1, "an unknown state refuses");
	is_int(job_state_next(JOB_PENDING, JOB_EV__COUNT), -1, "an unknown event is refused");
	is_str(job_state_name(JOB_RETRY_WAIT), "retry-wait", "state names");
	is_str(job_event_name(JOB_EV_GROUP_EMPTY), "group-empty", "event names");
	return done_testing();
}
