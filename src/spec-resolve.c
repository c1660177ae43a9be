/* SPDX-License-Identifier: GPL-3.0-or-later */
/* spec-resolve.c - resolution: job names and duplicates, dependencies
 * (after, stdin.from) and cycles, --only selection, programs on PATH,
 * each stage's environment, and secrets (collected, and redacted from
 * whatever is shown). */
#include "config.h"
#include "spec.h"
#include "spec-int.h"
#include "kind.h"
#include "util.h"
#include <sys/stat.h>
#include <unistd.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

#define DEFAULT_PATH "/bin:/usr/bin"

/* ----------------------------------------------------------- resolution */

char *spec_path_resolve(const char *prog, const char *path_env, const char *cwd,
		   int *status)
{
	struct stat st;
	*status = 0;
	if (!*prog) {
		*status = 127;
		return NULL;
	}
	if (strchr(prog, '/')) {
		/* exec happens after chdir(cwd): check where it will look */
		char *check = (prog[0] != '/' && cwd) ? xasprintf("%s/%s", cwd, prog)
						      : xstrdup(prog);
		int rc = stat(check, &st);
		bool ok = rc == 0 && S_ISREG(st.st_mode) && access(check, X_OK) == 0;
		free(check);
		if (!ok) {
			*status = rc < 0 ? 127 : 126;
			return NULL;
		}
		return xstrdup(prog);
	}
	if (!path_env)
		path_env = DEFAULT_PATH;
	bool denied = false;
	const char *p = path_env;
	for (;;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		/* an empty PATH element means the current directory */
		char *cand = len ? xasprintf("%.*s/%s", (int)len, p, prog)
				 : xasprintf("./%s", prog);
		char *check = (cand[0] != '/' && cwd) ? xasprintf("%s/%s", cwd, cand)
						      : xstrdup(cand);
		if (stat(check, &st) == 0) {
			if (S_ISREG(st.st_mode) && access(check, X_OK) == 0) {
				free(check);
				return cand;
			}
			denied = true;
		}
		free(check);
		free(cand);
		if (!colon)
			break;
		p = colon + 1;
	}
	*status = denied ? 126 : 127;
	return NULL;
}

static const char *env_lookup(const struct job_spec *j, const struct stage_spec *st,
			      const char *name)
{
	if (st)
		for (size_t i = st->nenv; i-- > 0;)
			if (!strcmp(st->env[i].name, name))
				return st->env[i].value;
	for (size_t i = j->nenv; i-- > 0;)
		if (!strcmp(j->env[i].name, name))
			return j->env[i].value;
	for (size_t i = 0; i < j->nunset; i++)
		if (!strcmp(j->unset[i], name))
			return NULL;
	return j->env_clear ? NULL : getenv(name);
}

static bool env_name_is(const char *entry, const char *name)
{
	size_t n = strlen(name);
	return !strncmp(entry, name, n) && entry[n] == '=';
}

/* The stage's environment as an envp: the runner's (unless env_clear),
 * minus unset, plus the job's env, plus the stage's own. */
