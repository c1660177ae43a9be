/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-util.c - the glue every subcommand shares (cmd.h): usage and help
 * text, option parsing and its errors, results on stdout, spec errors. */
#include "config.h"
#include "cmd.h"
#include "jsonw.h"
#include "signals.h"
#include "spec.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int cmd_opt_common(const struct cmd_entry *c, int opt, char **argv)
{
	if (opt == 'h') {
		cmd_help(c);
		return EXIT_OK;
	}
	if (opt == ':')
		return cmd_bad_usage(c, "option '%s' needs a value", argv[optind - 1]);
	return cmd_bad_usage(c, "unknown option '%s'", argv[optind - 1]);
}

int cmd_opts_help_only(const struct cmd_entry *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	optind = 1;
	opterr = 0;
	if ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		return cmd_opt_common(c, opt, argv);
	return -1;
}

int cmd_choose(const struct cmd_entry *c, const char *opt, const struct enum_name *t, size_t n,
	       const char *arg, int *value)
{
	if (enum_parse(t, n, arg, value) == 0)
		return 0;
	/* "expected a, b or c" */
	struct buf b = { 0 };
	for (size_t i = 0; i < n; i++) {
		const char *sep = i == 0 ? "" : i + 1 < n ? ", " : " or ";
		buf_addstr(&b, sep);
		buf_addstr(&b, t[i].name);
	}
	cmd_bad_usage(c, "%s: expected %s, got \"%s\"", opt, b.p, arg);
	buf_free(&b);
	return -1;
}

int cmd_once(const struct cmd_entry *c, bool seen[256], int opt, const char *name)
{
	unsigned char k = (unsigned char)opt;
	if (!seen[k]) {
		seen[k] = true;
		return 0;
	}
	cmd_bad_usage(c, "%s given twice (it takes one value)", name);
	return -1;
}

int cmd_int_range(const struct cmd_entry *c, const char *opt, const char *arg, int64_t lo,
		  int64_t hi, const char *note, int64_t *value)
{
	int64_t v;
	if (parse_i64(arg, &v) && v >= lo && v <= hi) {
		*value = v;
		return 0;
	}
	cmd_bad_usage(c, "%s: expected an integer from %" PRId64 " to %" PRId64 "%s, got \"%s\"", opt,
		      lo, hi, note, arg);
	return -1;
}

int cmd_duration(const struct cmd_entry *c, const char *opt, const char *arg, double *secs)
{
	if (dur_parse(arg, secs) == 0)
		return 0;
	cmd_bad_usage(c, "%s: expected %s, got \"%s\"", opt, dur_expected(arg), arg);
	return -1;
}

struct fd_sink *cmd_stdout_sink(void)
{
	struct fd_sink *out = xcalloc(1, sizeof *out);
	out->fd = 1;
	return out;
}

int cmd_flush_stdout(const struct cmd_entry *c, struct fd_sink *out, int rc)
{
	if (fd_sink_flush(out) == 0)
		return rc;
	/* a reader that went away ends us as it would any filter */
	if (out->err == EPIPE)
		die_of_signal(SIGPIPE);
	fprintf(stderr, "piperun: %s: writing to stdout: %s\n", c->name, strerror(out->err));
	return EXIT_RUNNER;
}

int cmd_spec_errors(struct errlist *errs)
{
	errlist_print(errs);
	errlist_free(errs);
	return EXIT_USAGE;
}

void cmd_die_if_interrupted(void)
{
	int sig = signals_pending_terminating();
	if (sig)
		die_of_signal(sig);
}
