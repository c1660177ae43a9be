/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fuzz-subst.c - libFuzzer harness: placeholders ({}, {#}, {{}}) in argv
 * and in `shell` scripts.
 * Input: TEMPLATE NUL VALUE (NUL INDEX-BYTE...).
 * Properties:
 *  - verbatim (argv, env, cwd), spec_placeholder_subst equals a reference
 *    substitution, for any template;
 *  - shell_subst takes any template without a crash, changes nothing in
 *    it but placeholders, and a script that takes the value begins with
 *    the prefix that sets it from $1;
 *  - a value is data in every context of the sh grammar (contexts[]:
 *    bare, in words, '...', "...", $(...) with quotes inside, `...`,
 *    nested ${...}, patterns, here-documents, case patterns, functions):
 *    the script that the real expansion code makes of a template holding
 *    all of them, run by /bin/dash and by /bin/bash as sh (posix mode),
 *    `-c SCRIPT /bin/sh VALUE`, prints exactly the value in each, and
 *    creates nothing (a canary directory stays empty) - for any value,
 *    even those shell_value_check refuses;
 *  - the arithmetic contexts (arith[]) are named as such, and there
 *    shell_value_check accepts exactly the integers; integers run there
 *    by both shells create nothing and, when plain, print themselves;
 *    elsewhere it refuses exactly the values with '[' and '$' or '`'.
 * Shells are slow next to the rest: they run for one input in
 * SHELL_EVERY (by a hash of the input, so a given input always does or
 * never does; $PIPERUN_FUZZ_SHELL_EVERY overrides it, 1 = every input),
 * one process per shell for all contexts. */
#define _GNU_SOURCE
#include "config.h"
#include "fuzz.h"
#include "shell.h"
#include "spec.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SHELL_EVERY 4

/* One context: a line of the script, with {} where the value goes, and
 * what it prints ('V' stands for the value). */
struct context {
	const char *tmpl, *prints;
};

static const struct context contexts[] = {
	{ "printf '<%s>' {}", "<V>" },
	{ "printf '<%s>' a{}b", "<aVb>" },
	{ "printf '<%s>' '{}' 'a{}b'", "<V><aVb>" },
	{ "printf '<%s>' \"{}\" \"a{}b\" \"a\\\"{}\"", "<V><aVb><a\"V>" },
	{ "x=\"$(printf '%s.' \"{}\")\"; printf '<%s>' \"${x%.}\"", "<V>" },
	{ "x=\"$(printf '%s.' {})\"; printf '<%s>' \"${x%.}\"", "<V>" },
	{ "x=$(printf '%s.' '{}'); printf '<%s>' \"${x%.}\"", "<V>" },
	{ "x=`printf '%s.' {}`; printf '<%s>' \"${x%.}\"", "<V>" },
	{ "x=\"`printf '%s.' \"{}\"`\"; printf '<%s>' \"${x%.}\"", "<V>" },
	{ "x=`printf '%s.' \"\\`printf '%s.' {}\\`\"`; printf '<%s>' \"${x%.}\"", "<V.>" },
	{ "printf '<%s>' \"${u:-\"{}\"}\" \"${u:-{}}\" ${u:-{}}", "<V><V><V>" },
	{ "printf '<%s>' \"${u:-'{}'}\" \"${u-x{}}\"", "<'V'><xV>" },
	{ "x={}; printf '<%s>' \"${x#{}}\" \"${x%\"{}\"}\" \"${x#'{}'}\"", "<><><>" },
	{ "x=\"$(case a in a) printf '%s.' {};; (b) :;; esac)\"; printf '<%s>' \"${x%.}\"", "<V>" },
	{ "case {} in {}) printf '<m>';; *) printf '<n>';; esac", "<m>" },
	{ "case \"x{}\" in (x'{}'|y) printf '<m>';; *) printf '<n>';; esac", "<m>" },
	{ "f() { printf '<%s>' {} \"$#\"; }; set -- a b; f c", "<V><1>" },
	{ "export X={}; printf '<%s>' \"$X\" # it's {}", "<V>" },
	{ "while IFS= read -r l; do printf '%s\\n' \"$l\"; done <<EOF\n<{}> '{}' \"{}\"\nEOF",
	  "<V> 'V' \"V\"\n" },
	{ "while IFS= read -r l; do printf '%s\\n' \"$l\"; done <<-EOF\n\t<{}>\n\tEOF", "<V>\n" },
	{ "while IFS= read -r l; do printf '%s\\n' \"$l\"; done <<A; "
	  "while IFS= read -r l; do printf '%s\\n' \"$l\"; done <<\"B\"\n"
	  "[{}]\nA\n({{}})\nB", "[V]\n({})\n" },
	{ "x=$(while IFS= read -r l; do printf '%s\\n' \"$l\"; done <<E\n)'{}'\nE\n)"
	  "; printf '<%s>' \"$x\"", "<)'V'>" },
};

/* Arithmetic contexts, each in a subshell (a bad number stops only it). */
static const struct context arith[] = {
	{ "(printf '<%s>' $(( {} )))", "<N>" },
	{ "(printf '<%s>' \"$(( {} + 0 ))\")", "<N>" },
	{ "(x=$(( ({}) )); printf '<%s>' \"$x\")", "<N>" },
	{ "(printf '<%s>' $[{}])", NULL },
	{ "(( x = {} )); :", NULL },
	/* (once at most: counting up from a huge negative value took the
	 * fuzzer's 20 s) */
	{ "for (( i = {}; i < 0; i = 0 )); do :; done", NULL },
	{ "let x={}", NULL },
	{ "[[ {} -eq 0 ]]; :", NULL },
	{ "(a[{}]=1)", NULL },
	{ "(printf '<%s>' \"${a[{}]}\")", NULL },
	{ "(printf '<%s>' \"${v:{}:1}\")", NULL },
};

#define N(a) (sizeof a / sizeof a[0])

static char canary[64], bindir[80];

static void cleanup(void)
{
	char p[128];
	snprintf(p, sizeof p, "%s/touch", bindir);
	unlink(p);
	rmdir(bindir);
	rmdir(canary);
}

static void setup(void)
{
	if (*canary)
		return;
	snprintf(canary, sizeof canary, "/tmp/fuzz-subst-XXXXXX");
	snprintf(bindir, sizeof bindir, "/tmp/fuzz-subst-bin-XXXXXX");
	CHECK(mkdtemp(canary) && mkdtemp(bindir));
	/* PATH holds only touch: enough for an injected command to leave
	 * its mark, too little for one to do harm */
	char p[128];
	snprintf(p, sizeof p, "%s/touch", bindir);
	CHECK(symlink("/usr/bin/touch", p) == 0 || symlink("/bin/touch", p) == 0);
	atexit(cleanup);
}

/* Run path (argv[0] name) -c script /bin/sh value in the canary
 * directory; its stdout (malloc'd, *n bytes). */
static char *run_shell(const char *path, const char *name, const char *script,
		       const char *value, size_t *n)
{
	char pathenv[128];
	snprintf(pathenv, sizeof pathenv, "PATH=%s", bindir);
	char *envp[] = { pathenv, "LC_ALL=C", "HOME=/nonexistent", NULL };
	char *argv[] = { (char *)name, "-c", (char *)script, "/bin/sh", (char *)value, NULL };
	int out[2], null = open("/dev/null", O_RDWR | O_CLOEXEC);
	CHECK(null >= 0 && pipe2(out, O_CLOEXEC) == 0);
	/* vfork: no copy of the sanitizers' shadow memory; the child makes
	 * only system calls before execve */
	pid_t pid = vfork();
	if (pid == 0) {
		if (dup2(null, 0) < 0 || dup2(out[1], 1) < 0 || dup2(null, 2) < 0 ||
		    chdir(canary) < 0)
			_exit(126);
		execve(path, argv, envp);
		_exit(127);
	}
	CHECK(pid > 0);
	close(null);
	close(out[1]);
	struct buf b = { 0 };
	buf_reserve(&b, 256);
	char chunk[4096];
	for (;;) {
		struct pollfd pf = { out[0], POLLIN, 0 };
		int r = poll(&pf, 1, 20000);
		if (r == 0) {
			kill(pid, SIGKILL);
			fprintf(stderr, "%s did not finish in 20 s\n", name);
			abort();
		}
		ssize_t k = read(out[0], chunk, sizeof chunk);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		buf_add(&b, chunk, (size_t)k);
	}
	close(out[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	*n = b.len;
	return buf_detach(&b);
}

static void nothing_created(const char *shell, const char *value)
{
	DIR *d = opendir(canary);
	CHECK(d);
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			fprintf(stderr, "%s ran code in the value <%s>: it created %s/%s\n",
				shell, value, canary, e->d_name);
			abort();
		}
	closedir(d);
}

/* t with each 'V' in it replaced by v ('N' by n). */
static void expect(struct buf *b, const char *t, const char *v, const char *n)
{
	for (; *t; t++) {
		if (*t == 'V')
			buf_addstr(b, v);
		else if (*t == 'N')
			buf_addstr(b, n);
		else
			buf_addch(b, *t);
	}
}

static bool is_integer(const char *v)
{
	const char *d = v + (*v == '+' || *v == '-');
	return *d && strspn(d, "0123456789") == strlen(d);
}

/* The script the expansion code makes of these contexts, one a line. */
static char *script_of(const struct context *c, size_t nc, bool *takes, const char **arithp)
{
	struct buf t = { 0 };
	for (size_t i = 0; i < nc; i++) {
		buf_addstr(&t, c[i].tmpl);
		buf_addch(&t, '\n');
	}
	struct shell_script sc;
	char *why = NULL;
	if (shell_subst(t.p, NULL, 1, &sc, &why) < 0) {
		fprintf(stderr, "shell_subst refused the contexts: %s\n", why);
		abort();
	}
	buf_free(&t);
	*takes = sc.takes_value;
	*arithp = sc.arith;
	return sc.script;
}

static void check_contexts(const char *value, bool shells)
{
	static char *data_script, *arith_script;
	bool takes;
	const char *a;
	if (!data_script) {
		data_script = script_of(contexts, N(contexts), &takes, &a);
		CHECK(takes && !a);
		arith_script = script_of(arith, N(arith), &takes, &a);
		CHECK(takes && a);
		/* each arithmetic context is named as one */
		for (size_t i = 0; i < N(arith); i++) {
			struct shell_script sc;
			char *why;
			CHECK(shell_subst(arith[i].tmpl, NULL, 1, &sc, &why) == 0);
			if (!sc.arith)
				fprintf(stderr, "not seen as arithmetic: %s\n", arith[i].tmpl);
			CHECK(sc.arith);
			free(sc.script);
		}
	}
	/* integers in arithmetic; no [ with $ or ` anywhere */
	char *why = shell_value_check(value, "$((...))");
	CHECK(!why == is_integer(value));
	free(why);
	why = shell_value_check(value, NULL);
	CHECK(!why == !(strchr(value, '[') && strpbrk(value, "$`")));
	free(why);
	if (!shells)
		return;

	setup();
	struct buf want = { 0 };
	for (size_t i = 0; i < N(contexts); i++)
		expect(&want, contexts[i].prints, value, "");
	static const char *const sh[][2] = { { "/bin/dash", "dash" }, { "/bin/bash", "sh" } };
	for (size_t s = 0; s < N(sh); s++) {
		static bool told[N(sh)];
		if (access(sh[s][0], X_OK) < 0) {       /* a shell this system lacks */
			if (!told[s]++)
				fprintf(stderr, "fuzz-subst: no %s: not run\n", sh[s][0]);
			continue;
		}
		size_t n;
		char *got = run_shell(sh[s][0], sh[s][1], data_script, value, &n);
		nothing_created(sh[s][0], value);
		if (n != want.len || memcmp(got, want.p, n)) {
			fprintf(stderr, "%s: the value <%s> did not read back as data:\n"
				"script:\n%s\ngot:\n%.*s\nwant:\n%s\n",
				sh[s][0], value, data_script, (int)n, got, want.p);
			abort();
		}
		free(got);
		if (!is_integer(value))
			continue;
		got = run_shell(sh[s][0], sh[s][1], arith_script, value, &n);
		nothing_created(sh[s][0], value);
		/* a plain number (no sign, no leading 0, small) prints itself */
		const char *d = value;
		if (strlen(d) < 10 && (d[0] != '0' || !d[1]) && d[0] != '+' && d[0] != '-') {
			struct buf w = { 0 };
			buf_reserve(&w, 0);
			for (size_t i = 0; i < N(arith); i++)
				if (arith[i].prints)
					expect(&w, arith[i].prints, "", value);
			if (n < w.len || memcmp(got, w.p, w.len)) {
				fprintf(stderr, "%s: arithmetic on <%s> printed <%.*s>, want <%s...>\n",
					sh[s][0], value, (int)n, got, w.p);
				abort();
			}
			buf_free(&w);
		}
		free(got);
	}
	buf_free(&want);
}

/* Does script differ from tmpl only where placeholders were: {{}} -> {},
 * {#} -> index, {} (or '{}') -> a reference, or each left as it is? */
static bool only_placeholders_changed(const char *tmpl, const char *script, size_t index)
{
	static const char *const refs[] = {
		"\"${" SHELL_VALUE_VAR "}\"", "'\"${" SHELL_VALUE_VAR "}\"'",
		"'\"${" SHELL_VALUE_VAR "}\"$'", "${" SHELL_VALUE_VAR "}",
	};
	char num[32];
	snprintf(num, sizeof num, "%zu", index);
	const char *t = tmpl, *o = script;
	while (*t) {
		size_t k;
		if (!strncmp(t, "{{}}", 4) && !strncmp(o, "{}", 2) && strncmp(o, "{{}}", 4)) {
			t += 4, o += 2;
			continue;
		}
		if (!strncmp(t, "{#}", 3) && !strncmp(o, num, strlen(num))) {
			t += 3, o += strlen(num);
			continue;
		}
		if (!strncmp(t, "'{}'", 4) && !strncmp(o, refs[0], strlen(refs[0]))) {
			t += 4, o += strlen(refs[0]);
			continue;
		}
		for (k = 0; !strncmp(t, "{}", 2) && k < sizeof refs / sizeof refs[0]; k++)
			if (!strncmp(o, refs[k], strlen(refs[k])))
				break;
		if (!strncmp(t, "{}", 2) && k < sizeof refs / sizeof refs[0]) {
			t += 2, o += strlen(refs[k]);
			continue;
		}
		if (*t++ != *o++)
			return false;
	}
	return !*o;
}

static void ref_subst(struct buf *b, const char *t, const char *v, size_t index)
{
	char num[32];
	snprintf(num, sizeof num, "%zu", index);
	for (const char *p = t; *p;) {
		if (!strncmp(p, "{{}}", 4)) {
			buf_addstr(b, "{}");
			p += 4;
		} else if (!strncmp(p, "{}", 2)) {
			buf_addstr(b, v);
			p += 2;
		} else if (!strncmp(p, "{#}", 3)) {
			buf_addstr(b, num);
			p += 3;
		} else {
			buf_addch(b, *p++);
		}
	}
	buf_addch(b, '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = xmalloc(size + 2);
	memcpy(in, data, size);
	in[size] = in[size + 1] = '\0';
	const char *tmpl = in;
	size_t tl = strlen(in);
	const char *value = tl < size ? in + tl + 1 : "";
	size_t index = 0;
	if (tl < size && tl + 1 + strlen(value) + 1 < size)
		index = (unsigned char)value[strlen(value) + 1];

	/* any template: verbatim substitution is exact */
	char *got = spec_placeholder_subst(tmpl, value, index);
	struct buf want = { 0 };
	ref_subst(&want, tmpl, value, index);
	if (strcmp(got, want.p)) {
		fprintf(stderr, "spec_placeholder_subst(<%s>, <%s>, %zu) = <%s>, want <%s>\n",
			tmpl, value, index, got, want.p);
		abort();
	}
	buf_free(&want);
	free(got);

	/* any template as a shell script: no crash, the prefix when the
	 * value is passed, never with a spliced index */
	struct shell_script sc;
	char *why = NULL;
	if (shell_subst(tmpl, NULL, index, &sc, &why) == 0) {
		size_t pl = strlen(SHELL_VALUE_PREFIX);
		CHECK(!sc.takes_value || !strncmp(sc.script, SHELL_VALUE_PREFIX, pl));
		CHECK(sc.takes_value || !sc.arith);
		/* nothing but placeholders changes (unless the template
		 * itself spells a reference, which would confuse the check) */
		if (!strstr(tmpl, SHELL_VALUE_VAR) &&
		    !only_placeholders_changed(tmpl, sc.script + (sc.takes_value ? pl : 0), index)) {
			fprintf(stderr, "shell_subst changed more than placeholders:\n<%s>\n<%s>\n",
				tmpl, sc.script);
			abort();
		}
		free(sc.script);
	} else {
		CHECK(why);
		free(why);
	}
	CHECK(shell_subst(tmpl, "7", index, &sc, &why) == 0 && !sc.takes_value);
	free(sc.script);
	free(shell_subst_positional(tmpl));

	/* the value in every context */
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	static unsigned every;
	if (!every) {
		const char *e = getenv("PIPERUN_FUZZ_SHELL_EVERY");
		every = e && atoi(e) > 0 ? (unsigned)atoi(e) : SHELL_EVERY;
	}
	check_contexts(value, h % every == 0);
	free(in);
	return 0;
}
