/* SPDX-License-Identifier: GPL-3.0-or-later */
/* errlist.c - errors collected while loading a spec, reported together. */
#include "config.h"
#include "errlist.h"
#include "util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void errlist_add(struct errlist *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	/* A bad value in `defaults` is seen once per job: report it once. */
	for (size_t i = 0; i < e->n; i++)
		if (!strcmp(e->msg[i], m)) {
			free(m);
			return;
		}
	xgrow(&e->msg, &e->cap, e->n + 1, sizeof *e->msg);
	e->msg[e->n++] = m;
}

/* One line per error, whatever a name or value in it holds (a newline in
 * a job name must not start a line of its own). */
void errlist_print(const struct errlist *e)
{
	for (size_t i = 0; i < e->n; i++)
		err_line("%s", e->msg[i]);
}

void errlist_free(struct errlist *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->msg[i]);
	free(e->msg);
	memset(e, 0, sizeof *e);
}
