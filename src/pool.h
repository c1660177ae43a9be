/* SPDX-License-Identifier: GPL-3.0-or-later */
/* pool.h - the task pool: one task mapped over many items, serially, on
 * threads, in worker processes or in one event loop, with identical
 * results (CONTRACT §5).
 *
 * Process mode forks its workers from this (single-threaded) process, so
 * they share the parsed items copy-on-write; batches of item indices go
 * out over a socketpair per worker in compact binary frames, and each
 * result comes back the moment its item ends, before the worker begins
 * the next.  Each worker also counts in a shared page the items it has
 * begun, so the pool knows, when a worker dies, which items ran: an item
 * that began is never run again (it costs exactly that item: an error,
 * with the signal), and only items that never began go to a replacement.
 * A worker that dies before it begins any item (its task's init()
 * crashed) breaks process mode for the run: no replacement is forked,
 * and every item not run fails with the reason. */
#ifndef PIPERUN_POOL_H
#define PIPERUN_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jsonw.h"
#include "piperun-task.h"
#include "util.h"

enum pool_mode { POOL_SERIAL, POOL_THREAD, POOL_PROCESS, POOL_ASYNC };
/* The mode's name ("serial", "thread", "process", "async"), from
 * pool.c's one table; NULL for a value not in it. */
const char *pool_mode_name(enum pool_mode m);
/* That table itself (enum-name.h; parse with enum_parse): *n rows in
 * the order above (the order `pool --mode`'s message names them in);
 * static. */
struct enum_name;
const struct enum_name *pool_mode_table(size_t *n);

/* Items, compactly (a million two-number items take 22 MB): argument k
 * is vals[k] (an int64, a double's bits, or for strings and other JSON an
 * index into strings) of types[k] (enum piperun_arg_type); item i has
 * arguments arg0[i] .. arg0[i + 1] - 1.  The task ABI's piperun_arg
 * array is built per item, on the stack, as a task runs. */
struct pool_items {
	int64_t *vals;
	uint8_t *types;
	size_t nargs, args_cap;
	uint32_t *arg0;              /* n + 1 entries */
	size_t n, cap;
	char **strings;
	size_t nstrings, strings_cap;
	size_t scratch_cap;          /* pool_parse_one's args array */
	size_t base;                 /* the index in the whole input of item 0
					(a chunk of a stream: pool_read_chunk) */
};

enum pool_status { POOL_PENDING, POOL_OK, POOL_ERROR, POOL_SKIPPED };

/* 24 bytes: a million of them is 24 MB, allocated prefaulted. */
struct pool_result {
	union {
		int64_t i;
		double d;
	} v;
	char *text;                  /* JSON result or error message (malloc'd) */
	float duration_ms;
	uint16_t worker;             /* 1-based */
	uint8_t status;              /* enum pool_status */
	uint8_t kind;                /* enum piperun_result_kind */
};

struct pool_opts {
	const struct piperun_task *task;
	enum pool_mode mode;
	int workers;
	double timeout;              /* per item, seconds; 0 = none */
	bool fail_fast;
	long max_inflight;           /* async: 0 = every item at once */
	/* process: a worker process ends after this many items and a fresh
	 * one takes over (a leaking task gives its memory back); 0 = never.
	 * The other modes ignore it. */
	long max_per_worker;
	/* called as each item ends (in the thread that owns the run; under
	 * a lock in thread mode) */
	void (*on_result)(size_t index, const struct pool_result *r, void *ctx);
	void *ctx;
};

struct pool_stats {
	double wall_ms;
	double cpu_ms;               /* this process and its children */
	size_t ok, error, skipped;
	int workers;
	/* malloc'd, or NULL: the task's init() did not return within its
	 * bound in any worker, and the items failed with this text (the
	 * next chunk of a stream is not worth another wait) */
	char *gave_up;
};

/* The longest item line (its newline aside), as a steps job's item
 * (steps-int.h, MAX_ITEM_BYTES): 16 MiB. */
#define POOL_LINE_MAX (16u << 20)

/* Items from a file descriptor a chunk at a time, so that no more than a
 * chunk's items are ever held (piperun pool over millions of items):
 * lines of whitespace-separated numbers, or one JSON array per line;
 * blank lines are skipped.  pool_read_chunk empties it, then parses
 * lines into it until it holds max items (SIZE_MAX: all) or the input
 * ends (it->base: how many items came before).  Returns 1, 0 at the end
 * of the input (it holds nothing), or -1 with "line N: ..." (or a read
 * error) in *err and the items of the lines before line N in it: a NUL
 * byte (as soon as it is read) or a line of more than POOL_LINE_MAX
 * bytes is one. */
