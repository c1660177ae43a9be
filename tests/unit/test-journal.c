/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-journal.c - the journal: HMAC-SHA256 against RFC 4231, what
 * changes an identity and what does not, a journal written by the
 * writer read back, cut at every byte offset (a torn last line reads
 * back without error and without a record made up), a damaged tail,
 * files that are no journal, another format, the writer cutting a torn
 * tail before it appends, and the items lines of steps jobs. */
#include "config.h"
#include "journal.h"
#include "tap.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void hexs(const unsigned char *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void hmac_vectors(void)
{
	unsigned char key[20], d[32];
	char h[65];
	memset(key, 0x0b, sizeof key);
	journal_hmac(key, sizeof key, "Hi There", 8, d);
	hexs(d, 32, h);
	is_str(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
	       "HMAC-SHA256 RFC 4231 case 1");
	journal_hmac((const unsigned char *)"Jefe", 4, "what do ya want for nothing?", 28, d);
	hexs(d, 32, h);
	is_str(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
	       "HMAC-SHA256 RFC 4231 case 2");
	unsigned char big[131];
	memset(big, 0xaa, sizeof big);
	const char *m = "Test Using Larger Than Block-Size Key - Hash Key First";
	journal_hmac(big, sizeof big, m, strlen(m), d);
	hexs(d, 32, h);
	is_str(h, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
	       "HMAC-SHA256 RFC 4231 case 6 (a key longer than a block)");
}

static struct spec *load(const char *text)
{
	struct errlist errs = { 0 };
	struct spec *s = spec_load_mem("t.json", text, strlen(text), &errs);
	if (!s)
		for (size_t i = 0; i < errs.n; i++)
			printf("# %s\n", errs.msg[i]);
	errlist_free(&errs);
	return s;
}

/* The identity of job i of spec text under key. */
static void id_of(const char *text, size_t i, const unsigned char *key, journal_id out)
{
	struct spec *s = load(text);
	if (!s) {
		strcpy(out, "no spec");
		return;
	}
	journal_id *ids = xcalloc(s->njobs, sizeof *ids);
	journal_id plan;
	journal_identities(s, key, ids, plan);
	memcpy(out, ids[i], sizeof(journal_id));
	free(ids);
	spec_free(s);
}

#define BASE "{\"jobs\":[{\"name\":\"src\",\"run\":[\"echo\",\"x\"]}," \
	     "{\"name\":\"a\",\"run\":[\"cat\"],\"env\":{\"V\":\"1\"},\"stdin\":{\"from\":\"src\"}}"
static void identities(void)
{
	unsigned char k1[JOURNAL_KEY_BYTES] = { 1 }, k2[JOURNAL_KEY_BYTES] = { 2 };
	journal_id a, b;
	id_of(BASE "]}", 1, k1, a);
	id_of(BASE "]}", 1, k1, b);
	is_str(a, b, "the same spec: the same identity");
	ok(strlen(a) == 64, "an identity is 64 hex digits");
	setenv("PIPERUN_TEST_INHERITED", "one", 1);
	id_of(BASE "]}", 1, k1, a);
	setenv("PIPERUN_TEST_INHERITED", "two", 1);
	id_of(BASE "]}", 1, k1, b);
	is_str(a, b, "the inherited environment is not part of it");
	id_of(BASE "]}", 1, k2, b);
	is_str(a, b, "a job without secrets: the key does not matter");
	id_of("{\"jobs\":[{\"name\":\"src\",\"run\":[\"echo\",\"y\"]},"
	      "{\"name\":\"a\",\"run\":[\"cat\"],\"env\":{\"V\":\"1\"},\"stdin\":{\"from\":\"src\"}}]}",
	      1, k1, b);
	ok(strcmp(a, b) != 0, "a change in the job feeding its stdin changes it");
	id_of("{\"jobs\":[{\"name\":\"src\",\"run\":[\"echo\",\"x\"]},"
	      "{\"name\":\"a\",\"run\":[\"cat\"],\"env\":{\"V\":\"2\"},\"stdin\":{\"from\":\"src\"}}]}",
	      1, k1, b);
	ok(strcmp(a, b) != 0, "a declared env value changes it");
	const char *sec = "{\"jobs\":[{\"name\":\"s\",\"run\":[\"true\"],\"env\":{\"P\":\"pw\"},"
			  "\"secret_env\":[\"P\"]}]}";
	id_of(sec, 0, k1, a);
	id_of(sec, 0, k2, b);
	ok(strcmp(a, b) != 0, "a job with secrets: keyed (another key, another identity)");
	id_of("{\"jobs\":[{\"name\":\"w\",\"run\":[\"true\"],\"repeat\":2}]}", 0, k1, a);
	id_of("{\"jobs\":[{\"name\":\"w\",\"run\":[\"true\"],\"repeat\":2}]}", 1, k1, b);
	ok(strcmp(a, b) != 0, "copies of a repeat: each its own");
}

