/* SPDX-License-Identifier: GPL-3.0-or-later */
/* progress.h - the progress display on stderr: done/running/failed
 * counts (and cancelled/skipped, when there are any: counted as the
 * summary counts them), a bar and an ETA, redrawn in place at most 10 times a second
 * on a terminal; plain lines (on change, or every second) with
 * --progress always when stderr is not a terminal.  Job names never
 * appear; a running steps job adds its steps' counts and queue depths
 * (redacted like everything else of that job). */
#ifndef PIPERUN_PROGRESS_H
#define PIPERUN_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "loop.h"

enum progress_when { PROGRESS_AUTO, PROGRESS_ALWAYS, PROGRESS_NEVER };

struct progress_counts {
	size_t total, done, running;
	size_t failed;               /* failed, timeout, error */
	size_t cancelled, skipped;
	char detail[160];            /* a running steps job's steps (escaped), or "" */
};

struct progress {
	bool on, tty;
	int fd;
	double t0, last_line;
	struct progress_counts last;
	struct timer t;
	struct loop *loop;
	void (*sample)(void *ctx, struct progress_counts *c);
	void *ctx;
};

void progress_start(struct progress *p, enum progress_when when, struct loop *l,
		    void (*sample)(void *ctx, struct progress_counts *c), void *ctx);
/* Final state, a last line, and the terminal left on a fresh line. */
void progress_finish(struct progress *p, const char *status);

#endif
