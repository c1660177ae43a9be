/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-schema.c - `piperun schema`: print the JSON Schema (draft 2020-12)
 * of the job spec, for editors and for checking specs with any JSON
 * Schema validator.  Its text is data/piperun-spec.schema.json, built in
 * (scripts/embed-text writes it as src/schema-text.c), so the binary and
 * the installed copy are the same document. */
#include "config.h"
#include "cmd.h"

#include <getopt.h> /* optind */
#include <stddef.h>
#include <stdio.h>

extern const char piperun_schema_json[];
extern const size_t piperun_schema_json_len;

static int cmd_schema(int argc, char **argv)
{
	const struct cmd_entry *self = &cmd_schema_entry;
	int orc = cmd_opts_help_only(self, argc, argv);
	if (orc >= 0)
		return orc;
	if (optind < argc)
		return cmd_bad_usage(self, "unexpected argument '%s'", argv[optind]);
	/* a failed write is seen when main closes stdout (exit status 2) */
	fwrite(piperun_schema_json, 1, piperun_schema_json_len, stdout);
	return EXIT_OK;
}

const struct cmd_entry cmd_schema_entry = {
	.name = "schema",
	.synopsis = "schema",
	.summary = "print the JSON Schema of the spec",
	.help =
	"Prints the JSON Schema (draft 2020-12) of piperun-spec(5) on stdout: every\n"
	"field with its type, default, allowed values and description; unknown keys\n"
	"are rejected as validate rejects them.  The same file is installed as\n"
	"DATADIR/piperun/piperun-spec.schema.json.  Point an editor at it, or give\n"
	"a spec a top-level \"$schema\" key naming it (piperun ignores that key).\n"
	"validate checks more than a schema can say: names, dependencies and\n"
	"cycles, placeholders, numbers beyond 2^53.\n"
	"\n"
	"exit status: 0, or 2 on a usage error or when stdout cannot be written.\n",
	.exec = cmd_schema,
};
