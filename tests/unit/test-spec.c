/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-spec.c - spec loading: every error with its path, expansion and
 * naming of copies, placeholders, dependencies, cycles. */
#include "config.h"
#include "piperun-task.h"
#include "enum-name.h"
#include "kind.h"
#include "spec.h"
#include "spec-json.h"
#include "shell.h"
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
	is_str(spec_job(s, 0)->name, "r#1", "repeat copy 1 named r#1");
	is_str(spec_job(s, 2)->name, "r#3", "repeat copy 3 named r#3");
	is_str(spec_job(s, 1)->stages[0].argv[1], "2:2", "{#} and {} are the copy index in a repeat");
	is_str(spec_job(s, 3)->name, "f[a]", "foreach copy named f[a]");
	is_str(spec_job(s, 4)->name, "f[b c]", "foreach value with a space");
	is_str(spec_job(s, 5)->name, "f[a]#2", "a repeated value gets #2");
	is_str(spec_job(s, 4)->stages[0].argv[1], "b c", "{} verbatim in argv");
	is_str(spec_job(s, 4)->stages[0].argv[2], "{}", "{{}} is a literal {}");
	is_str(spec_job(s, 6)->name, "fr[x]#1", "foreach + repeat: fr[x]#1");
	is_str(spec_job(s, 7)->name, "fr[x]#2", "foreach + repeat: fr[x]#2");
	is_str(spec_job(s, 8)->stages[0].argv[2], SHELL_VALUE_PREFIX "echo \"${" SHELL_VALUE_VAR "}\"",
	       "{} in shell is a reference to the value");
	is_str(spec_job(s, 8)->stages[0].argv[4], "$(id)", "the value is an argument of sh");
	is_str(spec_job(s, 9)->stages[0].argv[4], "it's", "quotes inside values survive");
	is_str(spec_job(s, 10)->stages[0].argv[1], "{}", "a job without copies is left alone");
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
	is_int(spec_job(s, 2)->ndeps, 2, "a base name means every copy");
	is_int(spec_job(s, 3)->ndeps, 1, "an exact copy name means that copy");
	is_int(spec_job(s, 3)->deps[0], 1, "build#2 is job 1");
	is_int(spec_job(s, 4)->ndeps, 1, "stdin.from implies after");
	char *names[] = { "rd" };
	struct errlist e = { 0 };
	ok(spec_select(s, names, 1, &e) == 0 && s->njobs == 3,
	   "--only rd keeps rd, one and build#2 (%zu)", s->njobs);
	errlist_free(&e);
	spec_free(s);
}

/* Copies are made when asked for and let go; names are looked up
 * without them: values holding "]#2" or brackets, foreach with repeat,
 * duplicates between templates, --only of one copy. */
