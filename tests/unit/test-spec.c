/* test-spec.c - spec loading: every error with its path, expansion and
 * naming of copies, placeholders, dependencies, cycles. */
#include "config.h"
#include "piperun-task.h"
#include "spec.h"
#include "tap.h"
#include "util.h"

#include <stdlib.h>

static struct spec *load(const char *json, struct errlist *e)
{
	memset(e, 0, sizeof *e);
	return spec_load_mem("t.json", json, strlen(json), e);
}

/* The spec is rejected and some error contains `want`. */
static void rejects(const char *json, const char *want)
{
	struct errlist e;
	struct spec *s = load(json, &e);
	bool found = false;
	for (size_t i = 0; i < e.n; i++)
		if (strstr(e.msg[i], want))
			found = true;
	if (!ok(!s && found, "rejected with \"%s\"", want))
		for (size_t i = 0; i < e.n; i++)
			printf("#   %s\n", e.msg[i]);
	spec_free(s);
	errlist_free(&e);
}

static void test_errors(void)
{
	rejects("{\"jobs\": [", "t.json: line 1, column 11: malformed JSON");
	rejects("{\n  \"jobs\": [\n    {\"run\": [\"a\"],}\n  ]\n}", "line 3, column 20: malformed JSON");
	rejects("", "empty document");
	{
		/* the first 2 bytes of "   " (no NUL within len): found by fuzz-spec */
		struct errlist e = { 0 };
		struct spec *s = spec_load_mem("t.json", "   ", 2, &e);
		ok(!s && e.n == 1 && strstr(e.msg[0], "empty document"),
		   "blank text given by length is an empty document");
		spec_free(s);
		errlist_free(&e);
	}
	rejects("{\"jobs\": []} x", "unexpected content after the document");
	rejects("[]", "expected a JSON object with \"jobs\" at the top, got an array");
	rejects("{}", "\"jobs\" is missing");
	rejects("{\"jobs\": []}", "t.json: jobs: expected a non-empty array of jobs, got an array");
	rejects("{\"jobs\": [{\"run\": [\"true\"], \"timeout\": \"soon\"}]}",
		"t.json: jobs[0].timeout: expected a duration like \"1.5s\", got \"soon\"");
	rejects("{\"jobs\": [{\"run\": [\"true\"], \"tiemout\": 1}]}",
		"t.json: jobs[0].tiemout: unknown key");
	rejects("{\"jobs\": [{\"run\": [\"true\"], \"run\": [\"false\"]}]}",
		"t.json: jobs[0].run: duplicate key \"run\"");
	rejects("{\"jobs\": [{\"name\": \"a\", \"run\": [\"true\"]}, {\"name\": \"a\", \"run\": [\"true\"]}]}",
		"jobs[1].name: duplicate job name \"a\" (also jobs[0])");
	rejects("{\"jobs\": [{\"name\": \"a\", \"run\": [\"true\"], \"after\": [\"b\"]},"
		" {\"name\": \"b\", \"run\": [\"true\"], \"after\": [\"a\"]}]}",
		"dependency cycle: a -> b -> a");
	rejects("{\"max_parallel\": -1, \"jobs\": [{\"run\": [\"true\"]}]}",
		"max_parallel: expected an integer from 0 to 1000000, got -1");
	rejects("{\"jobs\": [{\"run\": \"true\"}]}", "jobs[0].run: expected a non-empty argv array, got \"true\"");
	rejects("{\"jobs\": [{\"name\": \"x\"}]}", "jobs[0]: expected one of run, shell, pipeline, pool, steps; found none");
	rejects("{\"jobs\": [{\"run\": [\"a\"], \"shell\": \"b\"}]}", "found both \"run\" and \"shell\"");
	rejects("{\"jobs\": [{\"run\": [\"a\"], \"after\": [\"nope\"]}]}", "jobs[0].after[0]: no job named \"nope\"");
	rejects("{\"jobs\": [{\"run\": [\"a\"], \"stdin\": {\"text\": \"x\", \"file\": \"y\"}}]}",
		"jobs[0].stdin: expected exactly one of text, base64, file, random, from");
	rejects("{\"jobs\": [{\"run\": [\"a\"], \"stdout\": \"loud\"}]}", "jobs[0].stdout: expected \"capture\"");
	rejects("{\"jobs\": [{\"run\": [\"a\"], \"env\": {\"X\": 1}}]}", "jobs[0].env.X: expected a string, got a number");
	rejects("{\"jobs\": [{\"run\": [{\"base64\": \"!!\"}]}]}", "jobs[0].run[0].base64: expected valid base64");
	rejects("{\"defaults\": {\"timeout\": \"x\"}, \"jobs\": [{\"run\": [\"a\"]}]}",
		"t.json: defaults.timeout: expected a duration");
	rejects("{\"jobs\": [{\"name\": \"g\", \"run\": [\"a\"], \"repeat\": 2},"
		" {\"run\": [\"b\"], \"stdin\": {\"from\": \"g\"}}]}",
		"jobs[1].stdin.from: \"g\" names 2 jobs");
	rejects("{\"jobs\": [{\"run\": [\"a\"], \"signal\": \"NOPE\"}]}", "jobs[0].signal: expected a signal");
	rejects("{\"jobs\": [{\"run\": [\"a\"], \"rlimits\": {\"files\": 3}}]}", "jobs[0].rlimits.files: unknown resource limit");

	/* every error, not just the first */
	struct errlist e;
	struct spec *s = load("{\"mode\": \"fast\", \"jobs\": [{\"run\": [\"a\"], \"timeout\": -1},"
			      " {\"run\": [\"b\"], \"bogus\": true}]}", &e);
	ok(!s && e.n == 3, "three independent errors are all reported (%zu)", e.n);
	spec_free(s);
	errlist_free(&e);
}

