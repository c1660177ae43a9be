/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ladder.c - signal, SIGCONT, then SIGKILL after a grace (see ladder.h). */
#include "config.h"
#include "ladder.h"
#include "util.h"

#include <signal.h>

void ladder_init(struct ladder *l, struct loop *loop,
		 bool (*send)(void *ctx, int sig, bool follow_up), void *ctx)
{
	l->loop = loop;
	l->send = send;
	l->ctx = ctx;
	l->climbing = l->kill_due = l->killed = false;
}

static void on_grace_over(struct timer *t)
{
	struct ladder *l = t->data;
	l->killed = true;
	l->send(l->ctx, SIGKILL, false);
}

/* Signals after which a SIGCONT would undo what was asked (a stop) or
 * add nothing (KILL, CONT itself). */
static bool wants_cont(int sig)
{
	switch (sig) {
	case SIGKILL: case SIGCONT: case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:
		return false;
	default:
		return true;
	}
}

static bool climb(struct ladder *l, int sig, double grace_s, bool rearm)
{
	bool any = false;
	if (!l->climbing || rearm) {
		l->climbing = true;
		if (sig == SIGKILL)
			l->killed = true;
		any = l->send(l->ctx, sig, false);
		if (wants_cont(sig))
			l->send(l->ctx, SIGCONT, true);
	} else if (l->kill_due) {
		return false;   /* the KILL keeps its time (or went out) */
	}
	/* a climb begun without a KILL (grace 0) gets one from the first
	 * call that gives a grace */
	if (sig != SIGKILL && grace_s > 0) {
		l->kill_due = true;
		timer_start(l->loop, &l->t_kill, now_ms() + grace_s * 1000, on_grace_over, l);
	}
	return any;
}

bool ladder_signal(struct ladder *l, int sig, double grace_s)
{
	return climb(l, sig, grace_s, false);
}

bool ladder_signal_again(struct ladder *l, int sig, double grace_s)
{
	return climb(l, sig, grace_s, true);
}

void ladder_kill(struct ladder *l)
{
	l->climbing = l->kill_due = l->killed = true;
	timer_stop(l->loop, &l->t_kill);
	l->send(l->ctx, SIGKILL, false);
}

bool ladder_killed(const struct ladder *l)
{
	return l->killed;
}

void ladder_reset(struct ladder *l)
{
	if (l->loop)
		timer_stop(l->loop, &l->t_kill);
	l->climbing = l->kill_due = l->killed = false;
}
