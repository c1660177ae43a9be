/* SPDX-License-Identifier: GPL-3.0-or-later */
/* spec.c - JSON spec -> struct spec.  The only file that reads JSON input.
 *
 * Loading runs in passes, each collecting every error it finds so that
 * `piperun validate` can report them all at once:
 *   1. parse (cJSON), mapping a failure to line:column, then read the
 *      text again beside the tree for what cJSON loses (a \u0000 in a
 *      string, a number's digits beyond 2^53): errors that stop here;
 *   2. structure: duplicate keys anywhere, unknown keys, types and ranges,
 *      each error naming the JSON path it is about;
 *   3. expansion of repeat/foreach into named copies with placeholders
 *      substituted;
 *   4. names, dependencies (after, stdin.from) and cycles;
 *   5. resolution of programs on PATH and of each job's environment.
 * Nothing here starts a process. */
#include "config.h"
#include "spec.h"
#include "chain.h"
#include "codec.h"
#include "util.h"
#include "jsonw.h"
#include "shell.h"
#include "piperun-task.h"

#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

#define MAX_JOBS 1000000
#define MAX_ITEMS (1L << 53)
#define MAX_STEPS 64
#define DEFAULT_MAX_OUTPUT (16u << 20)
#define DEFAULT_PATH "/bin:/usr/bin"

/* ---------------------------------------------------------------- errors */

void errlist_add(struct errlist *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	/* A bad value in `defaults` is seen once per job: report it once. */
	for (size_t i = 0; i < e->n; i++)
		if (!strcmp(e->msg[i], m)) {
			free(m);
			return;
		}
	xgrow(&e->msg, &e->cap, e->n + 1, sizeof *e->msg);
	e->msg[e->n++] = m;
}

/* One line per error, whatever a name or value in it holds (a newline in
 * a job name must not start a line of its own). */
void errlist_print(const struct errlist *e)
{
	for (size_t i = 0; i < e->n; i++)
		err_line("%s", e->msg[i]);
}

void errlist_free(struct errlist *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->msg[i]);
	free(e->msg);
	memset(e, 0, sizeof *e);
}

/* A string value cJSON cut short at a \u0000 but whose bytes are data
 * (stdin.text): its token, for parse_stdin to decode whole. */
struct nul_text {
	const cJSON *v;
	const char *tok;
	size_t len;
};

struct ctx {
	const char *file;
	struct errlist *errs;
	struct nul_text *nul_texts;
	size_t nnul_texts, nul_texts_cap;
};

static void spec_err(struct ctx *c, const char *path, const char *fmt, ...)
	PRINTF(3, 4);
static void spec_err(struct ctx *c, const char *path, const char *fmt, ...)
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

static char *spec_num_text(double d);

/* What a value is, for "expected X, got Y". */
static char *spec_describe(const cJSON *v)
{
	if (!v)
		return xstrdup("nothing");
	if (cJSON_IsString(v)) {
		const char *s = v->valuestring;
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
	if (cJSON_IsNumber(v))
		return spec_num_text(v->valuedouble);
	if (cJSON_IsBool(v))
		return xstrdup(cJSON_IsTrue(v) ? "true" : "false");
	if (cJSON_IsNull(v))
		return xstrdup("null");
	if (cJSON_IsArray(v))
		return xstrdup("an array");
	if (cJSON_IsObject(v))
		return xstrdup("an object");
	return xstrdup("an invalid value");
}

static void spec_expected(struct ctx *c, const char *path, const char *what,
		     const cJSON *v)
{
	char *d = spec_describe(v);
	spec_err(c, path, "expected %s, got %s", what, d);
	free(d);
}

static char *spec_path_key(const char *path, const char *key)
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

static char *spec_path_idx(const char *path, size_t i)
{
	return xasprintf("%s[%zu]", path, i);
}

/* ---------------------------------------------------------------- parse */

static void line_col(const char *text, const char *at, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (const char *p = text; p < at; p++) {
		if (*p == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)*p & 0xC0) != 0x80) {
			(*col)++;
		}
	}
}

/* The first bracket nested deeper than cJSON goes (CJSON_NESTING_LIMIT
 * levels), or NULL. */
static const char *json_too_deep(const char *text, size_t len)
{
	size_t depth = 0;
	bool str = false;
	for (const char *p = text; p < text + len; p++) {
		if (str) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				str = false;
		} else if (*p == '"') {
			str = true;
		} else if (*p == '[' || *p == '{') {
			if (depth++ == CJSON_NESTING_LIMIT)
				return p;
		} else if ((*p == ']' || *p == '}') && depth) {
			depth--;
		}
	}
	return NULL;
}

static cJSON *spec_parse_json(struct ctx *c, const char *text, size_t len)
{
	if (memchr(text, 0, len)) {
		const char *z = memchr(text, 0, len);
		size_t line, col;
		line_col(text, z, &line, &col);
		spec_err(c, NULL, "line %zu, column %zu: malformed JSON: NUL byte", line, col);
		return NULL;
	}
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (root) {
		/* trailing content other than blanks is an error */
		const char *p = end;
		while (p < text + len && isspace((unsigned char)*p))
			p++;
		if (p < text + len) {
			size_t line, col;
			line_col(text, p, &line, &col);
			spec_err(c, NULL, "line %zu, column %zu: malformed JSON: unexpected content after the document", line, col);
			cJSON_Delete(root);
			return NULL;
		}
		return root;
	}
	/* cJSON stops at the first bracket nested deeper than it goes */
	const char *deep = json_too_deep(text, len);
	if (deep && deep == cJSON_GetErrorPtr()) {
		size_t line, col;
		line_col(text, deep, &line, &col);
		spec_err(c, NULL, "line %zu, column %zu: JSON nested more than %d levels deep (the limit)",
		    line, col, CJSON_NESTING_LIMIT);
		return NULL;
	}
	/* cJSON points at the value it could not parse, which for a
	 * truncated document is the opening bracket.  A bracket scan tells
	 * truncation and mismatches apart and finds the exact spot. */
	const char *open[64];
	size_t depth = 0, line, col, l2, c2;
	const char *str = NULL;
	for (const char *p = text; p < text + len; p++) {
		if (str) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				str = NULL;
			continue;
		}
		if (*p == '"') {
			str = p;
		} else if (*p == '[' || *p == '{') {
			if (depth < ARRAY_SIZE(open))
				open[depth] = p;
			depth++;
		} else if (*p == ']' || *p == '}') {
			char want = depth && depth <= ARRAY_SIZE(open) ? (*open[depth - 1] == '[' ? ']' : '}') : 0;
			if (!depth || (want && *p != want)) {
				line_col(text, p, &line, &col);
				spec_err(c, NULL, "line %zu, column %zu: malformed JSON: unexpected '%c'", line, col, *p);
				return NULL;
			}
			depth--;
		}
	}
	line_col(text, text + len, &line, &col);
	if (str) {
		line_col(text, str, &l2, &c2);
		spec_err(c, NULL, "line %zu, column %zu: malformed JSON: unexpected end of input in the string that starts at line %zu, column %zu",
		    line, col, l2, c2);
		return NULL;
	}
	if (depth && depth <= ARRAY_SIZE(open)) {
		const char *p = cJSON_GetErrorPtr();
		/* the document is cut short only if cJSON failed at (or
		 * before the end of) the last opened bracket's content */
		line_col(text, open[depth - 1], &l2, &c2);
		if (!p || p >= open[depth - 1]) {
			spec_err(c, NULL, "line %zu, column %zu: malformed JSON: unexpected end of input ('%c' at line %zu, column %zu is never closed)",
			    line, col, *open[depth - 1], l2, c2);
			return NULL;
		}
	}
	const char *at = cJSON_GetErrorPtr();
	if (!at || at < text || at > text + len)
		at = text + len;
	line_col(text, at, &line, &col);
	const char *p = at;
	while (p < text + len && isspace((unsigned char)*p))
		p++;
	size_t blank = 0;    /* text need not be NUL-terminated: no strspn */
	while (blank < len && strchr(" \t\r\n", text[blank]) && text[blank])
		blank++;
	if (p >= text + len && blank == len) {
		spec_err(c, NULL, "line %zu, column %zu: malformed JSON: empty document", line, col);
	} else {
		if (p >= text + len) {
			/* brackets balance, so the fault is the last token */
			p = at;
			while (p > text && (p >= text + len || isspace((unsigned char)*p)))
				p--;
			line_col(text, p, &line, &col);
		}
		char near[24];
		size_t k = 0;
		while (p + k < text + len && k < 16 && p[k] != '\n')
			k++;
		memcpy(near, p, k);
		near[k] = 0;
		for (size_t i = 0; i < k; i++)
			if ((unsigned char)near[i] < 0x20)
				near[i] = ' ';
		spec_err(c, NULL, "line %zu, column %zu: malformed JSON near \"%s\"", line, col, near);
	}
	return NULL;
}

/* ------------------------------------------------------------ raw text */

/* cJSON keeps a number only as a double and cuts a string at a \u0000.
 * So once it has accepted a document, the text is read again in step
 * with its tree (members and elements are in document order in both),
 * and each value's own bytes are seen beside its node: a number's digits,
 * a string's escapes.  The reader shares cJSON's leniencies (any byte
 * <= 32 is a blank, a UTF-8 BOM may lead, numbers as strtod takes them);
 * should text and tree ever disagree, it says so rather than guess. */

/* Where a value is: links up to the root, written out (raw_path) only
 * for a message. */
struct raw_at {
	const struct raw_at *up;    /* NULL: a member or element of the root
				     * (the root itself has no raw_at) */
	const cJSON *member;        /* an object member, else NULL */
	const char *key;            /* its key's token, quotes included */
	size_t keylen;
	size_t idx;                 /* an array element's index */
};

struct raw_walk {
	const char *p, *end;
	bool broken;
	/* called for each key (key: v is its member) and each value, a
	 * container after its contents, with the bytes it spans */
	void (*visit)(struct raw_walk *w, const cJSON *v, const struct raw_at *at,
		      const char *tok, size_t len, bool key);
	void *arg;
};

static void raw_blanks(struct raw_walk *w)
{
	while (w->p < w->end && (unsigned char)*w->p <= 32)
		w->p++;
}

/* The length of the string token at p (quotes included), 0 if none. */
static size_t raw_string_len(const char *p, const char *end)
{
	if (p >= end || *p != '"')
		return 0;
	const char *q = p + 1;
	while (q < end && *q != '"')
		q += *q == '\\' ? 2 : 1;
	return q < end ? (size_t)(q + 1 - p) : 0;
}

static bool raw_expect(struct raw_walk *w, char ch)
{
	raw_blanks(w);
	if (w->p >= w->end || *w->p != ch)
		return false;
	w->p++;
	return true;
}

static void raw_value(struct raw_walk *w, const cJSON *v, const struct raw_at *at)
{
	raw_blanks(w);
	const char *start = w->p;
	if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
		bool obj = cJSON_IsObject(v);
		if (!raw_expect(w, obj ? '{' : '['))
			goto broken;
		size_t i = 0;
		for (const cJSON *e = v->child; e; e = e->next, i++) {
			if (i && !raw_expect(w, ','))
				goto broken;
			struct raw_at sub = { .up = at, .idx = i };
			if (obj) {
				raw_blanks(w);
				size_t n = raw_string_len(w->p, w->end);
				if (!n)
					goto broken;
				sub.member = e;
				sub.key = w->p;
				sub.keylen = n;
				w->p += n;
				if (w->visit)
					w->visit(w, e, &sub, sub.key, n, true);
				if (!raw_expect(w, ':'))
					goto broken;
			}
			raw_value(w, e, &sub);
			if (w->broken)
				return;
		}
		if (!raw_expect(w, obj ? '}' : ']'))
			goto broken;
	} else if (cJSON_IsString(v)) {
		size_t n = raw_string_len(w->p, w->end);
		if (!n)
			goto broken;
		w->p += n;
	} else {
		/* a number, or true / false / null */
		const char *chars = cJSON_IsNumber(v) ? "0123456789+-.eE" : "abcdefghijklmnopqrstuvwxyz";
		while (w->p < w->end && *w->p && strchr(chars, *w->p))
			w->p++;
		if (w->p == start)
			goto broken;
	}
	if (w->visit)
		w->visit(w, v, at, start, (size_t)(w->p - start), false);
	return;
broken:
	w->broken = true;
}

/* Walk text (which cJSON parsed into root) calling w->visit; false if
 * the two disagree. */
static bool raw_walk(struct raw_walk *w, const cJSON *root, const char *text, size_t len)
{
	w->p = text;
	w->end = text + len;
	w->broken = false;
	if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
		w->p += 3;
	raw_value(w, root, NULL);
	return !w->broken;
}

/* Does a string token hold a \u0000? */
static bool raw_has_nul(const char *tok, size_t len)
{
	const char *p = tok, *end = tok + len;
	while (p < end && (p = memchr(p, '\\', (size_t)(end - p)))) {
		if (end - p >= 6 && !memcmp(p + 1, "u0000", 5))
			return true;
		p += 2;
	}
	return false;
}

static unsigned raw_hex4(const char *p)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		int ch = tolower((unsigned char)p[i]);
		v = v * 16 + (unsigned)(isdigit(ch) ? ch - '0' : ch - 'a' + 10);
	}
	return v;
}

/* A string token's bytes, quotes off and escapes decoded, NUL bytes
 * kept: malloc'd, *n of them and a terminating NUL. */
