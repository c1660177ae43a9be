/* SPDX-License-Identifier: GPL-3.0-or-later */
/* jsonw.c - streaming JSON writer (see jsonw.h). */
#include "config.h"
#include "jsonw.h"
#include "bgwrite.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

void jw_init(struct jw *w, jw_sink_fn sink, void *ctx, bool pretty)
{
	memset(w, 0, sizeof *w);
	w->sink = sink;
	w->ctx = ctx;
	w->pretty = pretty;
}

void jw_init_part(struct jw *w, jw_sink_fn sink, void *ctx, bool pretty, int depth)
{
	jw_init(w, sink, ctx, pretty);
	/* as if depth containers, none inline, had been opened: nothing
	 * else of a level is set by opening it */
	w->depth = depth;
}

static void put(struct jw *w, const char *p, size_t n)
{
	w->sink(w->ctx, p, n);
}

static void puts_(struct jw *w, const char *s)
{
	put(w, s, strlen(s));
}

static void indent(struct jw *w)
{
	static const char spaces[] = "                                ";
	put(w, "\n", 1);
	for (int d = w->depth; d > 0; d -= 16)
		put(w, spaces, (size_t)(d > 16 ? 16 : d) * 2);
}

/* The nesting level's slot in nonempty and inl. */
static int lv(const struct jw *w)
{
	return w->depth < JW_LEVELS ? w->depth : JW_LEVELS;
}

/* Separator and indentation before a value or a key. */
static void before_value(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth == 0)
		return;
	int l = lv(w);
	if (w->nonempty[l])
		put(w, w->pretty && w->inl[l] ? ", " : ",", w->pretty && w->inl[l] ? 2 : 1);
	w->nonempty[l] = true;
	if (w->pretty && !w->inl[l])
		indent(w);
}

static void open_container(struct jw *w, char c, bool inl)
{
	before_value(w);
	put(w, &c, 1);
	bool parent_inl = w->depth > 0 && w->inl[lv(w)];
	w->depth++;
	w->nonempty[lv(w)] = false;
	/* an inline parent makes every child inline */
	w->inl[lv(w)] = inl || (w->depth > 1 && parent_inl);
}

static void close_container(struct jw *w, char c)
{
	if (w->depth == 0)
		return; /* (no container open: a caller's bug, never memory's) */
	bool had = w->nonempty[lv(w)], inl = w->inl[lv(w)];
	w->depth--;
	if (had && w->pretty && !inl)
		indent(w);
	put(w, &c, 1);
}

void jw_follow(struct jw *w, const struct jw *part)
{
	if (part->nonempty[lv(part)])
		w->nonempty[lv(w)] = true;
	w->lossy |= part->lossy;
}

void jw_aside(struct jw *w)
{
	w->nonempty[lv(w)] = false;
}

void jw_splice(struct jw *w)
{
	int l = lv(w);
	if (w->nonempty[l])
		put(w, ",", 1);
	w->nonempty[l] = true;
}

void jw_obj(struct jw *w, bool inl) { open_container(w, '{', inl); }
void jw_obj_end(struct jw *w) { close_container(w, '}'); }
void jw_arr(struct jw *w, bool inl) { open_container(w, '[', inl); }
void jw_arr_end(struct jw *w) { close_container(w, ']'); }

static void escape_ascii_run(struct jw *w, const unsigned char *p, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if (i > start)
			put(w, (const char *)p + start, i - start);
		start = i + 1;
		char esc[8];
		switch (c) {
		case '"': puts_(w, "\\\""); break;
		case '\\': puts_(w, "\\\\"); break;
		case '\n': puts_(w, "\\n"); break;
		case '\t': puts_(w, "\\t"); break;
		case '\r': puts_(w, "\\r"); break;
		case '\b': puts_(w, "\\b"); break;
		case '\f': puts_(w, "\\f"); break;
		default:
			snprintf(esc, sizeof esc, "\\u%04x", c);
			puts_(w, esc);
		}
	}
	if (n > start)
		put(w, (const char *)p + start, n - start);
}

/* Write bytes as JSON string content; invalid UTF-8 becomes U+FFFD, an
 * incomplete sequence at the end is carried to the next chunk. */
static void str_bytes(struct jw *w, const unsigned char *p, size_t n, bool final)
{
	size_t i = 0, run = 0;
	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		bool incomplete;
		size_t len = utf8_seq_len(p + i, n - i, &incomplete);
		if (len) {
			i += len;
			continue;
		}
		escape_ascii_run(w, p + run, i - run);
		if (incomplete && !final) {
			/* keep the partial sequence for the next chunk */
			memcpy(w->carry, p + i, n - i);
			w->ncarry = (int)(n - i);
			return;
		}
		puts_(w, "\xEF\xBF\xBD");
		w->lossy = true;
		i++;
		/* a cut-short valid prefix is one maximal subpart: skip it */
		if (incomplete)
			i = n;
		run = i;
	}
	escape_ascii_run(w, p + run, n - run);
}

void jw_str_open(struct jw *w)
{
	before_value(w);
	put(w, "\"", 1);
	w->ncarry = 0;
	w->lossy = false;
}

