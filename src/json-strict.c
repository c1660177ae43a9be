/* SPDX-License-Identifier: GPL-3.0-or-later */
/* json-strict.c - strict JSON (RFC 8259) for values from outside a spec:
 * pool items' argument arrays and tasks' JSON results.  One small
 * recursive-descent reader over the RFC's grammar (§2-§8, UTF-8 as RFC
 * 3629 §4 has it) that writes the value back compactly as it goes; cJSON
 * is lenient (01, 1., .5, raw tabs in strings, invalid UTF-8), so it is
 * not used for these.  Errors are static texts plus the column. */
#include "config.h"
#include "json-strict.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct rd {
	const char *s, *p, *e;       /* start, cursor, end */
	struct buf *out;             /* the compact form, or NULL */
	const char *err;             /* the first fault, static */
	const char *at;              /* where it is */
	int depth;
};

static int fail(struct rd *r, const char *at, const char *msg)
{
	if (!r->err) {
		r->err = msg;
		r->at = at;
	}
	return -1;
}

static void skip_ws(struct rd *r)
{
	while (r->p < r->e && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static void emit(struct rd *r, const char *p, size_t n)
{
	if (r->out)
		buf_add(r->out, p, n);
}

static bool digit(const struct rd *r, const char *p)
{
	return p < r->e && *p >= '0' && *p <= '9';
}

/* A number (RFC 8259 §6); *integral: no fraction, no exponent. */
static int number(struct rd *r, bool *integral)
{
	const char *t = r->p, *p = r->p;
	if (p < r->e && *p == '-')
		p++;
	if (!digit(r, p))
		return fail(r, p, "a number without digits");
	if (*p == '0' && digit(r, p + 1))
		return fail(r, p, "a number with a leading zero");
	while (digit(r, p))
		p++;
	*integral = true;
	if (p < r->e && *p == '.') {
		*integral = false;
		if (!digit(r, ++p))
			return fail(r, p, "a number without digits after its '.'");
		while (digit(r, p))
			p++;
	}
	if (p < r->e && (*p == 'e' || *p == 'E')) {
		*integral = false;
		p++;
		if (p < r->e && (*p == '+' || *p == '-'))
			p++;
		if (!digit(r, p))
			return fail(r, p, "a number without digits in its exponent");
		while (digit(r, p))
			p++;
	}
	emit(r, t, (size_t)(p - t));
	r->p = p;
	return 0;
}

/* The length of the UTF-8 sequence at p (RFC 3629 §4: no overlong
 * forms, no surrogates, nothing past U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *e)
{
	unsigned char c = p[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xBF;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
	else
		return 0;
	if ((size_t)(e - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t k = 2; k < n; k++)
		if ((p[k] & 0xC0) != 0x80)
			return 0;
	return n;
}

static int hex4(struct rd *r, const char *p, unsigned *v)
{
	*v = 0;
	for (int k = 0; k < 4; k++, p++) {
		if (p >= r->e)
			return fail(r, p, "a \\u escape with fewer than 4 hex digits");
		char c = *p;
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
			: c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			: c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
		if (d == 16)
			return fail(r, p, "a \\u escape with fewer than 4 hex digits");
		*v = *v * 16 + d;
	}
	return 0;
}

static void put_utf8(struct buf *b, unsigned cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
	} else {
		u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
	}
	buf_add(b, u, n);
}

/* A \u escape at p (the backslash), a surrogate pair as one; its code
 * point in *cp and its length in *n. */
static int unicode_escape(struct rd *r, const char *p, unsigned *cp, size_t *n)
{
	unsigned hi, lo;
	if (hex4(r, p + 2, &hi) < 0)
		return -1;
	*n = 6;
	*cp = hi;
	if (hi >= 0xDC00 && hi <= 0xDFFF)
		return fail(r, p, "a lone surrogate (\\uDC00-\\uDFFF) in a string");
	if (hi < 0xD800 || hi > 0xDBFF)
		return 0;
	if (r->e - p < 12 || p[6] != '\\' || p[7] != 'u' || hex4(r, p + 8, &lo) < 0 ||
	    lo < 0xDC00 || lo > 0xDFFF)
		return fail(r, p, "a lone surrogate (\\uD800-\\uDBFF) in a string");
	*cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
	*n = 12;
	return 0;
}

/* A string (RFC 8259 §7), written as it is; its text, unescaped, added
 * to dec when dec is not NULL. */
static int string(struct rd *r, struct buf *dec)
{
	const char *t = r->p, *p = r->p + 1;
	static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
	for (;;) {
		if (p >= r->e)
			return fail(r, t, "a string without its closing quote");
		unsigned char c = (unsigned char)*p;
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(r, p, "a control character in a string (it must be escaped)");
		if (c == '\\') {
			const char *k = p + 1 < r->e && p[1] ? strchr(esc_in, p[1]) : NULL;
			if (k) {
				if (dec)
					buf_addch(dec, esc_out[k - esc_in]);
				p += 2;
				continue;
			}
			if (p + 1 >= r->e || p[1] != 'u')
				return fail(r, p, "an invalid escape in a string");
			unsigned cp;
			size_t n;
			if (unicode_escape(r, p, &cp, &n) < 0)
				return -1;
			if (dec && !cp)
				return fail(r, NULL, "a NUL byte (\\u0000) in a string");
			if (dec)
				put_utf8(dec, cp);
			p += n;
			continue;
		}
		size_t n = utf8_len((const unsigned char *)p, (const unsigned char *)r->e);
		if (!n)
			return fail(r, p, "invalid UTF-8 in a string");
		if (dec)
			buf_add(dec, p, n);
		p += n;
	}
	p++;
	emit(r, t, (size_t)(p - t));
	r->p = p;
	return 0;
}

static int value(struct rd *r);

/* The members of an object or the elements of an array, after its
 * opening bracket. */
static int container(struct rd *r, char close)
{
	if (++r->depth > JSTRICT_MAX_DEPTH)
		return fail(r, r->p, "JSON nested more than 1000 levels deep (the limit)");
	emit(r, r->p, 1);
	r->p++;
	skip_ws(r);
	if (r->p < r->e && *r->p == close) {
		emit(r, r->p++, 1);
		r->depth--;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			if (r->p >= r->e || *r->p != '"')
				return fail(r, r->p, "expected a member's name (a string)");
			if (string(r, NULL) < 0)
				return -1;
			skip_ws(r);
			if (r->p >= r->e || *r->p != ':')
				return fail(r, r->p, "expected ':' after a member's name");
			emit(r, r->p++, 1);
			skip_ws(r);
		}
		if (value(r) < 0)
			return -1;
		skip_ws(r);
		if (r->p < r->e && *r->p == ',') {
			emit(r, r->p++, 1);
			skip_ws(r);
			continue;
		}
		if (r->p < r->e && *r->p == close) {
			emit(r, r->p++, 1);
			r->depth--;
			return 0;
		}
		return fail(r, r->p, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int literal(struct rd *r)
{
	static const char *const words[] = { "true", "false", "null" };
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(words[i]);
		if ((size_t)(r->e - r->p) >= n && !memcmp(r->p, words[i], n)) {
			emit(r, r->p, n);
			r->p += n;
			return 0;
		}
	}
	return fail(r, r->p, "expected a JSON value");
}

static int value(struct rd *r)
{
	if (r->p >= r->e)
		return fail(r, r->p, "expected a JSON value, got the end");
	bool integral;
	switch (*r->p) {
	case '{':
		return container(r, '}');
	case '[':
		return container(r, ']');
	case '"':
		return string(r, NULL);
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return number(r, &integral);
	default:
		return literal(r);
	}
}

/* The fault and its column (none for a value that is well-formed but
 * not allowed, at == NULL); prefix for what was being read. */
static char *why_at(const struct rd *r, const char *prefix)
{
	if (!r->at)
		return xstrdup(r->err);
	return xasprintf("%s%s at column %zu", prefix, r->err, (size_t)(r->at - r->s) + 1);
}

char *jstrict_compact(const char *text, size_t len, size_t *outlen, char **why)
{
	struct buf out = { 0 };
	struct rd r = { .s = text, .p = text, .e = text + len, .out = &out };
	skip_ws(&r);
	if (value(&r) == 0) {
		skip_ws(&r);
		if (r.p != r.e)
			fail(&r, r.p, "text after the JSON value");
	}
	if (r.err) {
		*why = why_at(&r, "");
		buf_free(&out);
		return NULL;
	}
	buf_reserve(&out, 1); /* p set, NUL-terminated */
	if (outlen)
		*outlen = out.len;
	return buf_detach(&out);
}

/* An integer token as an int64, exactly, when it is one. */
static bool token_int64(const char *t, size_t n, int64_t *v)
{
	bool neg = *t == '-';
	uint64_t u = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (size_t k = neg; k < n; k++) {
		uint64_t d = (uint64_t)(t[k] - '0');
		if (u > (lim - d) / 10)
			return false;
		u = u * 10 + d;
	}
	*v = neg ? (int64_t)(0 - u) : (int64_t)u;
	return true;
}

/* One element of an item array into *a. */
static int item_arg(struct rd *r, struct piperun_arg *a, size_t k, char **why)
{
	struct buf b = { 0 };
	const char *t = r->p;
	memset(a, 0, sizeof *a);
	if (t < r->e && *t == '"') {
		if (string(r, &b) < 0)
			return buf_free(&b), -1;
		a->type = PIPERUN_ARG_STRING;
		buf_reserve(&b, 1);
		a->s = buf_detach(&b);
		return 0;
	}
	if (t < r->e && (*t == '-' || (*t >= '0' && *t <= '9'))) {
		bool integral;
		if (number(r, &integral) < 0)
			return -1;
		size_t n = (size_t)(r->p - t);
		if (integral && token_int64(t, n, &a->i)) {
			a->type = PIPERUN_ARG_INT;
			a->d = (double)a->i;
			return 0;
		}
		char *tok = xstrndup(t, n);
		a->type = PIPERUN_ARG_NUMBER;
		a->d = strtod(tok, NULL);
		if (!isfinite(a->d)) {
			*why = xasprintf("argument %zu: %s is out of range", k + 1, tok);
			free(tok);
			return -1;
		}
		free(tok);
		return 0;
	}
	r->out = &b;
	int rc = value(r);
	r->out = NULL;
	if (rc < 0)
		return buf_free(&b), -1;
	a->type = PIPERUN_ARG_OTHER;
	a->s = buf_detach(&b);
	return 0;
}

static void free_args(struct piperun_arg *args, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (args[k].type == PIPERUN_ARG_STRING || args[k].type == PIPERUN_ARG_OTHER)
			free((char *)args[k].s);
	free(args);
}

int jstrict_item_array(const char *text, size_t len, struct piperun_arg **args,
		       size_t *nargs, char **why)
{
	struct rd r = { .s = text, .p = text, .e = text + len };
	struct piperun_arg *v = NULL;
	size_t n = 0, cap = 0;
	*why = NULL;
	skip_ws(&r);
	if (r.p >= r.e || *r.p != '[') {
		fail(&r, r.p, "expected a JSON array");
		goto bad;
	}
	r.p++;
	skip_ws(&r);
	bool more = r.p >= r.e || *r.p != ']';
	if (!more)
		r.p++;
	while (more) {
		xgrow(&v, &cap, n + 1, sizeof *v);
		if (item_arg(&r, &v[n], n, why) < 0)
			goto bad;
		n++;
		skip_ws(&r);
		if (r.p < r.e && *r.p == ',') {
			r.p++;
			skip_ws(&r);
		} else if (r.p < r.e && *r.p == ']') {
			r.p++;
			more = false;
		} else {
			fail(&r, r.p, "expected ',' or ']'");
			goto bad;
		}
	}
	skip_ws(&r);
	if (r.p != r.e) {
		fail(&r, r.p, "text after the array");
		goto bad;
	}
	*args = v ? v : xcalloc(1, sizeof *v);
	*nargs = n;
	return 0;
bad:
	if (!*why)
		*why = why_at(&r, "malformed JSON array: ");
	free_args(v, n);
	return -1;
}
