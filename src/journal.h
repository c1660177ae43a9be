/* SPDX-License-Identifier: GPL-3.0-or-later */
/* journal.h - the crash-safe journal of a run (--journal, --resume,
 * `piperun journal`): its file format (JSON lines, format version
 * JOURNAL_FORMAT, man/piperun.1 JOURNAL), the identity of a job, the
 * writer (one write(2) per line on an O_APPEND fd, fdatasync batched)
 * and the reader (a torn last line is ignored, never misread).
 *
 * A journal is one or more sessions, each a header line then a line per
 * job attempt that ended (a retried job: one per attempt, the last its
 * end):
 *   {"journal":"piperun","format":2,"piperun":VER,"spec":PATH,
 *    "spec_sha256":HEX,"plan_sha256":HEX,"started_at":ISO,"key":HEX,
 *    "resume":BOOL,"run":{"name","mode","max_parallel","containment"},
 *    "jobs":[{"name":NAME,"identity":HEX},...]}
 *   {"identity":HEX,"index":I,"job":{the job's record, as in results}}
 * and, from format 2 on, a line per batch of items a steps job sank
 * (journal-items.c):
 *   {"identity":HEX,"index":I,"name":NAME,"sunk":[[SEQ,"IH","B64"],...]}
 * Every session of one file shares the first session's key. */
#ifndef PIPERUN_JOURNAL_H
#define PIPERUN_JOURNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "job.h"
#include "spec.h"
#include "strmap.h"

struct cJSON;

#define JOURNAL_FORMAT 2    /* reads 1 too (no item lines) */
#define JOURNAL_KEY_BYTES 32
/* how long a line written may stay only in the page cache before a sync
 * is asked: a power loss can cost the lines of the jobs that ended in the
 * last this many ms, plus a sync's time (a crash of piperun itself costs
 * nothing written) */
#define JOURNAL_SYNC_MS 100.0

typedef char journal_id[65];   /* an identity: 64 hex digits */

/* ------------------------------------------------------------ identity */

/* Every job's identity (ids[i] for s->jobs[i]): SHA-256 of a canonical
 * encoding of what the spec says the job does (its name, kind, argv or
 * script, the env it declares, cwd, stdin, stdout/stderr routing,
 * expect, pipefail, umask, rlimits, steps, and the identity of the job
 * feeding it through stdin.from / items.from); for a job with
 * secret_env names, HMAC-SHA256 under key instead, so that no secret
 * value enters an identity but through a keyed hash.  plan: SHA-256 of
 * all of them in order. */
void journal_identities(const struct spec *s, const unsigned char key[JOURNAL_KEY_BYTES],
			journal_id *ids, journal_id plan);
/* HMAC-SHA256 (RFC 2104); out: 32 bytes. */
void journal_hmac(const unsigned char *key, size_t keylen, const void *msg, size_t n,
		  unsigned char out[32]);

/* -------------------------------------------------------------- reading */

struct journal_entry {
	journal_id identity;
	size_t index;
	size_t session;
	char *name;
	char *status;         /* the record's "status" */
	bool has_rc;
	int returncode;
	int attempts;
	double started_ms, duration_ms;
	char *error;          /* NULL */
	char *record;         /* the job object, as JSON text */
	size_t record_len;
};

struct journal_session {
	char *piperun, *spec, *spec_sha256, *plan_sha256, *started_at;
	char *run_name, *mode, *containment;
	long max_parallel;
	bool resume;
	char **names;          /* the jobs, spec order */
	journal_id *ids;
	size_t njobs;
	size_t first, nentries; /* its entries */
};

/* An item a steps job sank: its index, its input's hash, its output
 * (base64, in the journal's text). */
struct journal_item {
	uint64_t seq, ih;
	const char *b64;
	size_t b64_len;
	size_t line;           /* its journal_sunk_line */
};
struct journal_sunk_line {
	journal_id identity;
	char *name;
};

