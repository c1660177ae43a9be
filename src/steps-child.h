/* SPDX-License-Identifier: GPL-3.0-or-later */
/* steps-child.h - the child of a steps worker (a run step's per-item
 * process, a coprocess): the one place a step supervises a process, so
 * that the supervised-process module (proc) can replace it whole.
 *
 * The state lives in struct worker (steps-int.h): pid, pidfd, fd_w and
 * fd_r (the child's stdin and stdout, a pty when fd_w == fd_r), their
 * watches on w->loop, the ladder and the t_kill timer, rc/sig once
 * reaped.  The worker owns and closes fd_w/fd_r (child_close_fds) and
 * the pidfd (child_reap). */
#ifndef PIPERUN_STEPS_CHILD_H
#define PIPERUN_STEPS_CHILD_H

#include <stdbool.h>

struct worker;
struct watch;
struct timer;

/* Start the step's program with in and out as its fds 0 and 1 (the
 * caller closes its copies), in the host's process group.  0 with
 * w->pid and w->pidfd set, or -1 with a message in *why. */
int child_spawn(struct worker *w, char *const *argv, int in, int out, char **why);
/* Signal the child, then SIGCONT, KILL after the job's kill_after if it
 * is still there; SIGKILL at once.  Nothing if there is no child. */
void worker_kill(struct worker *w, int sig);
/* A closing coprocess that lingers: its t_kill timer's callback. */
void on_kill_timer(struct timer *t);
/* Reap the child (its pidfd is readable): w->rc (-1: by a signal) and
 * w->sig; pidfd closed, timers stopped, w->pid 0. */
void child_reap(struct worker *w);
/* How a child ended, for a failure: "exit status N" / "killed by SIG"
 * (malloc'd). */
char *status_text(int rc, int sig);

/* Its pipes. */
void close_watched(struct worker *w, int *fd, struct watch *wt);
void child_close_fds(struct worker *w);
/* Read into w->rbuf what is there (all: until EAGAIN or EOF); false at
 * EOF.  An answer over MAX_ITEM_BYTES sets w->overflow instead. */
bool read_some(struct worker *w, bool all);
/* Write w->wbuf from w->woff as far as the pipe takes it. */
void write_some(struct worker *w);
int pipe_cloexec(int p[2]);
void set_nonblock(int fd);
/* A raw pseudo-terminal, both ends CLOEXEC.  -1 with errno. */
int open_pty(int *master, int *slave);

#endif
