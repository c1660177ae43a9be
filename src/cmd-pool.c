/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-pool.c - `piperun pool`: one task over many items (CONTRACT §5). */
#include "config.h"
#include "cmd.h"
#include "jsonw.h"
#include "pool.h"
#include "task.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum pool_output { POUT_JSON, POUT_JSONL, POUT_TEXT, POUT_NONE, POUT_SUMMARY };

struct pool_cli {
	enum pool_output output;
	struct fd_sink *out;
	struct jw jw;
	const struct pool_items *items;
	double last_flush;
};

static void on_result_jsonl(size_t i, const struct pool_result *r, void *ctx)
{
	struct pool_cli *c = ctx;
	pool_write_item(&c->jw, c->items, i, r);
	jw_newline(&c->jw);
	/* live for `| jq`, without a write per item of a million */
	double now = now_ms();
	if (now - c->last_flush >= 20) {
		/* a reader that went away (`| head -1`) is how a filter is told
		 * to stop: now, not after the last item.  Nothing outlives us:
		 * process-mode workers die with us (PDEATHSIG). */
		if (fd_sink_flush(c->out) < 0 && c->out->err == EPIPE)
			die_of_signal(SIGPIPE);
		c->last_flush = now;
	}
}

/* Do two runs agree on every item? */
static bool identical(const struct pool_result *a, const struct pool_result *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i].status != b[i].status || a[i].kind != b[i].kind)
			return false;
		if (a[i].status != POOL_OK)
			continue;
		if ((a[i].kind == PIPERUN_RESULT_INT && a[i].v.i != b[i].v.i) ||
		    (a[i].kind == PIPERUN_RESULT_NUMBER && a[i].v.d != b[i].v.d) ||
		    (a[i].text && b[i].text && strcmp(a[i].text, b[i].text)))
			return false;
	}
	return true;
}

static int compare(struct pool_opts *o, const struct pool_items *it, struct fd_sink *out)
{
	struct pool_result *base = NULL;
	double base_wall = 0;
	char line[256];
	snprintf(line, sizeof line, "%-8s %7s %9s %9s %8s  %s\n", "MODE", "WORKERS", "WALL s",
		 "CPU s", "SPEEDUP", "IDENTICAL");
	fd_sink_write(out, line, strlen(line));
	int rc = EXIT_OK;
	for (int m = POOL_SERIAL; m <= POOL_ASYNC; m++) {
		struct pool_result *res = pool_results_alloc(it->n);
		struct pool_stats st;
		o->mode = (enum pool_mode)m;
		if (pool_run(o, it, res, &st) < 0) {
			pool_results_free(res, it->n);
			rc = EXIT_RUNNER;
			continue;
		}
		if (!base) {
			base = res;
			base_wall = st.wall_ms;
		}
		bool same = identical(base, res, it->n);
		snprintf(line, sizeof line, "%-8s %7d %9.3f %9.3f %7.2fx  %s\n", pool_mode_name(o->mode),
			 st.workers, st.wall_ms / 1000, st.cpu_ms / 1000,
			 st.wall_ms > 0 ? base_wall / st.wall_ms : 0, same ? "yes" : "no");
		fd_sink_write(out, line, strlen(line));
		if (!same || st.error || st.skipped)
			rc = rc == EXIT_OK ? EXIT_JOBS_FAILED : rc;
		if (res != base)
			pool_results_free(res, it->n);
	}
	pool_results_free(base, it->n);
	return rc;
}

