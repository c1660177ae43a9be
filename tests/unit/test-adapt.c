/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-adapt.c - the adaptive window's rule (adapt.h) on made-up
 * timings: the machine's limits until a job ends, then the CPUs over
 * the share of its runtime a job keeps a CPU busy (contended runtimes
 * do not grow it; jobs that wait on I/O or sleep keep it at the
 * ceiling), Little's law where CPU times are not known (short jobs and
 * dear starts shrink it, long jobs grow it back), young
 * jobs only (idle ones age out, so waiting jobs are never serialised),
 * starts that did not happen leave nothing behind. */
#include "config.h"
#include "adapt.h"
#include "tap.h"

/* n starts at t, each spawn taking spawn_ms; returns how many the
 * window let start */
static size_t start_many(struct adapt *a, size_t from, size_t n, double t, double spawn_ms)
{
	size_t k = 0;
	for (; k < n && adapt_may_start(a, t); k++) {
		adapt_started(a, from + k, t);
		adapt_spawned(a, from + k, spawn_ms, true, false);
		t += spawn_ms;
	}
	return k;
}

static void test_ceiling_first(void)
{
	struct adapt a;
	adapt_init(&a, 2000, 1000, 2);
	/* nothing ended yet: every start up to the ceiling is allowed, as
	 * 1000 `sleep 1` need */
	is_int(start_many(&a, 0, 1000, 0, 0.3), 1000, "before any end: the ceiling (1000 at once)");
	is_int(adapt_running(&a), 1000, "1000 running");
	ok(a.rcap <= 1024, "the ring holds the starts of one tau, not all (%zu)", a.rcap);
	/* they end after a second: R = 1000 ms, s = 0.3 ms: K R / s is far
	 * above the ceiling */
	for (size_t i = 0; i < 1000; i++)
		adapt_ended(&a, i, 1000 + 0.3 * (double)i, -1, true);
	is_int(a.window, 1000, "1 s jobs started in 0.3 ms: the window stays at the ceiling");
	is_int(adapt_running(&a), 0, "none running");
	adapt_fini(&a);
}

static void test_short_jobs_shrink(void)
{
	struct adapt a;
	adapt_init(&a, 100000, 3987, 2);
	/* `true`: 1 ms from start to end, starts taking 0.5 ms */
	double t = 0;
	size_t id = 0;
	for (int round = 0; round < 200; round++) {
		adapt_started(&a, id, t);
		adapt_spawned(&a, 0, 0.5, true, false);
		adapt_ended(&a, id, t + 1, -1, true);
		id++;
		t += 0.5;
	}
	/* floor 2 + K * 1 / 0.5 */
	long want = 2 + (long)(ADAPT_K * 2);
	is_int(a.window, want, "R 1 ms, s 0.5 ms: window = floor + K R/s = %ld", want);
	is_int(start_many(&a, id, 100, t, 0.5), want, "only %ld short jobs start at once", want);
	/* starts getting dearer (a big fd table): the window shrinks */
	for (int i = 0; i < 100; i++)
		adapt_spawned(&a, 0, 2.0, true, false);
	ok(a.window <= 3, "starts at 2 ms each: the window shrinks to about the floor (%ld)", a.window);
	ok(a.window >= 2, "never below the floor (%ld)", a.window);
	/* cheap again, and jobs running 50 ms: it grows back */
	for (int i = 0; i < 200; i++) {
		adapt_spawned(&a, 0, 0.2, true, false);
		adapt_started(&a, 50000 + (size_t)i, t);
		adapt_ended(&a, 50000 + (size_t)i, t + 50, -1, true);
	}
	ok(a.window >= 200, "cheap starts, 50 ms jobs: it grows back (%ld)", a.window);
	/* many more short jobs, the window never full: the ring stays small */
	for (size_t i = 0; i < 20000; i++) {
		adapt_started(&a, 60000 + i, t);
		adapt_ended(&a, 60000 + i, t + 1, -1, true);
		t += 1;
	}
	ok(a.rlen < 100, "20,000 starts later the ring holds only recent ones (%zu)", a.rlen);
	adapt_fini(&a);
}

