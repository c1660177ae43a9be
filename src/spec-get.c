/* SPDX-License-Identifier: GPL-3.0-or-later */
/* spec-get.c - messages about a spec and the typed getters of its
 * values: each error names the JSON path it is about ("jobs[0].timeout")
 * and what was expected beside what was found.  Values are read through
 * spec-json.h. */
#include "config.h"
#include "spec-int.h"
#include "spec-json.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void spec_err(struct ctx *c, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	if (path && *path)
		errlist_add(c->errs, "piperun: %s: %s: %s", c->file, path, m);
	else
		errlist_add(c->errs, "piperun: %s: %s", c->file, m);
	free(m);
}

/* ----------------------------------------------------------- messages */

char *spec_describe_str(const char *s)
{
	size_t n = strlen(s);
	struct buf b = { 0 };
	buf_addch(&b, '"');
	for (size_t i = 0; i < n && i < 40; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\')
			buf_printf(&b, "\\%c", ch);
		else if (ch < 0x20)
			buf_printf(&b, "\\x%02x", ch);
		else
			buf_addch(&b, (char)ch);
	}
	if (n > 40)
		buf_addstr(&b, "...");
	buf_addch(&b, '"');
	return buf_detach(&b);
}

/* What a value is, for "expected X, got Y". */
char *spec_describe(const struct cJSON *v)
{
	if (!v)
		return xstrdup("nothing");
	if (jv_is_string(v))
		return spec_describe_str(jv_str(v));
	if (jv_is_number(v))
		return spec_num_text(jv_num(v));
	if (jv_is_bool(v))
		return xstrdup(jv_is_true(v) ? "true" : "false");
	if (jv_is_null(v))
		return xstrdup("null");
	if (jv_is_array(v))
		return xstrdup("an array");
	if (jv_is_object(v))
		return xstrdup("an object");
	return xstrdup("an invalid value");
}

void spec_expected(struct ctx *c, const char *path, const char *what,
		     const struct cJSON *v)
{
	char *d = spec_describe(v);
	spec_err(c, path, "expected %s, got %s", what, d);
	free(d);
}

