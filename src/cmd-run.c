/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-run.c - `piperun run`: load a spec, run its jobs, print results. */
#include "config.h"
#include "cmd.h"
#include "jsonw.h"
#include "report.h"
#include "runner.h"
#include "spec.h"
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
	bool begun;
	bool *done;
	size_t next;
};

static void on_start(struct run_result *res, void *ctx)
{
	struct run_cli *c = ctx;
	c->res = res;
	c->done = xcalloc(res->njobs ? res->njobs : 1, sizeof *c->done);
}

/* Write the records that are next in spec order. */
static void emit_ready(struct run_cli *c)
{
	while (c->next < c->res->njobs && c->done[c->next]) {
		struct job *j = &c->res->jobs[c->next++];
		if (!c->begun) {
			if (c->stream_out)
				report_doc_begin(&c->jw_out, c->spec, c->res->started_at,
						 c->res->limit, c->res->containment);
			if (c->res_sink)
				report_doc_begin(&c->jw_res, c->spec, c->res->started_at,
						 c->res->limit, c->res->containment);
			c->begun = true;
		}
		if (c->stream_out)
			report_job(&c->jw_out, j);
		if (c->res_sink)
			report_job(&c->jw_res, j);
		if (c->release)
			job_release(j);
	}
}

/* Records go out as jobs end.  Once stdout's reader is gone (`| head -1`)
 * the run stops as if by SIGPIPE; once stdout or --results cannot take
 * them otherwise (a full disk), it stops with exit 3. */
static enum results_state on_done(const struct job *jc, void *ctx)
{
	struct run_cli *c = ctx;
	struct job *j = &c->res->jobs[jc->index];
	if (c->output == OUT_JSONL) {
		report_job(&c->jw_out, j);
		jw_newline(&c->jw_out);
		/* one record per line as jobs end: `| jq` sees them live */
		fd_sink_flush(c->out);
	}
	c->done[j->index] = true;
	if (c->stream_out || c->res_sink) {
		emit_ready(c);
		if (c->stream_out)
			fd_sink_flush(c->out);
		if (c->res_sink)
			fd_sink_flush(c->res_sink);
	} else if (c->release) {
		job_release(j);
	}
	if (c->out->err == EPIPE)
		return RESULTS_CLOSED;
	return c->out->err || (c->res_sink && c->res_sink->err) ? RESULTS_FAILED : RESULTS_OK;
}

/* Does some job hold piperun's own stdout (inherit, untagged)?  Its
 * output comes before the JSON document then. */
static bool inherits_stdout(const struct spec *s, bool tag)
{
	for (size_t i = 0; !tag && i < s->njobs; i++)
		if (s->jobs[i].out.mode == IO_INHERIT)
			return true;
	return false;
}

/* With no results on stdout: does piperun copy some job's output there
 * (tee; with --tag, every stdout it reads but a pool job's results)? */
