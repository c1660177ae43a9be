/* SPDX-License-Identifier: GPL-3.0-or-later */
/* spec-copies.c - a loaded spec's jobs as templates and the copies they
 * make (repeat, foreach): names and lookups by name, dependencies and
 * --only at the level of templates, and each job made only when it is
 * asked for (spec_job) and let go again (spec_job_drop).  A spec of a
 * million copies holds its templates, a few words per foreach value and
 * the jobs someone still holds, never a million jobs. */
#include "config.h"
#include "spec.h"
#include "spec-int.h"
#include "kind.h"
#include "strmap.h"
#include "util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A dependency, or a name's match: copy c (1-based) of template t, or
 * every copy of t (c == 0). */
struct tdep {
	size_t t, c;
};

struct tjobs {
	size_t total;        /* copies it makes (1: not expanded) */
	size_t n;            /* of them in the spec (--only may keep fewer) */
	size_t *sel;         /* --only kept these copies (sorted), or NULL: all */
	size_t first;        /* index of its first job in the spec */
	size_t *occ;         /* foreach: value v is its occ[v]-th occurrence */
	size_t *by_value;    /* foreach: value indices, those of one value
				together and in order */
	struct strmap vals;  /* foreach: a value -> where its indices start
				in by_value */
	size_t next_name;    /* the next template (index + 1) of the same name
				or base, or 0 */
	size_t last_name;    /* the chain's head: its last template */
	struct tdep *deps;   /* after (and stdin.from) */
	size_t ndeps;
	bool has_from;
	struct tdep from;    /* stdin.from: exactly one copy */
	struct job_spec *shape; /* spec_template_job's, made once */
};

struct spec_copies {
	struct tmpl *t;
	struct tjobs *tj;
	size_t nt;
	struct strmap plain; /* names of jobs not expanded -> template */
	struct strmap bases; /* bases of expanded templates -> template */
	struct job_spec **made; /* nmade (njobs when made): jobs held */
	size_t nmade;
	struct resolve_cache *rc;
	void (*on_make)(struct job_spec *j, size_t i, void *ctx);
	void *on_make_ctx;
};

static bool expanded(const struct tmpl *t)
{
	return t->has_foreach || t->has_repeat;
}

/* --------------------------------------------------------------- names */

/* Copy c (1-based) of template t: its value index v and repeat number r. */
static void copy_place(const struct tmpl *t, size_t c, size_t *v, long *r)
{
	*v = (c - 1) / (size_t)t->repeat;
	*r = (long)((c - 1) % (size_t)t->repeat) + 1;
}

static char *copy_name(const struct spec_copies *x, size_t ti, size_t c)
{
	const struct tmpl *t = &x->t[ti];
	const char *base = t->j.name;
	if (!expanded(t))
		return xstrdup(base);
	size_t v;
	long r;
	copy_place(t, c, &v, &r);
	if (!t->has_foreach)
		return xasprintf("%s#%ld", base, r);
	const char *vs = t->foreach[v];
	size_t occ = x->tj[ti].occ[v];
	if (t->has_repeat)
		return xasprintf("%s[%s]#%zu", base, vs, (occ - 1) * (size_t)t->repeat + (size_t)r);
	if (occ > 1)
		return xasprintf("%s[%s]#%zu", base, vs, occ);
	return xasprintf("%s[%s]", base, vs);
}

/* The index of the k-th (1-based) value of t equal to value, or
 * SIZE_MAX: O(1). */
static size_t nth_value(const struct tjobs *tj, size_t n, const char *value, size_t k)
{
	const size_t *p = strmap_get(&tj->vals, value);
	if (!p || !k || k > n - *p)
		return SIZE_MAX;
	size_t v = tj->by_value[*p + k - 1];
	return tj->occ[v] == k ? v : SIZE_MAX;
}

struct matches {
	struct tdep *m;
	size_t n, cap;
};

