/* SPDX-License-Identifier: GPL-3.0-or-later */
/* task-abi1.c - a test plugin built for task ABI 1, as a plugin compiled
 * before ABI 2 was: it declares the version 1 structs itself (a frozen
 * copy: struct piperun_task ends at fini), so piperun must read no
 * further.  Item n gives n + 1; it fails an item if its context does
 * not say ABI 1. */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum piperun_arg_type { PIPERUN_ARG_INT, PIPERUN_ARG_NUMBER, PIPERUN_ARG_STRING,
			PIPERUN_ARG_OTHER };
struct piperun_arg {
	enum piperun_arg_type type;
	int64_t i;
	double d;
	const char *s;
};
enum piperun_result_kind { PIPERUN_RESULT_INT, PIPERUN_RESULT_NUMBER, PIPERUN_RESULT_JSON,
			   PIPERUN_RESULT_ERROR };
struct piperun_result {
	enum piperun_result_kind kind;
	int64_t i;
	double d;
	char *text;
};
struct piperun_task_ctx {
	int abi;
	void *state;
	int (*expired)(const struct piperun_task_ctx *ctx);
	double deadline_ms;
};
struct piperun_task {
	int abi;
	const char *name;
	int (*init)(void **state);
	int (*run)(const struct piperun_task_ctx *ctx, const struct piperun_arg *args,
		   size_t nargs, struct piperun_result *res);
	void (*free_result)(struct piperun_result *res);
	void (*fini)(void *state);
};

static int abi1_run(const struct piperun_task_ctx *ctx, const struct piperun_arg *args,
		    size_t nargs, struct piperun_result *res)
{
	if (ctx->abi != 1 || nargs != 1 || args[0].type != PIPERUN_ARG_INT) {
		res->kind = PIPERUN_RESULT_ERROR;
		res->text = strdup(ctx->abi != 1 ? "the context is not ABI 1" : "one integer");
		return 0;
	}
	res->kind = PIPERUN_RESULT_INT;
	res->i = args[0].i + 1;
	return 0;
}

static void abi1_free(struct piperun_result *res)
{
	free(res->text);
}

const struct piperun_task piperun_task_abi1 = {
	.abi = 1,
	.name = "abi1",
	.run = abi1_run,
	.free_result = abi1_free,
};
