/* SPDX-License-Identifier: GPL-3.0-or-later */
/* job-pipeline.c - the job side of a pipeline job: the fds its host
 * gets, the records and diagnostics it sends back, and the job's outcome
 * from them (see job-pipeline.h; the host itself is chain.c). */
#include "config.h"
#include "job-pipeline.h"
#include "chain.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The pipeline host's records: whole struct chain_record units. */
void job_pipeline_records(struct job *j)
{
	size_t n = j->resbuf.len / sizeof(struct chain_record);
	for (size_t k = 0; k < n; k++) {
		struct chain_record rec;
		memcpy(&rec, j->resbuf.p + k * sizeof rec, sizeof rec);
		if (rec.type == CHAIN_REC_FATAL) {
			j->host_fatal = true;
			j->host_fatal_err = rec.err;
			continue;
		}
		if (rec.index < 0 || (size_t)rec.index >= j->nstages)
			continue;
		struct stage_result *s = &j->stages[rec.index];
		s->pid = rec.pid;
		if (rec.type == CHAIN_REC_ENDED && (rec.exit_code >= 0 || rec.signal)) {
			s->has_status = true;
			s->exit_code = rec.exit_code;
			s->signal = rec.signal;
			s->user_ms = rec.utime_us / 1e3;
			s->sys_ms = rec.stime_us / 1e3;
			s->maxrss_kb = (long)rec.maxrss_kb;
			j->stages_ended++;
		}
	}
	size_t used = n * sizeof(struct chain_record);
	memmove(j->resbuf.p, j->resbuf.p + used, j->resbuf.len - used);
	j->resbuf.len -= used;
}

/* A pipeline's outcome from its host's records.  Every stage reported:
 * the pipefail rule.  Otherwise the host failed (a fatal libpipeline
 * error: the job's error) or was killed with its stages (timeout,
 * cancel: the host's own signal is the best we know). */
void job_pipeline_outcome(struct job *j)
{
	if ((size_t)j->stages_ended == j->nstages) {
		int *rc = xmalloc(j->nstages * sizeof *rc);
		for (size_t i = 0; i < j->nstages; i++)
			rc[i] = stage_returncode(&j->stages[i]);
		j->has_rc = true;
		j->returncode = chain_returncode(rc, j->nstages, j->spec->pipefail);
		free(rc);
		return;
	}
	if (j->timed_out || j->cancelled) {
		j->has_rc = j->proc.status.has_status;
		j->returncode = stage_returncode(&j->proc.status);
		return;
	}
	/* the first line libpipeline (or the host) printed, if any */
	char *nl = j->diag.p ? strchr(j->diag.p, '\n') : NULL;
	if (nl)
		*nl = 0;
	const char *what = j->diag.len ? j->diag.p : "no message";
	if (!strncmp(what, "piperun: ", 9))
		what += 9;
	j->status = ST_ERROR;
	j->has_rc = false;
	free(j->error);
	if (j->proc.status.signal)
		j->error = xasprintf("pipeline host killed by %s (%s)", sig_name(j->proc.status.signal), what);
	else
		j->error = xasprintf("pipeline host failed with exit status %d: %s",
				     j->proc.status.exit_code, what);
}

/* A pipeline host that could not fork (or the system ran out of files):
 * like a spawn that found no headroom, the job waits for running ones and
 * starts again.  EMFILE is not here: the host's fd limit is its own and
 * other jobs ending would not raise it. */
bool job_pipeline_came_short(const struct job *j)
{
	int herr = j->host_fatal_err;
	return j->spec->kind == KIND_PIPELINE && j->status != ST_ERROR && j->host_fatal &&
	       (size_t)j->stages_ended < j->nstages && !j->timed_out && !j->cancelled &&
	       (herr == EAGAIN || herr == ENFILE || herr == ENOMEM);
}

static void stage_arrays(struct job *j)
{
	const struct job_spec *s = j->spec;
	if (!j->fd_stage) {
		j->fd_stage = xmalloc(s->nstages * sizeof *j->fd_stage);
		j->w_stage = xcalloc(s->nstages, sizeof *j->w_stage);
		j->stage_err = xcalloc(s->nstages, sizeof *j->stage_err);
		j->stage_live = xcalloc(s->nstages, sizeof *j->stage_live);
		for (size_t i = 0; i < s->nstages; i++)
			j->stage_err[i].spill_fd = -1;
	}
	for (size_t i = 0; i < s->nstages; i++)
		j->fd_stage[i] = -1;
}

/* A pipeline host's fds beyond 0-2 (chain.h): 3 the description, 4 the
 * results pipe, 5 the default stderr target, then one per stage that
 * routes its stderr somewhere of its own (stage_slot[i], else -1); its
 * own fd 2 is the diagnostics pipe.  Returns the number of slots, or -1
 * with errno (*desc the description's memfd, the caller's to close). */
int job_pipeline_stdio(struct job *j, struct proc_stdio *io, int *stage_slot, int *desc)
{
	const struct job_spec *s = j->spec;
	enum chain_err *route = xcalloc(s->nstages, sizeof *route);
	int n = 6;
	stage_arrays(j);
	io[5] = io[2];
	io[2] = io[4] = JOB_PIPE_TO_RUNNER;
	for (size_t i = 0; i < s->nstages; i++) {
		const struct stage_spec *st = &s->stages[i];
		stage_slot[i] = -1;
		route[i] = !st->has_err ? CHAIN_ERR_JOB
			 : st->err.mode == IO_STDOUT ? CHAIN_ERR_MERGE : CHAIN_ERR_FD;
		if (route[i] != CHAIN_ERR_FD)
			continue;
		stage_slot[i] = n;
		io[n++] = job_out_slot(j, &st->err, 2, 3 + i);
	}
	*desc = chain_describe(s, route);
	free(route);
	io[3] = (struct proc_stdio){ PROC_STDIO_FD, *desc };
	return *desc < 0 ? -1 : n;
}
