/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-run.c - `piperun run`: load a spec, run its jobs, print results. */
#include "config.h"
#include "afile.h"
#include "aside.h"
#include "cmd.h"
#include "journal.h"
#include "jsonw.h"
#include "live.h"
#include "report.h"
#include "runner.h"
#include "sha256.h"
#include "signals.h"
#include "slurm.h"
#include "kind.h"
#include "proc.h"
#include "spec.h"
#include "trace.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum output { OUT_JSON, OUT_JSONL, OUT_TEXT, OUT_NONE };

/* Where results go while the run goes on.  JSONL records are written
 * and their jobs released as they end.  The JSON document streams too, in
 * spec order, as soon as every earlier job is done, unless some job
 * inherits our stdout (its output comes first, the document after): then
 * it waits for the end and keeps every record.  While the results use
 * stdout, tee and --tag lines go to stderr (CONTRACT §8.1). */
struct run_cli {
	bool seen[256];            /* options given (cmd_once) */
	enum output output;
	const char *results;
	struct fd_sink *out;       /* stdout */
	struct jw jw_out;
	struct fd_sink *res_sink;  /* --results FILE */
	struct jw jw_res;
	const struct spec *spec;
	struct run_result *res;
	bool stream_out;           /* the JSON document to stdout, as jobs end */
	bool release;              /* records can be freed once written */
	/* A JSON document's records that cannot go out yet (an earlier job
	 * still runs; the document waits for the end) wait aside, in a
	 * temporary file, their jobs' memory let go (aside.h). */
	struct aside aside;
	int aside_err;             /* a record aside lost: an errno value */
	bool begun;
	bool *done;
	size_t next;
	/* Records of jobs that ended wait for the loop to go idle (every job
	 * that could start has: a record is not in the way of the next
	 * spawn), and the sinks are flushed at most RUN_FLUSH_MS after the
	 * first record in them; unless some job's output reaches our
	 * stdout or stderr, where a record must come right after its job. */
	bool deferred;
	size_t *pending;           /* ended, in completion order */
	size_t npending, pending_cap;
	double unflushed_since;    /* now_ms() of the oldest unflushed record; 0 */
	/* --journal FILE (or the spec's "journal"), --resume FILE */
	const char *journal_opt, *resume;
	struct journal_writer *journal;  /* NULL: none */
	journal_id *ids;                 /* every job's identity */
	journal_id plan;
	unsigned char key[JOURNAL_KEY_BYTES];
	unsigned char spec_sha[32];
	struct job_restored **restored;  /* --resume: per job, or NULL */
	struct buf *sunk_before;         /* --resume: per job, a steps job's
					    items sunk before (journal_sunk) */
	struct slurm_alloc *alloc;       /* --executor slurm: the allocation */
	const char *trace_path;          /* --trace FILE */
	struct trace *trace;             /* NULL: none */
};
#define RUN_FLUSH_MS 10.0

static void on_start(struct run_result *res, void *ctx)
{
	struct run_cli *c = ctx;
	c->res = res;
	c->done = xcalloc(res->njobs ? res->njobs : 1, sizeof *c->done);
	if (c->trace)
		trace_started(c->trace, res);
	if (c->journal) {
		struct journal_head h = {
			.spec = c->spec, .spec_path = c->spec->file, .spec_sha256 = c->spec_sha,
			.ids = (const journal_id *)c->ids, .plan = c->plan,
			.started_at = res->started_at, .max_parallel = res->limit,
			.containment = contain_mode_name(res->containment),
			.resume = c->resume != NULL,
		};
		journal_write_head(c->journal, &h, c->key);
	}
}

/* Job i's record aside, its job's memory let go.  Where there is no
 * temporary file to be had, or it failed, the job keeps its record, as
 * it did before there was one (those already aside are lost then: their
 * splice says so). */
static void put_aside(struct run_cli *c, size_t i)
{
	struct jw *w = aside_writer(&c->aside, i);
	if (!w)
		return;
	report_job(w, &c->res->jobs[i]);
	if (aside_put(&c->aside, i) == 0)
		job_release(&c->res->jobs[i], c->spec);
}

/* Record i into the documents being written as jobs end (the
 * writers to), from where it waits or from its job. */
static void emit_record(struct run_cli *c, size_t i, struct jw *const *to, size_t n)
{
	struct job *j = &c->res->jobs[i];
	if (aside_has(&c->aside, i)) {
		if (aside_splice(&c->aside, i, to, n) < 0)
			c->aside_err = c->aside.err;
		return;
	}
	for (size_t k = 0; k < n; k++)
		report_job(to[k], j);
	if (c->release)
		job_release(j, c->spec);
}

