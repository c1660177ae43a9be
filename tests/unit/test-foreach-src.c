/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-foreach-src.c - foreach sources: range counts, splitting across
 * reads, a command's values and failures, glob order, and what the spec
 * loader does with sources with and without SPEC_LOAD_SOURCES. */
#include "config.h"
#include "foreach-src.h"
#include "spec.h"
#include "tap.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/piperun-fsrc-XXXXXX";

static size_t count(long long from, long long to, long long step)
{
	struct fsrc s = { .kind = FSRC_RANGE, .from = from, .to = to, .step = step };
	return fsrc_range_count(&s);
}

static void test_range(void)
{
	is_int(count(1, 3, 1), 3, "range [1, 3] has 3 values");
	is_int(count(3, 1, 1), 0, "range [3, 1] going up has none");
	is_int(count(3, 1, -1), 3, "range [3, 1, -1] has 3");
	is_int(count(1, 10, 3), 4, "range [1, 10, 3]: 1 4 7 10");
	is_int(count(1, 9, 3), 3, "range [1, 9, 3]: 1 4 7 (TO not reached)");
	is_int(count(0, 0, 5), 1, "range [0, 0, 5]: 0");
	is_int(count(1, 5, 0), 0, "a zero step gives nothing");
	is_int(count(-9007199254740992LL, 9007199254740992LL, 9007199254740992LL), 3,
	       "range over +-2^53 by 2^53: no overflow");
	is_int(count(0, 9007199254740992LL, 1), FSRC_MAX_VALUES + 1,
	       "a huge range is capped at the limit + 1");
	struct fsrc s = { .kind = FSRC_RANGE, .from = -1, .to = 1, .step = 1 };
	size_t n;
	char *why = NULL;
	char **v = fsrc_values(&s, &n, &why);
	ok(v && n == 3 && !strcmp(v[0], "-1") && !strcmp(v[1], "0") && !strcmp(v[2], "1") && !v[3],
	   "range values are the integers as text, NULL-terminated");
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static char *write_file(const char *name, const void *data, size_t len)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "wb");
	fwrite(data, 1, len, f);
	fclose(f);
	return p;
}

