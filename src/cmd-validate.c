/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-validate.c - `piperun validate`: check specs, report every error. */
#include "config.h"
#include "cmd.h"
#include "spec.h"

#include <getopt.h> /* optind */

static int cmd_validate(int argc, char **argv)
{
	const struct cmd_entry *self = &cmd_validate_entry;
	int orc = cmd_opts_help_only(self, argc, argv);
	if (orc >= 0)
		return orc;
	if (optind >= argc)
		return cmd_bad_usage(self, "expected at least one spec file (or - for stdin)");
	int rc = EXIT_OK;
	for (int i = optind; i < argc; i++) {
		struct errlist errs = { 0 }, warns = { 0 };
		/* valid or not: a spec's warnings do not change the status */
		struct spec *s = spec_load_warns(argv[i], &errs, &warns);
		if (!s) {
			errlist_print(&errs);
			rc = EXIT_USAGE;
		}
		errlist_print(&warns);
		spec_free(s);
		errlist_free(&errs);
		errlist_free(&warns);
	}
	return rc;
}

const struct cmd_entry cmd_validate_entry = {
	.name = "validate",
	.synopsis = "validate SPEC.json|- ...",
	.summary = "check specs; print nothing when they are valid",
	.help =
	"Every error is reported, one per line, as\n"
	"  piperun: FILE: JSON.PATH: what was expected, what was found\n"
	"Malformed JSON is reported with its line and column.  Unknown keys and\n"
	"duplicate keys are errors.  Warnings, which leave the status alone, say\n"
	"  piperun: FILE: JSON.PATH: warning: what\n"
	"(a {} spliced into an sh -c script of an argv).  A foreach source's shape is\n"
	"checked, but no file is read and no command run: plan and run do that.\n"
	"\n"
	"exit status: 0 all specs valid, 2 some spec has errors.\n",
	.exec = cmd_validate,
};
