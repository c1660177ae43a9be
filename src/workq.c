/* SPDX-License-Identifier: GPL-3.0-or-later */
/* workq.c - the bounded work queue (see workq.h). */
#include "config.h"
#include "workq.h"
#include "util.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

int workq_init(struct workq *q, size_t elem, size_t cap, size_t extra, int flags)
{
	memset(q, 0, sizeof *q);
	q->efd = -1;
	if ((flags & WORKQ_EVENTFD) &&
	    (q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return -1;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->can_pop, NULL);
	pthread_cond_init(&q->can_push, NULL);
	q->elem = elem;
	q->cap = cap;
	q->ring_cap = cap + extra ? cap + extra : 1;
	q->ring = xcalloc(q->ring_cap, elem);
	return 0;
}

static void *slot(struct workq *q, size_t k)
{
	return q->ring + ((q->head + k) % q->ring_cap) * q->elem;
}

void workq_destroy(struct workq *q, void (*drop)(void *elem))
{
	for (size_t i = 0; drop && i < q->n; i++)
		drop(slot(q, i));
	free(q->ring);
	q->ring = NULL;
	q->n = 0;
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->can_pop);
	pthread_cond_destroy(&q->can_push);
	if (q->efd >= 0)
		close(q->efd);
	q->efd = -1;
}

/* Under the lock: tell an event loop to look. */
static void poke(struct workq *q)
{
	uint64_t one = 1;
	if (q->efd >= 0 && write(q->efd, &one, sizeof one) < 0) {
		/* fails only on overflow: it is readable then */
	}
}

static void put_locked(struct workq *q, const void *in)
{
	memcpy(slot(q, q->n), in, q->elem);
	q->n++;
}

int workq_pop(struct workq *q, void *out, size_t max, size_t share, bool block)
{
	pthread_mutex_lock(&q->mu);
	while (block && !q->n && !q->closed && !q->aborted) {
		q->pop_waiters++;
		pthread_cond_wait(&q->can_pop, &q->mu);
		q->pop_waiters--;
	}
	if (q->aborted || (!q->n && q->closed)) {
		pthread_mutex_unlock(&q->mu);
		return -1;
	}
	size_t take = q->n / (share ? share : 1);
	if (take < 1)
		take = 1;
	if (take > max)
		take = max;
	if (take > q->n)
		take = q->n;
	for (size_t i = 0; i < take; i++) {
		memcpy((unsigned char *)out + i * q->elem, slot(q, 0), q->elem);
		q->head = (q->head + 1) % q->ring_cap;
	}
	q->n -= take;
	/* wake one producer, and pass the baton to another consumer if
	 * elements remain: no herd wakes up for one slot */
	if (take && q->push_waiters)
		pthread_cond_signal(&q->can_push);
	if (q->n && q->pop_waiters)
		pthread_cond_signal(&q->can_pop);
	pthread_mutex_unlock(&q->mu);
	return (int)take;
}

size_t workq_push(struct workq *q, const void *in, size_t n, bool block, bool *aborted)
{
	size_t done = 0;
	*aborted = false;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		if (q->aborted) {
			*aborted = true;
			break;
		}
		size_t before = done;
		while (done < n && q->n < q->cap)
			put_locked(q, (const unsigned char *)in + done++ * q->elem);
		if (q->n > q->max_depth)
			q->max_depth = q->n;
		if (done > before) {
			if (q->pop_waiters)
				pthread_cond_signal(&q->can_pop);
			poke(q);
		}
		if (done == n || !block) {
			if (q->n < q->cap && q->push_waiters)
				pthread_cond_signal(&q->can_push);
			break;
		}
		q->push_waiters++;
		pthread_cond_wait(&q->can_push, &q->mu);
		q->push_waiters--;
	}
	pthread_mutex_unlock(&q->mu);
	return done;
}

bool workq_push_extra(struct workq *q, const void *in)
{
	pthread_mutex_lock(&q->mu);
	/* not a push waiter: pop wakes those only; the extra room is sized
	 * by the caller so that this does not wait (close wakes it) */
	while (q->n >= q->ring_cap && !q->aborted)
		pthread_cond_wait(&q->can_push, &q->mu);
	bool in_q = !q->aborted;
	if (in_q) {
		put_locked(q, in);
		if (q->pop_waiters)
			pthread_cond_signal(&q->can_pop);
		poke(q);
	}
	pthread_mutex_unlock(&q->mu);
	return in_q;
}

void workq_close(struct workq *q, bool abort)
{
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	if (abort)
		q->aborted = true;
	pthread_cond_broadcast(&q->can_pop);
	pthread_cond_broadcast(&q->can_push);
	poke(q);
	pthread_mutex_unlock(&q->mu);
}

bool workq_done(struct workq *q)
{
	pthread_mutex_lock(&q->mu);
	bool d = q->aborted || (q->closed && !q->n);
	pthread_mutex_unlock(&q->mu);
	return d;
}

bool workq_full(struct workq *q)
{
	pthread_mutex_lock(&q->mu);
	bool f = q->n >= q->cap;
	pthread_mutex_unlock(&q->mu);
	return f;
}

size_t workq_depth(struct workq *q, size_t *max_depth)
{
	pthread_mutex_lock(&q->mu);
	size_t n = q->n;
	if (max_depth)
		*max_depth = q->max_depth;
	pthread_mutex_unlock(&q->mu);
	return n;
}

int workq_fd(const struct workq *q)
{
	return q->efd;
}

void workq_clear_fd(struct workq *q)
{
	uint64_t v;
	if (q->efd >= 0 && read(q->efd, &v, sizeof v) < 0) {
		/* EAGAIN: it was not readable */
	}
}
