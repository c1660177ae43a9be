/* SPDX-License-Identifier: GPL-3.0-or-later */
/* loop.c - epoll + a binary min-heap of deadlines. */
#include "config.h"
#include "loop.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256

struct loop {
	int epfd;
	size_t nwatch;
	struct timer **heap;
	size_t nheap, cap;
	/* the events of the batch being dispatched, and the next one: a
	 * watch removed during a batch is struck from its rest, as its
	 * memory may be gone by then (a job's, freed once its record is
	 * out) */
	struct epoll_event *batch;
	int batch_n, batch_next;
};

struct loop *loop_new(void)
{
	int fd = epoll_create1(EPOLL_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct loop *l = xcalloc(1, sizeof *l);
	l->epfd = fd;
	return l;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l->heap);
	free(l);
}

int loop_add(struct loop *l, struct watch *w, int fd, uint32_t events,
	     watch_fn cb, void *data)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };
	w->fd = fd;
	w->cb = cb;
	w->data = data;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -1;
	w->active = true;
	l->nwatch++;
	return 0;
}

int loop_mod(struct loop *l, struct watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, w->fd, &ev);
}

void loop_del(struct loop *l, struct watch *w)
{
	if (!w->active)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->active = false;
	l->nwatch--;
	for (int i = l->batch_next; l->batch && i < l->batch_n; i++)
		if (l->batch[i].data.ptr == w)
			l->batch[i].data.ptr = NULL;
}

static void heap_set(struct loop *l, size_t i, struct timer *t)
{
	l->heap[i] = t;
	t->slot = i + 1;
}

static void heap_up(struct loop *l, size_t i)
{
	struct timer *t = l->heap[i];
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (l->heap[p]->at <= t->at)
			break;
		heap_set(l, i, l->heap[p]);
		i = p;
	}
	heap_set(l, i, t);
}

static void heap_down(struct loop *l, size_t i)
{
	struct timer *t = l->heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= l->nheap)
			break;
		if (c + 1 < l->nheap && l->heap[c + 1]->at < l->heap[c]->at)
			c++;
		if (l->heap[c]->at >= t->at)
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

void timer_stop(struct loop *l, struct timer *t)
{
	if (!t->slot)
		return;
	size_t i = t->slot - 1;
	t->slot = 0;
	l->nheap--;
	if (i == l->nheap)
		return;
	struct timer *m = l->heap[l->nheap];
	heap_set(l, i, m);
	heap_up(l, i);
	heap_down(l, m->slot - 1);
}

void timer_start(struct loop *l, struct timer *t, double at_ms, timer_fn cb,
		 void *data)
{
	timer_stop(l, t);
	t->at = at_ms;
	t->cb = cb;
	t->data = data;
	xgrow(&l->heap, &l->cap, l->nheap + 1, sizeof *l->heap);
	l->heap[l->nheap++] = t;
	heap_up(l, l->nheap - 1);
}

size_t loop_pending(const struct loop *l)
{
	return l->nwatch + l->nheap;
}

static int run_timers(struct loop *l)
{
	int n = 0;
	double now = now_ms();
	while (l->nheap && l->heap[0]->at <= now) {
		struct timer *t = l->heap[0];
		timer_stop(l, t);
		t->cb(t);
		n++;
	}
	return n;
}

/* epoll_pwait2 (nanosecond timeouts, Linux 5.11) where the kernel has
 * it; epoll_wait with the timeout rounded up to whole milliseconds where
 * it does not (older kernels, seccomp filters, valgrind 3.19).  The
 * answer is remembered: the runner's threads all see the same kernel. */
static int epoll_wait_ns(int epfd, struct epoll_event *ev, int max,
			 const struct timespec *tsp, double wait_ms)
{
	static atomic_bool no_pwait2;
	if (!atomic_load_explicit(&no_pwait2, memory_order_relaxed)) {
		int n = epoll_pwait2(epfd, ev, max, tsp, NULL);
		/* ENOSYS: not in this kernel or valgrind; EPERM: an old
		 * seccomp profile that does not list it */
		if (n >= 0 || (errno != ENOSYS && errno != EPERM))
			return n;
		atomic_store_explicit(&no_pwait2, true, memory_order_relaxed);
	}
	int ms = wait_ms < 0 ? -1 : wait_ms > INT_MAX ? INT_MAX : (int)u_ceil(wait_ms);
	return epoll_wait(epfd, ev, max, ms);
}

#define LOOP_MAX_WAIT_MS 86400e3

int loop_run_once(struct loop *l, double max_ms)
{
	double wait = max_ms;
	if (l->nheap) {
		double until = l->heap[0]->at - now_ms();
		if (until < 0)
			until = 0;
		if (wait < 0 || until < wait)
			wait = until;
	}
	/* a deadline years away (timeout 1e300): wake up once a day and
	 * look again, rather than overflow a timespec */
	if (wait > LOOP_MAX_WAIT_MS)
		wait = LOOP_MAX_WAIT_MS;
	struct timespec ts, *tsp = NULL;
	if (wait >= 0) {
		long long ns = (long long)(wait * 1e6);
		ts.tv_sec = (time_t)(ns / 1000000000);
		ts.tv_nsec = (long)(ns % 1000000000);
		tsp = &ts;
	}
	struct epoll_event ev[MAX_EVENTS];
	int n = epoll_wait_ns(l->epfd, ev, MAX_EVENTS, tsp, wait);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		return -1;
	}
	int ran = 0;
	/* (a callback that runs the loop again has a batch of its own) */
	struct epoll_event *outer = l->batch;
	int outer_n = l->batch_n, outer_next = l->batch_next;
	l->batch = ev;
	l->batch_n = n;
	for (int i = 0; i < n; i++) {
		struct watch *w = ev[i].data.ptr;
		l->batch_next = i + 1;
		/* NULL: a callback earlier in this batch removed it */
		if (!w)
			continue;
		w->cb(w, ev[i].events);
		ran++;
	}
	l->batch = outer;
	l->batch_n = outer_n;
	l->batch_next = outer_next;
	return ran + run_timers(l);
}
