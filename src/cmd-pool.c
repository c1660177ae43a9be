/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-pool.c - `piperun pool`: one task over many items (CONTRACT §5). */
#include "config.h"
#include "capture.h"
#include "cmd.h"
#include "jsonw.h"
#include "pool.h"
#include "sha256.h"
#include "task.h"
#include "trace.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum pool_output { POUT_JSON, POUT_JSONL, POUT_TEXT, POUT_NONE, POUT_SUMMARY };

struct pool_cli {
	enum pool_output output;
	struct fd_sink *out;
	struct jw jw;
	const struct pool_items *items;  /* the chunk running */
	struct trace *trace;       /* --trace FILE, or NULL */
	/* the items come a chunk at a time (--chunk, POOL_CHUNK by
	 * default): none is held beyond its chunk */
	struct pool_reader *rd;
	size_t chunk;
	const char *input;         /* the items' name in messages */
	struct pool_stats sum;     /* the chunks' so far */
	size_t total;              /* their items */
	char *gave_up;             /* the later chunks fail with this */
	bool stopped;              /* --fail-fast: no later chunk is read */
	bool ran;                  /* the first chunk ran: results are coming */
	/* -o json: the summary comes before the items, so they wait in an
	 * unlinked file, written from the depth they take in the document */
	struct fd_sink *spill;
	struct jw spill_jw;
};

static void on_result(size_t i, const struct pool_result *r, void *ctx)
{
	struct pool_cli *c = ctx;
	if (c->trace)
		trace_pool_item(c->trace, c->items->base + i, r);
	if (c->output != POUT_JSONL)
		return;
	pool_write_item(&c->jw, c->items, i, r);
	jw_newline(&c->jw);
	/* each record as its item ends: the sink is async (run_once), so a
	 * flush writes what the pipe takes now and hands the rest to a
	 * writer thread once the reader falls behind; the pool never waits
	 * for a slow reader (up to FD_SINK_QUEUE_MAX), and no item's time is
	 * spent writing.  A reader that went away (`| head -1`) is how a
	 * filter is told to stop: now, not after the last item.  Nothing
	 * outlives us: process-mode workers die with us (PDEATHSIG). */
	if (fd_sink_flush(c->out) < 0 && c->out->err == EPIPE)
		die_of_signal(SIGPIPE);
}

