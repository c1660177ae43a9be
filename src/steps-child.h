/* SPDX-License-Identifier: GPL-3.0-or-later */
/* steps-child.h - the child of a steps worker (a run step's per-item
 * process, a coprocess): a struct proc (proc.h) per worker, w->child, on
 * the worker's loop (the engine's in async mode, its own thread's in
 * thread mode), PROC_GROUP_NONE: it lives in the host's process group,
 * so that the job's signals reach it, and is signalled alone.  Spawn,
 * pidfd watch, reaping and exit decode (w->child.status), the
 * signal-then-KILL ladder are proc's; what is the step's own is here:
 * its stdio (pipes, a pty), its clocks, the item's text for its exit.
 *
 * The state lives in struct worker (steps-int.h): child, fd_w and fd_r
 * (the child's stdin and stdout, a pty when fd_w == fd_r), their watches
 * on w->loop, the t_kill, t_deadline and t_stall timers.  The worker
 * owns and closes fd_w/fd_r (child_close_fds); the pidfd is the proc's. */
#ifndef PIPERUN_STEPS_CHILD_H
#define PIPERUN_STEPS_CHILD_H

#include <stdbool.h>

#include "proc.h"

struct worker;
struct watch;
struct timer;

/* Start the step's program with io[0..2] as its fds 0, 1 and 2 (see
 * proc.h for who owns what: PIPE_* ends come back in io[k].fd, the
 * caller's; an FD slot stays the caller's), in the host's process group,
 * watched on w->loop; on_exit(&w->child) once it is reaped, with
 * p->ctx == w.  0, or -1 with a message in *why (nothing left open but
 * the caller's own fds). */
int child_spawn(struct worker *w, char *const *argv, struct proc_stdio *io,
		void (*on_exit)(struct proc *p), char **why);
/* Is there a child that has not been reaped? */
bool child_alive(const struct worker *w);
/* Signal the child, then SIGCONT, KILL after the job's kill_after if it
 * is still there (proc_terminate); SIGKILL at once; sig 0 is SIGTERM.
 * Nothing if there is no child. */
void worker_kill(struct worker *w, int sig);
/* A closing coprocess that lingers: its t_kill timer's callback. */
void on_kill_timer(struct timer *t);
/* From on_exit: the proc's timers and the step's clocks stop. */
void child_ended(struct worker *w);
/* How a child ended, for a failure: "exit status N" / "killed by SIG"
 * (malloc'd). */
char *status_text(const struct stage_result *s);

/* Its pipes. */
void close_watched(struct worker *w, int *fd, struct watch *wt);
void child_close_fds(struct worker *w);
/* Read into w->rbuf what is there (all: until EAGAIN or EOF); false at
 * EOF.  An answer over MAX_ITEM_BYTES sets w->overflow instead. */
bool read_some(struct worker *w, bool all);
/* Write w->wbuf from w->woff as far as the pipe takes it. */
void write_some(struct worker *w);
void set_nonblock(int fd);
/* A raw pseudo-terminal, both ends CLOEXEC.  -1 with errno. */
int open_pty(int *master, int *slave);

#endif
