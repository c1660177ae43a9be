/* SPDX-License-Identifier: GPL-3.0-or-later */
/* task-crashy.c - a test plugin that crashes (SIGSEGV) on the item 13 and
 * spins on 99 (for timeouts); every other item n gives n * 2.  Its task
 * norun has no run(), which piperun refuses to load. */
#define _POSIX_C_SOURCE 200809L
#include <piperun-task.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int crashy_run(const struct piperun_task_ctx *ctx, const struct piperun_arg *args,
		      size_t nargs, struct piperun_result *res)
{
	if (nargs != 1 || args[0].type != PIPERUN_ARG_INT) {
		res->kind = PIPERUN_RESULT_ERROR;
		res->text = strdup("one integer");
		return 0;
	}
	if (args[0].i == 13) {
		/* the default action, even when a sanitizer installed its own
		 * SIGSEGV handler: the worker must die by the signal */
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
	}
	if (args[0].i == 99)
		for (;;)
			pause(); /* never polls expired(): only process mode can stop it */
	res->kind = PIPERUN_RESULT_INT;
	res->i = args[0].i * 2;
	return 0;
}

static void crashy_free(struct piperun_result *res)
{
	free(res->text);
}

const struct piperun_task piperun_task_crashy = {
	.abi = PIPERUN_TASK_ABI,
	.name = "crashy",
	.run = crashy_run,
	.free_result = crashy_free,
};

const struct piperun_task piperun_task_norun = {
	.abi = PIPERUN_TASK_ABI,
	.name = "norun",
};
