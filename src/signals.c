/* SPDX-License-Identifier: GPL-3.0-or-later */
/* signals.c - the signals piperun takes as events (see signals.h). */
#include "config.h"
#include "signals.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

#define NSIG_MAX 65

static bool ignored[NSIG_MAX];

static const int terminating[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM,
	SIGSTKFLT, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGIO, SIGPWR,
};

void signals_init(void)
{
	for (int sig = 1; sig < NSIG_MAX && sig < NSIG; sig++) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		if (sigaction(sig, NULL, &sa) == 0)
			ignored[sig] = sa.sa_handler == SIG_IGN;
	}
}

bool signals_ignored_at_start(int sig)
{
	return sig > 0 && sig < NSIG_MAX && ignored[sig];
}

void signals_terminating(sigset_t *set)
{
	for (size_t i = 0; i < sizeof terminating / sizeof terminating[0]; i++)
		if (!ignored[terminating[i]])
			sigaddset(set, terminating[i]);
	for (int sig = SIGRTMIN; sig <= SIGRTMAX && sig < NSIG_MAX; sig++)
		if (!ignored[sig])
			sigaddset(set, sig);
}

void signals_unblock_terminating(sigset_t *old)
{
	sigset_t term;
	sigemptyset(&term);
	signals_terminating(&term);
	pthread_sigmask(SIG_UNBLOCK, &term, old);
}

bool signals_self_raised(const struct signalfd_siginfo *si)
{
	/* the kernel sends these as SI_USER from the task itself */
	return (si->ssi_signo == SIGPIPE || si->ssi_signo == SIGXFSZ) &&
	       si->ssi_code == SI_USER && (pid_t)si->ssi_pid == getpid();
}

int signals_pending_terminating(void)
{
	sigset_t term, pend;
	sigemptyset(&term);
	signals_terminating(&term);
	if (sigpending(&pend) < 0)
		return 0;
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&term, sig) && sigismember(&pend, sig))
			return sig;
	return 0;
}
