/* SPDX-License-Identifier: GPL-3.0-or-later */
/* task-sleep.c - wait the given seconds: the I/O stand-in of the seed
 * (Items 68, 75).  It declares a timer (piperun-task.h), so in an event
 * loop (pool's async mode, a steps job's async engine) piperun does not
 * call run(): a sleep item becomes a timer and the items wait side by
 * side. */
#include "config.h"
#include "task.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

/* The one argument, in seconds: run()'s and the timer's. */
static int sleep_seconds(const struct piperun_arg *args, size_t nargs, double *secs,
			 struct piperun_result *res)
{
	if (nargs != 1 || (args[0].type != PIPERUN_ARG_INT && args[0].type != PIPERUN_ARG_NUMBER))
		return task_error(res, "sleep takes 1 number of seconds"), -1;
	*secs = args[0].d;
	if (!(*secs >= 0) || *secs > 1e6)
		return task_error(res, "sleep takes 0 to 1e6 seconds, got %g", *secs), -1;
	return 0;
}

static int sleep_run(const struct piperun_task_ctx *ctx, const struct piperun_arg *args,
		     size_t nargs, struct piperun_result *res)
{
	double secs;
	if (sleep_seconds(args, nargs, &secs, res) < 0)
		return 0;
	/* in slices, asking expired() between them: a per-item timeout or a
	 * stopping job ends the wait within SLICE_MS */
	const double SLICE_MS = 50;
	double end = now_ms() + secs * 1000;
	for (;;) {
		if (ctx->expired(ctx))
			return task_error(res, "timed out");
		double left = end - now_ms();
		if (left <= 0)
			break;
		if (left > SLICE_MS)
			left = SLICE_MS;
		if (ctx->deadline_ms > 0 && ctx->deadline_ms - now_ms() < left)
			left = ctx->deadline_ms - now_ms() + 0.05;
		long long ns = (long long)(left * 1e6);
		struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	res->kind = PIPERUN_RESULT_NUMBER;
	res->d = secs;
	return 0;
}

static void free_text(struct piperun_result *res)
{
	free(res->text);
	res->text = NULL;
}

const struct piperun_task task_sleep = {
	.abi = PIPERUN_TASK_ABI,
	.name = "sleep",
	.run = sleep_run,
	.free_result = free_text,
	.timer = sleep_seconds,
};
