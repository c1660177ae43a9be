/* SPDX-License-Identifier: GPL-3.0-or-later */
/* kind.c - the job-kind table (see kind.h): one row per kind, in the
 * order of enum job_kind_id and of a spec's "expected one of run,
 * shell, pipeline, pool, steps"; and the rule the host kinds' outcomes
 * share (kind_require_results). */
#include "config.h"
#include "kind.h"
#include "job.h"
#include "util.h"

#include <stdlib.h>

/* Indexed by id: row i is the kind whose id is i (test-kind checks each
 * row's id). */
static const struct job_kind *const kinds[] = {
	[KIND_RUN] = &kind_run, [KIND_SHELL] = &kind_shell,
	[KIND_PIPELINE] = &kind_pipeline, [KIND_POOL] = &kind_pool,
	[KIND_STEPS] = &kind_steps,
};
_Static_assert(sizeof kinds / sizeof *kinds == KIND_STEPS + 1,
	       "a row per kind, the last one KIND_STEPS");

const struct job_kind *kind_at(size_t i)
{
	return i < sizeof kinds / sizeof *kinds ? kinds[i] : NULL;
}

const struct job_kind *kind_get(enum job_kind_id id)
{
	return (size_t)id < sizeof kinds / sizeof *kinds ? kinds[id] : NULL;
}

const char *kind_name(enum job_kind_id id)
{
	return kind_get(id)->name;
}

bool kind_require_results(struct job *j, bool arrived, const char *who, const char *what)
{
	if (arrived || !j->has_rc || j->timed_out || j->cancelled ||
	    (j->returncode != 0 && j->returncode != 1))
		return false;
	j->status = ST_ERROR;
	free(j->error);
	j->error = xasprintf("%s ended with exit status %d but without %s "
			     "(did a task call exit()?)", who, j->returncode, what);
	return true;
}
