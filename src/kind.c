/* SPDX-License-Identifier: GPL-3.0-or-later */
/* kind.c - the job-kind table (see kind.h): one row per kind, in the
 * order of enum job_kind_id and of a spec's "expected one of run,
 * shell, pipeline, pool, steps". */
#include "config.h"
#include "kind.h"

static const struct job_kind *const kinds[] = {
	&kind_run, &kind_shell, &kind_pipeline, &kind_pool, &kind_steps,
};

const struct job_kind *kind_at(size_t i)
{
	return i < sizeof kinds / sizeof *kinds ? kinds[i] : NULL;
}

const struct job_kind *kind_get(enum job_kind_id id)
{
	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
		if (kinds[i]->id == id)
			return kinds[i];
	return NULL;
}

const char *kind_name(enum job_kind_id id)
{
	return kind_get(id)->name;
}
