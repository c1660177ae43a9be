/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-show.c - `piperun show RESULTS|-`: one job's field of a results
 * document (`run -o json`, `journal`) or of JSONL (`run -o jsonl`: job
 * records, then the trailer line), printed raw for scripts and test
 * suites: captured output as its exact bytes whatever its encoding, so
 * that no jq or base64 is needed. */
#include "config.h"
#include "cmd.h"
#include "codec.h"
#include "jsonw.h"
#include "spec-json.h"
#include "strmap.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One parsed JSON text (the document, or one line of JSONL) and the
 * bytes it was read from, for jv_token. */
struct show_part {
	struct cJSON *root;
	const char *text;
	size_t len;
};

/* A job record and the part it is in (an index: parts move as they
 * grow). */
struct show_job {
	const struct cJSON *rec;
	size_t part;
};

/* The input, read whole: its parts, its job records and its run-level
 * object (the document; in JSONL, the trailer). */
struct show_in {
	const char *file;           /* for messages: the path, or "-" */
	char *data;
	size_t len;
	struct show_part *parts;
	size_t nparts, cap;
	struct show_job *jobs;      /* in the input's order */
	size_t njobs, jobs_cap;
	const struct cJSON *run;    /* document / trailer's "run", or NULL */
	const struct cJSON *trailer;
	ssize_t run_part;           /* the part run is in, or -1 */
};