struct journal {
	unsigned char key[JOURNAL_KEY_BYTES];
	const char *text;                /* what was parsed: the items point
					    into it */
	char *owned_text;                /* journal_read's copy, or NULL */
	struct journal_item *sunk;       /* file order */
	size_t nsunk, sunk_cap;
	size_t *sunk_order;              /* by job (identity, name), index,
					    latest first */
	struct journal_sunk_line *sunk_lines;
	size_t nsunk_lines, sunk_lines_cap;
	struct journal_session *sessions;
	size_t nsessions;
	struct journal_entry *entries;   /* file order */
	size_t nentries;
	size_t *by_id;         /* entries sorted by identity, then file order */
	off_t valid;           /* bytes up to the end of the last line read */
	off_t ignored;         /* bytes after it: a torn or damaged tail */
	/* the names in the sessions' headers: head_names maps one to its
	 * slot in name_id (the identity it first had) and name_ids_differ
	 * (it had another one too): journal_why_run, without a scan */
	struct strmap head_names;
	const char **name_id;
	bool *name_ids_differ;
	size_t damaged_line;   /* the whole line (1-based) the journal ends
				  before, not a journal line; 0: none (at
				  most a torn last line was ignored) */
};

/* Parse a journal's text (jr points into it: keep it until
 * journal_free).  A last line without its newline (a torn
 * write) is ignored, and so is everything from the first line that is
 * not a journal line on (a tail damaged by a power loss), counted in
 * ignored; no record is ever made up from it.  Empty text (or a torn
 * first header) is an empty journal.  Returns -1 with *why (malloc'd)
 * when the text is not a piperun journal or of a format this piperun
 * does not read. */
int journal_parse(const char *text, size_t len, struct journal *jr, char **why);
/* Read the file at path (journal_parse).  -1 with *why as
 * "PATH: reason". */
int journal_read(const char *path, struct journal *jr, char **why);
void journal_free(struct journal *jr);
/* The latest entry of identity id and job name name (as the journal
 * has it: secrets redacted; a line of another name is no record of the
 * job) when its status is ok (what --resume restores), else NULL. */
const struct journal_entry *journal_find_ok(const struct journal *jr, const char *id,
					    const char *name);
/* The latest entry of identity id and job name name, or NULL. */
const struct journal_entry *journal_find(const struct journal *jr, const char *id,
					 const char *name);
/* Why a job (name, id) runs again on resume, or NULL when it is
 * restored (its latest entry is ok): "no record", "last record: failed",
 * "changed since the journal" (a job of that name under another
 * identity in a session's header); buf may hold the answer. */
const char *journal_why_run(const struct journal *jr, const char *name, const char *id,
			    char buf[64]);

/* What --resume restores: ok[i], the entry job i is restored from, or
 * NULL when it runs again (no ok record; or it feeds, through
 * stdin.from / items.from, a job that runs again and its record does
 * not hold its output whole: journal_entry_stdout).  feeds (NULL, or
 * false-filled): set for the restored jobs whose output a job that runs
 * needs.  Returns how many are restored. */
size_t journal_restorable(const struct spec *s, const struct journal *jr, const journal_id *ids,
			  const struct journal_entry **ok, bool *feeds);
/* The items the steps job (name, id) sank, in every session: "SEQ IH
 * B64" lines by SEQ (the latest line's where one was sunk twice),
 * appended to out, as its host takes them on resume (steps.h).  Returns
 * how many. */
size_t journal_sunk(const struct journal *jr, const char *id, const char *name, struct buf *out);
/* journal.c's reader: an items line (v, parsed from text, n bytes), 1,
 * or 0 when it is not one; the index journal_sunk uses, made once all is
 * read; journal_free's part. */
