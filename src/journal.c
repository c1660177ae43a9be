/* SPDX-License-Identifier: GPL-3.0-or-later */
/* journal.c - the journal's reader and writer; see journal.h (the
 * identity is journal-id.c). */
#include "config.h"
#include "codec.h"
#include "journal.h"
#include "jsonw.h"
#include "report.h"
#include "spec-json.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every header starts so: the reader tells a journal from another file
 * by it, even when all it has is a torn first line. */
#define HEAD_PREFIX "{\"journal\":\"piperun\",\"format\":"
/* and every job line so, its record after JOB_KEY */
#define JOB_KEY ",\"job\":"

/* ------------------------------------------------------------- reading */

static char *dup_str(const struct cJSON *v)
{
	const char *s = jv_str(v);
	return s ? xstrdup(s) : NULL;
}

static bool is_hex_id(const char *s)
{
	if (!s || strlen(s) != 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* A number of the file as an integer in [lo, hi]; what is out of it
 * (or no number), dflt: a damaged file never makes a conversion
 * undefined. */
static long long num_in(const struct cJSON *v, double lo, double hi, long long dflt)
{
	double d = jv_num(v);
	return jv_is_number(v) && d >= lo && d <= hi ? (long long)d : dflt;
}

static int hexval(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

/* The jobs of a header: false when they are not [{name, identity}...]. */
static bool read_head_jobs(const struct cJSON *jobs, struct journal_session *s)
{
	if (!jv_is_array(jobs))
		return false;
	size_t n = (size_t)jv_size(jobs), i = 0;
	s->names = xcalloc(n ? n : 1, sizeof *s->names);
	s->ids = xcalloc(n ? n : 1, sizeof *s->ids);
	const struct cJSON *e;
	JV_EACH(e, jobs) {
		const char *name = jv_str(jv_get(e, "name"));
		const char *id = jv_str(jv_get(e, "identity"));
		if (!name || !is_hex_id(id))
			return false;
		s->names[i] = xstrdup(name);
		memcpy(s->ids[i], id, 65);
		s->njobs = ++i;
	}
	return true;
}

static void session_free(struct journal_session *s)
{
	free(s->piperun), free(s->spec), free(s->spec_sha256), free(s->plan_sha256);
	free(s->started_at), free(s->run_name), free(s->mode), free(s->containment);
	for (size_t i = 0; i < s->njobs; i++)
		free(s->names[i]);
	free(s->names);
	free(s->ids);
}

/* A header line: 1 read, 0 not a header (damaged), -1 a header of a
 * format this piperun does not read (*why). */
static int read_head(struct journal *jr, const struct cJSON *v, char **why)
{
	const struct cJSON *fmt = jv_get(v, "format");
	if (!jv_is_number(fmt))
		return 0;
	if (jv_num(fmt) != 1 && jv_num(fmt) != JOURNAL_FORMAT) {
		*why = xasprintf("journal format %g; this piperun reads formats 1 to %d",
				 jv_num(fmt), JOURNAL_FORMAT);
		return -1;
	}
	const char *key = jv_str(jv_get(v, "key"));
	if (!is_hex_id(key))
		return 0;
	struct journal_session s = { 0 };
	const struct cJSON *run = jv_get(v, "run");
	if (!read_head_jobs(jv_get(v, "jobs"), &s)) {
		session_free(&s);
		return 0;
	}
	s.piperun = dup_str(jv_get(v, "piperun"));
	s.spec = dup_str(jv_get(v, "spec"));
	s.spec_sha256 = dup_str(jv_get(v, "spec_sha256"));
	s.plan_sha256 = dup_str(jv_get(v, "plan_sha256"));
	s.started_at = dup_str(jv_get(v, "started_at"));
	s.resume = jv_is_true(jv_get(v, "resume"));
	s.run_name = dup_str(jv_get(run, "name"));
	s.mode = dup_str(jv_get(run, "mode"));
	s.containment = dup_str(jv_get(run, "containment"));
	s.max_parallel = (long)num_in(jv_get(run, "max_parallel"), 0, 1e9, 0);
	s.first = jr->nentries;
	if (!jr->nsessions)   /* every session uses the first one's key */
		for (int i = 0; i < JOURNAL_KEY_BYTES; i++)
			jr->key[i] = (unsigned char)(hexval(key[2 * i]) << 4 | hexval(key[2 * i + 1]));
	jr->sessions = xrealloc(jr->sessions, (jr->nsessions + 1) * sizeof *jr->sessions);
	jr->sessions[jr->nsessions++] = s;
	return 1;
}

bool journal_raw_member(const char *raw, size_t n, bool at_start, const char *before,
			const char *s, const char *after)
{
	struct buf b = { 0 };
	struct jw w;
	buf_addstr(&b, before);
	jw_init(&w, buf_sink_write, &b, false);
	jw_str(&w, s);
	buf_addstr(&b, after);
	bool found = at_start ? n >= b.len && !memcmp(raw, b.p, b.len)
		     : memmem(raw, n, b.p, b.len) != NULL;
	buf_free(&b);
	return found;
}

/* A job line (text, n bytes, no newline): false when it is not one. */
static bool read_entry(struct journal *jr, const struct cJSON *v, const char *text, size_t n,
		       size_t *cap)
{
	/* exactly "identity" (hex), "index" (a number), "job" (an object),
	 * in that order: then the first JOB_KEY is the job's, and the rest
	 * of the line but its last } is the record's own bytes */
	const struct cJSON *m1 = jv_child(v), *m2 = jv_next(m1), *m3 = jv_next(m2);
	const char *id = jv_str(m1);
	const struct cJSON *job = m3;
	const char *at = memmem(text, n, JOB_KEY, strlen(JOB_KEY));
	if (!jr->nsessions || !m3 || jv_next(m3) || strcmp(jv_key(m1), "identity") ||
	    strcmp(jv_key(m2), "index") || strcmp(jv_key(m3), "job") || !is_hex_id(id) ||
	    !jv_is_object(job) || !jv_is_number(m2) || !at || at[strlen(JOB_KEY)] != '{' ||
	    n < 2 || text[n - 1] != '}' || text[n - 2] != '}')
		return false;
	const char *name = jv_str(jv_get(job, "name"));
	const char *status = jv_str(jv_get(job, "status"));
	/* the record's name, as the writer wrote it, first: a \u0000 in it
	 * would make it read as the name before that */
	size_t reclen = (size_t)(text + n - 1 - (at + strlen(JOB_KEY)));
	if (!name || !status ||
	    !journal_raw_member(at + strlen(JOB_KEY), reclen, true, "{\"name\":", name, ","))
		return false;
	xgrow(&jr->entries, cap, jr->nentries + 1, sizeof *jr->entries);
	struct journal_entry *e = &jr->entries[jr->nentries++];
	memset(e, 0, sizeof *e);
	memcpy(e->identity, id, 65);
	e->index = (size_t)num_in(m2, 0, 1e15, -1);
	e->session = jr->nsessions - 1;
	e->name = xstrdup(name);
	e->status = xstrdup(status);
	const struct cJSON *rc = jv_get(job, "returncode");
	e->has_rc = jv_is_number(rc);
	e->returncode = (int)num_in(rc, -1e9, 1e9, 0);
	e->attempts = (int)num_in(jv_get(job, "attempts"), 0, 1e9, 0);
	e->started_ms = jv_num(jv_get(job, "started_ms"));
	e->duration_ms = jv_num(jv_get(job, "duration_ms"));
	e->error = dup_str(jv_get(job, "error"));
	/* the record's own bytes: after "job": and before the line's } */
	const char *rec = at + strlen(JOB_KEY);
	e->record_len = (size_t)(text + n - 1 - rec);
	e->record = xstrndup(rec, e->record_len);
	jr->sessions[jr->nsessions - 1].nentries++;
	return true;
}

/* One whole line: 1 read, 0 damaged (the journal ends before it), -1
 * not a journal or not its format (*why). */
static int read_line(struct journal *jr, const char *text, size_t n, size_t *cap, char **why)
{
	if (!jr->nsessions && !jr->nentries &&
	    (n < strlen(HEAD_PREFIX) || memcmp(text, HEAD_PREFIX, strlen(HEAD_PREFIX)))) {
		*why = xstrdup("not a piperun journal (its first line is no journal header)");
		return -1;
	}
	/* the writer escapes every control character and writes no white
	 * space but in strings: a raw one is damage (a power loss leaves
	 * blocks of NULs), and cJSON would take it for white space */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)text[i] < 0x20)
			return 0;
	struct cJSON *v = jv_parse_whole(text, n);
	int rc = 0;
	if (jv_is_object(v)) {
		if (jv_get(v, "journal"))
			rc = !strcmp(jv_str(jv_get(v, "journal")) ? jv_str(jv_get(v, "journal")) : "",
				     "piperun") ? read_head(jr, v, why) : 0;
		else if (jv_get(v, "sunk"))
			rc = journal_read_items(jr, v, text, n);
		else
			rc = read_entry(jr, v, text, n, cap);
	}
	jv_free(v);
	return rc;
}

static const struct journal *sort_jr;

static int by_id_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(sort_jr->entries[x].identity, sort_jr->entries[y].identity);
	return c ? c : (x > y) - (x < y);
}