/* A pipe or socket: where a reader can fall behind (a file cannot). */
static bool pipe_fd(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

/* --compare: the rows agree when their digests do.  A digest covers
 * what two runs must agree on: every item's status and kind, and an ok
 * item's value (a failed item is the same error in every mode, whatever
 * its message). */
static void results_digest(const struct pool_result *r, size_t n, unsigned char out[32])
{
	struct sha256 h;
	sha256_init(&h);
	for (size_t i = 0; i < n; i++) {
		unsigned char sk[2] = { r[i].status, r[i].kind };
		sha256_update(&h, sk, 2);
		if (r[i].status != POOL_OK)
			continue;
		if (r[i].kind == PIPERUN_RESULT_INT) {
			sha256_update(&h, &r[i].v.i, sizeof r[i].v.i);
		} else if (r[i].kind == PIPERUN_RESULT_NUMBER) {
			double d = r[i].v.d == 0 ? 0 : r[i].v.d; /* -0 == 0 */
			sha256_update(&h, &d, sizeof d);
		} else if (r[i].text) {
			uint64_t len = strlen(r[i].text);
			sha256_update(&h, &len, sizeof len);
			sha256_update(&h, r[i].text, len);
		}
	}
	sha256_final(&h, out);
}

/* What one row of --compare gives. */
struct row {
	int ran;                     /* 0: could not run (why says) */
	struct pool_stats st;
	unsigned char digest[32];
	char why[256];
};

/* One mode's run, in this process (o->mode). */
static void row_here(const struct pool_opts *o, const struct pool_items *it, struct row *row)
{
	struct pool_result *res = pool_results_alloc(it->n);
	char *why = NULL;
	memset(row, 0, sizeof *row);
	if (pool_run(o, it, res, &row->st, &why) < 0) {
		snprintf(row->why, sizeof row->why, "%s", why);
		free(why);
	} else {
		row->ran = 1;
		results_digest(res, it->n, row->digest);
		free(row->st.gave_up);
		row->st.gave_up = NULL;
	}
	pool_results_free(res, it->n);
}

/* A mode that runs the task in this process (serial, thread, async) runs
 * in a child of its own: a task that crashes, or calls exit(), costs its
 * row ("could not run"), not the table.  The child dies with us. */
static void row_forked(const struct pool_opts *o, const struct pool_items *it, struct row *row)
{
	int p[2];
	memset(row, 0, sizeof *row);
	fflush(NULL);
	pid_t parent = getpid(), pid = -1;
	if (pipe2(p, O_CLOEXEC) == 0 && (pid = fork()) == 0) {
		/* SIGTERM, not a pool worker's SIGKILL: a test plugin tells
		 * the two apart (tests/plugins/task-faulty.c) */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		close(p[0]);
		row_here(o, it, row);
		_exit(write_full(p[1], row, sizeof *row) < 0);
	}
	if (pid < 0) {
		snprintf(row->why, sizeof row->why, "pool: cannot fork: %s", strerror(errno));
		return;
	}
	close(p[1]);
	int got = read_full(p[0], row, sizeof *row);
	close(p[0]);
	int ws;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	if (got == 0)
		return;
	memset(row, 0, sizeof *row);
	if (WIFSIGNALED(ws))
		snprintf(row->why, sizeof row->why, "pool: --compare: %s could not run: its "
			 "process was killed by %s (a task crashed it)", pool_mode_name(o->mode),
			 sig_name(WTERMSIG(ws)));
	else
		snprintf(row->why, sizeof row->why, "pool: --compare: %s could not run: its "
			 "process exited with status %d without its results (did a task call "
			 "exit()?)", pool_mode_name(o->mode), WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
}

static int compare(struct pool_opts *o, const struct pool_items *it, struct fd_sink *out)
{
	unsigned char base[32];
	bool have_base = false;
	double base_wall = 0;
	char line[384];
	snprintf(line, sizeof line, "%-8s %7s %9s %9s %8s  %s\n", "MODE", "WORKERS", "WALL s",
		 "CPU s", "SPEEDUP", "IDENTICAL");
	fd_sink_write(out, line, strlen(line));
	int rc = EXIT_OK;
	long max_per_worker = o->max_per_worker, max_inflight = o->max_inflight;
	for (int m = POOL_SERIAL; m <= POOL_ASYNC; m++) {
		struct row row;
		o->mode = (enum pool_mode)m;
		/* --max-items-per-worker: the process row's; --max-inflight:
		 * the async row's */
		o->max_per_worker = m == POOL_PROCESS ? max_per_worker : 0;
		o->max_inflight = m == POOL_ASYNC ? max_inflight : 0;
		if (m == POOL_PROCESS)
			row_here(o, it, &row);   /* its workers crash alone */
		else
			row_forked(o, it, &row);
		if (!row.ran) {
			/* some mode could not run: the table says so, and why */
			fprintf(stderr, "piperun: %s\n", row.why);
			snprintf(line, sizeof line, "%-8s %7s %9s %9s %8s  %s\n",
				 pool_mode_name(o->mode), "-", "-", "-", "-", "could not run");
			fd_sink_write(out, line, strlen(line));
			rc = EXIT_RUNNER;
			continue;
		}
		if (!have_base) {
			memcpy(base, row.digest, sizeof base);
			have_base = true;
			base_wall = row.st.wall_ms;
		}
		bool same = !memcmp(base, row.digest, sizeof base);
		snprintf(line, sizeof line, "%-8s %7d %9.3f %9.3f %7.2fx  %s\n",
			 pool_mode_name(o->mode), row.st.workers, row.st.wall_ms / 1000,
			 row.st.cpu_ms / 1000, row.st.wall_ms > 0 ? base_wall / row.st.wall_ms : 0,
			 same ? "yes" : "no");
		fd_sink_write(out, line, strlen(line));
		/* the modes agree (their failures too: a timeout at the boundary,
		 * a crash of the task in a worker) or they do not */
		if (!same)
			rc = rc == EXIT_OK ? EXIT_JOBS_FAILED : rc;
	}
	return rc;
}

/* ------------------------------------------------------------- parse */

/* What the command line asked for. */
struct pool_cmd {
	const char *task_name, *plugin, *items_file, *trace;
	struct pool_opts o;
	long workers;
	bool compare;
	size_t chunk;                /* --chunk */
	enum pool_output output;
	bool seen[256];              /* options given (cmd_once) */
};

static const struct option pool_long_opts[] = {
	{ "task", required_argument, NULL, 'T' },
	{ "task-plugin", required_argument, NULL, 'P' },
	{ "mode", required_argument, NULL, 'm' },
	{ "workers", required_argument, NULL, 'j' },
	{ "items", required_argument, NULL, 'i' },
	{ "timeout", required_argument, NULL, 't' },
	{ "fail-fast", no_argument, NULL, 'F' },
	{ "max-inflight", required_argument, NULL, 'I' },
	{ "max-items-per-worker", required_argument, NULL, 'W' },
	{ "output", required_argument, NULL, 'o' },
	{ "compare", no_argument, NULL, 'C' },
	{ "trace", required_argument, NULL, 'X' },
	{ "chunk", required_argument, NULL, 'K' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Row order is the order of the names in the usage message. */
static const struct enum_name output_choices[] = {
	{ POUT_JSON, "json" }, { POUT_JSONL, "jsonl" }, { POUT_TEXT, "text" },
	{ POUT_SUMMARY, "summary" }, { POUT_NONE, "none" },
};

/* One option c (its value in optarg).  Returns -1 to go on, else the
 * exit status. */
static int parse_option(int c, char **argv, struct pool_cmd *pc)
{
	/* the options that take one value: given twice is an error */
	static const char *const once[128] = {
		['T'] = "--task", ['P'] = "--task-plugin", ['m'] = "--mode",
		['j'] = "-j/--workers", ['i'] = "--items", ['t'] = "--timeout",
		['I'] = "--max-inflight", ['W'] = "--max-items-per-worker",
		['o'] = "-o/--output", ['X'] = "--trace", ['K'] = "--chunk",
	};
	const struct cmd_entry *self = &cmd_pool_entry;
	int64_t v;
	int pick;
	if (c > 0 && c < 128 && once[c] && cmd_once(self, pc->seen, c, once[c]) < 0)
		return EXIT_USAGE;
	switch (c) {
	case 'T':
		pc->task_name = optarg;
		return -1;
	case 'P':
		pc->plugin = optarg;
		return -1;
	case 'm': {
		size_t n;
		const struct enum_name *t = pool_mode_table(&n);
		if (cmd_choose(self, "--mode", t, n, optarg, &pick) < 0)
			return EXIT_USAGE;
		pc->o.mode = (enum pool_mode)pick;
		return -1;
	}
	case 'j':
		if (cmd_int_range(self, "-j/--workers", optarg, 1, 4096, "", &v) < 0)
			return EXIT_USAGE;
		pc->workers = (long)v;
		return -1;
	case 'i':
		pc->items_file = optarg;
		return -1;
	case 't':
		return cmd_duration(self, "--timeout", optarg, &pc->o.timeout) < 0 ? EXIT_USAGE : -1;
	case 'F':
		pc->o.fail_fast = true;
		return -1;
	case 'I':
		if (cmd_int_range(self, "--max-inflight", optarg, 1, INT64_MAX, "", &v) < 0)
			return EXIT_USAGE;
		pc->o.max_inflight = (long)v;
		return -1;
	case 'W':
		if (cmd_int_range(self, "--max-items-per-worker", optarg, 1, INT64_MAX, "", &v) < 0)
			return EXIT_USAGE;
		pc->o.max_per_worker = (long)v;
		return -1;
	case 'o':
		if (CMD_CHOOSE(self, "--output", output_choices, optarg, &pick) < 0)
			return EXIT_USAGE;
		pc->output = (enum pool_output)pick;
		return -1;
	case 'C':
		pc->compare = true;
		return -1;
	case 'X':
		pc->trace = optarg;
		return -1;
	case 'K':
		if (cmd_int_range(self, "--chunk", optarg, 1, POOL_CHUNK_MAX, "", &v) < 0)
			return EXIT_USAGE;
		pc->chunk = (size_t)v;
		return -1;
	default:
		return cmd_opt_common(self, c, argv);
	}
}

/* Options that mean nothing together are refused, not ignored.
 * Returns -1 to go on, else the exit status. */
static int check_combinations(const struct pool_cmd *pc)
{
	const struct cmd_entry *self = &cmd_pool_entry;
	if (pc->trace && pc->compare)
		return cmd_bad_usage(self, "--trace traces one run: not with --compare");
	/* only a worker process can be replaced: a thread's leaks stay in
	 * the process, and serial and async have no worker to replace */
	if (pc->o.max_per_worker && pc->o.mode != POOL_PROCESS && !pc->compare)
		return cmd_bad_usage(self, "--max-items-per-worker is for --mode process (or --compare)");
	/* only the event loop holds items in flight */
	if (pc->o.max_inflight && pc->o.mode != POOL_ASYNC && !pc->compare)
		return cmd_bad_usage(self, "--max-inflight is for --mode async (or --compare)");
	/* --compare runs every mode and prints its own table */
	if (pc->compare && pc->seen['m'])
		return cmd_bad_usage(self, "--compare runs every mode: it takes no --mode");
	if (pc->compare && pc->seen['o'])
		return cmd_bad_usage(self, "--compare prints its own table: it takes no -o/--output");
	/* --compare holds every item: each mode runs them all */
	if (pc->compare && pc->seen['K'])
		return cmd_bad_usage(self, "--compare reads every item at once: it takes no --chunk");
	return -1;
}

/* The command line into *pc, the task found.  Returns -1 to go on, else
 * the exit status. */
static int parse_args(int argc, char **argv, struct pool_cmd *pc)
{
	const struct cmd_entry *self = &cmd_pool_entry;
	*pc = (struct pool_cmd){
		.o = { .mode = POOL_SERIAL },
		.workers = sysconf(_SC_NPROCESSORS_ONLN),
		.chunk = POOL_CHUNK,
		.output = POUT_JSON,
	};
	int c, rc;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":j:o:h", pool_long_opts, NULL)) != -1)
		if ((rc = parse_option(c, argv, pc)) >= 0)
			return rc;
	if (optind < argc)
		return cmd_bad_usage(self, "unexpected argument '%s' (items come from --items FILE or stdin)", argv[optind]);
	if (!pc->task_name == !pc->plugin)
		return cmd_bad_usage(self, "expected --task NAME or --task-plugin LIB.so:NAME");
	if (pc->task_name) {
		pc->o.task = task_builtin(pc->task_name);
		if (!pc->o.task) {
			char *names = task_builtin_names(", ");
			err_line("piperun: pool: unknown task \"%s\" (built in: %s)", pc->task_name,
				 names);
			free(names);
			return EXIT_USAGE;
		}
	} else {
		char *why = NULL;
		pc->o.task = task_plugin(pc->plugin, &why);
		if (!pc->o.task) {
			err_line("piperun: pool: --task-plugin %s", why);
			free(why);
			return EXIT_USAGE;
		}
	}
	pc->o.workers = pc->workers < 1 ? 1 : (int)pc->workers;
	return check_combinations(pc);
}

/* The items' reader, on --items FILE or stdin, and their first chunk
 * (with --compare, every item: each mode runs them all) read, so that a
 * bad line in it is said before anything runs.  Returns -1, else the
 * exit status (a message said). */
static int load_items(const struct pool_cmd *pc, struct pool_reader *rd, struct pool_items *it)
{
	const char *file = pc->items_file;
	int fd = 0;
	if (file && strcmp(file, "-")) {
		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err_line("piperun: pool: %s: %s", file, strerror(errno));
			return EXIT_USAGE;
		}
	}
	pool_reader_init(rd, fd);
	/* a writer that pauses gets the results of what it wrote (not with
	 * --compare: each mode runs every item) */
	if (!pc->compare)
		rd->idle_ms = POOL_IDLE_MS;
	char *err = NULL;
	if (pool_read_chunk(rd, it, pc->compare ? SIZE_MAX : pc->chunk, &err) < 0) {
		err_line("piperun: pool: %s: %s", file ? file : "<stdin>", err);
		free(err);
		pool_items_free(it);
		pool_reader_free(rd);
		if (fd)
			close(fd);
		return EXIT_USAGE;
	}
	return -1;
}

