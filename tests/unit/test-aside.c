/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-aside.c - elements written aside in any order and spliced back
 * in order make the same bytes as one writer writing them in order:
 * small and large elements (past the file's buffer and the copy's
 * chunk), spliced into two writers at once and a second time; no
 * temporary file to be had; a file that fails. */
#include "config.h"
#include "aside.h"
#include "tap.h"
#include "util.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N 40

/* Element i: an object whose size varies, a few of them past 64 KiB. */
static void element(struct jw *w, size_t i)
{
	jw_obj(w, false);
	jw_kint(w, "i", (int64_t)i);
	size_t n = i % 7 == 3 ? 70000 + i * 1000 : i * 3;
	char *s = xmalloc(n + 1);
	for (size_t k = 0; k < n; k++)
		s[k] = (char)('a' + (i + k) % 26);
	s[n] = 0;
	jw_kstr(w, "s", s);
	jw_key(w, "t");
	jw_arr(w, true);
	jw_int(w, 1);
	jw_str(w, "x\n\"y\"");
	jw_arr_end(w);
	jw_obj_end(w);
	free(s);
}

static void doc_begin(struct jw *w, struct buf *b)
{
	jw_init(w, buf_sink_write, b, true);
	jw_obj(w, false);
	jw_kstr(w, "head", "h");
	jw_key(w, "jobs");
	jw_arr(w, false);
}

static void doc_end(struct jw *w)
{
	jw_arr_end(w);
	jw_kint(w, "tail", 1);
	jw_obj_end(w);
	jw_newline(w);
}

/* Position k of the order in which elements go aside: odd ones first,
 * backwards, then the even ones. */
static size_t order(size_t k)
{
	size_t odd = N / 2;
	return k < odd ? N - 1 - 2 * k : 2 * (k - odd);
}

static void test_in_order(void)
{
	struct buf one = { 0 }, a = { 0 }, b = { 0 }, again = { 0 };
	struct jw w1, wa, wb, wagain;
	doc_begin(&w1, &one);
	for (size_t i = 0; i < N; i++)
		element(&w1, i);
	doc_end(&w1);

	struct aside as;
	aside_init(&as, N, 2);
	ok(!aside_has(&as, 0), "nothing is aside before the first");
	int bad = 0;
	/* element 0 stays with its writer: the splice mixes both */
	for (size_t k = 0; k < N; k++) {
		size_t i = order(k);
		if (i == 0)
			continue;
		struct jw *w = aside_writer(&as, i);
		if (!w) {
			bad++;
			continue;
		}
		element(w, i);
		bad += aside_put(&as, i) != 0;
	}
	ok(!bad && as.file, "%d elements aside, in a file opened for the first", N - 1);
	doc_begin(&wa, &a);
	doc_begin(&wb, &b);
	struct jw *both[2] = { &wa, &wb };
	for (size_t i = 0; i < N; i++) {
		if (aside_has(&as, i)) {
			bad += aside_splice(&as, i, both, 2) != 0;
		} else {
			element(&wa, i);
			element(&wb, i);
		}
	}
	doc_end(&wa);
	doc_end(&wb);
	ok(!bad, "every splice read its element back");
	ok(a.len == one.len && !memcmp(a.p, one.p, one.len),
	   "spliced in order: the bytes one writer writes (%zu bytes)", one.len);
	ok(b.len == a.len && !memcmp(b.p, a.p, a.len), "the second writer got the same");
	cJSON *j = cJSON_ParseWithLength(a.p, a.len);
	ok(j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "jobs")) == N, "cJSON reads %d elements", N);
	cJSON_Delete(j);
	/* spliced a second time, into a document of its own */
	doc_begin(&wagain, &again);
	struct jw *to = &wagain;
	for (size_t i = 0; i < N; i++) {
		if (aside_has(&as, i))
			bad += aside_splice(&as, i, &to, 1) != 0;
		else
			element(&wagain, i);
	}
	doc_end(&wagain);
	ok(!bad && again.len == one.len && !memcmp(again.p, one.p, one.len),
	   "an element aside can be spliced again");
	aside_free(&as);
	buf_free(&one);
	buf_free(&a);
	buf_free(&b);
	buf_free(&again);
}

static void test_no_file(void)
{
	const char *old = getenv("TMPDIR");
	char *keep = old ? xstrdup(old) : NULL;
	setenv("TMPDIR", "/nonexistent/piperun-test", 1);
	struct aside as;
	aside_init(&as, 3, 2);
	ok(aside_writer(&as, 1) == NULL && as.err, "no temporary file: no writer, and err says why");
	ok(!aside_has(&as, 1), "and the element is not aside");
	aside_free(&as);
	if (keep)
		setenv("TMPDIR", keep, 1);
	else
		unsetenv("TMPDIR");
	free(keep);
}

static void test_failed_file(void)
{
	struct aside as;
	aside_init(&as, 3, 2);
	struct jw *w = aside_writer(&as, 0);
	element(w, 3); /* 73 KB: the file's buffer is written once */
	ok(aside_put(&as, 0) == 0, "one element aside");
	/* the file goes bad under it: the next write fails */
	int fd = as.file->fd;
	as.file->fd = -1;
	w = aside_writer(&as, 1);
	element(w, 10); /* 73 KB again */
	ok(aside_put(&as, 1) == -1 && as.err, "a write that fails: aside_put says so");
	ok(!aside_has(&as, 1), "and the element is not aside: its writer keeps it");
	ok(aside_writer(&as, 2) == NULL, "nothing more goes aside");
	struct buf b = { 0 };
	struct jw d;
	doc_begin(&d, &b);
	struct jw *to = &d;
	ok(aside_splice(&as, 0, &to, 1) == -1, "nor comes back: the file is not trusted");
	buf_free(&b);
	as.file->fd = fd;
	aside_free(&as);
}

int main(void)
{
	test_in_order();
	test_no_file();
	test_failed_file();
	return done_testing();
}
