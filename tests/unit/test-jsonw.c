/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-jsonw.c - the streaming JSON writer: escaping, U+FFFD replacement
 * across chunk boundaries, base64 streams, and output that cJSON parses
 * back to the same values. */
#include "config.h"
#include "jsonw.h"
#include "tap.h"
#include "util.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

static char *doc_str(const void *bytes, size_t n, size_t chunk, bool *lossy)
{
	struct buf b = { 0 };
	struct jw w;
	jw_init(&w, buf_sink_write, &b, false);
	jw_str_open(&w);
	for (size_t off = 0; off < n; off += chunk)
		jw_str_feed(&w, (const char *)bytes + off, off + chunk > n ? n - off : chunk);
	*lossy = jw_str_close(&w);
	return buf_detach(&b);
}

static void test_escape(void)
{
	bool lossy;
	char *s = doc_str("a\"b\\c\n\t\x01", 8, 100, &lossy);
	is_str(s, "\"a\\\"b\\\\c\\n\\t\\u0001\"", "control characters and quotes escaped");
	ok(!lossy, "valid text is not lossy");
	free(s);
	/* a 4-byte sequence fed one byte at a time survives */
	s = doc_str("x\xf0\x9f\x98\x80y", 6, 1, &lossy);
	is_str(s, "\"x\xf0\x9f\x98\x80y\"", "UTF-8 split across chunks is kept");
	ok(!lossy, "and is not lossy");
	free(s);
	s = doc_str("a\xffz", 3, 1, &lossy);
	is_str(s, "\"a\xef\xbf\xbdz\"", "an invalid byte becomes U+FFFD");
	ok(lossy, "and the writer says so");
	free(s);
	s = doc_str("a\xe2\x82", 3, 2, &lossy);
	is_str(s, "\"a\xef\xbf\xbd\"", "a truncated sequence at the end becomes one U+FFFD");
	free(s);
	s = doc_str("\xe2\x82(", 3, 1, &lossy);
	is_str(s, "\"\xef\xbf\xbd(\"", "a broken carried prefix is replaced, the next byte kept");
	free(s);
}

static void test_roundtrip(void)
{
	struct buf b = { 0 };
	struct jw w;
	for (int pretty = 0; pretty < 2; pretty++) {
		b.len = 0;
		jw_init(&w, buf_sink_write, &b, pretty);
		jw_obj(&w, false);
		jw_kstr(&w, "name", "x \"y\"");
		jw_kint(&w, "n", -42);
		jw_knum(&w, "ms", 1.5);
		jw_kbool(&w, "t", true);
		jw_knull(&w, "z");
		jw_key(&w, "argv");
		jw_arr(&w, true);
		jw_str(&w, "echo");
		jw_str(&w, "a b");
		jw_arr_end(&w);
		jw_key(&w, "empty");
		jw_arr(&w, false);
		jw_arr_end(&w);
		jw_key(&w, "b64");
		jw_b64_open(&w);
		jw_b64_feed(&w, "\0\1\2\3", 4);
		jw_b64_close(&w);
		jw_obj_end(&w);
		cJSON *j = cJSON_Parse(b.p);
		ok(j != NULL, "%s output parses", pretty ? "pretty" : "compact");
		if (!j) {
			printf("# %s\n", b.p);
			continue;
		}
		is_str(cJSON_GetObjectItem(j, "name")->valuestring, "x \"y\"", "string back");
		is_int(cJSON_GetObjectItem(j, "n")->valueint, -42, "int back");
		ok(cJSON_GetObjectItem(j, "ms")->valuedouble == 1.5, "number back");
		ok(cJSON_IsTrue(cJSON_GetObjectItem(j, "t")), "bool back");
		ok(cJSON_IsNull(cJSON_GetObjectItem(j, "z")), "null back");
		is_int(cJSON_GetArraySize(cJSON_GetObjectItem(j, "argv")), 2, "array back");
		is_int(cJSON_GetArraySize(cJSON_GetObjectItem(j, "empty")), 0, "empty array back");
		is_str(cJSON_GetObjectItem(j, "b64")->valuestring, "AAECAw==", "base64 stream back");
		ok(pretty || !strchr(b.p, '\n'), "compact output is one line");
		cJSON_Delete(j);
	}
	buf_free(&b);
}

