/* SPDX-License-Identifier: GPL-3.0-or-later */
/* kind-pool.c - pool jobs, spec side: a "pool" object becomes the
 * command line of `piperun pool` and its items that command's stdin. */
#include "config.h"
#include "spec.h"
#include "spec-int.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A pool job: `piperun pool` with these options; its items (JSON in the
 * spec) become its stdin, one JSON array per line. */
void spec_parse_pool(struct ctx *c, const struct cJSON *v, const char *path, struct tmpl *t)
{
	if (!jv_is_object(v)) {
		spec_expected(c, path, "an object like {\"task\": \"gcd\", \"items\": [[12, 18]]}", v);
		return;
	}
	static const char *const keys[] = { "task", "plugin", "mode", "workers", "items",
					    "items_file", "timeout", "fail_fast",
					    "max_inflight", NULL };
	spec_check_keys(c, v, path, keys, "a pool has task, plugin, mode, workers, items, items_file, timeout, fail_fast, max_inflight");
	struct buf argv = { 0 };
	size_t argc = 0;
	char *argbuf[32];
#define ARG(s) (argbuf[argc++] = xstrdup(s))
	ARG("piperun");
	ARG("pool");
	const struct cJSON *e;
	char *p = NULL;
	const struct cJSON *task = jv_get(v, "task");
	const struct cJSON *plugin = jv_get(v, "plugin");
	if (!task == !plugin) {
		spec_err(c, path, "expected \"task\" (gcd, factorize, sleep) or \"plugin\" (\"LIB.so:NAME\")");
	} else if (task) {
		p = spec_path_key(path, "task");
		const char *s = spec_get_str(c, task, p);
		if (s && strcmp(s, "gcd") && strcmp(s, "factorize") && strcmp(s, "sleep"))
			spec_expected(c, p, "gcd, factorize or sleep", task);
		else if (s) {
			ARG("--task");
			ARG(s);
		}
		free(p);
	} else {
		p = spec_path_key(path, "plugin");
		const char *s = spec_get_str(c, plugin, p);
		if (s && !strchr(s, ':'))
			spec_expected(c, p, "\"LIB.so:NAME\"", plugin);
		else if (s) {
			ARG("--task-plugin");
			ARG(s);
		}
		free(p);
	}
	if ((e = jv_get(v, "mode"))) {
		p = spec_path_key(path, "mode");
		const char *s = jv_is_string(e) ? jv_str(e) : "";
		if (strcmp(s, "serial") && strcmp(s, "thread") && strcmp(s, "process") && strcmp(s, "async"))
			spec_expected(c, p, "serial, thread, process or async", e);
		else {
			ARG("--mode");
			ARG(s);
		}
		free(p);
	}
	if ((e = jv_get(v, "workers"))) {
		long n;
		p = spec_path_key(path, "workers");
		if (spec_get_long(c, e, p, 1, 4096, &n)) {
			char b[24];
			snprintf(b, sizeof b, "%ld", n);
			ARG("-j");
			ARG(b);
		}
		free(p);
	}
	if ((e = jv_get(v, "timeout"))) {
		double d;
		p = spec_path_key(path, "timeout");
		if (spec_get_duration(c, e, p, &d) && d > 0) {
			char b[40];
			snprintf(b, sizeof b, "%.6f", d);
			ARG("--timeout");
			ARG(b);
		}
		free(p);
	}
	if ((e = jv_get(v, "fail_fast"))) {
		bool ff = false;
		p = spec_path_key(path, "fail_fast");
		if (spec_get_bool(c, e, p, &ff) && ff)
			ARG("--fail-fast");
		free(p);
	}
	if ((e = jv_get(v, "max_inflight"))) {
		long n;
		p = spec_path_key(path, "max_inflight");
		if (spec_get_long(c, e, p, 1, LONG_MAX, &n)) {
			char b[24];
			snprintf(b, sizeof b, "%ld", n);
			ARG("--max-inflight");
			ARG(b);
		}
		free(p);
	}
	const struct cJSON *items = jv_get(v, "items");
	const struct cJSON *file = jv_get(v, "items_file");
	if (items && file)
		spec_err(c, path, "expected \"items\" or \"items_file\", not both");
	if (file) {
		p = spec_path_key(path, "items_file");
		const char *s = spec_get_str(c, file, p);
		if (s) {
			ARG("--items");
			ARG(s);
		}
		free(p);
	}
	if (items) {
		p = spec_path_key(path, "items");
		if (!jv_is_array(items)) {
			spec_expected(c, p, "an array of items (each an array of arguments)", items);
		} else {
			/* one JSON array per line: what `piperun pool` reads */
			struct buf lines = { 0 };
			for (const struct cJSON *it = jv_child(items); it; it = jv_next(it)) {
				if (!jv_is_array(it))
					buf_addch(&lines, '[');
				spec_json_print(&lines, it);
				if (!jv_is_array(it))
					buf_addch(&lines, ']');
				buf_addch(&lines, '\n');
			}
			t->j.in.kind = IN_TEXT;
			free(t->j.in.data);
			t->j.in.len = lines.len;
			t->j.in.data = buf_detach(&lines);
			t->j.pool_items_given = true;
		}
		free(p);
	}
	ARG("--output");
	ARG("json");
#undef ARG
	t->stages = xcalloc(1, sizeof *t->stages);
	t->nstages = 1;
	t->stages[0].argc = argc;
	t->stages[0].argv = xcalloc(argc, sizeof *t->stages[0].argv);
	for (size_t i = 0; i < argc; i++)
		t->stages[0].argv[i].s = argbuf[i];
	buf_free(&argv);
}
