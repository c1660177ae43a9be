/* SPDX-License-Identifier: GPL-3.0-or-later */
/* journal-items.c - the items a steps job sank, in the journal (see
 * journal.h): written as its host reports them, a line per batch,
 *   {"identity":HEX,"index":I,"name":NAME,"sunk":[[SEQ,"IH","B64"],...]}
 * and read back for --resume, so that an item sunk is not processed
 * again (steps.h, steps-resume.c). */
#include "config.h"
#include "codec.h"
#include "journal.h"
#include "jsonw.h"
#include "spec-json.h"
#include "util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- writing */

/* One "S SEQ IH B64" line of the host (without its newline) into w's
 * array; false when it is not one (nothing written). */
static bool put_item(struct jw *w, const char *line, size_t n)
{
	char *end;
	char tmp[48];
	const char *sp2 = n > 2 ? memchr(line + 2, ' ', n - 2) : NULL;
	if (n < 2 || memcmp(line, "S ", 2) || !sp2 || (size_t)(sp2 - line) >= sizeof tmp ||
	    line + n < sp2 + 18 || sp2[17] != ' ')
		return false;
	memcpy(tmp, line + 2, (size_t)(sp2 - line - 2));
	tmp[sp2 - line - 2] = 0;
	uint64_t seq = strtoull(tmp, &end, 10);
	if (!*tmp || *end)
		return false;
	char ih[17];
	memcpy(ih, sp2 + 1, 16);
	ih[16] = 0;
	jw_arr(w, true);
	jw_uint(w, seq);
	jw_str(w, ih);
	jw_strn(w, sp2 + 18, (size_t)(line + n - (sp2 + 18)));
	jw_arr_end(w);
	return true;
}

int journal_write_items(struct journal_writer *w, const struct job *j, const char *id,
			const char *lines, size_t n)
{
	struct jw jw;
	journal_line_begin(w, &jw, id, j->index);
	char *name = spec_redact(j->spec, j->spec->name);
	jw_kstr(&jw, "name", name);
	free(name);
	jw_key(&jw, "sunk");
	jw_arr(&jw, true);
	size_t items = 0;
	for (size_t off = 0; off < n;) {
		const char *nl = memchr(lines + off, '\n', n - off);
		size_t len = nl ? (size_t)(nl - (lines + off)) : n - off;
		items += put_item(&jw, lines + off, len);
		off += len + 1;
	}
	jw_arr_end(&jw);
	jw_obj_end(&jw);
	if (!items) {
		w->line.len = 0;
		return 0;
	}
	return journal_put_line(w);
}

/* ------------------------------------------------------------- reading */