static char *spec_raw_string(const char *tok, size_t len, size_t *n)
{
	struct buf b = { 0 };
	buf_reserve(&b, len);
	const char *p = tok + 1, *end = tok + len - 1;
	while (p < end) {
		const char *bs = memchr(p, '\\', (size_t)(end - p));
		if (!bs) {
			buf_add(&b, p, (size_t)(end - p));
			break;
		}
		buf_add(&b, p, (size_t)(bs - p));
		p = bs + 1;
		if (p >= end)
			break;
		char e = *p++;
		unsigned cp;
		switch (e) {
		case 'b': buf_addch(&b, '\b'); break;
		case 'f': buf_addch(&b, '\f'); break;
		case 'n': buf_addch(&b, '\n'); break;
		case 'r': buf_addch(&b, '\r'); break;
		case 't': buf_addch(&b, '\t'); break;
		case 'u':
			if (end - p < 4)
				goto done;
			cp = raw_hex4(p);
			p += 4;
			if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
				unsigned lo = raw_hex4(p + 2);
				if (lo >= 0xDC00 && lo < 0xE000) {
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					p += 6;
				}
			}
			if (cp < 0x80) {
				buf_addch(&b, (char)cp);
			} else if (cp < 0x800) {
				buf_addch(&b, (char)(0xC0 | cp >> 6));
				buf_addch(&b, (char)(0x80 | (cp & 0x3F)));
			} else if (cp < 0x10000) {
				buf_addch(&b, (char)(0xE0 | cp >> 12));
				buf_addch(&b, (char)(0x80 | (cp >> 6 & 0x3F)));
				buf_addch(&b, (char)(0x80 | (cp & 0x3F)));
			} else {
				buf_addch(&b, (char)(0xF0 | cp >> 18));
				buf_addch(&b, (char)(0x80 | (cp >> 12 & 0x3F)));
				buf_addch(&b, (char)(0x80 | (cp >> 6 & 0x3F)));
				buf_addch(&b, (char)(0x80 | (cp & 0x3F)));
			}
			break;
		default: /* " \ / */
			buf_addch(&b, e);
		}
	}
done:
	*n = b.len;
	return buf_detach(&b);
}

/* Is the magnitude of the number a token writes beyond 2^53?  Decided
 * from its digits: the double cJSON made of 9007199254740993 is 2^53. */
static bool raw_num_beyond_2p53(const char *tok, size_t len)
{
	static const char two53[] = "9007199254740992"; /* 0.9007199254740992e16 */
	const char *p = tok, *end = tok + len;
	char dig[17];
	size_t nd = 0;
	long point = 0;      /* the value is 0.DIG x 10^point */
	bool seen = false, frac = false, more = false;
	if (p < end && (*p == '-' || *p == '+'))
		p++;
	for (; p < end && (isdigit((unsigned char)*p) || *p == '.'); p++) {
		if (*p == '.') {
			frac = true;
		} else if (!seen && *p == '0') {
			point -= frac;
		} else {
			seen = true;
			point += !frac;
			if (nd < sizeof dig)
				dig[nd++] = *p;
			else if (*p != '0')
				more = true;
		}
	}
	if (!seen)
		return false;
	if (p < end && (*p == 'e' || *p == 'E')) {
		long e = 0;
		bool neg = ++p < end && *p == '-';
		if (p < end && (*p == '-' || *p == '+'))
			p++;
		for (; p < end && isdigit((unsigned char)*p); p++)
			if (e < 100000)
				e = e * 10 + (*p - '0');
		point += neg ? -e : e;
	}
	if (point != 16)
		return point > 16;
	while (nd && dig[nd - 1] == '0')
		nd--;
	for (size_t i = 0; i < nd && i < 16; i++)
		if (dig[i] != two53[i])
			return dig[i] > two53[i];
	return nd > 16 || more;
}

/* Does a number token write something other than 0? */
static bool raw_num_nonzero(const char *tok, size_t len)
{
	for (size_t i = 0; i < len && tok[i] != 'e' && tok[i] != 'E'; i++)
		if (tok[i] >= '1' && tok[i] <= '9')
			return true;
	return false;
}

/* Why a number cannot be kept (NULL if it can): beyond 2^53, where
 * doubles skip integers, or so small that it reads as 0. */
static const char *raw_num_problem(const cJSON *v, const char *tok, size_t len)
{
	if (!isfinite(v->valuedouble) || raw_num_beyond_2p53(tok, len))
		return "is out of range: a spec keeps numbers exactly up to 2^53 (9007199254740992) in magnitude (a string keeps any digits)";
	if (v->valuedouble == 0 && raw_num_nonzero(tok, len))
		return "is out of range: it is too close to 0 to be kept (it would read as 0)";
	return NULL;
}

/* The path of at, as path_key/path_idx write it; a key holding a NUL
 * is shown as written, ["a\u0000b"]. */
static char *raw_path(const struct raw_at *at)
{
	if (!at)
		return xstrdup("");
	char *up = raw_path(at->up), *r;
	if (!at->member)
		r = spec_path_idx(up, at->idx);
	else if (raw_has_nul(at->key, at->keylen))
		r = xasprintf("%s[%.*s]", up, (int)at->keylen, at->key);
	else
		r = spec_path_key(up, at->member->string);
	free(up);
	return r;
}

static bool raw_is_key(const struct raw_at *at, const char *key)
{
	return at && at->member && !strcmp(at->member->string, key);
}

/* jobs[N].stdin.text or defaults.stdin.text: bytes that are data. */
static bool raw_is_stdin_text(const struct raw_at *at)
{
	if (!raw_is_key(at, "text") || !raw_is_key(at->up, "stdin"))
		return false;
	const struct raw_at *j = at->up->up;
	if (raw_is_key(j, "defaults"))
		return !j->up;
	return j && !j->member && raw_is_key(j->up, "jobs") && !j->up->up;
}

static void raw_check_visit(struct raw_walk *w, const cJSON *v, const struct raw_at *at,
			    const char *tok, size_t len, bool key)
{
	struct ctx *c = w->arg;
	const char *why = NULL;
	if (key || cJSON_IsString(v)) {
		if (!raw_has_nul(tok, len))
			return;
		if (!key && raw_is_stdin_text(at)) {
			xgrow(&c->nul_texts, &c->nul_texts_cap, c->nnul_texts + 1,
			      sizeof *c->nul_texts);
			c->nul_texts[c->nnul_texts++] = (struct nul_text){ v, tok, len };
			return;
		}
		why = key ? "a key cannot hold a NUL character (\\u0000)"
			  : "a NUL character (\\u0000) cannot be used here (only stdin.text can hold one)";
	} else if (cJSON_IsNumber(v) && (why = raw_num_problem(v, tok, len))) {
		char *p = raw_path(at);
		spec_err(c, p, "%.*s %s", (int)len, tok, why);
		free(p);
		return;
	}
	if (why) {
		char *p = raw_path(at);
		spec_err(c, p, "%s", why);
		free(p);
	}
}

/* What cJSON would lose: a \u0000 in a string (an error but where the
 * bytes are data, stdin.text, noted in c->nul_texts) and numbers it
 * cannot keep exactly.  Returns false after adding errors. */
static bool spec_check_raw(struct ctx *c, const cJSON *root, const char *text, size_t len)
{
	size_t before = c->errs->n;
	struct raw_walk w = { .visit = raw_check_visit, .arg = c };
	if (!raw_walk(&w, root, text, len))
		spec_err(c, NULL, "internal error: the document reads differently the second time");
	return c->errs->n == before;
}

/* A spec number as text: an integer (within 2^53: the double holds it
 * exactly) as its digits, anything else the shortest text that reads
 * back as the same double. */
static char *spec_num_text(double d)
{
	if (d == floor(d) && fabs(d) <= 9007199254740992.0)
		return xasprintf("%lld", (long long)d);
	char b[40];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(b, sizeof b, "%.*g", prec, d);
		if (strtod(b, NULL) == d)
			break;
	}
	return xstrdup(b);
}

/* A string as JSON, its bytes as they came (jsonw.c, which writes for
 * people, would make invalid UTF-8 U+FFFD: these values go back to a
 * parser, a steps host's or a pool's, and must arrive unchanged). */
static void json_print_str(struct buf *b, const char *s)
{
	buf_addch(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			buf_addch(b, '\\');
			buf_addch(b, (char)*p);
		} else if (*p < 0x20) {
			buf_printf(b, "\\u%04x", *p);
		} else {
			buf_addch(b, (char)*p);
		}
	}
	buf_addch(b, '"');
}

/* JSON text of a value, compact, its numbers as num_text writes them
 * (cJSON_Print would write 1733460000000000 as 1.73346e+15). */
static void spec_json_print(struct buf *b, const cJSON *v)
{
	if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
		bool obj = cJSON_IsObject(v);
		buf_addch(b, obj ? '{' : '[');
		for (const cJSON *e = v->child; e; e = e->next) {
			if (e != v->child)
				buf_addch(b, ',');
			if (obj) {
				json_print_str(b, e->string);
				buf_addch(b, ':');
			}
			spec_json_print(b, e);
		}
		buf_addch(b, obj ? '}' : ']');
	} else if (cJSON_IsNumber(v)) {
		char *t = spec_num_text(v->valuedouble);
		buf_addstr(b, t);
		free(t);
	} else if (cJSON_IsString(v)) {
		json_print_str(b, v->valuestring);
	} else {
		buf_addstr(b, cJSON_IsTrue(v) ? "true" : cJSON_IsFalse(v) ? "false" : "null");
	}
}

/* Values' tokens in document order: the root's elements (top), or every
 * number. */
struct raw_tok {
	const cJSON *v;
	const char *tok;
	size_t len;
};

struct raw_toks {
	bool top;
	struct raw_tok *t;
	size_t n, cap;
};

static void raw_toks_visit(struct raw_walk *w, const cJSON *v, const struct raw_at *at,
			   const char *tok, size_t len, bool key)
{
	struct raw_toks *r = w->arg;
	if (key || !(r->top ? at && !at->up && !at->member : cJSON_IsNumber(v)))
		return;
	xgrow(&r->t, &r->cap, r->n + 1, sizeof *r->t);
	r->t[r->n++] = (struct raw_tok){ v, tok, len };
}

static bool raw_tokens(struct raw_toks *r, const cJSON *root, const char *text, size_t len)
{
	struct raw_walk w = { .visit = raw_toks_visit, .arg = r };
	return raw_walk(&w, root, text, len);
}

/* Duplicate keys anywhere in the document are errors: cJSON keeps both,
 * and a later lookup would silently pick one. */
static void spec_check_dups(struct ctx *c, const cJSON *v, const char *path)
{
	if (cJSON_IsObject(v)) {
		for (const cJSON *a = v->child; a; a = a->next) {
			char *p = spec_path_key(path, a->string);
			for (const cJSON *b = v->child; b != a; b = b->next)
				if (!strcmp(a->string, b->string)) {
					spec_err(c, p, "duplicate key \"%s\"", a->string);
					break;
				}
			spec_check_dups(c, a, p);
			free(p);
		}
	} else if (cJSON_IsArray(v)) {
		size_t i = 0;
		for (const cJSON *a = v->child; a; a = a->next, i++) {
			if (cJSON_IsObject(a) || cJSON_IsArray(a)) {
				char *p = spec_path_idx(path, i);
				spec_check_dups(c, a, p);
				free(p);
			}
		}
	}
}

static void spec_check_keys(struct ctx *c, const cJSON *obj, const char *path,
		       const char *const *allowed, const char *what)
{
	for (const cJSON *a = obj->child; a; a = a->next) {
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			if (!strcmp(a->string, allowed[i])) {
				ok = true;
				break;
			}
		if (!ok) {
			char *p = spec_path_key(path, a->string);
			spec_err(c, p, "unknown key (%s)", what);
			free(p);
		}
	}
}

/* ------------------------------------------------------- typed getters */

static bool spec_get_bool(struct ctx *c, const cJSON *v, const char *path, bool *out)
{
	if (!cJSON_IsBool(v)) {
		spec_expected(c, path, "true or false", v);
		return false;
	}
	*out = cJSON_IsTrue(v);
	return true;
}

static bool spec_get_long(struct ctx *c, const cJSON *v, const char *path,
		     long min, long max, long *out)
{
	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
	    v->valuedouble < (double)min || v->valuedouble > (double)max) {
		char *what;
		if (max == LONG_MAX)
			what = xasprintf("an integer >= %ld", min);
		else
			what = xasprintf("an integer from %ld to %ld", min, max);
		spec_expected(c, path, what, v);
		free(what);
		return false;
	}
	*out = (long)v->valuedouble;
	return true;
}

static const char *spec_get_str(struct ctx *c, const cJSON *v, const char *path)
{
	if (!cJSON_IsString(v)) {
		spec_expected(c, path, "a string", v);
		return NULL;
	}
	return v->valuestring;
}

static bool spec_get_duration(struct ctx *c, const cJSON *v, const char *path, double *out)
{
	if (cJSON_IsNull(v)) {
		*out = 0;
		return true;
	}
	if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= 0 &&
	    v->valuedouble <= DUR_MAX) {
		*out = v->valuedouble;
		return true;
	}
	int r = cJSON_IsString(v) ? dur_parse(v->valuestring, out) : -1;
	if (r == 0)
		return true;
	if (r == -2 || (cJSON_IsNumber(v) && v->valuedouble > DUR_MAX))
		spec_expected(c, path, "a duration of at most " DUR_MAX_TEXT, v);
	else
		spec_expected(c, path, "a duration like \"1.5s\"", v);
	return false;
}

static bool spec_get_signal(struct ctx *c, const cJSON *v, const char *path, int *out)
{
	int s = -1;
	if (cJSON_IsString(v))
		s = sig_parse(v->valuestring);
	else if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
		 v->valuedouble >= 1 && v->valuedouble < NSIG)
		s = (int)v->valuedouble;
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

static bool spec_get_size(struct ctx *c, const cJSON *v, const char *path, uint64_t *out)
{
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 9e18 &&
	    v->valuedouble == floor(v->valuedouble)) {
		*out = (uint64_t)v->valuedouble;
		return true;
	}
	if (cJSON_IsString(v) && parse_size(v->valuestring, out))
		return true;
	spec_expected(c, path, "a size like 1048576 or \"16M\"", v);
	return false;
}

