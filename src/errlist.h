/* SPDX-License-Identifier: GPL-3.0-or-later */
/* errlist.h - errors (or warnings) collected while loading a spec, so
 * that `piperun validate` reports them all at once. */
#ifndef PIPERUN_ERRLIST_H
#define PIPERUN_ERRLIST_H

#include <stddef.h>

/* Errors collected while loading, each already formatted as
 * "piperun: FILE: PATH: what" (without newline). */
struct errlist {
	char **msg;
	size_t n, cap;
};
/* Add a message (malloc'd copy); one equal to a message already there is
 * dropped: a bad value in `defaults` is seen once per job. */
void errlist_add(struct errlist *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* One line per message on stderr. */
void errlist_print(const struct errlist *e);
/* Free the messages; e is empty again. */
void errlist_free(struct errlist *e);

#endif