/* Write the records that are next in spec order. */
static void emit_ready(struct run_cli *c)
{
	while (c->next < c->res->njobs && c->done[c->next]) {
		size_t i = c->next++;
		if (!c->begun) {
			if (c->stream_out)
				report_doc_begin(&c->jw_out, c->spec, c->res->started_at,
						 c->res->limit, c->res->containment);
			if (c->res_sink)
				report_doc_begin(&c->jw_res, c->spec, c->res->started_at,
						 c->res->limit, c->res->containment);
			c->begun = true;
		}
		struct jw *to[2];
		size_t n = 0;
		if (c->stream_out)
			to[n++] = &c->jw_out;
		if (c->res_sink)
			to[n++] = &c->jw_res;
		emit_record(c, i, to, n);
	}
}

/* What the sinks say so far: a reader gone, or an error for good. */
static enum results_state sinks_state(const struct run_cli *c)
{
	if (c->out->err == EPIPE)
		return RESULTS_CLOSED;
	return c->out->err || (c->res_sink && c->res_sink->err) || c->aside_err ||
	       (c->journal && c->journal->err) ? RESULTS_FAILED : RESULTS_OK;
}

static void sinks_flush(struct run_cli *c)
{
	if (c->output != OUT_NONE)
		fd_sink_flush(c->out);
	if (c->res_sink)
		fd_sink_flush(c->res_sink);
	c->unflushed_since = 0;
}

/* The records of jobs that ended, into the sinks (not flushed). */
static void write_ended(struct run_cli *c, const size_t *idx, size_t n)
{
	for (size_t i = 0; c->output == OUT_JSONL && i < n; i++) {
		report_job(&c->jw_out, &c->res->jobs[idx[i]]);
		jw_newline(&c->jw_out);
	}
	/* the document on stdout waits for the end: every record aside */
	for (size_t i = 0; c->output == OUT_JSON && !c->stream_out && i < n; i++)
		put_aside(c, idx[i]);
	if (c->stream_out || c->res_sink) {
		emit_ready(c);
		/* those behind a job that has not ended wait aside */
		for (size_t i = 0; i < n; i++)
			if (idx[i] >= c->next && !aside_has(&c->aside, idx[i]))
				put_aside(c, idx[i]);
	} else {
		for (size_t i = 0; c->release && i < n; i++)
			job_release(&c->res->jobs[idx[i]], c->spec);
	}
}

/* Records go out as jobs end: one record per line, `| jq` sees them live.
 * Once stdout's reader is gone (`| head -1`) the run stops as if by
 * SIGPIPE; once stdout or --results cannot take them otherwise (a full
 * disk), it stops with exit 3. */
static enum results_state on_done(const struct job *jc, void *ctx)
{
	struct run_cli *c = ctx;
	size_t idx = jc->index;
	c->done[idx] = true;
	if (c->trace) /* before its record lets go of its stages */
		trace_attempt(c->trace, jc, false);
	/* journaled first: as soon as it is written whole, a crash cannot
	 * cost it (journal.h) */
	if (c->journal)
		journal_write_job(c->journal, jc, c->ids[idx]);
	if (c->deferred) {
		xgrow(&c->pending, &c->pending_cap, c->npending + 1, sizeof *c->pending);
		c->pending[c->npending++] = idx;
		return sinks_state(c);
	}
	write_ended(c, &idx, 1);
	sinks_flush(c);
	return sinks_state(c);
}

/* An attempt ended and the job will retry: journaled too (a line per
 * attempt; the job's last is its end's, on_done). */
static void on_attempt(const struct job *j, void *ctx)
{
	struct run_cli *c = ctx;
	if (c->journal)
		journal_write_job(c->journal, j, c->ids[j->index]);
	if (c->trace)
		trace_attempt(c->trace, j, true);
}

/* A steps job sank items: journaled at once, as job lines are. */
static void on_items(const struct job *j, const char *lines, size_t n, void *ctx)
{
	struct run_cli *c = ctx;
	journal_write_items(c->journal, j, c->ids[j->index], lines, n);
}

/* The loop goes idle: the records that waited go into the sinks, which
 * are flushed once their oldest record is RUN_FLUSH_MS old (one write
 * for a burst of short jobs, not one each).  Returns how long the loop
 * may wait before that. */
static double on_idle(void *ctx, enum results_state *rs)
{
	struct run_cli *c = ctx;
	double wait = -1;
	if (c->trace)
		trace_idle(c->trace);
	if (c->npending) {
		write_ended(c, c->pending, c->npending);
		c->npending = 0;
		if (!c->unflushed_since)
			c->unflushed_since = now_ms();
	}
	if (c->unflushed_since) {
		wait = c->unflushed_since + RUN_FLUSH_MS - now_ms();
		if (wait <= 0) {
			sinks_flush(c);
			wait = -1;
		}
	}
	if (c->journal) {
		double jwait = journal_sync_due(c->journal, false);
		if (jwait >= 0 && (wait < 0 || jwait < wait))
			wait = jwait;
	}
	*rs = sinks_state(c);
	return wait;
}

/* Does some job hold piperun's own stdout (inherit, untagged)?  Its
 * output comes before the JSON document then. */
static bool inherits_stdout(const struct spec *s, bool tag)
{
	for (size_t t = 0; !tag && t < spec_ntemplates(s); t++) {
		const struct job_spec *j = spec_template_job(s, t);
		if (j && j->out.mode == IO_INHERIT)
			return true;
	}
	return false;
}

