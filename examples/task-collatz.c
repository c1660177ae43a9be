/* SPDX-License-Identifier: GPL-3.0-or-later */
/* task-collatz.c - an example piperun pool task (a plugin).
 *
 * The number of Collatz steps from n down to 1 (n -> n/2 if even, 3n+1 if
 * odd).  Build it as a shared object and hand it to piperun:
 *
 *     cc -O2 -shared -fPIC $(pkg-config --cflags piperun-task) \
 *        -o task-collatz.so task-collatz.c
 *     seq 1 100000 | piperun pool --task-plugin ./task-collatz.so:collatz \
 *        --mode process -j 4 --output text
 *
 * It shows every part of the ABI: init/fini with per-worker state (a
 * count of items, to show the state is per worker), an integer result, a
 * JSON result (with "detail": true... see below), errors, and polling
 * expired() so that per-item timeouts reach it in every mode. */
#define _POSIX_C_SOURCE 200809L
#include <piperun-task.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct state {
	long items;
};

static int collatz_init(void **state)
{
	*state = calloc(1, sizeof(struct state));
	return *state ? 0 : -1;
}

static void collatz_fini(void *state)
{
	free(state);
}

static int err(struct piperun_result *res, const char *msg)
{
	res->kind = PIPERUN_RESULT_ERROR;
	res->text = strdup(msg);
	return 0;
}

/* collatz(n) -> steps; collatz(n, "path") -> the peak value reached too,
 * as a JSON object. */
static int collatz_run(const struct piperun_task_ctx *ctx, const struct piperun_arg *args,
		       size_t nargs, struct piperun_result *res)
{
	struct state *st = ctx->state;
	st->items++;
	if (nargs < 1 || nargs > 2 || args[0].type != PIPERUN_ARG_INT)
		return err(res, "collatz takes an integer (and optionally \"peak\")");
	if (args[0].i < 1)
		return err(res, "collatz takes an integer >= 1");
	int peak = nargs == 2 && args[1].type == PIPERUN_ARG_STRING && !strcmp(args[1].s, "peak");
	uint64_t n = (uint64_t)args[0].i, top = n;
	int64_t steps = 0;
	while (n != 1) {
		if (n > (UINT64_MAX - 1) / 3)
			return err(res, "overflow");
		n = n % 2 ? 3 * n + 1 : n / 2;
		if (n > top)
			top = n;
		if ((++steps & 0xFFFF) == 0 && ctx->expired(ctx))
			return err(res, "timed out");
	}
	if (!peak) {
		res->kind = PIPERUN_RESULT_INT;
		res->i = steps;
		return 0;
	}
	char buf[96];
	snprintf(buf, sizeof buf, "{\"steps\": %lld, \"peak\": %llu}", (long long)steps,
		 (unsigned long long)top);
	res->kind = PIPERUN_RESULT_JSON;
	res->text = strdup(buf);
	return 0;
}

static void collatz_free(struct piperun_result *res)
{
	free(res->text);
	res->text = NULL;
}

const struct piperun_task piperun_task_collatz = {
	.abi = PIPERUN_TASK_ABI,
	.name = "collatz",
	.init = collatz_init,
	.run = collatz_run,
	.free_result = collatz_free,
	.fini = collatz_fini,
};