static char tmpdir[] = "/tmp/test-journal.XXXXXX";

static char *slurp(const char *path, size_t *n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	fstat(fd, &st);
	char *t = xmalloc((size_t)st.st_size + 1);
	*n = (size_t)st.st_size;
	read_full(fd, t, *n);
	close(fd);
	return t;
}

/* A journal of spec text's jobs, all ok, written by the writer. */
static char *write_journal(const char *path, size_t *n, size_t *lines)
{
	struct spec *s = load("{\"name\":\"j\",\"jobs\":[{\"name\":\"a\",\"run\":[\"true\"]},"
			      "{\"name\":\"b\",\"run\":[\"true\"]},{\"name\":\"c\",\"run\":[\"true\"]}]}");
	unsigned char key[JOURNAL_KEY_BYTES], sha[32] = { 0 };
	journal_new_key(key);
	journal_id *ids = xcalloc(s->njobs, sizeof *ids);
	journal_id plan;
	journal_identities(s, key, ids, plan);
	struct journal_writer w;
	char *why = NULL;
	ok(journal_open(&w, path, true, &why) == 0, "the writer opens %s", path);
	struct journal_head h = { .spec = s, .spec_path = "t.json", .spec_sha256 = sha,
				  .ids = (const journal_id *)ids, .plan = plan,
				  .started_at = "2026-01-01T00:00:00.000Z", .containment = "none" };
	journal_write_head(&w, &h, key);
	for (size_t i = 0; i < s->njobs; i++) {
		struct job j;
		job_init(&j, spec_job(s, i), i, NULL);
		j.status = ST_OK;
		j.attempts = 1;
		j.has_rc = true;
		journal_write_job(&w, &j, ids[i]);
		job_free(&j);
	}
	ok(journal_close(&w) == 0, "the writer closes");
	*lines = 1 + s->njobs;
	free(ids);
	spec_free(s);
	return slurp(path, n);
}

/* Cut at every byte offset: never an error, never a record beyond the
 * whole lines before the cut. */
static void torn(const char *text, size_t n, size_t lines)
{
	size_t whole = 0, bad = 0, made_up = 0;
	for (size_t cut = 0; cut <= n; cut++) {
		if (cut && text[cut - 1] == '\n')
			whole++;
		struct journal jr;
		char *why = NULL;
		if (journal_parse(text, cut, &jr, &why) < 0) {
			bad++;
			printf("# cut at %zu: %s\n", cut, why);
			free(why);
			continue;
		}
		size_t want = whole ? whole - 1 : 0;   /* the header is no record */
		if (jr.nentries != want || (size_t)jr.valid + (size_t)jr.ignored != cut ||
		    jr.damaged_line)
			made_up++;
		for (size_t i = 0; i < jr.nentries; i++)
			if (strcmp(jr.entries[i].status, "ok") || jr.entries[i].index != i)
				made_up++;
		journal_free(&jr);
	}
	is_int(whole, lines, "the journal has its lines");
	is_int(bad, 0, "cut at any of its %zu byte offsets: read without error", n + 1);
	is_int(made_up, 0, "cut anywhere: exactly the records of the whole lines");
	/* every offset of the last line, as the acceptance says */
	const char *last = text + n - 1;
	while (last > text && last[-1] != '\n')
		last--;
	size_t from = (size_t)(last - text), fine = 0;
	for (size_t cut = from; cut < n; cut++) {
		struct journal jr;
		char *why = NULL;
		if (journal_parse(text, cut, &jr, &why) == 0 && jr.nentries == lines - 2 &&
		    (size_t)jr.valid == from)
			fine++;
		free(why);
		journal_free(&jr);
	}
	is_int(fine, n - from, "the last line torn at each of its %zu offsets: ignored", n - from);
}

