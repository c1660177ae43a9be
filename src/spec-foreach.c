/* SPDX-License-Identifier: GPL-3.0-or-later */
/* spec-foreach.c - foreach sources in the spec: the shape of
 * {"glob"}, {"lines"}, {"lines0"}, {"range"}, {"command"} (checked by
 * every command, validate too), and their values read into the
 * templates before expansion (run and plan only: SPEC_LOAD_SOURCES).
 * The values themselves come from foreach-src.c; once they are in a
 * template they go the way literal values go (spec-expand.c). */
#include "config.h"
#include "spec.h"
#include "spec-int.h"
#include "foreach-src.h"
#include "signals.h"
#include "util.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SOURCES "{\"glob\": PATTERN}, {\"lines\": FILE}, {\"lines0\": FILE}, " \
	"{\"range\": [FROM, TO, STEP]} or {\"command\": [ARGV]}"

/* JSON integers are exact to 2^53 (VALUES in piperun-spec(5)) */
#define RANGE_MAX 9007199254740992L

static bool parse_range(struct ctx *c, const struct cJSON *v, const char *p, struct fsrc *s)
{
	if (!jv_is_array(v) || jv_size(v) < 2 || jv_size(v) > 3) {
		spec_expected(c, p, "[FROM, TO] or [FROM, TO, STEP] (integers; TO inclusive)", v);
		return false;
	}
	long x[3] = { 0, 0, 1 };
	bool ok = true;
	for (int i = 0; i < jv_size(v); i++) {
		char *ip = spec_path_idx(p, (size_t)i);
		ok = spec_get_long(c, jv_at(v, i), ip, -RANGE_MAX, RANGE_MAX, &x[i]) && ok;
		free(ip);
	}
	if (!ok)
		return false;
	s->from = x[0];
	s->to = x[1];
	s->step = x[2];
	size_t n = fsrc_range_count(s);
	if (!s->step)
		spec_err(c, p, "the step cannot be 0");
	else if (!n)
		spec_err(c, p, "the range from %lld to %lld by %lld is empty (TO is inclusive; "
			 "a range down needs a negative step)", s->from, s->to, s->step);
	else if (n > FSRC_MAX_VALUES)
		spec_err(c, p, "the range has more than %d values", FSRC_MAX_VALUES);
	return s->step && n && n <= FSRC_MAX_VALUES;
}

static bool parse_one(struct ctx *c, const struct cJSON *e, const char *p, struct fsrc *s)
{
	const char *key = jv_key(e);
	if (!strcmp(key, "glob") || !strcmp(key, "lines") || !strcmp(key, "lines0")) {
		s->kind = !strcmp(key, "glob") ? FSRC_GLOB
			: !strcmp(key, "lines") ? FSRC_LINES : FSRC_LINES0;
		const char *f = spec_get_str(c, e, p);
		if (f && !*f)
			spec_expected(c, p, s->kind == FSRC_GLOB ? "a pattern" : "a file name", e);
		else if (f)
			s->path = xstrdup(f);
		return s->path != NULL;
	}
	if (!strcmp(key, "range")) {
		s->kind = FSRC_RANGE;
		return parse_range(c, e, p, s);
	}
	if (!strcmp(key, "command")) {
		s->kind = FSRC_COMMAND;
		if (!jv_is_array(e) || !jv_size(e)) {
			spec_expected(c, p, "a non-empty argv array", e);
			return false;
		}
		s->argv = spec_get_str_array(c, e, p, false, false, &s->argc);
		if (s->argv && !*s->argv[0]) {
			char *ip = spec_path_idx(p, 0);
			spec_err(c, ip, "expected a program, got \"\"");
			free(ip);
			return false;
		}
		return s->argv != NULL;
	}
	spec_err(c, p, "unknown key (a foreach source is " SOURCES ")");
	return false;
}

struct fsrc *spec_foreach_parse(struct ctx *c, const struct cJSON *v, const char *path)
{
	if (jv_size(v) != 1) {
		spec_err(c, path, "expected one key: " SOURCES ", got %s",
			 jv_size(v) ? "several" : "an empty object");
		return NULL;
	}
	const struct cJSON *e = jv_child(v);
	char *p = spec_path_key(path, jv_key(e));
	struct fsrc *s = xcalloc(1, sizeof *s);
	if (!parse_one(c, e, p, s)) {
		fsrc_free(s);
		free(s);
		s = NULL;
	}
	free(p);
	return s;
}

