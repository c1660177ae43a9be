/* SPDX-License-Identifier: GPL-3.0-or-later */
/* guard-start.h - starting the guardian as a clone(CLONE_VM) child that
 * shares the runner's memory instead of copying it (see guard-start.c;
 * contain.c is its only user). */
#ifndef PIPERUN_GUARD_START_H
#define PIPERUN_GUARD_START_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* the environment the exec'd guardian gets:
 * PIPERUN_GUARDIAN=KILLFD:MEMFD:RUN_PATH (contain_guardian_main) */
#define GUARD_ENV_MAX 4200

struct guard_clone_args {
	int rfd;                 /* the pipe's read end: EOF when the runner goes */
	int killfd;              /* the run's cgroup.kill, or -1 */
	int memfd;               /* the guard table's memfd */
	int exefd;               /* O_PATH of /proc/self/exe */
	volatile int *done;      /* in the table: nothing left to do */
	volatile size_t *hwm;    /* in the table: its groups, for the */
	volatile pid_t *pg;      /* last resort when the exec fails */
	size_t nslots;
};

/* len bytes of memory shared with the guardian: through a memfd (in
 * *memfd, the caller's to close), which the clone-started guardian maps
 * again after its exec; else (*memfd -1) anonymous, for a forked one.
 * NULL if neither. */
void *guard_shared_map(size_t len, int *memfd);
/* Start the guardian (the fds are the caller's; the child has copies;
 * run_path the run's cgroup or NULL).  Returns its pid, or -1 with
 * errno: then fork one. */
pid_t guard_clone(const struct guard_clone_args *a, const char *run_path);
/* The guardian is gone (reaped: its stack is freed) or may still run
 * (left lingering: the stack stays). */
void guard_clone_done(bool gone);

#endif
