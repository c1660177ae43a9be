/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-jstrict.c - strict JSON (json-strict.c): what RFC 8259 refuses is
 * refused with the column, what it takes comes back compact; item arrays
 * exact for int64, the same whatever else is on the line. */
#include "config.h"
#include "json-strict.h"
#include "tap.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void compact(const char *in, const char *want)
{
	char *why = NULL;
	size_t n = 0;
	char *got = jstrict_compact(in, strlen(in), &n, &why);
	char *name = xstrdup(in); /* one line of TAP */
	for (char *p = name; (p = strchr(p, '\n')); )
		*p = ' ';
	is_str(got ? got : why, want, "compact: %s", name);
	free(name);
	ok(!got || n == strlen(got), "its length");
	free(got);
	free(why);
}

static void refused(const char *in, const char *want)
{
	char *why = NULL;
	char *got = jstrict_compact(in, strlen(in), NULL, &why);
	ok(!got, "refused: %s", in);
	is_str(why ? why : "", want, "why");
	free(got);
	free(why);
}

static void test_compact(void)
{
	compact(" [1, \n 2] ", "[1,2]");
	compact("{ \"a\" : [ true , false , null ], \"b c\" : \"x y\" }",
		"{\"a\":[true,false,null],\"b c\":\"x y\"}");
	compact("-0.5e-3", "-0.5e-3");
	compact("\"\\u00e9\\ud83d\\ude00\\n\\u0000\"", "\"\\u00e9\\ud83d\\ude00\\n\\u0000\"");
	compact("\"\xc3\xa9\xf0\x9f\x98\x80\"", "\"\xc3\xa9\xf0\x9f\x98\x80\"");
	compact("[]", "[]");
	compact("{}", "{}");
	refused("01", "a number with a leading zero at column 1");
	refused("1.", "a number without digits after its '.' at column 3");
	refused(".5", "expected a JSON value at column 1");
	refused("+1", "expected a JSON value at column 1");
	refused("1e+", "a number without digits in its exponent at column 4");
	refused("-", "a number without digits at column 2");
	refused("\"a\tb\"", "a control character in a string (it must be escaped) at column 3");
	refused("\"\xff\"", "invalid UTF-8 in a string at column 2");
	refused("\"\xc0\xaf\"", "invalid UTF-8 in a string at column 2");       /* overlong */
	refused("\"\xed\xa0\x80\"", "invalid UTF-8 in a string at column 2");   /* a surrogate */
	refused("\"\xf4\x90\x80\x80\"", "invalid UTF-8 in a string at column 2"); /* > U+10FFFF */
	refused("\"\\ud800\"", "a lone surrogate (\\uD800-\\uDBFF) in a string at column 2");
	refused("\"\\udc00\"", "a lone surrogate (\\uDC00-\\uDFFF) in a string at column 2");
	refused("\"\\x\"", "an invalid escape in a string at column 2");
	refused("\"\\u12\"", "a \\u escape with fewer than 4 hex digits at column 6");
	refused("\"abc", "a string without its closing quote at column 1");
	refused("[1,]", "expected a JSON value at column 4");
	refused("[1 2]", "expected ',' or ']' at column 4");
	refused("{\"a\" 1}", "expected ':' after a member's name at column 6");
	refused("{1:2}", "expected a member's name (a string) at column 2");
	refused("[] x", "text after the JSON value at column 4");
	refused("", "expected a JSON value, got the end at column 1");
	refused("nul", "expected a JSON value at column 1");
	struct buf b = { 0 };
	for (int i = 0; i < 1001; i++)
		buf_addch(&b, '[');
	refused(b.p, "JSON nested more than 1000 levels deep (the limit) at column 1001");
	buf_free(&b);
}

static void free_args(struct piperun_arg *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].type == PIPERUN_ARG_STRING || a[i].type == PIPERUN_ARG_OTHER)
			free((char *)a[i].s);
	free(a);
}

