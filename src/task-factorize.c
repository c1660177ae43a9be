/* SPDX-License-Identifier: GPL-3.0-or-later */
/* task-factorize.c - the seed's factorize (Item 68): every divisor of n,
 * by trial division of every i in 1..n. */
#include "config.h"
#include "task.h"
#include "util.h"

#include <stdlib.h>

static int factorize_run(const struct piperun_task_ctx *ctx, const struct piperun_arg *args,
			 size_t nargs, struct piperun_result *res)
{
	if (nargs != 1)
		return task_error(res, "factorize takes 1 integer, got %zu values", nargs);
	if (args[0].type != PIPERUN_ARG_INT)
		return task_error(res, "factorize takes an integer");
	int64_t n = args[0].i;
	if (n <= 0)
		return task_error(res, "factorize takes an integer >= 1, got %lld", (long long)n);
	struct buf b = { 0 };
	buf_addch(&b, '[');
	for (int64_t i = 1; i <= n; i++) {
		if (n % i == 0)
			buf_printf(&b, "%s%lld", b.len > 1 ? ", " : "", (long long)i);
		if ((i & 0xFFFFF) == 0 && ctx->expired(ctx)) {
			buf_free(&b);
			return task_error(res, "timed out");
		}
	}
	buf_addch(&b, ']');
	res->kind = PIPERUN_RESULT_JSON;
	res->text = buf_detach(&b);
	return 0;
}

static void free_text(struct piperun_result *res)
{
	free(res->text);
	res->text = NULL;
}

const struct piperun_task task_factorize = {
	.abi = PIPERUN_TASK_ABI,
	.name = "factorize",
	.run = factorize_run,
	.free_result = free_text,
};
