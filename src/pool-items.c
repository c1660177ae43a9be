/* SPDX-License-Identifier: GPL-3.0-or-later */
/* pool-items.c - a pool's items: parsed compactly from lines, one
 * item's arguments as the task ABI has them, a result as an item's text. */
#include "config.h"
#include "json-strict.h"
#include "pool-int.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void grow_args(struct pool_items *it, size_t need)
{
	if (need <= it->args_cap)
		return;
	size_t cap = it->args_cap ? it->args_cap : 64;
	while (cap < need)
		cap *= 2;
	it->vals = xrealloc(it->vals, cap * sizeof *it->vals);
	it->types = xrealloc(it->types, cap);
	it->args_cap = cap;
}

static void put_arg(struct pool_items *it, const struct piperun_arg *a)
{
	grow_args(it, it->nargs + 1);
	size_t k = it->nargs++;
	it->types[k] = (uint8_t)a->type;
	switch (a->type) {
	case PIPERUN_ARG_INT:
		it->vals[k] = a->i;
		break;
	case PIPERUN_ARG_NUMBER:
		memcpy(&it->vals[k], &a->d, sizeof a->d);
		break;
	default:
		xgrow(&it->strings, &it->strings_cap, it->nstrings + 1, sizeof *it->strings);
		it->strings[it->nstrings] = (char *)a->s; /* ownership passes */
		it->vals[k] = (int64_t)it->nstrings++;
	}
}

/* One number token: an int64 when it is one, else a double (an integer
 * too big for int64 stays a NUMBER: tasks say "overflow"). */
static int parse_number(const char *p, size_t len, struct piperun_arg *a)
{
	/* the common case, plain decimal integers, without strtoll */
	{
		size_t k = 0;
		bool neg = false;
		if (k < len && (p[k] == '-' || p[k] == '+'))
			neg = p[k++] == '-';
		if (k < len && len - k <= 18) {
			uint64_t v = 0;
			size_t d = k;
			while (k < len && p[k] >= '0' && p[k] <= '9')
				v = v * 10 + (uint64_t)(p[k++] - '0');
			if (k == len && k > d) {
				a->type = PIPERUN_ARG_INT;
				a->i = neg ? -(int64_t)v : (int64_t)v;
				a->d = (double)a->i;
				return 0;
			}
		}
	}
	char tok[64];
	if (!len || len >= sizeof tok)
		return -1;
	memcpy(tok, p, len);
	tok[len] = 0;
	const char *q = tok;
	if (*q == '-' || *q == '+')
		q++;
	if (!*q)
		return -1;
	bool integral = strspn(q, "0123456789") == strlen(q);
	char *end;
	if (integral) {
		errno = 0;
		long long v = strtoll(tok, &end, 10);
		if (!errno && !*end) {
			a->type = PIPERUN_ARG_INT;
			a->i = v;
			a->d = (double)v;
			return 0;
		}
	}
	/* decimal only: strtod would also take hex, inf and nan */
	if (strspn(q, "0123456789.eE+-") != strlen(q))
		return -1;
	errno = 0;
	double d = strtod(tok, &end);
	if (*end || !isfinite(d))
		return -1;
	a->type = PIPERUN_ARG_NUMBER;
	a->d = d;
	return 0;
}

static int add_line(struct pool_items *it, const char *p, size_t len, size_t lineno, char **err)
{
	while (len && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++, len--;
	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
		len--;
	if (!len)
		return 0;
	size_t arg0 = it->nargs;
	if (*p == '[') {
		/* strict JSON (json-strict.c): the one reader of item arrays */
		char *why = NULL;
		struct piperun_arg *args = NULL;
		size_t nargs = 0;
		if (jstrict_item_array(p, len, &args, &nargs, &why) < 0) {
			*err = xasprintf("line %zu: %s", lineno, why);
			free(why);
			return -1;
		}
		for (size_t k = 0; k < nargs; k++)
			put_arg(it, &args[k]);
		free(args);
	} else {
		const char *e = p + len;
		while (p < e) {
			const char *t = p;
			while (p < e && *p != ' ' && *p != '\t')
				p++;
			struct piperun_arg a;
			if (parse_number(t, (size_t)(p - t), &a) == 0) {
				put_arg(it, &a);
			} else {
				it->nargs = arg0;
				*err = xasprintf("line %zu: expected numbers or a JSON array, got \"%.*s\"",
						 lineno, (int)((p - t) > 40 ? 40 : (p - t)), t);
				return -1;
			}
			while (p < e && (*p == ' ' || *p == '\t'))
				p++;
		}
	}
	if (it->nargs > UINT32_MAX) {
		*err = xasprintf("line %zu: too many arguments in all", lineno);
		return -1;
	}
	xgrow(&it->arg0, &it->cap, it->n + 2, sizeof *it->arg0);
	it->arg0[it->n++] = (uint32_t)arg0;
	it->arg0[it->n] = (uint32_t)it->nargs;
	return 0;
}

void pool_items_clear(struct pool_items *it)
{
	for (size_t i = 0; i < it->nstrings; i++)
		free(it->strings[i]);
	it->nstrings = 0;
	it->nargs = 0;
	it->n = 0;
	it->base = 0;
}

void pool_reader_init(struct pool_reader *r, int fd)
{
	memset(r, 0, sizeof *r);
	r->fd = fd;
}

void pool_reader_free(struct pool_reader *r)
{
	free(r->failed);
	buf_free(&r->b);
}

/* More bytes after the unparsed rest (a line without its newline yet).
 * A NUL byte is an error as soon as it is read, and so is a line that
 * grows past POOL_LINE_MAX (/dev/zero ends at once). */
static int read_more(struct pool_reader *r, char **err)
{
	if (r->pos) {
		memmove(r->b.p, r->b.p + r->pos, r->b.len - r->pos);
		r->b.len -= r->pos;
		r->pos = 0;
	}
	if (r->b.len > POOL_LINE_MAX) {
		*err = xasprintf("line %zu: a line of more than %u bytes", r->lineno + 1,
				 POOL_LINE_MAX);
		return -1;
	}
	buf_reserve(&r->b, 1 << 18);
	ssize_t n;
	do
		n = read(r->fd, r->b.p + r->b.len, r->b.cap - r->b.len - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		*err = xasprintf("cannot read items: %s", strerror(errno));
		return -1;
	}
	if (!n) {
		r->eof = true;
		return 0;
	}
	const char *z = memchr(r->b.p + r->b.len, 0, (size_t)n);
	r->b.len += (size_t)n;
	if (z) {
		/* the lines before it are items: only its own is dropped */
		size_t line = r->lineno + 1, keep = 0;
		for (const char *q = r->b.p; (q = memchr(q, '\n', (size_t)(z - q))); q++) {
			line++;
			keep = (size_t)(q - r->b.p) + 1;
		}
		r->b.len = keep;
		r->failed = xasprintf("line %zu: a NUL byte", line);
		r->eof = true;
	}
	return 0;
}

/* Has fd something to read (or its end) within ms?  A regular file
 * always has; an error says yes too (the read will tell). */
static bool input_ready(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, ms) != 0;
}

