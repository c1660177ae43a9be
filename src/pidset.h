/* SPDX-License-Identifier: GPL-3.0-or-later */
/* pidset.h - a set of pids (open addressing, no tombstones): the runner
 * tells a job's process from an orphan in O(1) when SIGCHLD comes. */
#ifndef PIPERUN_PIDSET_H
#define PIPERUN_PIDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct pidset {
	pid_t *slot;       /* 0: empty */
	size_t cap, n;     /* cap a power of two, at least twice n */
};

/* Add p (> 0; not there yet). */
void pidset_add(struct pidset *s, pid_t p);
/* Remove p if there. */
void pidset_del(struct pidset *s, pid_t p);
bool pidset_has(const struct pidset *s, pid_t p);
void pidset_free(struct pidset *s);

#endif