/* An array of strings (a single string is accepted where noted). */
static char **spec_get_str_array(struct ctx *c, const cJSON *v, const char *path,
			    bool allow_single, bool allow_numbers, size_t *n)
{
	*n = 0;
	if (allow_single && cJSON_IsString(v)) {
		char **r = xmalloc(2 * sizeof *r);
		r[0] = xstrdup(v->valuestring);
		r[1] = NULL;
		*n = 1;
		return r;
	}
	if (!cJSON_IsArray(v)) {
		spec_expected(c, path, allow_numbers ? "an array of strings or numbers" :
			 "an array of strings", v);
		return NULL;
	}
	size_t cnt = (size_t)cJSON_GetArraySize(v), i = 0;
	char **r = xcalloc(cnt + 1, sizeof *r);
	bool ok = true;
	for (const cJSON *a = v->child; a; a = a->next, i++) {
		if (cJSON_IsString(a)) {
			r[i] = xstrdup(a->valuestring);
		} else if (allow_numbers && cJSON_IsNumber(a)) {
			r[i] = spec_num_text(a->valuedouble);
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

static void spec_strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static char **spec_strv_dup(char *const *v, size_t n)
{
	if (!v)
		return NULL;
	char **r = xcalloc(n + 1, sizeof *r);
	for (size_t i = 0; i < n; i++)
		r[i] = xstrdup(v[i]);
	return r;
}

/* ------------------------------------------------------- job templates */

/* An argv item before expansion; raw items came from base64 and are
 * never touched by placeholder substitution. */
struct targ {
	char *s;
	bool raw;
};

struct tstage {
	struct targ *argv;
	size_t argc;
	struct kv *env;
	size_t nenv;
	struct io_spec err;
	bool has_err;
};

struct tmpl {
	struct job_spec j;   /* fields that expansion copies as they are */
	char *path;          /* "jobs[i]" */
	char *shell_path;    /* where shell and foreach came from (the job */
	char *foreach_path;  /* or defaults), for expansion's errors */
	struct tstage *stages;
	size_t nstages;
	char **foreach;
	size_t nforeach;
	bool has_foreach;
	long repeat;
	bool has_repeat;
	bool ok;
};

static const char *const top_keys[] = {
	"name", "mode", "max_parallel", "timeout", "fail_fast", "tag",
	"defaults", "jobs", NULL
};

#define COMMON_JOB_KEYS                                                      \
	"run", "shell", "pipeline", "pool", "steps", "env", "env_clear",     \
	"unset", "secret_env", "cwd", "stdin", "stdout", "stderr",           \
	"encoding", "max_output", "digest", "timeout", "signal",             \
	"kill_after", "expect", "retries", "retry_delay", "retry_backoff",   \
	"repeat", "foreach", "after", "always", "pipefail", "nice", "umask", \
	"rlimits", "pass_fds"

static const char *const job_keys[] = { "name", COMMON_JOB_KEYS, "items", "queue",
					"ordered", "on_error", "item_timeout", NULL };
static const char *const default_keys[] = { COMMON_JOB_KEYS, NULL };
static const char *const spec_what_keys[] = { "run", "shell", "pipeline", "pool", "steps", NULL };

/* The value of a job field: the job's own, else the default.  *path is
 * set to where it came from (callers free it). */
static const cJSON *spec_field(const cJSON *job, const cJSON *defaults,
			  const char *jpath, const char *key, char **path)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(job, key);
	if (v) {
		*path = spec_path_key(jpath, key);
		return v;
	}
	if (defaults && (v = cJSON_GetObjectItemCaseSensitive(defaults, key))) {
		*path = spec_path_key("defaults", key);
		return v;
	}
	*path = NULL;
	return NULL;
}

static bool spec_parse_argv(struct ctx *c, const cJSON *v, const char *path,
		       struct targ **out, size_t *n)
{
	if (!cJSON_IsArray(v) || !cJSON_GetArraySize(v)) {
		spec_expected(c, path, "a non-empty argv array", v);
		return false;
	}
	size_t cnt = (size_t)cJSON_GetArraySize(v), i = 0;
	struct targ *a = xcalloc(cnt, sizeof *a);
	bool ok = true;
	for (const cJSON *it = v->child; it; it = it->next, i++) {
		char *p = spec_path_idx(path, i);
		if (cJSON_IsString(it)) {
			a[i].s = xstrdup(it->valuestring);
		} else if (cJSON_IsObject(it)) {
			static const char *const keys[] = { "base64", NULL };
			spec_check_keys(c, it, p, keys, "an argv item object has only \"base64\"");
			const cJSON *b = cJSON_GetObjectItemCaseSensitive(it, "base64");
			unsigned char *bytes;
			size_t blen;
			char *bp = spec_path_key(p, "base64");
			if (!cJSON_IsString(b)) {
				spec_expected(c, bp, "a base64 string", b);
				ok = false;
			} else if (b64_decode(b->valuestring, strlen(b->valuestring),
					      &bytes, &blen) < 0) {
				spec_expected(c, bp, "valid base64", b);
				ok = false;
			} else if (memchr(bytes, 0, blen)) {
				spec_err(c, bp, "an argv item cannot contain a NUL byte");
				free(bytes);
				ok = false;
			} else {
				a[i].s = xstrndup((char *)bytes, blen);
				a[i].raw = true;
				free(bytes);
			}
			free(bp);
		} else {
			spec_expected(c, p, "a string or {\"base64\": ...}", it);
			ok = false;
		}
		if (!a[i].s)
			a[i].s = xstrdup("");
		free(p);
	}
	*out = a;
	*n = cnt;
	return ok;
}

static bool spec_parse_env(struct ctx *c, const cJSON *v, const char *path,
		      struct kv **env, size_t *n, size_t *cap)
{
	if (!cJSON_IsObject(v)) {
		spec_expected(c, path, "an object of NAME: \"value\"", v);
		return false;
	}
	bool ok = true;
	for (const cJSON *e = v->child; e; e = e->next) {
		char *p = spec_path_key(path, e->string);
		if (!*e->string || strchr(e->string, '=')) {
			spec_err(c, p, "an environment variable name cannot be empty or contain '='");
			ok = false;
		} else if (!cJSON_IsString(e)) {
			/* the value may be a secret (secret_env): name its type,
			 * never echo it */
			spec_err(c, p, "expected a string, got %s",
			    cJSON_IsNumber(e) ? "a number" : cJSON_IsBool(e) ? "a boolean" :
			    cJSON_IsNull(e) ? "null" : cJSON_IsArray(e) ? "an array" : "an object");
			ok = false;
		} else {
			size_t i;
			for (i = 0; i < *n; i++)
				if (!strcmp((*env)[i].name, e->string))
					break;
			if (i == *n) {
				xgrow(env, cap, *n + 1, sizeof **env);
				(*env)[i].name = xstrdup(e->string);
				(*env)[i].value = NULL;
				(*n)++;
			}
			free((*env)[i].value);
			(*env)[i].value = xstrdup(e->valuestring);
		}
		free(p);
	}
	return ok;
}

static bool spec_parse_output(struct ctx *c, const cJSON *v, const char *path,
			 bool is_stderr, struct io_spec *out)
{
	memset(out, 0, sizeof *out);
	if (cJSON_IsString(v)) {
		const char *s = v->valuestring;
		if (!strcmp(s, "capture"))
			out->mode = IO_CAPTURE;
		else if (!strcmp(s, "tee"))
			out->mode = IO_TEE;
		else if (!strcmp(s, "inherit"))
			out->mode = IO_INHERIT;
		else if (!strcmp(s, "null"))
			out->mode = IO_NULL;
		else if (is_stderr && !strcmp(s, "stdout"))
			out->mode = IO_STDOUT;
		else
			goto bad;
		return true;
	}
	if (cJSON_IsNull(v)) {
		out->mode = IO_NULL;
		return true;
	}
	if (cJSON_IsObject(v)) {
		static const char *const keys[] = { "file", "append", NULL };
		spec_check_keys(c, v, path, keys, "expected \"file\" and \"append\"");
		char *fp = spec_path_key(path, "file");
		const char *f = spec_get_str(c, cJSON_GetObjectItemCaseSensitive(v, "file"), fp);
		free(fp);
		if (!f)
			return false;
		if (!*f) {
			char *p = spec_path_key(path, "file");
			spec_err(c, p, "expected a file name, got \"\"");
			free(p);
			return false;
		}
		out->mode = IO_FILE;
		out->path = xstrdup(f);
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(v, "append");
		if (a) {
			char *ap = spec_path_key(path, "append");
			bool ok = spec_get_bool(c, a, ap, &out->append);
			free(ap);
			if (!ok)
				return false;
		}
		return true;
	}
bad:
	spec_expected(c, path, is_stderr ?
		 "\"capture\", \"tee\", \"inherit\", \"null\", \"stdout\" or {\"file\": ...}" :
		 "\"capture\", \"tee\", \"inherit\", \"null\" or {\"file\": ...}", v);
	return false;
}

static bool parse_stdin(struct ctx *c, const cJSON *v, const char *path,
			struct in_spec *in)
{
	memset(in, 0, sizeof *in);
	if (cJSON_IsNull(v) || (cJSON_IsString(v) && !strcmp(v->valuestring, "null"))) {
		in->kind = IN_NULL;
		return true;
	}
	if (cJSON_IsString(v) && !strcmp(v->valuestring, "inherit")) {
		in->kind = IN_INHERIT;
		return true;
	}
	if (!cJSON_IsObject(v) || cJSON_GetArraySize(v) == 0) {
		spec_expected(c, path, "null, \"inherit\" or an object with one of text, base64, file, random, from", v);
		return false;
	}
	static const char *const keys[] = { "text", "base64", "file", "random", "seed", "from", NULL };
	size_t before = c->errs->n;
	spec_check_keys(c, v, path, keys, "stdin takes one of text, base64, file, random (+ seed), from");
	if (c->errs->n != before)
		return false;
	int kinds = 0;
	for (const cJSON *e = v->child; e; e = e->next)
		if (strcmp(e->string, "seed"))
			kinds++;
	if (kinds != 1) {
		spec_err(c, path, "expected exactly one of text, base64, file, random, from");
		return false;
	}
	const cJSON *e;
	char *p = NULL;
	bool ok = true;
	if ((e = cJSON_GetObjectItemCaseSensitive(v, "text"))) {
		p = spec_path_key(path, "text");
		const char *s = spec_get_str(c, e, p);
		if ((ok = s != NULL)) {
			in->kind = IN_TEXT;
			/* cJSON stopped at a \u0000: the token has it all */
			for (size_t i = 0; i < c->nnul_texts && s; i++)
				if (c->nul_texts[i].v == e) {
					in->data = spec_raw_string(c->nul_texts[i].tok, c->nul_texts[i].len,
							      &in->len);
					s = NULL;
				}
			if (s) {
				in->data = xstrdup(s);
				in->len = strlen(s);
			}
		}
	} else if ((e = cJSON_GetObjectItemCaseSensitive(v, "base64"))) {
		p = spec_path_key(path, "base64");
		unsigned char *bytes;
		size_t n;
		if (!cJSON_IsString(e) ||
		    b64_decode(e->valuestring, strlen(e->valuestring), &bytes, &n) < 0) {
			spec_expected(c, p, "valid base64", e);
			ok = false;
		} else {
			in->kind = IN_BASE64;
			in->data = (char *)bytes;
			in->len = n;
		}
	} else if ((e = cJSON_GetObjectItemCaseSensitive(v, "file"))) {
		p = spec_path_key(path, "file");
		const char *s = spec_get_str(c, e, p);
		if ((ok = s && *s)) {
			in->kind = IN_FILE;
			in->path = xstrdup(s);
		} else if (s) {
			spec_expected(c, p, "a file name", e);
		}
	} else if ((e = cJSON_GetObjectItemCaseSensitive(v, "random"))) {
		p = spec_path_key(path, "random");
		uint64_t n;
		if ((ok = spec_get_size(c, e, p, &n))) {
			in->kind = IN_RANDOM;
			in->nrandom = n;
		}
	} else if ((e = cJSON_GetObjectItemCaseSensitive(v, "from"))) {
		p = spec_path_key(path, "from");
		const char *s = spec_get_str(c, e, p);
		if ((ok = s != NULL)) {
			in->kind = IN_FROM;
			in->from = xstrdup(s);
		}
	}
	free(p);
	const cJSON *seed = cJSON_GetObjectItemCaseSensitive(v, "seed");
	if (seed) {
		p = spec_path_key(path, "seed");
		if (in->kind != IN_RANDOM && ok) {
			spec_err(c, p, "\"seed\" goes with \"random\" only");
			ok = false;
		} else if (!cJSON_IsNumber(seed) || seed->valuedouble < 0 ||
			   seed->valuedouble != floor(seed->valuedouble) ||
			   seed->valuedouble > 9007199254740992.0) {
			spec_expected(c, p, "an integer from 0 to 2^53", seed);
			ok = false;
		} else {
			in->seeded = true;
			in->seed = (uint64_t)seed->valuedouble;
		}
		free(p);
	}
	return ok;
}

/* placeholder_subst over stdin.text, which may hold NUL bytes: piece by
 * piece between them (s[len] is a NUL too). */
struct subst_ctx {
	const char *value;
	size_t index;
};

static char *subst_piece(const char *piece, void *ctx)
{
	const struct subst_ctx *c = ctx;
	return placeholder_subst(piece, c->value, c->index);
}

static char *subst_bytes(const char *s, size_t len, const char *value, size_t index,
			 size_t *outlen)
{
	struct subst_ctx c = { value, index };
	return map_pieces(s, len, subst_piece, &c, outlen);
}

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "as", RLIMIT_AS },         { "core", RLIMIT_CORE },
	{ "cpu", RLIMIT_CPU },       { "data", RLIMIT_DATA },
	{ "fsize", RLIMIT_FSIZE },   { "locks", RLIMIT_LOCKS },
	{ "memlock", RLIMIT_MEMLOCK }, { "msgqueue", RLIMIT_MSGQUEUE },
	{ "nice", RLIMIT_NICE },     { "nofile", RLIMIT_NOFILE },
	{ "nproc", RLIMIT_NPROC },   { "rss", RLIMIT_RSS },
	{ "rtprio", RLIMIT_RTPRIO }, { "rttime", RLIMIT_RTTIME },
	{ "sigpending", RLIMIT_SIGPENDING }, { "stack", RLIMIT_STACK },
};

