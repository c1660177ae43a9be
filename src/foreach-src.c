/* SPDX-License-Identifier: GPL-3.0-or-later */
/* foreach-src.c - the values of a foreach source (foreach-src.h): glob,
 * lines, lines0, range, command.  Reading splits as it goes (a value is
 * handed on as soon as its separator is seen); a command is one proc on
 * a loop of its own, in its own process group, under a deadline. */
#include "config.h"
#include "foreach-src.h"
#include "codec.h"
#include "contain.h"
#include "loop.h"
#include "proc.h"
#include "signals.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const keys[] = {
	[FSRC_GLOB] = "glob", [FSRC_LINES] = "lines", [FSRC_LINES0] = "lines0",
	[FSRC_RANGE] = "range", [FSRC_COMMAND] = "command",
};

const char *fsrc_key(enum fsrc_kind k)
{
	return keys[k];
}

bool fsrc_reads(const struct fsrc *s)
{
	return s->kind != FSRC_RANGE;
}

void fsrc_free(struct fsrc *s)
{
	free(s->path);
	if (s->argv)
		for (size_t i = 0; i < s->argc; i++)
			free(s->argv[i]);
	free(s->argv);
	memset(s, 0, sizeof *s);
}

/* ---------------------------------------------------------- one value */

/* A value is text, as a JSON string in the spec is: it becomes a job's
 * name in the results and an argv item, which can hold no NUL. */
static int value_check(const char *v, size_t len, const char *unit, size_t no, char **why)
{
	if (memchr(v, 0, len)) {
		*why = xasprintf("%s %zu: a NUL byte (a value is text)", unit, no);
		return -1;
	}
	struct utf8_check u = { 0 };
	utf8_feed(&u, v, len);
	if (!utf8_valid(&u)) {
		*why = xasprintf("%s %zu: not valid UTF-8 (a value is text)", unit, no);
		return -1;
	}
	return 0;
}

struct counter {
	fsrc_emit_fn emit;
	void *ctx;
	const char *unit;   /* "line", "value", "match": for messages */
	size_t n;           /* values given so far */
	size_t bytes;       /* bytes read so far */
};

static int give(struct counter *k, const char *v, size_t len, char **why)
{
	k->n++;
	if (k->n > FSRC_MAX_VALUES) {
		*why = xasprintf("more than %d values", FSRC_MAX_VALUES);
		return -1;
	}
	if (value_check(v, len, k->unit, k->n, why) < 0)
		return -1;
	return k->emit(k->ctx, v, len, why);
}

/* ---------------------------------------------------------- splitting */

/* Values separated by sep ('\n' or '\0'), fed in pieces: a separator at
 * the very end makes no empty last value, a last value without one still
 * counts. */
struct splitter {
	struct counter k;
	char sep;
	struct buf part;
};

static int split_feed(struct splitter *sp, const char *data, size_t n, char **why)
{
	sp->k.bytes += n;
	if (sp->k.bytes > FSRC_MAX_BYTES) {
		*why = xasprintf("more than %u MiB", FSRC_MAX_BYTES >> 20);
		return -1;
	}
	while (n) {
		const char *e = memchr(data, sp->sep, n);
		size_t m = e ? (size_t)(e - data) : n;
		buf_add(&sp->part, data, m);
		if (!e)
			break;
		buf_addch(&sp->part, 0);
		sp->part.len--;
		int r = give(&sp->k, sp->part.p, sp->part.len, why);
		sp->part.len = 0;
		if (r < 0)
			return -1;
		data += m + 1;
		n -= m + 1;
	}
	return 0;
}

static int split_end(struct splitter *sp, char **why)
{
	int r = 0;
	if (sp->part.len) {
		buf_addch(&sp->part, 0);
		sp->part.len--;
		r = give(&sp->k, sp->part.p, sp->part.len, why);
	}
	buf_free(&sp->part);
	return r;
}

/* ---------------------------------------------------------- the kinds */

