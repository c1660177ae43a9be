/* SPDX-License-Identifier: GPL-3.0-or-later */
/* piperun-task.h - the task ABI of `piperun pool` (version 2; plugins
 * built for version 1 still load).
 *
 * A task maps one item (an array of arguments) to one result.  A plugin
 * is a shared object exporting, for a task NAME, the symbol
 *
 *     const struct piperun_task piperun_task_NAME;
 *
 * and is loaded with `piperun pool --task-plugin LIB.so:NAME`.  The same
 * task runs in every mode: serially, on threads (run() must then be
 * thread-safe for distinct states), in worker processes, or inline in the
 * event loop.  In process mode a task that crashes costs only the item it
 * was working on.
 *
 * Build a plugin with `pkg-config --cflags piperun-task`; it needs no
 * library of piperun's. */
#ifndef PIPERUN_TASK_H
#define PIPERUN_TASK_H

#include <stddef.h>
#include <stdint.h>

/* 2 added struct piperun_task's timer (at its end); a version 1 task is
 * read as one whose timer is NULL. */
#define PIPERUN_TASK_ABI 2

/* One argument of an item. */
enum piperun_arg_type { PIPERUN_ARG_INT, PIPERUN_ARG_NUMBER, PIPERUN_ARG_STRING,
			PIPERUN_ARG_OTHER };

struct piperun_arg {
	enum piperun_arg_type type;
	int64_t i;              /* PIPERUN_ARG_INT */
	double d;               /* PIPERUN_ARG_INT and PIPERUN_ARG_NUMBER */
	const char *s;          /* PIPERUN_ARG_STRING (UTF-8); OTHER: JSON text */
};

/* What run() produced. */
enum piperun_result_kind {
	PIPERUN_RESULT_INT,     /* value in i */
	PIPERUN_RESULT_NUMBER,  /* value in d */
	PIPERUN_RESULT_JSON,    /* text: any JSON value, malloc'd by the task,
				   released through free_result */
	PIPERUN_RESULT_ERROR,   /* text: a message, same ownership */
};

struct piperun_result {
	enum piperun_result_kind kind;
	int64_t i;
	double d;
	char *text;
};

/* Given to every call.  A long computation should call expired() now and
 * then (every few milliseconds of work is plenty) and give up with an
 * error when it returns non-zero: that is how per-item timeouts reach a
 * task in serial, thread and async modes (process mode can also kill the
 * worker). */
struct piperun_task_ctx {
	int abi;                /* PIPERUN_TASK_ABI */
	void *state;            /* what init() returned */
	int (*expired)(const struct piperun_task_ctx *ctx);
	double deadline_ms;     /* private to piperun */
};

struct piperun_task {
	int abi;                /* PIPERUN_TASK_ABI */
	const char *name;
	/* Once per worker (thread or process) before its first item; may be
	 * NULL.  Returns 0, or -1 to refuse (the items fail).  piperun pool
	 * starts fresh workers for each chunk of 262,144 items. */
	int (*init)(void **state);
	/* One item.  Returns 0 with *res filled in (an ERROR result is a
	 * failed item, not a failed call). */
	int (*run)(const struct piperun_task_ctx *ctx, const struct piperun_arg *args,
		   size_t nargs, struct piperun_result *res);
	/* Releases res->text; may be NULL if run() never sets text. */
	void (*free_result)(struct piperun_result *res);
	/* Once per worker after its last item; may be NULL. */
	void (*fini)(void *state);

	/* ABI 2, may be NULL: the task is a wait, so an event loop (pool's
	 * async mode, a steps job's async engine) does not call run() but
	 * sets a timer, and many items wait side by side.  timer() checks
	 * an item's arguments and gives the seconds to wait (at most the
	 * item's timeout is waited: a wait as long as the timeout or longer
	 * times out, as a run() that takes that long does); the item's
	 * result is then that number.  Returns 0, or -1 with an ERROR result
	 * in *res (the item fails).  Must be thread-safe, and agree with
	 * run(), which the other modes call. */
	int (*timer)(const struct piperun_arg *args, size_t nargs, double *secs,
		     struct piperun_result *res);
};

#endif