static void free_values(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void test_lines(void)
{
	/* a value across the 64 KiB reads */
	size_t big = 70000;
	char *data = xmalloc(big + 3);
	memset(data, 'x', big);
	memcpy(data + big, "\nb", 2);
	char *p = write_file("big", data, big + 2);
	struct fsrc s = { .kind = FSRC_LINES, .path = p };
	size_t n;
	char *why = NULL;
	char **v = fsrc_values(&s, &n, &why);
	ok(v && n == 2 && strlen(v[0]) == big && !strcmp(v[1], "b"),
	   "a line longer than a read is one value; a last line without newline counts");
	free_values(v, n);
	free(p);
	free(data);

	p = write_file("z", "a\0\0b\0", 5);
	s = (struct fsrc){ .kind = FSRC_LINES0, .path = p };
	v = fsrc_values(&s, &n, &why);
	ok(v && n == 3 && !strcmp(v[0], "a") && !*v[1] && !strcmp(v[2], "b"),
	   "lines0: an empty value between NULs, none after the last");
	free_values(v, n);
	free(p);

	p = write_file("nl", "\n", 1);
	s = (struct fsrc){ .kind = FSRC_LINES, .path = p };
	v = fsrc_values(&s, &n, &why);
	ok(v && n == 1 && !*v[0], "a file of one newline is one empty value");
	free_values(v, n);
	free(p);
}

static int stop_after_one(void *ctx, const char *value, size_t len, char **why)
{
	(void)value;
	(void)len;
	int *seen = ctx;
	if (++*seen > 1) {
		*why = xstrdup("enough");
		return -1;
	}
	return 0;
}

static void test_command(void)
{
	char *argv[] = { "sh", "-c", "printf 'x y\\nz\\n'", NULL };
	struct fsrc s = { .kind = FSRC_COMMAND, .argv = argv, .argc = 3, .exe = "/bin/sh" };
	size_t n;
	char *why = NULL;
	char **v = fsrc_values(&s, &n, &why);
	ok(v && n == 2 && !strcmp(v[0], "x y") && !strcmp(v[1], "z"),
	   "a command's stdout lines are its values");
	free_values(v, n);

	char *fail[] = { "sh", "-c", "echo a; exit 3", NULL };
	s.argv = fail;
	v = fsrc_values(&s, &n, &why);
	ok(!v && why && !strcmp(why, "exited with status 3"), "a non-zero exit is an error: %s",
	   why ? why : "(none)");
	free(why);
	why = NULL;

	char *many[] = { "sh", "-c", "echo 1; echo 2; echo 3", NULL };
	s.argv = many;
	int seen = 0;
	ok(fsrc_produce(&s, stop_after_one, &seen, &why) < 0 && why && !strcmp(why, "enough"),
	   "a consumer that stops ends the command with its own reason");
	free(why);
	why = NULL;

	/* the deadline: its whole group is stopped (the marker file is
	 * written only if the sleep outlives it) */
	char *mark = xasprintf("%s/outlived", dir);
	char *script = xasprintf("echo early; (sleep 3; touch %s) & sleep 30", mark);
	char *slow[] = { "sh", "-c", script, NULL };
	s.argv = slow;
	s.timeout = 0.3;
	v = fsrc_values(&s, &n, &why);
	ok(!v && why && !strcmp(why, "timed out after 0.3 s (stopped)"),
	   "a command past its deadline is an error: %s", why ? why : "(none)");
	free(why);
	why = NULL;
	sleep(4);
	ok(access(mark, F_OK) != 0, "what it started in its group was stopped with it");
	free(mark);
	free(script);
	s.timeout = 0;

	char *none[] = { "/nonexistent/prog", NULL };
	s.argv = none;
	s.exe = "/nonexistent/prog";
	v = fsrc_values(&s, &n, &why);
	ok(!v && why && strstr(why, "cannot run /nonexistent/prog"), "a program that cannot start: %s",
	   why ? why : "(none)");
	free(why);
}

static void test_glob(void)
{
	char *names[] = { "b.csv", "a.csv", "B.csv", ".h.csv", "c.txt" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		free(write_file(names[i], "", 0));
	char *pat = xasprintf("%s/*.csv", dir);
	struct fsrc s = { .kind = FSRC_GLOB, .path = pat };
	size_t n;
	char *why = NULL;
	char **v = fsrc_values(&s, &n, &why);
	char *want0 = xasprintf("%s/B.csv", dir), *want2 = xasprintf("%s/b.csv", dir);
	ok(v && n == 3 && !strcmp(v[0], want0) && !strcmp(v[2], want2),
	   "glob: sorted by bytes, no dot files");
	free_values(v, n);
	free(want0);
	free(want2);
	free(pat);
	pat = xasprintf("%s/*.none", dir);
	s.path = pat;
	v = fsrc_values(&s, &n, &why);
	ok(!v && why && strstr(why, "matches no file"), "glob: no match is an error");
	free(why);
	free(pat);
}

static void test_loader(void)
{
	char *text = xasprintf(
		"{\"jobs\": [{\"name\": \"l\", \"run\": [\"true\"], \"foreach\": {\"lines\": \"%s/no-such\"}},"
		" {\"name\": \"r\", \"run\": [\"true\"], \"foreach\": {\"range\": [1, 2]}},"
		" {\"name\": \"a\", \"run\": [\"true\"], \"after\": [\"l[x]\", \"l\"]}]}", dir);
	struct errlist e = { 0 };
	struct spec *s = spec_load_mem_flags("t.json", text, strlen(text), 0, &e, NULL);
	ok(s && s->njobs == 3 && !strcmp(spec_job(s, 0)->name, "r[1]") && !s->nran,
	   "shape only: an unread source makes no copies, a range does, names of unread copies pass");
	spec_free(s);
	errlist_free(&e);
	s = spec_load_mem_flags("t.json", text, strlen(text), SPEC_LOAD_SOURCES, &e, NULL);
	ok(!s && e.n == 1, "with sources: the missing file is the one error");
	spec_free(s);
	errlist_free(&e);
	free(text);

	text = xstrdup("{\"defaults\": {\"foreach\": {\"command\": [\"echo\", \"v\"]}},"
		       " \"jobs\": [{\"run\": [\"true\"]}, {\"run\": [\"true\"]}]}");
	s = spec_load_mem_flags("t.json", text, strlen(text), SPEC_LOAD_SOURCES, &e, NULL);
	ok(s && s->njobs == 2 && s->nran == 1 && !strcmp(s->ran[0], "defaults.foreach.command"),
	   "a defaults.foreach command runs once for every job, and is noted");
	spec_free(s);
	errlist_free(&e);
	free(text);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_range();
	test_lines();
	test_command();
	test_glob();
	test_loader();
	char *rm = xasprintf("rm -rf '%s'", dir);
	if (system(rm) != 0)
		fprintf(stderr, "# could not remove %s\n", dir);
	free(rm);
	return done_testing();
}
