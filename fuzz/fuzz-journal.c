/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fuzz-journal.c - libFuzzer harness: the journal reader (journal.h),
 * which reads files a crash or a power loss may have cut or damaged.
 * Properties: no crash; a journal read says how much it read and
 * ignored (valid + ignored = size, valid at a line's end); every entry
 * has a 64-hex identity, a session, a status and a record that is one
 * JSON object; reading back only what was read (what the writer keeps
 * before it appends) gives the same entries and ignores nothing; and
 * lookups by identity find entries of that identity; a steps job's
 * items (journal_sunk) come out one per index, in order, as many as
 * there are distinct ones, in the "SEQ IH B64" form its host parses. */
#include "config.h"
#include "fuzz.h"
#include "journal.h"
#include "spec.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct journal jr, again;
	char *why = NULL;
	if (journal_parse(text, size, &jr, &why) < 0) {
		CHECK(why && *why);
		free(why);
		return 0;
	}
	CHECK(jr.valid >= 0 && (size_t)jr.valid + (size_t)jr.ignored == size);
	CHECK(jr.valid == 0 || text[jr.valid - 1] == '\n');
	CHECK(jr.nentries == 0 || jr.nsessions > 0);
	for (size_t i = 0; i < jr.nentries; i++) {
		const struct journal_entry *e = &jr.entries[i];
		CHECK(strlen(e->identity) == 64);
		CHECK(e->session < jr.nsessions);
		CHECK(e->name && e->status && e->record);
		CHECK(e->record_len == strlen(e->record));
		CHECK(spec_json_text_valid(e->record) && e->record[0] == '{');
		const struct journal_entry *f = journal_find(&jr, e->identity, e->name);
		CHECK(f && !strcmp(f->identity, e->identity) && !strcmp(f->name, e->name));
		f = journal_find_ok(&jr, e->identity, e->name);
		CHECK(!f || (!strcmp(f->identity, e->identity) && !strcmp(f->status, "ok")));
		char *out = NULL;
		size_t len = 99;
		if (journal_entry_stdout(e, &out, &len) == 0)
			CHECK(out != NULL);
		else
			CHECK(out == NULL && len == 0);
		free(out);
	}
	for (size_t i = 0; i < jr.nsunk_lines; i++) {
		struct buf b = { 0 };
		const struct journal_sunk_line *l = &jr.sunk_lines[i];
		size_t n = journal_sunk(&jr, l->identity, l->name, &b), lines = 0;
		CHECK(n >= 1 && n <= jr.nsunk);
		unsigned long long prev = 0;
		for (char *p = b.p, *nl; p && (nl = strchr(p, '\n')); p = nl + 1, lines++) {
			char *end;
			unsigned long long seq = strtoull(p, &end, 10);
			CHECK(end > p && *end == ' ' && strspn(end + 1, "0123456789abcdef") == 16 &&
			      end[17] == ' ');
			CHECK(!lines || seq > prev);
			prev = seq;
		}
		CHECK(lines == n);
		buf_free(&b);
	}
	CHECK(journal_parse(text, (size_t)jr.valid, &again, &why) == 0);
	CHECK(again.nentries == jr.nentries && again.nsessions == jr.nsessions);
	CHECK(again.nsunk == jr.nsunk && again.nsunk_lines == jr.nsunk_lines);
	CHECK(again.ignored == 0 && again.valid == jr.valid);
	for (size_t i = 0; i < jr.nentries; i++)
		CHECK(!strcmp(again.entries[i].record, jr.entries[i].record));
	journal_free(&again);
	journal_free(&jr);
	return 0;
}
