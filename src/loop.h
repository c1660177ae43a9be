/* SPDX-License-Identifier: GPL-3.0-or-later */
/* loop.h - the event loop: epoll over fds (pidfds, pipes, signalfd) plus a
 * monotonic deadline heap for timers, waited on with epoll_pwait2 so that
 * deadlines keep nanosecond resolution (epoll_wait, to the millisecond,
 * where the kernel or valgrind lacks it).  No threads, no signal handlers.
 * A loop belongs to one thread; thread mode runs one loop per worker. */
#ifndef PIPERUN_LOOP_H
#define PIPERUN_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

struct loop;
struct watch;
struct timer;

typedef void (*watch_fn)(struct watch *w, uint32_t events);
typedef void (*timer_fn)(struct timer *t);

/* Embedded in the owner's struct; the owner keeps it alive while added. */
struct watch {
	int fd;
	bool active;
	watch_fn cb;
	void *data;
};

struct timer {
	double at;        /* monotonic ms (util.h now_ms) */
	size_t slot;      /* position in the heap + 1; 0 = not armed */
	timer_fn cb;
	void *data;
};

struct loop *loop_new(void);
void loop_free(struct loop *l);
/* Watch fd for events (EPOLLIN, EPOLLOUT, ...).  Returns -1 with errno. */
int loop_add(struct loop *l, struct watch *w, int fd, uint32_t events,
	     watch_fn cb, void *data);
int loop_mod(struct loop *l, struct watch *w, uint32_t events);
/* Stop watching (the fd stays open: the owner closes it). */
void loop_del(struct loop *l, struct watch *w);
void timer_start(struct loop *l, struct timer *t, double at_ms, timer_fn cb,
		 void *data);
void timer_stop(struct loop *l, struct timer *t);
static inline bool timer_armed(const struct timer *t) { return t->slot != 0; }
/* Wait for events (at most until the next timer, or max_ms if >= 0) and
 * dispatch them.  Returns the number of callbacks run, -1 on error. */
int loop_run_once(struct loop *l, double max_ms);
/* Number of fds and timers registered: 0 means the loop has nothing to
 * wait for. */
size_t loop_pending(const struct loop *l);

#endif