struct pool_reader {
	int fd;
	struct buf b;                /* read, not parsed yet from pos on */
	size_t pos;
	size_t lineno;               /* lines parsed */
	size_t nitems;               /* items read */
	int idle_ms;                 /* > 0: a chunk ends early, with what was
					read, once the input has had nothing
					more for this long (a pipe's writer
					that pauses gets its results now) */
	bool eof;
	char *failed;                /* a NUL byte read ahead: the error once
					the lines before it are items */
};
/* How many items piperun pool holds at once: ~12 MB of items and results
 * for two-number items. */
#define POOL_CHUNK ((size_t)1 << 18)
/* piperun pool runs what it has read once its input pauses this long */
#define POOL_IDLE_MS 100
/* --chunk's bound: 64M items */
#define POOL_CHUNK_MAX ((int64_t)1 << 26)
void pool_reader_init(struct pool_reader *r, int fd);
int pool_read_chunk(struct pool_reader *r, struct pool_items *it, size_t max, char **err);
void pool_reader_free(struct pool_reader *r);
/* No items, no strings; the arrays are kept for the next ones. */
void pool_items_clear(struct pool_items *it);
void pool_items_free(struct pool_items *it);
/* One item at a time (steps jobs): parse the line into it (cleared
 * first, its memory kept) and point *args (grown as needed, the caller's
 * until pool_items_free) at its nargs arguments.  -1 with *err. */
int pool_parse_one(struct pool_items *it, const char *p, size_t len,
		   struct piperun_arg **args, size_t *nargs, char **err);
/* A task's result as an item's text (malloc'd); releases res->text.
 * Returns -1 with the error message in *text for a failed item. */
int pool_result_text(const struct piperun_task *t, struct piperun_result *res,
		     char **text, size_t *len);

/* Run the task over every item; results[i] for item i.  Returns 0, or -1
 * when the pool itself could not run, with why (malloc'd, the caller's;
 * "pool: ..." for a "piperun: " prefix).  Prints nothing. */
int pool_run(const struct pool_opts *o, const struct pool_items *it,
	     struct pool_result *results, struct pool_stats *st, char **why);
/* A task's init() and fini() have a bound: the item timeout when there
 * is one, else POOL_LIFE_DEFAULT_MS.  One that has not returned by then
 * is given up: its thread is left behind (the process ends it), so that
 * a worker never waits on it for ever. */
#define POOL_LIFE_DEFAULT_MS 30000.0
double pool_life_bound_ms(double timeout_s);
/* Run fn(arg) on a thread of its own, waiting at most bound_ms (<= 0:
 * call it here).  false when it has not returned by then: the thread is
 * left running, detached, and arg must stay valid for it (the caller
 * leaks it). */
bool pool_call_bounded(void (*fn)(void *), void *arg, double bound_ms);
/* init() (none: ok) within the bound: 0 ok (*state set), 1 it failed, 2
 * it did not return in time (given up). */
int pool_task_init(const struct piperun_task *t, void **state, double bound_ms);
/* fini() (if any) within the bound; false when it did not return in
 * time (given up). */
bool pool_task_fini(const struct piperun_task *t, void *state, double bound_ms);

/* r failed (status and kind ERROR) with a copy of why; worker 0: no
 * worker ran it. */
void pool_fail(struct pool_result *r, const char *why, int worker);
/* Every item of res[0..n) still pending fails with why, run by no
 * worker, and is reported (o->on_result).  Returns how many. */
size_t pool_fail_pending(const struct pool_opts *o, struct pool_result *res, size_t n,
			 const char *why);

/* Results for n items, zeroed (POOL_PENDING), in prefaulted memory. */
struct pool_result *pool_results_alloc(size_t n);
void pool_results_free(struct pool_result *r, size_t n);

/* Output (CONTRACT §5). */
void pool_write_input(struct jw *w, const struct pool_items *it, size_t i);
void pool_write_item(struct jw *w, const struct pool_items *it, size_t i,
		     const struct pool_result *r);
void pool_write_summary(struct jw *w, const struct pool_stats *st, size_t total);

#endif
