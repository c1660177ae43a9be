/* SPDX-License-Identifier: GPL-3.0-or-later */
/* shell.c - placeholders in `shell` scripts.
 *
 * A copy's value never becomes script text.  sh gets it as $1, a prefix
 * on the script's first line moves it into SHELL_VALUE_VAR, and each {}
 * becomes a reference to that variable, quoted for where it sits.  Where
 * that is, this file reads from the POSIX sh grammar and bash's additions:
 * quotes, $'...', backslashes, # comments, $(...), `...`, <(...), ${...}
 * with its nested quotes, arithmetic, [[ ]], let, case patterns and
 * here-documents (<< and <<-, several on a line, bodies after the next
 * newline).
 *
 * Reading a context wrong costs at worst word splitting of the value,
 * never its execution: a reference is expanded once and its result is
 * never parsed as code again.  Except by arithmetic, which bash
 * evaluates recursively, running $(...) in array subscripts
 * (a[$(cmd)]): hence shell_value_check(), which a scanner's mistake
 * cannot get around. */
#include "config.h"
#include "shell.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum sh_kind {
	SK_CMD,   /* commands: the script, $(...), <(...), >(...), `...` */
	SK_CASE,  /* the commands of a case ... esac (patterns end in ')') */
	SK_SQ,    /* '...' */
	SK_DSQ,   /* $'...' (bash, ksh, zsh): backslash escapes inside */
	SK_DQ,    /* "..." */
	SK_PARAM, /* ${...} */
	SK_ARITH, /* $((...)), ((...)), $[...], a subscript, an offset */
	SK_HDOC,  /* the body of a here-document */
};

/* What ends a frame. */
enum sh_end {
	SE_NONE,    /* its own closing character (a quote, "}", "esac") */
	SE_PAREN,   /* ")" at depth 0 */
	SE_DPAREN,  /* "))" at depth 0 */
	SE_BRACKET, /* "]" at depth 0 */
	SE_BRACE,   /* "}" at depth 0, left to the ${...} around it */
	SE_BOUND,   /* a position found in advance: the matching backquote,
		     * a here-document's terminator line */
};

enum case_state {
	CS_WORD, /* case WORD */
	CS_IN,   /* in */
	CS_PAT,  /* a pattern list starts: "(", a pattern or esac */
	CS_PATW, /* inside a pattern list, up to its ")" */
	CS_BODY, /* the commands, up to ;; ;& ;;& or esac */
};

enum param_phase { PP_START, PP_AFTER, PP_WORD };

struct sh_frame {
	enum sh_kind kind;
	enum sh_end end;
	const char *arith;   /* a {} here is read as arithmetic: by what */
	int depth;           /* unclosed "(" (and "[" for SE_BRACKET) */
	/* SE_BOUND */
	const char *bound, *outer_bound, *resume;
	int bq, outer_bq;    /* `...`: 1, \`...\` inside it: 2; else 0 */
	bool closed;         /* `...`: its closing backquote is at bound */
	/* SK_CMD, SK_CASE */
	bool in_word;        /* inside a word (a # starts no comment) */
	bool cmdpos;         /* the next word is a command word */
	bool after_for;      /* for/select: "((" starts arithmetic */
	bool let;            /* the arguments of let */
	bool cond;           /* inside [[ ]] */
	bool word_ph, last_ph, after_op; /* [[ ]]: operands of -eq etc. */
	enum case_state cs;
	/* SK_PARAM */
	bool quoted;         /* inside "..." or a here-document */
	bool sq_literal;     /* quoted ${v-word}: a ' in word is literal */
	enum param_phase phase;
	/* SK_HDOC */
	bool hquoted;        /* a quoted delimiter: nothing expands */
};

/* A here-document whose body comes after the next newline. */
struct hdoc {
	char *delim;
	bool strip_tabs, quoted;
};