static void test_copies(void)
{
	struct spec *s = must_load(
		"{\"jobs\": [{\"name\": \"w\", \"run\": [\"echo\", \"{}\"], \"repeat\": 1000}]}");
	if (s) {
		bool none = true;
		for (size_t i = 0; i < s->njobs; i++)
			none &= !spec_job_held(s, i);
		ok(s->njobs == 1000 && none, "1000 copies loaded, none of them made");
		is_str(spec_job(s, 500)->name, "w#501", "copy 501 made when asked for");
		is_str(spec_job(s, 500)->stages[0].argv[1], "501", "... with its {}");
		ok(spec_job_held(s, 500) && !spec_job_held(s, 499), "only that copy is held");
		spec_job_drop(s, 500);
		ok(!spec_job_held(s, 500), "dropped, it is not held");
		is_str(spec_job(s, 500)->name, "w#501", "made again the same");
		spec_free(s);
	}
	s = must_load(
		"{\"jobs\": ["
		" {\"name\": \"f\", \"run\": [\"true\"], \"foreach\": [\"x]#2\", \"x\", \"x\", \"[y]\"]},"
		" {\"name\": \"fr\", \"run\": [\"true\"], \"foreach\": [\"a\", \"a\"], \"repeat\": 2},"
		" {\"name\": \"b\", \"run\": [\"true\"], \"foreach\": [\"1\", \"2\"]},"
		" {\"name\": \"b\", \"run\": [\"true\"], \"repeat\": 2},"
		" {\"name\": \"a1\", \"run\": [\"true\"], \"after\": [\"f[x]#2\"]},"
		" {\"name\": \"a2\", \"run\": [\"true\"], \"after\": [\"f[x]#2]\", \"f[[y]]\"]},"
		" {\"name\": \"a3\", \"run\": [\"true\"], \"after\": [\"fr[a]#3\"]},"
		" {\"name\": \"a4\", \"run\": [\"true\"], \"after\": [\"b\"]},"
		" {\"name\": \"a5\", \"run\": [\"true\"], \"after\": [\"b#2\", \"b[1]\", \"b\"]}"
		"]}");
	ok(s != NULL, "values with ] # [ and two templates of one base load");
	if (s) {
		is_str(spec_job(s, 0)->name, "f[x]#2]", "the value x]#2 names f[x]#2]");
		is_str(spec_job(s, 2)->name, "f[x]#2", "the second x is f[x]#2");
		is_str(spec_job(s, 7)->name, "fr[a]#4", "foreach a, a with repeat 2: fr[a]#4");
		const struct job_spec *j = spec_job(s, 12);
		ok(j->ndeps == 1 && j->deps[0] == 2, "f[x]#2 is the second x, not the value x]#2");
		j = spec_job(s, 13);
		ok(j->ndeps == 2 && j->deps[0] == 0 && j->deps[1] == 3, "f[x]#2] and f[[y]] found");
		j = spec_job(s, 14);
		ok(j->ndeps == 1 && j->deps[0] == 6, "fr[a]#3 is the second a's first repeat");
		j = spec_job(s, 15);
		ok(j->ndeps == 4 && j->deps[0] == 8 && j->deps[3] == 11,
		   "a base two templates share means the copies of both");
		j = spec_job(s, 16);
		ok(j->ndeps == 4, "the same named three ways: each copy once (%zu)", j->ndeps);
		char *names[] = { "a3" };
		struct errlist e = { 0 };
		ok(spec_select(s, names, 1, &e) == 0 && s->njobs == 2 &&
		   !strcmp(spec_job(s, 0)->name, "fr[a]#3") && spec_job(s, 1)->deps[0] == 0,
		   "--only a3 keeps a3 and the one copy it waits for");
		errlist_free(&e);
		spec_free(s);
	}
	rejects("{\"jobs\": [{\"name\": \"a[x]\", \"run\": [\"true\"], \"repeat\": 1},"
		" {\"name\": \"a\", \"run\": [\"true\"], \"foreach\": [\"x\"], \"repeat\": 1}]}",
		"jobs[1].name: duplicate job name \"a[x]#1\" (also jobs[0])");
	rejects("{\"jobs\": [{\"name\": \"f\", \"run\": [\"true\"], \"foreach\": [\"z\"]},"
		" {\"name\": \"f[z]\", \"run\": [\"true\"]}]}",
		"jobs[1].name: duplicate job name \"f[z]\" (also jobs[0])");
	rejects("{\"jobs\": [{\"name\": \"w\", \"run\": [\"true\"], \"repeat\": 2},"
		" {\"name\": \"w\", \"run\": [\"true\"], \"repeat\": 3}]}",
		"jobs[1].name: duplicate job name \"w#1\" (also jobs[0])");
	static const char *const absent[] = { "w#0", "w#01", "w#3", "f[q]", "f[z]#1" };
	for (size_t k = 0; k < sizeof absent / sizeof *absent; k++) {
		char *json = xasprintf("{\"jobs\": [{\"name\": \"w\", \"run\": [\"true\"], \"repeat\": 2},"
				       " {\"name\": \"f\", \"run\": [\"true\"], \"foreach\": [\"z\"]},"
				       " {\"name\": \"x\", \"run\": [\"true\"], \"after\": \"%s\"}]}",
				       absent[k]);
		char *want = xasprintf("jobs[2].after[0]: no job named \"%s\"", absent[k]);
		rejects(json, want);
		free(want);
		free(json);
	}
	rejects("{\"jobs\": [{\"name\": \"w\", \"run\": [\"true\"], \"repeat\": 2,"
		" \"after\": \"w#2\"}]}", "jobs[0].after[0]: a job cannot wait for itself");
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
	ok(spec_job(s, 0)->stages[0].exe && spec_job(s, 0)->stages[0].exe[0] == '/', "sh resolved to an absolute path");
	is_int(spec_job(s, 1)->stages[0].exe_status, 127, "not found is 127");
	is_int(spec_job(s, 2)->stages[0].exe_status, 126, "not executable is 126");
	char *r = spec_redact(spec_job(s, 3), "pw=hunter22!");
	is_str(r, "pw=***!", "secret values are redacted");
	free(r);
	spec_free(s);
	{
		/* overlapping secrets: the whole covered run is hidden */
		struct spec *o = must_load("{\"jobs\": [{\"run\": [\"true\"], \"env\": {\"A\": \"ab\","
					   " \"B\": \"bcdefgh\"}, \"secret_env\": [\"A\", \"B\"]}]}");
		if (o) {
			char *x = spec_redact(spec_job(o, 0), "<abcdefgh>");
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
		is_int(spec_job(s, 0)->stages[0].exe_status, 127, "copy 1: not on its PATH");
		is_int(spec_job(s, 1)->stages[0].exe_status, 0, "copy 2: found on its PATH");
		is_int(spec_job(s, 2)->stages[0].exe_status, 127, "copy 3: not found again");
		is_int(spec_job(s, 3)->stages[0].exe_status, 0, "relative PATH from cwd /: found");
		is_int(spec_job(s, 4)->stages[0].exe_status, 127, "the same from cwd /tmp: not found");
		spec_free(s);
	}
	char *p = spec_placeholder_subst("a{}b{#}c{{}}", "V", 7);
	is_str(p, "aVb7c{}", "spec_placeholder_subst");
	free(p);
	p = spec_placeholder_subst("a\\{}b", "V", 1);
	is_str(p, "a\\Vb", "verbatim: a backslash does not hide {} (found by fuzz-subst)");
	free(p);
	p = spec_placeholder_subst("", "V", 1);
	is_str(p, "", "an empty template gives \"\" (found by fuzz-subst)");
	free(p);
}

/* `shell` scripts: {} becomes a reference to the value, quoted for where
 * it sits as sh reads the script; arithmetic contexts are named. */
#define V "${" SHELL_VALUE_VAR "}"
#define BARE "\"" V "\""
static void test_shell(void)
{
	static const struct { const char *tmpl, *want, *arith, *what; } q[] = {
		{ "echo {}", "echo " BARE, NULL, "bare: a quoted reference" },
		{ "echo a{}b", "echo a" BARE "b", NULL, "inside a word" },
		{ "echo 'a{}b'", "echo 'a'" BARE "'b'", NULL, "inside '...': closed, referenced, reopened" },
		{ "echo '{}'", "echo " BARE, NULL, "'{}' is a bare {}" },
		{ "echo \"x{}\"", "echo \"x" V "\"", NULL, "inside \"...\": the bare reference" },
		{ "echo $'a\\t{}'", "echo $'a\\t'" BARE "$''", NULL, "inside $'...': reopened as $'" },
		{ "echo \"$(echo {})\"", "echo \"$(echo " BARE ")\"", NULL,
		  "$(...) inside \"...\" is a context of its own" },
		{ "echo \"$(echo \"{}\")\"", "echo \"$(echo \"" V "\")\"", NULL,
		  "double quotes inside $(...) inside double quotes" },
		{ "echo \"${v:-\"{}\"}\"", "echo \"${v:-\"" V "\"}\"", NULL, "nested quotes in ${...}" },
		{ "echo ${v:-{}}", "echo ${v:-" BARE "}", NULL, "the word of ${v:-word}" },
		{ "echo \"${v:-'{}'}\"", "echo \"${v:-'" BARE "'}\"", NULL,
		  "\"${v:-'...'}\": the ' are text there" },
		{ "echo \"${v#'{}'}\"", "echo \"${v#''" BARE "''}\"", NULL,
		  "\"${v#'...'}\": the ' quote a pattern" },
		{ "echo ${v#{}}", "echo ${v#" BARE "}", NULL, "a pattern: quoted, so literal" },
		{ "echo `echo {}` \"`echo {}`\"", "echo `echo " BARE "` \"`echo " BARE "`\"", NULL,
		  "backquotes, bare and inside \"...\"" },
		{ "echo `echo \"{}\" 'a{}'`", "echo `echo \"" V "\" 'a'" BARE "''`", NULL,
		  "quotes inside backquotes" },
		{ "x=`echo \\`echo {}\\``; echo {}", "x=`echo \\`echo " BARE "\\``; echo " BARE, NULL,
		  "nested backquotes" },
		{ "echo `echo \"\\`echo {}\\`\"`", "echo `echo \"\\`echo " BARE "\\`\"`", NULL,
		  "nested backquotes inside \"...\": a context of their own" },
		{ "echo <(echo {})", "echo <(echo " BARE ")", NULL, "process substitution" },
		{ "# it's {} here\necho {}", "# it's {} here\necho " BARE, NULL,
		  "a # comment is left alone, and its ' opens nothing" },
		{ "echo {} # {}", "echo " BARE " # {}", NULL, "a comment after a command" },
		{ "echo a#{}", "echo a#" BARE, NULL, "# inside a word is no comment" },
		{ "echo \\{} {}", "echo \\{} " BARE, NULL, "an escaped { is no placeholder" },
		{ "echo \"a\\\"{}\"", "echo \"a\\\"" V "\"", NULL, "an escaped \" inside \"...\"" },
		{ "echo \\' {}", "echo \\' " BARE, NULL, "an escaped ' opens no quote" },
		{ "cat <<EOF\n'{}' \"{}\"\nEOF\necho 'x{}'",
		  "cat <<EOF\n'" V "' \"" V "\"\nEOF\necho 'x'" BARE "''", NULL,
		  "a here-document: quotes are text, the body ends at its line" },
		{ "cat <<-EOF; echo {}\n\t{}\n\tEOF\necho {}",
		  "cat <<-EOF; echo " BARE "\n\t" V "\n\tEOF\necho " BARE, NULL,
		  "<<-: the body starts after the newline, tabs before its end" },
		{ "cat <<A <<'B'; cat <<C\n{}\nA\n{{}}\nB\n$(echo {})\nC\necho '{}'",
		  "cat <<A <<'B'; cat <<C\n" V "\nA\n{}\nB\n$(echo " BARE ")\nC\necho " BARE,
		  NULL, "three here-documents on one line, one after the other" },
		{ "x=$(cat <<E\n)'{}'\nE\n); echo {}", "x=$(cat <<E\n)'" V "'\nE\n); echo " BARE, NULL,
		  "a here-document inside $(...): its ) and ' are text" },
		{ "x=$(case $y in a) echo {};; (b|c) echo '{}';; esac); echo {}",
		  "x=$(case $y in a) echo " BARE ";; (b|c) echo " BARE ";; esac); echo " BARE, NULL,
		  "case patterns inside $(...) do not end it" },
		{ "case {} in {}|x) echo \"{}\";; esac", "case " BARE " in " BARE "|x) echo \"" V "\";; esac",
		  NULL, "a case word and pattern: quoted, so literal" },
		{ "f() { echo {}; }; f", "f() { echo " BARE "; }; f", NULL, "a function" },
		{ "echo $(( {} + 1 ))", "echo $(( " V " + 1 ))", "$((...))", "$((...))" },
		{ "echo \"$(( {} ))\"", "echo \"$(( " V " ))\"", "$((...))", "$((...)) inside \"...\"" },
		{ "(( x = {} ))", "(( x = " V " ))", "((...))", "((...))" },
		{ "for (( i = {}; i < 3; i++ )); do :; done", "for (( i = " V "; i < 3; i++ )); do :; done",
		  "((...))", "for ((...))" },
		{ "echo $[{}+1]", "echo $[" V "+1]", "$[...]", "$[...]" },
		{ "let x={}", "let x=" BARE, "the arguments of let", "let" },
		{ "[[ {} -eq 1 ]]", "[[ " BARE " -eq 1 ]]", "[[ ... -eq ... ]]", "[[ {} -eq 1 ]]" },
		{ "[[ 1 -lt \"{}\" ]]", "[[ 1 -lt \"" V "\" ]]", "[[ ... -eq ... ]]", "[[ 1 -lt \"{}\" ]]" },
		{ "[[ {} == x && 1 -eq 1 ]]", "[[ " BARE " == x && 1 -eq 1 ]]", NULL,
		  "[[ ]]: only the operands of -eq etc. are arithmetic" },
		{ "a[{}]=1", "a[" V "]=1", "an array subscript", "an array element assignment" },
		{ "echo ${a[{}]}", "echo ${a[" V "]}", "a subscript of ${name[...]}", "${a[...]}" },
		{ "echo ${v:{}:2}", "echo ${v:" V ":2}", "the offset of ${name:offset:length}", "${v:offset}" },
		{ "echo ${v:1:{}}", "echo ${v:1:" V "}", "the offset of ${name:offset:length}", "${v:o:length}" },
		{ "echo $(( $(echo {}) ))", "echo $(( $(echo " BARE ") ))", NULL,
		  "a command inside arithmetic is no arithmetic" },
		{ "echo $$({})", "echo $$(" BARE ")", NULL, "$$ is whole: ( after it opens a subshell" },
	};
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		struct shell_script sc = { 0 };
		char *why = NULL;
		if (!ok(shell_subst(q[i].tmpl, NULL, 7, &sc, &why) == 0, "%s: accepted", q[i].what)) {
			printf("#   %s\n", why);
			free(why);
			continue;
		}
		const char *body = sc.script;
		if (!strncmp(body, SHELL_VALUE_PREFIX, strlen(SHELL_VALUE_PREFIX)))
			body += strlen(SHELL_VALUE_PREFIX);
		else
			body = "(no prefix)";
		is_str(body, q[i].want, "%s", q[i].what);
		is_str(sc.arith, q[i].arith, "%s: arithmetic?", q[i].what);
		ok(sc.takes_value, "%s: takes the value", q[i].what);
		free(sc.script);
	}

	/* what is not {} stays text; repeat's {} (an integer) is spliced */
	static const struct { const char *tmpl, *splice, *want, *what; } t[] = {
		{ "echo ${#} {#} {{}}", NULL, "echo ${#} 7 {}", "${#} is sh's, {#} and {{}} are text" },
		{ "echo {}", NULL, "echo " BARE, "(takes a value)" },
		{ "echo {} 'a{}' \"{}\"", "3", "echo 3 'a3' \"3\"", "repeat: the copy index as text" },
		{ "cat <<'E'\n{} {#}\nE", "3", "cat <<'E'\n3 7\nE", "repeat: also where nothing expands" },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct shell_script sc = { 0 };
		char *why = NULL;
		int rc = shell_subst(t[i].tmpl, t[i].splice, 7, &sc, &why);
		ok(rc == 0 && sc.takes_value == (i == 1), "%s: takes a value only with a reference", t[i].what);
		if (rc == 0 && sc.takes_value)
			is_str(sc.script, SHELL_VALUE_PREFIX "echo " BARE, "%s: the prefix first", t[i].what);
		else
			is_str(rc == 0 ? sc.script : why, t[i].want, "%s", t[i].what);
		free(sc.script);
		free(why);
	}

	/* where a value cannot be data */
	static const char *const bad[] = {
		"cat <<'EOF'\n{}\nEOF", "cat <<\"EOF\"\n{}\nEOF", "cat <<\\EOF\n{}\nEOF",
		"cat <<E'O'F; echo {}\n{}\nEOF",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct shell_script sc = { 0 };
		char *why = NULL;
		ok(shell_subst(bad[i], NULL, 1, &sc, &why) < 0 && why &&
		   strstr(why, "here-document whose delimiter is quoted"),
		   "{} in a here-document with a quoted delimiter is refused (%zu)", i);
		free(why);
		free(sc.script);
	}

	/* the value checks: integers in arithmetic, never [ with $ or ` */
	static const struct { const char *value; bool arith, good; } v[] = {
		{ "12", true, true }, { "-3", true, true }, { "+0", true, true }, { "08", true, true },
		{ "", true, false }, { "-", true, false }, { "1.5", true, false }, { " 1", true, false },
		{ "0x1", true, false }, { "1e3", true, false }, { "a[$(id)]", true, false },
		{ "x", true, false },
		{ "a[$(id)]", false, false }, { "b[`id`]", false, false }, { "[$", false, false },
		{ "$x[", false, false },
		{ "a[x]", false, true }, { "$(id)", false, true }, { "`id`", false, true },
		{ "", false, true }, { "it's", false, true },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char *why = shell_value_check(v[i].value, v[i].arith ? "$((...))" : NULL);
		ok(!why == v[i].good, "shell_value_check(\"%s\", %s): %s", v[i].value,
		   v[i].arith ? "arithmetic" : "elsewhere", v[i].good ? "data" : "refused");
		free(why);
	}

	/* the positional form validate shows */
	char *p = shell_subst_positional("echo got-{} \"<{}>\" '{}' {{}} {#}");
	is_str(p, "echo got-\"$1\" \"<$1>\" \"$1\" {{}} {#}", "the positional form");
	free(p);
	p = shell_subst_positional("cat <<'E'\n{}\nE");
	is_str(p, NULL, "no positional form where {} cannot be a reference");

	/* in a spec: the argv, and errors with their paths */
	struct errlist e;
	struct spec *s = load("{\"jobs\": [{\"name\": \"s\", \"shell\": \"echo {} {#}\","
			      " \"foreach\": [\"$(x)\"]},"
			      " {\"name\": \"r\", \"shell\": \"echo {}\", \"repeat\": 2},"
			      " {\"name\": \"n\", \"shell\": \"echo {}\"}]}", &e);
	if (ok(s != NULL, "a shell spec with copies loads")) {
		const struct stage_spec *st = &spec_job(s, 0)->stages[0];
		is_int(st->argc, 5, "a foreach copy: sh -c SCRIPT /bin/sh VALUE");
		is_str(st->argv[2], SHELL_VALUE_PREFIX "echo " BARE " 1", "... its script");
		is_str(st->argv[3], "/bin/sh", "... $0 as without a value");
		is_str(st->argv[4], "$(x)", "... the value, as it is");
		is_str(spec_job(s, 0)->shell, st->argv[2], "... shell is what sh runs");
		is_int(spec_job(s, 1)->stages[0].argc, 3, "a repeat copy: the index as text");
		is_str(spec_job(s, 3)->stages[0].argv[2], "echo {}", "no copies: left alone");
		is_int(spec_job(s, 3)->stages[0].argc, 3, "no copies: no value");
		spec_free(s);
	}
	errlist_free(&e);
	rejects("{\"jobs\": [{\"shell\": \"echo $(( {} ))\", \"foreach\": [\"1\", \"x\"]}]}",
		"t.json: jobs[0].foreach[1]: \"x\": {} is read as arithmetic in $((...))");
	rejects("{\"defaults\": {\"foreach\": [\"a[$(id)]\"]}, \"jobs\": [{\"shell\": \"echo {}\"}]}",
		"t.json: defaults.foreach[0]: \"a[$(id)]\": a value with '[' and '$'");
	rejects("{\"defaults\": {\"shell\": \"cat <<'E'\\n{}\\nE\"}, \"jobs\": [{\"foreach\": [\"x\"]}]}",
		"t.json: defaults.shell: {} is in a here-document whose delimiter is quoted");
	/* a value that is a secret is not shown */
	s = load("{\"jobs\": [{\"shell\": \"echo {}\", \"env\": {\"PW\": \"a[$(pw)]\"},"
		 " \"secret_env\": [\"PW\"], \"foreach\": [\"a[$(pw)]\"]}]}", &e);
	ok(!s && e.n == 1 && strstr(e.msg[0], "foreach[0]: \"***\":") && !strstr(e.msg[0], "pw"),
	   "a secret value is hidden in the error: %s", e.n ? e.msg[0] : "(none)");
	spec_free(s);
	errlist_free(&e);
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
		is_str(spec_job(s, 0)->stages[0].argv[1], "\\u0000", "\\\\u0000 is a backslash and u0000");
		is_int(spec_job(s, 0)->in.len, 8, "stdin.text keeps every byte");
		ok(!memcmp(spec_job(s, 0)->in.data, "a\0\xF0\x9F\x98\x80\n\0", 8),
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
			is_str(spec_job(s, i)->stages[0].argv[1], want[i], "a number becomes %s", want[i]);
		is_str(spec_job(s, 0)->name, "n[1733460000000000]", "and names it exactly");
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
}

/* The JSON access API of spec-json.h: what the loader's other files see. */
static void test_json_access(void)
{
	const char *text = "{\"a\": \"x\", \"n\": 1.5, \"t\": true, \"f\": false, \"z\": null,"
			   " \"l\": [1, \"two\", [3]], \"o\": {}}";
	struct cJSON *root = jv_parse(text, strlen(text));
	ok(root && jv_is_object(root), "jv_parse: an object");
	is_str(jv_str(jv_get(root, "a")), "x", "jv_get + jv_str");
	ok(jv_num(jv_get(root, "n")) == 1.5, "jv_num");
	ok(jv_is_true(jv_get(root, "t")) && jv_is_bool(jv_get(root, "t")), "jv_is_true");
	ok(jv_is_null(jv_get(root, "z")), "jv_is_null");
	ok(!jv_get(root, "A") && !jv_get(root, "missing"), "jv_get: case-sensitive, NULL if absent");
	ok(!jv_str(jv_get(root, "n")) && jv_num(jv_get(root, "a")) == 0,
	   "jv_str / jv_num of the wrong type: NULL / 0");
	const struct cJSON *l = jv_get(root, "l");
	is_int(jv_size(l), 3, "jv_size");
	is_str(jv_str(jv_at(l, 1)), "two", "jv_at");
	ok(!jv_at(l, 3), "jv_at past the end: NULL");
	ok(jv_is_array(jv_at(l, 2)) && jv_is_number(jv_at(l, 0)), "element types");
	size_t n = 0;
	const struct cJSON *e;
	JV_EACH(e, root)
		n++;
	is_int(n, 7, "JV_EACH: every member");
	is_str(jv_key(jv_child(root)), "a", "jv_key of the first member");
	is_str(jv_key(jv_next(jv_child(root))), "n", "jv_next: document order");
	ok(!jv_child(jv_get(root, "o")) && !jv_child(jv_get(root, "a")),
	   "jv_child: NULL for an empty object and for a scalar");
	ok(!jv_get(NULL, "a") && !jv_next(NULL) && !jv_is_string(NULL) && !jv_key(NULL),
	   "NULL in: no value out");
	jv_free(root);
	jv_free(NULL);
	ok(!jv_parse("{", 1), "jv_parse: NULL for malformed JSON");
	const char *strs[] = { "sh", "a\"b\n", "{}" };
	char *a = jv_strv_text(strs, 3);
	is_str(a, "[\"sh\",\"a\\\"b\\n\",\"{}\"]", "jv_strv_text: a compact array");
	free(a);
	char *d = spec_describe_str("q\"\\\x01");
	is_str(d, "\"q\\\"\\\\\\x01\"", "spec_describe_str escapes");
	free(d);
	ok(spec_json_text_valid("[1, {\"a\": 2}] ") && !spec_json_text_valid("[1,]") &&
	   !spec_json_text_valid("1 2"), "spec_json_text_valid");
}

/* jv_token: a value's bytes in the text it was parsed from (piperun
 * show prints numbers as written and strings with their NULs). */
static void test_json_token(void)
{
	const char *text = "{\"a\": [1, 2.50e1 ], \"s\": \"x\\u0000y\", \"o\": { \"k\": null }}";
	struct cJSON *root = jv_parse_whole(text, strlen(text));
	const char *tok = NULL;
	size_t len = 0;
	ok(jv_token(root, text, strlen(text), jv_at(jv_get(root, "a"), 1), &tok, &len) == 0 &&
	   len == 6 && !memcmp(tok, "2.50e1", 6), "jv_token: a number as written");
	ok(jv_token(root, text, strlen(text), jv_get(root, "s"), &tok, &len) == 0, "jv_token: a string");
	size_t n = 0;
	char *b = spec_raw_string(tok, len, &n);
	ok(n == 3 && !memcmp(b, "x\0y", 3), "... decoded with its NUL (jv_str stops at it)");
	free(b);
	ok(jv_token(root, text, strlen(text), jv_get(jv_get(root, "o"), "k"), &tok, &len) == 0 &&
	   len == 4 && !memcmp(tok, "null", 4), "jv_token: null in a nested object");
	ok(jv_token(root, text, strlen(text), jv_get(root, "o"), &tok, &len) == 0 && len == 13,
	   "jv_token: an object, braces included");
	struct cJSON *other = jv_parse("[1]", 3);
	ok(jv_token(root, text, strlen(text), jv_child(other), &tok, &len) < 0,
	   "jv_token: -1 for a value of another tree");
	jv_free(other);
	jv_free(root);
}

/* The enum <-> name tables, and the spec's own. */
static void test_enum_names(void)
{
	enum { RED = 3, GREEN = 7 };
	static const struct enum_name colors[] = { { RED, "red" }, { GREEN, "green" } };
	int v = -1;
	is_str(ENUM_NAME(colors, GREEN), "green", "ENUM_NAME");
	ok(!ENUM_NAME(colors, 5), "ENUM_NAME: NULL for a value without a row");
	ok(ENUM_PARSE(colors, "red", &v) == 0 && v == RED, "ENUM_PARSE");
	ok(ENUM_PARSE(colors, "Red", &v) < 0 && v == RED, "ENUM_PARSE: exact names, v untouched");
	ok(ENUM_PARSE(colors, NULL, &v) < 0, "ENUM_PARSE: NULL is no name");
	is_str(spec_run_mode_name(MODE_THREAD), "thread", "spec_run_mode_name");
	size_t nmodes;
	const struct enum_name *modes = spec_run_mode_table(&nmodes);
	int m = MODE_ASYNC;
	ok(enum_parse(modes, nmodes, "serial", &m) == 0 && m == MODE_SERIAL, "spec_run_mode_table");
	ok(enum_parse(modes, nmodes, "process", &m) < 0, "spec_run_mode_table: no such mode");
	is_str(spec_io_mode_name(IO_STDOUT), "stdout", "spec_io_mode_name");
	is_str(spec_encoding_name(ENC_UTF8), "utf-8", "spec_encoding_name");
	/* the kind table: a row per kind, found by id */
	const struct job_kind *k;
	size_t rows = 0;
	for (size_t i = 0; (k = kind_at(i)); i++, rows++)
		ok(kind_get(k->id) == k && k->parse && k->plan,
		   "kind %s: found by id, parse and plan hooks", k->name);
	is_int(rows, 5, "five kinds");
	is_str(kind_name(KIND_PIPELINE), "pipeline", "kind_name");
}

int main(void)
{
	test_errors();
	test_expansion();
	test_deps();
	test_copies();
	test_resolution();
	test_raw();
	test_shell();
	test_json_access();
	test_json_token();
	test_enum_names();
	return done_testing();
}
