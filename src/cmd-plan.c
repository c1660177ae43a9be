/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-plan.c - `piperun plan`: the fully resolved plan as JSON; runs
 * nothing.  Defaults applied, copies expanded and named, placeholders
 * substituted, programs resolved on PATH, environments as a diff against
 * the runner's, secrets shown as "***". */
#include "config.h"
#include "cmd.h"
#include "jsonw.h"
#include "runner.h"
#include "spec.h"
#include "spec-plan.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmd_plan(int argc, char **argv)
{
	const struct cmd_entry *self = &cmd_plan_entry;
	int orc = cmd_opts_help_only(self, argc, argv);
	if (orc >= 0)
		return orc;
	if (argc - optind != 1)
		return cmd_bad_usage(self, "expected one spec file (or - for stdin)");
	struct errlist errs = { 0 };
	struct spec *s = spec_load(argv[optind], &errs);
	if (!s)
		return cmd_spec_errors(&errs);
	struct fd_sink *out = cmd_stdout_sink();
	struct jw w;
	jw_init(&w, fd_sink_write, out, true);
	jw_obj(&w, false);
	jw_kstr(&w, "piperun", PACKAGE_VERSION);
	jw_kstr(&w, "file", s->file);
	jw_kstr(&w, "name", s->name);
	jw_kstr(&w, "mode", spec_run_mode_name(s->mode));
	jw_kint(&w, "max_parallel", s->max_parallel);
	jw_kint(&w, "effective_max_parallel", runner_limit(s->mode, s->max_parallel));
	spec_plan_duration(&w, "timeout", s->timeout);
	jw_key(&w, "fail_fast");
	if (s->fail_fast)
		jw_int(&w, s->fail_fast);
	else
		jw_bool(&w, false);
	jw_kbool(&w, "tag", s->tag);
	jw_key(&w, "jobs");
	jw_arr(&w, false);
	for (size_t i = 0; i < s->njobs; i++)
		spec_plan_job(&w, s, &s->jobs[i]);
	jw_arr_end(&w);
	jw_obj_end(&w);
	jw_newline(&w);
	int rc = cmd_flush_stdout(self, out, EXIT_OK);
	free(out);
	spec_free(s);
	errlist_free(&errs);
	return rc;
}

const struct cmd_entry cmd_plan_entry = {
	.name = "plan",
	.synopsis = "plan SPEC.json|-",
	.summary = "print the fully resolved plan as JSON; run nothing",
	.help =
	"The plan shows every job after defaults, repeat/foreach expansion and\n"
	"placeholder substitution, with programs resolved on PATH (\"path\", or\n"
	"\"error\" when not found), environments as a diff against piperun's own\n"
	"(secret_env values as \"***\"), and durations in seconds.\n"
	"\n"
	"exit status: 0 printed, 2 spec error (or help not written), 3 the plan\n"
	"could not be written to stdout.\n",
	.exec = cmd_plan,
};