static void match_add(struct matches *ms, size_t t, size_t c)
{
	xgrow(&ms->m, &ms->cap, ms->n + 1, sizeof *ms->m);
	ms->m[ms->n++] = (struct tdep){ t, c };
}

/* Copies of foreach templates named base whose name is base[value],
 * with k the number after '#' (0: none). */
static void match_value(const struct spec_copies *x, const char *base, const char *value,
			size_t k, struct matches *ms)
{
	const size_t *b = strmap_get(&x->bases, base);
	for (size_t ti = b ? *b + 1 : 0; ti; ti = x->tj[ti - 1].next_name) {
		const struct tmpl *t = &x->t[ti - 1];
		const struct tjobs *tj = &x->tj[ti - 1];
		if (!t->has_foreach)
			continue;
		size_t v;
		if (t->has_repeat) {
			if (!k)
				continue;
			size_t R = (size_t)t->repeat;
			v = nth_value(tj, t->nforeach, value, (k - 1) / R + 1);
			if (v != SIZE_MAX)
				match_add(ms, ti - 1, v * R + (k - 1) % R + 1);
		} else if (k != 1) {
			v = nth_value(tj, t->nforeach, value, k ? k : 1);
			if (v != SIZE_MAX)
				match_add(ms, ti - 1, v + 1);
		}
	}
}

/* What "base[value]" in name[0..len) may be, k as in match_value. */
static void match_brackets(const struct spec_copies *x, const char *name, size_t len,
			   size_t k, struct matches *ms)
{
	if (len < 3 || name[len - 1] != ']')
		return;
	char *p = xmalloc(len + 1);
	memcpy(p, name, len);
	p[len - 1] = 0;
	for (size_t q = 1; q + 1 < len; q++)
		if (name[q] == '[') {
			p[q] = 0;
			match_value(x, p, p + q + 1, k, ms);
			p[q] = '[';
		}
	free(p);
}

/* Every job whose name is exactly name. */
static void match_exact(const struct spec_copies *x, const char *name, struct matches *ms)
{
	const size_t *p = strmap_get(&x->plain, name);
	for (size_t ti = p ? *p + 1 : 0; ti; ti = x->tj[ti - 1].next_name)
		match_add(ms, ti - 1, 1);
	size_t len = strlen(name), h = len;
	while (h > 0 && name[h - 1] >= '0' && name[h - 1] <= '9')
		h--;
	if (h < len && h > 1 && name[h - 1] == '#' && name[h] != '0' && len - h < 19) {
		size_t k = (size_t)strtoull(name + h, NULL, 10);
		char *base = xstrndup(name, h - 1);
		const size_t *b = strmap_get(&x->bases, base);
		for (size_t ti = b ? *b + 1 : 0; ti; ti = x->tj[ti - 1].next_name) {
			const struct tmpl *t = &x->t[ti - 1];
			if (!t->has_foreach && k <= (size_t)t->repeat)
				match_add(ms, ti - 1, k);
		}
		free(base);
		match_brackets(x, name, h - 1, k, ms);
	}
	match_brackets(x, name, len, 0, ms);
}

/* What name refers to: the job of that exact name, else every copy of
 * the templates of that base.  ms->n == 0: nothing. */
static void lookup(const struct spec_copies *x, const char *name, struct matches *ms)
{
	ms->n = 0;
	match_exact(x, name, ms);
	if (ms->n)
		return;
	const size_t *b = strmap_get(&x->bases, name);
	for (size_t ti = b ? *b + 1 : 0; ti; ti = x->tj[ti - 1].next_name)
		if (x->tj[ti - 1].total)
			match_add(ms, ti - 1, 0);
}

static size_t matched_jobs(const struct spec_copies *x, const struct matches *ms)
{
	size_t n = 0;
	for (size_t k = 0; k < ms->n; k++)
		n += ms->m[k].c ? 1 : x->tj[ms->m[k].t].total;
	return n;
}

