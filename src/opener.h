/* SPDX-License-Identifier: GPL-3.0-or-later */
/* opener.h - opening a job's files by path without ever blocking the
 * loop that supervises it.
 *
 * Most paths open at once: regular files, directories, memory devices
 * (/dev/null, /dev/zero, /dev/urandom...) and a path still to be
 * created.  Two kinds may wait in open(2) for as long as anyone likes: a
 * FIFO (until its other end is opened, as `cmd < fifo` does in a shell)
 * and other devices (a serial line waiting for carrier).  Those are
 * opened by a small detached thread of their own, which does the
 * blocking open (with the caller's flags, so the child gets exactly the
 * blocking fd a shell would give it) and reports on an eventfd that the
 * job's loop watches.
 *
 * The path is looked up once, with O_PATH (which never opens a FIFO or
 * a device for I/O), and every later open goes through that fd
 * (/proc/self/fd/N): what was classified is what gets opened.
 *
 * Cancelling a FIFO open: the canceller opens the same FIFO O_RDWR |
 * O_NONBLOCK, which on Linux never waits and counts as both a reader and
 * a writer, and keeps it until the thread is done, so the thread's open
 * returns however far it had got (even before it entered open(2)); the
 * thread then closes both.  Such a partner would wake every opener of
 * that FIFO: so it is opened only when no other opener of ours still
 * wants that FIFO (else the cancelled thread returns with them), and
 * none of ours starts its open while one is open.  (A process outside
 * piperun waiting on the same FIFO is woken too, as by any other end
 * that opens and goes away.)  A thread stuck on a device cannot be
 * woken: it is left to finish on its own, and closes what it gets.
 */
#ifndef PIPERUN_OPENER_H
#define PIPERUN_OPENER_H

#include <stdbool.h>
#include <sys/types.h>

struct opener;

/* Open path with flags (O_CLOEXEC is added; mode for O_CREAT).
 * Returns 0 with *fd open (it did not have to wait), 1 with *op started
 * (wait for opener_fd(*op) to become readable, then opener_take), or -1
 * with errno (nothing left open). */
int opener_open(const char *path, int flags, mode_t mode, int *fd,
		struct opener **op);
/* Readable (EPOLLIN) once the open has returned. */
int opener_fd(const struct opener *op);
/* What the FIFO or device is: true for a FIFO. */
bool opener_is_fifo(const struct opener *op);
/* When opener_fd is readable: returns 0 if the open has not returned
 * yet (op stays), or 1 with *fd its result (-1 with errno on failure)
 * and op freed. */
int opener_take(struct opener *op, int *fd);
/* Give up: the open is abandoned (a FIFO's is made to return), whatever
 * it yields is closed.  Frees op (the thread lets go of its part when it
 * is done).  The caller must stop watching opener_fd(op) first. */
void opener_cancel(struct opener *op);

#endif
