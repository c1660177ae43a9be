/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-journal.c - `piperun journal FILE`: the results document of the
 * last run a journal holds, rebuilt from it (a crashed run's results are
 * readable), in the formats of `run -o`. */
#include "config.h"
#include "cmd.h"
#include "journal.h"
#include "jsonw.h"
#include "spec.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum jout { JOUT_JSON, JOUT_JSONL, JOUT_TEXT };

static const struct enum_name jout_choices[] = {
	{ JOUT_JSON, "json" }, { JOUT_JSONL, "jsonl" }, { JOUT_TEXT, "text" },
};

/* The last session's jobs, each with its record: its latest line in
 * that session (a resume writes one for each job it restores), else its
 * latest ok line of an earlier session (it would be restored), else
 * none: the run ended before the job did (missing). */
struct rebuilt {
	const struct journal_session *s;
	const struct journal_entry **e;   /* per job, or NULL */
	size_t counts[7];                 /* by status name, as below */
	size_t missing;
	double duration_ms;
};

static const char *const statuses[] = {
	"ok", "failed", "timeout", "error", "skipped", "cancelled", NULL,
};

static void rebuild(const struct journal *jr, struct rebuilt *r)
{
	memset(r, 0, sizeof *r);
	r->s = &jr->sessions[jr->nsessions - 1];
	r->e = xcalloc(r->s->njobs ? r->s->njobs : 1, sizeof *r->e);
	for (size_t k = r->s->first; k < r->s->first + r->s->nentries; k++) {
		const struct journal_entry *e = &jr->entries[k];
		if (e->index < r->s->njobs && !strcmp(e->identity, r->s->ids[e->index]) &&
		    !strcmp(e->name, r->s->names[e->index]))
			r->e[e->index] = e;   /* the latest wins */
	}
	for (size_t i = 0; i < r->s->njobs; i++) {
		const struct journal_entry *e = r->e[i];
		if (!e)
			e = journal_find_ok(jr, r->s->ids[i], r->s->names[i]);
		r->e[i] = e;
		if (!e) {
			r->missing++;
			continue;
		}
		for (size_t k = 0; statuses[k]; k++)
			if (!strcmp(e->status, statuses[k]))
				r->counts[k]++;
		if (e->session == jr->nsessions - 1 && e->started_ms + e->duration_ms > r->duration_ms)
			r->duration_ms = e->started_ms + e->duration_ms;
	}
}

static const char *rebuilt_status(const struct rebuilt *r)
{
	if (r->missing)
		return "interrupted";
	return r->counts[0] == r->s->njobs ? "ok" : "failed";
}

static void head(struct jw *w, const struct rebuilt *r)
{
	jw_kstr(w, "piperun", r->s->piperun);
	jw_kstr(w, "name", r->s->run_name);
	jw_kstr(w, "mode", r->s->mode);
	jw_kstr(w, "started_at", r->s->started_at);
	jw_kint(w, "max_parallel", r->s->max_parallel);
	jw_kstr(w, "containment", r->s->containment);
}

static void counts(struct jw *w, const struct rebuilt *r)
{
	jw_key(w, "summary");
	jw_obj(w, true);
	jw_kint(w, "total", (int64_t)r->s->njobs);
	for (size_t k = 0; statuses[k]; k++)
		jw_kint(w, statuses[k], (int64_t)r->counts[k]);
	jw_obj_end(w);
}

/* The tail: what the journal knows of how the run ended, and which jobs
 * it has no record of ("journal"). */
static void tail(struct jw *w, const struct rebuilt *r, const char *path, size_t nsessions,
		 bool with_counts)
{
	jw_kstr(w, "status", rebuilt_status(r));
	jw_knum(w, "duration_ms", r->duration_ms);
	jw_knull(w, "stopped");
	if (with_counts)
		counts(w, r);
	jw_key(w, "orphans");
	jw_arr(w, true);
	jw_arr_end(w);
	jw_key(w, "journal");
	jw_obj(w, false);
	jw_kstr(w, "file", path);
	jw_kint(w, "sessions", (int64_t)nsessions);
	jw_key(w, "missing");
	jw_arr(w, false);
	for (size_t i = 0; i < r->s->njobs; i++)
		if (!r->e[i])
			jw_str(w, r->s->names[i]);
	jw_arr_end(w);
	jw_obj_end(w);
}

static void record(struct jw *w, const struct journal_entry *e)
{
	jw_obj(w, false);
	spec_json_splice_members(w, e->record, e->record_len, NULL, NULL);
	jw_obj_end(w);
}

