/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-jsonw.c - the streaming JSON writer: escaping, U+FFFD replacement
 * across chunk boundaries, base64 streams, and output that cJSON parses
 * back to the same values. */
#include "config.h"
#include "jsonw.h"
#include "tap.h"
#include "util.h"

#include <cJSON.h>
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

int main(void)
{
	test_escape();
	test_roundtrip();
	test_numbers();
	return done_testing();
}