static void damaged(const char *text, size_t n)
{
	/* a damaged line in the middle: the journal ends before it */
	const char *nl = strchr(strchr(text, '\n') + 1, '\n');
	struct buf b = { 0 };
	buf_add(&b, text, (size_t)(nl + 1 - text));
	buf_add(&b, "\0\0\0\0garbage\n", 12);
	buf_add(&b, nl + 1, n - (size_t)(nl + 1 - text));
	struct journal jr;
	char *why = NULL;
	ok(journal_parse(b.p, b.len, &jr, &why) == 0, "a damaged line: no error");
	is_int(jr.nentries, 1, "a damaged line: the records before it, none after");
	is_int(jr.damaged_line, 3, "a damaged line: its number is said");
	ok(jr.ignored > 0, "a damaged line: what follows is counted as ignored");
	journal_free(&jr);
	buf_free(&b);
	/* a job line with bytes after its object, or its keys in another
	 * order: damaged too, never read */
	const char *l2 = strchr(text, '\n') + 1, *e2 = strchr(l2, '\n');
	buf_add(&b, text, (size_t)(e2 - text));
	buf_addstr(&b, "xyz\n");
	ok(journal_parse(b.p, b.len, &jr, &why) == 0 && jr.nentries == 0 && jr.ignored == 4 + (e2 - l2),
	   "bytes after a line's object: the line is not read");
	journal_free(&jr);
	b.len = 0;
	buf_add(&b, text, (size_t)(l2 - text));
	buf_addstr(&b, "{\"index\":0,\"identity\":\"");
	buf_add(&b, l2 + strlen("{\"identity\":\""), 64);
	buf_addstr(&b, "\",\"job\":{\"name\":\"a\",\"status\":\"ok\"}}\n");
	ok(journal_parse(b.p, b.len, &jr, &why) == 0 && jr.nentries == 0,
	   "a job line with its keys in another order is not read");
	journal_free(&jr);
	/* a record named "a\u0000x" is not a's */
	b.len = 0;
	buf_add(&b, text, (size_t)(l2 - text));
	buf_addstr(&b, "{\"identity\":\"");
	buf_add(&b, l2 + strlen("{\"identity\":\""), 64);
	buf_addstr(&b, "\",\"index\":0,\"job\":{\"name\":\"a\\u0000x\",\"status\":\"ok\"}}\n");
	ok(journal_parse(b.p, b.len, &jr, &why) == 0 && jr.nentries == 0 && jr.damaged_line == 2,
	   "a job line whose name a \\u0000 cuts short is not read");
	journal_free(&jr);
	buf_free(&b);
	int rc = journal_parse("hello\n", 6, &jr, &why);
	ok(rc < 0 && strstr(why, "not a piperun journal"), "a text file is no journal: %s", why);
	free(why);
	ok(journal_parse("hel", 3, &jr, &why) < 0, "nor a text file without a newline");
	free(why);
	ok(journal_parse("{\"journ", 7, &jr, &why) == 0 && jr.nsessions == 0,
	   "a torn first header: an empty journal");
	journal_free(&jr);
	const char *v3 = "{\"journal\":\"piperun\",\"format\":3,\"key\":\"x\"}\n";
	rc = journal_parse(v3, strlen(v3), &jr, &why);
	ok(rc < 0 && strstr(why, "format 3"), "another format is refused: %s", why);
	free(why);
}