void jw_str_feed(struct jw *w, const void *data, size_t n)
{
	const unsigned char *p = data;
	while (w->ncarry && n) {
		/* complete the carried sequence byte by byte */
		unsigned char tmp[4];
		memcpy(tmp, w->carry, (size_t)w->ncarry);
		tmp[w->ncarry] = *p;
		bool incomplete;
		size_t len = utf8_seq_len(tmp, (size_t)w->ncarry + 1, &incomplete);
		if (incomplete) {
			w->carry[w->ncarry++] = *p++;
			n--;
			continue;
		}
		w->ncarry = 0;
		if (len) {
			put(w, (const char *)tmp, len);
			p++;
			n--;
		} else {
			/* the carried bytes are an invalid prefix: replace them
			 * and rescan from this byte */
			puts_(w, "\xEF\xBF\xBD");
			w->lossy = true;
		}
	}
	if (n)
		str_bytes(w, p, n, false);
}

bool jw_str_close(struct jw *w)
{
	if (w->ncarry) {
		puts_(w, "\xEF\xBF\xBD");
		w->lossy = true;
		w->ncarry = 0;
	}
	put(w, "\"", 1);
	return w->lossy;
}

bool jw_strn(struct jw *w, const void *s, size_t n)
{
	jw_str_open(w);
	str_bytes(w, s, n, true);
	return jw_str_close(w);
}

void jw_str(struct jw *w, const char *s)
{
	if (!s)
		jw_null(w);
	else
		jw_strn(w, s, strlen(s));
}

static void b64_emit(void *ctx, const char *s, size_t n)
{
	put(ctx, s, n);
}

void jw_b64_open(struct jw *w)
{
	before_value(w);
	put(w, "\"", 1);
	memset(&w->b64, 0, sizeof w->b64);
}

void jw_b64_feed(struct jw *w, const void *p, size_t n)
{
	b64_stream_feed(&w->b64, p, n, b64_emit, w);
}

void jw_b64_close(struct jw *w)
{
	b64_stream_end(&w->b64, b64_emit, w);
	put(w, "\"", 1);
}

void jw_key(struct jw *w, const char *k)
{
	before_value(w);
	/* a plain key (our own field names) is one put: "key": */
	char b[64];
	size_t n = 0;
	b[n++] = '"';
	for (const unsigned char *p = (const unsigned char *)k; n < sizeof b - 4; p++) {
		if (!*p) {
			b[n++] = '"';
			b[n++] = ':';
			if (w->pretty)
				b[n++] = ' ';
			put(w, b, n);
			w->ncarry = 0;
			w->after_key = true;
			return;
		}
		if (*p < 0x20 || *p >= 0x80 || *p == '"' || *p == '\\')
			break;
		b[n++] = (char)*p;
	}
	put(w, "\"", 1);
	w->ncarry = 0;
	str_bytes(w, (const unsigned char *)k, strlen(k), true);
	put(w, w->pretty ? "\": " : "\":", w->pretty ? 3 : 2);
	w->after_key = true;
}

static void scalar(struct jw *w, const char *s)
{
	before_value(w);
	puts_(w, s);
}

/* Decimal digits of v, right-aligned ending just before end; returns
 * where they start.  (snprintf's "%llu" costs several times as much, and
 * a record holds a dozen numbers.) */