static void index_head_names(struct journal *jr)
{
	size_t n = 0;
	for (size_t s = 0; s < jr->nsessions; s++)
		n += jr->sessions[s].njobs;
	strmap_init(&jr->head_names, n);
	jr->name_id = xcalloc(n ? n : 1, sizeof *jr->name_id);
	jr->name_ids_differ = xcalloc(n ? n : 1, sizeof *jr->name_ids_differ);
	size_t slots = 0;
	for (size_t s = 0; s < jr->nsessions; s++) {
		const struct journal_session *se = &jr->sessions[s];
		for (size_t i = 0; i < se->njobs; i++) {
			bool added;
			size_t *k = strmap_put(&jr->head_names, se->names[i], slots, &added);
			if (added)
				jr->name_id[slots++] = se->ids[i];
			else if (strcmp(jr->name_id[*k], se->ids[i]))
				jr->name_ids_differ[*k] = true;
		}
	}
}

int journal_parse(const char *text, size_t len, struct journal *jr, char **why)
{
	memset(jr, 0, sizeof *jr);
	*why = NULL;
	jr->text = text;
	size_t off = 0, cap = 0, line = 0;
	/* a torn first line that does not even start as a header */
	size_t pre = strlen(HEAD_PREFIX);
	if (len && !memchr(text, '\n', len) && memcmp(text, HEAD_PREFIX, len < pre ? len : pre)) {
		*why = xstrdup("not a piperun journal (its first line is no journal header)");
		return -1;
	}
	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		if (!nl)
			break;   /* torn: never read */
		size_t n = (size_t)(nl - (text + off));
		int rc = n ? read_line(jr, text + off, n, &cap, why) : 0;
		line++;
		if (rc < 0) {
			journal_free(jr);
			return -1;
		}
		if (rc == 0) {
			jr->damaged_line = line;   /* damaged from here on */
			break;
		}
		off += n + 1;
	}
	jr->valid = (off_t)off;
	jr->ignored = (off_t)(len - off);
	index_head_names(jr);
	journal_items_index(jr);
	jr->by_id = xcalloc(jr->nentries ? jr->nentries : 1, sizeof *jr->by_id);
	for (size_t i = 0; i < jr->nentries; i++)
		jr->by_id[i] = i;
	sort_jr = jr;
	qsort(jr->by_id, jr->nentries, sizeof *jr->by_id, by_id_cmp);
	sort_jr = NULL;
	return 0;
}

