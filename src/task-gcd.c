/* SPDX-License-Identifier: GPL-3.0-or-later */
/* task-gcd.c - the seed's naive greatest common divisor (Item 79): count
 * down from min(a, b) to the first number dividing both.  A deliberate
 * CPU burner; not Euclid. */
#include "config.h"
#include "task.h"

#include <stdint.h>
#include <stdlib.h>

static int gcd_run(const struct piperun_task_ctx *ctx, const struct piperun_arg *args,
		   size_t nargs, struct piperun_result *res)
{
	if (nargs != 2)
		return task_error(res, "gcd takes 2 integers, got %zu values", nargs);
	for (size_t i = 0; i < 2; i++) {
		if (args[i].type != PIPERUN_ARG_INT)
			return task_error(res, "gcd takes integers; argument %zu is not one", i + 1);
		if (args[i].i <= 0)
			return task_error(res, "gcd of %lld is undefined here (the naive "
					  "algorithm counts down from min(a, b) > 0)",
					  (long long)args[i].i);
	}
	int64_t a = args[0].i, b = args[1].i;
	int64_t low = a < b ? a : b;
	if (a <= UINT32_MAX && b <= UINT32_MAX) {
		/* the same loop in 32-bit arithmetic: division is much cheaper */
		uint32_t a32 = (uint32_t)a, b32 = (uint32_t)b;
		for (uint32_t i = (uint32_t)low; i > 0; i--) {
			if (a32 % i == 0 && b32 % i == 0) {
				res->kind = PIPERUN_RESULT_INT;
				res->i = i;
				return 0;
			}
			if ((i & 0xFFFFF) == 0 && ctx->expired(ctx))
				return task_error(res, "timed out");
		}
	}
	for (int64_t i = low; i > 0; i--) {
		if (a % i == 0 && b % i == 0) {
			res->kind = PIPERUN_RESULT_INT;
			res->i = i;
			return 0;
		}
		/* a clock read every 2^20 steps costs nothing measurable */
		if ((i & 0xFFFFF) == 0 && ctx->expired(ctx))
			return task_error(res, "timed out");
	}
	res->kind = PIPERUN_RESULT_INT;
	res->i = 1;
	return 0;
}

static void free_text(struct piperun_result *res)
{
	free(res->text);
	res->text = NULL;
}

const struct piperun_task task_gcd = {
	.abi = PIPERUN_TASK_ABI,
	.name = "gcd",
	.run = gcd_run,
	.free_result = free_text,
};
