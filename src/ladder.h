/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ladder.h - the one signal-then-KILL ladder.
 *
 * Stopping a process tree is always the same climb: its signal (TERM
 * unless asked otherwise), followed at once by SIGCONT so that a stopped
 * process acts on it (a stopped process keeps a TERM pending until it is
 * continued, and would otherwise wait for the KILL), then SIGKILL once
 * the grace has passed if anything is still there.  Run jobs, exec and
 * the workers of a steps job all climb it; what "the tree" is (a cgroup
 * and a process group, one process) is the owner's send() callback.
 *
 * A ladder belongs to one loop (one thread) like the timer it holds. */
#ifndef PIPERUN_LADDER_H
#define PIPERUN_LADDER_H

#include <stdbool.h>

#include "loop.h"

struct ladder {
	struct loop *loop;
	/* Signal the tree.  follow_up is true for the SIGCONT that follows
	 * the first signal (owners that list the signals they sent leave it
	 * out).  Returns whether anything was there to signal. */
	bool (*send)(void *ctx, int sig, bool follow_up);
	void *ctx;
	struct timer t_kill;
	bool climbing;       /* the first signal went out */
	bool kill_due;       /* the KILL is armed, or went out */
	bool killed;         /* a KILL went out (the grace's, ladder_kill's,
				or the climb's own signal) */
};

/* l is zeroed memory, or was disarmed (ladder_reset): its timer is not
 * armed. */
void ladder_init(struct ladder *l, struct loop *loop,
		 bool (*send)(void *ctx, int sig, bool follow_up), void *ctx);
/* The first rung: sig (then SIGCONT), and SIGKILL after grace_s seconds
 * (0: never).  Once climbing, a second call does not repeat the signal,
 * and a KILL already due keeps its time; a climb begun without one (a
 * timeout with no grace) gets it from the first call that gives a grace.
 * Returns whether sig reached anything. */
bool ladder_signal(struct ladder *l, int sig, double grace_s);
/* Like ladder_signal, but the KILL is re-armed grace_s from now even when
 * already climbing (a timeout that fires while the tree is already being
 * stopped still gives its own grace). */
bool ladder_signal_again(struct ladder *l, int sig, double grace_s);
/* The last rung, now. */
void ladder_kill(struct ladder *l);
/* Has a KILL gone out?  Then what is still there (forked while a KILL
 * went one by one) gets KILL again at each look (proc_wait_empty), not
 * the first rung: the ladder has nothing left to climb. */
bool ladder_killed(const struct ladder *l);
/* The tree is gone, or the owner starts over (a retry): disarm. */
void ladder_reset(struct ladder *l);

#endif