/* With no results on stdout: does piperun copy some job's output there
 * (tee; with --tag, every stdout it reads but a pool job's results)? */
static bool copies_to_stdout(const struct spec *s, bool tag)
{
	for (size_t t = 0; t < spec_ntemplates(s); t++) {
		const struct job_spec *j = spec_template_job(s, t);
		if (j && job_stream_live(j, &j->out, tag))
			return true;
	}
	return false;
}

/* Does some job's output reach piperun's stdout or stderr (inherit, tee,
 * --tag lines)?  Then each record comes out as its job ends, before the
 * next job's output can. */
static bool output_shared(const struct spec *s, bool tag)
{
	if (tag)
		return true;
	for (size_t t = 0; t < spec_ntemplates(s); t++) {
		const struct job_spec *j = spec_template_job(s, t);
		if (!j)
			continue;
		if (j->out.mode == IO_INHERIT || j->out.mode == IO_TEE ||
		    j->err.mode == IO_INHERIT || j->err.mode == IO_TEE)
			return true;
		for (size_t k = 0; k < j->nstages; k++)
			if (j->stages[k].has_err && (j->stages[k].err.mode == IO_INHERIT ||
						     j->stages[k].err.mode == IO_TEE))
				return true;
	}
	return false;
}

/* What the command line asks for, beyond the results' destination. */
struct run_opts {
	long max_parallel, fail_fast;   /* -1: the spec's */
	int mode;                       /* -1: the spec's */
	double timeout;                 /* -1: the spec's */
	enum progress_when progress;
	bool tag, timestamps, quiet;
	int executor;                   /* EXEC_LOCAL, EXEC_SLURM */
	double slurm_wait;              /* --slurm-wait; -1: the default */
	char **only;                    /* --only NAME..., argv's strings */
	size_t nonly, only_cap;
};

enum { EXEC_LOCAL, EXEC_SLURM };

/* Row order is the order of the names in the usage messages. */
static const struct enum_name executor_choices[] = {
	{ EXEC_LOCAL, "local" }, { EXEC_SLURM, "slurm" },
};
static const struct enum_name output_choices[] = {
	{ OUT_JSON, "json" }, { OUT_JSONL, "jsonl" }, { OUT_TEXT, "text" }, { OUT_NONE, "none" },
};
static const struct enum_name progress_choices[] = {
	{ PROGRESS_AUTO, "auto" }, { PROGRESS_ALWAYS, "always" }, { PROGRESS_NEVER, "never" },
};

/* One option of `piperun run`: returns -1 to go on, else the exit
 * status. */
static int run_option(int c, char **argv, struct run_opts *o, struct run_cli *cli)
{
	/* the options that take one value: given twice is an error
	 * (--only adds up) */
	static const char *const once[128] = {
		['j'] = "-j/--max-parallel", ['m'] = "--mode", ['t'] = "--timeout",
		['E'] = "--executor", ['W'] = "--slurm-wait", ['o'] = "-o/--output",
		['r'] = "--results", ['J'] = "--journal", ['R'] = "--resume",
		['P'] = "--progress", ['X'] = "--trace",
	};
	const struct cmd_entry *self = &cmd_run_entry;
	int64_t v;
	int pick;
	if (c > 0 && c < 128 && once[c] && cmd_once(self, cli->seen, c, once[c]) < 0)
		return EXIT_USAGE;
	switch (c) {
	case 'j':
		if (cmd_int_range(self, "-j/--max-parallel", optarg, 0, 1000000,
				  " (0: as many as the limits allow)", &v) < 0)
			return EXIT_USAGE;
		o->max_parallel = (long)v;
		return -1;
	case 'm': {
		size_t n;
		const struct enum_name *t = spec_run_mode_table(&n);
		return cmd_choose(self, "--mode", t, n, optarg, &o->mode) < 0 ? EXIT_USAGE : -1;
	}
	case 't':
		return cmd_duration(self, "--timeout", optarg, &o->timeout) < 0 ? EXIT_USAGE : -1;
	case 'F':
		o->fail_fast = 1;
		return -1;
	case 'E':
		return CMD_CHOOSE(self, "--executor", executor_choices, optarg, &o->executor) < 0
		       ? EXIT_USAGE : -1;
	case 'W':
		return cmd_duration(self, "--slurm-wait", optarg, &o->slurm_wait) < 0 ? EXIT_USAGE
		       : -1;
	case 'o':
		if (CMD_CHOOSE(self, "--output", output_choices, optarg, &pick) < 0)
			return EXIT_USAGE;
		cli->output = (enum output)pick;
		return -1;
	case 'r':
		cli->results = optarg;
		return -1;
	case 'J':
		cli->journal_opt = optarg;
		return -1;
	case 'X':
		cli->trace_path = optarg;
		return -1;
	case 'R':
		cli->resume = optarg;
		return -1;
	case 'O':
		xgrow(&o->only, &o->only_cap, o->nonly + 1, sizeof *o->only);
		o->only[o->nonly++] = optarg;
		return -1;
	case 'q':
		o->quiet = true;
		return -1;
	case 'T':
		o->tag = true;
		return -1;
	case 'S':
		o->timestamps = true;
		return -1;
	case 'P':
		if (CMD_CHOOSE(self, "--progress", progress_choices, optarg, &pick) < 0)
			return EXIT_USAGE;
		o->progress = (enum progress_when)pick;
		return -1;
	default:
		return cmd_opt_common(self, c, argv);
	}
}