static void text(struct fd_sink *out, const struct rebuilt *r)
{
	struct buf b = { 0 };
	buf_printf(&b, "%-24s  %-9s  %4s  %10s  %s\n", "NAME", "STATUS", "RC", "DURATION", "ERROR");
	for (size_t i = 0; i < r->s->njobs; i++) {
		const struct journal_entry *e = r->e[i];
		char rc[16] = "-", dur[32] = "-";
		if (e && e->has_rc)
			snprintf(rc, sizeof rc, "%d", e->returncode);
		if (e && e->attempts)
			snprintf(dur, sizeof dur, "%.1fms", e->duration_ms);
		char *name = ctl_escape(r->s->names[i], true);
		char *err = ctl_escape(!e ? "no record in the journal" : e->error ? e->error : "",
				       false);
		char *nl = strchr(err, '\n');
		if (nl)
			*nl = 0;
		buf_printf(&b, "%-24.24s  %-9s  %4s  %10s  %s\n", name, e ? e->status : "-", rc, dur,
			   err);
		free(name);
		free(err);
	}
	buf_printf(&b, "%zu jobs: %zu ok, %zu not ok, %zu without a record; %s\n", r->s->njobs,
		   r->counts[0], r->s->njobs - r->counts[0] - r->missing, r->missing,
		   rebuilt_status(r));
	fd_sink_write(out, b.p, b.len);
	buf_free(&b);
}

static void emit(struct fd_sink *out, enum jout fmt, const struct journal *jr, const char *path)
{
	struct rebuilt r;
	rebuild(jr, &r);
	struct jw w;
	jw_init(&w, fd_sink_write, out, fmt == JOUT_JSON);
	if (fmt == JOUT_TEXT) {
		text(out, &r);
	} else if (fmt == JOUT_JSONL) {
		for (size_t i = 0; i < r.s->njobs; i++)
			if (r.e[i]) {
				record(&w, r.e[i]);
				jw_newline(&w);
			}
		jw_obj(&w, false);
		counts(&w, &r);
		jw_key(&w, "run");
		jw_obj(&w, false);
		head(&w, &r);
		tail(&w, &r, path, jr->nsessions, false);
		jw_obj_end(&w);
		jw_obj_end(&w);
		jw_newline(&w);
	} else {
		jw_obj(&w, false);
		head(&w, &r);
		jw_key(&w, "jobs");
		jw_arr(&w, false);
		for (size_t i = 0; i < r.s->njobs; i++)
			if (r.e[i])
				record(&w, r.e[i]);
		jw_arr_end(&w);
		tail(&w, &r, path, jr->nsessions, true);
		jw_obj_end(&w);
		jw_newline(&w);
	}
	free(r.e);
}

static int cmd_journal(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd_entry *self = &cmd_journal_entry;
	int c, fmt = JOUT_JSON;
	bool seen[256] = { false };
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		if (c != 'o')
			return cmd_opt_common(self, c, argv);
		if (cmd_once(self, seen, c, "-o/--output") < 0)
			return EXIT_USAGE;
		if (CMD_CHOOSE(self, "--output", jout_choices, optarg, &fmt) < 0)
			return EXIT_USAGE;
	}
	if (argc - optind != 1)
		return cmd_bad_usage(self, "expected one journal file");
	const char *path = argv[optind];
	struct journal jr;
	char *why = NULL;
	if (journal_read(path, &jr, &why) < 0) {
		err_line("piperun: %s", why);
		free(why);
		return EXIT_USAGE;
	}
	if (jr.damaged_line)
		err_line("piperun: %s: warning: line %zu is no journal line (damaged): it and what "
			 "follows are ignored", path, jr.damaged_line);
	if (!jr.nsessions) {
		err_line("piperun: %s: an empty journal (no whole header line)", path);
		journal_free(&jr);
		return EXIT_USAGE;
	}
	struct fd_sink *out = cmd_stdout_sink();
	emit(out, (enum jout)fmt, &jr, path);
	journal_free(&jr);
	int rc = cmd_flush_stdout(self, out, EXIT_OK);
	free(out);
	return rc;
}

const struct cmd_entry cmd_journal_entry = {
	.name = "journal",
	.synopsis = "journal [-o FMT] JOURNAL",
	.summary = "print the results of the last run a journal holds",
	.help =
	"The results document of the last run written to JOURNAL (--journal,\n"
	"--resume), rebuilt from its lines: each job's latest record of that run\n"
	"(else an ok one of an earlier run, which a resume would restore);\n"
	"\"journal\" names the jobs without one (the run ended before they did:\n"
	"status \"interrupted\").\n"
	"A torn last line is ignored.\n"
	"\n"
	"options:\n"
	"  -o, --output FMT   json (default), jsonl or text\n"
	"  -h, --help         show this help\n"
	"\n"
	"exit status: 0 printed, 2 usage error or JOURNAL unreadable, not a\n"
	"journal, of another format or empty, 3 the results could not be\n"
	"written to stdout.\n",
	.exec = cmd_journal,
};