static void test_numbers(void)
{
	struct buf b = { 0 };
	struct jw w;
	jw_init(&w, buf_sink_write, &b, false);
	jw_num(&w, 2.0);
	is_str(b.p, "2.0", "whole numbers keep one decimal");
	b.len = 0;
	jw_num(&w, 0.1234);
	is_str(b.p, "0.123", "three decimals at most");
	buf_free(&b);
}

/* What jw_num wrote before it formatted numbers itself: "%.3f", trailing
 * zeros trimmed to one decimal. */
static void num_reference(double v, char *b, size_t n)
{
	snprintf(b, n, "%.3f", v);
	char *dot = strchr(b, '.');
	if (dot) {
		char *e = b + strlen(b) - 1;
		while (e > dot + 1 && *e == '0')
			*e-- = 0;
	}
}

static bool num_same(struct jw *w, struct buf *b, double v)
{
	char ref[64];
	num_reference(v, ref, sizeof ref);
	b->len = 0;
	jw_num(w, v);
	if (strcmp(b->p, ref) == 0)
		return true;
	printf("#   jw_num(%.17g) wrote %s, %%.3f %s\n", v, b->p, ref);
	return false;
}

static void test_numbers_exact(void)
{
	struct buf b = { 0 };
	struct jw w;
	jw_init(&w, buf_sink_write, &b, false);
	buf_reserve(&b, 64);
	static const double edge[] = {
		0.0, -0.0, 0.0004, 0.0005, 0.0015, 0.0625, 0.1875, 1.0005, 2.5, 999.9995,
		0.001, 0.01, 0.1, 1e-300, 123456.789, 1e9 + 0.0005, 3.4e10, 3.6e10, 1e300,
		-1.5, -0.0004, 4294967296.0, 18446744073709551616.0,
		INFINITY, -INFINITY, NAN,
	};
	bool all = true;
	for (size_t i = 0; i < ARRAY_SIZE(edge); i++)
		all &= num_same(&w, &b, edge[i]);
	ok(all, "edge values (ties, -0.0, huge, NaN) as %%.3f writes them");
	/* ties and near-ties in thousandths, and random durations */
	all = true;
	for (int k = 0; k < 200000; k++)
		all &= num_same(&w, &b, (k + 0.5) / 1000) && num_same(&w, &b, k / 7.0);
	uint64_t x = 0x9e3779b97f4a7c15u;
	for (int k = 0; k < 200000; k++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		double v = (double)(x >> 11) / (double)(1ull << 53) * 1e7;
		all &= num_same(&w, &b, v);
	}
	ok(all, "600,000 values as %%.3f writes them");
	b.len = 0;
	jw_int(&w, INT64_MIN);
	is_str(b.p, "-9223372036854775808", "the smallest int64");
	b.len = 0;
	jw_int(&w, 0);
	is_str(b.p, "0", "zero");
	b.len = 0;
	jw_uint(&w, UINT64_MAX);
	is_str(b.p, "18446744073709551615", "the largest uint64");
	buf_free(&b);
}

/* Deep nesting (a pool item's JSON array can be 1000 deep): the text
 * stays valid JSON, and past the levels it tracks the writer corrupts
 * nothing (it once wrote nonempty[-1] from depth 64 on). */
static void test_deep(void)
{
	for (int pretty = 0; pretty < 2; pretty++) {
		struct buf b = { 0 };
		struct jw w;
		jw_init(&w, buf_sink_write, &b, pretty);
		jw_obj(&w, false);
		jw_key(&w, "deep");
		for (int i = 0; i < 900; i++)
			jw_arr(&w, false);
		jw_int(&w, 1);
		jw_int(&w, 2);
		for (int i = 0; i < 900; i++)
			jw_arr_end(&w);
		jw_kint(&w, "after", 3);
		jw_obj_end(&w);
		buf_add(&b, "", 1);
		cJSON *j = cJSON_Parse(b.p);
		ok(j != NULL, "900 levels (%s): valid JSON", pretty ? "pretty" : "compact");
		cJSON *a = cJSON_GetObjectItem(j, "after");
		ok(a && a->valueint == 3 && w.depth == 0, "and the key after them is there");
		cJSON_Delete(j);
		free(b.p);
	}
	struct buf b = { 0 };
	struct jw w;
	jw_init(&w, buf_sink_write, &b, false);
	for (int i = 0; i < 3000; i++)
		jw_arr(&w, false);
	for (int i = 0; i < 3001; i++)
		jw_arr_end(&w);
	is_int(w.depth, 0, "3000 levels and one close too many: depth back to 0, nothing corrupted");
	free(b.p);
}

