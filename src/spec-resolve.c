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

/* ------------------------------------------------ names and dependencies */

/* Adds job d to job i's deps unless it is there already: seen[d] == i + 1
 * marks d as a dep of i, so each add is O(1) ("after" on a job with
 * 100,000 copies stays linear). */
static void add_dep(struct job_spec *j, size_t i, size_t d, size_t *seen,
		    size_t *cap)
{
	if (seen[d] == i + 1)
		return;
	seen[d] = i + 1;
	xgrow(&j->deps, cap, j->ndeps + 1, sizeof *j->deps);
	j->deps[j->ndeps++] = d;
}

void spec_check_names(struct ctx *c, struct spec *s)
{
	/* Sort indices by name to find duplicates in O(n log n): specs with
	 * 10,000 copies are normal. */
	size_t n = s->njobs;
	size_t *ord = xmalloc((n ? n : 1) * sizeof *ord);
	for (size_t i = 0; i < n; i++)
		ord[i] = i;
	/* simple merge sort on names */
	size_t *tmp = xmalloc((n ? n : 1) * sizeof *tmp);
	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t a = lo, b = mid, k = lo;
			while (a < mid && b < hi)
				tmp[k++] = strcmp(s->jobs[ord[a]].name, s->jobs[ord[b]].name) <= 0
					? ord[a++] : ord[b++];
			while (a < mid)
				tmp[k++] = ord[a++];
			while (b < hi)
				tmp[k++] = ord[b++];
		}
		memcpy(ord, tmp, n * sizeof *ord);
	}
	for (size_t i = 1; i < n; i++) {
		struct job_spec *a = &s->jobs[ord[i - 1]], *b = &s->jobs[ord[i]];
		if (!strcmp(a->name, b->name)) {
			size_t first = a->spec_index < b->spec_index ? a->spec_index : b->spec_index;
			size_t second = a->spec_index < b->spec_index ? b->spec_index : a->spec_index;
			char *p = xasprintf("jobs[%zu].name", second);
			char *d = xstrdup(a->name);
			spec_err(c, p, "duplicate job name \"%s\" (also jobs[%zu])", d, first);
			free(d);
			free(p);
		}
	}
	free(tmp);
	free(ord);
}

void spec_resolve_deps(struct ctx *c, struct spec *s)
{
	size_t *seen = xcalloc(s->njobs ? s->njobs : 1, sizeof *seen);
	struct spec_names *names = spec_names_new(s);
	for (size_t i = 0; i < s->njobs; i++) {
		struct job_spec *j = &s->jobs[i];
		size_t cap = 0;
		for (size_t k = 0; k < j->nafter; k++) {
			size_t n, *idx = spec_names_lookup(names, j->after[k], &n);
			char *p = xasprintf("jobs[%zu].after[%zu]", j->spec_index, k);
			if (!n && !spec_foreach_deferred(c, j->after[k]))
				spec_err(c, p, "no job named \"%s\"", j->after[k]);
			for (size_t m = 0; m < n; m++) {
				if (idx[m] == i)
					spec_err(c, p, "a job cannot wait for itself");
				else
					add_dep(j, i, idx[m], seen, &cap);
			}
			free(p);
			free(idx);
		}
		if (j->in.kind == IN_FROM) {
			size_t n, *idx = spec_names_lookup(names, j->in.from, &n);
			char *p = xasprintf("jobs[%zu].%s.from", j->spec_index,
					    kind_get(j->kind)->from_key);
			if (!n) {
				/* unless its copies are not known (validate) */
				if (!spec_foreach_deferred(c, j->in.from))
					spec_err(c, p, "no job named \"%s\"", j->in.from);
			}
			else if (n > 1)
				spec_err(c, p, "\"%s\" names %zu jobs; stdin.from needs exactly one (e.g. \"%s\")",
				    j->in.from, n, s->jobs[idx[0]].name);
			else if (idx[0] == i)
				spec_err(c, p, "a job cannot read its own output");
			else {
				j->in.from_idx = idx[0];
				add_dep(j, i, idx[0], seen, &cap);
				const struct job_spec *f = &s->jobs[idx[0]];
				if (f->out.mode != IO_CAPTURE && f->out.mode != IO_TEE)
					spec_err(c, p, "job \"%s\" does not capture its stdout (its stdout is \"%s\")",
					    f->name, spec_io_mode_name(f->out.mode));
				else if (f->kind == KIND_POOL && j->kind == KIND_STEPS)
					/* red1: its lines would be items, one per line of JSON */
					spec_err(c, p, "job \"%s\" is a pool job: its stdout is the pool's JSON "
						 "document, not lines of items (read it with a run step or job, "
						 "e.g. jq)", f->name);
			}
			free(p);
			free(idx);
		}
	}
	spec_names_free(names);
	free(seen);
}