struct sh_scan {
	const char *end;        /* the script's NUL */
	const char *bound;      /* the innermost SE_BOUND frame's, or NULL */
	int bq;                 /* and its backquote level */
	struct buf out;
	struct sh_frame *st;
	size_t n, cap;
	struct hdoc *hd;
	size_t nhd, hdcap;
	const char *expansion;  /* of the value: "${__piperun_v}" or "$1" */
	const char *splice;     /* text for {} instead, or NULL */
	bool keep;              /* leave {{}} and {#} as they are */
	char num[32];           /* {#} */
	bool used;              /* a {} became a reference */
	const char *arith;      /* the first arithmetic context of a {} */
	char *why;
};

static struct sh_frame *sh_top(struct sh_scan *S)
{
	return &S->st[S->n - 1];
}

/* Where the text the current frame may look at ends. */
static const char *sh_lim(const struct sh_scan *S)
{
	return S->bound ? S->bound : S->end;
}

static void put(struct sh_scan *S, const char *p, size_t n)
{
	buf_add(&S->out, p, n);
}

static struct sh_frame *sh_push(struct sh_scan *S, enum sh_kind kind, enum sh_end end,
				const char *arith)
{
	/* quotes and ${...} are parts of a word: arithmetic around them
	 * reads them too; a command inside is a context of its own */
	if (!arith && S->n && (kind == SK_SQ || kind == SK_DSQ || kind == SK_DQ ||
			       kind == SK_PARAM))
		arith = sh_top(S)->arith;
	xgrow(&S->st, &S->cap, S->n + 1, sizeof *S->st);
	struct sh_frame *f = &S->st[S->n++];
	memset(f, 0, sizeof *f);
	f->kind = kind;
	f->end = end;
	f->arith = arith;
	f->cmdpos = kind == SK_CMD;
	return f;
}

static struct sh_frame *sh_push_bound(struct sh_scan *S, enum sh_kind kind, const char *bound,
				      int bq)
{
	struct sh_frame *f = sh_push(S, kind, SE_BOUND, NULL);
	f->bound = bound;
	f->outer_bound = S->bound;
	f->bq = bq;
	f->outer_bq = S->bq;
	S->bound = bound;
	S->bq = bq;
	return f;
}

static void sh_pop(struct sh_scan *S)
{
	struct sh_frame *f = &S->st[--S->n];
	if (f->end == SE_BOUND) {
		S->bound = f->outer_bound;
		S->bq = f->outer_bq;
	}
}

/* p has reached the innermost bound: close everything opened since that
 * frame began, and the frame, and go on after it. */
static const char *sh_unbound(struct sh_scan *S)
{
	const char *b = S->bound;
	for (;;) {
		struct sh_frame f = S->st[S->n - 1];
		sh_pop(S);
		if (f.end != SE_BOUND)
			continue;
		if (f.kind == SK_HDOC) {        /* its terminator line, as it is */
			put(S, b, (size_t)(f.resume - b));
			return f.resume;
		}
		if (f.closed) {                 /* ` or \` */
			put(S, b, (size_t)f.bq);
			return b + f.bq;
		}
		return b;
	}
}

/* Is s at p, entirely before the bound? */
static bool sh_at(const struct sh_scan *S, const char *p, const char *s)
{
	size_t n = strlen(s);
	return !strncmp(p, s, n) && (!S->bound || p + n <= S->bound);
}

/* Does a word end at p? */
static bool sh_delim(const struct sh_scan *S, const char *p)
{
	return p == S->bound || !*p || strchr(" \t\n;&|()<>", *p);
}

/* The length of the reserved word w at p, or 0. */
static size_t sh_kw(const struct sh_scan *S, const char *p, const char *w)
{
	size_t n = strlen(w);
	return sh_at(S, p, w) && sh_delim(S, p + n) ? n : 0;
}

static size_t sh_name_len(const struct sh_scan *S, const char *p)
{
	const char *lim = sh_lim(S), *q = p;
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_";
	if (q >= lim || !*q || !strchr(alpha, *q))
		return 0;
	while (q < lim && *q && (strchr(alpha, *q) || (*q >= '0' && *q <= '9')))
		q++;
	return (size_t)(q - p);
}

static void sh_mark_arith(struct sh_scan *S, const char *what)
{
	if (!S->arith)
		S->arith = what;
}

/* The command frame whose current word the top frame is part of, or
 * NULL (inside a here-document). */