static struct spec *must_load(const char *json)
{
	struct errlist e;
	struct spec *s = load(json, &e);
	if (!s)
		for (size_t i = 0; i < e.n; i++)
			printf("#   %s\n", e.msg[i]);
	errlist_free(&e);
	return s;
}

static void test_expansion(void)
{
	struct spec *s = must_load(
		"{\"jobs\": ["
		" {\"name\": \"r\", \"run\": [\"echo\", \"{#}:{}\"], \"repeat\": 3},"
		" {\"name\": \"f\", \"run\": [\"echo\", \"{}\", \"{{}}\"], \"foreach\": [\"a\", \"b c\", \"a\"]},"
		" {\"name\": \"fr\", \"run\": [\"echo\"], \"foreach\": [\"x\"], \"repeat\": 2},"
		" {\"name\": \"sh\", \"shell\": \"echo {}\", \"foreach\": [\"$(id)\", \"it's\"]},"
		" {\"name\": \"plain\", \"run\": [\"echo\", \"{}\"]}"
		"]}");
	ok(s != NULL, "expansion spec loads");
	if (!s)
		return;
	is_int(s->njobs, 3 + 3 + 2 + 2 + 1, "11 jobs after expansion");
	is_str(s->jobs[0].name, "r#1", "repeat copy 1 named r#1");
	is_str(s->jobs[2].name, "r#3", "repeat copy 3 named r#3");
	is_str(s->jobs[1].stages[0].argv[1], "2:2", "{#} and {} are the copy index in a repeat");
	is_str(s->jobs[3].name, "f[a]", "foreach copy named f[a]");
	is_str(s->jobs[4].name, "f[b c]", "foreach value with a space");
	is_str(s->jobs[5].name, "f[a]#2", "a repeated value gets #2");
	is_str(s->jobs[4].stages[0].argv[1], "b c", "{} verbatim in argv");
	is_str(s->jobs[4].stages[0].argv[2], "{}", "{{}} is a literal {}");
	is_str(s->jobs[6].name, "fr[x]#1", "foreach + repeat: fr[x]#1");
	is_str(s->jobs[7].name, "fr[x]#2", "foreach + repeat: fr[x]#2");
	is_str(s->jobs[8].stages[0].argv[2], "echo '$(id)'", "{} is shell-quoted in shell");
	is_str(s->jobs[9].stages[0].argv[2], "echo 'it'\\''s'", "quotes inside values survive");
	is_str(s->jobs[10].stages[0].argv[1], "{}", "a job without copies is left alone");
	spec_free(s);
}