char *spec_path_key(const char *path, const char *key)
{
	bool ident = *key && !isdigit((unsigned char)*key);
	for (const char *p = key; *p && ident; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			ident = false;
	if (ident)
		return *path ? xasprintf("%s.%s", path, key) : xstrdup(key);
	/* quote keys that are not identifiers: env["A B"] */
	struct buf b = { 0 };
	buf_printf(&b, "%s[\"", path);
	for (const char *p = key; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_addch(&b, '\\');
		buf_addch(&b, *p);
	}
	buf_addstr(&b, "\"]");
	return buf_detach(&b);
}

char *spec_path_idx(const char *path, size_t i)
{
	return xasprintf("%s[%zu]", path, i);
}

void spec_check_keys(struct ctx *c, const struct cJSON *obj, const char *path,
		       const char *const *allowed, const char *what)
{
	for (const struct cJSON *a = jv_child(obj); a; a = jv_next(a)) {
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			if (!strcmp(jv_key(a), allowed[i])) {
				ok = true;
				break;
			}
		if (!ok) {
			char *p = spec_path_key(path, jv_key(a));
			spec_err(c, p, "unknown key (%s)", what);
			free(p);
		}
	}
}

/* ------------------------------------------------------- typed getters */

bool spec_get_bool(struct ctx *c, const struct cJSON *v, const char *path, bool *out)
{
	if (!jv_is_bool(v)) {
		spec_expected(c, path, "true or false", v);
		return false;
	}
	*out = jv_is_true(v);
	return true;
}

bool spec_get_long(struct ctx *c, const struct cJSON *v, const char *path,
		     long min, long max, long *out)
{
	if (!jv_is_number(v) || jv_num(v) != u_floor(jv_num(v)) ||
	    jv_num(v) < (double)min || jv_num(v) > (double)max) {
		char *what;
		if (max == LONG_MAX)
			what = xasprintf("an integer >= %ld", min);
		else
			what = xasprintf("an integer from %ld to %ld", min, max);
		spec_expected(c, path, what, v);
		free(what);
		return false;
	}
	*out = (long)jv_num(v);
	return true;
}

const char *spec_get_str(struct ctx *c, const struct cJSON *v, const char *path)
{
	if (!jv_is_string(v)) {
		spec_expected(c, path, "a string", v);
		return NULL;
	}
	return jv_str(v);
}

bool spec_get_duration(struct ctx *c, const struct cJSON *v, const char *path, double *out)
{
	if (jv_is_null(v)) {
		*out = 0;
		return true;
	}
	if (jv_is_number(v) && isfinite(jv_num(v)) && jv_num(v) >= 0 &&
	    jv_num(v) <= DUR_MAX) {
		*out = jv_num(v);
		return true;
	}
	int r = jv_is_string(v) ? dur_parse(jv_str(v), out) : -1;
	if (r == 0)
		return true;
	if (r == -2 || (jv_is_number(v) && jv_num(v) > DUR_MAX))
		spec_expected(c, path, "a duration of at most " DUR_MAX_TEXT, v);
	else
		spec_expected(c, path, "a duration like \"1.5s\"", v);
	return false;
}

bool spec_get_signal(struct ctx *c, const struct cJSON *v, const char *path, int *out)
{
	int s = -1;
	if (jv_is_string(v))
		s = sig_parse(jv_str(v));
	else if (jv_is_number(v) && jv_num(v) == u_floor(jv_num(v)) &&
		 jv_num(v) >= 1 && jv_num(v) < NSIG)
		s = (int)jv_num(v);
	if (s <= 0) {
		char *what = xasprintf("a signal like \"TERM\" or a number from 1 to %d", NSIG - 1);
		spec_expected(c, path, what, v);
		free(what);
		return false;
	}
	*out = s;
	return true;
}

/* Sizes: a number of bytes, or "512K", "16M", "1G", "2T" (binary). */
static bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)*s))
		return false;
	double v = strtod(s, &end);
	if (errno || end == s || !isfinite(v))
		return false;
	double mult = 1;
	switch (toupper((unsigned char)*end)) {
	case 0: break;
	case 'B': mult = 1; end++; break;
	case 'K': mult = 1024.0; end++; break;
	case 'M': mult = 1024.0 * 1024; end++; break;
	case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
	case 'T': mult = 1024.0 * 1024 * 1024 * 1024; end++; break;
	default: return false;
	}
	if (mult > 1) {
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'B' || *end == 'b')
			end++;
	}
	if (*end)
		return false;
	v *= mult;
	if (v > 1.8e19)
		return false;
	*out = (uint64_t)v;
	return true;
}

bool spec_get_size(struct ctx *c, const struct cJSON *v, const char *path, uint64_t *out)
{
	if (jv_is_number(v) && jv_num(v) >= 0 && jv_num(v) <= 9e18 &&
	    jv_num(v) == u_floor(jv_num(v))) {
		*out = (uint64_t)jv_num(v);
		return true;
	}
	if (jv_is_string(v) && parse_size(jv_str(v), out))
		return true;
	spec_expected(c, path, "a size like 1048576 or \"16M\"", v);
	return false;
}

/* An array of strings (a single string is accepted where noted). */
char **spec_get_str_array(struct ctx *c, const struct cJSON *v, const char *path,
			    bool allow_single, bool allow_numbers, size_t *n)
{
	*n = 0;
	if (allow_single && jv_is_string(v)) {
		char **r = xmalloc(2 * sizeof *r);
		r[0] = xstrdup(jv_str(v));
		r[1] = NULL;
		*n = 1;
		return r;
	}
	if (!jv_is_array(v)) {
		spec_expected(c, path, allow_numbers ? "an array of strings or numbers" :
			 "an array of strings", v);
		return NULL;
	}
	size_t cnt = (size_t)jv_size(v), i = 0;
	char **r = xcalloc(cnt + 1, sizeof *r);
	bool ok = true;
	for (const struct cJSON *a = jv_child(v); a; a = jv_next(a), i++) {
		if (jv_is_string(a)) {
			r[i] = xstrdup(jv_str(a));
		} else if (allow_numbers && jv_is_number(a)) {
			r[i] = spec_num_text(jv_num(a));
		} else {
			char *p = spec_path_idx(path, i);
			spec_expected(c, p, "a string", a);
			free(p);
			r[i] = xstrdup("");
			ok = false;
		}
	}
	*n = cnt;
	if (!ok) {
		for (i = 0; i < cnt; i++)
			free(r[i]);
		free(r);
		*n = 0;
		return NULL;
	}
	return r;
}