static struct sh_frame *sh_word_owner(struct sh_scan *S)
{
	for (size_t i = S->n; i-- > 0;) {
		struct sh_frame *f = &S->st[i];
		if (f->kind == SK_CMD || f->kind == SK_CASE)
			return f;
		if (f->kind == SK_HDOC)
			return NULL;
	}
	return NULL;
}

/* {{}}, {#} or {} at p: substituted, and the new position; else NULL. */
static const char *sh_placeholder(struct sh_scan *S, const char *p)
{
	if (sh_at(S, p, "{{}}")) {
		buf_addstr(&S->out, S->keep ? "{{}}" : "{}");
		return p + 4;
	}
	if (sh_at(S, p, "{#}")) {
		buf_addstr(&S->out, S->keep ? "{#}" : S->num);
		return p + 3;
	}
	if (!sh_at(S, p, "{}"))
		return NULL;
	if (S->splice) {
		buf_addstr(&S->out, S->splice);
		return p + 2;
	}
	struct sh_frame *f = sh_top(S);
	const char *arith = f->arith;
	struct sh_frame *w = sh_word_owner(S);
	if (w && w->let)
		arith = "the arguments of let";
	if (w && w->cond) {
		w->word_ph = true;
		if (w->after_op)
			arith = "[[ ... -eq ... ]]";
	}
	if (arith)
		sh_mark_arith(S, arith);
	struct buf *b = &S->out;
	const char *e = S->expansion;
	switch (f->kind) {
	case SK_SQ:       /* close the quote, the value quoted, reopen */
		buf_printf(b, "'\"%s\"'", e);
		break;
	case SK_DSQ:
		buf_printf(b, "'\"%s\"$'", e);
		break;
	case SK_DQ:
	case SK_ARITH:    /* dash takes no quotes in $((...)); an integer */
		buf_addstr(b, e);
		break;
	case SK_HDOC:
		if (f->hquoted) {
			S->why = xstrdup("{} is in a here-document whose delimiter is quoted "
					 "(as in <<'EOF'), where sh expands nothing: the value cannot be "
					 "put there as data; leave the delimiter unquoted or pass "
					 "the value through \"env\"");
			return p + 2;
		}
		buf_addstr(b, e);
		break;
	default:          /* a word, a pattern, the word of ${v:-word} */
		buf_printf(b, "\"%s\"", e);
		break;
	}
	S->used = true;
	return p + 2;
}

/* ` at p, or \` inside `...` (one level of nesting is followed;
 * deeper, \\\` and so on are read as escapes). */
static const char *sh_backtick(struct sh_scan *S, const char *p)
{
	/* sh finds the matching backquote first (only \` \$ \\ escape),
	 * then reads what is between as a script */
	int bq = *p == '`' ? 1 : 2;
	const char *lim = sh_lim(S), *q = p + bq;
	while (q < lim && !(bq == 1 ? *q == '`' : q[0] == '\\' && q + 1 < lim && q[1] == '`'))
		q += *q == '\\' && q + 1 < lim ? 2 : 1;
	put(S, p, (size_t)bq);
	struct sh_frame *f = sh_push_bound(S, SK_CMD, q < lim ? q : lim, bq);
	f->closed = q < lim;
	return p + bq;
}

/* $ at p, in a word; quoted: inside "..." or a here-document. */
static const char *sh_dollar(struct sh_scan *S, const char *p, bool quoted)
{
	if (sh_at(S, p, "$((")) {
		put(S, p, 3);
		sh_push(S, SK_ARITH, SE_DPAREN, "$((...))");
		return p + 3;
	}
	if (sh_at(S, p, "$(")) {
		put(S, p, 2);
		sh_push(S, SK_CMD, SE_PAREN, NULL);
		return p + 2;
	}
	if (sh_at(S, p, "${")) {
		put(S, p, 2);
		sh_push(S, SK_PARAM, SE_NONE, NULL)->quoted = quoted;
		return p + 2;
	}
	if (sh_at(S, p, "$[")) {
		put(S, p, 2);
		sh_push(S, SK_ARITH, SE_BRACKET, "$[...]");
		return p + 2;
	}
	if (!quoted && sh_at(S, p, "$'")) {
		put(S, p, 2);
		sh_push(S, SK_DSQ, SE_NONE, NULL);
		return p + 2;
	}
	/* $$ $? $# ... are whole: $$( is no command substitution */
	if (p + 1 < sh_lim(S) && p[1] && strchr("$?#!@*-0123456789", p[1])) {
		put(S, p, 2);
		return p + 2;
	}
	put(S, p, 1);
	return p + 1;
}

