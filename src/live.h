/* SPDX-License-Identifier: GPL-3.0-or-later */
/* live.h - streaming a job's output to piperun's own stdout/stderr while
 * it runs (stdout/stderr "tee", "inherit" under --tag, and every captured
 * stream under --tag).
 *
 * Untagged, bytes are copied as they come.  Tagged (--tag), a stream is
 * cut into lines and each line is written whole, with one write(2) under
 * a process-wide lock, prefixed "name| " (and a time of day with
 * --timestamps): lines from a thousand jobs never tear or interleave.  A
 * line longer than 64 KiB is written in 64 KiB pieces, each ended by a
 * newline; a last line without a newline is written (with one) when the
 * stream ends. */
#ifndef PIPERUN_LIVE_H
#define PIPERUN_LIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define LIVE_LINE_MAX (64 * 1024)

struct live {
	int fd;              /* 1 or 2 */
	bool tag, timestamps;
	char *prefix;        /* "name| " */
	struct buf line;     /* a partial line (tagged) */
};

void live_init(struct live *l, int fd, const char *name, bool tag, bool timestamps);
void live_write(struct live *l, const char *p, size_t n);
/* End of stream: flush a partial line. */
void live_flush(struct live *l);
void live_free(struct live *l);
/* The first error (errno) writing a job's output to piperun's stdout,
 * or 0: the job is not failed for it; the command's exit status says
 * it (EPIPE: as for its results, a reader that went away). */
int live_stdout_error(void);

#endif