/* The command line: returns -1 to go on (argv[optind] the spec), else
 * the exit status (o->only freed then). */
static int run_parse(int argc, char **argv, struct run_opts *o, struct run_cli *cli)
{
	static const struct option opts[] = {
		{ "max-parallel", required_argument, NULL, 'j' },
		{ "mode", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 't' },
		{ "fail-fast", no_argument, NULL, 'F' },
		{ "executor", required_argument, NULL, 'E' },
		{ "slurm-wait", required_argument, NULL, 'W' },
		{ "output", required_argument, NULL, 'o' },
		{ "results", required_argument, NULL, 'r' },
		{ "journal", required_argument, NULL, 'J' },
		{ "trace", required_argument, NULL, 'X' },
		{ "resume", required_argument, NULL, 'R' },
		{ "only", required_argument, NULL, 'O' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "progress", required_argument, NULL, 'P' },
		{ "tag", no_argument, NULL, 'T' },
		{ "timestamps", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	*o = (struct run_opts){ .max_parallel = -1, .fail_fast = -1, .mode = -1,
				.timeout = -1, .progress = PROGRESS_AUTO, .slurm_wait = -1 };
	int c, rc;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":j:o:qh", opts, NULL)) != -1)
		if ((rc = run_option(c, argv, o, cli)) >= 0) {
			free(o->only);
			return rc;
		}
	/* -q wins wherever it stands: a later -o or --progress does not undo it */
	if (o->quiet) {
		cli->output = OUT_NONE;
		o->progress = PROGRESS_NEVER;
	}
	if (argc - optind != 1) {
		free(o->only);
		return cmd_bad_usage(&cmd_run_entry, argc - optind ? "expected one spec, got %d arguments"
					   : "expected a spec file (or - for stdin)%.0d", argc - optind);
	}
	return -1;
}

/* --results naming a FIFO (or a device) may wait for its reader: open
 * it while a SIGINT still ends piperun (nothing started yet).  Returns
 * the fd, -1 when it is not one of those (or not asked for), -2 after
 * saying why it failed. */
static int results_open_early(const char *path, struct afile *res)
{
	struct stat st;
	if (!path || stat(path, &st) < 0 || !(S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)))
		return -1;
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0) {
		err_line("piperun: --results %s: %s", path, strerror(errno));
		return -2;
	}
	afile_in_place(res, path, fd);
	return fd;
}

/* A regular --results file, opened once the spec is known good (so that
 * a spec error leaves it untouched), and replaced only at the end
 * (afile.h: a killed run leaves the previous one).  O_NONBLOCK: should a
 * FIFO have appeared there meanwhile, it fails (no reader) rather than
 * wait with signals blocked.  Returns the fd, or -1 after saying why. */
static int results_open(const char *path, struct afile *res)
{
	if (afile_open(res, path, O_NONBLOCK) < 0) {
		err_line("piperun: --results %s: %s", path, strerror(errno));
		return -1;
	}
	fcntl(res->fd, F_SETFL, fcntl(res->fd, F_GETFL) & ~O_NONBLOCK);
	return res->fd;
}

/* Read and load the spec named arg (with the command line's overrides)
 * and open --results.  Returns the spec (res->fd its fd, or -1), or
 * NULL after saying why (nothing left open).  Frees o->only. */
static struct spec *run_load(const char *arg, struct run_opts *o, const char *results,
			     struct afile *res, unsigned char spec_sha[32])
{
	struct errlist errs = { 0 };
	/* Read the spec (a SIGINT while reading a pipe or a FIFO still
	 * interrupts), then block the run's signals: from here on an
	 * interrupt is an event the run will see through its signalfd, even
	 * while a large spec is parsed and expanded: every job gets its
	 * record (all skipped) and piperun dies of the signal. */
	size_t text_len = 0;
	char *text = spec_read(arg, &text_len, &errs);
	if (text)
		sha256(text, text_len, spec_sha);
	memset(res, 0, sizeof *res);
	res->fd = -1;
	if (text && results_open_early(results, res) == -2) {
		free(text);
		free(o->only);
		errlist_free(&errs);
		return NULL;
	}
	runner_block_signals();
	/* foreach sources are read (and their commands run) here */
	struct spec *s = text ? spec_load_mem_flags(strcmp(arg, "-") ? arg : "<stdin>",
						    text, text_len, SPEC_LOAD_SOURCES,
						    &errs, NULL) : NULL;
	free(text);
	if (s && o->nonly && spec_select(s, o->only, o->nonly, &errs) < 0) {
		spec_free(s);
		s = NULL;
	}
	free(o->only);
	if (!s) {
		cmd_spec_errors(&errs);
		if (res->fd >= 0)
			afile_abort(res);
		cmd_die_if_interrupted();
		return NULL;
	}
	errlist_free(&errs);
	if (o->mode >= 0)
		s->mode = (enum run_mode)o->mode;
	if (o->max_parallel >= 0)
		s->max_parallel = o->max_parallel;
	if (o->timeout >= 0)
		s->timeout = o->timeout;
	if (o->fail_fast >= 0)
		s->fail_fast = o->fail_fast;
	if (results && res->fd < 0 && results_open(results, res) < 0) {
		spec_free(s);
		return NULL;
	}
	return s;
}

