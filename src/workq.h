/* SPDX-License-Identifier: GPL-3.0-or-later */
/* workq.h - a bounded work queue shared by threads: the one scheduler
 * seam of piperun (the pool's thread mode, the steps engines).
 *
 * A FIFO of fixed-size elements (copied in and out).  A producer blocks
 * while the queue holds cap elements, a consumer while it is empty: no
 * busy waiting, and only one waiter is woken per change (a consumer
 * that leaves elements behind passes the baton on).  Non-blocking push
 * and pop serve a single-threaded event loop over the same queues.
 *
 *   close   no more elements will come: consumers drain what is there,
 *           then pop returns -1;
 *   abort   nothing more moves: push and pop return at once, what is
 *           left stays in the queue (workq_destroy hands it back).
 *
 * Optionally (WORKQ_EVENTFD) an eventfd becomes readable whenever
 * elements arrive or the queue is closed, so an event loop can wait for
 * a queue next to its other fds; the loop drains it with workq_clear_fd.
 *
 * The queue owns no element's contents: what an element points to is
 * the caller's, also for elements left in it at destroy. */
#ifndef PIPERUN_WORKQ_H
#define PIPERUN_WORKQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

enum { WORKQ_EVENTFD = 1 };

struct workq {
	pthread_mutex_t mu;
	pthread_cond_t can_pop, can_push;
	unsigned char *ring;
	size_t elem;         /* bytes per element */
	size_t cap;          /* what push may fill */
	size_t ring_cap;     /* cap + room that only workq_push_extra fills */
	size_t head, n;
	size_t max_depth;    /* the most elements it held at once */
	int pop_waiters, push_waiters;
	bool closed;
	bool aborted;
	int efd;             /* WORKQ_EVENTFD: the queue's eventfd, else -1 */
};

/* A queue of elements of elem bytes, cap of them for push and extra more
 * for workq_push_extra.  Returns 0, or -1 with errno (WORKQ_EVENTFD:
 * the eventfd could not be made; nothing to destroy). */
int workq_init(struct workq *q, size_t elem, size_t cap, size_t extra, int flags);
/* Releases the queue; each element still in it, oldest first, goes to
 * drop (if not NULL) before.  Closes the eventfd. */
void workq_destroy(struct workq *q, void (*drop)(void *elem));

/* Push up to n elements (in order), waiting for room if block.  Returns
 * how many went in: fewer than n when !block and the queue filled up,
 * or when it was aborted (*aborted set).  The rest stay the caller's. */
size_t workq_push(struct workq *q, const void *in, size_t n, bool block, bool *aborted);
/* One element beyond cap (waiting while even the extra room is full);
 * dropped (false) when the queue is aborted. */
bool workq_push_extra(struct workq *q, const void *in);
/* Take up to max elements, about a share-th of what is there (so one
 * consumer does not take all from its fellows), at least one.  Returns
 * how many, 0 when none is there and !block, -1 when none will come
 * (closed and empty, or aborted). */
int workq_pop(struct workq *q, void *out, size_t max, size_t share, bool block);

/* No more pushes (abort: nothing more moves).  Wakes every waiter. */
void workq_close(struct workq *q, bool abort);

bool workq_done(struct workq *q);            /* pop would return -1 */
bool workq_full(struct workq *q);            /* push would not take one */
size_t workq_depth(struct workq *q, size_t *max_depth);

/* WORKQ_EVENTFD: the fd to watch (readable: look at the queue), and
 * reading it empty again.  -1 / no-op without. */
int workq_fd(const struct workq *q);
void workq_clear_fd(struct workq *q);

#endif
