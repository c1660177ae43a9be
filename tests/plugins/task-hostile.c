/* SPDX-License-Identifier: GPL-3.0-or-later */
/* task-hostile.c - test plugin for the pool's honesty under hostile
 * tasks (issue 22).  Tasks:
 *   types    returns a JSON array naming each argument's type and value
 *            as the task received it ("int:9007199254740993", "number:1",
 *            "string:x", "other:{...}"), so a test sees what arrived;
 *   rawjson  returns its one string argument verbatim as a JSON result
 *            (which may not be JSON at all); "hex:HH..." returns those
 *            bytes (for invalid UTF-8);
 *   chatty   prints to stdout (through stdio and write(2)) and returns
 *            its one integer argument times 2;
 *   segv     faults (SIGSEGV, no handler reset) on 13, else doubles;
 *   initsegv faults in init();
 *   inherit  returns a JSON array of the fds above 2 open in its process
 *            without close-on-exec: what a program it started would
 *            inherit;
 *   closer   closes fds 0, 1 and 2 on the item 1, and returns its one
 *            integer argument (every item);
 *   bigjson  returns a JSON string of its one integer argument's count
 *            of "a" (quotes not counted). */
#define _POSIX_C_SOURCE 200809L
#include <piperun-task.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static void hostile_free(struct piperun_result *res)
{
	free(res->text);
}

static int fail(struct piperun_result *res, const char *msg)
{
	res->kind = PIPERUN_RESULT_ERROR;
	res->text = strdup(msg);
	return 0;
}

/* s as a JSON string's body. */
static void add_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20) {
			fprintf(f, "\\u%04x", (unsigned)(unsigned char)*s);
			continue;
		}
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
}

static int types_run(const struct piperun_task_ctx *ctx, const struct piperun_arg *args,
		     size_t nargs, struct piperun_result *res)
{
	(void)ctx;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return fail(res, "open_memstream");
	fputc('[', f);
	for (size_t k = 0; k < nargs; k++) {
		const struct piperun_arg *a = &args[k];
		fputs(k ? ",\"" : "\"", f);
		switch (a->type) {
		case PIPERUN_ARG_INT:
			fprintf(f, "int:%" PRId64, a->i);
			break;
		case PIPERUN_ARG_NUMBER:
			fprintf(f, "number:%.17g", a->d);
			break;
		case PIPERUN_ARG_STRING:
			fputs("string:", f);
			add_escaped(f, a->s);
			break;
		default:
			fputs("other:", f);
			add_escaped(f, a->s);
		}
		fputc('"', f);
	}
	fputc(']', f);
	fclose(f);
	res->kind = PIPERUN_RESULT_JSON;
	res->text = text;
	return 0;
}

const struct piperun_task piperun_task_types = {
	.abi = PIPERUN_TASK_ABI,
	.name = "types",
	.run = types_run,
	.free_result = hostile_free,
};

static int rawjson_run(const struct piperun_task_ctx *ctx, const struct piperun_arg *args,
		       size_t nargs, struct piperun_result *res)
{
	(void)ctx;
	if (nargs != 1 || args[0].type != PIPERUN_ARG_STRING)
		return fail(res, "one string");
	res->kind = PIPERUN_RESULT_JSON;
	const char *s = args[0].s;
	if (strncmp(s, "hex:", 4)) {
		res->text = strdup(s);
		return 0;
	}
	size_t n = (strlen(s) - 4) / 2;
	res->text = calloc(n + 1, 1);
	for (size_t k = 0; k < n; k++) {
		unsigned v;
		if (sscanf(s + 4 + 2 * k, "%2x", &v) != 1)
			return free(res->text), fail(res, "bad hex");
		res->text[k] = (char)v;
	}
	return 0;
}

const struct piperun_task piperun_task_rawjson = {
	.abi = PIPERUN_TASK_ABI,
	.name = "rawjson",
	.run = rawjson_run,
	.free_result = hostile_free,
};

static int chatty_run(const struct piperun_task_ctx *ctx, const struct piperun_arg *args,
		      size_t nargs, struct piperun_result *res)
{
	(void)ctx;
	if (nargs != 1 || args[0].type != PIPERUN_ARG_INT)
		return fail(res, "one integer");
	printf("chatty stdio %" PRId64 "\n", args[0].i);
	char b[64];
	int n = snprintf(b, sizeof b, "chatty write %" PRId64 "\n", args[0].i);
	if (write(1, b, (size_t)n) < 0)
		return fail(res, "write");
	res->kind = PIPERUN_RESULT_INT;
	res->i = args[0].i * 2;
	return 0;
}

