/* SPDX-License-Identifier: GPL-3.0-or-later */
/* json-strict.h - strict JSON (RFC 8259) for values that come from
 * outside a spec: a pool item's array of arguments and a task's JSON
 * result.  Only the RFC's grammar is accepted (no 01, 1., .5, +1, raw
 * control characters in strings, invalid UTF-8 or lone surrogates), and
 * a value is written back compactly, so it is always one line. */
#ifndef PIPERUN_JSON_STRICT_H
#define PIPERUN_JSON_STRICT_H

#include <stddef.h>

#include "piperun-task.h"

/* The deepest nesting read (as cJSON's default limit). */
#define JSTRICT_MAX_DEPTH 1000

/* text[0..len) is one JSON value, whitespace around it allowed: returns
 * its compact form (malloc'd, NUL-terminated, its length in *outlen when
 * outlen is not NULL), or NULL with *why (malloc'd: "WHAT at column N"). */
char *jstrict_compact(const char *text, size_t len, size_t *outlen, char **why);

/* text[0..len) is one JSON array of arguments (whitespace around it
 * allowed), read into *args (malloc'd, *nargs of them; strings and
 * OTHER texts malloc'd, the caller's).  An integer token that fits an
 * int64 is PIPERUN_ARG_INT, read exactly from its digits; any other
 * number is PIPERUN_ARG_NUMBER and must be finite; a string is its UTF-8
 * text (no \u0000); an array, object, true, false or null is
 * PIPERUN_ARG_OTHER, its compact JSON.  Returns 0, or -1 with *why. */
int jstrict_item_array(const char *text, size_t len, struct piperun_arg **args,
		       size_t *nargs, char **why);

#endif