static bool parse_rlimits(struct ctx *c, const cJSON *v, const char *path,
			  struct job_spec *j)
{
	if (!cJSON_IsObject(v)) {
		spec_expected(c, path, "an object like {\"nofile\": 1024}", v);
		return false;
	}
	bool ok = true;
	size_t cap = 0;
	for (const cJSON *e = v->child; e; e = e->next) {
		char *p = spec_path_key(path, e->string);
		size_t k;
		for (k = 0; k < ARRAY_SIZE(rlimit_names); k++)
			if (!strcmp(rlimit_names[k].name, e->string))
				break;
		uint64_t val = 0;
		if (k == ARRAY_SIZE(rlimit_names)) {
			spec_err(c, p, "unknown resource limit (as, core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)");
			ok = false;
		} else if (cJSON_IsString(e) && !strcmp(e->valuestring, "unlimited")) {
			val = RLIM_INFINITY;
		} else if (!spec_get_size(c, e, p, &val)) {
			ok = false;
		}
		if (ok) {
			xgrow(&j->rlimits, &cap, j->nrlimits + 1, sizeof *j->rlimits);
			j->rlimits[j->nrlimits].name = rlimit_names[k].name;
			j->rlimits[j->nrlimits].resource = rlimit_names[k].resource;
			j->rlimits[j->nrlimits].value = val;
			j->nrlimits++;
		}
		free(p);
	}
	return ok;
}

static void spec_tstage_free(struct tstage *s)
{
	for (size_t i = 0; i < s->argc; i++)
		free(s->argv[i].s);
	free(s->argv);
	for (size_t i = 0; i < s->nenv; i++) {
		free(s->env[i].name);
		free(s->env[i].value);
	}
	free(s->env);
	free(s->err.path);
}

static bool spec_parse_stage(struct ctx *c, const cJSON *v, const char *path,
			struct tstage *st)
{
	memset(st, 0, sizeof *st);
	if (cJSON_IsArray(v))
		return spec_parse_argv(c, v, path, &st->argv, &st->argc);
	if (!cJSON_IsObject(v)) {
		spec_expected(c, path, "an argv array or {\"run\": [...], \"env\": {...}, \"stderr\": ...}", v);
		return false;
	}
	static const char *const keys[] = { "run", "env", "stderr", NULL };
	spec_check_keys(c, v, path, keys, "a stage has run, env, stderr");
	bool ok = true;
	char *p = spec_path_key(path, "run");
	const cJSON *run = cJSON_GetObjectItemCaseSensitive(v, "run");
	if (!run) {
		spec_err(c, path, "a stage object needs \"run\"");
		ok = false;
	} else {
		ok &= spec_parse_argv(c, run, p, &st->argv, &st->argc);
	}
	free(p);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(v, "env");
	if (e) {
		size_t cap = 0;
		p = spec_path_key(path, "env");
		ok &= spec_parse_env(c, e, p, &st->env, &st->nenv, &cap);
		free(p);
	}
	e = cJSON_GetObjectItemCaseSensitive(v, "stderr");
	if (e) {
		p = spec_path_key(path, "stderr");
		ok &= spec_parse_output(c, e, p, true, &st->err);
		if (st->err.mode == IO_TEE) {
			spec_err(c, p, "a stage's stderr can be \"capture\", \"null\", \"stdout\", \"inherit\" or a file, not \"tee\"");
			ok = false;
		}
		st->has_err = true;
		free(p);
	}
	return ok;
}

/* A pool job: `piperun pool` with these options; its items (JSON in the
 * spec) become its stdin, one JSON array per line. */
static void spec_parse_pool(struct ctx *c, const cJSON *v, const char *path, struct tmpl *t)
{
	if (!cJSON_IsObject(v)) {
		spec_expected(c, path, "an object like {\"task\": \"gcd\", \"items\": [[12, 18]]}", v);
		return;
	}
	static const char *const keys[] = { "task", "plugin", "mode", "workers", "items",
					    "items_file", "timeout", "fail_fast",
					    "max_inflight", NULL };
	spec_check_keys(c, v, path, keys, "a pool has task, plugin, mode, workers, items, items_file, timeout, fail_fast, max_inflight");
	struct buf argv = { 0 };
	size_t argc = 0;
	char *argbuf[32];
#define ARG(s) (argbuf[argc++] = xstrdup(s))
	ARG("piperun");
	ARG("pool");
	const cJSON *e;
	char *p = NULL;
	const cJSON *task = cJSON_GetObjectItemCaseSensitive(v, "task");
	const cJSON *plugin = cJSON_GetObjectItemCaseSensitive(v, "plugin");
	if (!task == !plugin) {
		spec_err(c, path, "expected \"task\" (gcd, factorize, sleep) or \"plugin\" (\"LIB.so:NAME\")");
	} else if (task) {
		p = spec_path_key(path, "task");
		const char *s = spec_get_str(c, task, p);
		if (s && strcmp(s, "gcd") && strcmp(s, "factorize") && strcmp(s, "sleep"))
			spec_expected(c, p, "gcd, factorize or sleep", task);
		else if (s) {
			ARG("--task");
			ARG(s);
		}
		free(p);
	} else {
		p = spec_path_key(path, "plugin");
		const char *s = spec_get_str(c, plugin, p);
		if (s && !strchr(s, ':'))
			spec_expected(c, p, "\"LIB.so:NAME\"", plugin);
		else if (s) {
			ARG("--task-plugin");
			ARG(s);
		}
		free(p);
	}
	if ((e = cJSON_GetObjectItemCaseSensitive(v, "mode"))) {
		p = spec_path_key(path, "mode");
		const char *s = cJSON_IsString(e) ? e->valuestring : "";
		if (strcmp(s, "serial") && strcmp(s, "thread") && strcmp(s, "process") && strcmp(s, "async"))
			spec_expected(c, p, "serial, thread, process or async", e);
		else {
			ARG("--mode");
			ARG(s);
		}
		free(p);
	}
	if ((e = cJSON_GetObjectItemCaseSensitive(v, "workers"))) {
		long n;
		p = spec_path_key(path, "workers");
		if (spec_get_long(c, e, p, 1, 4096, &n)) {
			char b[24];
			snprintf(b, sizeof b, "%ld", n);
			ARG("-j");
			ARG(b);
		}
		free(p);
	}
	if ((e = cJSON_GetObjectItemCaseSensitive(v, "timeout"))) {
		double d;
		p = spec_path_key(path, "timeout");
		if (spec_get_duration(c, e, p, &d) && d > 0) {
			char b[40];
			snprintf(b, sizeof b, "%.6f", d);
			ARG("--timeout");
			ARG(b);
		}
		free(p);
	}
	if ((e = cJSON_GetObjectItemCaseSensitive(v, "fail_fast"))) {
		bool ff = false;
		p = spec_path_key(path, "fail_fast");
		if (spec_get_bool(c, e, p, &ff) && ff)
			ARG("--fail-fast");
		free(p);
	}
	if ((e = cJSON_GetObjectItemCaseSensitive(v, "max_inflight"))) {
		long n;
		p = spec_path_key(path, "max_inflight");
		if (spec_get_long(c, e, p, 1, LONG_MAX, &n)) {
			char b[24];
			snprintf(b, sizeof b, "%ld", n);
			ARG("--max-inflight");
			ARG(b);
		}
		free(p);
	}
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(v, "items");
	const cJSON *file = cJSON_GetObjectItemCaseSensitive(v, "items_file");
	if (items && file)
		spec_err(c, path, "expected \"items\" or \"items_file\", not both");
	if (file) {
		p = spec_path_key(path, "items_file");
		const char *s = spec_get_str(c, file, p);
		if (s) {
			ARG("--items");
			ARG(s);
		}
		free(p);
	}
	if (items) {
		p = spec_path_key(path, "items");
		if (!cJSON_IsArray(items)) {
			spec_expected(c, p, "an array of items (each an array of arguments)", items);
		} else {
			/* one JSON array per line: what `piperun pool` reads */
			struct buf lines = { 0 };
			for (const cJSON *it = items->child; it; it = it->next) {
				if (!cJSON_IsArray(it))
					buf_addch(&lines, '[');
				spec_json_print(&lines, it);
				if (!cJSON_IsArray(it))
					buf_addch(&lines, ']');
				buf_addch(&lines, '\n');
			}
			t->j.in.kind = IN_TEXT;
			free(t->j.in.data);
			t->j.in.len = lines.len;
			t->j.in.data = buf_detach(&lines);
			t->j.pool_items_given = true;
		}
		free(p);
	}
	ARG("--output");
	ARG("json");
#undef ARG
	t->stages = xcalloc(1, sizeof *t->stages);
	t->nstages = 1;
	t->stages[0].argc = argc;
	t->stages[0].argv = xcalloc(argc, sizeof *t->stages[0].argv);
	for (size_t i = 0; i < argc; i++)
		t->stages[0].argv[i].s = argbuf[i];
	buf_free(&argv);
}

/* ------------------------------------------------------------ steps jobs */

const char *step_kind_name(enum step_kind k)
{
	static const char *const n[] = { "run", "coprocess", "task" };
	return n[k];
}

static const char *const spec_steps_job_keys[] = { "items", "queue", "ordered", "on_error",
					      "item_timeout", NULL };

static void step_free(struct step_spec *st)
{
	free(st->name);
	spec_strv_free(st->argv, st->argc);
	free(st->exe);
	free(st->exe_error);
	free(st->task);
	free(st->args);
}

void steps_spec_free(struct steps_spec *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nsteps; i++)
		step_free(&s->steps[i]);
	free(s->steps);
	free(s);
}

static struct steps_spec *steps_spec_dup(const struct steps_spec *s)
{
	if (!s)
		return NULL;
	struct steps_spec *d = xmalloc(sizeof *d);
	*d = *s;
	d->steps = xcalloc(s->nsteps ? s->nsteps : 1, sizeof *d->steps);
	for (size_t i = 0; i < s->nsteps; i++) {
		const struct step_spec *a = &s->steps[i];
		struct step_spec *b = &d->steps[i];
		*b = *a;
		b->name = xstrdup(a->name);
		b->argv = a->argv ? spec_strv_dup(a->argv, a->argc) : NULL;
		b->exe = a->exe ? xstrdup(a->exe) : NULL;
		b->exe_error = a->exe_error ? xstrdup(a->exe_error) : NULL;
		b->task = a->task ? xstrdup(a->task) : NULL;
		b->args = a->args ? xstrdup(a->args) : NULL;
	}
	return d;
}

/* An argv of plain strings ({} is the item: no spec placeholders here). */
static char **get_plain_argv(struct ctx *c, const cJSON *v, const char *path, size_t *n)
{
	if (!cJSON_IsArray(v) || !cJSON_GetArraySize(v)) {
		spec_expected(c, path, "a non-empty argv array of strings", v);
		return NULL;
	}
	return spec_get_str_array(c, v, path, false, false, n);
}

static void parse_step(struct ctx *c, const cJSON *v, const char *path, size_t index,
		       struct step_spec *st)
{
	static const char *const keys[] = { "name", "workers", "queue", "run", "coprocess",
					    "task", "plugin", "args", "stdin", "pty", "window",
					    "item_timeout", "stall_warning", NULL };
	st->workers = 1;
	st->window = 16;
	st->item_timeout = -1;
	st->stall_warning = STALL_WARNING_DEFAULT;
	if (!cJSON_IsObject(v)) {
		spec_expected(c, path, "a step object like {\"name\": \"resize\", \"workers\": 4, \"run\": [\"cmd\", \"{}\"]}", v);
		st->name = xasprintf("step%zu", index + 1);
		return;
	}
	spec_check_keys(c, v, path, keys, "a step has name, workers, queue, run, coprocess, task, plugin, args, stdin, pty, window, item_timeout, stall_warning");
	const cJSON *e;
	char *p = NULL;
#define STEPKEY(k) (free(p), p = spec_path_key(path, k), e = cJSON_GetObjectItemCaseSensitive(v, k))
	if (STEPKEY("name")) {
		const char *s = spec_get_str(c, e, p);
		if (s && (!*s || strpbrk(s, " \t\n")))
			spec_expected(c, p, "a non-empty name without spaces", e);
		else if (s)
			st->name = xstrdup(s);
	}
	if (!st->name)
		st->name = xasprintf("step%zu", index + 1);
	long n;
	if (STEPKEY("workers") && spec_get_long(c, e, p, 1, 1024, &n))
		st->workers = (int)n;
	if (STEPKEY("queue") && spec_get_long(c, e, p, 1, 1000000, &n))
		st->queue = n;
	const char *kinds[] = { "run", "coprocess", "task", "plugin" };
	int nk = 0, kind = -1;
	for (int k = 0; k < 4; k++)
		if (cJSON_GetObjectItemCaseSensitive(v, kinds[k])) {
			if (nk++)
				spec_err(c, path, "expected exactly one of run, coprocess, task, plugin; found both \"%s\" and \"%s\"",
				    kinds[kind], kinds[k]);
			else
				kind = k;
		}
	if (!nk)
		spec_err(c, path, "expected one of run, coprocess, task, plugin; found none");
	if (nk == 1) {
		STEPKEY(kinds[kind]);
		switch (kind) {
		case 0:
		case 1:
			st->kind = kind ? STEP_COPROCESS : STEP_RUN;
			st->argv = get_plain_argv(c, e, p, &st->argc);
			break;
		case 2: {
			st->kind = STEP_TASK;
			const char *s = spec_get_str(c, e, p);
			if (s && strcmp(s, "gcd") && strcmp(s, "factorize") && strcmp(s, "sleep"))
				spec_expected(c, p, "gcd, factorize or sleep (or \"plugin\": \"LIB.so:NAME\")", e);
			else if (s)
				st->task = xstrdup(s);
			break;
		}
		default: {
			st->kind = STEP_TASK;
			st->plugin = true;
			const char *s = spec_get_str(c, e, p);
			if (s && !strchr(s, ':'))
				spec_expected(c, p, "\"LIB.so:NAME\"", e);
			else if (s)
				st->task = xstrdup(s);
			break;
		}
		}
	}
	if (STEPKEY("args")) {
		if (st->kind != STEP_TASK)
			spec_err(c, p, "\"args\" belongs to task steps (a run or coprocess step's argv has its arguments)");
		else if (!cJSON_IsArray(e))
			spec_expected(c, p, "an array of task arguments", e);
		else {
			struct buf b = { 0 };
			spec_json_print(&b, e);
			st->args = buf_detach(&b);
		}
	}
	if (STEPKEY("stdin")) {
		if (st->kind != STEP_RUN)
			spec_err(c, p, "\"stdin\" belongs to run steps");
		else if (!cJSON_IsNull(e))
			spec_expected(c, p, "null (the item is written to a run step's stdin unless \"stdin\": null)", e);
		else
			st->stdin_null = true;
	}
	if (STEPKEY("pty")) {
		if (st->kind != STEP_COPROCESS)
			spec_err(c, p, "\"pty\" belongs to coprocess steps");
		else
			spec_get_bool(c, e, p, &st->pty);
	}
	if (STEPKEY("window")) {
		if (st->kind != STEP_COPROCESS)
			spec_err(c, p, "\"window\" belongs to coprocess steps");
		else if (spec_get_long(c, e, p, 1, 4096, &n))
			st->window = n;
	}
	if (STEPKEY("item_timeout")) {
		double d;
		if (spec_get_duration(c, e, p, &d))
			st->item_timeout = d;
	}
	if (STEPKEY("stall_warning")) {
		double d;
		if (st->kind != STEP_COPROCESS)
			spec_err(c, p, "\"stall_warning\" belongs to coprocess steps");
		else if (spec_get_duration(c, e, p, &d))
			st->stall_warning = d;
	}
#undef STEPKEY
	free(p);
}

