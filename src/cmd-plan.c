/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-plan.c - `piperun plan`: the fully resolved plan as JSON; runs
 * nothing.  Defaults applied, copies expanded and named, placeholders
 * substituted, programs resolved on PATH, environments as a diff against
 * the runner's, secrets shown as "***". */
#include "config.h"
#include "cmd.h"
#include "journal.h"
#include "jsonw.h"
#include "runner.h"
#include "signals.h"
#include "spec.h"
#include "spec-plan.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "resume": what --resume FILE would restore, and why the rest runs. */
static void plan_resume(struct jw *w, const struct spec *s, const char *path,
			const struct journal *jr)
{
	journal_id *ids = xcalloc(s->njobs ? s->njobs : 1, sizeof *ids);
	journal_id plan;
	/* no header (an empty or torn journal): a run would make a key of
	 * its own; so does this, never an all-zero one, so that a secret
	 * job's identity shown is never an unkeyed hash */
	unsigned char key[JOURNAL_KEY_BYTES];
	if (jr->nsessions)
		memcpy(key, jr->key, sizeof key);
	else
		journal_new_key(key);
	journal_identities(s, key, ids, plan);
	const struct journal_entry **ok = xcalloc(s->njobs ? s->njobs : 1, sizeof *ok);
	size_t n = journal_restorable(s, jr, (const journal_id *)ids, ok, NULL);
	jw_key(w, "resume");
	jw_obj(w, false);
	jw_kstr(w, "journal", path);
	jw_kint(w, "restored", (int64_t)n);
	jw_kint(w, "run", (int64_t)(s->njobs - n));
	jw_key(w, "jobs");
	jw_arr(w, false);
	for (size_t i = 0; i < s->njobs; i++) {
		char buf[64];
		/* as the journal's headers have it */
		bool held;
		const struct job_spec *j = spec_job_peek(s, i, &held);
		char *name = spec_redact(j, j->name);
		const char *why = ok[i] ? NULL : journal_why_run(jr, name, ids[i], buf);
		if (!ok[i] && !why)
			why = "feeds a job that runs again (its output is not in the journal whole)";
		jw_obj(w, true);
		jw_kstr(w, "name", name);
		jw_kstr(w, "action", ok[i] ? "restore" : "run");
		jw_kstr(w, "why", ok[i] ? "last record: ok" : why);
		jw_kstr(w, "identity", ids[i]);
		if (!ok[i] && j->kind == KIND_STEPS) {
			/* items it sank before: not sent again */
			struct buf sunk = { 0 };
			jw_kint(w, "items_sunk_before", (int64_t)journal_sunk(jr, ids[i], name, &sunk));
			buf_free(&sunk);
		}
		free(name);
		spec_job_unpeek(s, i, held);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
	free(ok);
	free(ids);
}

/* The options: -1 to go on (*resume set or NULL), else the exit status. */
static int plan_parse(int argc, char **argv, const char **resume, bool *no_commands)
{
	static const struct option opts[] = {
		{ "resume", required_argument, NULL, 'R' },
		{ "no-commands", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	bool seen[256] = { false };
	*resume = NULL;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'R' && cmd_once(&cmd_plan_entry, seen, c, "--resume") < 0)
			return EXIT_USAGE;
		if (c == 'R')
			*resume = optarg;
		else if (c == 'N')
			*no_commands = true;
		else
			return cmd_opt_common(&cmd_plan_entry, c, argv);
	}
	if (argc - optind != 1)
		return cmd_bad_usage(&cmd_plan_entry, "expected one spec file (or - for stdin)");
	return -1;
}

static int cmd_plan(int argc, char **argv)
{
	const char *resume;
	bool no_commands = false;
	int orc = plan_parse(argc, argv, &resume, &no_commands);
	if (orc >= 0)
		return orc;
	const struct cmd_entry *self = &cmd_plan_entry;
	struct errlist errs = { 0 };
	/* foreach sources give their values: a command source runs (and
	 * nothing else does), which stderr says */
	/* blocked meanwhile, so that an interrupt stops the command's whole
	 * group (the source polls for it) rather than kill piperun alone and
	 * leave the group running; then piperun dies of it */
	sigset_t term, old;
	sigemptyset(&term);
	signals_terminating(&term);
	sigprocmask(SIG_BLOCK, &term, &old);
	struct spec *s = spec_load_flags(argv[optind],
					 no_commands ? SPEC_LOAD_FILES : SPEC_LOAD_SOURCES, &errs, NULL);
	if (!s) {
		int rc = cmd_spec_errors(&errs);
		cmd_die_if_interrupted();
		sigprocmask(SIG_SETMASK, &old, NULL);
		return rc;
	}
	cmd_die_if_interrupted();
	sigprocmask(SIG_SETMASK, &old, NULL);
	for (size_t i = 0; i < s->nran; i++)
		err_line("piperun: %s: %s: note: ran for the foreach values (plan runs nothing else)",
			 s->file, s->ran[i]);
	for (size_t i = 0; i < s->nunrun; i++)
		err_line("piperun: %s: %s: note: not run (--no-commands): the copies of its "
			 "job are left out", s->file, s->unrun[i]);
	struct journal jr = { 0 };
	char *why = NULL;
	if (resume && journal_read(resume, &jr, &why) < 0) {
		err_line("piperun: --resume %s", why);
		free(why);
		spec_free(s);
		errlist_free(&errs);
		return EXIT_USAGE;
	}
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
	if (s->journal)
		jw_kstr(&w, "journal", s->journal);
	spec_plan_executor(&w, s);
	jw_key(&w, "jobs");
	jw_arr(&w, false);
	for (size_t i = 0; i < s->njobs; i++) {
		bool held;
		spec_plan_job(&w, s, spec_job_peek(s, i, &held));
		spec_job_unpeek(s, i, held);
	}
	jw_arr_end(&w);
	if (resume)
		plan_resume(&w, s, resume, &jr);
	journal_free(&jr);
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
	.synopsis = "plan [--resume JOURNAL] [--no-commands] SPEC.json|-",
	.summary = "print the fully resolved plan as JSON; run nothing",
	.help =
	"The plan shows every job after defaults, repeat/foreach expansion and\n"
	"placeholder substitution, with programs resolved on PATH (\"path\", or\n"
	"\"error\" when not found), environments as a diff against piperun's own\n"
	"(secret_env values as \"***\"), and durations in seconds.  Foreach sources\n"
	"give their values: files are read and a {\"command\": ARGV} source is run\n"
	"(the only thing plan runs; a note on stderr says so).\n"
	"\n"
	"options:\n"
	"      --resume FILE  also say, under \"resume\", which jobs `run --resume\n"
	"                     FILE` would restore from the journal FILE and why\n"
	"                     each other one would run (no record, its last\n"
	"                     record not ok, changed since the journal)\n"
	"      --no-commands  run no foreach command source: the copies of its job\n"
	"                     are left out (a note on stderr says so); files are\n"
	"                     still read (shell completion uses this)\n"
	"\n"
	"exit status: 0 printed, 2 spec error (or help not written), 3 the plan\n"
	"could not be written to stdout.\n",
	.exec = cmd_plan,
};