/* Depth-first search for a cycle; reports one per strongly tied group. */
void spec_check_cycles(struct ctx *c, struct spec *s)
{
	size_t n = s->njobs;
	unsigned char *color = xcalloc(n ? n : 1, 1); /* 0 new, 1 on stack, 2 done */
	size_t *stack = xmalloc((n ? n : 1) * sizeof *stack);
	size_t *pos = xcalloc(n ? n : 1, sizeof *pos);
	for (size_t root = 0; root < n; root++) {
		if (color[root])
			continue;
		size_t sp = 0;
		stack[sp++] = root;
		color[root] = 1;
		while (sp) {
			size_t u = stack[sp - 1];
			if (pos[u] < s->jobs[u].ndeps) {
				size_t v = s->jobs[u].deps[pos[u]++];
				if (color[v] == 0) {
					color[v] = 1;
					stack[sp++] = v;
				} else if (color[v] == 1) {
					struct buf b = { 0 };
					size_t k = sp;
					while (k > 0 && stack[k - 1] != v)
						k--;
					for (size_t m = k - 1; m < sp; m++)
						buf_printf(&b, "%s -> ", s->jobs[stack[m]].name);
					buf_addstr(&b, s->jobs[v].name);
					char *p = xasprintf("jobs[%zu].after", s->jobs[v].spec_index);
					spec_err(c, p, "dependency cycle: %s", b.p);
					free(p);
					buf_free(&b);
				}
			} else {
				color[u] = 2;
				sp--;
			}
		}
	}
	free(color);
	free(stack);
	free(pos);
}

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

/* PATH lookups while a spec loads, remembered: a million copies of one
 * job look their programs up once (fuzz-spec found a 300-byte spec that
 * took 30 s of stat() calls).  Direct-mapped on (program, PATH, cwd). */
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

static void resolve_job(struct job_spec *j, struct resolve_cache *rc)
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

void spec_resolve_jobs(struct spec *s)
{
	struct resolve_cache *rc = xcalloc(1, sizeof *rc);
	for (size_t i = 0; i < s->njobs; i++)
		resolve_job(&s->jobs[i], rc);
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

int spec_select(struct spec *s, char **names, size_t n, struct errlist *errs)
{
	bool *keep = xcalloc(s->njobs ? s->njobs : 1, sizeof *keep);
	size_t *stack = xmalloc((s->njobs ? s->njobs : 1) * sizeof *stack), sp = 0;
	int rc = 0;
	struct spec_names *ix = spec_names_new(s);
	for (size_t k = 0; k < n; k++) {
		size_t m, *idx = spec_names_lookup(ix, names[k], &m);
		if (!m) {
			errlist_add(errs, "piperun: --only: no job named \"%s\" in %s",
				    names[k], s->file);
			rc = -1;
		}
		for (size_t i = 0; i < m; i++)
			if (!keep[idx[i]]) {
				keep[idx[i]] = true;
				stack[sp++] = idx[i];
			}
		free(idx);
	}
	spec_names_free(ix);
	while (sp) {
		size_t u = stack[--sp];
		for (size_t d = 0; d < s->jobs[u].ndeps; d++) {
			size_t v = s->jobs[u].deps[d];
			if (!keep[v]) {
				keep[v] = true;
				stack[sp++] = v;
			}
		}
	}
	if (rc == 0) {
		size_t *newidx = xmalloc((s->njobs ? s->njobs : 1) * sizeof *newidx), w = 0;
		for (size_t i = 0; i < s->njobs; i++)
			newidx[i] = keep[i] ? w++ : (size_t)-1;
		w = 0;
		for (size_t i = 0; i < s->njobs; i++) {
			if (!keep[i]) {
				spec_job_free(&s->jobs[i]);
				continue;
			}
			struct job_spec *j = &s->jobs[i];
			for (size_t d = 0; d < j->ndeps; d++)
				j->deps[d] = newidx[j->deps[d]];
			if (j->in.kind == IN_FROM)
				j->in.from_idx = newidx[j->in.from_idx];
			s->jobs[w++] = *j;
		}
		s->njobs = w;
		free(newidx);
	}
	free(keep);
	free(stack);
	return rc;
}