/* Read the journal open at fd (from its start), named path. */
static int read_fd(int fd, const char *path, struct journal *jr, char **why)
{
	struct stat st;
	memset(jr, 0, sizeof *jr);
	if (fstat(fd, &st) < 0) {
		*why = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = xasprintf("%s: not a regular file", path);
		return -1;
	}
	/* pread: the fd may be another run's to append to (O_APPEND does
	 * not move reads) */
	char *text = xmalloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fd, text + got, (size_t)st.st_size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			free(text);
			*why = xasprintf("%s: %s", path, strerror(err));
			return -1;
		}
		if (n == 0)
			break;   /* cut meanwhile: what there is */
		got += (size_t)n;
	}
	int rc = journal_parse(text, got, jr, why);
	if (rc == 0)
		jr->owned_text = text;   /* the items point into it */
	else
		free(text);
	if (rc < 0) {
		char *w = xasprintf("%s: %s", path, *why);
		free(*why);
		*why = w;
	}
	return rc;
}

int journal_read(const char *path, struct journal *jr, char **why)
{
	memset(jr, 0, sizeof *jr);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		*why = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	int rc = read_fd(fd, path, jr, why);
	close(fd);
	return rc;
}

void journal_free(struct journal *jr)
{
	for (size_t i = 0; i < jr->nsessions; i++)
		session_free(&jr->sessions[i]);
	for (size_t i = 0; i < jr->nentries; i++) {
		struct journal_entry *e = &jr->entries[i];
		free(e->name), free(e->status), free(e->error), free(e->record);
	}
	free(jr->sessions);
	free(jr->entries);
	free(jr->by_id);
	strmap_free(&jr->head_names);
	free(jr->name_id);
	free(jr->name_ids_differ);
	journal_items_free(jr);
	free(jr->owned_text);
	memset(jr, 0, sizeof *jr);
}

