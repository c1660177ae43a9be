/* SPDX-License-Identifier: GPL-3.0-or-later */
/* contain-int.h - what contain.c (the run, the guardian, signals) and
 * contain-spare.c (job cgroups: made, reused, dropped) share. */
#ifndef PIPERUN_CONTAIN_INT_H
#define PIPERUN_CONTAIN_INT_H

#include "contain.h"

#include <sys/types.h>

/* openat(dirfd, file, flags | O_CLOEXEC) */
int cg_open(int dirfd, const char *file, int flags);
/* The file's text (NUL-terminated, at most n - 1 bytes); its length or
 * -1. */
ssize_t cg_read(int dirfd, const char *file, char *buf, size_t n);
/* Write cgroup.kill: whether it went in. */
bool cg_kill(int dirfd);
/* cgroup.events: 0 with *populated and *frozen set, -1 if unreadable
 * (the cgroup is gone). */
int cg_state(int dirfd, bool *populated, bool *frozen);
/* Remove the attempt's cgroup; with kill, KILL what is still in it
 * first (the removal then fails until they are gone: the run's end or
 * the guardian removes it). */
void contain_job_drop(struct contain *c, struct contain_job *cj, bool kill);
/* Forget the attempt's guardian slot. */
void contain_unslot(struct contain *c, struct contain_job *cj);

#endif
