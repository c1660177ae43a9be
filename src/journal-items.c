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
	w->line.len = 0;
	jw_init(&jw, buf_sink_write, &w->line, false);
	jw_obj(&jw, false);
	jw_kstr(&jw, "identity", id);
	jw_kint(&jw, "index", (int64_t)j->index);
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

static bool is_b64(const char *s)
{
	unsigned char *out;
	size_t n;
	if (b64_decode(s, strlen(s), &out, &n) < 0)
		return false;
	free(out);
	return true;
}

int journal_read_items(struct journal *jr, const struct cJSON *v)
{
	/* exactly "identity", "index", "name", "sunk", in that order */
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
	size_t first = jr->nsunk;
	const struct cJSON *e;
	JV_EACH(e, m4) {
		const struct cJSON *a = jv_child(e), *b = jv_next(a), *c = jv_next(b);
		double seq = jv_num(a);
		if (!jv_is_array(e) || jv_size(e) != 3 || !jv_is_number(a) || seq < 0 ||
		    seq > 9007199254740992.0 || seq != (double)(uint64_t)seq || !is_ih(jv_str(b)) ||
		    !jv_str(c) || !is_b64(jv_str(c))) {
			for (size_t k = first; k < jr->nsunk; k++)
				free(jr->sunk[k].b64);
			jr->nsunk = first;
			return 0;
		}
		xgrow(&jr->sunk, &jr->sunk_cap, jr->nsunk + 1, sizeof *jr->sunk);
		jr->sunk[jr->nsunk++] = (struct journal_item){
			.seq = (uint64_t)seq,
			.ih = strtoull(jv_str(b), NULL, 16),
			.b64 = xstrdup(jv_str(c)),
			.line = jr->nsunk_lines,
		};
	}
	xgrow(&jr->sunk_lines, &jr->sunk_lines_cap, jr->nsunk_lines + 1, sizeof *jr->sunk_lines);
	struct journal_sunk_line *l = &jr->sunk_lines[jr->nsunk_lines++];
	memcpy(l->identity, id, 65);
	l->name = xstrdup(jv_str(m3));
	return 1;
}

void journal_items_free(struct journal *jr)
{
	for (size_t i = 0; i < jr->nsunk; i++)
		free(jr->sunk[i].b64);
	for (size_t i = 0; i < jr->nsunk_lines; i++)
		free(jr->sunk_lines[i].name);
	free(jr->sunk);
	free(jr->sunk_lines);
}

/* by seq, then the later line first */
static int by_seq_latest(const void *a, const void *b)
{
	const struct journal_item *x = *(const struct journal_item *const *)a;
	const struct journal_item *y = *(const struct journal_item *const *)b;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->line > y->line ? -1 : x->line < y->line;
}

size_t journal_sunk(const struct journal *jr, const char *id, const char *name, struct buf *out)
{
	const struct journal_item **v = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < jr->nsunk; i++) {
		const struct journal_sunk_line *l = &jr->sunk_lines[jr->sunk[i].line];
		if (strcmp(l->identity, id) || strcmp(l->name, name))
			continue;
		xgrow(&v, &cap, n + 1, sizeof *v);
		v[n++] = &jr->sunk[i];
	}
	qsort(v, n, sizeof *v, by_seq_latest);
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && v[i]->seq == v[i - 1]->seq)
			continue;   /* an earlier line's: the latest counts */
		buf_printf(out, "%" PRIu64 " %016" PRIx64 " %s\n", v[i]->seq, v[i]->ih, v[i]->b64);
		kept++;
	}
	free(v);
	return kept;
}