/* -------------------------------------------------------------- emit */

/* The run's header fields (json: before the summary, jsonl: after). */
static void emit_head(struct jw *w, const struct pool_opts *o, const struct pool_stats *st)
{
	jw_kstr(w, "task", o->task->name);
	jw_kstr(w, "mode", pool_mode_name(o->mode));
	jw_kint(w, "workers", st->workers);
	jw_knum(w, "duration_ms", st->wall_ms);
	jw_knum(w, "cpu_ms", st->cpu_ms);
}

/* One item, one line, whatever an error says. */
static void emit_text_item(struct fd_sink *out, size_t i, const struct pool_result *r)
{
	char line[512];
	char *etext = r->status != POOL_OK && r->text ? ctl_escape(r->text, false) : NULL;
	struct buf b = { 0 };
	struct jw tw;
	jw_init(&tw, buf_sink_write, &b, false);
	if (r->status == POOL_OK && r->kind == PIPERUN_RESULT_INT)
		jw_int(&tw, r->v.i);
	else if (r->status == POOL_OK && r->kind == PIPERUN_RESULT_NUMBER)
		jw_double(&tw, r->v.d);
	else if (r->status == POOL_OK)
		jw_raw(&tw, r->text);
	snprintf(line, sizeof line, "%6zu  %-7s  %.400s\n", i,
		 r->status == POOL_OK ? "ok" : r->status == POOL_ERROR ? "error" : "skipped",
		 r->status == POOL_OK ? (b.p ? b.p : "") : etext ? etext : "");
	fd_sink_write(out, line, strlen(line));
	buf_free(&b);
	free(etext);
}

