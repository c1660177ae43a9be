/* SPDX-License-Identifier: GPL-3.0-or-later */
/* chain.c - pipeline jobs: the description the runner hands to a
 * pipeline host, the pipefail rule, and the host itself.  The only file
 * that includes pipeline.h (see chain.h for the design). */
#include "config.h"
#include "chain.h"
#include "spawn.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pipeline.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define DESC_MAGIC 0x31485250u /* "PRH1" */

/* ---------------------------------------------------------- description */

static void put_u32(struct buf *b, uint32_t v)
{
	buf_add(b, &v, sizeof v);
}

static void put_str(struct buf *b, const char *s)
{
	uint32_t n = (uint32_t)strlen(s);
	put_u32(b, n);
	buf_add(b, s, n);
}

int chain_describe(const struct job_spec *j, const enum chain_err *err_route)
{
	struct buf b = { 0 };
	put_u32(&b, DESC_MAGIC);
	/* the host starts with every signal blocked; this is the mask its
	 * stages get back */
	buf_add(&b, spawn_orig_mask(), sizeof(sigset_t));
	put_u32(&b, (uint32_t)j->nstages);
	int next_fd = CHAIN_FD_STAGE0;
	for (size_t i = 0; i < j->nstages; i++) {
		const struct stage_spec *st = &j->stages[i];
		put_str(&b, st->exe);
		put_u32(&b, (uint32_t)st->argc);
		for (size_t k = 0; k < st->argc; k++)
			put_str(&b, st->argv[k]);
		char **envp = st->envp ? st->envp : environ;
		uint32_t n = 0;
		while (envp[n])
			n++;
		put_u32(&b, n);
		for (uint32_t k = 0; k < n; k++)
			put_str(&b, envp[k]);
		put_u32(&b, (uint32_t)err_route[i]);
		put_u32(&b, err_route[i] == CHAIN_ERR_FD ? (uint32_t)next_fd++ : 0);
	}
	int fd = memfd_from("piperun-pipeline", b.p, b.len);
	int e = errno;
	buf_free(&b);
	errno = e;
	return fd;
}

int chain_returncode(const int *rc, size_t n, bool pipefail)
{
	if (!n)
		return 0;
	if (!pipefail)
		return rc[n - 1];
	for (size_t i = n; i-- > 0;) {
		if (rc[i] == 0)
			continue;
		if (i < n - 1 && rc[i] == -SIGPIPE)
			continue;
		return rc[i];
	}
	return 0;
}

/* ----------------------------------------------------------------- host */

struct host_stage {
	char *path;
	char **argv;
	char **envp;
	enum chain_err err;
	int err_fd;
};

static struct host_stage *stages;
static uint32_t nstages;
static sigset_t orig_mask;
static pid_t host_pid;
static bool started;

static int read_all(int fd, struct buf *b)
{
	for (;;) {
		buf_reserve(b, 65536);
		ssize_t r = read(fd, b->p + b->len, b->cap - b->len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		b->len += (size_t)r;
	}
}

struct reader {
	const char *p, *end;
	bool bad;
};

static uint32_t get_u32(struct reader *r)
{
	uint32_t v = 0;
	if (r->end - r->p < (ptrdiff_t)sizeof v) {
		r->bad = true;
		return 0;
	}
	memcpy(&v, r->p, sizeof v);
	r->p += sizeof v;
	return v;
}

static char *get_str(struct reader *r)
{
	uint32_t n = get_u32(r);
	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = true;
		return xstrdup("");
	}
	char *s = xstrndup(r->p, n);
	r->p += n;
	return s;
}

static char **get_strv(struct reader *r)
{
	uint32_t n = get_u32(r);
	if (r->bad || n > (uint32_t)(r->end - r->p)) {
		r->bad = true;
		n = 0;
	}
	char **v = xcalloc(n + 1, sizeof *v);
	for (uint32_t i = 0; i < n; i++)
		v[i] = get_str(r);
	return v;
}

static void record(struct chain_record *rec)
{
	/* under PIPE_BUF: one write is atomic */
	while (write(CHAIN_FD_RESULTS, rec, sizeof *rec) < 0 && errno == EINTR)
		;
}

/* libpipeline's fatal errors call exit(2) (never the runner's: we are the
 * host).  Say so on the results pipe, with errno, before going. */
static void host_atexit(void)
{
	struct chain_record rec = { .type = CHAIN_REC_FATAL, .err = errno,
				    .index = started ? 1 : 0 };
	record(&rec);
}

/* Runs in each forked stage, after libpipeline has set up fds 0 and 1:
 * this process is single-threaded, but only plain system calls anyway. */
static void stage_pre_exec(void *data)
{
	struct host_stage *s = data;
	if (s->err == CHAIN_ERR_MERGE)
		dup2(1, 2);
	else
		dup2(s->err_fd, 2);
	close_range(3, ~0U, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != host_pid)
		_exit(127);
	sigprocmask(SIG_SETMASK, &orig_mask, NULL);
	execve(s->path, s->argv, s->envp);
	int e = errno;
	static const char pre[] = "piperun: ";
	ssize_t w = write(2, pre, sizeof pre - 1);
	w = write(2, s->argv[0], strlen(s->argv[0]));
	w = write(2, ": ", 2);
	const char *msg = strerror(e);
	w = write(2, msg, strlen(msg));
	w = write(2, "\n", 1);
	(void)w;
	_exit(e == ENOENT ? 127 : 126);
}