static void test_items(void)
{
	struct piperun_arg *args = NULL;
	size_t n = 0;
	char *why = NULL;
	const char *line = "[9007199254740993, -9223372036854775808, 99999999999999999999, 1e3, 0.5,"
		" [1, 2.50], \"s\\u00e9\", 1.0, true]";
	if (ok(jstrict_item_array(line, strlen(line), &args, &n, &why) == 0 && n == 9,
	       "an item array parses")) {
		ok(args[0].type == PIPERUN_ARG_INT && args[0].i == 9007199254740993LL, "2^53+1 is exact");
		ok(args[1].type == PIPERUN_ARG_INT && args[1].i == INT64_MIN, "INT64_MIN is exact");
		ok(args[2].type == PIPERUN_ARG_NUMBER, "beyond int64: a number, as on a plain line");
		ok(args[3].type == PIPERUN_ARG_NUMBER && args[3].d == 1000, "1e3: a number, as on a plain line");
		ok(args[4].type == PIPERUN_ARG_NUMBER && args[4].d == 0.5, "0.5 a number");
		ok(args[5].type == PIPERUN_ARG_OTHER && !strcmp(args[5].s, "[1,2.50]"), "an array, compact");
		ok(args[6].type == PIPERUN_ARG_STRING && !strcmp(args[6].s, "s\xc3\xa9"), "a string, decoded");
		ok(args[7].type == PIPERUN_ARG_NUMBER && args[7].d == 1, "1.0 a number");
		ok(args[8].type == PIPERUN_ARG_OTHER && !strcmp(args[8].s, "true"), "true as JSON");
		free_args(args, n);
	}
	/* the same token reads the same with or without company */
	const char *alone[] = { "[1.0]", "[9007199254740993]", "[9223372036854775807]" };
	const char *with[] = { "[1.0, \"a\"]", "[9007199254740993, \"x\"]", "[9223372036854775807, {}]" };
	for (size_t i = 0; i < 3; i++) {
		struct piperun_arg *a1 = NULL, *a2 = NULL;
		size_t n1, n2;
		char *w1 = NULL, *w2 = NULL;
		ok(jstrict_item_array(alone[i], strlen(alone[i]), &a1, &n1, &w1) == 0 &&
		   jstrict_item_array(with[i], strlen(with[i]), &a2, &n2, &w2) == 0 &&
		   a1[0].type == a2[0].type && a1[0].i == a2[0].i && a1[0].d == a2[0].d,
		   "%s reads as in %s", alone[i], with[i]);
		free_args(a1, w1 ? 0 : n1);
		free_args(a2, w2 ? 0 : n2);
		free(w1);
		free(w2);
	}
	line = " [ ] ";
	ok(jstrict_item_array(line, strlen(line), &args, &n, &why) == 0 && n == 0, "[ ] is no arguments");
	free(args);
	static const char *const bad[][2] = {
		{ "[1, 1e400, \"x\"]", "argument 2: 1e400 is out of range" },
		{ "[] garbage", "malformed JSON array: text after the array at column 4" },
		{ "[]]", "malformed JSON array: text after the array at column 3" },
		{ "[ ]x", "malformed JSON array: text after the array at column 4" },
		{ "[01]", "malformed JSON array: a number with a leading zero at column 2" },
		{ "[+1]", "malformed JSON array: expected a JSON value at column 2" },
		{ "[1.]", "malformed JSON array: a number without digits after its '.' at column 4" },
		{ "[.5]", "malformed JSON array: expected a JSON value at column 2" },
		{ "[\"\\u0000\"]", "a NUL byte (\\u0000) in a string" },
		{ "{}", "malformed JSON array: expected a JSON array at column 1" },
		{ "[1, [2, ]]", "malformed JSON array: expected a JSON value at column 9" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why = NULL;
		args = NULL;
		ok(jstrict_item_array(bad[i][0], strlen(bad[i][0]), &args, &n, &why) < 0,
		   "refused: %s", bad[i][0]);
		is_str(why ? why : "", bad[i][1], "why");
		free(why);
	}
}

int main(void)
{
	test_compact();
	test_items();
	return done_testing();
}
