/* SPDX-License-Identifier: GPL-3.0-or-later */
/* report.c - job records and result documents (see report.h). */
#include "config.h"
#include "report.h"
#include "kind.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

const char *report_run_status(const struct run_result *res)
{
	if (res->stop == STOP_SIGNAL)
		return "interrupted";
	if (res->stop == STOP_OUTPUT || res->output_failed)
		return "error";
	for (size_t i = 0; i < res->njobs; i++)
		if (res->jobs[i].status != ST_OK)
			return "failed";
	return "ok";
}

/* v with the job's secrets redacted; a job without any (the common
 * case) has nothing to copy. */
static void str_redacted(struct jw *w, const struct job_spec *s, const char *v)
{
	if (!s->nsecret_values) {
		jw_str(w, v);
		return;
	}
	char *r = spec_redact(s, v);
	jw_str(w, r);
	free(r);
}

static void kstr_redacted(struct jw *w, const struct job_spec *s, const char *k,
			  const char *v)
{
	jw_key(w, k);
	str_redacted(w, s, v);
}

/* key = name + suffix ("stdout" "_bytes"): a stream's companion field. */
static const char *stream_key(char key[32], const char *name, const char *suffix)
{
	size_t n = strlen(name), m = strlen(suffix);
	if (n + m >= 32)
		n = 31 - m;
	memcpy(key, name, n);
	memcpy(key + n, suffix, m + 1);
	return key;
}

static void feed_str(void *ctx, const void *p, size_t n)
{
	jw_str_feed(ctx, p, n);
}

static void feed_b64(void *ctx, const void *p, size_t n)
{
	jw_b64_feed(ctx, p, n);
}

/* A stream that was not captured: its fields, null. */
static void report_no_stream(struct jw *w, const char *name)
{
	char key[32];
	jw_knull(w, name);
	jw_knull(w, stream_key(key, name, "_encoding"));
	jw_knull(w, stream_key(key, name, "_bytes"));
	jw_kbool(w, stream_key(key, name, "_truncated"), false);
}

