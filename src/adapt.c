/* SPDX-License-Identifier: GPL-3.0-or-later */
/* adapt.c - the adaptive default parallelism: the window rule of
 * adapt.h, fed by the runner (the CPUs over the share of its runtime a
 * job keeps one busy, or Little's law where that is not known; young
 * jobs only). */
#include "config.h"
#include "adapt.h"
#include "util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

enum { AGE_IDLE, AGE_YOUNG, AGE_OLD };

void adapt_init(struct adapt *a, size_t njobs, long ceiling, long floor)
{
	memset(a, 0, sizeof *a);
	a->ceiling = ceiling < 1 ? 1 : ceiling;
	a->floor = floor < 1 ? 1 : floor > a->ceiling ? a->ceiling : floor;
	/* the machine's limits until something is known */
	a->window = a->ceiling;
	a->njobs = njobs;
	a->t_start = xcalloc(njobs ? njobs : 1, sizeof *a->t_start);
	a->age = xcalloc(njobs ? njobs : 1, sizeof *a->age);
}

void adapt_fini(struct adapt *a)
{
	free(a->t_start);
	free(a->age);
	free(a->ring);
	a->t_start = NULL;
	a->age = NULL;
	a->ring = NULL;
}

long adapt_ceiling(long keep_fds, long job_fds)
{
	struct rlimit r;
	long fds = 1024;
	if (getrlimit(RLIMIT_NOFILE, &r) == 0)
		fds = r.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)r.rlim_cur;
	long lim = (fds - keep_fds) / job_fds;
	/* Leave half of the process limit and of pid_max to everyone else. */
	if (getrlimit(RLIMIT_NPROC, &r) == 0 && r.rlim_cur != RLIM_INFINITY &&
	    (long)r.rlim_cur / 2 < lim)
		lim = (long)r.rlim_cur / 2;
	int fd = open("/proc/sys/kernel/pid_max", O_RDONLY | O_CLOEXEC);
	char b[32];
	ssize_t n = fd >= 0 ? read(fd, b, sizeof b - 1) : -1;
	if (fd >= 0)
		close(fd);
	b[n > 0 ? n : 0] = 0;
	long pm = strtol(b, NULL, 10);
	if (pm > 0 && pm / 2 < lim)
		lim = pm / 2;
	return lim < 1 ? 1 : lim;
}

size_t adapt_running(const struct adapt *a)
{
	return a->young + a->old;
}

long adapt_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n;
}

static double tau_ms(const struct adapt *a)
{
	double t = ADAPT_TAU_K * (a->cpu_n ? a->run_min_ms : a->run_ms);
	return t < ADAPT_TAU_MIN_MS ? ADAPT_TAU_MIN_MS : t > ADAPT_TAU_MAX_MS ? ADAPT_TAU_MAX_MS : t;
}

/* CPUs / u, or floor + K R/s, within [floor, ceiling]; the ceiling
 * until a job ended (and, for Little's rule, a start was timed) */
static void recompute(struct adapt *a)
{
	double w;
	if (a->cpu_n) {
		double rmin = a->run_min_ms < 0.001 ? 0.001 : a->run_min_ms;
		double u = a->cpu_ms / rmin;
		w = u < 1e-6 ? (double)a->ceiling : (double)a->floor / u;
	} else if (a->ended && a->spawn_ms > 0) {
		double s = a->spawn_ms < 0.001 ? 0.001 : a->spawn_ms;
		w = (double)a->floor + ADAPT_K * a->run_ms / s;
	} else {
		w = (double)a->ceiling;
	}
	a->window = w >= (double)a->ceiling ? a->ceiling : w < (double)a->floor ? a->floor : (long)w;
}

static void ring_push(struct adapt *a, size_t id, double t)
{
	if (a->rlen == a->rcap) {
		size_t cap = a->rcap ? a->rcap * 2 : 64;
		struct adapt_start *n = xcalloc(cap, sizeof *n);
		for (size_t i = 0; i < a->rlen; i++)
			n[i] = a->ring[(a->rhead + i) % a->rcap];
		free(a->ring);
		a->ring = n;
		a->rcap = cap;
		a->rhead = 0;
	}
	a->ring[(a->rhead + a->rlen++) % a->rcap] = (struct adapt_start){ id, t };
}

/* Young jobs started tau ago or more become old; entries of jobs that
 * ended (or started again since) just go. */
static void age_out(struct adapt *a, double now)
{
	double tau = tau_ms(a);
	while (a->rlen) {
		struct adapt_start *e = &a->ring[a->rhead];
		bool current = a->age[e->id] == AGE_YOUNG && a->t_start[e->id] == e->t;
		if (current && e->t + tau > now)
			break;
		if (current) {
			a->age[e->id] = AGE_OLD;
			a->young--;
			a->old++;
		}
		a->rhead = (a->rhead + 1) % a->rcap;
		a->rlen--;
	}
}

void adapt_started(struct adapt *a, size_t id, double now)
{
	if (id >= a->njobs)
		return;
	adapt_forget(a, id); /* (a start again without an end: not counted twice) */
	age_out(a, now);     /* (keeps the ring to the starts of one tau) */
	a->age[id] = AGE_YOUNG;
	a->t_start[id] = now;
	a->young++;
	ring_push(a, id, now);
}

static double ewma(double avg, double sample, bool first)
{
	return first ? sample : avg + ADAPT_EWMA * (sample - avg);
}

void adapt_spawned(struct adapt *a, size_t id, double spawn_ms, bool made, bool failed)
{
	if (failed)
		adapt_forget(a, id);
	if (!made)
		return;
	if (spawn_ms < 0)
		spawn_ms = 0;
	a->spawn_ms = ewma(a->spawn_ms, spawn_ms, a->spawn_ms <= 0);
	recompute(a);
}

void adapt_forget(struct adapt *a, size_t id)
{
	if (id >= a->njobs)
		return;
	if (a->age[id] == AGE_YOUNG)
		a->young--;
	else if (a->age[id] == AGE_OLD)
		a->old--;
	/* a young one's ring entry goes when it reaches the head */
	a->age[id] = AGE_IDLE;
}

void adapt_ended(struct adapt *a, size_t id, double now, double cpu_ms, bool sample)
{
	if (id >= a->njobs || a->age[id] == AGE_IDLE)
		return;
	double ran = now - a->t_start[id];
	adapt_forget(a, id);
	if (!sample)
		return;
	if (ran < 0)
		ran = 0;
	a->run_ms = ewma(a->run_ms, ran, a->ended == 0);
	a->recent[a->ended % ADAPT_RECENT] = ran;
	a->ended++;
	size_t n = a->ended < ADAPT_RECENT ? a->ended : ADAPT_RECENT;
	a->run_min_ms = ran;
	for (size_t i = 0; i < n; i++)
		if (a->recent[i] < a->run_min_ms)
			a->run_min_ms = a->recent[i];
	if (cpu_ms >= 0) {
		a->cpu_ms = ewma(a->cpu_ms, cpu_ms, a->cpu_n == 0);
		a->cpu_n++;
	}
	recompute(a);
}

bool adapt_may_start(struct adapt *a, double now)
{
	if ((long)a->young < a->window)
		return true;
	age_out(a, now);
	return (long)a->young < a->window;
}

double adapt_wait_ms(const struct adapt *a, double now)
{
	if ((long)a->young < a->window || !a->rlen)
		return -1;
	double left = a->ring[a->rhead].t + tau_ms(a) - now;
	return left < 0 ? 0 : left;
}