/* An existing journal with a torn tail: the writer cuts it first. */
static void cut_before_append(const char *path, size_t n)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	write_full(fd, "{\"identity\":\"ab", 15);
	close(fd);
	chmod(path, 0644);
	struct journal jr;
	char *why = NULL;
	struct journal_writer w, w2;
	ok(journal_open(&w, path, false, &why) == 0, "it opens to append");
	ok(journal_read_open(&w, &jr, &why) == 0, "a torn tail reads");
	/* a second writer (another run) while the first holds it */
	ok(journal_open(&w2, path, false, &why) < 0 && why &&
	   !strcmp(why + strlen(path), ": in use by another run"),
	   "a second writer is refused: %s", why ? why : "(none)");
	free(why);
	why = NULL;
	struct journal rd;
	ok(journal_read(path, &rd, &why) == 0 && rd.nentries == jr.nentries,
	   "a reader reads it while a writer holds it");
	journal_free(&rd);
	ok(journal_cut(&w, &jr, &why) == 0, "and cuts it");
	journal_close(&w);
	journal_free(&jr);
	struct stat st;
	stat(path, &st);
	is_int(st.st_size, n, "the torn tail was cut before anything was appended");
	ok((st.st_mode & 077) == 0, "the journal is made private to its owner (0600)");
	ok(journal_open(&w2, path, false, &why) == 0, "once closed, another writer opens it");
	journal_close(&w2);
}

/* Items a steps job sank (journal-items.c): written from the host's "S"
 * lines, read back for --resume (the latest line's output where an item
 * was sunk twice, a line of another name not the job's), a torn items
 * line never read in part, a damaged one ending the journal. */
