/* fuzz-subst.c - libFuzzer harness: placeholder substitution ({}, {#},
 * {{}}) and the shell quoting used for values inside `shell` commands.
 * Input: TEMPLATE NUL VALUE (NUL INDEX-BYTE...).
 * Properties:
 *  - shell_quote(v), read back as one POSIX sh word, is exactly v, and
 *    nothing in it is outside quotes but characters no shell treats
 *    specially (so `$(...)`, backticks, globs, `;`, `=`, `~` never act);
 *  - quoted for `shell`, {} placed bare, inside '...' or inside "..."
 *    reads back as exactly v, with no expansion;
 *  - verbatim (argv, env, cwd), placeholder_subst equals a reference
 *    substitution, for any template. */
#include "config.h"
#include "fuzz.h"
#include "spec.h"
#include "util.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			   "0123456789_-./:@%+,";

/* Read q as one POSIX sh word, as sh would: '...' literal, \x outside
 * quotes, "..." where only \$ \` \" \\ are escapes and an unescaped $ or
 * ` would expand.  NULL if q is not exactly one word that expands to
 * nothing but itself (or has a character sh treats specially bare). */
static char *sh_word(const char *q)
{
	struct buf b = { 0 };
	buf_reserve(&b, strlen(q) + 1);
	const char *p = q;
	if (!*p)
		goto bad;               /* an empty word vanishes */
	while (*p) {
		if (*p == '\'') {
			const char *e = strchr(p + 1, '\'');
			if (!e)
				goto bad;
			buf_add(&b, p + 1, (size_t)(e - p - 1));
			p = e + 1;
		} else if (*p == '"') {
			for (p++; *p != '"'; p++) {
				if (!*p || *p == '$' || *p == '`')
					goto bad;
				if (*p == '\\' && p[1] && strchr("$`\"\\", p[1]))
					p++;
				buf_addch(&b, *p);
			}
			p++;
		} else if (*p == '\\' && p[1]) {
			buf_addch(&b, p[1]);
			p += 2;
		} else if (strchr(safe, *p)) {
			buf_addch(&b, *p++);
		} else {
			goto bad;
		}
	}
	buf_addch(&b, '\0');
	return buf_detach(&b);
bad:
	buf_free(&b);
	return NULL;
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

	char *q = shell_quote(value);
	char *back = sh_word(q);
	if (!back || strcmp(back, value)) {
		fprintf(stderr, "shell_quote(\"%s\") = <%s> reads back as <%s>\n",
			value, q, back ? back : "(not one safe word)");
		abort();
	}
	free(back);

	/* {} bare, inside '...' and inside "...": one literal word */
	static const char *const ctx[] = { "{}", "'{}'", "\"{}\"", "a{}'b'", "\"x\"{}" };
	for (size_t c = 0; c < sizeof ctx / sizeof ctx[0]; c++) {
		char *got = placeholder_subst(ctx[c], value, index, true);
		char *word = sh_word(got);
		const char *pre = c == 3 ? "a" : "", *post = c == 3 ? "b" : "";
		if (c == 4)
			pre = "x";
		char *want = xasprintf("%s%s%s", pre, value, post);
		if (!word || strcmp(word, want)) {
			fprintf(stderr, "placeholder_subst(<%s>, <%s>) = <%s> reads back as <%s>\n",
				ctx[c], value, got, word ? word : "(not one literal word)");
			abort();
		}
		free(want);
		free(word);
		free(got);
	}
	/* any template: verbatim substitution is exact; quoted, no crash */
	char *got = placeholder_subst(tmpl, value, index, false);
	struct buf want = { 0 };
	ref_subst(&want, tmpl, value, index);
	if (strcmp(got, want.p)) {
		fprintf(stderr, "placeholder_subst(<%s>, <%s>, %zu) = <%s>, want <%s>\n",
			tmpl, value, index, got, want.p);
		abort();
	}
	buf_free(&want);
	free(got);
	free(placeholder_subst(tmpl, value, index, true));
	free(q);
	free(in);
	return 0;
}
