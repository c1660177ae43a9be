/* SPDX-License-Identifier: GPL-3.0-or-later */
/* foreach-src.h - where a foreach's values come from when they are not a
 * literal array: the files a glob matches, the lines (or NUL-separated
 * values) of a file, a range of integers, the lines a command writes.
 *
 * A source produces its values one at a time, in order, through a
 * callback (fsrc_produce), so that expansion can later take them as they
 * come; fsrc_values collects them all.  Every value is checked the same
 * way whatever the source: text (valid UTF-8) without a NUL byte, as a
 * JSON string in the spec is.  Nothing here knows JSON or specs: the
 * shape is read by spec-foreach.c, which also resolves a command's
 * program.
 *
 * Limits, the same for every source: at most FSRC_MAX_VALUES values and
 * FSRC_MAX_BYTES bytes read (a spec file's own bound); a command has
 * FSRC_COMMAND_TIMEOUT seconds, then SIGTERM to its process group and
 * SIGKILL FSRC_COMMAND_KILL_AFTER seconds later.  It is contained as a
 * run's job is (contain.h: its own cgroup where there is one, and a
 * guardian that kills what is left of it should piperun die). */
#ifndef PIPERUN_FOREACH_SRC_H
#define PIPERUN_FOREACH_SRC_H

#include <stdbool.h>
#include <stddef.h>

#define FSRC_MAX_VALUES 1000000
#define FSRC_MAX_BYTES (256u << 20)
#define FSRC_COMMAND_TIMEOUT 60.0
#define FSRC_COMMAND_KILL_AFTER 2.0
/* Its group is gone but its stdout still open (a process that left the
 * group holds it): read on this long, then fail. */
#define FSRC_COMMAND_HELD_GRACE 2.0

enum fsrc_kind { FSRC_GLOB, FSRC_LINES, FSRC_LINES0, FSRC_RANGE, FSRC_COMMAND };

struct fsrc {
	enum fsrc_kind kind;
	char *path;                  /* glob: the pattern; lines, lines0: the file */
	long long from, to, step;    /* range: to inclusive, step != 0 */
	char **argv;                 /* command: NULL-terminated, argc >= 1 */
	size_t argc;
	const char *exe;             /* command: argv[0] resolved (the caller's) */
	double timeout;              /* command: seconds; 0: FSRC_COMMAND_TIMEOUT
					(the spec has no key for it; tests) */
};

/* The key of kind k in the spec ("glob", "lines", ...). */
const char *fsrc_key(enum fsrc_kind k);
/* Does producing s's values read files or run a program (which
 * `validate` does not do)?  A range does neither. */
bool fsrc_reads(const struct fsrc *s);
/* How many values the range s has (0: none; capped at
 * FSRC_MAX_VALUES + 1). */
size_t fsrc_range_count(const struct fsrc *s);

/* Called with each value (NUL-terminated, len bytes): 0 to go on, -1
 * to stop (with *why set, malloc'd). */
typedef int (*fsrc_emit_fn)(void *ctx, const char *value, size_t len, char **why);

/* Produce s's values in order, each to emit.  Returns 0, or -1 with *why
 * (malloc'd): the source failed (a file that cannot be read, a command
 * that failed, timed out or could not start), a value is no text, a
 * limit was passed, or emit stopped.  Values already given stand. */
int fsrc_produce(const struct fsrc *s, fsrc_emit_fn emit, void *ctx, char **why);

/* All of s's values (malloc'd, NULL-terminated, *n of them), or NULL
 * with *why (also when there are none: an empty foreach is an error). */
char **fsrc_values(const struct fsrc *s, size_t *n, char **why);

/* Free what s holds (not s). */
void fsrc_free(struct fsrc *s);

#endif
