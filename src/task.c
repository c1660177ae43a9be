/* SPDX-License-Identifier: GPL-3.0-or-later */
/* task.c - task lookup: built-ins and dlopen'ed plugins; calling a task,
 * and the guard against a task that calls exit(). */
#include "config.h"
#include "task.h"
#include "util.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The registry of built-in tasks: one row per task-*.c. */
static const struct piperun_task *const builtins[] = {
	&task_gcd, &task_factorize, &task_sleep,
};

char *task_builtin_names(const char *last_sep)
{
	struct buf b = { 0 };
	for (size_t i = 0; i < ARRAY_SIZE(builtins); i++) {
		if (i)
			buf_addstr(&b, i + 1 == ARRAY_SIZE(builtins) ? last_sep : ", ");
		buf_addstr(&b, builtins[i]->name);
	}
	return buf_detach(&b);
}

const struct piperun_task *task_builtin(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(builtins); i++)
		if (!strcmp(builtins[i]->name, name))
			return builtins[i];
	return NULL;
}

/* ABI 1 tasks as this ABI's struct: kept, like their handles, for the
 * life of the process (set-up runs on one thread: no lock). */
static struct adapted {
	struct piperun_task t;
	struct adapted *next;
} *adapted;

/* An ABI 1 task's struct ends before timer: read no further. */
static const struct piperun_task *adapt_abi1(const struct piperun_task *t)
{
	struct adapted *a = xcalloc(1, sizeof *a);
	memcpy(&a->t, t, offsetof(struct piperun_task, timer));
	a->next = adapted;
	adapted = a;
	return &a->t;
}

const struct piperun_task *task_plugin(const char *spec, char **why)
{
	const char *colon = strrchr(spec, ':');
	if (!colon || colon == spec || !colon[1]) {
		*why = xasprintf("expected LIB.so:NAME, got \"%s\"", spec);
		return NULL;
	}
	char *lib = xstrndup(spec, (size_t)(colon - spec));
	/* a bare file name would be searched on the library path: a
	 * plugin named on the command line is a file */
	char *path = strchr(lib, '/') ? xstrdup(lib) : xasprintf("./%s", lib);
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	free(path);
	if (!h) {
		*why = xasprintf("cannot load %s: %s", lib, dlerror());
		free(lib);
		return NULL;
	}
	char *sym = xasprintf("piperun_task_%s", colon + 1);
	const struct piperun_task *t = dlsym(h, sym);
	if (!t) {
		*why = xasprintf("%s has no task \"%s\" (symbol %s)", lib, colon + 1, sym);
	} else if (t->abi < 1 || t->abi > PIPERUN_TASK_ABI) {
		*why = xasprintf("%s: task \"%s\" is for task ABI %d, this piperun speaks %d",
				 lib, colon + 1, t->abi, PIPERUN_TASK_ABI);
		t = NULL;
	} else if (!t->run) {
		*why = xasprintf("%s: task \"%s\" has no run()", lib, colon + 1);
		t = NULL;
	} else if (t->abi == 1) {
		t = adapt_abi1(t);
	}
	free(sym);
	free(lib);
	/* the handle stays open for the life of the process */
	return t;
}

int task_stdout_aside(void)
{
	fflush(stdout); /* whatever stdio holds goes where it was meant */
	int fd = fcntl(1, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -1;
	if (dup2(2, 1) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int task_error(struct piperun_result *res, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	res->kind = PIPERUN_RESULT_ERROR;
	res->text = xvasprintf(fmt, ap);
	va_end(ap);
	return 0;
}

int task_expired(const struct piperun_task_ctx *ctx)
{
	return ctx->deadline_ms > 0 && now_ms() >= ctx->deadline_ms;
}

void task_call(const struct piperun_task *t, struct piperun_task_ctx *ctx,
	       const struct piperun_arg *args, size_t nargs, double start_ms,
	       double timeout_ms, struct piperun_result *res)
{
	ctx->abi = t->abi; /* what the task was built for */
	if (!ctx->expired)
		ctx->expired = task_expired;
	ctx->deadline_ms = timeout_ms > 0 ? start_ms + timeout_ms : 0;
	*res = (struct piperun_result){ .kind = PIPERUN_RESULT_ERROR };
	if (t->run(ctx, args, nargs, res) != 0 && res->kind != PIPERUN_RESULT_ERROR)
		res->kind = PIPERUN_RESULT_ERROR;
}

/* The guard (task.h): set from one thread while no task runs; read by
 * the atexit handler, in whichever thread called exit(). */
static const char *volatile guard_who;
static volatile int guard_status, guard_info_fd = -1;

static void say(int fd, const char *a, const char *who, const char *b)
{
	if (write(fd, a, strlen(a)) < 0 || write(fd, who, strlen(who)) < 0 ||
	    write(fd, b, strlen(b)) < 0) {
		/* nothing more to say it with */
	}
}

static void guard_atexit(void)
{
	const char *who = guard_who;
	if (!who)
		return;
	/* exit() is running: no stdio, no allocation; write(2) and _exit */
	static const char what[] = ": a task called exit(); the results are lost\n";
	say(2, "piperun: ", who, what);
	if (guard_info_fd >= 0)
		say(guard_info_fd, "E ", who, what);
	_exit(guard_status);
}

void task_exit_guard(const char *who, int status, int info_fd)
{
	static bool registered;
	if (who && !registered)
		registered = atexit(guard_atexit) == 0;
	guard_status = status;
	guard_info_fd = info_fd;
	guard_who = who;
}