/* The range of by_id with identity id: [*lo, *hi). */
static void id_range(const struct journal *jr, const char *id, size_t *lo, size_t *hi)
{
	size_t a = 0, b = jr->nentries;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		if (strcmp(jr->entries[jr->by_id[m]].identity, id) < 0)
			a = m + 1;
		else
			b = m;
	}
	*lo = a;
	while (b < jr->nentries && !strcmp(jr->entries[jr->by_id[b]].identity, id))
		b++;
	*hi = b < a ? a : b;
}

const struct journal_entry *journal_find_ok(const struct journal *jr, const char *id,
					    const char *name)
{
	/* the latest line only: a later attempt or session that failed
	 * means the job runs again (an ok one of before does not count) */
	const struct journal_entry *e = journal_find(jr, id, name);
	return e && !strcmp(e->status, "ok") ? e : NULL;
}

const struct journal_entry *journal_find(const struct journal *jr, const char *id,
					 const char *name)
{
	size_t lo, hi;
	id_range(jr, id, &lo, &hi);
	/* a line of another name is not this job's, whatever its identity
	 * says (a damaged or made-up line) */
	for (size_t k = hi; k > lo; k--) {
		const struct journal_entry *e = &jr->entries[jr->by_id[k - 1]];
		if (!strcmp(e->name, name))
			return e;
	}
	return NULL;
}

const char *journal_why_run(const struct journal *jr, const char *name, const char *id,
			    char buf[64])
{
	if (journal_find_ok(jr, id, name))
		return NULL;
	const struct journal_entry *e = journal_find(jr, id, name);
	if (e) {
		snprintf(buf, 64, "last record: %.40s", e->status);
		return buf;
	}
	/* a job of that name, known under another identity */
	const size_t *k = strmap_get(&jr->head_names, name);
	if (k && (jr->name_ids_differ[*k] || strcmp(jr->name_id[*k], id)))
		return "changed since the journal";
	return "no record";
}

/* -------------------------------------------------------------- writing */