int journal_read_items(struct journal *jr, const struct cJSON *v, const char *text, size_t n);
/* Does raw (n bytes; at_start: at its start) hold before, s as the
 * writer writes a JSON string, after?  (A string read back through
 * cJSON ends at a \u0000: the line's own bytes say what it was.) */
bool journal_raw_member(const char *raw, size_t n, bool at_start, const char *before,
			const char *s, const char *after);
void journal_items_index(struct journal *jr);
void journal_items_free(struct journal *jr);

/* The stdout bytes an entry's record holds, when it holds them whole
 * (captured, not truncated, not lossy, decoded to stdout_bytes bytes):
 * 0 and *out (malloc'd, *len bytes), else -1. */
int journal_entry_stdout(const struct journal_entry *e, char **out, size_t *len);

/* -------------------------------------------------------------- writing */

struct journal_writer {
	char *path;
	int fd;                /* -1: none */
	int err;               /* sticky errno */
	off_t size;            /* bytes written whole */
	size_t unsynced;       /* lines since the last sync was asked */
	double first_unsynced; /* now_ms() of the oldest of them */
	bool wrote;            /* a line since journal_open */
	struct buf line;
	/* the syncer thread, started at the first sync due: fdatasync off
	 * the run's loop (a slow disk never holds up job starts) */
	pthread_t syncer;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool syncer_on;
	bool sync_asked, stopping;   /* under mu */
	int sync_err;                /* under mu: the first failed sync */
};

/* What a session's header says. */
struct journal_head {
	const struct spec *spec;
	const char *spec_path;
	const unsigned char *spec_sha256;   /* 32 bytes */
	const journal_id *ids;
	const char *plan;
	const char *started_at;
	long max_parallel;
	const char *containment;
	bool resume;
};

/* Open path to append to (made, mode 0600, when missing and create)
 * and lock it (flock LOCK_EX, not waiting) as long as it is open, so
 * that one run at a time appends; -1 with *why ("PATH: in use by
 * another run" when another holds it). */
int journal_open(struct journal_writer *w, const char *path, bool create, char **why);
/* Read the journal open in w (journal_read). */
int journal_read_open(const struct journal_writer *w, struct journal *jr, char **why);
/* Before appending to the journal read (jr): made private (mode 0600,
 * when group or others had some permission: its header holds the key)
 * and cut to its last complete line (jr->valid).  -1 with *why. */
int journal_cut(struct journal_writer *w, const struct journal *jr, char **why);
/* A fresh random key (getrandom). */
void journal_new_key(unsigned char key[JOURNAL_KEY_BYTES]);
/* The lines: one write each; -1 once the journal cannot be written
 * (w->err: sticky; the file is cut back to its last whole line). */
int journal_write_head(struct journal_writer *w, const struct journal_head *h,
		       const unsigned char key[JOURNAL_KEY_BYTES]);
int journal_write_job(struct journal_writer *w, const struct job *j, const char *id);
/* A batch of items the steps job j sank: its host's "S SEQ IH B64" lines
 * (steps.h), one journal line. */
int journal_write_items(struct journal_writer *w, const struct job *j, const char *id,
			const char *lines, size_t n);
/* A job or items line begun in w->line: {"identity":ID,"index":I (the
 * writers' common start). */
struct jw;
void journal_line_begin(struct journal_writer *w, struct jw *jw, const char *id, size_t index);
/* w->line, with its newline, in one write (the writers' common end). */
int journal_put_line(struct journal_writer *w);
/* A sync when the oldest line not yet synced is JOURNAL_SYNC_MS old:
 * asked of the syncer thread (which runs fdatasync while the caller
 * goes on; it syncs itself when no thread can be had), or, force, done
 * now.  Returns how long (ms) until it must be called again, -1
 * for never (nothing unsynced). */
double journal_sync_due(struct journal_writer *w, bool force);
/* Stop the syncer, sync and close; -1 with errno (w->err) when a write
 * or a sync failed. */
int journal_close(struct journal_writer *w);

#endif