/* A character of a word: escapes, quotes (sq: ' quotes, dq: " quotes)
 * and expansions. */
static const char *sh_wordchar(struct sh_scan *S, const char *p, bool sq, bool dq, bool quoted)
{
	switch (*p) {
	case '\\':
		if (S->bq == 1 && sh_at(S, p, "\\`"))
			return sh_backtick(S, p);
		if (p + 1 < sh_lim(S)) {
			put(S, p, 2);
			return p + 2;
		}
		break;
	case '\'':
	case '"':
		if (*p == '\'' ? sq : dq) {
			put(S, p, 1);
			sh_push(S, *p == '\'' ? SK_SQ : SK_DQ, SE_NONE, NULL);
			return p + 1;
		}
		break;
	case '`':
		return sh_backtick(S, p);
	case '$':
		return sh_dollar(S, p, quoted);
	}
	put(S, p, 1);
	return p + 1;
}

/* << or <<- at p: its delimiter word, copied as it is; the body comes
 * after the next newline. */
static const char *sh_hdoc_op(struct sh_scan *S, const char *p)
{
	const char *lim = sh_lim(S), *q = p + 2;
	bool strip = q < lim && *q == '-';
	if (strip)
		q++;
	while (q < lim && (*q == ' ' || *q == '\t'))
		q++;
	const char *w = q;
	struct buf d = { 0 };
	bool quoted = false;
	buf_reserve(&d, 0);
	while (q < lim && !strchr(" \t\n;&|()<>", *q)) {
		if (*q == '\\' && q + 1 < lim) {
			quoted = true;
			buf_addch(&d, q[1]);
			q += 2;
		} else if (*q == '\'' || *q == '"') {
			char c = *q++;
			quoted = true;
			while (q < lim && *q != c) {
				if (c == '"' && *q == '\\' && q + 1 < lim && strchr("$`\"\\", q[1]))
					q++;
				buf_addch(&d, *q++);
			}
			if (q < lim)
				q++;
		} else {
			buf_addch(&d, *q++);
		}
	}
	put(S, p, (size_t)(q - p));
	if (q == w) {                   /* no word: sh says so */
		buf_free(&d);
		return q;
	}
	xgrow(&S->hd, &S->hdcap, S->nhd + 1, sizeof *S->hd);
	S->hd[S->nhd++] = (struct hdoc){ buf_detach(&d), strip, quoted };
	return q;
}

/* After a newline at p - 1: the bodies of the pending here-documents,
 * one after the other, each up to its terminator line. */
static void sh_hdoc_bodies(struct sh_scan *S, const char *p)
{
	const char *lim = sh_lim(S), *q = p;
	size_t n = S->nhd;
	const char **end = xcalloc(n, sizeof *end), **resume = xcalloc(n, sizeof *resume);
	for (size_t i = 0; i < n; i++) {
		const struct hdoc *h = &S->hd[i];
		size_t dl = strlen(h->delim);
		for (;;) {
			const char *eol = memchr(q, '\n', (size_t)(lim - q));
			if (!eol)
				eol = lim;
			const char *t = q;
			while (h->strip_tabs && t < eol && *t == '\t')
				t++;
			if ((size_t)(eol - t) == dl && !memcmp(t, h->delim, dl)) {
				end[i] = q;
				resume[i] = q = eol < lim ? eol + 1 : eol;
				break;
			}
			if (eol >= lim) {       /* ended by the end of the text */
				end[i] = resume[i] = q = lim;
				break;
			}
			q = eol + 1;
		}
	}
	for (size_t i = n; i-- > 0;) {
		struct sh_frame *f = sh_push_bound(S, SK_HDOC, end[i], 0);
		f->resume = resume[i];
		f->hquoted = S->hd[i].quoted;
		free(S->hd[i].delim);
	}
	S->nhd = 0;
	free(end);
	free(resume);
}