static void build_envp(const struct job_spec *j, struct stage_spec *st)
{
	if (!j->env_clear && !j->nunset && !j->nenv && !st->nenv) {
		st->envp = NULL;
		return;
	}
	size_t n = 0, cap = 0, ocap = 0;
	char **envp = NULL;
	if (!j->env_clear) {
		for (char **e = environ; *e; e++) {
			bool drop = false;
			for (size_t k = 0; k < j->nunset && !drop; k++)
				drop = env_name_is(*e, j->unset[k]);
			for (size_t k = 0; k < j->nenv && !drop; k++)
				drop = env_name_is(*e, j->env[k].name);
			for (size_t k = 0; k < st->nenv && !drop; k++)
				drop = env_name_is(*e, st->env[k].name);
			if (drop)
				continue;
			xgrow(&envp, &cap, n + 1, sizeof *envp);
			envp[n++] = *e;
		}
	}
	for (size_t k = 0; k < j->nenv + st->nenv; k++) {
		const struct kv *kv = k < j->nenv ? &j->env[k] : &st->env[k - j->nenv];
		if (k < j->nenv) {
			/* a stage's own value wins over the job's */
			bool over = false;
			for (size_t m = 0; m < st->nenv && !over; m++)
				over = !strcmp(st->env[m].name, kv->name);
			if (over)
				continue;
		}
		char *e = xasprintf("%s=%s", kv->name, kv->value);
		xgrow(&envp, &cap, n + 1, sizeof *envp);
		envp[n++] = e;
		xgrow(&st->envp_owned, &ocap, st->nenvp_owned + 1, sizeof *st->envp_owned);
		st->envp_owned[st->nenvp_owned++] = e;
	}
	xgrow(&envp, &cap, n + 1, sizeof *envp);
	envp[n] = NULL;
	st->envp = envp;
}

static int longer_first(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
	return la < lb ? 1 : la > lb ? -1 : 0;
}

/* PATH lookups as jobs are made, remembered: a million copies of one
 * job look it up once (fuzz-spec found a 300-byte spec that took 30 s of
 * stat() calls).  Direct-mapped on (program, PATH, cwd).  A lookup that
 * found nothing holds only until a job ends (spec_programs_changed): an
 * earlier job may make the program (jobs are made as they start). */
#define RESOLVE_SLOTS 64
struct resolve_cache {
	struct {
		char *prog, *path, *cwd;   /* NULL prog: empty slot */
		char *exe;
		int status;
	} slot[RESOLVE_SLOTS];
};

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static char *resolve_cached(struct resolve_cache *rc, const char *prog, const char *path,
			    const char *cwd, int *status)
{
	uint64_t h = FNV1A_INIT;
	for (const char *const *k = (const char *const[]){ prog, path, cwd }, *const *e = k + 3;
	     k < e; k++) {
		h = fnv1a_add(h, *k ? *k : "", *k ? strlen(*k) : 0);
		h = fnv1a_add(h, "\xff", 1);
	}
	__typeof__(rc->slot[0]) *sl = &rc->slot[h % RESOLVE_SLOTS];
	if (sl->prog && !strcmp(sl->prog, prog) && same_str(sl->path, path) &&
	    same_str(sl->cwd, cwd)) {
		*status = sl->status;
		return sl->exe ? xstrdup(sl->exe) : NULL;
	}
	char *exe = spec_path_resolve(prog, path, cwd, status);
	free(sl->prog), free(sl->path), free(sl->cwd), free(sl->exe);
	sl->prog = xstrdup(prog);
	sl->path = path ? xstrdup(path) : NULL;
	sl->cwd = cwd ? xstrdup(cwd) : NULL;
	sl->exe = exe ? xstrdup(exe) : NULL;
	sl->status = *status;
	return exe;
}

void spec_resolve_cache_forget_missing(struct resolve_cache *rc)
{
	for (size_t i = 0; i < RESOLVE_SLOTS; i++) {
		__typeof__(rc->slot[0]) *sl = &rc->slot[i];
		if (sl->prog && !sl->exe) {
			free(sl->prog), free(sl->path), free(sl->cwd);
			sl->prog = sl->path = sl->cwd = NULL;
		}
	}
}

static void resolve_cache_free(struct resolve_cache *rc)
{
	for (size_t i = 0; i < RESOLVE_SLOTS; i++) {
		free(rc->slot[i].prog), free(rc->slot[i].path);
		free(rc->slot[i].cwd), free(rc->slot[i].exe);
	}
}

/* Every value a secret name has: the job's (or piperun's) and each
 * pipeline stage's own, once each, longest first (see spec_redact). */
