/* SPDX-License-Identifier: GPL-3.0-or-later */
/* enum-name.h - one table maps an enum to the names a spec, a command
 * line or a record uses for it, both ways:
 *
 *   static const struct enum_name run_modes[] = {
 *           { MODE_ASYNC, "async" }, { MODE_SERIAL, "serial" }, ...
 *   };
 *   const char *n = ENUM_NAME(run_modes, MODE_ASYNC);      // "async"
 *   int m;
 *   if (ENUM_PARSE(run_modes, "thread", &m) == 0) ...      // MODE_THREAD
 *
 * Tables are static const arrays owned by their module; names are
 * compared exactly (case-sensitive). */
#ifndef PIPERUN_ENUM_NAME_H
#define PIPERUN_ENUM_NAME_H

#include <stddef.h>

struct enum_name {
	int value;
	const char *name;
};

/* The name of value in the n rows of t, or NULL when no row has it. */
const char *enum_name(const struct enum_name *t, size_t n, int value);
/* The value named name: 0 and *value set, or -1 (*value untouched). */
int enum_parse(const struct enum_name *t, size_t n, const char *name, int *value);

#define ENUM_NAME(t, v) enum_name((t), sizeof(t) / sizeof((t)[0]), (int)(v))
#define ENUM_PARSE(t, s, vp) enum_parse((t), sizeof(t) / sizeof((t)[0]), (s), (vp))

#endif
