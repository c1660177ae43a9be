/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-validate.c - `piperun validate`: check specs, report every error. */
#include "config.h"
#include "cmd.h"
#include "spec.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

int cmd_help_only_opts(const struct cmd_entry *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			cmd_help(self);
			return EXIT_OK;
		}
		return cmd_bad_usage(self, "unknown option '%s'", argv[optind - 1]);
	}
	return -1;
}

static int cmd_validate(int argc, char **argv)
{
	const struct cmd_entry *self = &cmd_validate_entry;
	int st = cmd_help_only_opts(self, argc, argv);
	if (st >= 0)
		return st;
	if (optind >= argc)
		return cmd_bad_usage(self, "expected at least one spec file (or - for stdin)");
	int rc = EXIT_OK;
	for (int i = optind; i < argc; i++) {
		struct errlist errs = { 0 }, warns = { 0 };
		const char *name = strcmp(argv[i], "-") ? argv[i] : "<stdin>";
		size_t len;
		char *text = spec_read(argv[i], &len, &errs);
		/* valid or not: a spec's warnings do not change the status */
		struct spec *s = text ? spec_load_mem_warns(name, text, len, &errs, &warns) : NULL;
		if (!s) {
			errlist_print(&errs);
			rc = EXIT_USAGE;
		}
		errlist_print(&warns);
		spec_free(s);
		free(text);
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
	"(a {} spliced into an sh -c script of an argv).\n"
	"\n"
	"exit status: 0 all specs valid, 2 some spec has errors.\n",
	.exec = cmd_validate,
};
