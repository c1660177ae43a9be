/* SPDX-License-Identifier: GPL-3.0-or-later */
/* spec-json.c - JSON access for the spec loader: parsing with line:column
 * errors, the second read of the text beside cJSON's tree (what cJSON
 * loses: \u0000 in strings, digits beyond 2^53), the value accessors of
 * spec-json.h, duplicate and unknown keys, the items of a pool line, and
 * splicing a child's JSON output into a record.  The only file that
 * includes cJSON.h. */
#include "config.h"
#include "spec.h"
#include "spec-int.h"
#include "spec-json.h"
#include "util.h"
#include "jsonw.h"
#include "strmap.h"
#include "piperun-task.h"

#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- values */

bool jv_is_string(const cJSON *v) { return cJSON_IsString(v); }
bool jv_is_number(const cJSON *v) { return cJSON_IsNumber(v); }
bool jv_is_bool(const cJSON *v) { return cJSON_IsBool(v); }
bool jv_is_true(const cJSON *v) { return cJSON_IsTrue(v); }
bool jv_is_null(const cJSON *v) { return cJSON_IsNull(v); }
bool jv_is_array(const cJSON *v) { return cJSON_IsArray(v); }
bool jv_is_object(const cJSON *v) { return cJSON_IsObject(v); }

const char *jv_str(const cJSON *v)
{
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

double jv_num(const cJSON *v)
{
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

const cJSON *jv_get(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

int jv_size(const cJSON *v)
{
	return cJSON_GetArraySize(v);
}

const cJSON *jv_at(const cJSON *v, int i)
{
	return cJSON_GetArrayItem(v, i);
}

const cJSON *jv_child(const cJSON *v)
{
	return v && (cJSON_IsArray(v) || cJSON_IsObject(v)) ? v->child : NULL;
}

const cJSON *jv_next(const cJSON *e)
{
	return e ? e->next : NULL;
}

const char *jv_key(const cJSON *member)
{
	return member ? member->string : NULL;
}

cJSON *jv_parse(const char *text, size_t len)
{
	return cJSON_ParseWithLength(text, len);
}

cJSON *jv_parse_whole(const char *text, size_t len)
{
	const char *end = NULL;
	cJSON *v = cJSON_ParseWithLengthOpts(text, len, &end, false);
	while (v && end && end < text + len && isspace((unsigned char)*end))
		end++;
	if (v && end != text + len) {
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

void jv_free(cJSON *root)
{
	cJSON_Delete(root);
}

char *jv_strv_text(const char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	char *p = cJSON_PrintUnformatted(a);
	char *r = p ? xstrdup(p) : NULL;
	cJSON_free(p);
	cJSON_Delete(a);
	return r;
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

/* Unbalanced brackets or a string left open: true after reporting. */
static bool bracket_error(struct ctx *c, const char *text, size_t len)
{
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
				return true;
			}
			depth--;
		}
	}
	line_col(text, text + len, &line, &col);
	if (str) {
		line_col(text, str, &l2, &c2);
		spec_err(c, NULL, "line %zu, column %zu: malformed JSON: unexpected end of input in the string that starts at line %zu, column %zu",
		    line, col, l2, c2);
		return true;
	}
	if (depth && depth <= ARRAY_SIZE(open)) {
		const char *p = cJSON_GetErrorPtr();
		/* the document is cut short only if cJSON failed at (or
		 * before the end of) the last opened bracket's content */
		line_col(text, open[depth - 1], &l2, &c2);
		if (!p || p >= open[depth - 1]) {
			spec_err(c, NULL, "line %zu, column %zu: malformed JSON: unexpected end of input ('%c' at line %zu, column %zu is never closed)",
			    line, col, *open[depth - 1], l2, c2);
			return true;
		}
	}
	return false;
}

/* Where cJSON stopped, with the text near it (or an empty document). */
static void near_error(struct ctx *c, const char *text, size_t len)
{
	size_t line, col;
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
}


cJSON *spec_parse_json(struct ctx *c, const char *text, size_t len)
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
	if (!bracket_error(c, text, len))
		near_error(c, text, len);
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

/* jv_token: stop the walk at the value sought. */
struct raw_find {
	const cJSON *v;
	const char *tok;
	size_t len;
};

static void raw_find_visit(struct raw_walk *w, const cJSON *v, const struct raw_at *at,
			   const char *tok, size_t len, bool key)
{
	(void)at;
	struct raw_find *f = w->arg;
	if (key || v != f->v)
		return;
	f->tok = tok;
	f->len = len;
	w->broken = true; /* found: no need to read further */
}

int jv_token(const cJSON *root, const char *text, size_t len, const cJSON *v,
	     const char **tok, size_t *toklen)
{
	struct raw_find f = { .v = v };
	struct raw_walk w = { .visit = raw_find_visit, .arg = &f };
	raw_walk(&w, root, text, len);
	if (!f.tok)
		return -1;
	*tok = f.tok;
	*toklen = f.len;
	return 0;
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
char *spec_raw_string(const char *tok, size_t len, size_t *n)
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
bool spec_check_raw(struct ctx *c, const cJSON *root, const char *text, size_t len)
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
char *spec_num_text(double d)
{
	if (d == u_floor(d) && fabs(d) <= 9007199254740992.0)
		return xasprintf("%lld", (long long)d);
	char b[JW_DOUBLE_MAX];
	jw_double_text(b, d);
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
void spec_json_print(struct buf *b, const cJSON *v)
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

/* The number and string tokens in document order. */
struct raw_tok {
	const cJSON *v;
	const char *tok;
	size_t len;
};

struct raw_toks {
	struct raw_tok *t;
	size_t n, cap;
};

static void raw_toks_visit(struct raw_walk *w, const cJSON *v, const struct raw_at *at,
			   const char *tok, size_t len, bool key)
{
	struct raw_toks *r = w->arg;
	(void)at;
	if (key || !(cJSON_IsNumber(v) || cJSON_IsString(v)))
		return;
	xgrow(&r->t, &r->cap, r->n + 1, sizeof *r->t);
	r->t[r->n++] = (struct raw_tok){ v, tok, len };
}

static bool raw_tokens(struct raw_toks *r, const cJSON *root, const char *text, size_t len)
{
	struct raw_walk w = { .visit = raw_toks_visit, .arg = r };
	return raw_walk(&w, root, text, len);
}

/* The root member of spec_json_member_bytes: its string token. */
struct member_find {
	const char *key;
	const char *tok;
	size_t len;
};

static void member_visit(struct raw_walk *w, const cJSON *v, const struct raw_at *at,
			 const char *tok, size_t len, bool key)
{
	struct member_find *m = w->arg;
	if (!key && at && !at->up && at->member && cJSON_IsString(v) && !m->tok &&
	    !strcmp(at->member->string, m->key)) {
		m->tok = tok;
		m->len = len;
	}
}

char *spec_json_member_bytes(const char *text, size_t len, const char *key, size_t *n)
{
	cJSON *v = cJSON_ParseWithLength(text, len);
	struct member_find m = { .key = key };
	struct raw_walk w = { .visit = member_visit, .arg = &m };
	char *out = NULL;
	if (cJSON_IsObject(v) && raw_walk(&w, v, text, len) && m.tok)
		out = spec_raw_string(m.tok, m.len, n);
	cJSON_Delete(v);
	return out;
}

/* Duplicate keys anywhere in the document are errors: cJSON keeps both,
 * and a later lookup would silently pick one.  The keys seen go in a map:
 * an object of n keys (an env of 40,000 names) costs O(n), not n^2/2
 * compares. */
void spec_check_dups(struct ctx *c, const cJSON *v, const char *path)
{
	if (cJSON_IsObject(v)) {
		struct strmap seen;
		strmap_init(&seen, (size_t)cJSON_GetArraySize(v));
		for (const cJSON *a = v->child; a; a = a->next) {
			char *p = spec_path_key(path, a->string);
			bool added;
			strmap_put(&seen, a->string, 0, &added);
			if (!added)
				spec_err(c, p, "duplicate key \"%s\"", a->string);
			spec_check_dups(c, a, p);
			free(p);
		}
		strmap_free(&seen);
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

/* ----------------------------------------------------------- JSON texts */

bool spec_json_text_valid(const char *text)
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

/* nums: the document's number and string tokens in order, cur the
 * next to match */
struct splice_nums {
	struct raw_toks t;
	size_t cur;
};

/* v's token (the tokens are matched in document order), or NULL. */
static const struct raw_tok *splice_tok(struct splice_nums *nums, const cJSON *v)
{
	while (nums->cur < nums->t.n && nums->t.t[nums->cur].v != v)
		nums->cur++;
	return nums->cur < nums->t.n ? &nums->t.t[nums->cur] : NULL;
}

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
		const struct raw_tok *t = r ? NULL : splice_tok(nums, v);
		if (t && raw_has_nul(t->tok, t->len)) {
			/* cJSON's C string ends at the first \u0000: the bytes
			 * from the token, all of them */
			size_t n;
			char *b = spec_raw_string(t->tok, t->len, &n);
			jw_strn(w, b, n);
			free(b);
		} else {
			jw_str(w, r ? r : v->valuestring);
		}
		free(r);
	} else if (cJSON_IsNumber(v)) {
		/* as written: the double may have lost digits (an int64
		 * beyond 2^53) or gained some (16.2 as %.17g) */
		const struct raw_tok *t = splice_tok(nums, v);
		double d = v->valuedouble;
		if (t && json_number_strict(t->tok, t->len)) {
			char *num = xstrndup(t->tok, t->len);
			jw_raw(w, num);
			free(num);
		} else if (d == u_floor(d) && fabs(d) < 9007199254740992.0) {
			jw_int(w, (int64_t)d);
		} else {
			jw_double(w, d);
		}
	} else if (cJSON_IsBool(v)) {
		jw_bool(w, cJSON_IsTrue(v));
	} else {
		jw_null(w);
	}
}

int spec_json_splice_members(struct jw *w, const char *text, size_t len, const char *const *skip,
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
