/* SPDX-License-Identifier: GPL-3.0-or-later */
/* spec-warn.c - warnings about specs that may well be valid (`piperun
 * validate`): a {} spliced into the script of an `sh -c` argv; a
 * placeholder in a foreach command source, which is run as written. */
#include "config.h"
#include "spec.h"
#include "spec-int.h"
#include "kind.h"
#include "util.h"
#include "shell.h"

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
static int shell_script_index(const struct cJSON *argv)
{
	static const char *const shells[] = { "sh", "bash", "dash", "ksh", "zsh", "mksh", "ash",
					      NULL };
	const struct cJSON *a = jv_child(argv);
	if (!jv_is_string(a))
		return -1;
	const char *b = strrchr(jv_str(a), '/');
	b = b ? b + 1 : jv_str(a);
	int i = 1;
	a = jv_next(a);
	if (!strcmp(b, "busybox")) {
		b = jv_is_string(a) ? jv_str(a) : "";
		a = a ? jv_next(a) : NULL;
		i = 2;
	}
	bool known = false, dash_c = false;
	for (size_t k = 0; shells[k]; k++)
		known = known || !strcmp(b, shells[k]);
	for (; known && jv_is_string(a); a = jv_next(a), i++) {
		const char *s = jv_str(a);
		if (!strcmp(s, "--") || !strcmp(s, "-")) {
			a = jv_next(a);
			i++;
			break;
		}
		if ((*s != '-' && *s != '+') || !s[1])
			break;                  /* the first operand */
		if (s[1] == '-')
			continue;               /* --posix, --norc ... */
		for (const char *o = s + 1; *o; o++) {
			dash_c = dash_c || (*s == '-' && *o == 'c');
			if ((*o == 'o' || *o == 'O') && jv_next(a)) {  /* -o NAME */
				a = jv_next(a);
				i++;
			}
		}
	}
	return known && dash_c && jv_is_string(a) ? i : -1;
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
static char *positional_form(const struct cJSON *argv, int i)
{
	const struct cJSON *script = jv_at(argv, i);
	char *s = jv_next(script) ? NULL : shell_subst_positional(jv_str(script));
	if (!s)
		return xstrdup("[\"sh\", \"-c\", \"... \\\"$1\\\" ...\", \"sh\", \"{}\"]");
	/* argv[0..i-1] are strings (shell_script_index saw them) */
	const char **v = xcalloc((size_t)i + 3, sizeof *v);
	int k = 0;
	for (const struct cJSON *e = jv_child(argv); e && k < i; e = jv_next(e), k++)
		v[k] = jv_str(e);
	v[k++] = s;
	v[k++] = "sh";
	v[k++] = "{}";
	char *p = jv_strv_text(v, (size_t)k);
	char *r = p ? p : xstrdup("[...]");
	free(v);
	free(s);
	return r;
}

static void warn_shell_argv(struct ctx *c, const struct cJSON *argv, const char *path, bool coprocess)
{
	int i = jv_is_array(argv) ? shell_script_index(argv) : -1;
	if (i < 0 || !has_value_placeholder(jv_str(jv_at(argv, i))))
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
static void warn_job_argvs(struct ctx *c, const struct cJSON *src, const char *path)
{
	char *p = spec_path_key(path, "run");
	warn_shell_argv(c, jv_get(src, "run"), p, false);
	free(p);
	const struct cJSON *pl = jv_get(src, "pipeline");
	size_t k = 0;
	for (const struct cJSON *st = jv_is_array(pl) ? jv_child(pl) : NULL; st; st = jv_next(st), k++) {
		char *pk = spec_path_key(path, "pipeline"), *sp = spec_path_idx(pk, k);
		if (jv_is_object(st)) {
			char *r = spec_path_key(sp, "run");
			warn_shell_argv(c, jv_get(st, "run"), r, false);
			free(r);
		} else {
			warn_shell_argv(c, st, sp, false);
		}
		free(sp);
		free(pk);
	}
}

/* A foreach command source's items at path (foreach at fe): a {}, {#}
 * or {{}} there is passed as written (the source runs before there are
 * values), so say so. */
static void warn_foreach_command(struct ctx *c, const struct cJSON *fe, const char *path)
{
	const struct cJSON *cmd = jv_is_object(fe) ? jv_get(fe, "command") : NULL;
	size_t k = 0;
	for (const struct cJSON *a = jv_is_array(cmd) ? jv_child(cmd) : NULL; a; a = jv_next(a), k++) {
		const char *s = jv_str(a);
		if (!s || (!strstr(s, "{}") && !strstr(s, "{#}")))
			continue;
		char *fp = spec_path_key(path, "foreach"), *cp = spec_path_key(fp, "command"),
		     *ip = spec_path_idx(cp, k);
		errlist_add(c->errs, "piperun: %s: %s: warning: placeholders are not replaced in a "
			    "foreach command source (it runs before there are values): the "
			    "command gets this item as written", c->file, ip);
		free(ip);
		free(cp);
		free(fp);
	}
}

void spec_warnings_tree(const char *name, const struct cJSON *root, struct errlist *warns)
{
	struct ctx c = { .file = name, .errs = warns };
	if (!jv_is_object(root))
		return;
	const struct cJSON *defaults = jv_get(root, "defaults");
	if (!jv_is_object(defaults))
		defaults = NULL;
	const struct cJSON *jobs = jv_get(root, "jobs");
	bool defaults_seen = false;
	if (defaults)
		warn_foreach_command(&c, jv_get(defaults, "foreach"), "defaults");
	size_t i = 0;
	for (const struct cJSON *j = jv_is_array(jobs) ? jv_child(jobs) : NULL; j; j = jv_next(j), i++) {
		if (!jv_is_object(j))
			continue;
		char *jp = spec_path_idx("jobs", i);
		warn_foreach_command(&c, jv_get(j, "foreach"), jp);
		/* a step's {} is the item */
		const struct cJSON *steps = jv_get(j, "steps");
		char *sp = spec_path_key(jp, "steps");
		size_t k = 0;
		for (const struct cJSON *st = jv_is_array(steps) ? jv_child(steps) : NULL; st;
		     st = jv_next(st), k++) {
			char *stp = spec_path_idx(sp, k), *p = spec_path_key(stp, "run");
			warn_shell_argv(&c, jv_get(st, "run"), p, false);
			free(p);
			p = spec_path_key(stp, "coprocess");
			warn_shell_argv(&c, jv_get(st, "coprocess"), p, true);
			free(p);
			free(stp);
		}
		free(sp);
		/* a run or pipeline argv's {} is a foreach value */
		bool own = false;
		const struct job_kind *kd;
		for (size_t w = 0; (kd = kind_at(w)); w++)
			own = own || jv_get(j, kd->name);
		bool foreach = jv_get(j, "foreach") ||
			       (defaults && jv_get(defaults, "foreach"));
		if (foreach && own)
			warn_job_argvs(&c, j, jp);
		else if (foreach && defaults && !defaults_seen) {
			defaults_seen = true;
			warn_job_argvs(&c, defaults, "defaults");
		}
		free(jp);
	}
}