void journal_new_key(unsigned char key[JOURNAL_KEY_BYTES])
{
	size_t got = 0;
	while (got < JOURNAL_KEY_BYTES) {
		ssize_t n = getrandom(key + got, JOURNAL_KEY_BYTES - got, 0);
		if (n > 0)
			got += (size_t)n;
		else if (errno != EINTR)
			break;
	}
	if (got < JOURNAL_KEY_BYTES) {
		/* no getrandom: the key only has to be unguessable in advance */
		uint64_t x = (uint64_t)now_ms() * 1000003u ^ (uint64_t)getpid() << 32;
		for (size_t i = got; i < JOURNAL_KEY_BYTES; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			key[i] = (unsigned char)(x >> 56);
		}
	}
}

static void fsync_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = !slash ? xstrdup(".") : slash == path ? xstrdup("/")
		    : xstrndup(path, (size_t)(slash - path));
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	free(dir);
}

int journal_open(struct journal_writer *w, const char *path, bool create, char **why)
{
	memset(w, 0, sizeof *w);
	w->fd = -1;
	struct stat st;
	bool existed = stat(path, &st) == 0;
	/* O_RDWR: the journal is read through the fd it is locked by, so
	 * that what is read is what is appended to */
	int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NONBLOCK | (create ? O_CREAT : 0),
		      0600);
	int err = fd < 0 ? errno : fstat(fd, &st) < 0 ? errno : 0;
	if (err || !S_ISREG(st.st_mode)) {
		/* (errno is stale when both calls worked: the stat above) */
		*why = xasprintf("%s: %s", path, err ? strerror(err) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* one run at a time: a second one appending (and cutting the file
	 * to what it read at its start) would lose the first one's lines */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		*why = errno == EWOULDBLOCK ? xasprintf("%s: in use by another run", path)
		       : xasprintf("%s: locking: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, O_APPEND);
	if (create && !existed)
		fsync_dir_of(path);
	w->fd = fd;
	w->path = xstrdup(path);
	return 0;
}

int journal_read_open(const struct journal_writer *w, struct journal *jr, char **why)
{
	return read_fd(w->fd, w->path, jr, why);
}

int journal_cut(struct journal_writer *w, const struct journal *jr, char **why)
{
	struct stat st;
	if (fstat(w->fd, &st) < 0) {
		*why = xasprintf("%s: %s", w->path, strerror(errno));
		return -1;
	}
	/* its header holds the key of the identities of secret jobs */
	if ((st.st_mode & 077) && fchmod(w->fd, st.st_mode & 0700) < 0) {
		*why = xasprintf("%s: making it private (mode 0600): %s", w->path, strerror(errno));
		return -1;
	}
	/* a torn or damaged tail goes, so that it never ends up between
	 * whole lines */
	if (st.st_size > jr->valid && ftruncate(w->fd, jr->valid) < 0) {
		*why = xasprintf("%s: cutting a torn last line: %s", w->path, strerror(errno));
		return -1;
	}
	w->size = jr->valid;
	return 0;
}

/* The line in w->line, with one write(2); on failure the file is cut
 * back to its last whole line and the journal stops. */
int journal_put_line(struct journal_writer *w)
{
	if (w->fd < 0 || w->err) {
		w->line.len = 0;
		return -1;
	}
	buf_addch(&w->line, '\n');
	const char *p = w->line.p;
	size_t n = w->line.len;
	while (n) {
		ssize_t k = write(w->fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			w->err = k < 0 ? errno : EIO;
			if (ftruncate(w->fd, w->size) < 0) {
				/* the torn line stays; the reader ignores what
				 * follows it */
			}
			w->line.len = 0;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	w->size += (off_t)w->line.len;
	w->line.len = 0;
	w->wrote = true;
	if (!w->unsynced++)
		w->first_unsynced = now_ms();
	journal_sync_due(w, false);
	return 0;
}

int journal_write_head(struct journal_writer *w, const struct journal_head *h,
		       const unsigned char key[JOURNAL_KEY_BYTES])
{
	struct jw jw;
	char x[2 * JOURNAL_KEY_BYTES + 1];
	w->line.len = 0;
	jw_init(&jw, buf_sink_write, &w->line, false);
	jw_obj(&jw, false);
	jw_kstr(&jw, "journal", "piperun");   /* HEAD_PREFIX */
	jw_kint(&jw, "format", JOURNAL_FORMAT);
	jw_kstr(&jw, "piperun", PACKAGE_VERSION);
	jw_kstr(&jw, "spec", h->spec_path);
	hex_encode(h->spec_sha256, 32, x);
	jw_kstr(&jw, "spec_sha256", x);
	jw_kstr(&jw, "plan_sha256", h->plan);
	jw_kstr(&jw, "started_at", h->started_at);
	hex_encode(key, JOURNAL_KEY_BYTES, x);
	jw_kstr(&jw, "key", x);
	jw_kbool(&jw, "resume", h->resume);
	jw_key(&jw, "run");
	jw_obj(&jw, true);
	jw_kstr(&jw, "name", h->spec->name);
	jw_kstr(&jw, "mode", spec_run_mode_name(h->spec->mode));
	jw_kint(&jw, "max_parallel", h->max_parallel);
	jw_kstr(&jw, "containment", h->containment);
	jw_obj_end(&jw);
	jw_key(&jw, "jobs");
	jw_arr(&jw, false);
	for (size_t i = 0; i < h->spec->njobs; i++) {
		bool held;
		const struct job_spec *j = spec_job_peek(h->spec, i, &held);
		jw_obj(&jw, true);
		char *name = spec_redact(j, j->name);
		spec_job_unpeek(h->spec, i, held);
		jw_kstr(&jw, "name", name);
		free(name);
		jw_kstr(&jw, "identity", h->ids[i]);
		jw_obj_end(&jw);
	}
	jw_arr_end(&jw);
	jw_obj_end(&jw);
	return journal_put_line(w);
}

void journal_line_begin(struct journal_writer *w, struct jw *jw, const char *id, size_t index)
{
	w->line.len = 0;
	jw_init(jw, buf_sink_write, &w->line, false);
	jw_obj(jw, false);
	jw_kstr(jw, "identity", id);
	jw_kint(jw, "index", (int64_t)index);
}

int journal_write_job(struct journal_writer *w, const struct job *j, const char *id)
{
	struct jw jw;
	journal_line_begin(w, &jw, id, j->index);
	jw_key(&jw, "job");   /* JOB_KEY: the record is the rest of the line */
	report_job(&jw, j);
	jw_obj_end(&jw);
	return journal_put_line(w);
}

/* The syncer: fdatasync whenever asked, off the run's loop, so that a
 * slow disk never holds up the starts of jobs. */
static void *syncer_main(void *arg)
{
	struct journal_writer *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->sync_asked && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->sync_asked)
			break;   /* stopping, nothing asked */
		w->sync_asked = false;
		pthread_mutex_unlock(&w->mu);
		int rc = fdatasync(w->fd);
		int err = errno;
		pthread_mutex_lock(&w->mu);
		if (rc < 0 && !w->sync_err)
			w->sync_err = err;
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Ask the syncer for a sync (started the first time); false when no
 * thread could be had (the caller syncs itself). */
static bool syncer_ask(struct journal_writer *w)
{
	if (!w->syncer_on) {
		pthread_mutex_init(&w->mu, NULL);
		pthread_cond_init(&w->cv, NULL);
		if (pthread_create(&w->syncer, NULL, syncer_main, w) != 0) {
			pthread_cond_destroy(&w->cv);
			pthread_mutex_destroy(&w->mu);
			return false;
		}
		w->syncer_on = true;
	}
	pthread_mutex_lock(&w->mu);
	w->sync_asked = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return true;
}

static void syncer_stop(struct journal_writer *w)
{
	if (!w->syncer_on)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->syncer, NULL);
	if (w->sync_err && !w->err)
		w->err = w->sync_err;
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	w->syncer_on = false;
}

double journal_sync_due(struct journal_writer *w, bool force)
{
	if (!w->unsynced || w->fd < 0)
		return -1;
	double t = now_ms();
	if (!force && t - w->first_unsynced < JOURNAL_SYNC_MS)
		return w->first_unsynced + JOURNAL_SYNC_MS - t;
	w->unsynced = 0;
	if (force || !syncer_ask(w)) {
		if (fdatasync(w->fd) < 0 && !w->err)
			w->err = errno;
	}
	return -1;
}

int journal_close(struct journal_writer *w)
{
	if (w->fd >= 0) {
		/* the syncer's last sync may have begun before the last lines:
		 * one more, here, covers them all */
		syncer_stop(w);
		if (w->wrote && fdatasync(w->fd) < 0 && !w->err)
			w->err = errno;
		close(w->fd);
		w->fd = -1;
	}
	buf_free(&w->line);
	free(w->path);
	w->path = NULL;
	if (w->err) {
		errno = w->err;
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------- resuming */

int journal_entry_stdout(const struct journal_entry *e, char **out, size_t *len)
{
	struct cJSON *v = jv_parse(e->record, e->record_len);
	const char *text = jv_str(jv_get(v, "stdout"));
	const char *enc = jv_str(jv_get(v, "stdout_encoding"));
	long long bytes = num_in(jv_get(v, "stdout_bytes"), 0, 1e15, -1);
	int rc = -1;
	*out = NULL;
	*len = 0;
	if (text && enc && bytes >= 0 && !jv_is_true(jv_get(v, "stdout_truncated")) &&
	    !jv_is_true(jv_get(v, "stdout_lossy"))) {
		unsigned char *b = NULL;
		size_t n = 0;
		if (!strcmp(enc, "base64") && b64_decode(text, strlen(text), &b, &n) == 0) {
			*out = (char *)b;
		} else if (!strcmp(enc, "utf-8")) {
			/* from the token: text, a C string, ends at a \u0000 */
			*out = spec_json_member_bytes(e->record, e->record_len, "stdout", &n);
		}
		*len = n;
		rc = *out && (long long)n == bytes ? 0 : -1;
		if (rc < 0) {
			free(*out);
			*out = NULL;
			*len = 0;
		}
	}
	jv_free(v);
	return rc;
}

/* Does a restored source's record hold its output whole?  (memo: 0 not
 * known yet, 1 yes, 2 no) */
static bool output_kept(const struct journal_entry *e, unsigned char *memo)
{
	if (!*memo) {
		char *out;
		size_t len;
		*memo = journal_entry_stdout(e, &out, &len) == 0 ? 1 : 2;
		free(out);
	}
	return *memo == 1;
}

size_t journal_restorable(const struct spec *s, const struct journal *jr, const journal_id *ids,
			  const struct journal_entry **ok, bool *feeds)
{
	unsigned char *memo = xcalloc(s->njobs ? s->njobs : 1, 1);
	for (size_t i = 0; i < s->njobs; i++) {
		/* named as the journal names it (secrets redacted) */
		bool held;
		const struct job_spec *j = spec_job_peek(s, i, &held);
		char *name = spec_redact(j, j->name);
		spec_job_unpeek(s, i, held);
		ok[i] = journal_find_ok(jr, ids[i], name);
		free(name);
	}
	/* a job that runs again reads its stdin.from / items.from source's
	 * output: from the source's record when it holds it whole, else the
	 * source runs again too (and so on up the chain) */
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t i = 0; i < s->njobs; i++) {
			bool held;
			const struct job_spec *j = spec_job_peek(s, i, &held);
			bool from = j->in.kind == IN_FROM;
			size_t f = j->in.from_idx;
			spec_job_unpeek(s, i, held);
			if (!ok[i] && from && ok[f] && !output_kept(ok[f], &memo[f])) {
				ok[f] = NULL;
				changed = true;
			}
		}
	}
	size_t n = 0;
	for (size_t i = 0; i < s->njobs; i++) {
		bool held;
		const struct job_spec *j = spec_job_peek(s, i, &held);
		if (feeds && !ok[i] && j->in.kind == IN_FROM && ok[j->in.from_idx])
			feeds[j->in.from_idx] = true;
		spec_job_unpeek(s, i, held);
		n += ok[i] != NULL;
	}
	free(memo);
	return n;
}