/* All of fd into in->data; -1 with errno. */
static int slurp_fd(int fd, struct show_in *in)
{
	struct buf b = { 0 };
	for (;;) {
		buf_reserve(&b, 65536);
		ssize_t n = read(fd, b.p + b.len, b.cap - b.len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			buf_free(&b);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		b.len += (size_t)n;
	}
	in->len = b.len;
	buf_reserve(&b, 1);
	b.p[b.len] = '\0';
	in->data = b.p;
	return 0;
}

static int slurp(struct show_in *in)
{
	if (!strcmp(in->file, "-"))
		return slurp_fd(0, in);
	int fd = open(in->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = slurp_fd(fd, in);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

static void add_part(struct show_in *in, struct cJSON *root, const char *text, size_t len)
{
	xgrow(&in->parts, &in->cap, in->nparts + 1, sizeof *in->parts);
	in->parts[in->nparts++] = (struct show_part){ root, text, len };
}

static void add_job(struct show_in *in, const struct cJSON *rec, size_t part)
{
	xgrow(&in->jobs, &in->jobs_cap, in->njobs + 1, sizeof *in->jobs);
	in->jobs[in->njobs++] = (struct show_job){ rec, part };
}

/* A job record: an object with a string "name". */
static bool is_job(const struct cJSON *v)
{
	return jv_is_object(v) && jv_is_string(jv_get(v, "name"));
}

/* The input as a results document: true when it is one. */
static bool read_document(struct show_in *in)
{
	struct cJSON *root = jv_parse_whole(in->data, in->len);
	const struct cJSON *jobs = jv_get(root, "jobs");
	if (!jv_is_object(root) || !jv_is_array(jobs)) {
		jv_free(root);
		return false;
	}
	add_part(in, root, in->data, in->len);
	const struct cJSON *e;
	JV_EACH(e, jobs)
		if (is_job(e))
			add_job(in, e, 0);
	in->run = root;
	in->run_part = 0;
	return true;
}

/* A JSONL line that cannot follow what came before: one run is its job
 * records, each job once, then the trailer line.  Two runs appended to
 * one file (`run -o jsonl >> log`) would otherwise answer from either. */
static bool jsonl_misplaced(const struct show_in *in, struct strmap *seen, const struct cJSON *v,
			    size_t lineno, size_t trailer_line)
{
	if (trailer_line) {
		err_line("piperun: show: %s: line %zu: a line after the trailer line (line %zu): "
			 "JSONL holds one run (two runs appended to one file?)", in->file,
			 lineno, trailer_line);
		return true;
	}
	if (!is_job(v))
		return false;
	bool added;
	size_t *first = strmap_put(seen, jv_str(jv_get(v, "name")), lineno, &added);
	if (added)
		return false;
	char *e = ctl_escape(jv_str(jv_get(v, "name")), false);
	err_line("piperun: show: %s: line %zu: a second record of job \"%s\" (line %zu): "
		 "JSONL holds one run (two runs appended to one file?)", in->file, lineno, e,
		 *first);
	free(e);
	return true;
}

/* The input as JSONL: each non-blank line a job record or the trailer.
 * -1 after saying which line is neither, or is out of place. */
static int read_jsonl(struct show_in *in)
{
	size_t lineno = 0, trailer = 0, trailer_line = 0;
	struct strmap seen;
	strmap_init(&seen, 64);
	int rc = 0;
	for (char *p = in->data, *end = in->data + in->len; p < end && !rc; lineno++) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *line = p;
		p += n + (nl != NULL);
		size_t k = 0;
		while (k < n && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r'))
			k++;
		if (k == n)
			continue;
		struct cJSON *v = jv_parse_whole(line, n);
		bool job = is_job(v);
		if (!job && !(jv_is_object(v) && jv_is_object(jv_get(v, "summary")))) {
			bool journal = lineno == 0 && jv_is_string(jv_get(v, "journal"));
			if (journal)
				err_line("piperun: show: %s: a journal: its results are "
					 "`piperun journal %s | piperun show -`", in->file, in->file);
			else
				err_line("piperun: show: %s: line %zu: %s", in->file, lineno + 1,
					 "neither a results document nor JSONL job records "
					 "(run -o json or -o jsonl)");
			rc = -1;
		} else if (jsonl_misplaced(in, &seen, v, lineno + 1, trailer_line)) {
			rc = -1;
		} else if (job) {
			add_job(in, v, in->nparts);
		} else {
			trailer_line = lineno + 1;
			trailer = in->nparts;
		}
		if (rc)
			jv_free(v);
		else
			add_part(in, v, line, n);
	}
	strmap_free(&seen);
	if (!rc && trailer_line) {
		in->run_part = (ssize_t)trailer;
		in->trailer = in->parts[trailer].root;
		in->run = jv_get(in->trailer, "run");
	}
	return rc;
}

static void show_in_free(struct show_in *in)
{
	for (size_t i = 0; i < in->nparts; i++)
		jv_free(in->parts[i].root);
	free(in->parts);
	free(in->jobs);
	free(in->data);
}

/* Read and parse in->file: EXIT_OK, or EXIT_USAGE after saying why. */
static int show_read(struct show_in *in)
{
	if (slurp(in) < 0) {
		err_line("piperun: show: %s: %s", in->file, strerror(errno));
		return EXIT_USAGE;
	}
	if (memchr(in->data, '\0', in->len)) {
		err_line("piperun: show: %s: a NUL byte: no JSON text", in->file);
		return EXIT_USAGE;
	}
	if (read_document(in))
		return EXIT_OK;
	if (read_jsonl(in) < 0)
		return EXIT_USAGE;
	if (!in->nparts) {
		err_line("piperun: show: %s: empty: no results", in->file);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* The member path names under v: KEY or KEY.KEY..., a number indexing
 * an array (stages.0.pid).  NULL when there is none. */
static const struct cJSON *field_at(const struct cJSON *v, const char *path)
{
	char *copy = xstrdup(path), *save = NULL;
	for (char *k = strtok_r(copy, ".", &save); k && v; k = strtok_r(NULL, ".", &save)) {
		uint64_t i;
		if (jv_is_array(v))
			v = parse_u64(k, &i) && i < (uint64_t)jv_size(v) ? jv_at(v, (int)i) : NULL;
		else
			v = jv_get(v, k);
	}
	free(copy);
	return v;
}

/* A string's bytes, \u0000 kept (jv_str stops there). */
static char *string_bytes(const struct show_part *part, const struct cJSON *v, size_t *n)
{
	const char *tok;
	size_t len;
	if (jv_token(part->root, part->text, part->len, v, &tok, &len) == 0)
		return spec_raw_string(tok, len, n);
	*n = strlen(jv_str(v));
	return xstrdup(jv_str(v));
}

/* stdout / stderr of a job: the bytes the record holds, decoded by its
 * NAME_encoding.  EXIT_OK, or EXIT_JOBS_FAILED after saying why. */
static int put_stream(struct fd_sink *out, const struct show_in *in, size_t j, const char *field,
		      const struct cJSON *v)
{
	if (jv_is_null(v))
		return EXIT_OK;
	char key[64];
	snprintf(key, sizeof key, "%s_encoding", field);
	const char *enc = jv_str(jv_get(in->jobs[j].rec, key));
	size_t n;
	char *bytes = jv_is_string(v) ? string_bytes(&in->parts[in->jobs[j].part], v, &n) : NULL;
	if (bytes && enc && !strcmp(enc, "base64")) {
		unsigned char *raw;
		size_t rawlen;
		int rc = b64_decode(bytes, n, &raw, &rawlen);
		free(bytes);
		bytes = rc == 0 ? (char *)raw : NULL;
		n = rawlen;
	} else if (bytes && enc && strcmp(enc, "utf-8")) {
		free(bytes);
		bytes = NULL;
	}
	if (!bytes) {
		err_line("piperun: show: %s: job \"%s\": %s is not what %s says it is", in->file,
			 jv_str(jv_get(in->jobs[j].rec, "name")), field, key);
		return EXIT_USAGE;
	}
	fd_sink_write(out, bytes, n);
	free(bytes);
	return EXIT_OK;
}

/* Any other value: a string's bytes, a number as written, true/false,
 * an object or array as compact JSON, each with a newline; null as
 * nothing at all. */
static void put_value(struct fd_sink *out, const struct show_part *part, const struct cJSON *v)
{
	if (jv_is_null(v))
		return;
	const char *tok;
	size_t n;
	if (jv_is_string(v)) {
		char *s = string_bytes(part, v, &n);
		fd_sink_write(out, s, n);
		free(s);
	} else if (!jv_is_object(v) && !jv_is_array(v) &&
		   jv_token(part->root, part->text, part->len, v, &tok, &n) == 0) {
		fd_sink_write(out, tok, n);
	} else {
		struct buf b = { 0 };
		spec_json_print(&b, v);
		fd_sink_write(out, b.p, b.len);
		buf_free(&b);
	}
	fd_sink_write(out, "\n", 1);
}

/* The job --job NAME names: its exact name, or the escaped spelling the
 * name list, the text table and --tag show (ctl_escape with backslashes:
 * f[new\nline]), so that a name read from any of them works.  The
 * escaping can be undone, so at most one job has NAME as its spelling;
 * -1: no job; -2: NAME is one job's exact name and another's spelling. */
static ssize_t find_job(const struct show_in *in, const char *name)
{
	ssize_t exact = -1, escaped = -1;
	for (size_t i = 0; i < in->njobs; i++) {
		const char *n = jv_str(jv_get(in->jobs[i].rec, "name"));
		if (!strcmp(n, name)) {
			exact = (ssize_t)i;
			continue;
		}
		char *e = ctl_escape(n, true);
		if (!strcmp(e, name))
			escaped = (ssize_t)i;
		free(e);
	}
	if (exact >= 0 && escaped >= 0)
		return -2;
	return exact >= 0 ? exact : escaped;
}

/* --job NAME [--field F]: the record (compact JSON) or the field. */
static int show_job(struct fd_sink *out, const struct show_in *in, const char *name,
		    const char *field)
{
	ssize_t j = find_job(in, name);
	if (j == -2) {
		char *e = ctl_escape(name, false);
		err_line("piperun: show: %s: \"%s\" is one job's name and another's escaped "
			 "name: take exact names from show --null", in->file, e);
		free(e);
		return EXIT_USAGE;
	}
	if (j < 0) {
		char *e = ctl_escape(name, false);
		err_line("piperun: show: %s: no job named \"%s\"", in->file, e);
		free(e);
		return EXIT_JOBS_FAILED;
	}
	const struct cJSON *rec = in->jobs[j].rec;
	const struct cJSON *v = field ? field_at(rec, field) : rec;
	if (!v) {
		char *e = ctl_escape(name, false);
		err_line("piperun: show: %s: job \"%s\" has no field \"%s\"", in->file, e, field);
		free(e);
		return EXIT_JOBS_FAILED;
	}
	if (field && (!strcmp(field, "stdout") || !strcmp(field, "stderr")))
		return put_stream(out, in, (size_t)j, field, v);
	put_value(out, &in->parts[in->jobs[j].part], v);
	return EXIT_OK;
}

/* --field F alone: a field of the run (the document's top level; in
 * JSONL the trailer's "run", or its "summary"). */
static int show_run_field(struct fd_sink *out, const struct show_in *in, const char *field)
{
	const struct cJSON *v = field_at(in->run, field);
	if (!v && in->trailer)
		v = field_at(in->trailer, field);
	if (!v || !strcmp(field, "jobs")) {
		err_line("piperun: show: %s: the run has no field \"%s\"%s", in->file, field,
			 in->run_part >= 0 ? "" : " (JSONL without its trailer line)");
		return EXIT_JOBS_FAILED;
	}
	put_value(out, &in->parts[in->run_part], v);
	return EXIT_OK;
}

/* Every job's name, or those not ok: one per line, control characters
 * and backslashes escaped as in the text table (so that a name is one
 * line, and --job takes it back); with nul, each exact name ended by a
 * NUL byte (a name cannot hold one: it is a string of the spec). */
static void show_names(struct fd_sink *out, const struct show_in *in, bool failed, bool nul)
{
	for (size_t i = 0; i < in->njobs; i++) {
		const char *st = jv_str(jv_get(in->jobs[i].rec, "status"));
		if (failed && st && !strcmp(st, "ok"))
			continue;
		const char *name = jv_str(jv_get(in->jobs[i].rec, "name"));
		if (nul) {
			fd_sink_write(out, name, strlen(name) + 1);
			continue;
		}
		char *e = ctl_escape(name, true);
		fd_sink_write(out, e, strlen(e));
		fd_sink_write(out, "\n", 1);
		free(e);
	}
}

static int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "job", required_argument, NULL, 'j' },
		{ "field", required_argument, NULL, 'f' },
		{ "failed", no_argument, NULL, 'F' },
		{ "null", no_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd_entry *self = &cmd_show_entry;
	const char *job = NULL, *field = NULL;
	bool failed = false, nul = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":j:f:zh", opts, NULL)) != -1) {
		/* one job, one field: a second one would silently win */
		if ((c == 'j' && job) || (c == 'f' && field))
			return cmd_bad_usage(self, "%s given twice: one %s at a time",
					     c == 'j' ? "--job" : "--field",
					     c == 'j' ? "job" : "field");
		if (c == 'j')
			job = optarg;
		else if (c == 'f')
			field = optarg;
		else if (c == 'F')
			failed = true;
		else if (c == 'z')
			nul = true;
		else
			return cmd_opt_common(self, c, argv);
	}
	if (argc - optind != 1)
		return cmd_bad_usage(self, "expected one results file (or - for stdin)");
	if (failed && (job || field))
		return cmd_bad_usage(self, "--failed goes with neither --job nor --field");
	if (nul && (job || field))
		return cmd_bad_usage(self, "-z/--null goes with the name list (no option or "
				     "--failed), not with --job or --field");
	if (field && (!*field || field[0] == '.' || field[strlen(field) - 1] == '.' ||
		      strstr(field, "..")))
		return cmd_bad_usage(self, "--field: expected a field name like stdout or "
				     "stages.0.pid, got \"%s\"", field);
	struct show_in in = { .file = argv[optind], .run_part = -1 };
	int rc = show_read(&in);
	struct fd_sink *out = cmd_stdout_sink();
	if (rc == EXIT_OK) {
		if (job)
			rc = show_job(out, &in, job, field);
		else if (field)
			rc = show_run_field(out, &in, field);
		else
			show_names(out, &in, failed, nul);
	}
	show_in_free(&in);
	rc = cmd_flush_stdout(self, out, rc);
	free(out);
	return rc;
}

const struct cmd_entry cmd_show_entry = {
	.name = "show",
	.synopsis = "show [--job NAME [--field F] | --field F | [--failed] [-z]] RESULTS|-",
	.summary = "print a job's field of a run's results, raw, for scripts",
	.help =
	"RESULTS is a results document (run -o json, journal) or JSONL (run -o\n"
	"jsonl: one run's job records, then its trailer line); - reads stdin.\n"
	"\n"
	"options:\n"
	"  -j, --job NAME     the job named NAME (a copy as piperun names it:\n"
	"                     sleep#2, conv[a.csv]); alone: its record, one line\n"
	"  -f, --field F      with --job: that field of the job; alone: of the\n"
	"                     run (status, duration_ms, summary.failed, ...).\n"
	"                     F.KEY and F.N reach into objects and arrays\n"
	"                     (stages.0.pid)\n"
	"      --failed       the names of the jobs not ok, one per line\n"
	"  -z, --null         names (no option, --failed) exact, each ended by a\n"
	"                     NUL byte instead of a newline (xargs -0)\n"
	"  -h, --help         show this help\n"
	"With no option: every job's name, one per line, in the input's order.\n"
	"In lines, control characters and backslashes are escaped as in the text\n"
	"table (f[new\\nline], a\\\\b); --job takes a name so spelt too.\n"
	"\n"
	"stdout and stderr are printed as the exact bytes the job wrote, decoded\n"
	"from their encoding (utf-8 text or base64), nothing added; null (not\n"
	"captured) prints nothing.  Any other field: a string as its text, a\n"
	"number as written, true or false, an object or array as compact JSON,\n"
	"each followed by a newline; null prints nothing at all.\n"
	"\n"
	"exit status: 0 printed, 1 no such job or field, 2 usage error or\n"
	"RESULTS unreadable or no results, 3 stdout could not be written.\n",
	.exec = cmd_show,
};
