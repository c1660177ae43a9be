/* SPDX-License-Identifier: GPL-3.0-or-later */
/* live.c - live, optionally tagged, output (see live.h). */
#include "config.h"
#include "live.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One writer at a time to piperun's own stdout/stderr (thread mode). */
static pthread_mutex_t live_mtx = PTHREAD_MUTEX_INITIALIZER;

void live_init(struct live *l, int fd, const char *name, bool tag, bool timestamps)
{
	memset(l, 0, sizeof *l);
	l->fd = fd;
	l->tag = tag;
	l->timestamps = timestamps;
	l->prefix = tag ? xasprintf("%s| ", name) : NULL;
}

/* The first error writing to piperun's stdout (atomic; 0: none). */
static int stdout_err;

/* a closed terminal or pipe is not the job's problem: the job goes on,
 * and the command says it at the end (live_stdout_error) */
static void write_all(int fd, const char *p, size_t n)
{
	if (write_full(fd, p, n) < 0 && fd == 1) {
		int none = 0;
		__atomic_compare_exchange_n(&stdout_err, &none, errno ? errno : EIO, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	}
}

int live_stdout_error(void)
{
	return __atomic_load_n(&stdout_err, __ATOMIC_RELAXED);
}

/* One whole line (p..p+n, without its newline), prefixed. */
static void emit_line(struct live *l, const char *p, size_t n)
{
	char ts[32] = "";
	if (l->timestamps) {
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		long s = (long)(t.tv_sec % 86400);
		snprintf(ts, sizeof ts, "%02ld:%02ld:%02ld.%03ld ", s / 3600, s / 60 % 60, s % 60,
			 t.tv_nsec / 1000000);
	}
	size_t lp = strlen(l->prefix), lt = strlen(ts);
	char *out = xmalloc(lt + lp + n + 1);
	memcpy(out, ts, lt);
	memcpy(out + lt, l->prefix, lp);
	memcpy(out + lt + lp, p, n);
	out[lt + lp + n] = '\n';
	pthread_mutex_lock(&live_mtx);
	write_all(l->fd, out, lt + lp + n + 1);
	pthread_mutex_unlock(&live_mtx);
	free(out);
}

void live_write(struct live *l, const char *p, size_t n)
{
	if (!l->tag) {
		pthread_mutex_lock(&live_mtx);
		write_all(l->fd, p, n);
		pthread_mutex_unlock(&live_mtx);
		return;
	}
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		if (l->line.len + take >= LIVE_LINE_MAX) {
			/* too long for one line: a piece now, the rest later */
			size_t room = LIVE_LINE_MAX - l->line.len;
			buf_add(&l->line, p, room);
			emit_line(l, l->line.p, l->line.len);
			l->line.len = 0;
			p += room;
			n -= room;
			continue;
		}
		if (!nl) {
			buf_add(&l->line, p, n);
			return;
		}
		if (l->line.len) {
			buf_add(&l->line, p, take);
			emit_line(l, l->line.p, l->line.len);
			l->line.len = 0;
		} else {
			emit_line(l, p, take);
		}
		p += take + 1;
		n -= take + 1;
	}
}

void live_flush(struct live *l)
{
	if (l->tag && l->line.len) {
		emit_line(l, l->line.p, l->line.len);
		l->line.len = 0;
	}
}

void live_free(struct live *l)
{
	free(l->prefix);
	buf_free(&l->line);
	memset(l, 0, sizeof *l);
}