static void test_deps(void)
{
	struct spec *s = must_load(
		"{\"jobs\": ["
		" {\"name\": \"build\", \"run\": [\"true\"], \"repeat\": 2},"
		" {\"name\": \"test\", \"run\": [\"true\"], \"after\": \"build\"},"
		" {\"name\": \"one\", \"run\": [\"true\"], \"after\": [\"build#2\"]},"
		" {\"name\": \"rd\", \"run\": [\"cat\"], \"stdin\": {\"from\": \"one\"}}"
		"]}");
	ok(s != NULL, "dependency spec loads");
	if (!s)
		return;
	is_int(s->jobs[2].ndeps, 2, "a base name means every copy");
	is_int(s->jobs[3].ndeps, 1, "an exact copy name means that copy");
	is_int(s->jobs[3].deps[0], 1, "build#2 is job 1");
	is_int(s->jobs[4].ndeps, 1, "stdin.from implies after");
	char *names[] = { "rd" };
	struct errlist e = { 0 };
	ok(spec_select(s, names, 1, &e) == 0 && s->njobs == 3,
	   "--only rd keeps rd, one and build#2 (%zu)", s->njobs);
	errlist_free(&e);
	spec_free(s);
}

static void test_resolution(void)
{
	struct spec *s = must_load(
		"{\"jobs\": ["
		" {\"run\": [\"sh\", \"-c\", \"true\"]},"
		" {\"run\": [\"no-such-program-xyz\"]},"
		" {\"run\": [\"/etc/passwd\"]},"
		" {\"run\": [\"env\"], \"env\": {\"PW\": \"hunter22\"}, \"secret_env\": [\"PW\"]}"
		"]}");
	ok(s != NULL, "resolution spec loads");
	if (!s)
		return;
	ok(s->jobs[0].stages[0].exe && s->jobs[0].stages[0].exe[0] == '/', "sh resolved to an absolute path");
	is_int(s->jobs[1].stages[0].exe_status, 127, "not found is 127");
	is_int(s->jobs[2].stages[0].exe_status, 126, "not executable is 126");
	char *r = spec_redact(&s->jobs[3], "pw=hunter22!");
	is_str(r, "pw=***!", "secret values are redacted");
	free(r);
	spec_free(s);
	{
		/* overlapping secrets: the whole covered run is hidden */
		struct spec *o = must_load("{\"jobs\": [{\"run\": [\"true\"], \"env\": {\"A\": \"ab\","
					   " \"B\": \"bcdefgh\"}, \"secret_env\": [\"A\", \"B\"]}]}");
		if (o) {
			char *x = spec_redact(&o->jobs[0], "<abcdefgh>");
			is_str(x, "<***>", "overlapping secrets are hidden whole");
			free(x);
			spec_free(o);
		}
	}
	/* lookups are remembered per (program, PATH, cwd), never across */
	s = must_load("{\"jobs\": [{\"run\": [\"sh\"], \"env\": {\"PATH\": \"{}\"},"
		      " \"foreach\": [\"/nonexistent\", \"/usr/bin:/bin\", \"/nonexistent\"]},"
		      " {\"run\": [\"sh\"], \"cwd\": \"/\", \"env\": {\"PATH\": \"bin\"}},"
		      " {\"run\": [\"sh\"], \"cwd\": \"/tmp\", \"env\": {\"PATH\": \"bin\"}}]}");
	if (s) {
		is_int(s->jobs[0].stages[0].exe_status, 127, "copy 1: not on its PATH");
		is_int(s->jobs[1].stages[0].exe_status, 0, "copy 2: found on its PATH");
		is_int(s->jobs[2].stages[0].exe_status, 127, "copy 3: not found again");
		is_int(s->jobs[3].stages[0].exe_status, 0, "relative PATH from cwd /: found");
		is_int(s->jobs[4].stages[0].exe_status, 127, "the same from cwd /tmp: not found");
		spec_free(s);
	}
	char *p = placeholder_subst("a{}b{#}c{{}}", "V", 7, false);
	is_str(p, "aVb7c{}", "placeholder_subst");
	free(p);
	p = placeholder_subst("a\\{}b", "V", 1, false);
	is_str(p, "a\\Vb", "verbatim: a backslash does not hide {} (found by fuzz-subst)");
	free(p);
	p = placeholder_subst("", "V", 1, false);
	is_str(p, "", "an empty template gives \"\" (found by fuzz-subst)");
	free(p);
	/* in `shell`, quoted for where {} sits: bare, '...' or "..." */
	static const struct { const char *tmpl, *value, *want, *what; } q[] = {
		{ "echo {}", "plain-1.txt", "echo plain-1.txt", "a safe value is left bare" },
		{ "echo {}", "a b$(x)", "echo 'a b$(x)'", "bare: one single-quoted word" },
		{ "echo {}", "it's", "echo 'it'\\''s'", "bare: ' closed, escaped, reopened" },
		{ "echo {}", "A=b", "echo 'A=b'", "bare: = is quoted (no assignment)" },
		{ "echo {}", "", "echo ''", "bare: an empty value stays a word" },
		{ "echo '{}'", "x'; rm y; '", "echo 'x'\\''; rm y; '\\'''",
		  "inside '...': ' is closed, escaped, reopened" },
		{ "echo \"{}\"", "$(x) `y` \"z\" \\", "echo \"\\$(x) \\`y\\` \\\"z\\\" \\\\\"",
		  "inside \"...\": $ ` \" \\ escaped" },
		{ "echo \"it's\" {}", "$x", "echo \"it's\" '$x'", "a ' inside \"...\" opens no quote" },
		{ "echo \\' {}", "$x", "echo \\' '$x'", "an escaped ' opens no quote" },
		{ "echo '\\' {}", "$x", "echo '\\' '$x'", "no escapes inside '...'" },
		{ "# it's a comment\necho {}", "$(id)", "# it's a comment\necho '$(id)'",
		  "a ' in a # comment opens no quote" },
		{ "echo \"$(echo {})\"", "x; id", "echo \"$(echo 'x; id')\"",
		  "$(...) inside \"...\" is a bare context of its own" },
		{ "echo `echo {}` {}", "a b", "echo `echo 'a b'` 'a b'", "`...` nests and ends" },
		{ "echo $(printf %s \"{}\") '{}'", "$x'", "echo $(printf %s \"\\$x'\") '$x'\\'''",
		  "after $(...) the outer context resumes" },
		{ "x=a#b; echo {}", "$y", "x=a#b; echo '$y'", "# inside a word is no comment" },
	};
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		p = placeholder_subst(q[i].tmpl, q[i].value, 1, true);
		is_str(p, q[i].want, "%s", q[i].what);
		free(p);
	}
}

