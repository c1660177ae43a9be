/* SPDX-License-Identifier: GPL-3.0-or-later */
/* steps-resume.c - a steps job and the run's journal (journal.h): with
 * journal_items the host reports each item it sinks ("S SEQ IH B64OUT"
 * on the info fd: the item's index, the hash of its input, its output in
 * base64), which the runner journals; with resume it reads those of an
 * earlier session ("SEQ IH B64OUT" lines by SEQ) and, as the source
 * reads them again, sends their outputs to the sink instead of the first
 * step: an item that was sunk is not processed again.  IH guards the
 * match: an item whose input changed since (a file edited between the
 * sessions) runs again. */
#include "config.h"
#include "steps-int.h"
#include "codec.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* FNV-1a: not a defence against a chosen collision (the input is the
 * user's own), a check that the item at SEQ is the one sunk. */
uint64_t item_hash(const char *text, size_t len)
{
	return fnv1a_add(FNV1A_INIT, text, len);
}

/* "SEQ IH B64" (the line without its newline, NUL-terminated); the
 * output stays in the text, decoded when its item comes. */
static int parse_line(char *line, struct resumed *r)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)line[0]))
		return -1;
	r->seq = strtoull(line, &end, 10);
	if (errno || end == line || *end != ' ')
		return -1;
	char *ih = end + 1;
	if (!isxdigit((unsigned char)ih[0]))
		return -1;
	r->ih = strtoull(ih, &end, 16);
	if (errno || end != ih + 16 || *end != ' ')
		return -1;
	r->b64 = end + 1;
	r->b64_len = strlen(r->b64);
	return 0;
}

int resume_load(struct engine *e, struct steps_sunk *sunk, char **err)
{
	size_t cap = 0, off = 0, len = sunk->len;
	char *text = sunk->text;
	e->sunk_mem = sunk->mem;
	while (off < len) {
		char *line = text + off, *nl = memchr(line, '\n', len - off);
		if (!nl) {
			*err = xstrdup("steps: the items sunk before: a line without its newline");
			return -1;
		}
		*nl = 0;
		off = (size_t)(nl - text) + 1;
		struct resumed r = { 0 };
		if (parse_line(line, &r) < 0 ||
		    (e->nresumed && r.seq <= e->resumed[e->nresumed - 1].seq)) {
			*err = xasprintf("steps: the items sunk before: line %zu is not \"SEQ IH B64\" in order",
					 e->nresumed + 1);
			return -1;
		}
		xgrow(&e->resumed, &cap, e->nresumed + 1, sizeof *e->resumed);
		e->resumed[e->nresumed++] = r;
	}
	return 0;
}

void resume_free(struct engine *e)
{
	free(e->resumed);
	free(e->sunk_mem);
	e->resumed = NULL;
	e->sunk_mem = NULL;
	e->nresumed = 0;
	buf_free(&e->sbuf);
}

bool resume_take(struct engine *e, struct item *it)
{
	while (e->at_resumed < e->nresumed && e->resumed[e->at_resumed].seq < it->seq)
		e->at_resumed++;   /* passed by: its item is no more */
	if (e->at_resumed == e->nresumed)
		return false;
	const struct resumed *r = &e->resumed[e->at_resumed];
	unsigned char *out = NULL;
	size_t n = 0;
	if (r->seq != it->seq || r->ih != it->ih)
		return false;
	if (b64_decode(r->b64, r->b64_len, &out, &n) < 0 || memchr(out, 0, n) ||
	    memchr(out, '\n', n)) {
		free(out);   /* an output no step gives: the item runs */
		return false;
	}
	e->at_resumed++;
	free(it->text);
	it->text = (char *)out;
	it->len = n;
	it->restored = true;
	return true;
}

void sunk_note(struct engine *e, const struct item *it)
{
	if (it->restored)
		e->items_resumed++;   /* out now: counted among items_out */
	if (!e->s->journal_items || it->restored)
		return;
	buf_printf(&e->sbuf, "S %" PRIu64 " %016" PRIx64 " ", it->seq, it->ih);
	size_t need = 4 * ((it->len + 2) / 3);
	buf_reserve(&e->sbuf, need + 2);
	e->sbuf.len += b64_encode((const unsigned char *)it->text, it->len, e->sbuf.p + e->sbuf.len);
	buf_addch(&e->sbuf, '\n');
}

void sunk_flush(struct engine *e)
{
	if (!e->sbuf.len)
		return;
	info_write(e, e->sbuf.p, e->sbuf.len);
	e->sbuf.len = 0;
}
