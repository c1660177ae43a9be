/* SPDX-License-Identifier: GPL-3.0-or-later */
/* trace-int.h - what trace.c (a run's, a pool's, a command's trace)
 * and trace-items.c (a run's pool and steps jobs' items, a steps host's
 * trace) share: the figures kept and the writer's helpers.  Not for
 * other modules (trace.h is the interface). */
#ifndef PIPERUN_TRACE_INT_H
#define PIPERUN_TRACE_INT_H

#include "afile.h"
#include "jsonw.h"
#include "trace.h"
#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One attempt of a job, as its record tells it (times: ms since the
 * run's start). */
struct tr_att {
	uint32_t job, attempt;
	int32_t slot, pid;
	int32_t rc;
	uint8_t status;
	bool has_rc, retry;
	double start, dur;
};

/* A pipeline stage of an attempt. */
struct tr_stage {
	uint32_t att;        /* index into atts */
	uint32_t index;
	int32_t pid, rc;
	bool has_rc;
	double start, end;
};

enum tr_inst_kind { TI_TIMEOUT, TI_SIGNAL, TI_RETRY };

/* An instant on an attempt's slot track. */
struct tr_inst {
	uint32_t att;
	uint8_t kind;
	int32_t sig;
	double ts;
};

struct tr_sample {
	double ts;
	long kb;
};

/* A pool item (times: ms since trace_pool_begin). */
struct tr_item {
	size_t index;
	double start, end;
	uint8_t status;              /* enum pool_status */
};

/* A pool worker's items kept: its first TRACE_ITEMS_FIRST, and its
 * slowest TRACE_ITEMS_SLOWEST of the rest (a min-heap on duration). */
struct tr_worker {
	struct tr_item first[TRACE_ITEMS_FIRST];
	struct tr_item slow[TRACE_ITEMS_SLOWEST];
	size_t nfirst, nslow;
	size_t items;                /* all it ran */
	char *step;                  /* a steps job's: its step's name, */
	long id;                     /* and its number in the step */
};

/* The pool's counters at one moment. */
struct tr_count {
	double ts;
	size_t done, ok, error;
	long kb;
};

struct trace {
	struct afile file;
	char *what, *name;   /* "run" and the spec's name; "pool" and the task's */
	double t0;           /* now_ms() at the run's start: the jobs'
				run_t0, which samples are taken against
				at the end */
	char started_at[32];
	long limit;
	int statm;           /* /proc/self/statm, read with pread; -1 */
	long page_kb;
	uint16_t *traced;    /* per job: attempts traced so far */
	size_t njobs;
	struct tr_att *atts;
	size_t natts, atts_cap;
	struct tr_stage *stages;
	size_t nstages, stages_cap;
	struct tr_inst *insts;
	size_t ninsts, insts_cap;
	struct tr_sample *rss;
	size_t nrss, rss_cap;
	double last_sample;
	/* piperun pool */
	struct tr_worker **workers;  /* by worker (1-based; [0] async's) */
	size_t nworkers;
	struct tr_count *counts;     /* at most TRACE_MAX_COUNTS */
	size_t ncounts;
	double count_every;          /* ms between them (doubles when full) */
	size_t done, ok, error;
	char *mode;
	/* run: where its pool and steps jobs write their items' traces
	   (trace_ask_items; NULL: none) */
	char *items_dir;
	size_t nitem_jobs;           /* job-N.json files asked for: N < it */
	/* a steps job's host: per sample, its time and per step its items
	   done and its queue's depth (at most TRACE_MAX_COUNTS samples) */
	double *scounts;
	size_t nsteps, nscounts;
	char **step_names;
	long *step_queues;           /* each step's queue capacity */
};

struct tw {
	struct jw w;
	const struct trace *t;
	const struct run_result *res;
	int pid;
	char **names;        /* per job, redacted (lazily) */
	long stage_tid0;     /* the first stage track's tid */
};

void tr_sample_rss(struct trace *t, double now);
/* ms as a trace's µs, every boundary rounded alike */
double tr_us(double ms);
/* An event's start: name, ph, pid, tid (< 0: none), ts (< 0: none). */
void tr_ev(struct jw *w, const char *name, const char *ph, int pid, long tid, double ts_ms);
/* Metadata what: args name, or (name NULL) sort_index sort. */
void tr_meta(struct jw *w, const char *what, int pid, long tid, const char *name, long sort);
const char *tr_job_name(struct tw *x, uint32_t job);
/* What went into sink, out; t committed and freed (0, or -1 errno). */
int tr_commit(struct trace *t, struct fd_sink *sink);
/* Keep an item if it is among its worker's first or slowest. */
void tr_keep_item(struct tr_worker *w, const struct tr_item *it);
/* A worker's items kept, on tracks from tid; the next free tid. */
long tr_write_worker(struct tw *x, size_t wk, const struct tr_worker *w, long tid);
/* An items document in three parts (trace.c): begin (the caller then
 * adds its own otherData keys), events (the rest of otherData, the
 * workers' kept items; the caller then writes its counters), end. */
void tr_items_begin(struct tw *x);
void tr_items_events(struct tw *x, double wall_ms, uint64_t items);
void tr_items_end(struct tw *x, const char *process, const char *thread);

/* trace-items.c */
void tr_items_dir_remove(struct trace *t);
/* The run's pool and steps jobs' items, each under a process of its own. */
void tr_write_items(struct tw *x);

#endif