/* The items of a steps job: where they come from.  All but a count reach
 * the host on its stdin, so the runner's stdin machinery carries them. */
static void parse_items(struct ctx *c, const cJSON *v, const char *path, struct job_spec *j)
{
	struct steps_spec *s = j->steps;
	if (cJSON_IsArray(v)) {
		struct buf lines = { 0 };
		size_t i = 0;
		for (const cJSON *it = v->child; it; it = it->next, i++) {
			char *ip = spec_path_idx(path, i);
			char *num = cJSON_IsNumber(it) ? spec_num_text(it->valuedouble) : NULL;
			const char *str = num ? num : cJSON_IsString(it) ? it->valuestring : NULL;
			if (!str)
				spec_expected(c, ip, "a string or a number", it);
			else if (strchr(str, '\n'))
				spec_err(c, ip, "an item is one line; this one has a newline");
			else if (str) {
				buf_addstr(&lines, str);
				buf_addch(&lines, '\n');
			}
			free(num);
			free(ip);
		}
		s->items = ITEMS_ARRAY;
		j->in.kind = IN_TEXT;
		j->in.len = lines.len;
		j->in.data = lines.p ? buf_detach(&lines) : xstrdup("");
		return;
	}
	if (!cJSON_IsObject(v) || cJSON_GetArraySize(v) != 1) {
		spec_expected(c, path, "{\"count\": N}, {\"lines\": FILE or \"-\"}, {\"from\": JOB} or an array of strings", v);
		return;
	}
	const cJSON *e = v->child;
	char *p = spec_path_key(path, e->string);
	if (!strcmp(e->string, "count")) {
		long n;
		if (spec_get_long(c, e, p, 0, (long)MAX_ITEMS, &n)) {
			s->items = ITEMS_COUNT;
			s->count = (uint64_t)n;
		}
	} else if (!strcmp(e->string, "lines")) {
		const char *f = spec_get_str(c, e, p);
		if (f && !*f)
			spec_expected(c, p, "a file name or \"-\" (stdin)", e);
		else if (f && !strcmp(f, "-")) {
			s->items = ITEMS_STDIN;
			j->in.kind = IN_INHERIT;
		} else if (f) {
			s->items = ITEMS_LINES;
			j->in.kind = IN_FILE;
			j->in.path = xstrdup(f);
		}
	} else if (!strcmp(e->string, "from")) {
		const char *f = spec_get_str(c, e, p);
		if (f && !*f)
			spec_expected(c, p, "a job name", e);
		else if (f) {
			s->items = ITEMS_FROM;
			j->in.kind = IN_FROM;
			j->in.from = xstrdup(f);
		}
	} else {
		spec_err(c, p, "unknown key (items are {\"count\": N}, {\"lines\": FILE or \"-\"}, {\"from\": JOB} or an array of strings)");
	}
	free(p);
}

/* host: a description (steps_describe), whose items may be "stdin". */
static void spec_parse_steps(struct ctx *c, const cJSON *job, const cJSON *v, const char *jpath,
			struct job_spec *j, bool host)
{
	struct steps_spec *s = j->steps = xcalloc(1, sizeof *s);
	s->queue = 100;
	s->mode = -1;
	char *p = spec_path_key(jpath, "steps");
	if (!cJSON_IsArray(v) || !cJSON_GetArraySize(v)) {
		spec_expected(c, p, "a non-empty array of steps", v);
	} else if (cJSON_GetArraySize(v) > MAX_STEPS) {
		spec_err(c, p, "a steps job has at most %d steps, got %d", MAX_STEPS, cJSON_GetArraySize(v));
	} else {
		s->nsteps = (size_t)cJSON_GetArraySize(v);
		s->steps = xcalloc(s->nsteps, sizeof *s->steps);
		size_t i = 0;
		for (const cJSON *e = v->child; e; e = e->next, i++) {
			char *sp = spec_path_idx(p, i);
			parse_step(c, e, sp, i, &s->steps[i]);
			free(sp);
		}
		for (size_t a = 0; a < s->nsteps; a++)
			for (size_t b = 0; b < a; b++)
				if (!strcmp(s->steps[a].name, s->steps[b].name)) {
					char *sp = spec_path_idx(p, a);
					spec_err(c, sp, "a step named \"%s\" comes earlier; step names are unique",
					    s->steps[a].name);
					free(sp);
					break;
				}
	}
	const cJSON *e;
#define JOBKEY(k) (free(p), p = spec_path_key(jpath, k), e = cJSON_GetObjectItemCaseSensitive(job, k))
	if (JOBKEY("items") && host && cJSON_IsString(e) && !strcmp(e->valuestring, "stdin"))
		s->items = ITEMS_STDIN;
	else if (e)
		parse_items(c, e, p, j);
	else
		spec_err(c, jpath, "a steps job needs \"items\": {\"count\": N}, {\"lines\": FILE or \"-\"}, {\"from\": JOB} or an array of strings");
	long n;
	if (JOBKEY("queue") && spec_get_long(c, e, p, 1, 1000000, &n))
		s->queue = n;
	if (JOBKEY("ordered"))
		spec_get_bool(c, e, p, &s->ordered);
	if (JOBKEY("on_error")) {
		const char *str = cJSON_IsString(e) ? e->valuestring : "";
		if (!strcmp(str, "stop"))
			s->stop_on_error = true;
		else if (strcmp(str, "drop"))
			spec_expected(c, p, "\"drop\" (the default) or \"stop\"", e);
	}
	if (JOBKEY("item_timeout"))
		spec_get_duration(c, e, p, &s->item_timeout);
#undef JOBKEY
	free(p);
}

/* The host's description: the steps as the user wrote them, programs
 * resolved, the job's signal rules and the mode settled. */
