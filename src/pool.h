/* pool.h - the task pool: one task mapped over many items, serially, on
 * threads, in worker processes or in one event loop, with identical
 * results (CONTRACT §5).
 *
 * Process mode forks its workers from this (single-threaded) process, so
 * they share the parsed items copy-on-write; batches of item indices go
 * out over a socketpair per worker in compact binary frames, results come
 * back the same way as each item ends.  Each worker also notes in a
 * shared page which item it is on, so a worker that crashes or is killed
 * costs exactly that item (error, with the signal): the rest of its batch
 * is handed to a replacement. */
#ifndef PIPERUN_POOL_H
#define PIPERUN_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jsonw.h"
#include "piperun-task.h"

enum pool_mode { POOL_SERIAL, POOL_THREAD, POOL_PROCESS, POOL_ASYNC };
const char *pool_mode_name(enum pool_mode m);
int pool_mode_parse(const char *s, enum pool_mode *m);

struct pool_item {
	size_t arg0, nargs;          /* into pool_items.args */
};

struct pool_items {
	struct piperun_arg *args;
	size_t nargs, args_cap;
	struct pool_item *items;
	size_t n, cap;
	char **strings;              /* owned text the args point into */
	size_t nstrings, strings_cap;
};

enum pool_status { POOL_PENDING, POOL_OK, POOL_ERROR, POOL_SKIPPED };

struct pool_result {
	enum pool_status status;
	enum piperun_result_kind kind;
	int64_t i;
	double d;
	char *text;                  /* JSON result or error message (malloc'd) */
	int worker;                  /* 1-based */
	double duration_ms;
};

struct pool_opts {
	const struct piperun_task *task;
	enum pool_mode mode;
	int workers;
	double timeout;              /* per item, seconds; 0 = none */
	bool fail_fast;
	long max_inflight;           /* async: 0 = every item at once */
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
};

/* Parse items from lines: whitespace-separated numbers, or one JSON array
 * per line; blank lines are skipped.  Returns -1 with "line N: ..." in
 * *err. */
int pool_parse_fd(int fd, struct pool_items *it, char **err);
int pool_parse_text(const char *text, size_t len, struct pool_items *it, char **err);
void pool_items_free(struct pool_items *it);

/* Run the task over every item; results[i] for item i.  Returns 0, or -1
 * when the pool itself could not run (message on stderr). */
int pool_run(const struct pool_opts *o, const struct pool_items *it,
	     struct pool_result *results, struct pool_stats *st);
void pool_results_free(struct pool_result *r, size_t n);

/* Output (CONTRACT §5). */
void pool_write_input(struct jw *w, const struct pool_items *it, size_t i);
void pool_write_item(struct jw *w, const struct pool_items *it, size_t i,
		     const struct pool_result *r);
void pool_write_summary(struct jw *w, const struct pool_stats *st, size_t total);

#endif