/* What cJSON alone would lose: \u0000 in strings, numbers beyond 2^53. */
static void test_raw(void)
{
	rejects("{\"jobs\": [{\"run\": [\"tr\\u0000ue\"]}]}",
		"t.json: jobs[0].run[0]: a NUL character (\\u0000) cannot be used here");
	rejects("{\"jobs\": [{\"run\": [\"true\"], \"timeout\\u0000\": 1}]}",
		"t.json: jobs[0][\"timeout\\u0000\"]: a key cannot hold a NUL character");
	rejects("{\"defaults\": {\"env\": {\"A\": \"\\\"\\u0000\"}}, \"jobs\": [{\"run\": [\"true\"]}]}",
		"t.json: defaults.env.A: a NUL character");
	/* an escaped backslash before u0000 is no NUL */
	struct errlist e = { 0 };
	const char *txt = "{\"jobs\": [{\"run\": [\"echo\", \"\\\\u0000\"],"
		" \"stdin\": {\"text\": \"a\\u0000\\ud83d\\ude00\\n\\u0000\"}}]}";
	struct spec *s = spec_load_mem("t.json", txt, strlen(txt), &e);
	if (ok(s != NULL, "stdin.text may hold \\u0000")) {
		is_str(s->jobs[0].stages[0].argv[1], "\\u0000", "\\\\u0000 is a backslash and u0000");
		is_int(s->jobs[0].in.len, 8, "stdin.text keeps every byte");
		ok(!memcmp(s->jobs[0].in.data, "a\0\xF0\x9F\x98\x80\n\0", 8),
		   "stdin.text bytes: NUL, a surrogate pair as UTF-8, an escape");
	}
	spec_free(s);
	errlist_free(&e);
	/* a raw NUL byte: line and column */
	const char raw[] = "{\"jobs\":\n [{\"run\": [\"a\0\"]}]}";
	s = spec_load_mem("t.json", raw, sizeof raw - 1, &e);
	ok(!s && e.n == 1 && strstr(e.msg[0], "line 2, column 14: malformed JSON: NUL byte"),
	   "a raw NUL byte is malformed JSON at its line and column");
	spec_free(s);
	errlist_free(&e);

	rejects("{\"jobs\": [{\"run\": [\"a\"], \"foreach\": [9007199254740993]}]}",
		"jobs[0].foreach[0]: 9007199254740993 is out of range");
	rejects("{\"jobs\": [{\"run\": [\"a\"], \"foreach\": [9007199254740992.5]}]}",
		"jobs[0].foreach[0]: 9007199254740992.5 is out of range");
	rejects("{\"jobs\": [{\"run\": [\"a\"], \"foreach\": [1e16]}]}", "1e16 is out of range");
	rejects("{\"jobs\": [{\"run\": [\"a\"], \"foreach\": [90071992547409930e-1]}]}",
		"90071992547409930e-1 is out of range");
	rejects("{\"jobs\": [{\"run\": [\"a\"], \"timeout\": 1e400}]}", "jobs[0].timeout: 1e400 is out of range");
	rejects("{\"jobs\": [{\"run\": [\"a\"], \"timeout\": -1e-400}]}", "-1e-400 is out of range: it is too close to 0");
	rejects("{\"jobs\": [{\"run\": [\"a\"], \"timeout\": 1e10}]}",
		"jobs[0].timeout: expected a duration of at most 1000000000s (about 31 years), got 10000000000");
	s = must_load("{\"jobs\": [{\"name\": \"n\", \"run\": [\"echo\", \"{}\"], \"foreach\":"
		      " [1733460000000000, 9007199254740992, -9007199254740992, 0.1, 1e15,"
		      " 90071992547409920e-1, 007, -0, 1.5e-7, 0e999]}]}");
	if (s) {
		static const char *const want[] = {
			"1733460000000000", "9007199254740992", "-9007199254740992", "0.1",
			"1000000000000000", "9007199254740992", "7", "0", "1.5e-07", "0",
		};
		for (size_t i = 0; i < sizeof want / sizeof *want; i++)
			is_str(s->jobs[i].stages[0].argv[1], want[i], "a number becomes %s", want[i]);
		is_str(s->jobs[0].name, "n[1733460000000000]", "and names it exactly");
	}
	spec_free(s);

	/* nesting: 1000 levels parse, 1001 name the limit (the document,
	 * jobs and the job are 3) */
	struct buf b = { 0 };
	buf_addstr(&b, "{\"jobs\": [{\"run\": [\"a\"], \"x\": ");
	for (int i = 0; i < 997; i++)
		buf_addch(&b, '[');
	for (int i = 0; i < 997; i++)
		buf_addch(&b, ']');
	buf_addstr(&b, "}]}");
	rejects(b.p, "jobs[0].x: unknown key");
	buf_free(&b);
	buf_addstr(&b, "{\"jobs\": [{\"run\": [\"a\"], \"x\": ");
	for (int i = 0; i < 998; i++)
		buf_addch(&b, '[');
	for (int i = 0; i < 998; i++)
		buf_addch(&b, ']');
	buf_addstr(&b, "}]}");
	rejects(b.p, "line 1, column 1028: JSON nested more than 1000 levels deep (the limit)");
	buf_free(&b);

	/* `pool` item lines through the JSON parser: integers from their digits */
	struct piperun_arg *args = NULL;
	size_t n = 0;
	char *why = NULL;
	const char *line = "[9007199254740993, -9223372036854775808, 99999999999999999999, 1e3, 0.5,"
		" [1, 2.50], \"s\"]";
	if (ok(spec_parse_item_array(line, strlen(line), &args, &n, &why) == 0 && n == 7,
	       "an item array parses")) {
		ok(args[0].type == PIPERUN_ARG_INT && args[0].i == 9007199254740993LL, "2^53+1 is exact");
		ok(args[1].type == PIPERUN_ARG_INT && args[1].i == INT64_MIN, "INT64_MIN is exact");
		ok(args[2].type == PIPERUN_ARG_NUMBER, "beyond int64: a number, as on a plain line");
		ok(args[3].type == PIPERUN_ARG_NUMBER && args[3].d == 1000, "1e3: a number, as on a plain line");
		ok(args[4].type == PIPERUN_ARG_NUMBER && args[4].d == 0.5, "0.5 a number");
		ok(args[5].type == PIPERUN_ARG_OTHER && !strcmp(args[5].s, "[1, 2.50]"), "an array as written");
		ok(args[6].type == PIPERUN_ARG_STRING && !strcmp(args[6].s, "s"), "a string");
		for (size_t i = 0; i < n; i++)
			if (args[i].type == PIPERUN_ARG_STRING || args[i].type == PIPERUN_ARG_OTHER)
				free((char *)args[i].s);
		free(args);
	}
	line = "[1, 1e400, \"x\"]";
	ok(spec_parse_item_array(line, strlen(line), &args, &n, &why) < 0 &&
	   !strcmp(why, "argument 2: 1e400 is out of range"), "1e400 in an item is out of range");
	free(why);
}

int main(void)
{
	test_errors();
	test_expansion();
	test_deps();
	test_resolution();
	test_raw();
	return done_testing();
}