static void sh_word_end(struct sh_frame *f)
{
	if (!f->in_word)
		return;
	f->in_word = false;
	f->last_ph = f->word_ph;
	f->word_ph = false;
	f->after_op = false;
}

static void sh_cmd_end(struct sh_frame *f)
{
	f->cmdpos = true;
	f->let = false;
	f->after_for = false;
}

static const char *sh_esac(struct sh_scan *S, const char *p, size_t n)
{
	put(S, p, n);
	sh_pop(S);
	struct sh_frame *f = sh_top(S);
	f->cmdpos = false;
	f->in_word = false;
	return p + n;
}

/* NAME[ at p + n... ]= or ]+=: an array element assignment? */
static bool sh_subscript_assign(const struct sh_scan *S, const char *q)
{
	const char *lim = sh_lim(S);
	int depth = 0;
	for (; q < lim && *q && !strchr(" \t\n;&|", *q); q++) {
		if (*q == '[')
			depth++;
		else if (*q == ']' && --depth == 0)
			return q + 1 < lim && (q[1] == '=' || (q[1] == '+' && q + 2 < lim && q[2] == '='));
	}
	return false;
}

/* A word inside [[ ... ]]: its end, or an operator that makes a {}
 * beside it arithmetic. */
static const char *sh_cond_word(struct sh_scan *S, const char *p)
{
	struct sh_frame *f = sh_top(S);
	size_t n;
	static const char *const ops[] = { "-eq", "-ne", "-lt", "-le", "-gt", "-ge", NULL };
	if ((n = sh_kw(S, p, "]]"))) {
		put(S, p, n);
		f->cond = false;
		f->cmdpos = false;
		return p + n;
	}
	for (size_t i = 0; ops[i]; i++)
		if ((n = sh_kw(S, p, ops[i]))) {
			put(S, p, n);
			if (f->last_ph)
				sh_mark_arith(S, "[[ ... -eq ... ]]");
			f->after_op = true;
			f->last_ph = false;
			return p + n;
		}
	f->in_word = true;
	return NULL;
}

/* A reserved word (or let, [[, case, for) in command position: the
 * position after it, or NULL when p starts none. */
static const char *sh_keyword(struct sh_scan *S, const char *p)
{
	struct sh_frame *f = sh_top(S);
	size_t n;
	static const char *const keep[] = { "if", "then", "else", "elif", "fi", "do", "done",
					    "while", "until", "!", "{", "}", "time", NULL };
	if ((n = sh_kw(S, p, "case"))) {
		put(S, p, n);
		f->cmdpos = false;
		struct sh_frame *c = sh_push(S, SK_CASE, SE_NONE, NULL);
		c->cs = CS_WORD;
		return p + n;
	}
	if (f->kind == SK_CASE && (n = sh_kw(S, p, "esac")))
		return sh_esac(S, p, n);
	if ((n = sh_kw(S, p, "let"))) {
		put(S, p, n);
		f->let = true;
		f->cmdpos = false;
		return p + n;
	}
	if ((n = sh_kw(S, p, "[["))) {
		put(S, p, n);
		f->cond = true;
		f->cmdpos = false;
		f->last_ph = f->after_op = false;
		return p + n;
	}
	if ((n = sh_kw(S, p, "for")) || (n = sh_kw(S, p, "select"))) {
		put(S, p, n);
		f->after_for = true;
		f->cmdpos = false;
		return p + n;
	}
	for (size_t i = 0; keep[i]; i++)
		if ((n = sh_kw(S, p, keep[i]))) {
			put(S, p, n);
			return p + n;
		}
	return NULL;
}

/* A word starts at p in a command frame: a comment, a reserved word that
 * changes the context, an assignment; else NULL, and the word is read
 * by the caller. */
