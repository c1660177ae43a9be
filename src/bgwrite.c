/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bgwrite.c - a writer thread over a queue of copied chunks (see
 * bgwrite.h).  One mutex, two conditions: work for the thread, room (and
 * the end of a write) for the callers. */
#include "config.h"
#include "bgwrite.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct chunk {
	struct chunk *next;
	size_t len;
	char data[];
};

struct bgwrite {
	int fd;
	size_t max, queued;
	struct chunk *head, *tail;
	bool busy, stop;
	int err;
	pthread_t thread;
	pthread_mutex_t mtx;
	pthread_cond_t work, room;
};

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t r = write(fd, p, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Drop what waits (a write failed: nobody will read it). */
static void drop_all(struct bgwrite *b)
{
	while (b->head) {
		struct chunk *c = b->head;
		b->head = c->next;
		free(c);
	}
	b->tail = NULL;
	b->queued = 0;
}

static void *writer(void *arg)
{
	struct bgwrite *b = arg;
	pthread_mutex_lock(&b->mtx);
	for (;;) {
		while (!b->head && !b->stop)
			pthread_cond_wait(&b->work, &b->mtx);
		if (!b->head)
			break;
		struct chunk *c = b->head;
		b->head = c->next;
		if (!b->head)
			b->tail = NULL;
		b->busy = true;
		pthread_mutex_unlock(&b->mtx);
		int e = write_all(b->fd, c->data, c->len);
		pthread_mutex_lock(&b->mtx);
		b->busy = false;
		b->queued -= c->len;
		free(c);
		if (e && !b->err) {
			b->err = e;
			drop_all(b);
		}
		pthread_cond_broadcast(&b->room);
	}
	pthread_mutex_unlock(&b->mtx);
	return NULL;
}

struct bgwrite *bgwrite_new(int fd, size_t max)
{
	struct bgwrite *b = xcalloc(1, sizeof *b);
	b->fd = fd;
	b->max = max;
	pthread_mutex_init(&b->mtx, NULL);
	pthread_cond_init(&b->work, NULL);
	pthread_cond_init(&b->room, NULL);
	/* the thread takes no signal: block them all while it starts */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(&b->thread, NULL, writer, b);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		pthread_mutex_destroy(&b->mtx);
		pthread_cond_destroy(&b->work);
		pthread_cond_destroy(&b->room);
		free(b);
		errno = e;
		return NULL;
	}
	return b;
}

int bgwrite_put(struct bgwrite *b, const char *p, size_t n)
{
	struct chunk *c = xmalloc(sizeof *c + n);
	c->next = NULL;
	c->len = n;
	memcpy(c->data, p, n);
	pthread_mutex_lock(&b->mtx);
	while (!b->err && b->queued && b->queued + n > b->max)
		pthread_cond_wait(&b->room, &b->mtx);
	int err = b->err;
	if (!err) {
		if (b->tail)
			b->tail->next = c;
		else
			b->head = c;
		b->tail = c;
		b->queued += n;
		c = NULL;
		pthread_cond_signal(&b->work);
	}
	pthread_mutex_unlock(&b->mtx);
	free(c);
	return err ? -1 : 0;
}

int bgwrite_error(struct bgwrite *b)
{
	pthread_mutex_lock(&b->mtx);
	int e = b->err;
	pthread_mutex_unlock(&b->mtx);
	return e;
}

int bgwrite_finish(struct bgwrite *b)
{
	pthread_mutex_lock(&b->mtx);
	b->stop = true;
	pthread_cond_signal(&b->work);
	pthread_mutex_unlock(&b->mtx);
	pthread_join(b->thread, NULL);
	int e = b->err;
	drop_all(b);
	pthread_mutex_destroy(&b->mtx);
	pthread_cond_destroy(&b->work);
	pthread_cond_destroy(&b->room);
	free(b);
	return e;
}
