/* SPDX-License-Identifier: GPL-3.0-or-later */
/* spec-warn.c - warnings about specs that may well be valid (`piperun
 * validate`): a {} spliced into the script of an `sh -c` argv. */
#include "config.h"
#include "spec.h"
#include "spec-int.h"
#include "util.h"
#include "shell.h"

#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ warnings */

/* Where the script of a shell's -c is in argv (a JSON array), or -1: sh,
 * bash, dash, ksh, zsh, mksh (by basename) and busybox sh, their
 * options first, -c perhaps among others (-ec). */
static int shell_script_index(const cJSON *argv)
{
	static const char *const shells[] = { "sh", "bash", "dash", "ksh", "zsh", "mksh", "ash",
					      NULL };
	const cJSON *a = argv->child;
	if (!cJSON_IsString(a))
		return -1;
	const char *b = strrchr(a->valuestring, '/');
	b = b ? b + 1 : a->valuestring;
	int i = 1;
	a = a->next;
	if (!strcmp(b, "busybox")) {
		b = cJSON_IsString(a) ? a->valuestring : "";
		a = a ? a->next : NULL;
		i = 2;
	}
	bool known = false, dash_c = false;
	for (size_t k = 0; shells[k]; k++)
		known = known || !strcmp(b, shells[k]);
	for (; known && cJSON_IsString(a); a = a->next, i++) {
		const char *s = a->valuestring;
		if (!strcmp(s, "--") || !strcmp(s, "-")) {
			a = a->next;
			i++;
			break;
		}
		if ((*s != '-' && *s != '+') || !s[1])
			break;                  /* the first operand */
		if (s[1] == '-')
			continue;               /* --posix, --norc ... */
		for (const char *o = s + 1; *o; o++) {
			dash_c = dash_c || (*s == '-' && *o == 'c');
			if ((*o == 'o' || *o == 'O') && a->next) {  /* -o NAME */
				a = a->next;
				i++;
			}
		}
	}
	return known && dash_c && cJSON_IsString(a) ? i : -1;
}

/* Does s hold a {} that substitution would replace? */
static bool has_value_placeholder(const char *s)
{
	for (const char *p = s; *p; p++) {
		if (!strncmp(p, "{{}}", 4))
			p += 3;
		else if (!strncmp(p, "{}", 2))
			return true;
	}
	return false;
}

/* argv with its script (at i, the last item) taking {} as "$1". */
static char *positional_form(const cJSON *argv, int i)
{
	const cJSON *script = cJSON_GetArrayItem(argv, i);
	char *s = script->next ? NULL : shell_subst_positional(script->valuestring);
	if (!s)
		return xstrdup("[\"sh\", \"-c\", \"... \\\"$1\\\" ...\", \"sh\", \"{}\"]");
	cJSON *a = cJSON_CreateArray();
	int k = 0;
	for (const cJSON *e = argv->child; e && k < i; e = e->next, k++)
		cJSON_AddItemToArray(a, cJSON_CreateString(e->valuestring));
	cJSON_AddItemToArray(a, cJSON_CreateString(s));
	cJSON_AddItemToArray(a, cJSON_CreateString("sh"));
	cJSON_AddItemToArray(a, cJSON_CreateString("{}"));
	char *p = cJSON_PrintUnformatted(a);
	char *r = xstrdup(p ? p : "[...]");
	cJSON_free(p);
	cJSON_Delete(a);
	free(s);
	return r;
}

static void warn_shell_argv(struct ctx *c, const cJSON *argv, const char *path, bool coprocess)
{
	int i = cJSON_IsArray(argv) ? shell_script_index(argv) : -1;
	if (i < 0 || !has_value_placeholder(cJSON_GetArrayItem(argv, i)->valuestring))
		return;
	char *p = spec_path_idx(path, (size_t)i);
	if (coprocess) {
		errlist_add(c->errs, "piperun: %s: %s: warning: {} is not replaced in a coprocess's "
			    "argv (its items come on its stdin, one a line): this script sees "
			    "a literal {}", c->file, p);
	} else {
		char *form = positional_form(argv, i);
		errlist_add(c->errs, "piperun: %s: %s: warning: {} is spliced into this shell "
			    "script as code (a value like $(rm -rf ~) would run it); pass the "
			    "value as an argument instead: %s", c->file, p, form);
		free(form);
	}
	free(p);
}

/* A job's run or pipeline (from the job or the defaults) at path. */
static void warn_job_argvs(struct ctx *c, const cJSON *src, const char *path)
{
	char *p = spec_path_key(path, "run");
	warn_shell_argv(c, cJSON_GetObjectItemCaseSensitive(src, "run"), p, false);
	free(p);
	const cJSON *pl = cJSON_GetObjectItemCaseSensitive(src, "pipeline");
	size_t k = 0;
	for (const cJSON *st = cJSON_IsArray(pl) ? pl->child : NULL; st; st = st->next, k++) {
		char *pk = spec_path_key(path, "pipeline"), *sp = spec_path_idx(pk, k);
		if (cJSON_IsObject(st)) {
			char *r = spec_path_key(sp, "run");
			warn_shell_argv(c, cJSON_GetObjectItemCaseSensitive(st, "run"), r, false);
			free(r);
		} else {
			warn_shell_argv(c, st, sp, false);
		}
		free(sp);
		free(pk);
	}
}

void spec_warnings(const char *name, const char *text, size_t len, struct errlist *warns)
{
	struct ctx c = { .file = name, .errs = warns };
	cJSON *root = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return;
	}
	const cJSON *defaults = cJSON_GetObjectItemCaseSensitive(root, "defaults");
	if (!cJSON_IsObject(defaults))
		defaults = NULL;
	const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(root, "jobs");
	bool defaults_seen = false;
	size_t i = 0;
	for (const cJSON *j = cJSON_IsArray(jobs) ? jobs->child : NULL; j; j = j->next, i++) {
		if (!cJSON_IsObject(j))
			continue;
		char *jp = spec_path_idx("jobs", i);
		/* a step's {} is the item */
		const cJSON *steps = cJSON_GetObjectItemCaseSensitive(j, "steps");
		char *sp = spec_path_key(jp, "steps");
		size_t k = 0;
		for (const cJSON *st = cJSON_IsArray(steps) ? steps->child : NULL; st;
		     st = st->next, k++) {
			char *stp = spec_path_idx(sp, k), *p = spec_path_key(stp, "run");
			warn_shell_argv(&c, cJSON_GetObjectItemCaseSensitive(st, "run"), p, false);
			free(p);
			p = spec_path_key(stp, "coprocess");
			warn_shell_argv(&c, cJSON_GetObjectItemCaseSensitive(st, "coprocess"), p, true);
			free(p);
			free(stp);
		}
		free(sp);
		/* a run or pipeline argv's {} is a foreach value */
		bool own = false;
		for (size_t w = 0; spec_what_keys[w]; w++)
			own = own || cJSON_GetObjectItemCaseSensitive(j, spec_what_keys[w]);
		bool foreach = cJSON_GetObjectItemCaseSensitive(j, "foreach") ||
			       (defaults && cJSON_GetObjectItemCaseSensitive(defaults, "foreach"));
		if (foreach && own)
			warn_job_argvs(&c, j, jp);
		else if (foreach && defaults && !defaults_seen) {
			defaults_seen = true;
			warn_job_argvs(&c, defaults, "defaults");
		}
		free(jp);
	}
	cJSON_Delete(root);
}
