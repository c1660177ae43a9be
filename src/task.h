/* SPDX-License-Identifier: GPL-3.0-or-later */
/* task.h - the built-in tasks of `piperun pool` (one file each) and the
 * loading of plugin tasks (piperun-task.h). */
#ifndef PIPERUN_TASK_INTERNAL_H
#define PIPERUN_TASK_INTERNAL_H

#include "piperun-task.h"

extern const struct piperun_task task_gcd;
extern const struct piperun_task task_factorize;
extern const struct piperun_task task_sleep;

/* A built-in task by name, or NULL. */
const struct piperun_task *task_builtin(const char *name);
/* The built-ins' names for a message, in registry order: "gcd,
 * factorize" then last_sep (", " or " or ") and "sleep".  Malloc'd. */
char *task_builtin_names(const char *last_sep);
/* "LIB.so:NAME": dlopen LIB.so, find piperun_task_NAME, check its ABI
 * (an ABI 1 task comes back as a copy with no timer).  The task lives
 * as long as the process.  Returns NULL and a message in *why.  For
 * set-up, on one thread (not thread-safe). */
const struct piperun_task *task_plugin(const char *spec, char **why);
/* Keep what tasks print away from results: returns a new descriptor
 * (close-on-exec) on what fd 1 was, for the results, and points fd 1 at
 * fd 2, so a task's printf() or write(1, ...) lands on stderr, as in a
 * pool worker process.  Returns -1 with errno (nothing changed). */
int task_stdout_aside(void);
/* For tasks: an error result with a formatted message. */
int task_error(struct piperun_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The common expired() (monotonic clock against ctx->deadline_ms). */
int task_expired(const struct piperun_task_ctx *ctx);
/* Call t->run() for one item: ctx is the caller's (it may sit first in
 * a larger struct its expired() reads) with state and expired (NULL:
 * task_expired) filled in; task_call sets its abi (the task's) and its
 * deadline,
 * timeout_ms after start_ms (none if timeout_ms <= 0).  *res is the
 * result, an ERROR one when run() failed; its text is the caller's to
 * release through t->free_result. */
void task_call(const struct piperun_task *t, struct piperun_task_ctx *ctx,
	       const struct piperun_arg *args, size_t nargs, double start_ms,
	       double timeout_ms, struct piperun_result *res);
/* A task runs in this process (pool's serial, thread and async modes;
 * a steps host): one that calls exit() would end the process with a
 * status that says all went well, its results never written.  While
 * task_exit_guard(WHO, status, info_fd) holds, exit() from anywhere
 * ends the process with status instead, after "piperun: WHO: a task
 * called exit(); the results are lost" on stderr (and the same after
 * "E " on info_fd, a steps host's info pipe, unless it is -1);
 * task_exit_guard(NULL, 0, -1) lifts it.  (A task that calls _exit()
 * passes any guard: the runner checks a pool's document and a steps
 * host's counts itself, kind_require_results.)  From one thread, while
 * no task runs. */
void task_exit_guard(const char *who, int status, int info_fd);
#endif