static void test_idle_jobs_age_out(void)
{
	struct adapt a;
	adapt_init(&a, 1000, 900, 2);
	double t = 0;
	/* learn short jobs: R 1 ms, s 0.5 ms -> window 6 */
	for (size_t i = 0; i < 100; i++) {
		adapt_started(&a, i, t);
		adapt_spawned(&a, 0, 0.5, true, false);
		adapt_ended(&a, i, t + 1, -1, true);
		t += 0.5;
	}
	/* then 200 jobs that wait for each other: none ends until all ran */
	size_t started = 0, id = 100;
	double waited = 0;
	for (int step = 0; step < 10000 && started < 200; step++) {
		size_t k = start_many(&a, id, 200 - started, t, 0.5);
		started += k;
		id += k;
		t += 0.5 * (double)k;
		double w = adapt_wait_ms(&a, t);
		if (started < 200) {
			ok(w >= 0 && w <= ADAPT_TAU_MIN_MS, "step %d: window full, a young job ages out in %.1f ms",
			   step, w);
			t += w;
			waited += w;
		}
	}
	is_int(started, 200, "all 200 waiting jobs started: idle jobs leave the window");
	is_int(adapt_running(&a), 200, "200 running at once");
	ok(waited < 2000, "within a bounded time (%.0f ms of made-up time)", waited);
	adapt_fini(&a);
}

static void test_forget_and_restart(void)
{
	struct adapt a;
	adapt_init(&a, 10, 5, 1);
	adapt_started(&a, 3, 0);
	adapt_forget(&a, 3);
	is_int(adapt_running(&a), 0, "a start that did not happen leaves nothing running");
	adapt_ended(&a, 3, 5, -1, true);
	is_int(a.ended, 0, "and its end is no sample");
	adapt_started(&a, 5, 0);
	adapt_spawned(&a, 5, 0.5, false, true);
	is_int(adapt_running(&a), 0, "a spawn that failed leaves nothing running");
	is_int(a.spawn_ms == 0, 1, "and is no spawn-time sample");
	adapt_started(&a, 6, 0);
	adapt_ended(&a, 6, 3, -1, false);
	is_int(adapt_running(&a), 0, "a start that came short later leaves nothing running");
	is_int(a.ended, 0, "and is no runtime sample");
	adapt_started(&a, 4, 0);
	adapt_started(&a, 4, 1); /* a retry */
	is_int(adapt_running(&a), 1, "a job started again counts once");
	adapt_ended(&a, 4, 11, -1, true);
	ok(a.run_ms > 9.9 && a.run_ms < 10.1, "its runtime is from its latest start (%.1f)", a.run_ms);
	is_int(adapt_running(&a), 0, "ended: none running");
	ok(adapt_may_start(&a, 12), "a start is allowed");
	is_int((long)adapt_wait_ms(&a, 12), -1, "nothing to wait for when the window is not full");
	adapt_fini(&a);
}

static void test_cpu_share(void)
{
	struct adapt a;
	adapt_init(&a, 100000, 3987, 2);
	/* `true` at 2 at once: 0.45 ms from start to end, 0.35 ms of CPU */
	double t = 0;
	size_t id = 0;
	for (int i = 0; i < 100; i++, id++, t += 0.25) {
		adapt_started(&a, id, t);
		adapt_spawned(&a, id, 0.25, true, false);
		adapt_ended(&a, id, t + 0.45, 0.35, true);
	}
	is_int(a.window, 2, "CPU-bound short jobs (u 0.78) on 2 CPUs: 2 at once");
	/* the same jobs, some contended: most take 4 ms, their CPU time
	 * barely grows; the window must not grow with their runtime */
	for (int i = 0; i < 400; i++, id++, t += 0.25) {
		adapt_started(&a, id, t);
		adapt_ended(&a, id, t + (i % 32 ? 4 : 0.45), 0.4, true);
	}
	is_int(a.window, 2, "contended runtimes (4 ms) do not raise it");
	/* but a lasting change of jobs is followed: R_min is the least of
	 * the last ADAPT_RECENT; jobs of 50 ms using 0.4 ms of CPU open it */
	for (int i = 0; i < ADAPT_RECENT; i++, id++, t += 0.25) {
		adapt_started(&a, id, t);
		adapt_ended(&a, id, t + 50, 0.4, true);
	}
	ok(a.window >= 200, "jobs waiting 50 ms on I/O: it opens (%ld)", a.window);
	/* sleepers: no CPU to speak of: the ceiling */
	for (int i = 0; i < 100; i++, id++, t += 0.25) {
		adapt_started(&a, id, t);
		adapt_ended(&a, id, t + 1000, 0.3, true);
	}
	is_int(a.window, 3987, "1 s sleepers: the ceiling");
	/* a job busy on 8 CPUs (CPU time 8 x its runtime): the floor */
	for (int i = 0; i < 100; i++, id++, t += 0.25) {
		adapt_started(&a, id, t);
		adapt_ended(&a, id, t + 10, 80, true);
	}
	is_int(a.window, 2, "jobs using 8 CPUs each: the floor");
	adapt_fini(&a);
}

int main(void)
{
	test_ceiling_first();
	test_cpu_share();
	test_short_jobs_shrink();
	test_idle_jobs_age_out();
	test_forget_and_restart();
	return done_testing();
}
