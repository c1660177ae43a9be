/* SPDX-License-Identifier: GPL-3.0-or-later */
/* steps.h - item pipelines: the host of a steps job (`piperun __steps`).
 *
 * Items (text lines) flow from a source through steps to a sink.  Each
 * step has its own workers and reads a bounded queue that the step
 * before it (or the source) fills: a full queue blocks its producer, so
 * a slow step pushes back all the way to the source, which reads its
 * input lazily.  A step is one of
 *
 *   run        a child process per item ({} in argv = the item, the item
 *              on stdin), its stdout the next item;
 *   coprocess  one long-running child per worker, one line in, one line
 *              out (up to `window` lines written ahead of the answers);
 *              a worker whose child dies fails the item at the head of
 *              the line, restarts it and sends it the rest again; one
 *              that holds its head item unanswered for `stall_warning`
 *              (a program that buffers its output) is said once per
 *              step, on stderr (the job's) and in the counts;
 *   task       a pool task (task.h) called in process.
 *
 * Two engines run the same workers, with the same results:
 *
 *   thread  worker threads, bounded work queues (workq.h: a mutex and
 *           two condition variables, no busy waiting); a run/coprocess
 *           worker waits on its child through an event loop of its own;
 *   async   one thread, one event loop: every worker is a state machine
 *           and a scheduler moves items whenever something happened.
 *
 * Children stay in the host's process group (the runner's job timeout
 * and cancel reach them); the host signals them one by one for item
 * timeouts.  Nothing is lost silently: per step, received = processed +
 * failed once the job ends, and every failure is listed.  An item is a
 * line of text without NUL: a line of input that holds one fails before
 * the first step, a step's output that holds one fails its item.
 *
 * The host reports on info_fd: "P <text>" progress lines, an optional
 * "E <message>" line (the job's error) and, last, one JSON object with
 * the counts (items_in, items_out, items_resumed, steps[], failed_items,
 * warnings).  With the description's journal_items, also "S SEQ IH B64"
 * for each item sunk (steps-resume.c): the run journals them, and a
 * resumed run hands them back (sunk), so that an item sunk before is
 * not processed again (its output comes from there). */
#ifndef PIPERUN_STEPS_H
#define PIPERUN_STEPS_H

#include "spec.h"

/* Run the items (a count, or lines read from in_fd) through the steps,
 * final items to out_fd.  Returns the host's exit status: 0 every item
 * came through, 1 some failed (or on_error stopped the job), 2 the steps
 * could not run (*why: the message, malloc'd, the caller's to print
 * after "piperun: " and free), 128+N stopped by signal N (the host
 * then dies of it: die_of_signal).  Prints nothing of its own but the
 * warnings of coprocess steps (the job's stderr, as they happen).
 * sunk (NULL: none): the items sunk in an earlier session, "SEQ IH
 * B64" lines by SEQ (steps-resume.c); steps_run frees sunk->mem. */
struct steps_sunk {
	char *mem;            /* malloc'd: holds text */
	char *text;
	size_t len;
};
int steps_run(const struct steps_spec *s, int in_fd, int out_fd, int info_fd,
	      struct steps_sunk *sunk, char **why);

#endif