/* ------------------------------------------------------ building them */

static void chain_name(struct spec_copies *x, struct strmap *m, size_t ti)
{
	bool added;
	size_t *p = strmap_put(m, x->t[ti].j.name, ti, &added);
	/* templates are chained first to last (the head knows the last) */
	struct tjobs *head = &x->tj[*p];
	if (added) {
		head->last_name = ti;
		return;
	}
	x->tj[head->last_name].next_name = ti + 1;
	head->last_name = ti;
}

/* Does some other template's name or base start with t's base, or t's
 * base with theirs?  Only then may a copy of t share a name. */
static bool name_related(const struct spec_copies *x, char *const *sorted, size_t n, size_t ti)
{
	const char *b = x->t[ti].j.name;
	size_t len = strlen(b);
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(sorted[mid], b) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t same = 0;
	for (size_t k = lo; k < n && !strncmp(sorted[k], b, len); k++)
		if (++same > 1)
			return true;
	char *p = xstrdup(b);
	bool r = false;
	for (size_t l = 1; l < len && !r; l++) {
		char ch = p[l];
		p[l] = 0;
		r = strmap_get(&x->plain, p) || strmap_get(&x->bases, p);
		p[l] = ch;
	}
	free(p);
	return r;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Two jobs of one name: said once for each template that repeats a name. */
static void check_names(struct ctx *c, struct spec_copies *x)
{
	char **sorted = xmalloc((x->nt ? x->nt : 1) * sizeof *sorted);
	for (size_t i = 0; i < x->nt; i++)
		sorted[i] = x->t[i].j.name;
	qsort(sorted, x->nt, sizeof *sorted, str_cmp);
	struct matches ms = { 0 };
	for (size_t ti = 0; ti < x->nt; ti++) {
		if (expanded(&x->t[ti]) && !name_related(x, sorted, x->nt, ti))
			continue;
		for (size_t cp = 1; cp <= x->tj[ti].total; cp++) {
			char *name = copy_name(x, ti, cp);
			ms.n = 0;
			match_exact(x, name, &ms);
			size_t first = SIZE_MAX;
			for (size_t k = 0; k < ms.n; k++)
				if (ms.m[k].t < ti && ms.m[k].t < first)
					first = ms.m[k].t;
			if (first != SIZE_MAX) {
				char *p = xasprintf("jobs[%zu].name", ti);
				spec_err(c, p, "duplicate job name \"%s\" (also jobs[%zu])", name, first);
				free(p);
				free(name);
				break;
			}
			free(name);
		}
	}
	free(ms.m);
	free(sorted);
}

/* A dependency where it was named (pos), for deps_tidy's sort. */
struct tdep_at {
	struct tdep d;
	size_t pos;
};

static int tdep_at_cmp(const void *a, const void *b)
{
	const struct tdep_at *x = a, *y = b;
	if (x->d.t != y->d.t)
		return x->d.t < y->d.t ? -1 : 1;
	if (x->d.c != y->d.c)
		return x->d.c < y->d.c ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int tdep_pos_cmp(const void *a, const void *b)
{
	const struct tdep_at *x = a, *y = b;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Each once, in the order they were named (after, then stdin.from):
 * a template named whole takes the place of its first copy named. */
static void deps_tidy(struct tjobs *tj)
{
	size_t n = tj->ndeps;
	if (!n)
		return;
	struct tdep_at *a = xmalloc(n * sizeof *a);
	for (size_t k = 0; k < n; k++)
		a[k] = (struct tdep_at){ tj->deps[k], k };
	qsort(a, n, sizeof *a, tdep_at_cmp);
	size_t w = 0;
	for (size_t k = 0; k < n;) {
		size_t e = k, first = a[k].pos;
		while (e < n && a[e].d.t == a[k].d.t)
			first = a[e].pos < first ? a[e].pos : first, e++;
		if (a[k].d.c == 0) {
			/* the whole template (sorted first): one entry */
			a[w++] = (struct tdep_at){ { a[k].d.t, 0 }, first };
		} else {
			for (size_t m = k; m < e; m++)
				if (m == k || a[m].d.c != a[m - 1].d.c)
					a[w++] = a[m];
		}
		k = e;
	}
	qsort(a, w, sizeof *a, tdep_pos_cmp);
	for (size_t k = 0; k < w; k++)
		tj->deps[k] = a[k].d;
	tj->ndeps = w;
	free(a);
}

static void resolve_from(struct ctx *c, struct spec_copies *x, size_t ti, size_t *cap,
			 struct matches *ms)
{
	const struct job_spec *j = &x->t[ti].j;
	struct tjobs *tj = &x->tj[ti];
	lookup(x, j->in.from, ms);
	size_t n = matched_jobs(x, ms);
	char *p = xasprintf("jobs[%zu].%s.from", ti, kind_get(j->kind)->from_key);
	bool self = false;
	for (size_t k = 0; k < ms->n; k++)
		self |= ms->m[k].t == ti;
	if (!n) {
		/* unless its copies are not known (validate) */
		if (!spec_foreach_deferred(c, j->in.from))
			spec_err(c, p, "no job named \"%s\"", j->in.from);
	} else if (n > 1) {
		char *e = copy_name(x, ms->m[0].t, ms->m[0].c ? ms->m[0].c : 1);
		spec_err(c, p, "\"%s\" names %zu jobs; stdin.from needs exactly one (e.g. \"%s\")",
			 j->in.from, n, e);
		free(e);
	} else if (self) {
		spec_err(c, p, "a job cannot read its own output");
	} else {
		struct tdep f = ms->m[0];
		if (!f.c)
			f.c = 1;
		tj->has_from = true;
		tj->from = f;
		xgrow(&tj->deps, cap, tj->ndeps + 1, sizeof *tj->deps);
		tj->deps[tj->ndeps++] = f;
		const struct job_spec *fj = &x->t[f.t].j;
		char *fname = copy_name(x, f.t, f.c);
		if (fj->out.mode != IO_CAPTURE && fj->out.mode != IO_TEE)
			spec_err(c, p, "job \"%s\" does not capture its stdout (its stdout is \"%s\")",
				 fname, spec_io_mode_name(fj->out.mode));
		else if (fj->kind == KIND_POOL && j->kind == KIND_STEPS)
			/* red1: its lines would be items, one per line of JSON */
			spec_err(c, p, "job \"%s\" is a pool job: its stdout is the pool's JSON "
				 "document, not lines of items (read it with a run step or job, "
				 "e.g. jq)", fname);
		free(fname);
	}
	free(p);
}

/* after and stdin.from, per template: every copy of a template waits
 * for the same jobs. */
static void resolve_deps(struct ctx *c, struct spec_copies *x)
{
	struct matches ms = { 0 };
	for (size_t ti = 0; ti < x->nt; ti++) {
		const struct job_spec *j = &x->t[ti].j;
		struct tjobs *tj = &x->tj[ti];
		size_t cap = 0;
		for (size_t k = 0; k < j->nafter; k++) {
			lookup(x, j->after[k], &ms);
			char *p = xasprintf("jobs[%zu].after[%zu]", ti, k);
			if (!ms.n && !spec_foreach_deferred(c, j->after[k]))
				spec_err(c, p, "no job named \"%s\"", j->after[k]);
			bool self = false;
			for (size_t m = 0; m < ms.n; m++) {
				if (ms.m[m].t == ti) {
					self = true;
					continue;
				}
				xgrow(&tj->deps, &cap, tj->ndeps + 1, sizeof *tj->deps);
				tj->deps[tj->ndeps++] = ms.m[m];
			}
			if (self)
				spec_err(c, p, "a job cannot wait for itself");
			free(p);
		}
		if (j->in.kind == IN_FROM)
			resolve_from(c, x, ti, &cap, &ms);
		deps_tidy(tj);
	}
	free(ms.m);
}

/* Depth-first search for a cycle among templates (every copy of one
 * waits for the same jobs, so a cycle of templates is one of jobs);
 * reports one per strongly tied group. */
static void check_cycles(struct ctx *c, struct spec_copies *x)
{
	size_t n = x->nt;
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
			if (pos[u] < x->tj[u].ndeps) {
				size_t v = x->tj[u].deps[pos[u]++].t;
				if (color[v] == 0) {
					color[v] = 1;
					stack[sp++] = v;
				} else if (color[v] == 1) {
					struct buf b = { 0 };
					size_t k = sp;
					while (k > 0 && stack[k - 1] != v)
						k--;
					for (size_t m = k - 1; m < sp; m++)
						buf_printf(&b, "%s -> ", x->t[stack[m]].j.name);
					buf_addstr(&b, x->t[v].j.name);
					char *p = xasprintf("jobs[%zu].after", v);
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

/* occ, by_value and the value map of a foreach template: each value's
 * occurrences together in by_value (a counting sort by first
 * occurrence), so the k-th is one look away. */
static void index_values(struct tjobs *tj, const struct tmpl *t)
{
	size_t n = t->nforeach;
	tj->occ = xmalloc((n ? n : 1) * sizeof *tj->occ);
	tj->by_value = xmalloc((n ? n : 1) * sizeof *tj->by_value);
	size_t *group = xmalloc((n ? n : 1) * sizeof *group);   /* of value v */
	size_t *start = xcalloc(n + 1, sizeof *start);          /* of group g */
	size_t ngroups = 0;
	strmap_init(&tj->vals, n);
	for (size_t v = 0; v < n; v++) {
		bool added;
		size_t *g = strmap_put(&tj->vals, t->foreach[v], ngroups, &added);
		if (added)
			ngroups++;
		group[v] = *g;
		tj->occ[v] = ++start[*g + 1];
	}
	for (size_t g = 0; g < ngroups; g++)
		start[g + 1] += start[g];
	for (size_t v = 0; v < n; v++)
		tj->by_value[start[group[v]] + tj->occ[v] - 1] = v;
	/* the map now says where each value's indices start */
	for (size_t v = 0; v < n; v++)
		if (tj->occ[v] == 1)
			*strmap_get(&tj->vals, t->foreach[v]) = start[group[v]];
	free(start);
	free(group);
}

static void place(struct spec_copies *x, struct spec *s)
{
	size_t at = 0;
	for (size_t ti = 0; ti < x->nt; ti++) {
		x->tj[ti].first = at;
		at += x->tj[ti].n;
	}
	s->njobs = at;
}

/* Is foreach value v of t one its copies may take (the kind's check)?
 * If not, an error naming it, with its first copy's secrets hidden. */
static void check_value(struct ctx *c, struct spec_copies *x, size_t ti, size_t v,
			const struct kind_expand *xp)
{
	const struct tmpl *t = &x->t[ti];
	char *why = xp->check_value(t->foreach[v], xp->arg);
	if (!why)
		return;
	struct job_spec j;
	spec_instantiate(t, &j, copy_name(x, ti, v * (size_t)t->repeat + 1), t->foreach[v],
			 v * (size_t)t->repeat + 1);
	spec_collect_secrets(&j);
	char *shown = spec_redact(&j, t->foreach[v]);
	char *d = spec_describe_str(shown);
	char *p = spec_path_idx(t->foreach_path, v);
	spec_err(c, p, "%s: %s", d, why);
	free(p);
	free(d);
	free(shown);
	free(why);
	spec_job_free(&j);
}

void spec_copies_build(struct ctx *c, struct tmpl *t, size_t nt, struct spec *s)
{
	struct spec_copies *x = xcalloc(1, sizeof *x);
	s->copies = x;
	x->t = t;
	x->nt = nt;
	x->tj = xcalloc(nt ? nt : 1, sizeof *x->tj);
	x->rc = spec_resolve_cache_new();
	size_t total = 0;
	for (size_t i = 0; i < nt; i++) {
		size_t n = (size_t)t[i].repeat * (t[i].has_foreach ? t[i].nforeach : 1);
		total += n;
		if (total > MAX_JOBS) {
			spec_err(c, t[i].path, "the spec expands to more than %d jobs", MAX_JOBS);
			return;
		}
		x->tj[i].total = x->tj[i].n = n;
		if (t[i].has_foreach)
			index_values(&x->tj[i], &t[i]);
	}
	place(x, s);
	strmap_init(&x->plain, nt);
	strmap_init(&x->bases, nt);
	for (size_t i = 0; i < nt; i++)
		chain_name(x, expanded(&t[i]) ? &x->bases : &x->plain, i);
	/* what the kind asks of the template (checked once) and of each
	 * value */
	for (size_t i = 0; i < nt; i++) {
		const struct job_kind *k = kind_get(t[i].j.kind);
		struct kind_expand xp = { 0 };
		if (k->expand_prepare && !k->expand_prepare(c, &t[i], &xp))
			continue;
		for (size_t v = 0; xp.check_value && t[i].has_foreach && v < t[i].nforeach; v++)
			check_value(c, x, i, v, &xp);
	}
	size_t errs = c->errs->n;
	check_names(c, x);
	resolve_deps(c, x);
	if (c->errs->n == errs)
		check_cycles(c, x);
}

/* ------------------------------------------------------------- --only */

static void sel_add(struct spec_copies *x, size_t ti, size_t cp, bool *all, size_t *cap,
		    size_t *stack, size_t *sp, bool *seen)
{
	struct tjobs *tj = &x->tj[ti];
	if (all[ti])
		return;
	if (!cp)
		all[ti] = true;
	else {
		xgrow(&tj->sel, &cap[ti], tj->n + 1, sizeof *tj->sel);
		tj->sel[tj->n++] = cp;
	}
	if (!seen[ti]) {
		seen[ti] = true;
		stack[(*sp)++] = ti;
	}
}

static int size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

static void drop_all(struct spec_copies *x);

int spec_select(struct spec *s, char **names, size_t n, struct errlist *errs)
{
	struct spec_copies *x = s->copies;
	drop_all(x);
	size_t nt = x->nt ? x->nt : 1;
	bool *all = xcalloc(nt, sizeof *all), *seen = xcalloc(nt, sizeof *seen);
	size_t *cap = xcalloc(nt, sizeof *cap), *stack = xmalloc(nt * sizeof *stack), sp = 0;
	for (size_t ti = 0; ti < x->nt; ti++) {
		x->tj[ti].n = 0;
		free(x->tj[ti].sel);
		x->tj[ti].sel = NULL;
	}
	int rc = 0;
	struct matches ms = { 0 };
	for (size_t k = 0; k < n; k++) {
		lookup(x, names[k], &ms);
		if (!ms.n) {
			errlist_add(errs, "piperun: --only: no job named \"%s\" in %s",
				    names[k], s->file);
			rc = -1;
		}
		for (size_t m = 0; m < ms.n; m++)
			sel_add(x, ms.m[m].t, ms.m[m].c, all, cap, stack, &sp, seen);
	}
	free(ms.m);
	/* every copy of a template waits for the same jobs: they come in
	 * once, with its first copy kept */
	while (sp) {
		size_t u = stack[--sp];
		for (size_t d = 0; d < x->tj[u].ndeps; d++)
			sel_add(x, x->tj[u].deps[d].t, x->tj[u].deps[d].c, all, cap, stack, &sp, seen);
	}
	for (size_t ti = 0; ti < x->nt; ti++) {
		struct tjobs *tj = &x->tj[ti];
		if (all[ti] || (rc < 0)) {
			free(tj->sel);
			tj->sel = NULL;
			tj->n = all[ti] || rc < 0 ? tj->total : 0;
			continue;
		}
		if (tj->n)
			qsort(tj->sel, tj->n, sizeof *tj->sel, size_cmp);
		size_t w = 0;
		for (size_t k = 0; k < tj->n; k++)
			if (!w || tj->sel[w - 1] != tj->sel[k])
				tj->sel[w++] = tj->sel[k];
		tj->n = w;
		if (!w) {
			free(tj->sel);
			tj->sel = NULL;
		}
	}
	place(x, s);
	free(all);
	free(seen);
	free(cap);
	free(stack);
	return rc;
}

/* ------------------------------------------------------ the jobs made */

/* The template of job i and its copy number. */
static size_t job_place(const struct spec_copies *x, size_t i, size_t *cp)
{
	size_t lo = 0, hi = x->nt;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (x->tj[mid].first <= i)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t ti = lo - 1;
	while (!x->tj[ti].n)
		ti--;
	size_t k = i - x->tj[ti].first;
	*cp = x->tj[ti].sel ? x->tj[ti].sel[k] : k + 1;
	return ti;
}

/* The index of copy cp of template ti (kept by --only: its deps are). */
static size_t job_index(const struct spec_copies *x, size_t ti, size_t cp)
{
	const struct tjobs *tj = &x->tj[ti];
	if (!tj->sel)
		return tj->first + cp - 1;
	size_t lo = 0, hi = tj->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (tj->sel[mid] < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return tj->first + lo;
}

/* The jobs a copy of tj waits for, in spec order (malloc'd, *n). */
static size_t *job_deps(const struct spec_copies *x, const struct tjobs *tj, size_t *n)
{
	*n = 0;
	for (size_t d = 0; d < tj->ndeps; d++)
		*n += tj->deps[d].c ? 1 : x->tj[tj->deps[d].t].n;
	size_t *deps = *n ? xmalloc(*n * sizeof *deps) : NULL, k = 0;
	for (size_t d = 0; d < tj->ndeps; d++) {
		const struct tdep *e = &tj->deps[d];
		if (e->c)
			deps[k++] = job_index(x, e->t, e->c);
		else
			for (size_t m = 0; m < x->tj[e->t].n; m++)
				deps[k++] = x->tj[e->t].first + m;
	}
	return deps;
}

char *spec_job_name(const struct spec *s, size_t i)
{
	const struct spec_copies *x = s->copies;
	if (x->made && x->made[i])
		return xstrdup(x->made[i]->name);
	size_t cp;
	size_t ti = job_place(x, i, &cp);
	return copy_name(x, ti, cp);
}

void spec_programs_changed(const struct spec *s)
{
	spec_resolve_cache_forget_missing(s->copies->rc);
}

void spec_job_links(const struct spec *s, size_t i, struct spec_links *l)
{
	const struct spec_copies *x = s->copies;
	size_t cp;
	size_t ti = job_place(x, i, &cp);
	const struct tjobs *tj = &x->tj[ti];
	l->kind = x->t[ti].j.kind;
	l->always = x->t[ti].j.always;
	l->from = tj->has_from;
	l->from_idx = tj->has_from ? job_index(x, tj->from.t, tj->from.c) : 0;
	l->deps = job_deps(x, tj, &l->ndeps);
}

static struct job_spec *make(const struct spec *s, size_t i)
{
	const struct spec_copies *x = s->copies;
	size_t cp;
	size_t ti = job_place(x, i, &cp);
	const struct tmpl *t = &x->t[ti];
	const struct tjobs *tj = &x->tj[ti];
	struct job_spec *j = xmalloc(sizeof *j);
	if (!expanded(t)) {
		spec_instantiate(t, j, xstrdup(t->j.name), NULL, 0);
	} else {
		char idx[32];
		size_t v;
		long r;
		copy_place(t, cp, &v, &r);
		snprintf(idx, sizeof idx, "%zu", cp);
		spec_instantiate(t, j, copy_name(x, ti, cp), t->has_foreach ? t->foreach[v] : idx,
				 cp);
	}
	j->deps = job_deps(x, tj, &j->ndeps);
	if (tj->has_from)
		j->in.from_idx = job_index(x, tj->from.t, tj->from.c);
	spec_resolve_job(j, x->rc);
	if (x->on_make)
		x->on_make(j, i, x->on_make_ctx);
	return j;
}

const struct job_spec *spec_job(const struct spec *s, size_t i)
{
	struct spec_copies *x = s->copies;
	if (!x->made) {
		x->nmade = s->njobs;
		x->made = xcalloc(x->nmade ? x->nmade : 1, sizeof *x->made);
	}
	if (!x->made[i])
		x->made[i] = make(s, i);
	return x->made[i];
}

bool spec_job_held(const struct spec *s, size_t i)
{
	return s->copies->made && s->copies->made[i];
}

void spec_job_drop(const struct spec *s, size_t i)
{
	struct spec_copies *x = s->copies;
	if (!x->made || !x->made[i])
		return;
	spec_job_free(x->made[i]);
	free(x->made[i]);
	x->made[i] = NULL;
}

const struct job_spec *spec_job_peek(const struct spec *s, size_t i, bool *held)
{
	*held = spec_job_held(s, i);
	return spec_job(s, i);
}

void spec_job_unpeek(const struct spec *s, size_t i, bool held)
{
	if (!held)
		spec_job_drop(s, i);
}

/* Every job made let go, and the shapes (--only changes which jobs
 * there are). */
static void drop_all(struct spec_copies *x)
{
	for (size_t i = 0; i < x->nmade; i++)
		if (x->made[i]) {
			spec_job_free(x->made[i]);
			free(x->made[i]);
		}
	free(x->made);
	x->made = NULL;
	x->nmade = 0;
	for (size_t ti = 0; ti < x->nt; ti++)
		if (x->tj[ti].shape) {
			spec_job_free(x->tj[ti].shape);
			free(x->tj[ti].shape);
			x->tj[ti].shape = NULL;
		}
}

void spec_on_make(const struct spec *s, void (*fn)(struct job_spec *j, size_t i, void *ctx),
		  void *ctx)
{
	struct spec_copies *x = s->copies;
	x->on_make = fn;
	x->on_make_ctx = ctx;
	if (!fn)
		return;
	for (size_t i = 0; i < x->nmade; i++)
		if (x->made[i])
			fn(x->made[i], i, ctx);
	for (size_t ti = 0; ti < x->nt; ti++)
		if (x->tj[ti].shape)
			fn(x->tj[ti].shape, x->tj[ti].first, ctx);
}

size_t spec_ntemplates(const struct spec *s)
{
	return s->copies->nt;
}

const struct job_spec *spec_template_job(const struct spec *s, size_t t)
{
	struct spec_copies *x = s->copies;
	struct tjobs *tj = &x->tj[t];
	if (!tj->n)
		return NULL;
	if (!tj->shape)
		tj->shape = make(s, tj->first);
	return tj->shape;
}

void spec_copies_free(struct spec_copies *x)
{
	if (!x)
		return;
	drop_all(x);
	for (size_t ti = 0; ti < x->nt; ti++) {
		struct tjobs *tj = &x->tj[ti];
		free(tj->sel);
		free(tj->occ);
		free(tj->by_value);
		if (x->t[ti].has_foreach)
			strmap_free(&tj->vals);
		free(tj->deps);
		spec_tmpl_free(&x->t[ti]);
	}
	free(x->tj);
	free(x->t);
	strmap_free(&x->plain);
	strmap_free(&x->bases);
	spec_resolve_cache_free(x->rc);
	free(x);
}
