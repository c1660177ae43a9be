/* SPDX-License-Identifier: GPL-3.0-or-later */
/* aside.h - elements of a JSON array written aside, out of order, and
 * spliced back into their document in order.
 *
 * The run's -o json document lists its job records in spec order, but
 * jobs end in any order, and a document that must wait for the jobs'
 * own output (a job inherits stdout) comes out only at the end.  A job
 * whose record cannot go out yet has its record written here, to an
 * unlinked temporary file (as captured output beyond 64 KiB is), and
 * its memory is let go; the document takes the record back when its
 * turn comes.  What stays in memory is two numbers a record. */
#ifndef PIPERUN_ASIDE_H
#define PIPERUN_ASIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jsonw.h"

struct aside {
	size_t n;              /* elements 0..n-1 */
	int depth;             /* of the array in its document */
	struct fd_sink *file;  /* NULL until the first element */
	struct jw w;
	uint64_t written;      /* bytes given to file */
	uint64_t *off;         /* per element: its offset + 1; 0: not here */
	uint64_t *len;
	int err;               /* an errno value, for good */
};

/* n elements of a pretty-printed array at depth in its document (the
 * run's "jobs" is at 2).  Nothing is allocated, and no file opened,
 * until the first element goes aside: a run whose records never wait
 * costs no fd (a run's fds are counted to the last one, job-fds.c). */
void aside_init(struct aside *a, size_t n, int depth);
/* The writer of element i (not yet aside): write exactly one value to
 * it, then call aside_put.  NULL when the file cannot be made (err
 * says why; EMFILE where the fds are all taken): the caller keeps the
 * element itself. */
struct jw *aside_writer(struct aside *a, size_t i);
/* Element i is written.  0, or -1 when the file failed (err): i is
 * then not aside (the caller keeps it), and no element is readable any
 * more. */
int aside_put(struct aside *a, size_t i);
bool aside_has(const struct aside *a, size_t i);
/* Element i, read back, into each of the n writers (each pretty, its
 * array open at the same depth), as their array's next element.  0,
 * or -1 with err set (the writers then have a separator and a part of
 * it at most).  It stays aside: it can be spliced again. */
int aside_splice(struct aside *a, size_t i, struct jw *const *to, size_t n);
void aside_free(struct aside *a);

#endif