static bool pipe_fd(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

/* What --resume restores: a job_restored per job with an ok record
 * (journal_restorable). */
static void journal_restore_set(struct run_cli *c, const struct spec *s, const struct journal *jr)
{
	const struct journal_entry **ok = xcalloc(s->njobs ? s->njobs : 1, sizeof *ok);
	bool *feeds = xcalloc(s->njobs ? s->njobs : 1, sizeof *feeds);
	journal_restorable(s, jr, (const journal_id *)c->ids, ok, feeds);
	c->restored = xcalloc(s->njobs ? s->njobs : 1, sizeof *c->restored);
	for (size_t i = 0; i < s->njobs; i++) {
		if (!ok[i])
			continue;
		struct job_restored *r = xcalloc(1, sizeof *r);
		r->record = xstrndup(ok[i]->record, ok[i]->record_len);
		r->attempts = ok[i]->attempts;
		r->has_rc = ok[i]->has_rc;
		r->returncode = ok[i]->returncode;
		r->duration_ms = ok[i]->duration_ms;
		/* a job that runs reads its output (stdin.from, items.from) */
		r->has_out = feeds[i] && journal_entry_stdout(ok[i], &r->out, &r->out_len) == 0;
		c->restored[i] = r;
	}
	/* a steps job that runs again: what it sank is not sent again */
	c->sunk_before = xcalloc(s->njobs ? s->njobs : 1, sizeof *c->sunk_before);
	for (size_t i = 0; i < s->njobs; i++)
		if (!ok[i]) {
			bool held;
			const struct job_spec *j = spec_job_peek(s, i, &held);
			char *name = j->kind == KIND_STEPS ? spec_redact(j, j->name) : NULL;
			spec_job_unpeek(s, i, held);
			if (name)
				journal_sunk(jr, c->ids[i], name, &c->sunk_before[i]);
			free(name);
		}
	free(feeds);
	free(ok);
}

/* The journal: read (--resume; or an existing --journal, whose key is
 * kept and which must be a journal), the identities, what is restored,
 * and the file opened to append to.  Returns -1 after saying why. */
static int journal_setup(struct run_cli *c, const struct spec *s)
{
	const char *path = c->resume ? c->resume : c->journal_opt ? c->journal_opt : s->journal;
	if (!path)
		return 0;
	const char *what = c->resume ? "--resume" : c->journal_opt ? "--journal" : "journal";
	if (c->resume && c->journal_opt && strcmp(c->resume, c->journal_opt)) {
		err_line("piperun: --resume %s: the run appends to the journal it resumes; "
			 "--journal %s names another file", c->resume, c->journal_opt);
		return -1;
	}
	struct journal jr = { 0 };
	char *why = NULL;
	/* opened and locked first, then read through that fd and cut: no
	 * other run appends between the read and the cut (journal_open) */
	c->journal = xcalloc(1, sizeof *c->journal);
	if (journal_open(c->journal, path, !c->resume, &why) < 0 ||
	    journal_read_open(c->journal, &jr, &why) < 0) {
		err_line("piperun: %s %s", what, why);
		free(why);
		return -1;
	}
	if (jr.damaged_line)
		err_line("piperun: %s %s: warning: line %zu is no journal line (damaged): it and "
			 "the %lld bytes from it on are ignored and cut before this run appends",
			 what, path, jr.damaged_line, (long long)jr.ignored);
	if (jr.nsessions)
		memcpy(c->key, jr.key, sizeof c->key);
	else
		journal_new_key(c->key);
	c->ids = xcalloc(s->njobs ? s->njobs : 1, sizeof *c->ids);
	journal_identities(s, c->key, c->ids, c->plan);
	if (c->resume)
		journal_restore_set(c, s, &jr);
	int rc = journal_cut(c->journal, &jr, &why);
	journal_free(&jr);
	if (rc < 0) {
		err_line("piperun: %s %s", what, why);
		free(why);
		return -1;
	}
	return 0;
}

/* Close the journal (synced).  Returns the exit status so far, or
 * EXIT_RUNNER after saying what was lost. */
static int journal_finish(struct run_cli *c, const struct spec *s, int rc)
{
	if (c->journal && journal_close(c->journal) < 0) {
		err_line("piperun: writing journal %s: %s", c->resume ? c->resume : c->journal_opt
			 ? c->journal_opt : s->journal, strerror(errno));
		rc = EXIT_RUNNER;
	}
	free(c->journal);
	c->journal = NULL;
	for (size_t i = 0; c->restored && i < s->njobs; i++)
		if (c->restored[i]) {
			free(c->restored[i]->record);
			free(c->restored[i]->out);
			free(c->restored[i]);
		}
	free(c->restored);
	for (size_t i = 0; c->sunk_before && i < s->njobs; i++)
		buf_free(&c->sunk_before[i]);
	free(c->sunk_before);
	c->sunk_before = NULL;
	free(c->ids);
	return rc;
}

/* Run the spec's jobs, results streaming to cli's sinks as they end.
 * Returns runner_run's answer (res filled on 0; *why on -1). */
static int run_jobs(struct run_cli *cli, struct spec *s, const struct run_opts *o,
		    struct run_result *res, char **why)
{
	/* --timestamps alone means tagged lines with the time of day */
	bool tag = o->tag || o->timestamps || s->tag;
	bool results_stdout = cli->output != OUT_NONE;
	cli->stream_out = cli->output == OUT_JSON && !inherits_stdout(s, tag);
	cli->release = !(cli->output == OUT_JSON && !cli->stream_out);
	cli->deferred = !output_shared(s, tag);
	/* records that wait for the loop to go idle need not wait for the
	 * reader either: a pipe or socket whose reader stops reading must
	 * not stop the timers and starts (one whose reader goes away is
	 * watched: out_fd) */
	cli->out->async = cli->deferred && pipe_fd(cli->out->fd);
	aside_init(&cli->aside, s->njobs, 2);
	struct run_config cfg = {
		.mode = s->mode,
		.max_parallel = s->max_parallel,
		.timeout = s->timeout,
		.fail_fast = s->fail_fast,
		.progress = o->progress,
		.tag = tag,
		.timestamps = o->timestamps,
		.live_to_stderr = results_stdout,
		.on_start = on_start,
		.on_done = on_done,
		.on_attempt = on_attempt,
		.on_idle = on_idle,
		/* watched, so that a reader gone stops the run at once */
		.out_fd = results_stdout || copies_to_stdout(s, tag) ? 1 : -1,
		.restored = cli->restored,
		.on_items = cli->journal ? on_items : NULL,
		.sunk_before = cli->sunk_before,
		.executor = cli->alloc ? &proc_slurm : NULL,
		.exec_ctx = cli->alloc,
		.cancel_on_death = cli->alloc && cli->alloc->ours ? cli->alloc->jobid : NULL,
		.cancel_with = cli->alloc ? cli->alloc->scancel : NULL,
		.cancel_dir = cli->alloc ? cli->alloc->rundir : NULL,
		.ctx = cli,
	};
	int rc = runner_run(s, &cfg, res, why);
	/* fds_end is the runner's: the file where records wait (opened
	 * when the first had to) is the command's, closed after the
	 * document */
	if (rc == 0 && cli->aside.file)
		res->fds_end--;
	return rc;
}

/* The results on stdout, in the format asked for: whatever did not
 * stream yet (everything, when the JSON document had to wait for live
 * output to end), then the document's end or the summary. */
static void emit_stdout(struct run_cli *c, const struct spec *s, const struct run_result *res)
{
	write_ended(c, c->pending, c->npending);
	c->npending = 0;
	emit_ready(c);
	switch (c->output) {
	case OUT_JSON:
		if (c->stream_out) {
			if (!c->begun)
				report_doc_begin(&c->jw_out, s, res->started_at, res->limit,
						 res->containment);
			report_doc_end(&c->jw_out, res);
		} else {
			/* every record, from aside or from its job */
			report_doc_begin(&c->jw_out, s, res->started_at, res->limit,
					 res->containment);
			struct jw *to = &c->jw_out;
			for (size_t i = 0; i < res->njobs; i++)
				emit_record(c, i, &to, 1);
			report_doc_end(&c->jw_out, res);
		}
		break;
	case OUT_JSONL:
		report_summary_line(&c->jw_out, s, res);
		break;
	case OUT_TEXT:
		report_text(fd_sink_write, c->out, s, res);
		break;
	case OUT_NONE:
		break;
	}
}

/* Write what is left of the results and close --results.  Returns the
 * exit status; res->stop/signal say SIGPIPE when stdout's reader went
 * away. */
static int run_emit(struct run_cli *c, const struct spec *s, struct run_result *res,
		    struct afile *res_file)
{
	emit_stdout(c, s, res);
	int rc = EXIT_OK;
	if (c->aside_err) {
		err_line("piperun: the results' temporary file: %s: records lost",
			 strerror(c->aside_err));
		res->output_failed = true;
		rc = EXIT_RUNNER;
	}
	if (fd_sink_finish(c->out) < 0 && c->out->err == EPIPE) {
		/* stdout's reader went away, as a filter does when it has
		 * seen enough: no message; --results tells, and we die of
		 * SIGPIPE (CONTRACT §8.2) */
		if (res->stop != STOP_SIGNAL) {
			res->stop = STOP_SIGNAL;
			res->signal = SIGPIPE;
		}
	} else if (c->out->err) {
		fprintf(stderr, "piperun: writing results to stdout: %s\n", strerror(c->out->err));
		res->output_failed = true;
		rc = EXIT_RUNNER;
	} else if (live_stdout_error() == EPIPE) {
		/* the jobs' tee or tagged lines: the same reader gone */
		if (res->stop != STOP_SIGNAL) {
			res->stop = STOP_SIGNAL;
			res->signal = SIGPIPE;
		}
	} else if (live_stdout_error()) {
		fprintf(stderr, "piperun: writing job output to stdout (tee, --tag): %s\n",
			strerror(live_stdout_error()));
		res->output_failed = true;
		rc = EXIT_RUNNER;
	}
	if (c->res_sink) {
		if (!c->begun)
			report_doc_begin(&c->jw_res, s, res->started_at, res->limit, res->containment);
		report_doc_end(&c->jw_res, res);
		/* close even when the flush failed; the flush's error first */
		bool failed = fd_sink_finish(c->res_sink) < 0;
		int err = errno;
		if (failed) {
			afile_abort(res_file);
		} else if (afile_commit(res_file) < 0) {
			failed = true;
			err = errno;
		}
		if (failed) {
			err_line("piperun: writing results to %s: %s", c->results,
				 strerror(c->res_sink->err ? c->res_sink->err : err));
			rc = EXIT_RUNNER;
		}
	}
	if (rc == EXIT_OK && strcmp(report_run_status(res), "ok"))
		rc = EXIT_JOBS_FAILED;
	return rc;
}

/* --executor slurm: every kind of job goes, pass_fds does not, then the
 * allocation; -j defaults to its CPUs / cpus_per_job.  Returns -1 to go
 * on (c->alloc set), else the exit status after saying why.
 *
 * pass_fds cannot be made to behave as locally: the job runs on a node,
 * where the descriptors piperun holds do not exist, and srun carries
 * only stdin, stdout and stderr.  Copying one through a file (as a
 * host's own fds go, proc-slurm.c) would serve a read-only regular file
 * at best, never a pipe, socket or terminal, nor an offset shared with
 * piperun: a usage error before anything starts, rather than a job that
 * behaves otherwise. */
static int slurm_setup(struct run_cli *c, struct spec *s, const struct run_opts *o)
{
	for (size_t t = 0; t < spec_ntemplates(s); t++) {
		const struct job_spec *j = spec_template_job(s, t);
		if (j && j->npass_fds) {
			err_line("piperun: %s: job %s: pass_fds (fd %d): not with --executor slurm: "
				 "the job runs on a Slurm node, where piperun's open files do not "
				 "exist, and srun carries only stdin, stdout and stderr; run it with "
				 "--executor local", s->file, j->name, j->pass_fds[0]);
			return EXIT_USAGE;
		}
	}
	if (!s->slurm)
		s->slurm = spec_slurm_default();
	struct slurm_want w = { .jobs = (long)s->njobs, .max_parallel = s->max_parallel,
				.wait_s = o->slurm_wait >= 0 ? o->slurm_wait : 60 };
	char *why;
	c->alloc = xcalloc(1, sizeof *c->alloc);
	if (slurm_alloc_get(c->alloc, s->slurm, &w, &why) < 0) {
		err_line("piperun: %s", why);
		free(why);
		free(c->alloc);
		c->alloc = NULL;
		return EXIT_RUNNER;
	}
	if (!s->max_parallel)
		s->max_parallel = slurm_alloc_parallel(c->alloc);
	return -1;
}

static void slurm_finish(struct run_cli *c)
{
	if (!c->alloc)
		return;
	slurm_alloc_release(c->alloc);
	free(c->alloc);
	c->alloc = NULL;
}

static int cmd_run(int argc, char **argv)
{
	struct run_cli cli = { .output = OUT_JSON };
	struct run_opts o;
	int rc = run_parse(argc, argv, &o, &cli);
	if (rc >= 0)
		return rc;
	struct afile res_file;
	struct spec *s = run_load(argv[optind], &o, cli.results, &res_file, cli.spec_sha);
	int results_fd = res_file.fd;
	if (!s)
		return EXIT_USAGE;
	if (cli.trace_path && (!(cli.trace = trace_open(cli.trace_path, "run", s->name)) ||
			       trace_ask_items(cli.trace, s) < 0)) {
		err_line("piperun: --trace %s: %s", cli.trace_path, strerror(errno));
		trace_abort(cli.trace);
		if (results_fd >= 0)
			afile_abort(&res_file);
		spec_free(s);
		return EXIT_USAGE;
	}
	if (journal_setup(&cli, s) < 0) {
		trace_abort(cli.trace);
		journal_finish(&cli, s, EXIT_USAGE);
		if (results_fd >= 0)
			afile_abort(&res_file);
		spec_free(s);
		return EXIT_USAGE;
	}
	if (o.executor == EXEC_SLURM && (rc = slurm_setup(&cli, s, &o)) >= 0) {
		trace_abort(cli.trace);
		journal_finish(&cli, s, rc);
		if (results_fd >= 0)
			afile_abort(&res_file);
		spec_free(s);
		return rc;
	}
	cli.out = cmd_stdout_sink();
	cli.spec = s;
	jw_init(&cli.jw_out, fd_sink_write, cli.out, cli.output == OUT_JSON);
	if (results_fd >= 0) {
		cli.res_sink = xcalloc(1, sizeof *cli.res_sink);
		cli.res_sink->fd = results_fd;
		jw_init(&cli.jw_res, fd_sink_write, cli.res_sink, true);
	}
	struct run_result res;
	char *why = NULL;
	int run_rc = run_jobs(&cli, s, &o, &res, &why);
	slurm_finish(&cli);
	if (run_rc < 0) {
		fprintf(stderr, "piperun: %s\n", why);
		free(why);
		fd_sink_finish(cli.out);
		if (cli.res_sink)
			fd_sink_finish(cli.res_sink);
		free(cli.out);
		free(cli.res_sink);
		if (results_fd >= 0)
			afile_abort(&res_file);
		trace_abort(cli.trace);
		journal_finish(&cli, s, EXIT_RUNNER);
		spec_free(s);
		return EXIT_RUNNER;
	}
	if (res.error)
		fprintf(stderr, "piperun: %s\n", res.error);
	rc = run_emit(&cli, s, &res, &res_file);
	if (cli.trace && trace_finish(cli.trace, &res) < 0) {
		err_line("piperun: writing the trace to %s: %s", cli.trace_path, strerror(errno));
		rc = EXIT_RUNNER;
	}
	spec_on_make(s, NULL, NULL);  /* the trace is gone */
	int jrc = journal_finish(&cli, s, rc);
	if (jrc == EXIT_RUNNER && rc != EXIT_RUNNER) {
		rc = EXIT_RUNNER;
		res.output_failed = true;
	}
	int sig = res.stop == STOP_SIGNAL ? res.signal : 0;
	run_result_free(&res);
	spec_free(s);
	free(cli.out);
	free(cli.res_sink);
	free(cli.done);
	free(cli.pending);
	aside_free(&cli.aside);
	if (sig) {
		/* Die of the same signal, as coreutils timeout does: the shell
		 * sees 128+N and a parent sees "killed by signal". */
		die_of_signal(sig);
	}
	return rc;
}

const struct cmd_entry cmd_run_entry = {
	.name = "run",
	.synopsis = "run [OPTIONS] SPEC.json|-",
	.summary = "run every job of a spec and print the results",
	.help =
	"options:\n"
	"  -j, --max-parallel N   run at most N jobs at once (0: adaptive, up to\n"
	"                         what the fd and process limits allow)\n"
	"      --mode MODE        async (default: one event loop), thread (a pool of\n"
	"                         -j worker threads) or serial\n"
	"      --timeout DUR      limit for the whole run (\"90s\", \"5m\")\n"
	"      --fail-fast        stop at the first job that is not ok\n"
	"      --executor NAME    local (default) or slurm: each job a step of one\n"
	"                         Slurm allocation (EXECUTORS in piperun(1))\n"
	"      --slurm-wait DUR   how long to wait for the allocation (default 60s)\n"
	"  -o, --output FMT       json (default), jsonl, text or none\n"
	"      --results FILE     also write the JSON document to FILE\n"
	"      --journal FILE     append a line to FILE as each job attempt ends\n"
	"                         (crash-safe; JOURNAL in piperun(1))\n"
	"      --trace FILE       write a trace of the run to FILE (Chrome Trace\n"
	"                         Event Format: Perfetto UI, chrome://tracing)\n"
	"      --resume FILE      run only the jobs without an ok record in the\n"
	"                         journal FILE (GNU parallel's --resume-failed);\n"
	"                         the others keep their record, \"resumed\": true;\n"
	"                         appends to FILE\n"
	"      --only NAME        run only NAME and what it depends on (repeatable)\n"
	"      --tag              show every job's output live, each line whole\n"
	"                         and prefixed \"name| \" (captured output is kept\n"
	"                         too); on stderr while results go to stdout\n"
	"      --timestamps       --tag, and the time of day before each line\n"
	"      --progress WHEN    auto (default: when stderr is a terminal), always\n"
	"                         or never: counts, a bar and an ETA on stderr\n"
	"  -q, --quiet            print no results, no progress (wins over -o\n"
	"                         and --progress wherever it stands)\n"
	"  -h, --help             show this help\n"
	"\n"
	"exit status: 0 all jobs ok, 1 some job not ok, 2 usage or spec error\n"
	"(nothing started), 3 the runner could not go on (results could not be\n"
	"written); killed by the signal that interrupted it (SIGINT, SIGTERM,\n"
	"SIGHUP or any other terminating signal not ignored at start) after\n"
	"cleaning up, or by SIGPIPE when stdout's reader went away.\n",
	.exec = cmd_run,
};
