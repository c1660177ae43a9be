/* SPDX-License-Identifier: GPL-3.0-or-later */
/* spec-expand.c - expansion: repeat/foreach templates into named copies,
 * placeholders ({} {#} {{}}) substituted in argv, env, cwd and stdin.text;
 * a kind with a command of its own makes it through its row's expand
 * (`shell`: kind-run.c, through shell.c, which quotes the value's
 * reference). */
#include "config.h"
#include "spec.h"
#include "spec-int.h"
#include "kind.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ expansion */

/* spec_placeholder_subst over stdin.text, which may hold NUL bytes: piece by
 * piece between them (s[len] is a NUL too). */
struct subst_ctx {
	const char *value;
	size_t index;
};

static char *subst_piece(const char *piece, void *ctx)
{
	const struct subst_ctx *c = ctx;
	return spec_placeholder_subst(piece, c->value, c->index);
}

static char *subst_bytes(const char *s, size_t len, const char *value, size_t index,
			 size_t *outlen)
{
	struct subst_ctx c = { value, index };
	return map_pieces(s, len, subst_piece, &c, outlen);
}

/* {} / {#} / {{}} in argv items, env values, cwd and stdin.text (and a
 * step's argv): the value as it is.  `shell` scripts go through
 * shell_subst() instead. */
char *spec_placeholder_subst(const char *s, const char *value, size_t index)
{
	struct buf b = { 0 };
	buf_reserve(&b, strlen(s));
	for (const char *p = s; *p;) {
		if (!strncmp(p, "{{}}", 4)) {
			buf_addstr(&b, "{}");
			p += 4;
		} else if (!strncmp(p, "{}", 2)) {
			buf_addstr(&b, value);
			p += 2;
		} else if (!strncmp(p, "{#}", 3)) {
			buf_printf(&b, "%zu", index);
			p += 3;
		} else {
			buf_addch(&b, *p++);
		}
	}
	return buf_detach(&b);
}

static struct kv *dup_env(const struct kv *env, size_t n, const char *value,
			  size_t index, bool subst)
{
	if (!n)
		return NULL;
	struct kv *r = xcalloc(n, sizeof *r);
	for (size_t i = 0; i < n; i++) {
		r[i].name = xstrdup(env[i].name);
		r[i].value = subst ? spec_placeholder_subst(env[i].value, value, index)
				   : xstrdup(env[i].value);
	}
	return r;
}

static void io_copy(struct io_spec *d, const struct io_spec *s)
{
	*d = *s;
	d->path = s->path ? xstrdup(s->path) : NULL;
}

/* Copy j's stages from t's, {} and {#} substituted in a copy (subst). */
static void expand_stages(const struct tmpl *t, struct job_spec *j, const char *value,
			  size_t index, bool subst)
{
	j->nstages = t->nstages;
	j->stages = t->nstages ? xcalloc(t->nstages, sizeof *j->stages) : NULL;
	for (size_t k = 0; k < t->nstages; k++) {
		const struct tstage *ts = &t->stages[k];
		struct stage_spec *st = &j->stages[k];
		st->argc = ts->argc;
		st->argv = xcalloc(ts->argc + 1, sizeof(char *));
		for (size_t a = 0; a < ts->argc; a++)
			st->argv[a] = subst && !ts->argv[a].raw
				? spec_placeholder_subst(ts->argv[a].s, value, index)
				: xstrdup(ts->argv[a].s);
		st->env = dup_env(ts->env, ts->nenv, value, index, subst);
		st->nenv = ts->nenv;
		io_copy(&st->err, &ts->err);
		st->has_err = ts->has_err;
	}
}

/* One concrete job from a template. */
static void spec_instantiate(const struct tmpl *t, struct job_spec *j, char *name,
			const char *value, size_t index)
{
	const struct job_spec *s = &t->j;
	bool subst = t->has_foreach || t->has_repeat;
	*j = *s;
	j->name = name;
	j->base = xstrdup(s->name);
	j->value = value && t->has_foreach ? xstrdup(value) : NULL;
	j->copy = subst ? index : 0;
	j->shell = NULL;        /* the kind's expand makes its own */
	j->env = dup_env(s->env, s->nenv, value, index, subst);
	j->unset = spec_strv_dup(s->unset, s->nunset);
	j->secret = spec_strv_dup(s->secret, s->nsecret);
	j->secret_values = NULL;
	j->nsecret_values = 0;
	j->cwd = s->cwd ? (subst ? spec_placeholder_subst(s->cwd, value, index)
				 : xstrdup(s->cwd)) : NULL;
	j->in = s->in;
	if (s->in.data) {
		if (s->in.kind == IN_TEXT && subst) {
			j->in.data = subst_bytes(s->in.data, s->in.len, value, index, &j->in.len);
		} else {
			j->in.data = xmalloc(s->in.len + 1);
			memcpy(j->in.data, s->in.data, s->in.len);
			j->in.data[s->in.len] = 0;
		}
	}
	j->in.path = s->in.path ? xstrdup(s->in.path) : NULL;
	j->in.from = s->in.from ? xstrdup(s->in.from) : NULL;
	if (kind_get(s->kind)->dup_data)
		kind_get(s->kind)->dup_data(j, s);
	io_copy(&j->out, &s->out);
	io_copy(&j->err, &s->err);
	/* arrays of no elements may still have been allocated (pass_fds:
	 * []): a copy never shares the template's */
	j->expect = NULL;
	j->rlimits = NULL;
	j->pass_fds = NULL;
	if (s->nexpect) {
		j->expect = xmalloc(s->nexpect * sizeof *j->expect);
		memcpy(j->expect, s->expect, s->nexpect * sizeof *j->expect);
	}
	j->after = spec_strv_dup(s->after, s->nafter);
	j->deps = NULL;
	j->ndeps = 0;
	if (s->nrlimits) {
		j->rlimits = xmalloc(s->nrlimits * sizeof *j->rlimits);
		memcpy(j->rlimits, s->rlimits, s->nrlimits * sizeof *j->rlimits);
	}
	if (s->npass_fds) {
		j->pass_fds = xmalloc(s->npass_fds * sizeof *j->pass_fds);
		memcpy(j->pass_fds, s->pass_fds, s->npass_fds * sizeof *j->pass_fds);
	}
	const struct job_kind *k = kind_get(s->kind);
	if (k->expand)
		k->expand(t, j, value, index, subst);
	else
		expand_stages(t, j, value, index, subst);
}

