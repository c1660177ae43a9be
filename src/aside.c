/* SPDX-License-Identifier: GPL-3.0-or-later */
/* aside.c - elements of a JSON array written aside (aside.h). */
#include "config.h"
#include "aside.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "util.h"

void aside_init(struct aside *a, size_t n, int depth)
{
	memset(a, 0, sizeof *a);
	a->n = n;
	a->depth = depth;
}

/* Every byte written goes to the file and is counted: an element's
 * offset is what was written before it. */
static void counted(void *ctx, const char *p, size_t n)
{
	struct aside *a = ctx;
	a->written += n;
	fd_sink_write(a->file, p, n);
}

static int open_file(struct aside *a)
{
	int fd = tmpfile_open();
	if (fd < 0) {
		a->err = errno;
		return -1;
	}
	a->file = xcalloc(1, sizeof *a->file);
	a->file->fd = fd;
	a->off = xcalloc(a->n ? a->n : 1, sizeof *a->off);
	a->len = xcalloc(a->n ? a->n : 1, sizeof *a->len);
	jw_init_part(&a->w, counted, a, true, a->depth);
	return 0;
}

struct jw *aside_writer(struct aside *a, size_t i)
{
	if (a->err || i >= a->n || (!a->file && open_file(a) < 0))
		return NULL;
	a->off[i] = a->written + 1;
	jw_aside(&a->w);
	return &a->w;
}

int aside_put(struct aside *a, size_t i)
{
	a->len[i] = a->written + 1 - a->off[i];
	if (a->file->err)
		a->err = a->file->err;
	if (!a->err)
		return 0;
	a->off[i] = 0; /* not whole: its writer keeps it */
	return -1;
}

bool aside_has(const struct aside *a, size_t i)
{
	return a->off && i < a->n && a->off[i];
}

int aside_splice(struct aside *a, size_t i, struct jw *const *to, size_t n)
{
	if (a->err)
		return -1;
	/* what the sink still buffers is not in the file yet */
	if (a->file->len && a->off[i] - 1 + a->len[i] > a->written - a->file->len &&
	    fd_sink_flush(a->file) < 0) {
		a->err = a->file->err;
		return -1;
	}
	for (size_t k = 0; k < n; k++)
		jw_splice(to[k]);
	char b[1 << 14];
	uint64_t at = a->off[i] - 1, left = a->len[i];
	while (left) {
		ssize_t r = pread(a->file->fd, b, left < sizeof b ? (size_t)left : sizeof b,
				  (off_t)at);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			a->err = r < 0 ? errno : EIO;
			return -1;
		}
		for (size_t k = 0; k < n; k++)
			to[k]->sink(to[k]->ctx, b, (size_t)r);
		at += (uint64_t)r;
		left -= (uint64_t)r;
	}
	return 0;
}

void aside_free(struct aside *a)
{
	if (a->file) {
		close(a->file->fd);
		free(a->file);
	}
	free(a->off);
	free(a->len);
	memset(a, 0, sizeof *a);
}
