/* SPDX-License-Identifier: GPL-3.0-or-later */
/* signals.h - which signals piperun takes as events.
 *
 * Every signal whose default action ends a process is either an event
 * for piperun (blocked, read from a signalfd, acted on: run stops its
 * jobs and writes results, exec passes it on) or left alone:
 *   - signals that were ignored when piperun started stay ignored (for
 *     piperun and its children: `nohup piperun run` survives SIGHUP, and
 *     so do its jobs).  They are never blocked: a blocked signal is
 *     queued even when its disposition is SIG_IGN, and would reach the
 *     signalfd.
 *   - faults (ILL, TRAP, ABRT, BUS, FPE, SEGV, SYS) and KILL end piperun
 *     at once; the guardian (contain.h) then kills every job's tree.
 * The table per signal is in piperun(1), SIGNALS. */
#ifndef PIPERUN_SIGNALS_H
#define PIPERUN_SIGNALS_H

#include <signal.h>
#include <stdbool.h>
#include <sys/signalfd.h>

/* Note which signals were ignored at start.  Called by spawn_init(),
 * before piperun changes any disposition. */
void signals_init(void);
/* Was sig ignored when piperun started? */
bool signals_ignored_at_start(int sig);
/* Add the terminating signals piperun handles to *set: HUP INT QUIT USR1
 * USR2 PIPE ALRM TERM STKFLT XCPU XFSZ VTALRM PROF IO PWR and the
 * real-time signals, but those ignored at start. */
void signals_terminating(sigset_t *set);
/* One of those, pending while the caller keeps them blocked (the lowest
 * number), or 0. */
int signals_pending_terminating(void);
/* Unblock the terminating signals in this thread (the mask before into
 * *old, for pthread_sigmask(SIG_SETMASK, old, NULL)): for reading an
 * input before anything started (a spec, a foreach file), which may be
 * a FIFO whose writer never comes.  Commands that keep the signals
 * blocked for their signalfd would leave Ctrl-C and timeout(1) unheard
 * meanwhile; so they do what they do to any program, and piperun dies
 * of them (no job, no guardian yet). */
void signals_unblock_terminating(sigset_t *old);
/* Did piperun's own system call raise it (the SIGPIPE of a write to a
 * closed pipe, the SIGXFSZ of a write past RLIMIT_FSIZE)?  The call's
 * errno (EPIPE, EFBIG) already says so: not an event. */
bool signals_self_raised(const struct signalfd_siginfo *si);

#endif
