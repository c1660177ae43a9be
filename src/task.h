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
/* "LIB.so:NAME": dlopen LIB.so, find piperun_task_NAME, check its ABI.
 * Returns NULL and a message in *why. */
const struct piperun_task *task_plugin(const char *spec, char **why);
/* For tasks: an error result with a formatted message. */
int task_error(struct piperun_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The common expired() (monotonic clock against ctx->deadline_ms). */
int task_expired(const struct piperun_task_ctx *ctx);

#endif