int pool_read_chunk(struct pool_reader *r, struct pool_items *it, size_t max, char **err)
{
	pool_items_clear(it);
	it->base = r->nitems;
	for (;;) {
		while (it->n < max) {
			size_t avail = r->b.len - r->pos;
			/* (nothing read yet: b.p is NULL, and NULL + 0 is UB) */
			const char *p = avail ? r->b.p + r->pos : "";
			const char *nl = avail ? memchr(p, '\n', avail) : NULL;
			if (!nl && (!r->eof || !avail))
				break;
			size_t l = nl ? (size_t)(nl - p) : avail;
			if (l > POOL_LINE_MAX) {
				*err = xasprintf("line %zu: a line of more than %u bytes",
						 r->lineno + 1, POOL_LINE_MAX);
				return -1;
			}
			r->lineno++;
			if (add_line(it, p, l, r->lineno, err) < 0)
				return -1;
			r->pos += l + (nl != NULL);
		}
		if (it->n >= max || r->eof)
			break;
		if (it->n && r->idle_ms > 0 && !input_ready(r->fd, r->idle_ms))
			break;
		if (read_more(r, err) < 0)
			return -1;
	}
	r->nitems += it->n;
	if (r->failed && it->n < max) {
		*err = r->failed;
		r->failed = NULL;
		return -1;
	}
	return it->n > 0;
}

int pool_parse_one(struct pool_items *it, const char *p, size_t len,
		   struct piperun_arg **args, size_t *nargs, char **err)
{
	pool_items_clear(it);
	if (memchr(p, 0, len)) {
		*err = xstrdup("a NUL byte");
		return -1;
	}
	if (add_line(it, p, len, 1, err) < 0) {
		/* "line 1: " says nothing here */
		if (!strncmp(*err, "line 1: ", 8))
			memmove(*err, *err + 8, strlen(*err + 8) + 1);
		return -1;
	}
	*nargs = it->n ? it->arg0[1] - it->arg0[0] : 0;
	xgrow(args, &it->scratch_cap, *nargs ? *nargs : 1, sizeof **args);
	for (size_t k = 0; k < *nargs; k++)
		pool_get_arg(it, k, &(*args)[k]);
	return 0;
}

char *pool_json_result(const char *text, size_t *len)
{
	char *why = NULL;
	char *c = text ? jstrict_compact(text, strlen(text), len, &why) : NULL;
	if (c)
		return c;
	*len = 0;
	c = why ? xasprintf("the task returned a result that is not JSON: %s", why)
		: xstrdup("the task returned a JSON result without its text");
	free(why);
	return c;
}

int pool_result_text(const struct piperun_task *t, struct piperun_result *res,
		     char **text, size_t *len)
{
	int rc = 0;
	char b[40];
	switch (res->kind) {
	case PIPERUN_RESULT_INT:
		*len = (size_t)snprintf(b, sizeof b, "%" PRId64, res->i);
		*text = xstrndup(b, *len);
		break;
	case PIPERUN_RESULT_NUMBER:
		if (!isfinite(res->d)) {
			*text = xstrdup("the task returned a number that is not finite");
			rc = -1;
			break;
		}
		*len = jw_double_text(b, res->d);
		*text = xstrndup(b, *len);
		break;
	case PIPERUN_RESULT_JSON:
		*text = pool_json_result(res->text, len);
		rc = *len ? 0 : -1;
		break;
	default:
		*text = xstrdup(res->text ? res->text : "failed");
		rc = -1;
	}
	if (res->text && t->free_result)
		t->free_result(res);
	return rc;
}

void pool_items_free(struct pool_items *it)
{
	for (size_t i = 0; i < it->nstrings; i++)
		free(it->strings[i]);
	free(it->strings);
	free(it->vals);
	free(it->types);
	free(it->arg0);
	memset(it, 0, sizeof *it);
}