void spec_collect_secrets(struct job_spec *j)
{
	size_t cap = 0;
	spec_strv_free(j->secret_values, j->nsecret_values);
	j->secret_values = NULL;
	j->nsecret_values = 0;
	for (size_t k = 0; k < j->nsecret; k++) {
		for (size_t i = 0; i <= j->nstages; i++) {
			const char *v = env_lookup(j, i < j->nstages ? &j->stages[i] : NULL,
						   j->secret[k]);
			bool dup = !v || !*v;
			for (size_t m = 0; m < j->nsecret_values && !dup; m++)
				dup = !strcmp(j->secret_values[m], v);
			if (dup)
				continue;
			xgrow(&j->secret_values, &cap, j->nsecret_values + 1, sizeof(char *));
			j->secret_values[j->nsecret_values++] = xstrdup(v);
		}
	}
	if (j->nsecret_values > 1)
		qsort(j->secret_values, j->nsecret_values, sizeof(char *), longer_first);
}

void spec_resolve_job(struct job_spec *j, struct resolve_cache *rc)
{
	spec_collect_secrets(j);
	for (size_t i = 0; i < j->nstages; i++) {
		struct stage_spec *st = &j->stages[i];
		build_envp(j, st);
		if (kind_get(j->kind)->runs_self) {
			/* this very program, whatever became of its file */
			st->exe = xstrdup("/proc/self/exe");
			continue;
		}
		st->exe = resolve_cached(rc, st->argv[0], env_lookup(j, st, "PATH"), j->cwd,
					 &st->exe_status);
		if (st->exe_status) {
			char *prog = spec_redact(j, st->argv[0]);
			st->exe_error = st->exe_status == 127
				? xasprintf("%s: not found", prog)
				: xasprintf("%s: not executable", prog);
			free(prog);
		}
	}
	for (size_t i = 0; j->steps && i < j->steps->nsteps; i++) {
		struct step_spec *st = &j->steps->steps[i];
		if (!st->argv)
			continue;
		st->exe = resolve_cached(rc, st->argv[0], env_lookup(j, NULL, "PATH"), j->cwd,
					 &st->exe_status);
		if (st->exe_status) {
			char *prog = spec_redact(j, st->argv[0]);
			st->exe_error = xasprintf("step %s: %s: %s", st->name, prog,
						  st->exe_status == 127 ? "not found" : "not executable");
			free(prog);
		}
	}
}

struct resolve_cache *spec_resolve_cache_new(void)
{
	return xcalloc(1, sizeof(struct resolve_cache));
}

void spec_resolve_cache_free(struct resolve_cache *rc)
{
	if (!rc)
		return;
	resolve_cache_free(rc);
	free(rc);
}

char *spec_redact_jobs(const struct job_spec *const *jobs, size_t njobs, const char *s)
{
	if (!s)
		return NULL;
	/* mark every byte any secret covers (every occurrence, overlaps
	 * too), then write each marked run as one "***" */
	size_t n = strlen(s);
	unsigned char *mark = NULL;
	for (size_t k = 0; k < njobs; k++) {
		const struct job_spec *j = jobs[k];
		for (size_t i = 0; i < j->nsecret_values; i++) {
			const char *v = j->secret_values[i];
			size_t vl = strlen(v);
			for (const char *p = s; vl && (p = strstr(p, v)); p++) {
				if (!mark)
					mark = xcalloc(n, 1);
				memset(mark + (p - s), 1, vl);
			}
		}
	}
	if (!mark)
		return xstrdup(s);
	struct buf b = { 0 };
	for (size_t i = 0; i < n;) {
		if (!mark[i]) {
			buf_addch(&b, s[i++]);
			continue;
		}
		buf_addstr(&b, "***");
		while (i < n && mark[i])
			i++;
	}
	free(mark);
	return buf_detach(&b);
}

char *spec_redact(const struct job_spec *j, const char *s)
{
	return spec_redact_jobs(&j, 1, s);
}