static const char *sh_word_start(struct sh_scan *S, const char *p)
{
	struct sh_frame *f = sh_top(S);
	size_t n;
	if (*p == '#') {                /* a comment, to the end of its line */
		const char *lim = sh_lim(S);
		const char *e = memchr(p, '\n', (size_t)(lim - p));
		if (!e)
			e = lim;
		put(S, p, (size_t)(e - p));
		return e;
	}
	if (f->kind == SK_CASE && f->cs != CS_BODY) {
		if (f->cs == CS_IN && (n = sh_kw(S, p, "in"))) {
			put(S, p, n);
			f->cs = CS_PAT;
			return p + n;
		}
		if (f->cs == CS_PAT && (n = sh_kw(S, p, "esac")))
			return sh_esac(S, p, n);
		if (f->cs == CS_WORD)
			f->cs = CS_IN;
		else if (f->cs == CS_PAT)
			f->cs = CS_PATW;
		f->in_word = true;
		return NULL;
	}
	if (f->cond)
		return sh_cond_word(S, p);
	f->after_for = false;
	const char *r;
	if (f->cmdpos && (r = sh_keyword(S, p)))
		return r;
	/* an assignment (NAME=, NAME+=, NAME[SUBSCRIPT]=): the command word
	 * is still to come, and a subscript is arithmetic */
	n = sh_name_len(S, p);
	if (n && (sh_at(S, p + n, "=") || sh_at(S, p + n, "+="))) {
		f->in_word = true;
		return NULL;
	}
	if (n && sh_at(S, p + n, "[") && sh_subscript_assign(S, p + n)) {
		put(S, p, n + 1);
		f->in_word = true;
		sh_push(S, SK_ARITH, SE_BRACKET, "an array subscript");
		return p + n + 1;
	}
	f->cmdpos = false;
	f->in_word = true;
	return NULL;
}

/* A '(' in a command: a case pattern's, ((...)), or a subshell's. */
static const char *sh_cmd_open(struct sh_scan *S, const char *p)
{
	struct sh_frame *f = sh_top(S);
	if (f->kind == SK_CASE && f->cs == CS_PAT) {
		put(S, p, 1);
		return p + 1;
	}
	if (!f->in_word && !f->cond && (f->cmdpos || f->after_for) && sh_at(S, p, "((")) {
		put(S, p, 2);
		f->cmdpos = f->after_for = false;
		sh_push(S, SK_ARITH, SE_DPAREN, "((...))");
		return p + 2;
	}
	f->depth++;
	if (!f->in_word)
		f->cmdpos = true;       /* a subshell */
	put(S, p, 1);
	return p + 1;
}

/* A ')' in a command: a case pattern's end, a subshell's, or the end
 * of the $(...) the command is in. */
static const char *sh_cmd_close(struct sh_scan *S, const char *p)
{
	struct sh_frame *f = sh_top(S);
	sh_word_end(f);
	if (f->kind == SK_CASE && (f->cs == CS_PAT || f->cs == CS_PATW)) {
		put(S, p, 1);
		f->cs = CS_BODY;
		sh_cmd_end(f);
		return p + 1;
	}
	if (f->depth > 0) {
		f->depth--;
		f->cmdpos = false;
		put(S, p, 1);
		return p + 1;
	}
	if (f->kind == SK_CASE) {       /* a case without esac in $(...) */
		sh_pop(S);
		return p;
	}
	put(S, p, 1);
	if (f->end == SE_PAREN)
		sh_pop(S);
	return p + 1;
}