static int read_file(const struct fsrc *s, struct splitter *sp, char **why)
{
	int fd = open(s->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*why = xasprintf("%s: cannot open: %s", s->path, strerror(errno));
		return -1;
	}
	char b[65536];
	int r = 0;
	for (;;) {
		ssize_t n = read(fd, b, sizeof b);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*why = xasprintf("%s: cannot read: %s", s->path, strerror(errno));
			r = -1;
			break;
		}
		if (n == 0 || (r = split_feed(sp, b, (size_t)n, why)) < 0)
			break;
	}
	close(fd);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* glob(3) without the shell's extras (no braces, no tilde, no
 * GLOB_NOCHECK: a pattern that matches nothing gives nothing), sorted by
 * bytes here (glob's own sort follows the locale's collation). */
static int do_glob(const struct fsrc *s, struct counter *k, char **why)
{
	glob_t g;
	memset(&g, 0, sizeof g);
	int rc = glob(s->path, GLOB_NOSORT, NULL, &g);
	if (rc == GLOB_NOMATCH) {
		globfree(&g);
		return 0;
	}
	if (rc != 0) {
		*why = xasprintf("%s: %s", s->path, rc == GLOB_NOSPACE ? "out of memory"
				 : "a directory could not be read");
		globfree(&g);
		return -1;
	}
	qsort(g.gl_pathv, g.gl_pathc, sizeof *g.gl_pathv, cmp_str);
	int r = 0;
	for (size_t i = 0; i < g.gl_pathc && r == 0; i++) {
		size_t len = strlen(g.gl_pathv[i]);
		k->bytes += len;
		if (k->bytes > FSRC_MAX_BYTES) {
			*why = xasprintf("more than %u MiB of names", FSRC_MAX_BYTES >> 20);
			r = -1;
		} else {
			r = give(k, g.gl_pathv[i], len, why);
		}
	}
	globfree(&g);
	return r;
}

size_t fsrc_range_count(const struct fsrc *s)
{
	/* |from|, |to| <= 2^53 (spec numbers): no overflow below */
	long long span = s->to - s->from;
	if (s->step == 0 || (span > 0 && s->step < 0) || (span < 0 && s->step > 0))
		return 0;
	unsigned long long n = (unsigned long long)(span / s->step) + 1;
	return n > FSRC_MAX_VALUES ? FSRC_MAX_VALUES + 1 : (size_t)n;
}