void spec_foreach_free(struct fsrc *s)
{
	if (!s)
		return;
	fsrc_free(s);
	free(s);
}

/* ------------------------------------------------------------- values */

/* s's values, or false after an error at path (its "glob", "command",
 * ... key).  A command's program is looked up on PATH as a job's is
 * (from piperun's directory). */
static bool read_values(struct ctx *c, const struct fsrc *s, const char *path,
			char ***v, size_t *n)
{
	char *p = spec_path_key(path, fsrc_key(s->kind));
	char *why = NULL, *exe = NULL;
	struct fsrc src = *s;
	if (s->kind == FSRC_COMMAND) {
		int st;
		exe = spec_path_resolve(s->argv[0], getenv("PATH"), NULL, &st);
		if (!exe)
			why = xasprintf("cannot run %s: %s", s->argv[0],
					st == 126 ? "not executable" : "not found");
		src.exe = exe;
		if (exe) {
			c->ran = xrealloc(c->ran, (c->nran + 1) * sizeof *c->ran);
			c->ran[c->nran++] = xstrdup(p);
		}
	}
	/* a file may be a FIFO whose writer never comes (and a TAB of the
	 * completion would wait with it): signals_unblock_terminating */
	bool file = s->kind == FSRC_LINES || s->kind == FSRC_LINES0;
	sigset_t old;
	if (file)
		signals_unblock_terminating(&old);
	if (!why)
		*v = fsrc_values(&src, n, &why);
	if (file)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (why) {
		/* a command's error names it; a file's names the file */
		if (s->kind == FSRC_COMMAND && strncmp(why, "cannot run ", 11))
			spec_err(c, p, "%s: %s", s->argv[0], why);
		else
			spec_err(c, p, "%s", why);
	}
	free(why);
	free(exe);
	free(p);
	return *v != NULL;
}

/* One "defaults.foreach" source serves every job that takes it: read
 * once, so that they all have the same values (a command runs once). */
struct shared {
	int state;   /* 0 not read, 1 read, -1 failed */
	char **v;
	size_t n;
};

void spec_foreach_fill(struct ctx *c, struct tmpl *t, size_t nt)
{
	struct shared d = { 0 };
	for (size_t i = 0; i < nt; i++) {
		struct tmpl *tp = &t[i];
		if (!tp->src)
			continue;
		bool unrun = c->sources && !c->commands && tp->src->kind == FSRC_COMMAND;
		if ((!c->sources && fsrc_reads(tp->src)) || unrun) {
			c->deferred = xrealloc(c->deferred, (c->ndeferred + 1) * sizeof *c->deferred);
			c->deferred[c->ndeferred++] = xstrdup(tp->j.name);
			char *p = unrun ? spec_path_key(tp->foreach_path, fsrc_key(FSRC_COMMAND))
					: NULL;
			/* (defaults.foreach once, for all the jobs it serves) */
			if (p && c->nunrun && !strcmp(c->unrun[c->nunrun - 1], p))
				free(p);
			else if (p) {
				c->unrun = xrealloc(c->unrun, (c->nunrun + 1) * sizeof *c->unrun);
				c->unrun[c->nunrun++] = p;
			}
			continue;
		}
		bool shared = !strcmp(tp->foreach_path, "defaults.foreach");
		if (shared && d.state) {
			if (d.state > 0) {
				tp->foreach = spec_strv_dup(d.v, d.n);
				tp->nforeach = d.n;
			}
			continue;
		}
		tp->foreach = NULL;
		if (read_values(c, tp->src, tp->foreach_path, &tp->foreach, &tp->nforeach)) {
			if (shared) {
				d.v = tp->foreach;
				d.n = tp->nforeach;
			}
		}
		if (shared)
			d.state = tp->foreach ? 1 : -1;
	}
}

bool spec_foreach_deferred(const struct ctx *c, const char *name)
{
	for (size_t i = 0; i < c->ndeferred; i++) {
		size_t n = strlen(c->deferred[i]);
		if (!strncmp(name, c->deferred[i], n) && (!name[n] || name[n] == '['))
			return true;
	}
	return false;
}
