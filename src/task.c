/* SPDX-License-Identifier: GPL-3.0-or-later */
/* task.c - task lookup: built-ins and dlopen'ed plugins. */
#include "config.h"
#include "task.h"
#include "util.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct piperun_task *task_builtin(const char *name)
{
	static const struct piperun_task *const builtins[] = {
		&task_gcd, &task_factorize, &task_sleep,
	};
	for (size_t i = 0; i < ARRAY_SIZE(builtins); i++)
		if (!strcmp(builtins[i]->name, name))
			return builtins[i];
	return NULL;
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
	} else if (t->abi != PIPERUN_TASK_ABI || !t->run) {
		*why = xasprintf("%s: task \"%s\" is for task ABI %d, this piperun speaks %d",
				 lib, colon + 1, t->abi, PIPERUN_TASK_ABI);
		t = NULL;
	}
	free(sym);
	free(lib);
	/* the handle stays open for the life of the process */
	return t;
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