static bool copies_to_stdout(const struct spec *s, bool tag)
{
	for (size_t i = 0; i < s->njobs; i++)
		if (job_stream_live(&s->jobs[i], &s->jobs[i].out, tag))
			return true;
	return false;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "max-parallel", required_argument, NULL, 'j' },
		{ "mode", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 't' },
		{ "fail-fast", no_argument, NULL, 'F' },
		{ "output", required_argument, NULL, 'o' },
		{ "results", required_argument, NULL, 'r' },
		{ "only", required_argument, NULL, 'O' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "progress", required_argument, NULL, 'P' },
		{ "tag", no_argument, NULL, 'T' },
		{ "timestamps", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd_entry *self = &cmd_run_entry;
	struct run_cli cli = { .output = OUT_JSON };
	long max_parallel = -1, fail_fast = -1;
	enum progress_when progress = PROGRESS_AUTO;
	bool tag = false, timestamps = false, quiet = false;
	int mode = -1;
	double timeout = -1;
	char **only = NULL;
	size_t nonly = 0, only_cap = 0;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":j:o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': {
			int64_t v;
			if (!parse_i64(optarg, &v) || v < 0 || v > 1000000)
				return cmd_bad_usage(self, "-j/--max-parallel: expected an integer from 0 to 1000000 (0: as many as the limits allow), got \"%s\"", optarg);
			max_parallel = (long)v;
			break;
		}
		case 'm':
			if (!strcmp(optarg, "async"))
				mode = MODE_ASYNC;
			else if (!strcmp(optarg, "serial"))
				mode = MODE_SERIAL;
			else if (!strcmp(optarg, "thread"))
				mode = MODE_THREAD;
			else
				return cmd_bad_usage(self, "--mode: expected async, thread or serial, got \"%s\"", optarg);
			break;
		case 't':
			if (dur_parse(optarg, &timeout) < 0)
				return cmd_bad_usage(self, "--timeout: expected %s, got \"%s\"", dur_expected(optarg), optarg);
			break;
		case 'F':
			fail_fast = 1;
			break;
		case 'o':
			if (!strcmp(optarg, "json"))
				cli.output = OUT_JSON;
			else if (!strcmp(optarg, "jsonl"))
				cli.output = OUT_JSONL;
			else if (!strcmp(optarg, "text"))
				cli.output = OUT_TEXT;
			else if (!strcmp(optarg, "none"))
				cli.output = OUT_NONE;
			else
				return cmd_bad_usage(self, "--output: expected json, jsonl, text or none, got \"%s\"", optarg);
			break;
		case 'r':
			cli.results = optarg;
			break;
		case 'O':
			xgrow(&only, &only_cap, nonly + 1, sizeof *only);
			only[nonly++] = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'T':
			tag = true;
			break;
		case 'S':
			timestamps = true;
			break;
		case 'P':
			if (!strcmp(optarg, "auto"))
				progress = PROGRESS_AUTO;
			else if (!strcmp(optarg, "always"))
				progress = PROGRESS_ALWAYS;
			else if (!strcmp(optarg, "never"))
				progress = PROGRESS_NEVER;
			else
				return cmd_bad_usage(self, "--progress: expected auto, always or never, got \"%s\"", optarg);
			break;
		case 'h':
			cmd_help(self);
			return EXIT_OK;
		case ':':
			return cmd_bad_usage(self, "option '%s' needs a value", argv[optind - 1]);
		default:
			return cmd_bad_usage(self, "unknown option '%s'", argv[optind - 1]);
		}
	}
	/* -q wins wherever it stands: a later -o or --progress does not undo it */
	if (quiet) {
		cli.output = OUT_NONE;
		progress = PROGRESS_NEVER;
	}
	if (argc - optind != 1) {
		free(only);
		return cmd_bad_usage(self, argc - optind ? "expected one spec, got %d arguments"
					   : "expected a spec file (or - for stdin)%.0d", argc - optind);
	}

	struct errlist errs = { 0 };
	/* Read the spec (a SIGINT while reading a pipe or a FIFO still
	 * interrupts), then block the run's signals: from here on an
	 * interrupt is an event the run will see through its signalfd, even
	 * while a large spec is parsed and expanded: every job gets its
	 * record (all skipped) and piperun dies of the signal. */
	size_t text_len = 0;
	char *text = spec_read(argv[optind], &text_len, &errs);
	/* --results naming a FIFO (or a device) may wait for its reader:
	 * open it while a SIGINT still ends piperun (nothing started yet).
	 * A regular file is opened once the spec is known good, so that a
	 * spec error leaves it untouched. */
	int results_fd = -1;
	struct stat rst;
	if (text && cli.results && stat(cli.results, &rst) == 0 &&
	    (S_ISFIFO(rst.st_mode) || S_ISCHR(rst.st_mode)) &&
	    (results_fd = open(cli.results, O_WRONLY | O_TRUNC | O_CLOEXEC)) < 0) {
		err_line("piperun: --results %s: %s", cli.results, strerror(errno));
		free(text);
		free(only);
		errlist_free(&errs);
		return EXIT_USAGE;
	}
	runner_block_signals();
	struct spec *s = text ? spec_load_mem(strcmp(argv[optind], "-") ? argv[optind] : "<stdin>",
					      text, text_len, &errs) : NULL;
	free(text);
	if (s && nonly && spec_select(s, only, nonly, &errs) < 0) {
		spec_free(s);
		s = NULL;
	}
	free(only);
	if (!s) {
		errlist_print(&errs);
		errlist_free(&errs);
		if (results_fd >= 0)
			close(results_fd);
		return EXIT_USAGE;
	}
	errlist_free(&errs);
	if (mode >= 0)
		s->mode = (enum run_mode)mode;
	if (max_parallel >= 0)
		s->max_parallel = max_parallel;
	if (timeout >= 0)
		s->timeout = timeout;
	if (fail_fast >= 0)
		s->fail_fast = fail_fast;

	if (cli.results && results_fd < 0) {
		/* O_NONBLOCK: should a FIFO have appeared there meanwhile, it
		 * fails (no reader) rather than wait with signals blocked */
		results_fd = open(cli.results, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK,
				  0666);
		if (results_fd >= 0)
			fcntl(results_fd, F_SETFL, fcntl(results_fd, F_GETFL) & ~O_NONBLOCK);
		if (results_fd < 0) {
			err_line("piperun: --results %s: %s", cli.results, strerror(errno));
			spec_free(s);
			return EXIT_USAGE;
		}
	}

	struct fd_sink *out = xcalloc(1, sizeof *out);
	out->fd = 1;
	cli.out = out;
	cli.spec = s;
	jw_init(&cli.jw_out, fd_sink_write, out, cli.output == OUT_JSON);
	if (results_fd >= 0) {
		cli.res_sink = xcalloc(1, sizeof *cli.res_sink);
		cli.res_sink->fd = results_fd;
		jw_init(&cli.jw_res, fd_sink_write, cli.res_sink, true);
	}
	/* --timestamps alone means tagged lines with the time of day */
	tag = tag || timestamps || s->tag;
	bool results_stdout = cli.output != OUT_NONE;
	cli.stream_out = cli.output == OUT_JSON && !inherits_stdout(s, tag);
	cli.release = !(cli.output == OUT_JSON && !cli.stream_out);
	struct run_config cfg = {
		.mode = s->mode,
		.max_parallel = s->max_parallel,
		.timeout = s->timeout,
		.fail_fast = s->fail_fast,
		.progress = progress,
		.tag = tag,
		.timestamps = timestamps,
		.live_to_stderr = results_stdout,
		.on_start = on_start,
		.on_done = on_done,
		/* watched, so that a reader gone stops the run at once */
		.out_fd = results_stdout || copies_to_stdout(s, tag) ? 1 : -1,
		.ctx = &cli,
	};
	struct run_result res;
	char *why;
	if (runner_run(s, &cfg, &res, &why) < 0) {
		fprintf(stderr, "piperun: %s\n", why);
		free(why);
		free(out);
		if (results_fd >= 0)
			close(results_fd);
		spec_free(s);
		return EXIT_RUNNER;
	}

	if (res.error)
		fprintf(stderr, "piperun: %s\n", res.error);
	/* whatever did not stream yet (everything, when the JSON document
	 * had to wait for live output to end) */
	emit_ready(&cli);
	switch (cli.output) {
	case OUT_JSON:
		if (cli.stream_out) {
			if (!cli.begun)
				report_doc_begin(&cli.jw_out, s, res.started_at, res.limit,
						 res.containment);
			report_doc_end(&cli.jw_out, &res);
		} else {
			report_document(&cli.jw_out, s, &res);
		}
		break;
	case OUT_JSONL:
		report_summary_line(&cli.jw_out, s, &res);
		break;
	case OUT_TEXT:
		report_text(fd_sink_write, out, s, &res);
		break;
	case OUT_NONE:
		break;
	}
	int rc = EXIT_OK;
	if (fd_sink_flush(out) < 0 && out->err == EPIPE) {
		/* stdout's reader went away, as a filter does when it has
		 * seen enough: no message; --results tells, and we die of
		 * SIGPIPE (CONTRACT §8.2) */
		if (res.stop != STOP_SIGNAL) {
			res.stop = STOP_SIGNAL;
			res.signal = SIGPIPE;
		}
	} else if (out->err) {
		fprintf(stderr, "piperun: writing results to stdout: %s\n", strerror(out->err));
		res.output_failed = true;
		rc = EXIT_RUNNER;
	}
	if (cli.res_sink) {
		if (!cli.begun)
			report_doc_begin(&cli.jw_res, s, res.started_at, res.limit, res.containment);
		report_doc_end(&cli.jw_res, &res);
		if (fd_sink_flush(cli.res_sink) < 0 || close(results_fd) < 0) {
			err_line("piperun: writing results to %s: %s", cli.results,
				 strerror(cli.res_sink->err ? cli.res_sink->err : errno));
			rc = EXIT_RUNNER;
		}
		free(cli.res_sink);
	}
	if (rc == EXIT_OK && strcmp(report_run_status(&res), "ok"))
		rc = EXIT_JOBS_FAILED;
	int sig = res.stop == STOP_SIGNAL ? res.signal : 0;
	run_result_free(&res);
	spec_free(s);
	free(out);
	free(cli.done);
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
	"  -j, --max-parallel N   run at most N jobs at once (0: as many as the\n"
	"                         fd and process limits allow)\n"
	"      --mode MODE        async (default: one event loop), thread (a pool of\n"
	"                         -j worker threads) or serial\n"
	"      --timeout DUR      limit for the whole run (\"90s\", \"5m\")\n"
	"      --fail-fast        stop at the first job that is not ok\n"
	"  -o, --output FMT       json (default), jsonl, text or none\n"
	"      --results FILE     also write the JSON document to FILE\n"
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