static bool is_ih(const char *s)
{
	if (!s || strlen(s) != 16)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/* Base64 of an output a step can give: one line, no NUL. */
static bool is_output(const char *b64, size_t n)
{
	unsigned char *out;
	size_t len;
	if (b64_decode(b64, n, &out, &len) < 0)
		return false;
	bool ok = !memchr(out, 0, len) && !memchr(out, '\n', len);
	free(out);
	return ok;
}

/* The quoted strings of the raw "sunk" array (it holds no escapes), in
 * order: *n of them into (*at)[], each its start and length. */
static void raw_strings(const char *p, const char *end, const char ***at, size_t **len,
			size_t *n)
{
	size_t cap = 0, lcap = 0;
	*n = 0;
	while (p < end && (p = memchr(p, '"', (size_t)(end - p)))) {
		const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
		if (!q)
			break;
		xgrow(at, &cap, *n + 1, sizeof **at);
		xgrow(len, &lcap, *n + 1, sizeof **len);
		(*at)[*n] = p + 1;
		(*len)[(*n)++] = (size_t)(q - p - 1);
		p = q + 1;
	}
}

/* Each [SEQ, "IH", "B64"] of the array, checked, into jr->sunk (the B64
 * in text: raw[2k + 1]); false (nothing added) at the first that is not
 * one. */
static bool read_sunk(struct journal *jr, const struct cJSON *arr, const char **raw,
		      const size_t *rawlen, size_t nraw)
{
	size_t first = jr->nsunk, k = 0;
	const struct cJSON *e;
	if ((size_t)jv_size(arr) * 2 != nraw)
		return false;
	JV_EACH(e, arr) {
		const struct cJSON *a = jv_child(e), *b = jv_next(a), *c = jv_next(b);
		double seq = jv_num(a);
		const char *b64 = raw[2 * k + 1];
		size_t blen = rawlen[2 * k + 1];
		if (!jv_is_array(e) || jv_size(e) != 3 || !jv_is_number(a) || seq < 0 ||
		    seq > 9007199254740992.0 || seq != (double)(uint64_t)seq || !is_ih(jv_str(b)) ||
		    !jv_str(c) || strlen(jv_str(c)) != blen || memcmp(jv_str(c), b64, blen) ||
		    !is_output(b64, blen)) {
			jr->nsunk = first;
			return false;
		}
		xgrow(&jr->sunk, &jr->sunk_cap, jr->nsunk + 1, sizeof *jr->sunk);
		jr->sunk[jr->nsunk++] = (struct journal_item){
			.seq = (uint64_t)seq,
			.ih = strtoull(jv_str(b), NULL, 16),
			.b64 = b64,
			.b64_len = blen,
			.line = jr->nsunk_lines,
		};
		k++;
	}
	return true;
}

int journal_read_items(struct journal *jr, const struct cJSON *v, const char *text, size_t n)
{
	/* exactly "identity", "index", "name", "sunk", in that order (as job
	 * lines are exact: another member is another format) */
	const struct cJSON *m1 = jv_child(v), *m2 = jv_next(m1), *m3 = jv_next(m2),
			   *m4 = jv_next(m3);
	if (!jr->nsessions || !m4 || jv_next(m4) || strcmp(jv_key(m1), "identity") ||
	    strcmp(jv_key(m2), "index") || strcmp(jv_key(m3), "name") ||
	    strcmp(jv_key(m4), "sunk") || !jv_is_number(m2) || !jv_str(m3) ||
	    !jv_is_array(m4) || jv_size(m4) < 1)
		return 0;
	const char *id = jv_str(m1);
	if (!id || strlen(id) != 64 || strspn(id, "0123456789abcdef") != 64)
		return 0;
	/* the name as written (a \u0000 would cut it short), then the array,
	 * whose raw strings are its IHs and B64s: no escape in them */
	static const char sunk_key[] = ",\"sunk\":";
	const char *sk = memmem(text, n, sunk_key, strlen(sunk_key));
	if (!sk || !journal_raw_member(text, (size_t)(sk - text) + strlen(sunk_key), false,
				       ",\"name\":", jv_str(m3), sunk_key))
		return 0;
	const char *arr = sk + strlen(sunk_key), *end = text + n;
	if (memchr(arr, '\\', (size_t)(end - arr)))
		return 0;
	const char **raw = NULL;
	size_t *rawlen = NULL, nraw;
	raw_strings(arr, end, &raw, &rawlen, &nraw);
	bool ok = read_sunk(jr, m4, raw, rawlen, nraw);
	free(raw);
	free(rawlen);
	if (!ok)
		return 0;
	xgrow(&jr->sunk_lines, &jr->sunk_lines_cap, jr->nsunk_lines + 1, sizeof *jr->sunk_lines);
	struct journal_sunk_line *l = &jr->sunk_lines[jr->nsunk_lines++];
	memcpy(l->identity, id, 65);
	l->name = xstrdup(jv_str(m3));
	return 1;
}

void journal_items_free(struct journal *jr)
{
	for (size_t i = 0; i < jr->nsunk_lines; i++)
		free(jr->sunk_lines[i].name);
	free(jr->sunk);
	free(jr->sunk_lines);
	free(jr->sunk_order);
}

static const struct journal *order_jr;

/* by job (identity, name), then index, then the later first (file
 * order: a later line, or later in one line) */
static int by_job_seq_latest(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	const struct journal_item *ix = &order_jr->sunk[x], *iy = &order_jr->sunk[y];
	const struct journal_sunk_line *lx = &order_jr->sunk_lines[ix->line],
				       *ly = &order_jr->sunk_lines[iy->line];
	int c = strcmp(lx->identity, ly->identity);
	if (!c)
		c = strcmp(lx->name, ly->name);
	if (c)
		return c;
	if (ix->seq != iy->seq)
		return ix->seq < iy->seq ? -1 : 1;
	return x > y ? -1 : x < y;
}

void journal_items_index(struct journal *jr)
{
	jr->sunk_order = xcalloc(jr->nsunk ? jr->nsunk : 1, sizeof *jr->sunk_order);
	for (size_t i = 0; i < jr->nsunk; i++)
		jr->sunk_order[i] = i;
	order_jr = jr;
	qsort(jr->sunk_order, jr->nsunk, sizeof *jr->sunk_order, by_job_seq_latest);
	order_jr = NULL;
}

/* <0, 0, >0: item i's job against (id, name) */
static int job_cmp(const struct journal *jr, size_t i, const char *id, const char *name)
{
	const struct journal_sunk_line *l = &jr->sunk_lines[jr->sunk[i].line];
	int c = strcmp(l->identity, id);
	return c ? c : strcmp(l->name, name);
}

size_t journal_sunk(const struct journal *jr, const char *id, const char *name, struct buf *out)
{
	size_t a = 0, b = jr->nsunk;
	while (a < b) {   /* the first item of the job */
		size_t m = a + (b - a) / 2;
		if (job_cmp(jr, jr->sunk_order[m], id, name) < 0)
			a = m + 1;
		else
			b = m;
	}
	size_t kept = 0;
	const struct journal_item *prev = NULL;
	for (size_t k = a; k < jr->nsunk && !job_cmp(jr, jr->sunk_order[k], id, name); k++) {
		const struct journal_item *it = &jr->sunk[jr->sunk_order[k]];
		if (prev && prev->seq == it->seq)
			continue;   /* an earlier one's: the latest counts */
		buf_printf(out, "%" PRIu64 " %016" PRIx64 " %.*s\n", it->seq, it->ih,
			   (int)it->b64_len, it->b64);
		prev = it;
		kept++;
	}
	return kept;
}