const struct piperun_task piperun_task_chatty = {
	.abi = PIPERUN_TASK_ABI,
	.name = "chatty",
	.run = chatty_run,
	.free_result = hostile_free,
};

/* segv: a real fault (a store through NULL, no signal() first) on the
 * item 13, its argument doubled otherwise; initsegv faults in init(). */
/* A real fault (not raise): a store to an aligned, non-null address
 * nothing maps, which UBSan's null and alignment checks let through and
 * ASan's shadow allows, so sanitizer builds fault the same way. */
static void fault(void)
{
	volatile int *volatile p = (volatile int *)(uintptr_t)4096;
	*p = 1;
}

static int segv_run(const struct piperun_task_ctx *ctx, const struct piperun_arg *args,
		    size_t nargs, struct piperun_result *res)
{
	(void)ctx;
	if (nargs != 1 || args[0].type != PIPERUN_ARG_INT)
		return fail(res, "one integer");
	if (args[0].i == 13)
	{
		fault();
	}
	res->kind = PIPERUN_RESULT_INT;
	res->i = args[0].i * 2;
	return 0;
}

const struct piperun_task piperun_task_segv = {
	.abi = PIPERUN_TASK_ABI,
	.name = "segv",
	.run = segv_run,
	.free_result = hostile_free,
};

static int initsegv_init(void **state)
{
	(void)state;
	fault();
	return 0;
}

const struct piperun_task piperun_task_initsegv = {
	.abi = PIPERUN_TASK_ABI,
	.name = "initsegv",
	.init = initsegv_init,
	.run = segv_run,
	.free_result = hostile_free,
};

static int inherit_run(const struct piperun_task_ctx *ctx, const struct piperun_arg *args,
		       size_t nargs, struct piperun_result *res)
{
	(void)ctx;
	(void)args;
	(void)nargs;
	char b[4096];
	size_t n = 0;
	b[n++] = '[';
	for (int fd = 3; fd < 1024 && n < sizeof b - 16; fd++) {
		int fl = fcntl(fd, F_GETFD);
		if (fl >= 0 && !(fl & FD_CLOEXEC))
			n += (size_t)snprintf(b + n, sizeof b - n, "%s%d", n > 1 ? "," : "", fd);
	}
	b[n++] = ']';
	b[n] = 0;
	res->kind = PIPERUN_RESULT_JSON;
	res->text = strdup(b);
	return 0;
}

const struct piperun_task piperun_task_inherit = {
	.abi = PIPERUN_TASK_ABI,
	.name = "inherit",
	.run = inherit_run,
	.free_result = hostile_free,
};

static int closer_run(const struct piperun_task_ctx *ctx, const struct piperun_arg *args,
		      size_t nargs, struct piperun_result *res)
{
	(void)ctx;
	if (nargs != 1 || args[0].type != PIPERUN_ARG_INT)
		return fail(res, "one integer");
	if (args[0].i == 1) {
		close(0);
		close(1);
		close(2);
	}
	res->kind = PIPERUN_RESULT_INT;
	res->i = args[0].i;
	return 0;
}

const struct piperun_task piperun_task_closer = {
	.abi = PIPERUN_TASK_ABI,
	.name = "closer",
	.run = closer_run,
	.free_result = hostile_free,
};

static int bigjson_run(const struct piperun_task_ctx *ctx, const struct piperun_arg *args,
		       size_t nargs, struct piperun_result *res)
{
	(void)ctx;
	if (nargs != 1 || args[0].type != PIPERUN_ARG_INT || args[0].i < 0 || args[0].i > (1 << 30))
		return fail(res, "one integer, 0 to 2^30");
	size_t n = (size_t)args[0].i;
	char *t = malloc(n + 3);
	if (!t)
		return fail(res, "out of memory");
	t[0] = '"';
	memset(t + 1, 'a', n);
	t[n + 1] = '"';
	t[n + 2] = 0;
	res->kind = PIPERUN_RESULT_JSON;
	res->text = t;
	return 0;
}

const struct piperun_task piperun_task_bigjson = {
	.abi = PIPERUN_TASK_ABI,
	.name = "bigjson",
	.run = bigjson_run,
	.free_result = hostile_free,
};