char *steps_describe(const struct job_spec *j, enum run_mode mode)
{
	const struct steps_spec *s = j->steps;
	struct buf b = { 0 };
	struct jw w;
	jw_init(&w, buf_sink_write, &b, false);
	jw_obj(&w, false);
	jw_key(&w, "items");
	if (s->items == ITEMS_COUNT) {
		jw_obj(&w, true);
		jw_kint(&w, "count", (int64_t)s->count);
		jw_obj_end(&w);
	} else {
		jw_str(&w, "stdin");
	}
	jw_kint(&w, "queue", s->queue);
	jw_kbool(&w, "ordered", s->ordered);
	jw_kstr(&w, "on_error", s->stop_on_error ? "stop" : "drop");
	jw_knum(&w, "item_timeout", s->item_timeout);
	jw_kstr(&w, "mode", s->mode >= 0 ? run_mode_name((enum run_mode)s->mode)
		: mode == MODE_THREAD ? "thread" : "async");
	jw_kint(&w, "signal", j->signal);
	jw_knum(&w, "kill_after", j->kill_after);
	jw_key(&w, "steps");
	jw_arr(&w, false);
	for (size_t i = 0; i < s->nsteps; i++) {
		const struct step_spec *st = &s->steps[i];
		jw_obj(&w, true);
		jw_kstr(&w, "name", st->name);
		jw_kint(&w, "workers", st->workers);
		jw_kint(&w, "queue", st->queue ? st->queue : s->queue);
		if (st->kind == STEP_TASK) {
			jw_kstr(&w, st->plugin ? "plugin" : "task", st->task);
			if (st->args) {
				jw_key(&w, "args");
				jw_raw(&w, st->args);
			}
		} else {
			jw_key(&w, step_kind_name(st->kind));
			jw_arr(&w, true);
			for (size_t a = 0; a < st->argc; a++)
				jw_str(&w, a == 0 && st->exe ? st->exe : st->argv[a]);
			jw_arr_end(&w);
		}
		if (st->stdin_null)
			jw_knull(&w, "stdin");
		if (st->kind == STEP_COPROCESS) {
			jw_kbool(&w, "pty", st->pty);
			jw_kint(&w, "window", st->window);
			jw_knum(&w, "stall_warning", st->stall_warning);
		}
		if (st->item_timeout >= 0)
			jw_knum(&w, "item_timeout", st->item_timeout);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	return buf_detach(&b);
}

struct steps_spec *steps_desc_parse(const char *text, size_t len, char **why)
{
	struct errlist errs = { 0 };
	struct ctx c = { .file = "steps description", .errs = &errs };
	struct job_spec j = { 0 };
	cJSON *root = spec_parse_json(&c, text, len);
	if (root && !cJSON_IsObject(root))
		spec_expected(&c, NULL, "an object", root);
	if (root && cJSON_IsObject(root)) {
		static const char *const keys[] = { "items", "queue", "ordered", "on_error",
						    "item_timeout", "mode", "signal",
						    "kill_after", "steps", NULL };
		spec_check_keys(&c, root, "", keys, "not a description field");
		spec_parse_steps(&c, root, cJSON_GetObjectItemCaseSensitive(root, "steps"), "", &j, true);
		const cJSON *e;
		/* programs were resolved by the runner */
		for (size_t i = 0; i < j.steps->nsteps; i++)
			if (j.steps->steps[i].argv)
				j.steps->steps[i].exe = xstrdup(j.steps->steps[i].argv[0]);
		if ((e = cJSON_GetObjectItemCaseSensitive(root, "mode"))) {
			const char *m = cJSON_IsString(e) ? e->valuestring : "";
			j.steps->mode = !strcmp(m, "thread") ? MODE_THREAD : MODE_ASYNC;
		}
		if ((e = cJSON_GetObjectItemCaseSensitive(root, "signal")))
			spec_get_signal(&c, e, "signal", &j.steps->signal);
		if ((e = cJSON_GetObjectItemCaseSensitive(root, "kill_after")))
			spec_get_duration(&c, e, "kill_after", &j.steps->kill_after);
	}
	cJSON_Delete(root);
	free(j.in.data);
	free(j.in.path);
	free(j.in.from);
	if (errs.n) {
		*why = xstrdup(errs.msg[0]);
		errlist_free(&errs);
		steps_spec_free(j.steps);
		return NULL;
	}
	return j.steps;
}

/* Parse one job object (with defaults) into a template. */
static void parse_job(struct ctx *c, const cJSON *job, const cJSON *defaults,
		      size_t index, struct tmpl *t)
{
	struct job_spec *j = &t->j;
	size_t errs_before = c->errs->n;
	t->path = xasprintf("jobs[%zu]", index);
	j->spec_index = index;
	j->kind = KIND_RUN;
	j->in.kind = IN_NULL;
	j->out.mode = IO_CAPTURE;
	j->err.mode = IO_CAPTURE;
	j->encoding = ENC_AUTO;
	j->max_output = DEFAULT_MAX_OUTPUT;
	j->signal = SIGTERM;
	j->kill_after = SPEC_KILL_AFTER_DEFAULT;
	j->retry_backoff = 1.0;
	j->pipefail = true;
	t->repeat = 1;

	if (!cJSON_IsObject(job)) {
		spec_expected(c, t->path, "a job object", job);
		return;
	}
	spec_check_keys(c, job, t->path, job_keys, "not a job field");

	const cJSON *v;
	char *p = NULL;
#define FIELD(key) (free(p), p = NULL, v = spec_field(job, defaults, t->path, key, &p))

	if ((v = cJSON_GetObjectItemCaseSensitive(job, "name"))) {
		p = spec_path_key(t->path, "name");
		const char *s = spec_get_str(c, v, p);
		if (s && !*s)
			spec_err(c, p, "expected a non-empty name, got \"\"");
		else if (s)
			j->name = xstrdup(s);
	}
	if (!j->name)
		j->name = xasprintf("job-%zu", index + 1);

	/* What the job runs: the job's own choice wins over a default one. */
	const cJSON *src = job;
	bool any = false;
	for (size_t i = 0; spec_what_keys[i]; i++)
		if (cJSON_GetObjectItemCaseSensitive(job, spec_what_keys[i]))
			any = true;
	if (!any)
		src = defaults;
	const char *what = NULL;
	int nwhat = 0;
	for (size_t i = 0; src && spec_what_keys[i]; i++)
		if (cJSON_GetObjectItemCaseSensitive(src, spec_what_keys[i])) {
			if (nwhat++)
				spec_err(c, t->path, "expected exactly one of run, shell, pipeline, pool, steps; found both \"%s\" and \"%s\"",
				    what, spec_what_keys[i]);
			else
				what = spec_what_keys[i];
		}
	if (!nwhat)
		spec_err(c, t->path, "expected one of run, shell, pipeline, pool, steps; found none");
	if (nwhat == 1) {
		const char *jp = src == job ? t->path : "defaults";
		free(p);
		p = spec_path_key(jp, what);
		v = cJSON_GetObjectItemCaseSensitive(src, what);
		if (!strcmp(what, "run")) {
			j->kind = KIND_RUN;
			t->stages = xcalloc(1, sizeof *t->stages);
			t->nstages = 1;
			spec_parse_argv(c, v, p, &t->stages[0].argv, &t->stages[0].argc);
		} else if (!strcmp(what, "shell")) {
			j->kind = KIND_SHELL;
			const char *s = spec_get_str(c, v, p);
			if (s)
				j->shell = xstrdup(s);
			t->shell_path = xstrdup(p);
		} else if (!strcmp(what, "pipeline")) {
			j->kind = KIND_PIPELINE;
			if (!cJSON_IsArray(v) || !cJSON_GetArraySize(v)) {
				spec_expected(c, p, "a non-empty array of stages", v);
			} else if (cJSON_GetArraySize(v) > SPAWN_STAGES_MAX) {
				spec_err(c, p, "a pipeline has at most %d stages, got %d",
				    SPAWN_STAGES_MAX, cJSON_GetArraySize(v));
			} else {
				size_t n = (size_t)cJSON_GetArraySize(v), i = 0;
				t->stages = xcalloc(n, sizeof *t->stages);
				t->nstages = n;
				for (const cJSON *s = v->child; s; s = s->next, i++) {
					char *sp = spec_path_idx(p, i);
					spec_parse_stage(c, s, sp, &t->stages[i]);
					free(sp);
				}
			}
		} else if (!strcmp(what, "pool")) {
			j->kind = KIND_POOL;
			spec_parse_pool(c, v, p, t);
		} else if (src != job) {
			spec_err(c, p, "a steps job names its steps itself (not in defaults)");
		} else {
			j->kind = KIND_STEPS;
			spec_parse_steps(c, job, v, t->path, j, false);
			t->stages = xcalloc(1, sizeof *t->stages);
			t->nstages = 1;
			t->stages[0].argc = 2;
			t->stages[0].argv = xcalloc(2, sizeof *t->stages[0].argv);
			t->stages[0].argv[0].s = xstrdup("piperun");
			t->stages[0].argv[1].s = xstrdup("__steps");
		}
	}
	if (j->kind != KIND_STEPS) {
		for (size_t k = 0; spec_steps_job_keys[k]; k++)
			if (cJSON_GetObjectItemCaseSensitive(job, spec_steps_job_keys[k])) {
				free(p);
				p = spec_path_key(t->path, spec_steps_job_keys[k]);
				spec_err(c, p, "\"%s\" belongs to steps jobs", spec_steps_job_keys[k]);
			}
	}

	size_t envcap = 0;
	if (defaults && (v = cJSON_GetObjectItemCaseSensitive(defaults, "env")))
		spec_parse_env(c, v, "defaults.env", &j->env, &j->nenv, &envcap);
	if ((v = cJSON_GetObjectItemCaseSensitive(job, "env"))) {
		free(p);
		p = spec_path_key(t->path, "env");
		spec_parse_env(c, v, p, &j->env, &j->nenv, &envcap);
	}
	if (FIELD("env_clear"))
		spec_get_bool(c, v, p, &j->env_clear);
	if (FIELD("unset"))
		j->unset = spec_get_str_array(c, v, p, false, false, &j->nunset);
	if (FIELD("secret_env"))
		j->secret = spec_get_str_array(c, v, p, false, false, &j->nsecret);
	if (FIELD("cwd")) {
		const char *s = spec_get_str(c, v, p);
		if (s && !*s)
			spec_expected(c, p, "a directory", v);
		else if (s)
			j->cwd = xstrdup(s);
	}
	if (FIELD("stdin") && j->kind == KIND_STEPS && cJSON_GetObjectItemCaseSensitive(job, "stdin"))
		spec_err(c, p, "a steps job reads its items from \"items\" (e.g. {\"lines\": \"-\"} for stdin)");
	else if (FIELD("stdin") && !j->pool_items_given && j->kind != KIND_STEPS)
		parse_stdin(c, v, p, &j->in);
	if (FIELD("stdout")) {
		spec_parse_output(c, v, p, false, &j->out);
	}
	if (FIELD("stderr"))
		spec_parse_output(c, v, p, true, &j->err);
	if (FIELD("encoding")) {
		const char *s = cJSON_IsString(v) ? v->valuestring : "";
		if (!strcmp(s, "auto"))
			j->encoding = ENC_AUTO;
		else if (!strcmp(s, "utf-8"))
			j->encoding = ENC_UTF8;
		else if (!strcmp(s, "base64"))
			j->encoding = ENC_BASE64;
		else
			spec_expected(c, p, "\"auto\", \"utf-8\" or \"base64\"", v);
	}
	if (FIELD("max_output"))
		spec_get_size(c, v, p, &j->max_output);
	if (FIELD("digest"))
		spec_get_bool(c, v, p, &j->digest);
	if (FIELD("timeout"))
		spec_get_duration(c, v, p, &j->timeout);
	if (FIELD("signal"))
		spec_get_signal(c, v, p, &j->signal);
	if (FIELD("kill_after"))
		spec_get_duration(c, v, p, &j->kill_after);
	if (FIELD("expect")) {
		if (cJSON_IsNumber(v)) {
			long x;
			if (spec_get_long(c, v, p, -64, 255, &x)) {
				j->expect = xmalloc(sizeof *j->expect);
				j->expect[0] = (int)x;
				j->nexpect = 1;
			}
		} else if (!cJSON_IsArray(v) || !cJSON_GetArraySize(v)) {
			spec_expected(c, p, "a non-empty array of exit codes", v);
		} else {
			size_t n = (size_t)cJSON_GetArraySize(v), i = 0;
			j->expect = xcalloc(n, sizeof *j->expect);
			for (const cJSON *e = v->child; e; e = e->next, i++) {
				char *ep = spec_path_idx(p, i);
				long x;
				if (spec_get_long(c, e, ep, -64, 255, &x))
					j->expect[i] = (int)x;
				free(ep);
			}
			j->nexpect = n;
		}
	}
	if (FIELD("retries")) {
		long x;
		if (spec_get_long(c, v, p, 0, 1000000, &x))
			j->retries = (int)x;
	}
	if (FIELD("retry_delay"))
		spec_get_duration(c, v, p, &j->retry_delay);
	if (FIELD("retry_backoff")) {
		if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1.0) || v->valuedouble > 1000)
			spec_expected(c, p, "a number from 1 to 1000", v);
		else
			j->retry_backoff = v->valuedouble;
	}
	if (FIELD("repeat")) {
		if (spec_get_long(c, v, p, 1, MAX_JOBS, &t->repeat))
			t->has_repeat = true;
	}
	if (FIELD("foreach")) {
		t->foreach = spec_get_str_array(c, v, p, false, true, &t->nforeach);
		if (t->foreach && !t->nforeach)
			spec_expected(c, p, "a non-empty array", v);
		else if (t->foreach)
			t->has_foreach = true;
		t->foreach_path = xstrdup(p);
	}
	if (FIELD("after"))
		j->after = spec_get_str_array(c, v, p, true, false, &j->nafter);
	if (FIELD("always"))
		spec_get_bool(c, v, p, &j->always);
	if (FIELD("pipefail"))
		spec_get_bool(c, v, p, &j->pipefail);
	if (FIELD("nice")) {
		long x;
		if (spec_get_long(c, v, p, -20, 19, &x)) {
			j->has_nice = true;
			j->nice = (int)x;
		}
	}
	if (FIELD("umask")) {
		uint64_t m = 0;
		bool ok = false;
		if (cJSON_IsString(v) && *v->valuestring &&
		    strspn(v->valuestring, "01234567") == strlen(v->valuestring)) {
			m = strtoull(v->valuestring, NULL, 8);
			ok = m <= 0777;
		} else if (cJSON_IsNumber(v) && v->valuedouble >= 0 &&
			   v->valuedouble <= 0777 && v->valuedouble == floor(v->valuedouble)) {
			m = (uint64_t)v->valuedouble;
			ok = true;
		}
		if (ok) {
			j->has_umask = true;
			j->umask = (mode_t)m;
		} else {
			spec_expected(c, p, "an octal string like \"022\"", v);
		}
	}
	if (FIELD("rlimits"))
		parse_rlimits(c, v, p, j);
	if (FIELD("pass_fds")) {
		if (!cJSON_IsArray(v)) {
			spec_expected(c, p, "an array of file descriptor numbers", v);
		} else {
			size_t n = (size_t)cJSON_GetArraySize(v), i = 0;
			j->pass_fds = xcalloc(n ? n : 1, sizeof *j->pass_fds);
			for (const cJSON *e = v->child; e; e = e->next, i++) {
				char *ep = spec_path_idx(p, i);
				long x;
				if (spec_get_long(c, e, ep, 3, 65535, &x))
					j->pass_fds[i] = (int)x;
				free(ep);
			}
			j->npass_fds = n;
		}
	}
	if (j->kind == KIND_POOL) {
		if (j->pool_items_given && cJSON_GetObjectItemCaseSensitive(job, "stdin")) {
			free(p);
			p = spec_path_key(t->path, "stdin");
			spec_err(c, p, "a pool job with \"items\" takes its items as stdin");
		}
		if (j->out.mode != IO_CAPTURE) {
			free(p);
			p = spec_path_key(t->path, "stdout");
			spec_err(c, p, "a pool job's stdout is its results; it is always captured");
		}
	}
	if ((j->kind == KIND_PIPELINE || j->kind == KIND_STEPS) && j->npass_fds) {
		free(p);
		p = spec_path_key(t->path, "pass_fds");
		spec_err(c, p, "pass_fds is not supported for %s jobs (their host uses fds 3 and up)",
		    job_kind_name(j->kind));
	}
	free(p);
#undef FIELD
	t->ok = c->errs->n == errs_before;
}

/* ------------------------------------------------------------ expansion */

/* {} / {#} / {{}} in argv items, env values, cwd and stdin.text (and a
 * step's argv): the value as it is.  `shell` scripts go through
 * shell_subst() instead. */
char *placeholder_subst(const char *s, const char *value, size_t index)
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
		r[i].value = subst ? placeholder_subst(env[i].value, value, index)
				   : xstrdup(env[i].value);
	}
	return r;
}

