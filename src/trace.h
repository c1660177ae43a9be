/* SPDX-License-Identifier: GPL-3.0-or-later */
/* trace.h - `--trace FILE`: a run as a Chrome Trace Event Format JSON
 * document, the format Perfetto UI and chrome://tracing open.
 *
 * Fed by the run's callbacks (run_config: on_start, on_attempt,
 * on_done, on_idle), it keeps a few compact figures per job attempt
 * while the run goes on and writes the whole file at the end:
 *   - a track (tid) per concurrency slot (the record's "slot"; tid is
 *     slot + 1, as trace viewers take tid 0 for the idle task), with a
 *     complete event ("X") per job attempt: its name, kind, status,
 *     returncode, attempt, pid and slot in args;
 *   - a pipeline's stages on tracks of their own ("stages N", packed:
 *     stages run at once and a track never holds partly overlapping
 *     slices);
 *   - instant events ("i") on the slot's track for a job's timeout,
 *     each signal sent to it and a retry;
 *   - counter tracks ("C") on the runner's own track (tid = its pid):
 *     jobs running, jobs waiting (ready to start: dependencies done,
 *     retry delay over, but not started) and the runner's RSS;
 *   - metadata ("M") naming the process and every track.
 * Names and statuses only: job names and argv[0] redacted as in the
 * results (spec_redact), never an environment or an argument list. */
#ifndef PIPERUN_TRACE_H
#define PIPERUN_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct job;
struct run_result;
struct spec;

struct trace;

/* A trace to be written to path: the target is checked now (afile.h)
 * and written at trace_finish (or trace_pool_finish).  what and name
 * name the process: "run" and the spec's name, "pool" and the task's.
 * NULL with errno. */
struct trace *trace_open(const char *path, const char *what, const char *name);
/* The run is set up (its jobs are res->jobs). */
void trace_started(struct trace *t, const struct run_result *res);
/* An attempt of j ended (on_attempt: a retry follows), or j is done
 * (on_done: its last attempt, if not traced yet).  Call before its
 * record is written and its stages let go. */
void trace_attempt(struct trace *t, const struct job *j, bool retry);
/* The loop goes idle: a sample of the runner's RSS, at most every
 * TRACE_SAMPLE_MS. */
void trace_idle(struct trace *t);
#define TRACE_SAMPLE_MS 10.0
/* Write the file (jobs of res still there) and free t.  0, or -1 with
 * errno (the target is left as it was). */
int trace_finish(struct trace *t, const struct run_result *res);
/* Free t; the target is left as it was. */
void trace_abort(struct trace *t);

/* A run's pool and steps jobs trace their items too: before the run,
 * trace_ask_items gives each a file of its own in a directory it makes
 * (a pool job in its environment, TRACE_ITEMS_ENV; a steps job's host in
 * its description, steps_spec.trace_items), which they write as
 * `piperun pool --trace` does (a steps job a worker per step's worker,
 * "STEP worker W", and its queues' counters); trace_finish puts the
 * events of each under a process of its own (its pid: the pool's or
 * host's), its times moved onto the run's clock (CLOCK_MONOTONIC: the
 * document's otherData.clock_ms is its 0), and removes the directory.
 * 0, or -1 with errno (no directory: the jobs trace nothing). */
#define TRACE_ITEMS_ENV "PIPERUN_TRACE_ITEMS"
int trace_ask_items(struct trace *t, struct spec *s);

/* `piperun pool --trace FILE`: a track per worker (more when its items
 * overlap: async mode) with a complete event per item ("item N"; args
 * index, status, worker), but per worker only its first
 * TRACE_ITEMS_FIRST items and its slowest TRACE_ITEMS_SLOWEST of the
 * rest, so that a million items make a trace a person can open; and
 * counters on the pool's own track: items done, ok and error and the
 * process's RSS, sampled as items end, at most TRACE_MAX_COUNTS of them
 * (every TRACE_SAMPLE_MS, then twice as far apart each time they fill
 * up).  An item's times are as the pool saw it end, minus its
 * duration. */
#define TRACE_ITEMS_FIRST 100
#define TRACE_ITEMS_SLOWEST 100
#define TRACE_MAX_COUNTS 2000
struct pool_result;
struct pool_stats;
/* Before pool_run: its mode's name. */
void trace_pool_begin(struct trace *t, const char *mode);
/* Item index ended (pool_opts.on_result). */
void trace_pool_item(struct trace *t, size_t index, const struct pool_result *r);
/* Write the file and free t, as trace_finish. */
int trace_pool_finish(struct trace *t, const struct pool_stats *st, size_t total);

/* A steps job's host (trace_ask_items): opened with what "steps", a
 * worker per worker of each step (steps[k] has workers[k]: worker
 * numbers run on from step to step), and per step two counters, its
 * items done and its queue's depth (its capacity queues[k]), sampled
 * as pool's are. */
void trace_steps_begin(struct trace *t, const char *const *steps, size_t nsteps,
		       const int *workers, const long *queues);
/* Item index (0-based, in input order) ran on worker from start to end
 * (now_ms() times).  Only the worker's own thread calls it for it. */
void trace_steps_item(struct trace *t, size_t worker, size_t index, double start,
		      double end, bool ok);
/* A sample of the counters (nsteps each), kept if TRACE_SAMPLE_MS (or
 * more, once thinned) passed since the last, or last.  One thread at a
 * time. */
void trace_steps_count(struct trace *t, const uint64_t *done, const uint64_t *queued,
		       bool last);
/* Write the file and free t, as trace_finish. */
int trace_steps_finish(struct trace *t, double wall_ms, uint64_t items);

/* `piperun exec` / `timeout --trace FILE`: the command's record r (its
 * one event on slot 0, the timeout, after timeout_s seconds, and the
 * signals sent as instants); written and t freed as trace_finish. */
struct command_record;
int trace_command_finish(struct trace *t, const struct command_record *r, double timeout_s);

#endif
