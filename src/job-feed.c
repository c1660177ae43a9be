/* SPDX-License-Identifier: GPL-3.0-or-later */
/* job-feed.c - feeding a job's stdin pipe from the runner: text, base64,
 * random bytes (seeded or not) or another job's captured stdout
 * (stdin.from), in non-blocking chunks (see job-feed.h). */
#include "config.h"
#include "job-feed.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define FEED_CHUNK (64 * 1024)

static void feeder_free(struct feeder *f)
{
	if (f->kind == IN_RANDOM || f->kind == IN_FROM)
		free(f->chunk);
	memset(f, 0, sizeof *f);
}

void job_feed_stop(struct job *j)
{
	if (j->run->fd_in >= 0) {
		loop_del(j->env->loop, &j->run->w_in);
		close(j->run->fd_in);
		j->run->fd_in = -1;
	}
	feeder_free(&j->run->feed);
}

static void feeder_init(struct job *j)
{
	const struct in_spec *in = &j->spec->in;
	struct feeder *f = &j->run->feed;
	memset(f, 0, sizeof *f);
	f->kind = in->kind;
	switch (in->kind) {
	case IN_TEXT:
	case IN_BASE64:
		f->chunk = in->data;
		f->chunk_len = in->len;
		break;
	case IN_RANDOM:
		f->left = in->nrandom;
		splitmix_init(&f->rng, in->seed);
		f->chunk = xmalloc(FEED_CHUNK);
		break;
	case IN_FROM:
		f->src = &job_run_of(&j->env->all[in->from_idx])->out;
		f->chunk = xmalloc(FEED_CHUNK);
		break;
	default:
		break;
	}
}

/* Stage the next bytes; false when the source is exhausted. */
static bool feeder_refill(struct job *j)
{
	struct feeder *f = &j->run->feed;
	const struct in_spec *in = &j->spec->in;
	f->chunk_off = f->chunk_len = 0;
	if (f->kind == IN_RANDOM && f->left) {
		size_t n = f->left < FEED_CHUNK ? (size_t)f->left : FEED_CHUNK;
		if (in->seeded) {
			splitmix_fill(&f->rng, f->chunk, n);
		} else {
			size_t got = 0;
			while (got < n) {
				ssize_t r = getrandom(f->chunk + got, n - got, 0);
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0)
					return false;
				got += (size_t)r;
			}
		}
		f->left -= n;
		f->chunk_len = n;
		return true;
	}
	if (f->kind == IN_FROM) {
		ssize_t r = capture_read_at(f->src, f->off, f->chunk, FEED_CHUNK);
		if (r <= 0)
			return false;
		f->off += (uint64_t)r;
		f->chunk_len = (size_t)r;
		return true;
	}
	return false;
}

static void on_in(struct watch *w, uint32_t ev);

static void feed(struct job *j)
{
	struct feeder *f = &j->run->feed;
	while (j->run->fd_in >= 0) {
		if (f->chunk_off == f->chunk_len && !feeder_refill(j)) {
			job_feed_stop(j);
			return;
		}
		ssize_t r = write(j->run->fd_in, f->chunk + f->chunk_off, f->chunk_len - f->chunk_off);
		if (r > 0) {
			f->chunk_off += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN) {
			if (!j->run->w_in.active &&
			    loop_add(j->env->loop, &j->run->w_in, j->run->fd_in, EPOLLOUT, on_in, j) < 0)
				job_feed_stop(j);
			return;
		}
		/* EPIPE: the child stopped reading, which is its right */
		job_feed_stop(j);
		return;
	}
}

static void on_in(struct watch *w, uint32_t ev)
{
	feed(w->data);
}

void job_feed_start(struct job *j)
{
	feeder_init(j);
	feed(j);
}