static const char *sh_cmd(struct sh_scan *S, const char *p)
{
	struct sh_frame *f = sh_top(S);
	const char *r;
	switch (*p) {
	case ' ':
	case '\t':
		sh_word_end(f);
		put(S, p, 1);
		return p + 1;
	case '\n':
		sh_word_end(f);
		sh_cmd_end(f);
		put(S, p, 1);
		if (S->nhd)
			sh_hdoc_bodies(S, p + 1);
		return p + 1;
	case ';':
		sh_word_end(f);
		if (f->kind == SK_CASE && f->cs == CS_BODY && (sh_at(S, p, ";;") || sh_at(S, p, ";&"))) {
			size_t n = sh_at(S, p, ";;&") ? 3 : 2;
			put(S, p, n);
			f->cs = CS_PAT;
			sh_cmd_end(f);
			return p + n;
		}
		put(S, p, 1);
		sh_cmd_end(f);
		return p + 1;
	case '&':
	case '|':
		sh_word_end(f);
		put(S, p, 1);
		if (f->kind == SK_CASE && f->cs == CS_PATW && *p == '|')
			f->cs = CS_PAT;
		else if (!f->cond)
			sh_cmd_end(f);
		return p + 1;
	case '(':
		return sh_cmd_open(S, p);
	case ')':
		return sh_cmd_close(S, p);
	case '<':
	case '>':
		sh_word_end(f);
		if (f->cond) {                  /* [[ a < b ]] compares */
			put(S, p, 1);
			return p + 1;
		}
		if (sh_at(S, p + 1, "(")) {     /* process substitution */
			put(S, p, 2);
			f->in_word = true;
			sh_push(S, SK_CMD, SE_PAREN, NULL);
			return p + 2;
		}
		if (sh_at(S, p, "<<<")) {       /* a here-string: a plain word */
			put(S, p, 3);
			return p + 3;
		}
		if (sh_at(S, p, "<<"))
			return sh_hdoc_op(S, p);
		put(S, p, 1);
		return p + 1;
	}
	if (!f->in_word && (r = sh_word_start(S, p)))
		return r;
	if ((r = sh_placeholder(S, p)))
		return r;
	if (sh_at(S, p, "'{}'") && sh_placeholder(S, p + 1))
		return p + 4;           /* '{}': as a bare {}, simpler to read */
	return sh_wordchar(S, p, true, true, false);
}

static const char *sh_param(struct sh_scan *S, const char *p)
{
	struct sh_frame *f = sh_top(S);
	const char *r;
	size_t n;
	switch (f->phase) {
	case PP_START:                  /* [#!]NAME */
		f->phase = PP_AFTER;
		if ((*p == '#' || *p == '!') && p + 1 < sh_lim(S) && p[1] != '}') {
			put(S, p, 1);
			p++;
		}
		n = sh_name_len(S, p);
		if (!n && p < sh_lim(S) && *p && strchr("@*#?-$!0123456789", *p))
			n = 1;
		put(S, p, n);
		return p + n;
	case PP_AFTER:                  /* [SUBSCRIPT], then } or an operator */
		if (*p == '}') {
			put(S, p, 1);
			sh_pop(S);
			return p + 1;
		}
		if (*p == '[') {
			put(S, p, 1);
			sh_push(S, SK_ARITH, SE_BRACKET, "a subscript of ${name[...]}");
			return p + 1;
		}
		if (sh_at(S, p, ":-") || sh_at(S, p, ":=") || sh_at(S, p, ":?") || sh_at(S, p, ":+")) {
			put(S, p, 2);
			f->phase = PP_WORD;
			f->sq_literal = f->quoted;
			return p + 2;
		}
		if (*p == ':') {
			put(S, p, 1);
			sh_push(S, SK_ARITH, SE_BRACE, "the offset of ${name:offset:length}");
			return p + 1;
		}
		f->phase = PP_WORD;
		if (strchr("-=?+", *p)) {
			/* "${v-'x'}": the ' are text; "${v#'x'}": quotes */
			f->sq_literal = f->quoted;
			put(S, p, 1);
			return p + 1;
		}
		return p;
	case PP_WORD:
		if (*p == '}') {
			put(S, p, 1);
			sh_pop(S);
			return p + 1;
		}
		if ((r = sh_placeholder(S, p)))
			return r;
		return sh_wordchar(S, p, !f->sq_literal, true, f->quoted);
	}
	return p + 1;
}

static const char *sh_arith(struct sh_scan *S, const char *p)
{
	struct sh_frame *f = sh_top(S);
	const char *r;
	if ((r = sh_placeholder(S, p)))
		return r;
	switch (*p) {
	case '(':
	case '[':
		if (*p == '(' || f->end == SE_BRACKET)
			f->depth++;
		break;
	case ')':
		if (f->end == SE_DPAREN && !f->depth && sh_at(S, p, "))")) {
			put(S, p, 2);
			sh_pop(S);
			return p + 2;
		}
		if (f->depth)
			f->depth--;
		break;
	case ']':
		if (f->end == SE_BRACKET && !f->depth) {
			put(S, p, 1);
			sh_pop(S);
			return p + 1;
		}
		if (f->end == SE_BRACKET)
			f->depth--;
		break;
	case '}':
		if (f->end == SE_BRACE && !f->depth) {
			sh_pop(S);
			return p;
		}
		break;
	}
	return sh_wordchar(S, p, true, true, true);
}