static void io_copy(struct io_spec *d, const struct io_spec *s)
{
	*d = *s;
	d->path = s->path ? xstrdup(s->path) : NULL;
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
	bool pass_value = false;
	j->shell = s->shell && !subst ? xstrdup(s->shell) : NULL;
	if (s->shell && subst) {
		/* a foreach value never becomes script text: sh gets it as
		 * $1; repeat's {} is the copy index, an integer, as text */
		struct shell_script sc;
		char *why;
		if (shell_subst(s->shell, t->has_foreach ? NULL : value, index, &sc, &why) == 0) {
			j->shell = sc.script;
			pass_value = sc.takes_value;
		} else {        /* spec_expand() reported it and made no copies */
			free(why);
			j->shell = xstrdup(s->shell);
		}
	}
	j->env = dup_env(s->env, s->nenv, value, index, subst);
	j->unset = spec_strv_dup(s->unset, s->nunset);
	j->secret = spec_strv_dup(s->secret, s->nsecret);
	j->secret_values = NULL;
	j->nsecret_values = 0;
	j->cwd = s->cwd ? (subst ? placeholder_subst(s->cwd, value, index)
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
	j->steps = steps_spec_dup(s->steps);
	io_copy(&j->out, &s->out);
	io_copy(&j->err, &s->err);
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
	if (s->kind == KIND_SHELL) {
		j->nstages = 1;
		j->stages = xcalloc(1, sizeof *j->stages);
		j->stages[0].argc = pass_value ? 5 : 3;
		j->stages[0].argv = xcalloc(6, sizeof(char *));
		j->stages[0].argv[0] = xstrdup("/bin/sh");
		j->stages[0].argv[1] = xstrdup("-c");
		j->stages[0].argv[2] = xstrdup(j->shell);
		if (pass_value) {       /* $0 as without a value, $1 the value */
			j->stages[0].argv[3] = xstrdup("/bin/sh");
			j->stages[0].argv[4] = xstrdup(value);
		}
	} else {
		j->nstages = t->nstages;
		j->stages = t->nstages ? xcalloc(t->nstages, sizeof *j->stages) : NULL;
		for (size_t k = 0; k < t->nstages; k++) {
			const struct tstage *ts = &t->stages[k];
			struct stage_spec *st = &j->stages[k];
			st->argc = ts->argc;
			st->argv = xcalloc(ts->argc + 1, sizeof(char *));
			for (size_t a = 0; a < ts->argc; a++)
				st->argv[a] = subst && !ts->argv[a].raw
					? placeholder_subst(ts->argv[a].s, value, index)
					: xstrdup(ts->argv[a].s);
			st->env = dup_env(ts->env, ts->nenv, value, index, subst);
			st->nenv = ts->nenv;
			io_copy(&st->err, &ts->err);
			st->has_err = ts->has_err;
		}
	}
}

static void stage_free(struct stage_spec *st)
{
	spec_strv_free(st->argv, st->argc);
	for (size_t i = 0; i < st->nenv; i++) {
		free(st->env[i].name);
		free(st->env[i].value);
	}
	free(st->env);
	free(st->err.path);
	free(st->exe);
	free(st->exe_error);
	/* envp points into the runner's environ too; free only ours */
	free(st->envp);
	spec_strv_free(st->envp_owned, st->nenvp_owned);
}

static void spec_job_free(struct job_spec *j)
{
	free(j->name);
	free(j->base);
	free(j->shell);
	for (size_t i = 0; i < j->nstages; i++)
		stage_free(&j->stages[i]);
	free(j->stages);
	for (size_t i = 0; i < j->nenv; i++) {
		free(j->env[i].name);
		free(j->env[i].value);
	}
	free(j->env);
	spec_strv_free(j->unset, j->nunset);
	spec_strv_free(j->secret, j->nsecret);
	spec_strv_free(j->secret_values, j->nsecret_values);
	free(j->cwd);
	free(j->in.data);
	free(j->in.path);
	free(j->in.from);
	free(j->out.path);
	free(j->err.path);
	free(j->expect);
	spec_strv_free(j->after, j->nafter);
	free(j->deps);
	free(j->rlimits);
	free(j->pass_fds);
	free(j->value);
	steps_spec_free(j->steps);
}

static void tmpl_free(struct tmpl *t)
{
	struct job_spec *j = &t->j;
	free(j->name);
	free(j->shell);
	for (size_t i = 0; i < j->nenv; i++) {
		free(j->env[i].name);
		free(j->env[i].value);
	}
	free(j->env);
	spec_strv_free(j->unset, j->nunset);
	spec_strv_free(j->secret, j->nsecret);
	free(j->cwd);
	free(j->in.data);
	free(j->in.path);
	free(j->in.from);
	free(j->out.path);
	free(j->err.path);
	free(j->expect);
	spec_strv_free(j->after, j->nafter);
	free(j->rlimits);
	free(j->pass_fds);
	steps_spec_free(j->steps);
	for (size_t i = 0; i < t->nstages; i++)
		spec_tstage_free(&t->stages[i]);
	free(t->stages);
	spec_strv_free(t->foreach, t->nforeach);
	free(t->path);
	free(t->shell_path);
	free(t->foreach_path);
}

static void spec_collect_secrets(struct job_spec *j);

/* Is foreach[v] data as the {} of t's shell script (copy j)?  If not, an
 * error naming the value, with j's secrets hidden. */
static void check_shell_value(struct ctx *c, const struct tmpl *t, size_t v,
			      struct job_spec *j, const char *arith)
{
	char *why = shell_value_check(t->foreach[v], arith);
	if (!why)
		return;
	spec_collect_secrets(j);
	char *shown = spec_redact(j, t->foreach[v]);
	cJSON *tmp = cJSON_CreateString(shown);
	char *d = spec_describe(tmp);
	char *p = spec_path_idx(t->foreach_path, v);
	spec_err(c, p, "%s: %s", d, why);
	free(p);
	free(d);
	cJSON_Delete(tmp);
	free(shown);
	free(why);
}

/* Expand every template into concrete jobs, in spec order. */
static void spec_expand(struct ctx *c, struct tmpl *t, size_t nt, struct spec *s)
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
		/* a shell script's {} is a reference to the value, passed
		 * as $1: the script must have a place for it (checked once),
		 * and each value must be data there (once per value) */
		const char *arith = NULL;
		bool shell_value = false;
		if (tp->j.shell && tp->has_foreach) {
			struct shell_script sc;
			char *why;
			if (shell_subst(tp->j.shell, NULL, 1, &sc, &why) < 0) {
				spec_err(c, tp->shell_path, "%s", why);
				free(why);
				continue;
			}
			arith = sc.arith;
			shell_value = sc.takes_value;
			free(sc.script);
		}
		if (!tp->has_foreach && !tp->has_repeat) {
			spec_instantiate(tp, &s->jobs[s->njobs++], xstrdup(base), NULL, 0);
			continue;
		}
		size_t index = 0;
		size_t nv = tp->has_foreach ? tp->nforeach : 1;
		for (size_t v = 0; v < nv; v++) {
			const char *value = tp->has_foreach ? tp->foreach[v] : NULL;
			size_t occ = 1;
			for (size_t w = 0; w < v && value; w++)
				if (!strcmp(tp->foreach[w], value))
					occ++;
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
				if (shell_value && r == 1)
					check_shell_value(c, tp, v, &s->jobs[s->njobs - 1], arith);
			}
		}
	}
}

/* ------------------------------------------------ names and dependencies */

/* Indices of the jobs `name` refers to: the job of that exact name, else
 * every copy of a base name. */
static size_t *spec_lookup_jobs(const struct spec *s, const char *name, size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < s->njobs; i++)
		if (!strcmp(s->jobs[i].name, name)) {
			size_t *r = xmalloc(sizeof *r);
			r[0] = i;
			*n = 1;
			return r;
		}
	size_t *r = NULL, cap = 0;
	for (size_t i = 0; i < s->njobs; i++)
		if (!strcmp(s->jobs[i].base, name)) {
			xgrow(&r, &cap, *n + 1, sizeof *r);
			r[(*n)++] = i;
		}
	return r;
}

static void add_dep(struct job_spec *j, size_t d, size_t *cap)
{
	for (size_t k = 0; k < j->ndeps; k++)
		if (j->deps[k] == d)
			return;
	xgrow(&j->deps, cap, j->ndeps + 1, sizeof *j->deps);
	j->deps[j->ndeps++] = d;
}

static void spec_check_names(struct ctx *c, struct spec *s)
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

static void spec_resolve_deps(struct ctx *c, struct spec *s)
{
	for (size_t i = 0; i < s->njobs; i++) {
		struct job_spec *j = &s->jobs[i];
		size_t cap = 0;
		for (size_t k = 0; k < j->nafter; k++) {
			size_t n, *idx = spec_lookup_jobs(s, j->after[k], &n);
			char *p = xasprintf("jobs[%zu].after[%zu]", j->spec_index, k);
			if (!n)
				spec_err(c, p, "no job named \"%s\"", j->after[k]);
			for (size_t m = 0; m < n; m++) {
				if (idx[m] == i)
					spec_err(c, p, "a job cannot wait for itself");
				else
					add_dep(j, idx[m], &cap);
			}
			free(p);
			free(idx);
		}
		if (j->in.kind == IN_FROM) {
			size_t n, *idx = spec_lookup_jobs(s, j->in.from, &n);
			char *p = xasprintf(j->kind == KIND_STEPS ? "jobs[%zu].items.from"
					    : "jobs[%zu].stdin.from", j->spec_index);
			if (!n)
				spec_err(c, p, "no job named \"%s\"", j->in.from);
			else if (n > 1)
				spec_err(c, p, "\"%s\" names %zu jobs; stdin.from needs exactly one (e.g. \"%s\")",
				    j->in.from, n, s->jobs[idx[0]].name);
			else if (idx[0] == i)
				spec_err(c, p, "a job cannot read its own output");
			else {
				j->in.from_idx = idx[0];
				add_dep(j, idx[0], &cap);
				const struct job_spec *f = &s->jobs[idx[0]];
				if (f->out.mode != IO_CAPTURE && f->out.mode != IO_TEE)
					spec_err(c, p, "job \"%s\" does not capture its stdout (its stdout is \"%s\")",
					    f->name, io_mode_name(f->out.mode));
			}
			free(p);
			free(idx);
		}
	}
}

/* Depth-first search for a cycle; reports one per strongly tied group. */
static void spec_check_cycles(struct ctx *c, struct spec *s)
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

char *path_resolve(const char *prog, const char *path_env, const char *cwd,
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
	uint64_t h = 1469598103934665603ull;
	for (const char *const *k = (const char *const[]){ prog, path, cwd }, *const *e = k + 3;
	     k < e; k++) {
		for (const char *p = *k ? *k : ""; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		h = (h ^ 0xff) * 1099511628211ull;
	}
	__typeof__(rc->slot[0]) *sl = &rc->slot[h % RESOLVE_SLOTS];
	if (sl->prog && !strcmp(sl->prog, prog) && same_str(sl->path, path) &&
	    same_str(sl->cwd, cwd)) {
		*status = sl->status;
		return sl->exe ? xstrdup(sl->exe) : NULL;
	}
	char *exe = path_resolve(prog, path, cwd, status);
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
static void spec_collect_secrets(struct job_spec *j)
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
		if (j->kind == KIND_POOL || j->kind == KIND_STEPS) {
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

/* ------------------------------------------------------------ top level */

static void parse_top(struct ctx *c, const cJSON *root, struct spec *s)
{
	const cJSON *v;
	s->mode = MODE_ASYNC;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "name"))) {
		const char *n = spec_get_str(c, v, "name");
		s->name = n ? xstrdup(n) : NULL;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "mode"))) {
		const char *m = cJSON_IsString(v) ? v->valuestring : "";
		if (!strcmp(m, "async"))
			s->mode = MODE_ASYNC;
		else if (!strcmp(m, "serial"))
			s->mode = MODE_SERIAL;
		else if (!strcmp(m, "thread"))
			s->mode = MODE_THREAD;
		else
			spec_expected(c, "mode", "\"async\", \"thread\" or \"serial\"", v);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "max_parallel")))
		spec_get_long(c, v, "max_parallel", 0, 1000000, &s->max_parallel);
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "timeout")))
		spec_get_duration(c, v, "timeout", &s->timeout);
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "fail_fast"))) {
		if (cJSON_IsBool(v))
			s->fail_fast = cJSON_IsTrue(v) ? 1 : 0;
		else if (!cJSON_IsNumber(v) || v->valuedouble < 1 ||
			 v->valuedouble != floor(v->valuedouble) || v->valuedouble > 1e9)
			spec_expected(c, "fail_fast", "true, false or a number of jobs >= 1", v);
		else
			s->fail_fast = (long)v->valuedouble;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "tag")))
		spec_get_bool(c, v, "tag", &s->tag);
}

struct spec *spec_load_mem(const char *name, const char *text, size_t len,
			   struct errlist *errs)
{
	struct ctx c = { .file = name, .errs = errs };
	size_t errs_before = errs->n;
	cJSON *root = spec_parse_json(&c, text, len);
	if (!root)
		return NULL;
	if (!spec_check_raw(&c, root, text, len)) {
		cJSON_Delete(root);
		free(c.nul_texts);
		return NULL;
	}
	struct spec *s = xcalloc(1, sizeof *s);
	s->file = xstrdup(name);
	if (!cJSON_IsObject(root)) {
		spec_expected(&c, NULL, "a JSON object with \"jobs\" at the top", root);
		goto fail;
	}
	spec_check_dups(&c, root, "");
	spec_check_keys(&c, root, "", top_keys, "not a top-level field");
	parse_top(&c, root, s);

	const cJSON *defaults = cJSON_GetObjectItemCaseSensitive(root, "defaults");
	if (defaults && !cJSON_IsObject(defaults)) {
		spec_expected(&c, "defaults", "an object of job fields", defaults);
		defaults = NULL;
	}
	if (defaults)
		spec_check_keys(&c, defaults, "defaults", default_keys,
			   cJSON_GetObjectItemCaseSensitive(defaults, "name")
			   ? "names are per job" : "not a job field");

	const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(root, "jobs");
	if (!jobs) {
		spec_err(&c, NULL, "\"jobs\" is missing (expected a non-empty array of jobs)");
		goto fail;
	}
	if (!cJSON_IsArray(jobs) || !cJSON_GetArraySize(jobs)) {
		spec_expected(&c, "jobs", "a non-empty array of jobs", jobs);
		goto fail;
	}
	size_t nt = (size_t)cJSON_GetArraySize(jobs), i = 0;
	struct tmpl *t = xcalloc(nt, sizeof *t);
	for (const cJSON *j = jobs->child; j; j = j->next, i++)
		parse_job(&c, j, defaults, i, &t[i]);
	if (errs->n == errs_before)
		spec_expand(&c, t, nt, s);
	for (i = 0; i < nt; i++)
		tmpl_free(&t[i]);
	free(t);
	if (errs->n != errs_before)
		goto fail;
	spec_check_names(&c, s);
	spec_resolve_deps(&c, s);
	if (errs->n == errs_before)
		spec_check_cycles(&c, s);
	if (errs->n != errs_before)
		goto fail;
	struct resolve_cache *rc = xcalloc(1, sizeof *rc);
	for (i = 0; i < s->njobs; i++)
		resolve_job(&s->jobs[i], rc);
	resolve_cache_free(rc);
	free(rc);
	cJSON_Delete(root);
	free(c.nul_texts);
	return s;
fail:
	cJSON_Delete(root);
	free(c.nul_texts);
	spec_free(s);
	return NULL;
}

char *spec_read(const char *file, size_t *len, struct errlist *errs)
{
	int fd = strcmp(file, "-") ? open(file, O_RDONLY | O_CLOEXEC) : 0;
	const char *shown = strcmp(file, "-") ? file : "<stdin>";
	if (fd < 0) {
		errlist_add(errs, "piperun: %s: cannot open: %s", shown, strerror(errno));
		return NULL;
	}
	struct buf b = { 0 };
	for (;;) {
		buf_reserve(&b, 65536);
		ssize_t r = read(fd, b.p + b.len, b.cap - b.len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			errlist_add(errs, "piperun: %s: cannot read: %s", shown, strerror(errno));
			if (fd)
				close(fd);
			buf_free(&b);
			return NULL;
		}
		if (r == 0)
			break;
		b.len += (size_t)r;
		if (b.len > (256u << 20)) {
			errlist_add(errs, "piperun: %s: spec larger than 256 MiB", shown);
			if (fd)
				close(fd);
			buf_free(&b);
			return NULL;
		}
	}
	if (fd)
		close(fd);
	*len = b.len;
	return b.p ? buf_detach(&b) : xstrdup("");
}

struct spec *spec_load(const char *file, struct errlist *errs)
{
	size_t len;
	char *text = spec_read(file, &len, errs);
	if (!text)
		return NULL;
	struct spec *s = spec_load_mem(strcmp(file, "-") ? file : "<stdin>", text, len, errs);
	free(text);
	return s;
}

void spec_free(struct spec *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->njobs; i++)
		spec_job_free(&s->jobs[i]);
	free(s->jobs);
	free(s->file);
	free(s->name);
	free(s);
}