/* Is foreach[v] a value copies of t may take (the kind's check, x;
 * copy j)?  If not, an error naming the value, with j's secrets hidden. */
static void check_value(struct ctx *c, const struct tmpl *t, size_t v,
			struct job_spec *j, const struct kind_expand *x)
{
	char *why = x->check_value(t->foreach[v], x->arg);
	if (!why)
		return;
	spec_collect_secrets(j);
	char *shown = spec_redact(j, t->foreach[v]);
	char *d = spec_describe_str(shown);
	char *p = spec_path_idx(t->foreach_path, v);
	spec_err(c, p, "%s: %s", d, why);
	free(p);
	free(d);
	free(shown);
	free(why);
}

/* Expand every template into concrete jobs, in spec order. */
/* occ[v] = 1 + how many of foreach values 0..v-1 equal value v: one sort of
 * (value, index) pairs, then one pass (a foreach over 100,000 values must
 * not compare each with all before it). Caller frees. */
struct value_at {
	const char *value;
	size_t index;
};

static int value_at_cmp(const void *a, const void *b)
{
	const struct value_at *x = a, *y = b;
	int r = strcmp(x->value, y->value);
	if (r)
		return r;
	return x->index < y->index ? -1 : x->index > y->index;
}

static size_t *foreach_occurrences(char *const *values, size_t n)
{
	size_t *occ = xmalloc((n ? n : 1) * sizeof *occ);
	struct value_at *ord = xmalloc((n ? n : 1) * sizeof *ord);
	for (size_t v = 0; v < n; v++)
		ord[v] = (struct value_at){ values[v], v };
	qsort(ord, n, sizeof *ord, value_at_cmp);
	for (size_t k = 0; k < n; k++)
		occ[ord[k].index] = k && !strcmp(ord[k - 1].value, ord[k].value)
			? occ[ord[k - 1].index] + 1 : 1;
	free(ord);
	return occ;
}

void spec_expand(struct ctx *c, struct tmpl *t, size_t nt, struct spec *s)
{
	size_t total = 0;
	for (size_t i = 0; i < nt; i++) {
		size_t n = (size_t)t[i].repeat * (t[i].has_foreach ? t[i].nforeach : 1);
		total += n;
		if (total > MAX_JOBS) {
			spec_err(c, t[i].path, "the spec expands to more than %d jobs", MAX_JOBS);
			return;
		}
	}
	s->jobs = xcalloc(total ? total : 1, sizeof *s->jobs);
	for (size_t i = 0; i < nt; i++) {
		struct tmpl *tp = &t[i];
		const char *base = tp->j.name;
		/* what the kind asks of the template (checked once) and of
		 * each value (at its first copy) */
		const struct job_kind *k = kind_get(tp->j.kind);
		struct kind_expand x = { 0 };
		if (k->expand_prepare && !k->expand_prepare(c, tp, &x))
			continue;
		if (!tp->has_foreach && !tp->has_repeat) {
			spec_instantiate(tp, &s->jobs[s->njobs++], xstrdup(base), NULL, 0);
			continue;
		}
		size_t index = 0;
		size_t nv = tp->has_foreach ? tp->nforeach : 1;
		size_t *occs = tp->has_foreach
			? foreach_occurrences(tp->foreach, tp->nforeach) : NULL;
		for (size_t v = 0; v < nv; v++) {
			const char *value = tp->has_foreach ? tp->foreach[v] : NULL;
			size_t occ = occs ? occs[v] : 1;
			for (long r = 1; r <= tp->repeat; r++) {
				index++;
				char *name;
				char idx[32];
				snprintf(idx, sizeof idx, "%zu", index);
				const char *vs = value ? value : "";
				if (value && tp->has_repeat)
					name = xasprintf("%s[%s]#%zu", base, vs,
							 (occ - 1) * (size_t)tp->repeat + (size_t)r);
				else if (value && occ > 1)
					name = xasprintf("%s[%s]#%zu", base, vs, occ);
				else if (value)
					name = xasprintf("%s[%s]", base, vs);
				else
					name = xasprintf("%s#%ld", base, r);
				spec_instantiate(tp, &s->jobs[s->njobs++], name,
					    value ? value : idx, index);
				if (x.check_value && r == 1)
					check_value(c, tp, v, &s->jobs[s->njobs - 1], &x);
			}
		}
		free(occs);
	}
}