/* stdout / stderr and their companion fields. */
static void report_stream(struct jw *w, const struct job *j, const char *name,
			  const struct io_spec *io, const struct capture *c)
{
	char key[32];
	bool captured = io->mode == IO_CAPTURE || io->mode == IO_TEE;
	enum encoding enc = j->spec->encoding;
	if (!captured) {
		report_no_stream(w, name);
		return;
	}
	bool b64 = enc == ENC_BASE64 ||
		   (enc == ENC_AUTO && c->active && (!utf8_valid(&c->utf8) || c->utf8.nul));
	bool lossy = false;
	jw_key(w, name);
	if (b64) {
		jw_b64_open(w);
		if (c->active)
			capture_each(c, feed_b64, w);
		jw_b64_close(w);
	} else {
		jw_str_open(w);
		if (c->active)
			capture_each(c, feed_str, w);
		lossy = jw_str_close(w);
	}
	jw_kstr(w, stream_key(key, name, "_encoding"), b64 ? "base64" : "utf-8");
	jw_kint(w, stream_key(key, name, "_bytes"), (int64_t)c->total);
	jw_kbool(w, stream_key(key, name, "_truncated"), capture_truncated(c));
	if (enc == ENC_UTF8)
		jw_kbool(w, stream_key(key, name, "_lossy"), lossy);
	if (j->spec->digest) {
		char hex[65];
		capture_hex(c, hex);
		stream_key(key, name, "_sha256");
		if (c->has_digest)
			jw_kstr(w, key, hex);
		else if (j->attempts == 0 || !c->active) {
			/* never ran: the digest of no bytes */
			jw_kstr(w, key, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
		} else
			jw_knull(w, key);
	}
}

static void report_rc(struct jw *w, bool has, int rc)
{
	jw_key(w, "returncode");
	if (has)
		jw_int(w, rc);
	else
		jw_null(w);
	jw_key(w, "exit_code");
	if (has && rc >= 0)
		jw_int(w, rc);
	else
		jw_null(w);
	jw_key(w, "signal");
	if (has && rc < 0)
		jw_str(w, sig_name(-rc));
	else
		jw_null(w);
}

/* A stage's pid, how it ended and what it used. */
static void report_stage_status(struct jw *w, const struct stage_result *r)
{
	jw_key(w, "pid");
	if (r->pid)
		jw_int(w, r->pid);
	else
		jw_null(w);
	report_rc(w, r->has_status, stage_returncode(r));
	if (r->has_status) {
		jw_knum(w, "user_ms", r->user_ms);
		jw_knum(w, "sys_ms", r->sys_ms);
		jw_kint(w, "maxrss_kb", r->maxrss_kb);
	} else {
		jw_knull(w, "user_ms");
		jw_knull(w, "sys_ms");
		jw_knull(w, "maxrss_kb");
	}
}

/* The signals that stopped it. */
static void report_termination(struct jw *w, const struct proc *p)
{
	jw_key(w, "termination");
	jw_arr(w, false);
	for (size_t i = 0; i < p->nterm; i++) {
		jw_obj(w, true);
		jw_kstr(w, "signal", sig_name(p->term[i].signal));
		jw_knum(w, "at_ms", p->term[i].at_ms);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static const char *containment_name(const struct proc *p)
{
	return p->group == PROC_GROUP_NONE ? "none" : p->in_cgroup ? "cgroup" : "process-group";
}

static void report_stage(struct jw *w, const struct job *j, size_t i)
{
	const struct job_spec *s = j->spec;
	const struct stage_spec *st = &s->stages[i];
	const struct stage_result *r = &job_run_of(j)->stages[i];
	jw_obj(w, false);
	jw_key(w, "argv");
	jw_arr(w, true);
	for (size_t k = 0; k < st->argc; k++)
		str_redacted(w, s, st->argv[k]);
	jw_arr_end(w);
	report_stage_status(w, r);
	if (kind_get(s->kind)->many_stages) {
		jw_key(w, "started_ms");
		if (r->pid)
			jw_num(w, r->started_ms);
		else
			jw_null(w);
		jw_key(w, "ended_ms");
		if (r->has_status)
			jw_num(w, r->ended_ms);
		else
			jw_null(w);
	}
	if (kind_get(s->kind)->many_stages && st->has_err && st->err.mode == IO_CAPTURE) {
		static const struct capture none = { .spill_fd = -1 };
		report_stream(w, j, "stderr", &st->err, job_run_of(j)->stage_err ? &job_run_of(j)->stage_err[i] : &none);
	}
	jw_obj_end(w);
}

/* Processes left behind, their argv redacted with the secrets of the
 * jobs they may belong to (a job's own; for the run's orphans, every job). */
static void report_escaped(struct jw *w, const struct escaped *e, size_t n,
			   const struct job_spec *const *specs, size_t nspecs)
{
	jw_arr(w, false);
	for (size_t i = 0; i < n; i++) {
		jw_obj(w, true);
		jw_kint(w, "pid", e[i].pid);
		char *a = spec_redact_jobs(specs, nspecs, e[i].argv);
		jw_kstr(w, "argv", a);
		free(a);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

/* A job restored from a journal: its record there, marked resumed. */
static void report_restored(struct jw *w, const struct job *j)
{
	static const char *const skip[] = { "resumed", NULL };
	jw_obj(w, false);
	spec_json_splice_members(w, j->restored, strlen(j->restored), skip, NULL);
	jw_kbool(w, "resumed", true);
	jw_obj_end(w);
}

void report_job(struct jw *w, const struct job *j)
{
	const struct job_spec *s = j->spec;
	bool started = j->attempts > 0;
	if (j->restored) {
		report_restored(w, j);
		return;
	}
	jw_obj(w, false);
	kstr_redacted(w, s, "name", s->name);
	jw_kstr(w, "kind", kind_name(s->kind));
	jw_kstr(w, "status", job_status_name(j->status));
	report_rc(w, j->has_rc, j->returncode);
	jw_kbool(w, "timed_out", j->status == ST_TIMEOUT);
	jw_key(w, "started_ms");
	if (started)
		jw_num(w, j->started_ms);
	else
		jw_null(w);
	jw_knum(w, "duration_ms", started ? j->duration_ms : 0.0);
	jw_kint(w, "attempts", j->attempts);
	jw_key(w, "slot");
	if (started && j->slot >= 0)
		jw_int(w, j->slot);
	else
		jw_null(w);
	jw_key(w, "error");
	if (j->error)
		str_redacted(w, s, j->error);
	else
		jw_null(w);
	const struct job_kind *k = kind_get(s->kind);
	if (k->splice_stdout && k->splice_stdout(w, j)) {
		/* the pool's results are spliced in; its stdout was them */
		jw_knull(w, "stdout");
		jw_knull(w, "stdout_encoding");
		jw_kint(w, "stdout_bytes", (int64_t)job_run_of(j)->out.total);
		jw_kbool(w, "stdout_truncated", false);
	} else {
		report_stream(w, j, "stdout", &s->out, &job_run_of(j)->out);
	}
	report_stream(w, j, "stderr", &s->err, &job_run_of(j)->err);
	if (k->report_more && started)
		k->report_more(w, j);
	jw_key(w, "stages");
	jw_arr(w, false);
	if (started && job_run_of(j)->stages)
		for (size_t i = 0; i < job_run_of(j)->nstages; i++)
			report_stage(w, j, i);
	jw_arr_end(w);
	report_termination(w, &job_run_of(j)->proc);
	if (s->retries || job_run_of(j)->nhist > 1) {
		jw_key(w, "attempt_history");
		jw_arr(w, false);
		for (size_t i = 0; i < job_run_of(j)->nhist; i++) {
			const struct attempt_rec *a = &job_run_of(j)->hist[i];
			jw_obj(w, true);
			jw_kstr(w, "status", job_status_name(a->status));
			jw_key(w, "returncode");
			if (a->has_rc)
				jw_int(w, a->returncode);
			else
				jw_null(w);
			jw_knum(w, "started_ms", a->started_ms);
			jw_knum(w, "duration_ms", a->duration_ms);
			jw_key(w, "slot");
			if (a->slot >= 0)
				jw_int(w, a->slot);
			else
				jw_null(w);
			jw_obj_end(w);
		}
		jw_arr_end(w);
	}
	if (started)
		jw_kstr(w, "containment", containment_name(&job_run_of(j)->proc));
	jw_key(w, "escaped");
	report_escaped(w, job_run_of(j)->proc.escaped, job_run_of(j)->proc.nescaped, &j->spec, 1);
	if (j->throttled)
		jw_kint(w, "throttled", j->throttled);
	if (job_run_of(j)->proc.report_key && job_run_of(j)->proc.report_json) {
		/* where the executor ran it (slurm: its job, step and node) */
		jw_key(w, job_run_of(j)->proc.report_key);
		jw_raw(w, job_run_of(j)->proc.report_json);
	}
	jw_obj_end(w);
}

void report_command(struct jw *w, const struct command_record *r)
{
	const struct stage_result *st = &r->proc->status;
	jw_obj(w, false);
	jw_kstr(w, "name", r->name);
	jw_kstr(w, "kind", kind_run.name);
	jw_kstr(w, "status", job_status_name(r->status));
	report_rc(w, st->has_status, stage_returncode(st));
	jw_kbool(w, "timed_out", r->status == ST_TIMEOUT);
	jw_knum(w, "started_ms", 0.0);
	jw_knum(w, "duration_ms", r->duration_ms);
	jw_kint(w, "attempts", 1);
	jw_kint(w, "slot", 0);
	jw_knull(w, "error");
	report_no_stream(w, "stdout");
	report_no_stream(w, "stderr");
	jw_key(w, "stages");
	jw_arr(w, false);
	jw_obj(w, false);
	jw_key(w, "argv");
	jw_arr(w, true);
	for (char *const *a = r->argv; *a; a++)
		jw_str(w, *a);
	jw_arr_end(w);
	report_stage_status(w, st);
	jw_obj_end(w);
	jw_arr_end(w);
	report_termination(w, r->proc);
	jw_kstr(w, "containment", containment_name(r->proc));
	jw_key(w, "escaped");
	report_escaped(w, r->proc->escaped, r->proc->nescaped, NULL, 0);
	jw_obj_end(w);
}

static void report_counts(struct jw *w, const struct run_result *res)
{
	jw_key(w, "summary");
	jw_obj(w, true);
	jw_kint(w, "total", (int64_t)res->njobs);
	for (int st = ST_OK; st < ST__COUNT; st++)
		jw_kint(w, job_status_name(st), (int64_t)res->counts[st]);
	jw_obj_end(w);
}

/* The runner's own cost: peak RSS (VmHWM: ru_maxrss would include what a
 * launcher used before exec) and CPU time. */
static void report_runner(struct jw *w, const struct run_result *res)
{
	long hwm = -1;
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmHWM:", 6))
			hwm = atol(line + 6);
	if (f)
		fclose(f);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	jw_key(w, "runner");
	jw_obj(w, true);
	jw_kint(w, "peak_rss_kb", hwm);
	jw_knum(w, "user_ms", ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3);
	jw_knum(w, "sys_ms", ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3);
	jw_kint(w, "fds_start", res->fds_start);
	jw_kint(w, "fds_end", res->fds_end);
	jw_kint(w, "children_left", res->children_left);
	/* max_parallel is the ceiling; adaptive moves a window under it */
	jw_kstr(w, "parallelism", res->adaptive ? "adaptive" : "fixed");
	jw_kint(w, "peak_parallel", res->peak_parallel);
	jw_obj_end(w);
}

/* What is known when the run starts. */
static void report_head(struct jw *w, const struct spec *s, const char *started_at,
			long limit, enum contain_mode containment)
{
	jw_kstr(w, "piperun", PACKAGE_VERSION);
	jw_kstr(w, "name", s->name);
	jw_kstr(w, "mode", spec_run_mode_name(s->mode));
	jw_kstr(w, "started_at", started_at);
	jw_kint(w, "max_parallel", limit);
	jw_kstr(w, "containment", contain_mode_name(containment));
}

/* What is known when it has ended (counts: with the summary). */
static void report_tail(struct jw *w, const struct run_result *res, bool counts)
{
	jw_kstr(w, "status", report_run_status(res));
	jw_knum(w, "duration_ms", res->duration_ms);
	jw_key(w, "stopped");
	switch (res->stop) {
	case STOP_FAIL_FAST: jw_str(w, "fail_fast"); break;
	case STOP_TIMEOUT: jw_str(w, "timeout"); break;
	case STOP_SIGNAL: jw_str(w, sig_name(res->signal)); break;
	case STOP_OUTPUT: jw_str(w, "output"); break;
	default: jw_null(w);
	}
	if (counts)
		report_counts(w, res);
	jw_key(w, "orphans");
	const struct job_spec **all = xcalloc(res->njobs + 1, sizeof *all);
	for (size_t k = 0; k < res->njobs; k++)
		all[k] = res->norphans ? run_job_spec(res, k) : NULL;
	report_escaped(w, res->orphans, res->norphans, all, res->njobs);
	free(all);
	jw_key(w, "job_cgroups");
	jw_obj(w, true);
	jw_kint(w, "created", (long)res->cgroups_created);
	jw_kint(w, "reused", (long)res->cgroups_reused);
	jw_obj_end(w);
	report_runner(w, res);
}

void report_doc_begin(struct jw *w, const struct spec *s, const char *started_at,
		      long limit, enum contain_mode containment)
{
	jw_obj(w, false);
	report_head(w, s, started_at, limit, containment);
	jw_key(w, "jobs");
	jw_arr(w, false);
}

void report_doc_end(struct jw *w, const struct run_result *res)
{
	jw_arr_end(w);
	report_tail(w, res, true);
	jw_obj_end(w);
	jw_newline(w);
}

void report_document(struct jw *w, const struct spec *s,
		     const struct run_result *res)
{
	report_doc_begin(w, s, res->started_at, res->limit, res->containment);
	for (size_t i = 0; i < res->njobs; i++)
		report_job(w, &res->jobs[i]);
	report_doc_end(w, res);
}

/* {"summary": {...}, "run": {the document's other top-level fields}}:
 * no "name" at the top, so that select(.name) keeps exactly the job
 * records and select(.summary) the trailer. */
void report_summary_line(struct jw *w, const struct spec *s,
			 const struct run_result *res)
{
	jw_obj(w, false);
	report_counts(w, res);
	jw_key(w, "run");
	jw_obj(w, false);
	report_head(w, s, res->started_at, res->limit, res->containment);
	report_tail(w, res, false);
	jw_obj_end(w);
	jw_obj_end(w);
	jw_newline(w);
}

static void put(jw_sink_fn sink, void *ctx, const char *fmt, ...) PRINTF(3, 4);
static void put(jw_sink_fn sink, void *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	sink(ctx, s, strlen(s));
	free(s);
}

/* A name as the table shows it: redacted, control characters escaped. */
static char *text_name(const struct run_result *res, size_t i)
{
	const struct job_spec *s = run_job_spec(res, i);
	char *red = spec_redact(s, s->name);
	char *shown = ctl_escape(red, true);
	free(red);
	return shown;
}

void report_text(jw_sink_fn sink, void *ctx, const struct spec *s,
		 const struct run_result *res)
{
	size_t wname = 4;
	for (size_t i = 0; i < res->njobs; i++) {
		char *name = text_name(res, i);
		size_t l = strlen(name);
		free(name);
		if (l > wname)
			wname = l;
	}
	if (wname > 40)
		wname = 40;
	put(sink, ctx, "%-*s  %-9s  %4s  %10s  %s\n", (int)wname, "NAME", "STATUS", "RC",
	    "DURATION", "ERROR");
	for (size_t i = 0; i < res->njobs; i++) {
		const struct job *j = &res->jobs[i];
		char rc[16] = "-";
		if (j->has_rc)
			snprintf(rc, sizeof rc, "%d", j->returncode);
		char dur[32] = "-";
		if (j->attempts)
			snprintf(dur, sizeof dur, "%.1fms", j->duration_ms);
		char *red = j->error ? spec_redact(run_job_spec(res, i), j->error) : xstrdup("");
		char *nl = strchr(red, '\n');
		if (nl)
			*nl = 0;
		char *err = ctl_escape(red, false);
		free(red);
		char *name = text_name(res, i);
		put(sink, ctx, "%-*.*s  %-9s  %4s  %10s  %s\n", (int)wname, (int)wname, name,
		    job_status_name(j->status), rc, dur, err);
		free(name);
		free(err);
	}
	put(sink, ctx, "%zu jobs: %zu ok, %zu failed, %zu timeout, %zu error, %zu skipped, %zu cancelled; %s in %.1fms\n",
	    res->njobs, res->counts[ST_OK], res->counts[ST_FAILED], res->counts[ST_TIMEOUT],
	    res->counts[ST_ERROR], res->counts[ST_SKIPPED], res->counts[ST_CANCELLED],
	    report_run_status(res), res->duration_ms);
}
