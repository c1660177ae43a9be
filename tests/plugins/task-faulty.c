/* SPDX-License-Identifier: GPL-3.0-or-later */
/* task-faulty.c - a test plugin for the pool's fault behaviour (issue
 * 22): an item [N] or [N, "WHAT"] is logged, then does WHAT, and gives
 * N * 2 when it ends well.
 *
 *   FAULTY_LOG       a file: every call appends "N PID\n" (O_APPEND, one
 *                    write), so a test can prove each item ran once and
 *                    see which process ran it;
 *   FAULTY_MAIN_PID  the pid of piperun itself: "crash" and "hang" only
 *                    crash or hang in another process (a process-mode
 *                    worker); in piperun itself they fail as the other
 *                    modes can (an error, a timeout), so every mode can
 *                    agree on the item's status.
 *
 * WHAT: "crash" (SIGSEGV), "hang" (pause() for ever; polling expired()
 * in piperun itself), "fail" (an error result), "nan" (a NaN number),
 * "badjson" (a JSON result that is not JSON), "leak" (1 MiB never freed),
 * "print" (a line on stdout, then an ok result), "exit" (exit(0): the
 * process ends as if all went well, atexit handlers run), "_exit"
 * (_exit(0): the same, no handler runs).
 * The task initcrash crashes in init() in a worker, and is faulty
 * otherwise.  inithang's init() never returns: in every worker, or with
 * FAULTY_FLAG set only in the first (the one that creates that file);
 * with FAULTY_INIT_LOG set, each call first appends "init\n" to that file;
 * finihang's fini() never returns.  Both are faulty otherwise. */
#define _POSIX_C_SOURCE 200809L
#include <piperun-task.h>

#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static void log_call(int64_t n)
{
	const char *path = getenv("FAULTY_LOG");
	if (!path)
		return;
	char line[64];
	int len = snprintf(line, sizeof line, "%lld %ld\n", (long long)n, (long)getpid());
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)len) < 0) {
		/* the test will see the item missing */
	}
	close(fd);
}

/* In a process of its own (a worker), not in piperun itself?  A
 * --compare row of serial, thread or async mode runs in a child of
 * piperun too, but as piperun itself would: a pool worker is the child
 * whose parent-death signal is SIGKILL (pool-process.c), a row's is
 * SIGTERM (cmd-pool.c). */
static int in_worker(void)
{
	const char *main_pid = getenv("FAULTY_MAIN_PID");
	if (!main_pid)
		return 1;
	int sig = 0;
	return atol(main_pid) != (long)getpid() &&
	       (prctl(PR_GET_PDEATHSIG, &sig) < 0 || sig == SIGKILL);
}

static int fail(struct piperun_result *res, const char *why)
{
	res->kind = PIPERUN_RESULT_ERROR;
	res->text = strdup(why);
	return 0;
}

static int hang(const struct piperun_task_ctx *ctx, struct piperun_result *res)
{
	if (in_worker())
		for (;;)
			pause(); /* only a kill ends it */
	struct timespec ms = { 0, 1000 * 1000 };
	while (!ctx->expired(ctx))
		nanosleep(&ms, NULL);
	return fail(res, "timed out");
}

static int faulty_run(const struct piperun_task_ctx *ctx, const struct piperun_arg *args,
		      size_t nargs, struct piperun_result *res)
{
	if (nargs < 1 || nargs > 2 || args[0].type != PIPERUN_ARG_INT ||
	    (nargs == 2 && args[1].type != PIPERUN_ARG_STRING))
		return fail(res, "[N] or [N, \"WHAT\"]");
	log_call(args[0].i);
	const char *what = nargs == 2 ? args[1].s : "";
	if (!strcmp(what, "crash")) {
		if (!in_worker())
			return fail(res, "crashed");
		signal(SIGSEGV, SIG_DFL); /* not a sanitizer's handler */
		raise(SIGSEGV);
	}
	if (!strcmp(what, "hang"))
		return hang(ctx, res);
	if (!strcmp(what, "exit"))
		exit(0);
	if (!strcmp(what, "_exit"))
		_exit(0);
	if (!strcmp(what, "fail"))
		return fail(res, "failed on purpose");
	if (!strcmp(what, "nan")) {
		res->kind = PIPERUN_RESULT_NUMBER;
		res->d = NAN;
		return 0;
	}
	if (!strcmp(what, "badjson")) {
		res->kind = PIPERUN_RESULT_JSON;
		res->text = strdup("{\"a\":");
		return 0;
	}
	if (!strcmp(what, "print")) {
		/* a task that prints: never part of the results (issue 22,
		 * item 14); an ok result otherwise */
		printf("{\"noise\": %" PRId64 "}\n", args[0].i);
		fflush(stdout);
	}
	if (!strcmp(what, "leak")) {
		char *p = malloc(1 << 20);
		if (p)
			memset(p, 1, 1 << 20);
	}
	res->kind = PIPERUN_RESULT_INT;
	res->i = args[0].i * 2;
	return 0;
}

static void faulty_free(struct piperun_result *res)
{
	free(res->text);
	res->text = NULL;
}

const struct piperun_task piperun_task_faulty = {
	.abi = PIPERUN_TASK_ABI,
	.name = "faulty",
	.run = faulty_run,
	.free_result = faulty_free,
};

static int initcrash_init(void **state)
{
	*state = NULL;
	if (in_worker()) {
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
	}
	return 0;
}

const struct piperun_task piperun_task_initcrash = {
	.abi = PIPERUN_TASK_ABI,
	.name = "initcrash",
	.init = initcrash_init,
	.run = faulty_run,
	.free_result = faulty_free,
};

static int inithang_init(void **state)
{
	*state = NULL;
	const char *calls = getenv("FAULTY_INIT_LOG");
	int cfd = calls ? open(calls, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : -1;
	if (cfd >= 0) {
		if (write(cfd, "init\n", 5) < 0) {
			/* the test will see the call missing */
		}
		close(cfd);
	}
	const char *flag = getenv("FAULTY_FLAG");
	int fd = flag ? open(flag, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644) : -1;
	if (flag && fd < 0)
		return 0; /* not the first: fine */
	if (fd >= 0)
		close(fd);
	for (;;)
		pause();
}

const struct piperun_task piperun_task_inithang = {
	.abi = PIPERUN_TASK_ABI,
	.name = "inithang",
	.init = inithang_init,
	.run = faulty_run,
	.free_result = faulty_free,
};

static void finihang_fini(void *state)
{
	(void)state;
	for (;;)
		pause();
}

const struct piperun_task piperun_task_finihang = {
	.abi = PIPERUN_TASK_ABI,
	.name = "finihang",
	.run = faulty_run,
	.fini = finihang_fini,
	.free_result = faulty_free,
};
