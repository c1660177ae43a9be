/* SPDX-License-Identifier: GPL-3.0-or-later */
/* report.h - results as JSON documents (CONTRACT §4), JSONL records and a
 * text table.  Captured output streams out of the capture (memory and
 * temporary file) chunk by chunk; nothing is built in memory. */
#ifndef PIPERUN_REPORT_H
#define PIPERUN_REPORT_H

#include "jsonw.h"
#include "runner.h"
#include "spec.h"

const char *report_run_status(const struct run_result *res);
/* One job record. */
void report_job(struct jw *w, const struct job *j);
/* The record of one command run outside a spec (`piperun exec
 * --json`): the fields of a run job's record, stdio inherited. */
struct command_record {
	const char *name;
	enum job_status status;
	double duration_ms;
	char *const *argv;           /* NULL-terminated */
	const struct proc *proc;     /* how it ended, its termination and
					escaped lists, its containment */
};
void report_command(struct jw *w, const struct command_record *r);
/* A document written in pieces: the head (known at start), the jobs
 * (report_job, in spec order, as they become available), the tail
 * (status, summary, the runner's figures). */
void report_doc_begin(struct jw *w, const struct spec *s, const char *started_at,
		      long limit, enum contain_mode containment);
void report_doc_end(struct jw *w, const struct run_result *res);
/* The whole document at once. */
void report_document(struct jw *w, const struct spec *s,
		     const struct run_result *res);
/* The last JSONL line: {"summary": {counts}, "run": {the document's
 * other top-level fields: status, stopped, duration_ms, ...}}. */
void report_summary_line(struct jw *w, const struct spec *s,
			 const struct run_result *res);
/* A human table. */
void report_text(jw_sink_fn sink, void *ctx, const struct spec *s,
		 const struct run_result *res);

#endif