/* A value's own double: the shortest text that reads back exactly
 * (piperun-spec(5) VALUES; red1 #14: 0.1 came out 0.10000000000000001). */
static void test_double_shortest(void)
{
	static const struct { double v; const char *text; } cases[] = {
		{ 0.1, "0.1" }, { 0.25, "0.25" }, { 1e300, "1e+300" }, { -2.5, "-2.5" },
		{ 0.30000000000000004, "0.30000000000000004" }, { 1.0 / 3, "0.3333333333333333" },
		{ 16.2, "16.2" }, { 123456789.123, "123456789.123" },
	};
	char b[JW_DOUBLE_MAX];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = jw_double_text(b, cases[i].v);
		is_str(b, cases[i].text, "shortest exact text of a double");
		ok(n == strlen(b), "and its length");
	}
	/* every text reads back as its double, over a spread of values */
	bool all = true;
	double v = 1e-300;
	for (int i = 0; i < 20000; i++, v *= -1.0371) {
		jw_double_text(b, v);
		all = all && strtod(b, NULL) == v;
	}
	ok(all, "20,000 doubles read back exactly");
	struct buf out = { 0 };
	struct jw w;
	jw_init(&w, buf_sink_write, &out, false);
	jw_arr(&w, true);
	jw_double(&w, 0.1);
	jw_double(&w, 2.0);
	jw_arr_end(&w);
	is_str(out.p, "[0.1,2]", "jw_double writes it as a value");
	buf_free(&out);
}

/* jw_follow: elements written aside (into another sink, from the same
 * depth) and spliced in give the bytes one writer gives, pretty or not,
 * with none, one or many of them (piperun pool's -o json). */
static void test_follow(void)
{
	for (int pretty = 0; pretty < 2; pretty++) {
		for (int n = 0; n < 3; n++) {
			struct buf one = { 0 }, aside = { 0 }, spliced = { 0 };
			struct jw w, a;
			jw_init(&w, buf_sink_write, &one, pretty);
			jw_obj(&w, false);
			jw_kint(&w, "total", n);
			jw_key(&w, "items");
			jw_arr(&w, false);
			for (int i = 0; i < n; i++) {
				jw_obj(&w, true);
				jw_kint(&w, "index", i);
				jw_obj_end(&w);
			}
			jw_arr_end(&w);
			jw_obj_end(&w);
			jw_init(&a, buf_sink_write, &spliced, pretty);
			jw_obj(&a, false);
			jw_key(&a, "items");
			jw_arr(&a, false);
			a.ctx = &aside;
			for (int i = 0; i < n; i++) {
				jw_obj(&a, true);
				jw_kint(&a, "index", i);
				jw_obj_end(&a);
			}
			spliced.len = 0;
			jw_init(&w, buf_sink_write, &spliced, pretty);
			jw_obj(&w, false);
			jw_kint(&w, "total", n);
			jw_key(&w, "items");
			jw_arr(&w, false);
			buf_add(&spliced, aside.p ? aside.p : "", aside.len);
			jw_follow(&w, &a);
			jw_arr_end(&w);
			jw_obj_end(&w);
			ok(spliced.len == one.len && !memcmp(spliced.p, one.p, one.len),
			   "%d items spliced (%s) are what one writer writes", n,
			   pretty ? "pretty" : "compact");
			buf_free(&one);
			buf_free(&aside);
			buf_free(&spliced);
		}
	}
}

int main(void)
{
	test_double_shortest();
	test_deep();
	test_escape();
	test_roundtrip();
	test_numbers();
	test_numbers_exact();
	test_follow();
	return done_testing();
}