int spec_select(struct spec *s, char **names, size_t n, struct errlist *errs)
{
	bool *keep = xcalloc(s->njobs ? s->njobs : 1, sizeof *keep);
	size_t *stack = xmalloc((s->njobs ? s->njobs : 1) * sizeof *stack), sp = 0;
	int rc = 0;
	for (size_t k = 0; k < n; k++) {
		size_t m, *idx = spec_lookup_jobs(s, names[k], &m);
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

const char *job_kind_name(enum job_kind k)
{
	static const char *const names[] = { "run", "shell", "pipeline", "pool", "steps" };
	return names[k];
}

const char *run_mode_name(enum run_mode m)
{
	static const char *const names[] = { "async", "serial", "thread" };
	return names[m];
}

const char *io_mode_name(enum io_mode m)
{
	static const char *const names[] = { "capture", "tee", "inherit", "null", "stdout", "file" };
	return names[m];
}

/* ------------------------------------------------------------ pool items */

int spec_parse_item_array(const char *text, size_t len, struct piperun_arg **args,
			  size_t *nargs, char **why)
{
	const char *end = NULL;
	cJSON *v = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!v) {
		const char *deep = json_too_deep(text, len);
		*why = deep && deep == cJSON_GetErrorPtr()
			? xasprintf("JSON nested more than %d levels deep (the limit)", CJSON_NESTING_LIMIT)
			: xstrdup("malformed JSON array");
		return -1;
	}
	while (end && end < text + len && isspace((unsigned char)*end))
		end++;
	if (!cJSON_IsArray(v) || (end && end != text + len)) {
		cJSON_Delete(v);
		*why = xstrdup("expected one JSON array of arguments");
		return -1;
	}
	/* numbers from their digits, as on a line of plain numbers: an
	 * integer token is an int64 when it fits (the double cJSON made
	 * of it may not be exact); any other value as written */
	struct raw_toks rt = { .top = true };
	size_t n = (size_t)cJSON_GetArraySize(v), k = 0;
	if (!raw_tokens(&rt, v, text, len) || rt.n != n) {
		*why = xstrdup("internal error: the array reads differently the second time");
		goto fail;
	}
	for (const cJSON *e = v->child; e; e = e->next, k++) {
		if (cJSON_IsNumber(e) && !isfinite(e->valuedouble)) {
			*why = xasprintf("argument %zu: %.*s is out of range", k + 1,
					 (int)rt.t[k].len, rt.t[k].tok);
			goto fail;
		}
		/* a task's string argument is a C string: it would end there
		 * (a nested value is passed on as its JSON text, escapes and
		 * all) */
		if (cJSON_IsString(e) && raw_has_nul(rt.t[k].tok, rt.t[k].len)) {
			*why = xstrdup("a NUL byte (\\u0000) in a string");
			goto fail;
		}
	}
	*args = xcalloc(n ? n : 1, sizeof **args);
	k = 0;
	for (const cJSON *e = v->child; e; e = e->next, k++) {
		struct piperun_arg *a = &(*args)[k];
		const char *tok = rt.t[k].tok;
		size_t tl = rt.t[k].len;
		if (cJSON_IsNumber(e)) {
			a->type = PIPERUN_ARG_NUMBER;
			a->d = e->valuedouble;
			size_t sign = tok[0] == '-';
			if (tl > sign && tl < 64 && strspn(tok + sign, "0123456789") == tl - sign) {
				char num[64];
				memcpy(num, tok, tl);
				num[tl] = 0;
				errno = 0;
				long long i = strtoll(num, NULL, 10);
				if (!errno) {
					a->type = PIPERUN_ARG_INT;
					a->i = i;
					a->d = (double)i;
				}
			}
		} else if (cJSON_IsString(e)) {
			a->type = PIPERUN_ARG_STRING;
			a->s = xstrdup(e->valuestring);
		} else {
			a->type = PIPERUN_ARG_OTHER;
			a->s = xstrndup(tok, tl);
		}
	}
	*nargs = n;
	free(rt.t);
	cJSON_Delete(v);
	return 0;
fail:
	free(rt.t);
	cJSON_Delete(v);
	return -1;
}

bool json_text_valid(const char *text)
{
	const char *end = NULL;
	size_t len = strlen(text);
	cJSON *v = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!v)
		return false;
	while (end && end < text + len && isspace((unsigned char)*end))
		end++;
	cJSON_Delete(v);
	return end == text + len;
}

/* Is tok a number as JSON writes one (cJSON also takes 007, 1. and .5)? */
static bool json_number_strict(const char *tok, size_t len)
{
	size_t i = 0;
	if (i < len && tok[i] == '-')
		i++;
	if (i < len && tok[i] == '0')
		i++;
	else if (i < len && tok[i] >= '1' && tok[i] <= '9')
		while (i < len && isdigit((unsigned char)tok[i]))
			i++;
	else
		return false;
	if (i < len && tok[i] == '.') {
		size_t d = ++i;
		while (i < len && isdigit((unsigned char)tok[i]))
			i++;
		if (i == d)
			return false;
	}
	if (i < len && (tok[i] == 'e' || tok[i] == 'E')) {
		i++;
		if (i < len && (tok[i] == '+' || tok[i] == '-'))
			i++;
		size_t d = i;
		while (i < len && isdigit((unsigned char)tok[i]))
			i++;
		if (i == d)
			return false;
	}
	return i == len;
}

/* nums: the document's number tokens in order, cur the next to match */
struct splice_nums {
	struct raw_toks t;
	size_t cur;
};

static void splice_value(struct jw *w, const cJSON *v, const struct job_spec *j,
			 struct splice_nums *nums)
{
	if (cJSON_IsObject(v)) {
		bool scalars = true;
		for (const cJSON *e = v->child; e && scalars; e = e->next)
			scalars = !cJSON_IsObject(e) && !cJSON_IsArray(e);
		jw_obj(w, scalars);
		for (const cJSON *e = v->child; e; e = e->next) {
			/* keys too: a steps record keys some objects by name */
			char *k = j && j->nsecret_values ? spec_redact(j, e->string) : NULL;
			jw_key(w, k ? k : e->string);
			free(k);
			splice_value(w, e, j, nums);
		}
		jw_obj_end(w);
	} else if (cJSON_IsArray(v)) {
		bool scalars = true;
		for (const cJSON *e = v->child; e && scalars; e = e->next)
			scalars = !cJSON_IsObject(e) && !cJSON_IsArray(e);
		jw_arr(w, scalars);
		for (const cJSON *e = v->child; e; e = e->next)
			splice_value(w, e, j, nums);
		jw_arr_end(w);
	} else if (cJSON_IsString(v)) {
		char *r = j && j->nsecret_values ? spec_redact(j, v->valuestring) : NULL;
		jw_str(w, r ? r : v->valuestring);
		free(r);
	} else if (cJSON_IsNumber(v)) {
		/* as written: the double may have lost digits (an int64
		 * beyond 2^53) or gained some (16.2 as %.17g) */
		while (nums->cur < nums->t.n && nums->t.t[nums->cur].v != v)
			nums->cur++;
		const struct raw_tok *t = nums->cur < nums->t.n ? &nums->t.t[nums->cur] : NULL;
		double d = v->valuedouble;
		if (t && json_number_strict(t->tok, t->len)) {
			char *num = xstrndup(t->tok, t->len);
			jw_raw(w, num);
			free(num);
		} else if (d == floor(d) && fabs(d) < 9007199254740992.0) {
			jw_int(w, (int64_t)d);
		} else {
			char b[40];
			snprintf(b, sizeof b, "%.17g", d);
			jw_raw(w, b);
		}
	} else if (cJSON_IsBool(v)) {
		jw_bool(w, cJSON_IsTrue(v));
	} else {
		jw_null(w);
	}
}

int json_splice_members(struct jw *w, const char *text, size_t len, const char *const *skip,
			const struct job_spec *redact)
{
	cJSON *v = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(v)) {
		cJSON_Delete(v);
		return -1;
	}
	struct splice_nums nums = { 0 };
	if (!raw_tokens(&nums.t, v, text, len))
		nums.t.n = 0;   /* numbers from their doubles, then */
	for (const cJSON *e = v->child; e; e = e->next) {
		bool skipped = false;
		for (size_t i = 0; skip && skip[i] && !skipped; i++)
			skipped = !strcmp(skip[i], e->string);
		if (skipped)
			continue;
		jw_key(w, e->string);
		splice_value(w, e, redact, &nums);
	}
	free(nums.t.t);
	cJSON_Delete(v);
	return 0;
}

/* ------------------------------------------------------------ warnings */

/* Where the script of a shell's -c is in argv (a JSON array), or -1: sh,
 * bash, dash, ksh, zsh, mksh (by basename) and busybox sh, their
 * options first, -c perhaps among others (-ec). */
static int shell_script_index(const cJSON *argv)
{
	static const char *const shells[] = { "sh", "bash", "dash", "ksh", "zsh", "mksh", "ash",
					      NULL };
	const cJSON *a = argv->child;
	if (!cJSON_IsString(a))
		return -1;
	const char *b = strrchr(a->valuestring, '/');
	b = b ? b + 1 : a->valuestring;
	int i = 1;
	a = a->next;
	if (!strcmp(b, "busybox")) {
		b = cJSON_IsString(a) ? a->valuestring : "";
		a = a ? a->next : NULL;
		i = 2;
	}
	bool known = false, dash_c = false;
	for (size_t k = 0; shells[k]; k++)
		known = known || !strcmp(b, shells[k]);
	for (; known && cJSON_IsString(a); a = a->next, i++) {
		const char *s = a->valuestring;
		if (!strcmp(s, "--") || !strcmp(s, "-")) {
			a = a->next;
			i++;
			break;
		}
		if ((*s != '-' && *s != '+') || !s[1])
			break;                  /* the first operand */
		if (s[1] == '-')
			continue;               /* --posix, --norc ... */
		for (const char *o = s + 1; *o; o++) {
			dash_c = dash_c || (*s == '-' && *o == 'c');
			if ((*o == 'o' || *o == 'O') && a->next) {  /* -o NAME */
				a = a->next;
				i++;
			}
		}
	}
	return known && dash_c && cJSON_IsString(a) ? i : -1;
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
static char *positional_form(const cJSON *argv, int i)
{
	const cJSON *script = cJSON_GetArrayItem(argv, i);
	char *s = script->next ? NULL : shell_subst_positional(script->valuestring);
	if (!s)
		return xstrdup("[\"sh\", \"-c\", \"... \\\"$1\\\" ...\", \"sh\", \"{}\"]");
	cJSON *a = cJSON_CreateArray();
	int k = 0;
	for (const cJSON *e = argv->child; e && k < i; e = e->next, k++)
		cJSON_AddItemToArray(a, cJSON_CreateString(e->valuestring));
	cJSON_AddItemToArray(a, cJSON_CreateString(s));
	cJSON_AddItemToArray(a, cJSON_CreateString("sh"));
	cJSON_AddItemToArray(a, cJSON_CreateString("{}"));
	char *p = cJSON_PrintUnformatted(a);
	char *r = xstrdup(p ? p : "[...]");
	cJSON_free(p);
	cJSON_Delete(a);
	free(s);
	return r;
}

static void warn_shell_argv(struct ctx *c, const cJSON *argv, const char *path, bool coprocess)
{
	int i = cJSON_IsArray(argv) ? shell_script_index(argv) : -1;
	if (i < 0 || !has_value_placeholder(cJSON_GetArrayItem(argv, i)->valuestring))
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
static void warn_job_argvs(struct ctx *c, const cJSON *src, const char *path)
{
	char *p = spec_path_key(path, "run");
	warn_shell_argv(c, cJSON_GetObjectItemCaseSensitive(src, "run"), p, false);
	free(p);
	const cJSON *pl = cJSON_GetObjectItemCaseSensitive(src, "pipeline");
	size_t k = 0;
	for (const cJSON *st = cJSON_IsArray(pl) ? pl->child : NULL; st; st = st->next, k++) {
		char *pk = spec_path_key(path, "pipeline"), *sp = spec_path_idx(pk, k);
		if (cJSON_IsObject(st)) {
			char *r = spec_path_key(sp, "run");
			warn_shell_argv(c, cJSON_GetObjectItemCaseSensitive(st, "run"), r, false);
			free(r);
		} else {
			warn_shell_argv(c, st, sp, false);
		}
		free(sp);
		free(pk);
	}
}

void spec_warnings(const char *name, const char *text, size_t len, struct errlist *warns)
{
	struct ctx c = { .file = name, .errs = warns };
	cJSON *root = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return;
	}
	const cJSON *defaults = cJSON_GetObjectItemCaseSensitive(root, "defaults");
	if (!cJSON_IsObject(defaults))
		defaults = NULL;
	const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(root, "jobs");
	bool defaults_seen = false;
	size_t i = 0;
	for (const cJSON *j = cJSON_IsArray(jobs) ? jobs->child : NULL; j; j = j->next, i++) {
		if (!cJSON_IsObject(j))
			continue;
		char *jp = spec_path_idx("jobs", i);
		/* a step's {} is the item */
		const cJSON *steps = cJSON_GetObjectItemCaseSensitive(j, "steps");
		char *sp = spec_path_key(jp, "steps");
		size_t k = 0;
		for (const cJSON *st = cJSON_IsArray(steps) ? steps->child : NULL; st;
		     st = st->next, k++) {
			char *stp = spec_path_idx(sp, k), *p = spec_path_key(stp, "run");
			warn_shell_argv(&c, cJSON_GetObjectItemCaseSensitive(st, "run"), p, false);
			free(p);
			p = spec_path_key(stp, "coprocess");
			warn_shell_argv(&c, cJSON_GetObjectItemCaseSensitive(st, "coprocess"), p, true);
			free(p);
			free(stp);
		}
		free(sp);
		/* a run or pipeline argv's {} is a foreach value */
		bool own = false;
		for (size_t w = 0; spec_what_keys[w]; w++)
			own = own || cJSON_GetObjectItemCaseSensitive(j, spec_what_keys[w]);
		bool foreach = cJSON_GetObjectItemCaseSensitive(j, "foreach") ||
			       (defaults && cJSON_GetObjectItemCaseSensitive(defaults, "foreach"));
		if (foreach && own)
			warn_job_argvs(&c, j, jp);
		else if (foreach && defaults && !defaults_seen) {
			defaults_seen = true;
			warn_job_argvs(&c, defaults, "defaults");
		}
		free(jp);
	}
	cJSON_Delete(root);
}
