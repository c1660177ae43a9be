/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-util.c - the glue every subcommand shares (cmd.h): usage and help
 * text, option errors. */
#include "config.h"
#include "cmd.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void cmd_usage(FILE *f, const struct cmd_entry *c)
{
	fprintf(f, "usage: piperun %s\n", c->synopsis);
	fprintf(f, "Try 'piperun help %s' for more information.\n", c->name);
}

int cmd_bad_usage(const struct cmd_entry *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	err_line("piperun: %s: %s", c->name, m);
	free(m);
	cmd_usage(stderr, c);
	return EXIT_USAGE;
}

void cmd_help(const struct cmd_entry *c)
{
	printf("usage: piperun %s\n\n%s\n\n%s", c->synopsis, c->summary, c->help);
}