static void sunk_items(const char *path)
{
	struct spec *s = load("{\"jobs\":[{\"name\":\"a\",\"items\":{\"count\":9},"
			      "\"steps\":[{\"run\":[\"echo\",\"{}\"]}]}]}");
	unsigned char key[JOURNAL_KEY_BYTES], sha[32] = { 0 };
	journal_new_key(key);
	journal_id ids[1], plan;
	journal_identities(s, key, ids, plan);
	struct journal_writer w;
	char *why = NULL;
	unlink(path);
	ok(journal_open(&w, path, true, &why) == 0, "items: the writer opens");
	struct journal_head h = { .spec = s, .spec_path = "t.json", .spec_sha256 = sha,
				  .ids = (const journal_id *)ids, .plan = plan,
				  .started_at = "2026-01-01T00:00:00.000Z", .containment = "none" };
	journal_write_head(&w, &h, key);
	struct job j;
	job_init(&j, spec_job(s, 0), 0, NULL);
	const char *l1 = "S 0 00000000000000aa b25l\nS 2 00000000000000bb dHdv\n";
	const char *l2 = "P progress is no item\nS 2 00000000000000bb VFdP\nS x 00 bad\nS 5 00000000000000cc \n";
	ok(journal_write_items(&w, &j, ids[0], l1, strlen(l1)) == 0, "items: a batch is written");
	ok(journal_write_items(&w, &j, ids[0], l2, strlen(l2)) == 0, "items: another, lines not items skipped");
	size_t before = (size_t)w.size;
	ok(journal_write_items(&w, &j, ids[0], "S y\n", 4) == 0 && (size_t)w.size == before,
	   "items: a batch of no item writes no line");
	ok(journal_close(&w) == 0, "items: the writer closes");
	job_free(&j);
	size_t n;
	char *text = slurp(path, &n);
	struct journal jr;
	ok(journal_parse(text, n, &jr, &why) == 0 && jr.nsunk == 4 && !jr.damaged_line,
	   "items: read back, 4 items in 2 lines");
	struct buf out = { 0 };
	is_int(journal_sunk(&jr, ids[0], "a", &out), 3, "items: 3 distinct items sunk");
	is_str(out.p, "0 00000000000000aa b25l\n2 00000000000000bb VFdP\n5 00000000000000cc \n",
	       "items: by index, the latest line's output where one was sunk twice");
	out.len = 0;
	is_int(journal_sunk(&jr, ids[0], "b", &out), 0, "items: another name's are not the job's");
	buf_free(&out);
	journal_free(&jr);
	/* the last (items) line cut at each of its offsets: its items never
	 * read in part */
	const char *last = text + n - 1;
	while (last > text && last[-1] != '\n')
		last--;
	size_t from = (size_t)(last - text), fine = 0;
	for (size_t cut = from; cut < n; cut++)
		if (journal_parse(text, cut, &jr, &why) == 0 && jr.nsunk == 2 && !jr.damaged_line)
			fine++, journal_free(&jr);
		else
			free(why), journal_free(&jr);
	is_int(fine, n - from, "items: the last line torn at each of its %zu offsets: none of it read",
	       n - from);
	/* damaged items lines end the journal, none of their items read */
	static const char *const bad[] = {
		"\"sunk\":[[1,\"00aa\",\"b25l\"]]}",            /* a short hash */
		"\"sunk\":[[-1,\"00000000000000aa\",\"b25l\"]]}", /* a negative index */
		"\"sunk\":[[1.5,\"00000000000000aa\",\"b25l\"]]}",
		"\"sunk\":[[1,\"00000000000000aa\",\"b2*l\"]]}",  /* not base64 */
		"\"sunk\":[[1,\"00000000000000aa\"]]}",
		"\"sunk\":[]}",
		"\"sunk\":[[1,\"00000000000000aa\",\"b25l\"]],\"x\":1}",
		"\"sunk\":[[1,\"00000000000000aa\",\"YQBi\"]]}",     /* an output with a NUL */
		"\"sunk\":[[1,\"00000000000000aa\",\"YQpi\"]]}",     /* with a newline */
		"\"sunk\":[[1,\"00000000000000aa\",\"b25l\\u0000x\"]]}",
	};
	size_t refused = 0;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct buf b = { 0 };
		buf_add(&b, text, from);
		buf_printf(&b, "{\"identity\":\"%s\",\"index\":0,\"name\":\"a\",%s\n", ids[0], bad[i]);
		if (journal_parse(b.p, b.len, &jr, &why) == 0 && jr.nsunk == 2 && jr.damaged_line)
			refused++;
		journal_free(&jr);
		buf_free(&b);
	}
	is_int(refused, sizeof bad / sizeof *bad, "items: damaged items lines are not read");
	/* a name with a \u0000: not the name before it */
	struct buf b = { 0 };
	buf_add(&b, text, from);
	buf_printf(&b, "{\"identity\":\"%s\",\"index\":0,\"name\":\"a\\u0000x\","
		   "\"sunk\":[[7,\"00000000000000aa\",\"b25l\"]]}\n", ids[0]);
	ok(journal_parse(b.p, b.len, &jr, &why) == 0 && jr.nsunk == 2 && jr.damaged_line,
	   "items: a name cut short by a \\u0000 is no name of the job's");
	journal_free(&jr);
	/* one index twice in one line: the later counts */
	b.len = 0;
	buf_add(&b, text, from);
	buf_printf(&b, "{\"identity\":\"%s\",\"index\":0,\"name\":\"a\",\"sunk\":"
		   "[[2,\"00000000000000bb\",\"Zmlyc3Q=\"],[2,\"00000000000000bb\",\"c2Vjb25k\"]]}\n",
		   ids[0]);
	struct buf o2 = { 0 };
	ok(journal_parse(b.p, b.len, &jr, &why) == 0 && journal_sunk(&jr, ids[0], "a", &o2) == 2 &&
	   o2.p && strstr(o2.p, "2 00000000000000bb c2Vjb25k\n"),
	   "items: an index twice in one line: the later one's output");
	journal_free(&jr);
	buf_free(&o2);
	buf_free(&b);
	free(text);
	spec_free(s);
	unlink(path);
}

int main(void)
{
	hmac_vectors();
	identities();
	if (!mkdtemp(tmpdir))
		return 1;
	char *path = xasprintf("%s/j.jsonl", tmpdir);
	size_t n, lines;
	char *text = write_journal(path, &n, &lines);
	torn(text, n, lines);
	damaged(text, n);
	cut_before_append(path, n);
	sunk_items(path);
	free(text);
	unlink(path);
	rmdir(tmpdir);
	free(path);
	return done_testing();
}
