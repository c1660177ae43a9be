/* SPDX-License-Identifier: GPL-3.0-or-later */
/* task-crashy.c - a test plugin that crashes (SIGSEGV) on the item 13 and
 * spins on 99 (for timeouts); every other item n gives n * 2.  Its task
 * norun has no run(), which piperun refuses to load; badwait is a wait
 * (a timer) that refuses every item with a text that is not malloc'd,
 * so only its own free_result may release it. */
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

static char badwait_text[] = "no waiting here";

static int badwait_timer(const struct piperun_arg *args, size_t nargs, double *secs,
			 struct piperun_result *res)
{
	(void)args, (void)nargs, (void)secs;
	res->kind = PIPERUN_RESULT_ERROR;
	res->text = badwait_text;
	return -1;
}

static int badwait_run(const struct piperun_task_ctx *ctx, const struct piperun_arg *args,
		       size_t nargs, struct piperun_result *res)
{
	(void)ctx;
	double secs;
	return badwait_timer(args, nargs, &secs, res), 0;
}

static void badwait_free(struct piperun_result *res)
{
	res->text = NULL; /* static: nothing to free */
}

const struct piperun_task piperun_task_badwait = {
	.abi = PIPERUN_TASK_ABI,
	.name = "badwait",
	.run = badwait_run,
	.free_result = badwait_free,
	.timer = badwait_timer,
};