/* Read the description (fd 3) into orig_mask, nstages and stages.
 * Returns 0, or the host's exit status after saying why on stderr. */
static int host_read_desc(void)
{
	struct buf desc = { 0 };
	if (read_all(CHAIN_FD_DESC, &desc) < 0) {
		fprintf(stderr, "cannot read the pipeline description: %s\n", strerror(errno));
		return 2;
	}
	close(CHAIN_FD_DESC);
	struct reader r = { desc.p, desc.p + desc.len, false };
	if (get_u32(&r) != DESC_MAGIC || r.end - r.p < (ptrdiff_t)sizeof(sigset_t)) {
		fprintf(stderr, "bad pipeline description\n");
		return 2;
	}
	memcpy(&orig_mask, r.p, sizeof orig_mask);
	r.p += sizeof orig_mask;
	nstages = get_u32(&r);
	if (r.bad || nstages == 0 || nstages > SPAWN_STAGES_MAX) {
		fprintf(stderr, "bad pipeline description (%u stages)\n", nstages);
		return 2;
	}
	stages = xcalloc(nstages, sizeof *stages);
	for (uint32_t i = 0; i < nstages && !r.bad; i++) {
		stages[i].path = get_str(&r);
		stages[i].argv = get_strv(&r);
		stages[i].envp = get_strv(&r);
		stages[i].err = (enum chain_err)get_u32(&r);
		stages[i].err_fd = (int)get_u32(&r);
		if (stages[i].err == CHAIN_ERR_JOB)
			stages[i].err_fd = CHAIN_FD_JOBERR;
	}
	if (r.bad) {
		fprintf(stderr, "truncated pipeline description\n");
		return 2;
	}
	buf_free(&desc);
	return 0;
}

/* Report every stage started, then reap our stages as they end (the
 * host's only children: it is no subreaper), so that the runner hears
 * of each end when it happens (the records' times, and a trace's);
 * their statuses and rusage go back to the runner.  Never pipeline_wait
 * or pipeline_free: those would wait again for what wait4 already
 * collected. */
static void host_reap(pipeline *p)
{
	pid_t *pids = xcalloc(nstages, sizeof *pids);
	for (uint32_t i = 0; i < nstages; i++) {
		pids[i] = pipeline_get_pid(p, (int)i);
		struct chain_record rec = { .type = CHAIN_REC_STARTED, .index = (int32_t)i,
					    .pid = pids[i] };
		record(&rec);
	}
	for (uint32_t left = nstages; left > 0; left--) {
		int st;
		struct rusage ru;
		pid_t w;
		do
			w = wait4(-1, &st, 0, &ru);
		while (w < 0 && errno == EINTR);
		uint32_t i = 0;
		while (i < nstages && (w <= 0 || pids[i] != w))
			i++;
		if (i == nstages) {
			/* none left to reap (ECHILD): the rest never report */
			if (w < 0)
				break;
			left++; /* not ours after all */
			continue;
		}
		struct chain_record rec = { .type = CHAIN_REC_ENDED, .index = (int32_t)i,
					    .pid = pids[i], .exit_code = -1 };
		if (w == pids[i]) {
			if (WIFEXITED(st))
				rec.exit_code = WEXITSTATUS(st);
			else
				rec.signal = WTERMSIG(st);
			rec.utime_us = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec;
			rec.stime_us = ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
			rec.maxrss_kb = ru.ru_maxrss;
		}
		record(&rec);
	}
}

int chain_host_main(void)
{
	/* Every catchable signal stays blocked here (the runner starts the
	 * host that way, so even a signal in its first microseconds waits):
	 * the job's signal (TERM, USR1, ...) is for the stages, and the host
	 * must live to report their statuses.  SIGCHLD blocked too, so
	 * libpipeline's handler never reaps anything.  Stages get the
	 * original mask, from the description, back. */
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	host_pid = getpid();
	int rc = host_read_desc();
	if (rc)
		return rc;

	setenv("PIPELINE_QUIET", "1", 1);
	atexit(host_atexit);
	pipeline *p = pipeline_new();
	pipeline_ignore_signals(p, 0);
	for (uint32_t i = 0; i < nstages; i++) {
		pipecmd *cmd = pipecmd_new(stages[i].path);
		for (size_t k = 1; stages[i].argv[k]; k++)
			pipecmd_arg(cmd, stages[i].argv[k]);
		pipecmd_pre_exec(cmd, stage_pre_exec, NULL, &stages[i]);
		pipeline_command(p, cmd);
	}
	pipeline_start(p);
	started = true;

	/* The stages have what they need.  The host lets go of the job's
	 * stdin/stdout and every stderr target, so that EOF and EPIPE reach
	 * the right processes when a stage ends. */
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	dup2(devnull, 0);
	dup2(devnull, 1);
	close(devnull);
	close_range(CHAIN_FD_JOBERR, ~0U, 0);
	host_reap(p);
	_exit(0);
}