/* Inside quotes: the closing quote (the frame ends), or a {} within;
 * NULL when p is neither. */
static const char *sh_quote_step(struct sh_scan *S, const char *p, char close)
{
	if (*p == close) {
		put(S, p, 1);
		sh_pop(S);
		return p + 1;
	}
	return sh_placeholder(S, p);
}

static const char *sh_step(struct sh_scan *S, const char *p)
{
	struct sh_frame *f = sh_top(S);
	const char *r;
	switch (f->kind) {
	case SK_CMD:
	case SK_CASE:
		return sh_cmd(S, p);
	case SK_SQ:
		if ((r = sh_quote_step(S, p, '\'')))
			return r;
		put(S, p, 1);
		return p + 1;
	case SK_DSQ:
		if ((r = sh_quote_step(S, p, '\'')))
			return r;
		if (*p == '\\' && p + 1 < sh_lim(S)) {
			put(S, p, 2);
			return p + 2;
		}
		put(S, p, 1);
		return p + 1;
	case SK_DQ:
		if ((r = sh_quote_step(S, p, '"')))
			return r;
		return sh_wordchar(S, p, false, false, true);
	case SK_PARAM:
		return sh_param(S, p);
	case SK_ARITH:
		return sh_arith(S, p);
	case SK_HDOC:
		if ((r = sh_placeholder(S, p)))
			return r;
		if (f->hquoted) {
			put(S, p, 1);
			return p + 1;
		}
		return sh_wordchar(S, p, false, false, true);
	}
	put(S, p, 1);
	return p + 1;
}

/* Scan script; the result in S (S->why set on failure). */
static void sh_scan(struct sh_scan *S, const char *script)
{
	S->end = script + strlen(script);
	sh_push(S, SK_CMD, SE_NONE, NULL);
	buf_reserve(&S->out, (size_t)(S->end - script));
	for (const char *p = script; *p && !S->why;)
		p = p == S->bound ? sh_unbound(S) : sh_step(S, p);
	for (size_t i = 0; i < S->nhd; i++)
		free(S->hd[i].delim);
	free(S->hd);
	free(S->st);
}

int shell_subst(const char *script, const char *splice, size_t index,
		struct shell_script *out, char **why)
{
	struct sh_scan S = { .expansion = "${" SHELL_VALUE_VAR "}", .splice = splice };
	snprintf(S.num, sizeof S.num, "%zu", index);
	sh_scan(&S, script);
	if (S.why) {
		buf_free(&S.out);
		*why = S.why;
		return -1;
	}
	out->takes_value = S.used;
	out->arith = S.used ? S.arith : NULL;
	if (S.used) {
		out->script = xasprintf("%s%s", SHELL_VALUE_PREFIX, S.out.p);
		buf_free(&S.out);
	} else {
		out->script = buf_detach(&S.out);
	}
	return 0;
}

char *shell_subst_positional(const char *script)
{
	struct sh_scan S = { .expansion = "$1", .keep = true };
	sh_scan(&S, script);
	if (S.why) {
		free(S.why);
		buf_free(&S.out);
		return NULL;
	}
	return buf_detach(&S.out);
}

char *shell_value_check(const char *value, const char *arith)
{
	if (arith) {
		const char *d = value + (*value == '+' || *value == '-');
		if (!*d || strspn(d, "0123456789") != strlen(d))
			return xasprintf("{} is read as arithmetic in %s, where only an integer "
					 "is data (bash runs $(...) in a[...] there): expected "
					 "digits with an optional sign", arith);
		return NULL;
	}
	if (strchr(value, '[') && strpbrk(value, "$`"))
		return xstrdup("a value with '[' and '$' or '`' cannot be a shell script's {}: "
			       "bash runs the code in it wherever the script reads it as "
			       "arithmetic (a[$(cmd)] in $((...)), [[ -eq ]], let ...); pass it "
			       "through \"env\" or as an argument of a \"run\" argv");
	return NULL;
}