/* A chunk's items: -o json's to the spill file, -o text's out now
 * (-o jsonl's went out one by one: on_result). */
static void emit_items(struct pool_cli *cli, const struct pool_items *it,
		       const struct pool_result *res)
{
	if (cli->output == POUT_JSON)
		for (size_t i = 0; i < it->n; i++)
			pool_write_item(&cli->spill_jw, it, i, &res[i]);
	else if (cli->output == POUT_TEXT)
		for (size_t i = 0; i < it->n; i++)
			emit_text_item(cli->out, it->base + i, &res[i]);
}

/* -o json's spill file, its writer standing in the items array. */
static int spill_open(struct pool_cli *cli)
{
	int fd = tmpfile_open();
	if (fd < 0)
		return -1;
	cli->spill = xcalloc(1, sizeof *cli->spill);
	cli->spill->fd = fd;
	/* the document's "items" array is at depth 2 */
	jw_init_part(&cli->spill_jw, fd_sink_write, cli->spill, true, 2);
	return 0;
}

static void spill_close(struct pool_cli *cli)
{
	if (!cli->spill)
		return;
	close(cli->spill->fd);
	free(cli->spill);
	cli->spill = NULL;
}

/* The spilled items into the document.  0, or -1 (errno). */
static int spill_copy(struct pool_cli *cli)
{
	if (fd_sink_flush(cli->spill) < 0) {
		errno = cli->spill->err;
		return -1;
	}
	if (lseek(cli->spill->fd, 0, SEEK_SET) < 0)
		return -1;
	char b[1 << 16];
	ssize_t n;
	while ((n = read(cli->spill->fd, b, sizeof b)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		fd_sink_write(cli->out, b, (size_t)n);
	}
	jw_follow(&cli->jw, &cli->spill_jw);
	return 0;
}

/* What comes after the items (json: around them).  0, or -1 when the
 * spilled items could not be read back (a message said). */
static int emit_end(struct pool_cli *cli, const struct pool_opts *o)
{
	struct jw *w = &cli->jw;
	const struct pool_stats *st = &cli->sum;
	switch (cli->output) {
	case POUT_JSON:
		jw_obj(w, false);
		emit_head(w, o, st);
		pool_write_summary(w, st, cli->total);
		jw_key(w, "items");
		jw_arr(w, false);
		if (spill_copy(cli) < 0) {
			err_line("piperun: pool: the items' temporary file: %s", strerror(errno));
			return -1;
		}
		jw_arr_end(w);
		jw_obj_end(w);
		jw_newline(w);
		break;
	case POUT_JSONL:
	case POUT_SUMMARY:
		jw_obj(w, false);
		pool_write_summary(w, st, cli->total);
		emit_head(w, o, st);
		jw_obj_end(w);
		jw_newline(w);
		break;
	case POUT_TEXT: {
		char line[512];
		snprintf(line, sizeof line, "%zu items: %zu ok, %zu error, %zu skipped; %s, %d workers, %.1fms\n",
			 cli->total, st->ok, st->error, st->skipped, pool_mode_name(o->mode),
			 st->workers, st->wall_ms);
		fd_sink_write(cli->out, line, strlen(line));
		break;
	}
	case POUT_NONE:
		break;
	}
	return 0;
}

/* --------------------------------------------------------------- run */

/* One chunk through the pool, its items emitted and its counts added.
 * Returns -1 when the first chunk could not run (*why; nothing was
 * written), else 0: a later chunk that cannot run fails, and so do the
 * ones after it. */
static int run_chunk(struct pool_cli *cli, struct pool_opts *o, const struct pool_items *it,
		     char **why)
{
	cli->items = it;
	struct pool_result *res = pool_results_alloc(it->n);
	struct pool_stats st = { 0 };
	if (!cli->gave_up && pool_run(o, it, res, &st, why) < 0) {
		if (!it->base) {
			pool_results_free(res, it->n);
			return -1;
		}
		cli->gave_up = *why;
		*why = NULL;
	}
	if (cli->gave_up && !st.gave_up) {
		/* not run: failed with the reason the chunks before could not */
		st = (struct pool_stats){ .workers = cli->sum.workers };
		st.error = pool_fail_pending(o, res, it->n, cli->gave_up);
	}
	struct pool_stats *sum = &cli->sum;
	if (!it->base)
		sum->workers = st.workers;
	sum->wall_ms += st.wall_ms;
	sum->cpu_ms += st.cpu_ms;
	sum->ok += st.ok;
	sum->error += st.error;
	sum->skipped += st.skipped;
	if (st.gave_up && !cli->gave_up)
		cli->gave_up = st.gave_up;
	else
		free(st.gave_up);
	if (o->fail_fast && (st.error || st.skipped))
		cli->stopped = true;
	cli->total += it->n;
	cli->ran = true;
	emit_items(cli, it, res);
	pool_results_free(res, it->n);
	return 0;
}

/* Every chunk, then the results' end.  Returns the exit status. */
static int run_stream(struct pool_cli *cli, struct pool_opts *o, struct pool_items *it)
{
	if (cli->output == POUT_JSONL || cli->trace) {
		o->on_result = on_result;
		o->ctx = cli;
	}
	if (cli->output == POUT_JSONL)
		cli->out->async = pipe_fd(cli->out->fd);
	if (cli->output == POUT_JSON && spill_open(cli) < 0) {
		err_line("piperun: pool: cannot make a temporary file for the items: %s",
			 strerror(errno));
		return EXIT_RUNNER;
	}
	char *why = NULL, *err = NULL;
	if (cli->trace)
		trace_pool_begin(cli->trace, pool_mode_name(o->mode));
	int got = 1;
	for (;;) {
		if (run_chunk(cli, o, it, &why) < 0) {
			fprintf(stderr, "piperun: %s\n", why);
			free(why);
			trace_abort(cli->trace);
			return EXIT_RUNNER;
		}
		if (got < 0)
			break; /* the items before a bad line ran: no more */
		if (cli->stopped)
			break; /* --fail-fast: nothing more is read (a pipe's
				  writer may never end) */
		got = pool_read_chunk(cli->rd, it, cli->chunk, &err);
		if (got == 0 || (got < 0 && !it->n))
			break;
	}
	int rc = cli->sum.error || cli->sum.skipped ? EXIT_JOBS_FAILED : EXIT_OK;
	if (emit_end(cli, o) < 0)
		rc = EXIT_RUNNER;
	if (cli->trace && trace_pool_finish(cli->trace, &cli->sum, cli->total) < 0) {
		err_line("piperun: pool: writing the trace: %s", strerror(errno));
		rc = EXIT_RUNNER;
	}
	if (got < 0) {
		/* a bad line past the first chunk: the items before it are
		 * in the results, none after it ran */
		err_line("piperun: pool: %s: %s (the %zu items before it are in the results; "
			 "none after it ran)", cli->input, err, cli->total);
		free(err);
		rc = EXIT_USAGE;
	}
	return rc;
}

static int cmd_pool(int argc, char **argv)
{
	struct pool_cmd pc;
	struct pool_items it = { 0 };
	struct pool_reader rd;
	int rc = parse_args(argc, argv, &pc);
	if (rc < 0)
		rc = load_items(&pc, &rd, &it);
	if (rc >= 0)
		return rc;
	struct fd_sink *out = cmd_stdout_sink();
	/* what a task prints goes to stderr, never into the results */
	int rfd = task_stdout_aside();
	if (rfd >= 0)
		out->fd = rfd;
	struct pool_cli cli = {
		.output = pc.output, .out = out, .items = &it, .rd = &rd,
		.input = pc.items_file ? pc.items_file : "<stdin>", .chunk = pc.chunk,
	};
	/* a pool job of a run with --trace: its items' trace (trace.h);
	 * not for the tasks' children */
	char *asked = getenv(TRACE_ITEMS_ENV) ? xstrdup(getenv(TRACE_ITEMS_ENV)) : NULL;
	unsetenv(TRACE_ITEMS_ENV);
	if (!pc.trace && asked && *asked && !pc.compare)
		pc.trace = asked;
	bool wrote = false;
	if (pc.trace && !(cli.trace = trace_open(pc.trace, "pool", pc.o.task->name))) {
		err_line("piperun: pool: --trace %s: %s", pc.trace, strerror(errno));
		rc = EXIT_USAGE;
		goto out;
	}
	jw_init(&cli.jw, fd_sink_write, out, cli.output == POUT_JSON);
	/* a task that exit()s in this process: status 3, never 0 */
	task_exit_guard("pool", EXIT_RUNNER, -1);
	rc = pc.compare ? compare(&pc.o, &it, out) : run_stream(&cli, &pc.o, &it);
	task_exit_guard(NULL, 0, -1);
	/* the first chunk could not run: nothing was written */
	wrote = pc.compare || cli.ran;
	if (wrote) {
		/* the writer thread's queue too (an async sink, -o jsonl) */
		fd_sink_finish(out);
		rc = cmd_flush_stdout(&cmd_pool_entry, out, rc);
	}
out:
	spill_close(&cli);
	free(cli.gave_up);
	free(out);
	free(asked);
	pool_items_free(&it);
	if (rd.fd)
		close(rd.fd);
	pool_reader_free(&rd);
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
	"      --max-items-per-worker N  process: a worker process ends after N\n"
	"                             items and a fresh one goes on (default: never)\n"
	"  -o, --output FMT           json (default), jsonl, text, summary (the last\n"
	"                             jsonl line only) or none\n"
	"      --compare              run every mode on the same items and print a\n"
	"                             table: wall and CPU time, speedup, identical\n"
	"      --chunk N              hold at most N items at once (default 262144):\n"
	"                             each chunk is one round of workers\n"
	"      --trace FILE           write a trace to FILE (Chrome Trace Event\n"
	"                             Format): per worker its first 100 and slowest\n"
	"                             100 items, and counters\n"
	"  -h, --help                 show this help\n"
	"\n"
	"exit status: 0 every item ok (with --compare: every mode gave the same\n"
	"results), 1 some item failed (with --compare: some mode disagreed), 2\n"
	"usage error or unreadable input (\"line N\"), 3 the pool could not run\n"
	"or its results could not be written.\n",
	.exec = cmd_pool,
};