static int cmd_pool(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "task", required_argument, NULL, 'T' },
		{ "task-plugin", required_argument, NULL, 'P' },
		{ "mode", required_argument, NULL, 'm' },
		{ "workers", required_argument, NULL, 'j' },
		{ "items", required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 't' },
		{ "fail-fast", no_argument, NULL, 'F' },
		{ "max-inflight", required_argument, NULL, 'I' },
		{ "output", required_argument, NULL, 'o' },
		{ "compare", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd_entry *self = &cmd_pool_entry;
	const char *task_name = NULL, *plugin = NULL, *items_file = NULL;
	struct pool_opts o = { .mode = POOL_SERIAL };
	long workers = sysconf(_SC_NPROCESSORS_ONLN);
	bool cmp = false;
	struct pool_cli cli = { .output = POUT_JSON };
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":j:o:h", opts, NULL)) != -1) {
		int64_t v;
		switch (c) {
		case 'T':
			task_name = optarg;
			break;
		case 'P':
			plugin = optarg;
			break;
		case 'm':
			if (pool_mode_parse(optarg, &o.mode) < 0)
				return cmd_bad_usage(self, "--mode: expected serial, thread, process or async, got \"%s\"", optarg);
			break;
		case 'j':
			if (!parse_i64(optarg, &v) || v < 1 || v > 4096)
				return cmd_bad_usage(self, "-j/--workers: expected an integer from 1 to 4096, got \"%s\"", optarg);
			workers = (long)v;
			break;
		case 'i':
			items_file = optarg;
			break;
		case 't':
			if (dur_parse(optarg, &o.timeout) < 0)
				return cmd_bad_usage(self, "--timeout: expected %s, got \"%s\"", dur_expected(optarg), optarg);
			break;
		case 'F':
			o.fail_fast = true;
			break;
		case 'I':
			if (!parse_i64(optarg, &v) || v < 1)
				return cmd_bad_usage(self, "--max-inflight: expected an integer from 1 to 9223372036854775807, got \"%s\"", optarg);
			o.max_inflight = (long)v;
			break;
		case 'o':
			if (!strcmp(optarg, "json"))
				cli.output = POUT_JSON;
			else if (!strcmp(optarg, "jsonl"))
				cli.output = POUT_JSONL;
			else if (!strcmp(optarg, "text"))
				cli.output = POUT_TEXT;
			else if (!strcmp(optarg, "none"))
				cli.output = POUT_NONE;
			else if (!strcmp(optarg, "summary"))
				cli.output = POUT_SUMMARY;
			else
				return cmd_bad_usage(self, "--output: expected json, jsonl, text, summary or none, got \"%s\"", optarg);
			break;
		case 'C':
			cmp = true;
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
	if (optind < argc)
		return cmd_bad_usage(self, "unexpected argument '%s' (items come from --items FILE or stdin)", argv[optind]);
	if (!task_name == !plugin)
		return cmd_bad_usage(self, "expected --task NAME or --task-plugin LIB.so:NAME");
	if (task_name) {
		o.task = task_builtin(task_name);
		if (!o.task) {
			err_line("piperun: pool: unknown task \"%s\" (built in: gcd, factorize, sleep)",
				 task_name);
			return EXIT_USAGE;
		}
	} else {
		char *why = NULL;
		o.task = task_plugin(plugin, &why);
		if (!o.task) {
			err_line("piperun: pool: --task-plugin %s", why);
			free(why);
			return EXIT_USAGE;
		}
	}
	o.workers = workers < 1 ? 1 : (int)workers;

	int fd = 0;
	if (items_file && strcmp(items_file, "-")) {
		fd = open(items_file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err_line("piperun: pool: %s: %s", items_file, strerror(errno));
			return EXIT_USAGE;
		}
	}
	struct pool_items it = { 0 };
	char *err = NULL;
	int prc = pool_parse_fd(fd, &it, &err);
	if (fd)
		close(fd);
	if (prc < 0) {
		err_line("piperun: pool: %s: %s", items_file ? items_file : "<stdin>", err);
		free(err);
		pool_items_free(&it);
		return EXIT_USAGE;
	}

	struct fd_sink *out = xcalloc(1, sizeof *out);
	out->fd = 1;
	cli.out = out;
	cli.items = &it;
	jw_init(&cli.jw, fd_sink_write, out, cli.output == POUT_JSON);
	int rc;
	if (cmp) {
		rc = compare(&o, &it, out);
	} else {
		if (cli.output == POUT_JSONL) {
			o.on_result = on_result_jsonl;
			o.ctx = &cli;
		}
		struct pool_result *res = pool_results_alloc(it.n);
		struct pool_stats st;
		if (pool_run(&o, &it, res, &st) < 0) {
			pool_results_free(res, it.n);
			pool_items_free(&it);
			free(out);
			return EXIT_RUNNER;
		}
		struct jw *w = &cli.jw;
		switch (cli.output) {
		case POUT_JSON:
			jw_obj(w, false);
			jw_kstr(w, "task", o.task->name);
			jw_kstr(w, "mode", pool_mode_name(o.mode));
			jw_kint(w, "workers", st.workers);
			jw_knum(w, "duration_ms", st.wall_ms);
			jw_knum(w, "cpu_ms", st.cpu_ms);
			pool_write_summary(w, &st, it.n);
			jw_key(w, "items");
			jw_arr(w, false);
			for (size_t i = 0; i < it.n; i++)
				pool_write_item(w, &it, i, &res[i]);
			jw_arr_end(w);
			jw_obj_end(w);
			jw_newline(w);
			break;
		case POUT_JSONL:
		case POUT_SUMMARY:
			jw_obj(w, false);
			pool_write_summary(w, &st, it.n);
			jw_kstr(w, "task", o.task->name);
			jw_kstr(w, "mode", pool_mode_name(o.mode));
			jw_kint(w, "workers", st.workers);
			jw_knum(w, "duration_ms", st.wall_ms);
			jw_knum(w, "cpu_ms", st.cpu_ms);
			jw_obj_end(w);
			jw_newline(w);
			break;
		case POUT_TEXT: {
			char line[512];
			for (size_t i = 0; i < it.n; i++) {
				/* one item, one line, whatever an error says */
				char *etext = res[i].status != POOL_OK && res[i].text
					      ? ctl_escape(res[i].text, false) : NULL;
				struct buf b = { 0 };
				struct jw tw;
				jw_init(&tw, buf_sink_write, &b, false);
				if (res[i].status == POOL_OK && res[i].kind == PIPERUN_RESULT_INT)
					jw_int(&tw, res[i].v.i);
				else if (res[i].status == POOL_OK && res[i].kind == PIPERUN_RESULT_NUMBER)
					jw_num(&tw, res[i].v.d);
				else if (res[i].status == POOL_OK)
					jw_raw(&tw, res[i].text);
				snprintf(line, sizeof line, "%6zu  %-7s  %.400s\n", i,
					 res[i].status == POOL_OK ? "ok" : res[i].status == POOL_ERROR ? "error" : "skipped",
					 res[i].status == POOL_OK ? (b.p ? b.p : "") : etext ? etext : "");
				fd_sink_write(out, line, strlen(line));
				buf_free(&b);
				free(etext);
			}
			snprintf(line, sizeof line, "%zu items: %zu ok, %zu error, %zu skipped; %s, %d workers, %.1fms\n",
				 it.n, st.ok, st.error, st.skipped, pool_mode_name(o.mode), st.workers, st.wall_ms);
			fd_sink_write(out, line, strlen(line));
			break;
		}
		case POUT_NONE:
			break;
		}
		rc = st.error || st.skipped ? EXIT_JOBS_FAILED : EXIT_OK;
		pool_results_free(res, it.n);
	}
	if (fd_sink_flush(out) < 0) {
		/* a reader that went away ends us as it would any filter */
		if (out->err == EPIPE)
			die_of_signal(SIGPIPE);
		fprintf(stderr, "piperun: pool: writing to stdout: %s\n", strerror(out->err));
		rc = EXIT_RUNNER;
	}
	free(out);
	pool_items_free(&it);
	return rc;
}

const struct cmd_entry cmd_pool_entry = {
	.name = "pool",
	.synopsis = "pool --task NAME|--task-plugin LIB.so:NAME [OPTIONS]",
	.summary = "map an in-process task over many items",
	.help =
	"options:\n"
	"      --task NAME            gcd, factorize or sleep (built in)\n"
	"      --task-plugin LIB:NAME a task from a plugin (piperun-task.h)\n"
	"      --mode MODE            serial (default), thread, process or async\n"
	"  -j, --workers N            threads or processes (default: online CPUs)\n"
	"      --items FILE           items, one per line: numbers separated by\n"
	"                             blanks, or a JSON array (default: stdin)\n"
	"      --timeout DUR          limit for each item\n"
	"      --fail-fast            stop at the first item that fails\n"
	"      --max-inflight N       async: at most N items at once (default: all)\n"
	"  -o, --output FMT           json (default), jsonl, text, summary (the last\n"
	"                             jsonl line only) or none\n"
	"      --compare              run every mode on the same items and print a\n"
	"                             table: wall and CPU time, speedup, identical\n"
	"  -h, --help                 show this help\n"
	"\n"
	"exit status: 0 every item ok, 1 some item failed (or, with --compare,\n"
	"some mode disagreed), 2 usage error or unreadable input (\"line N\"), 3 the\n"
	"pool could not run or its results could not be written.\n",
	.exec = cmd_pool,
};
