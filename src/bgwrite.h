/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bgwrite.h - bytes written to an fd by a thread of their own, so that a
 * reader that stops reading (a full pipe) never stalls the caller: the
 * runner's loop keeps its timers and starts while `piperun run -o jsonl |
 * slow-reader` waits.  The caller blocks only when more than max bytes
 * wait (the memory a stalled reader may cost).  The thread blocks every
 * signal (the runner takes them on its signalfd). */
#ifndef PIPERUN_BGWRITE_H
#define PIPERUN_BGWRITE_H

#include <stddef.h>

struct bgwrite;

/* A writer for fd (not owned); NULL with errno if no thread could be
 * started. */
struct bgwrite *bgwrite_new(int fd, size_t max);
/* Queue a copy of p[0..n).  0, or -1 once a write has failed (the rest
 * is dropped; bgwrite_error says why). */
int bgwrite_put(struct bgwrite *b, const char *p, size_t n);
/* The first write error (an errno value), 0 if none so far. */
int bgwrite_error(struct bgwrite *b);
/* Wait until everything queued is written (or a write failed), stop the
 * thread and free b.  Returns the first write error, 0 if none. */
int bgwrite_finish(struct bgwrite *b);

#endif
