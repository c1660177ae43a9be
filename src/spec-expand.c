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
void spec_instantiate(const struct tmpl *t, struct job_spec *j, char *name,
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