static char *udigits(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

void jw_int(struct jw *w, int64_t v)
{
	char b[24], *e = b + sizeof b;
	/* (the magnitude as unsigned: INT64_MIN has no positive int64) */
	char *s = udigits(e, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
	if (v < 0)
		*--s = '-';
	before_value(w);
	put(w, s, (size_t)(e - s));
}

void jw_uint(struct jw *w, uint64_t v)
{
	char b[24], *e = b + sizeof b;
	char *s = udigits(e, v);
	before_value(w);
	put(w, s, (size_t)(e - s));
}

/* v in thousandths, rounded as printf's "%.3f" rounds it (to nearest, the
 * exact binary value): true when that is certain from v * 1000.  The
 * product's rounding error is at most half an ulp, under 2^-8 below
 * 2^45, so only a value within 1/100 of a half-thousandth (a tie, or as
 * good as one) could round the other way: those, negative ones (-0.0
 * included), huge ones, NaN and infinities are left to snprintf. */
static bool thousandths(double v, uint64_t *out)
{
	if (signbit(v) || !(v < 0x1p45 / 1000))
		return false;
	double t = v * 1000, q = u_floor(t), f = t - q;
	if (fabs(f - 0.5) < 0.01)
		return false;
	*out = (uint64_t)q + (f > 0.5);
	return true;
}

void jw_num(struct jw *w, double v)
{
	char b[64];
	uint64_t m;
	if (thousandths(v, &m)) {
		/* the same text: whole part, '.', up to three decimals */
		char *e = b + sizeof b, *s;
		unsigned frac = (unsigned)(m % 1000);
		int nd = frac % 100 == 0 ? 1 : frac % 10 == 0 ? 2 : 3;
		for (int i = 0; i < 3 - nd; i++)
			frac /= 10;
		s = e;
		for (int i = 0; i < nd; i++, frac /= 10)
			*--s = (char)('0' + frac % 10);
		*--s = '.';
		s = udigits(s, m / 1000);
		before_value(w);
		put(w, s, (size_t)(e - s));
		return;
	}
	snprintf(b, sizeof b, "%.3f", v);
	/* trim trailing zeros but keep one decimal: 1.500 -> 1.5, 2.000 -> 2.0 */
	char *dot = strchr(b, '.');
	if (dot) {
		char *e = b + strlen(b) - 1;
		while (e > dot + 1 && *e == '0')
			*e-- = 0;
	}
	scalar(w, b);
}

/* The first of 15, 16, 17 significant digits that reads back exactly:
 * 15 or fewer digits always read back as the double nearest them, and
 * %g drops trailing zeros, so a number that has a shorter exact text
 * gets it at 15; 17 always reads back. */
size_t jw_double_text(char b[JW_DOUBLE_MAX], double v)
{
	int n = 0;
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(b, JW_DOUBLE_MAX, "%.*g", prec, v);
		if (strtod(b, NULL) == v)
			break;
	}
	return (size_t)n;
}

void jw_double(struct jw *w, double v)
{
	char b[JW_DOUBLE_MAX];
	jw_double_text(b, v);
	scalar(w, b);
}

void jw_bool(struct jw *w, bool v) { scalar(w, v ? "true" : "false"); }
void jw_null(struct jw *w) { scalar(w, "null"); }
void jw_raw(struct jw *w, const char *json) { scalar(w, json); }
void jw_newline(struct jw *w) { put(w, "\n", 1); }

void jw_kstr(struct jw *w, const char *k, const char *v) { jw_key(w, k); jw_str(w, v); }
void jw_kint(struct jw *w, const char *k, int64_t v) { jw_key(w, k); jw_int(w, v); }
void jw_knum(struct jw *w, const char *k, double v) { jw_key(w, k); jw_num(w, v); }
void jw_kbool(struct jw *w, const char *k, bool v) { jw_key(w, k); jw_bool(w, v); }
void jw_knull(struct jw *w, const char *k) { jw_key(w, k); jw_null(w); }

/* An async sink's flush while its reader keeps up: what the pipe takes
 * without waiting (RWF_NOWAIT), no thread.  0 when all went, 1 when the
 * rest must wait (a full pipe, or a kernel without RWF_NOWAIT there),
 * -1 on an error (err set). */
static int flush_nowait(struct fd_sink *s)
{
	size_t off = 0;
	while (off < s->len) {
		struct iovec v = { s->buf + off, s->len - off };
		ssize_t r = pwritev2(s->fd, &v, 1, -1, RWF_NOWAIT);
		if (r > 0) {
			off += (size_t)r;
		} else if (r < 0 && errno == EINTR) {
			continue;
		} else if (r < 0 && errno != EAGAIN && errno != EOPNOTSUPP && errno != EINVAL) {
			s->err = errno;
			s->len = 0;
			return -1;
		} else {
			break;
		}
	}
	memmove(s->buf, s->buf + off, s->len - off);
	s->len -= off;
	return s->len ? 1 : 0;
}

int fd_sink_flush(struct fd_sink *s)
{
	if (s->async && !s->bg && !s->err && s->len) {
		int rc = flush_nowait(s);
		if (rc <= 0)
			return rc;
		/* the reader is behind: a writer thread from now on (NULL:
		 * this flush waits, as before) */
		s->bg = bgwrite_new(s->fd, FD_SINK_QUEUE_MAX);
	}
	if (s->bg) {
		if (!s->err && s->len && bgwrite_put(s->bg, s->buf, s->len) < 0)
			s->err = bgwrite_error(s->bg);
		if (!s->err)
			s->err = bgwrite_error(s->bg);
		s->len = 0;
		return s->err ? -1 : 0;
	}
	size_t off = 0;
	while (off < s->len && !s->err) {
		ssize_t r = write(s->fd, s->buf + off, s->len - off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			s->err = errno;
			break;
		}
		off += (size_t)r;
	}
	s->len = 0;
	return s->err ? -1 : 0;
}

int fd_sink_finish(struct fd_sink *s)
{
	s->async = false;
	if (!s->bg)
		return fd_sink_flush(s);
	fd_sink_flush(s);
	int e = bgwrite_finish(s->bg);
	s->bg = NULL;
	if (e && !s->err)
		s->err = e;
	return s->err ? -1 : 0;
}

void fd_sink_write(void *ctx, const char *p, size_t n)
{
	struct fd_sink *s = ctx;
	while (n && !s->err) {
		if (s->len == sizeof s->buf)
			fd_sink_flush(s);
		size_t k = sizeof s->buf - s->len;
		if (k > n)
			k = n;
		memcpy(s->buf + s->len, p, k);
		s->len += k;
		p += k;
		n -= k;
	}
}

void buf_sink_write(void *ctx, const char *p, size_t n)
{
	buf_add(ctx, p, n);
}