static int do_range(const struct fsrc *s, struct counter *k, char **why)
{
	size_t n = fsrc_range_count(s);
	long long v = s->from;
	for (size_t i = 0; i < n; i++, v += s->step) {
		char t[32];
		int len = snprintf(t, sizeof t, "%lld", v);
		if (give(k, t, (size_t)len, why) < 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ command */

struct cmd_run {
	struct loop *loop;
	struct proc p;
	struct watch w_out;
	struct timer t_dead;
	struct timer t_sig;
	struct timer t_held;
	struct contain c;   /* its cgroup and the guardian, as a run's */
	int out;            /* its stdout, ours to read; -1 once closed */
	bool empty;         /* nothing of its group is left */
	bool timed_out;
	bool held;          /* its stdout outlived its group (the grace ran out) */
	double timeout;     /* seconds */
	int interrupted;    /* the signal that stopped it */
	struct splitter *sp;
	char *why;          /* the first error while reading */
};

static void out_close(struct cmd_run *r)
{
	if (r->out < 0)
		return;
	loop_del(r->loop, &r->w_out);
	close(r->out);
	r->out = -1;
}

static void on_out(struct watch *w, uint32_t ev)
{
	(void)ev;
	struct cmd_run *r = w->data;
	char b[65536];
	ssize_t n = read(r->out, b, sizeof b);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0 && split_feed(r->sp, b, (size_t)n, &r->why) == 0)
		return;
	if (n < 0)
		r->why = xasprintf("reading its output: %s", strerror(errno));
	out_close(r);
	/* an error: it need not go on (EOF: it has ended, or will) */
	if (r->why && !r->p.exited)
		proc_terminate(&r->p, SIGTERM, FSRC_COMMAND_KILL_AFTER);
}

static void on_exit_cmd(struct proc *p)
{
	/* what it left in its group goes too, as a job's leftovers do */
	proc_wait_empty(p, SIGTERM, FSRC_COMMAND_KILL_AFTER);
}

static bool is_cmd(pid_t pid, void *ctx)
{
	const struct cmd_run *r = ctx;
	return !r->p.exited && pid == r->p.pid;
}

/* an adopted zombie still counts as a member of its group */
static void on_look(struct proc *p)
{
	struct cmd_run *r = p->ctx;
	contain_reap_orphans(&r->c, is_cmd, r);
}

static void on_held(struct timer *t)
{
	struct cmd_run *r = t->data;
	r->held = true;
	out_close(r);
}

static void on_empty(struct proc *p)
{
	struct cmd_run *r = p->ctx;
	r->empty = true;
	/* its group is gone, its stdout still open: a process that left
	 * the group (setsid) holds it; what it writes within the grace is
	 * still read */
	if (r->out >= 0)
		timer_start(r->loop, &r->t_held, now_ms() + FSRC_COMMAND_HELD_GRACE * 1000,
			    on_held, r);
}

static void on_deadline(struct timer *t)
{
	struct cmd_run *r = t->data;
	r->timed_out = true;
	out_close(r);   /* whoever still holds its write end */
	if (!r->p.exited)
		proc_deadline(&r->p, SIGTERM, FSRC_COMMAND_KILL_AFTER);
}

static void on_signal_poll(struct timer *t)
{
	struct cmd_run *r = t->data;
	/* (run blocks them before the spec loads, for its signalfd: one that
	 * came stays pending, for the caller to act on once the load failed) */
	int sig = signals_pending_terminating();
	if (!sig) {
		timer_start(r->loop, t, now_ms() + 50, on_signal_poll, r);
		return;
	}
	r->interrupted = sig;
	out_close(r);
	if (!r->p.exited)
		proc_terminate(&r->p, SIGTERM, FSRC_COMMAND_KILL_AFTER);
}

static int cmd_start(struct cmd_run *r, const struct fsrc *s, char **why)
{
	struct proc_stdio io[3] = {
		{ PROC_STDIO_NULL, -1 }, { PROC_STDIO_PIPE_OUT, -1 }, { PROC_STDIO_INHERIT, -1 },
	};
	struct proc_opts o = {
		.spawn = { .path = s->exe, .argv = s->argv, .cgroup_fd = -1 },
		.stdio = io, .nstdio = 3, .group = PROC_GROUP_OWN, .contain = &r->c,
		.loop = r->loop, .t0 = now_ms(),
		.on_exit = on_exit_cmd, .on_look = on_look, .on_empty = on_empty, .ctx = r,
	};
	struct proc_error e;
	if (proc_spawn(&r->p, &o, &e) < 0) {
		*why = xasprintf("cannot run %s: %s%s%s", s->argv[0],
				 e.step == SPAWN_EXEC ? "" : spawn_step_name(e.step),
				 e.step == SPAWN_EXEC ? "" : ": ", strerror(e.err));
		return -1;
	}
	r->out = io[1].fd;
	if (loop_add(r->loop, &r->w_out, r->out, EPOLLIN, on_out, r) < 0) {
		/* it runs: stop it, and wait for it like any other end */
		r->why = xasprintf("cannot watch its output: %s", strerror(errno));
		close(r->out);
		r->out = -1;
		proc_terminate(&r->p, SIGKILL, 0);
	}
	return 0;
}

/* How it ended, as an error (NULL: exit status 0). */
static char *cmd_status(const struct cmd_run *r)
{
	const struct stage_result *st = &r->p.status;
	if (r->interrupted)
		return xasprintf("interrupted by %s (stopped)", sig_name(r->interrupted));
	if (r->timed_out)
		return xasprintf("timed out after %g s (stopped)", r->timeout);
	if (!st->has_status)
		return xstrdup("its end could not be read");
	if (st->signal)
		return xasprintf("killed by %s", sig_name(st->signal));
	if (st->exit_code)
		return xasprintf("exited with status %d", st->exit_code);
	if (r->held)
		return xasprintf("exited 0, but its stdout stayed open: a process it "
				 "started (outside its group) still holds it");
	return NULL;
}

/* The command with stdin /dev/null, stdout read here line by line,
 * stderr piperun's own; the environment and directory piperun's. */
static int do_command(const struct fsrc *s, struct splitter *sp, char **why)
{
	struct cmd_run r = { .out = -1, .sp = sp,
			     .timeout = s->timeout > 0 ? s->timeout : FSRC_COMMAND_TIMEOUT };
	/* contained as a run's jobs are (contain.h): a cgroup of its own
	 * where there is one, and a guardian that kills its group and cgroup
	 * should piperun die, even by SIGKILL */
	char *cwhy = NULL;
	if (contain_init(&r.c, &cwhy) < 0) {
		*why = xasprintf("containment: %s", cwhy);
		free(cwhy);
		return -1;
	}
	r.loop = loop_new();
	proc_init(&r.p);
	int rc = cmd_start(&r, s, why);
	if (rc == 0) {
		timer_start(r.loop, &r.t_dead, now_ms() + r.timeout * 1000,
			    on_deadline, &r);
		r.t_sig.data = &r;
		on_signal_poll(&r.t_sig);
		while ((r.out >= 0 || !r.empty) && loop_pending(r.loop))
			if (loop_run_once(r.loop, -1) < 0 && errno != EINTR)
				break;
		timer_stop(r.loop, &r.t_dead);
		timer_stop(r.loop, &r.t_sig);
		timer_stop(r.loop, &r.t_held);
		char *st = cmd_status(&r);
		if (r.why || st) {
			/* why it ended first: what it wrote can wait */
			*why = st && (r.timed_out || r.interrupted || !r.why) ? xstrdup(st) : xstrdup(r.why);
			rc = -1;
		}
		free(st);
	}
	out_close(&r);
	proc_end(&r.p);
	proc_free(&r.p);
	loop_free(r.loop);
	free(r.why);
	/* what it left outside its group that came to us (a daemon whose
	 * parent ended) is killed here, as a run's orphans are */
	contain_fini(&r.c);
	contain_guardian_wait(&r.c);
	escaped_free(r.c.orphans, r.c.norphans);
	return rc;
}

/* ---------------------------------------------------------- interface */

int fsrc_produce(const struct fsrc *s, fsrc_emit_fn emit, void *ctx, char **why)
{
	struct splitter sp = {
		.k = { .emit = emit, .ctx = ctx, .unit = "line" },
		.sep = s->kind == FSRC_LINES0 ? '\0' : '\n',
	};
	int r;
	switch (s->kind) {
	case FSRC_GLOB:
		sp.k.unit = "match";
		return do_glob(s, &sp.k, why);
	case FSRC_RANGE:
		sp.k.unit = "value";
		return do_range(s, &sp.k, why);
	case FSRC_LINES0:
		sp.k.unit = "value";
		/* fall through */
	case FSRC_LINES:
		r = read_file(s, &sp, why);
		break;
	case FSRC_COMMAND:
		r = do_command(s, &sp, why);
		break;
	default:
		*why = xstrdup("unknown source");
		return -1;
	}
	if (r < 0) {
		buf_free(&sp.part);
		return -1;
	}
	return split_end(&sp, why);
}

struct collect {
	char **v;
	size_t n, cap;
};

static int collect_one(void *ctx, const char *value, size_t len, char **why)
{
	(void)why;
	struct collect *c = ctx;
	xgrow(&c->v, &c->cap, c->n + 2, sizeof *c->v);
	c->v[c->n++] = xstrndup(value, len);
	c->v[c->n] = NULL;
	return 0;
}

char **fsrc_values(const struct fsrc *s, size_t *n, char **why)
{
	struct collect c = { 0 };
	*n = 0;
	int r = fsrc_produce(s, collect_one, &c, why);
	if (r == 0 && !c.n) {
		*why = s->kind == FSRC_GLOB ? xasprintf("\"%s\" matches no file", s->path)
			: s->kind == FSRC_RANGE ? xstrdup("the range is empty")
			: s->kind == FSRC_COMMAND ? xstrdup("its output has no lines")
			: xasprintf("%s: no values (the file is empty)", s->path);
		r = -1;
	}
	if (r < 0) {
		for (size_t i = 0; i < c.n; i++)
			free(c.v[i]);
		free(c.v);
		return NULL;
	}
	*n = c.n;
	return c.v;
}
