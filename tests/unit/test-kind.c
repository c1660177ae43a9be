/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-kind.c - the job-kind table (kind.h): every row has the hooks
 * and data it must have, names and ids round-trip, and each kind starts
 * its process as it should (its own command, or piperun as a host). */
#include "config.h"
#include "kind.h"
#include "tap.h"

#include <string.h>

/* What every row must have, and what goes with what. */
static void test_rows(void)
{
	const struct job_kind *k;
	size_t rows = 0;
	for (size_t i = 0; (k = kind_at(i)); i++, rows++) {
		ok(k->name && kind_get(k->id) == k &&
		   !strcmp(kind_name(k->id), k->name),
		   "kind %s: name and id round-trip", k->name);
		ok((size_t)k->id == i, "kind %s: row %zu is its id (the order of "
		   "\"expected one of\")", k->name, i);
		ok(k->parse && k->plan, "kind %s: parse and plan hooks", k->name);
		ok(k->from_key && (!strcmp(k->from_key, "stdin") || !strcmp(k->from_key, "items")),
		   "kind %s: from_key is stdin or items", k->name);
		ok(!k->many_stages || k->host, "kind %s: many stages only through a host", k->name);
		ok(!k->progress || k->host, "kind %s: progress only from a host", k->name);
		ok(!k->dup_data == !k->free_data, "kind %s: dup_data and free_data together",
		   k->name);
		const struct kind_host *h = k->host;
		if (!h)
			continue;
		ok(h->argv && h->argv[0] && h->argv[1] && !h->argv[2] &&
		   !strncmp(h->argv[1], "__", 2),
		   "kind %s: its host is a hidden command (%s)", k->name, h->argv[1]);
		ok(h->setup && h->stdio && h->take_side, "kind %s: host's set-up name, "
		   "stdio and take_side", k->name);
		ok(h->err_slot >= 2 && h->side_slot > 2 && h->side_slot != h->err_slot,
		   "kind %s: host's stderr and side slots", k->name);
		ok(h->fds_steady >= 1 && h->fds_transient >= h->fds_steady,
		   "kind %s: host's fds counted", k->name);
	}
	is_int(rows, 5, "five kinds");
	ok(!kind_get((enum job_kind_id)99), "kind_get: NULL for no kind");
}

/* How each kind's process starts, and what the job side makes of it. */
static void test_starts(void)
{
	ok(!kind_run.host && !kind_shell.host && !kind_pool.host,
	   "run, shell and pool start their own command");
	const struct kind_host *p = kind_pipeline.host, *s = kind_steps.host;
	ok(p && !strcmp(p->argv[1], "__pipeline-host"), "pipeline: its host is __pipeline-host");
	ok(p && p->own_env && p->block_signals && p->err_slot == 5 &&
	   !strcmp(p->prog, "pipeline host") && !strcmp(p->setup, "pipeline") && p->came_short,
	   "pipeline host: piperun's env, signals blocked, stderr at 5, "
	   "\"pipeline host\", may come short");
	ok(kind_pipeline.many_stages && kind_pipeline.outcome,
	   "pipeline: many stages, its own outcome (pipefail)");
	ok(s && !strcmp(s->argv[1], "__steps"), "steps: its host is __steps");
	ok(s && !s->own_env && !s->block_signals && s->err_slot == 2 && !s->prog &&
	   !strcmp(s->setup, "steps") && !s->came_short,
	   "steps host: the job's env, signals as they are, stderr at 2, named by its argv");
	ok(kind_steps.progress && kind_steps.report_more && kind_steps.outcome &&
	   !kind_steps.many_stages, "steps: progress, counts in its record, its outcome");
	is_str(kind_steps.from_key, "items", "steps: its stdin file is \"items\"");
	ok(kind_pool.splice_stdout && kind_pool.outcome && !kind_pool.report_more,
	   "pool: its stdout is its results, its own outcome");
	ok(!kind_run.splice_stdout && !kind_shell.splice_stdout && !kind_pipeline.splice_stdout &&
	   !kind_steps.splice_stdout, "only pool's stdout is its results");
	ok(!kind_run.outcome && !kind_shell.outcome && !kind_run.many_stages &&
	   !kind_run.progress, "run: the process's outcome, one stage, no progress");
	is_str(kind_run.from_key, "stdin", "run: its stdin file is \"stdin\"");
	ok(kind_shell.expand && kind_shell.expand_prepare && !kind_run.expand &&
	   !kind_pipeline.expand && !kind_pool.expand && !kind_steps.expand,
	   "only shell makes its copies' command itself (/bin/sh -c SCRIPT)");
}

int main(void)
{
	test_rows();
	test_starts();
	return done_testing();
}
