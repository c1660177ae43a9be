/* SPDX-License-Identifier: GPL-3.0-or-later */
/* capture.c - stream capture (see capture.h). */
#include "config.h"
#include "capture.h"
#include "sha256.h"
#include "codec.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int tmpfile_open(void)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || errno == EMFILE || errno == ENFILE)
		return fd;
	/* filesystems without O_TMPFILE: create and unlink at once */
	char *path = xasprintf("%s/piperun.XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	free(path);
	return fd;
}

void capture_init(struct capture *c, uint64_t max_keep, bool digest, struct live *live)
{
	memset(c, 0, sizeof *c);
	c->active = true;
	c->max_keep = max_keep;
	c->spill_fd = -1;
	c->live = live;
	if (digest) {
		c->sha = xmalloc(sizeof *c->sha);
		sha256_init(c->sha);
	}
}

static void keep_mem(struct capture *c, const char *p, size_t n)
{
	if (c->mem_len + n > c->mem_cap) {
		size_t cap = c->mem_cap ? c->mem_cap : 256;
		while (cap < c->mem_len + n)
			cap *= 2;
		c->mem = xrealloc(c->mem, cap);
		c->mem_cap = cap;
	}
	memcpy(c->mem + c->mem_len, p, n);
	c->mem_len += n;
}

/* Append to the spill file; returns the bytes written (all, unless the
 * disk is full: then c->err is set). */
static size_t spill(struct capture *c, const char *p, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = write(c->spill_fd, p + done, n - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			c->err = r < 0 ? errno : ENOSPC;
			break;
		}
		done += (size_t)r;
	}
	return done;
}

static void keep(struct capture *c, const char *p, size_t n)
{
	size_t in_mem = 0;
	if (c->mem_len < CAPTURE_MEM_MAX && c->spill_fd < 0) {
		in_mem = CAPTURE_MEM_MAX - c->mem_len;
		if (in_mem > n)
			in_mem = n;
		keep_mem(c, p, in_mem);
		p += in_mem;
		n -= in_mem;
	}
	if (!n)
		return;
	if (c->spill_fd < 0 && !c->err) {
		c->spill_fd = tmpfile_open();
		if (c->spill_fd < 0) {
			/* Out of fds: the runner keeps one free for each spill
			 * file a running job may open, so this is a passing
			 * shortage (fds taken outside piperun's count): the
			 * bytes wait in memory (max_output bounds them) and the
			 * next read tries again.  Anything else is for good. */
			if (errno != EMFILE && errno != ENFILE)
				c->err = errno;
		} else if (c->mem_len > CAPTURE_MEM_MAX) {
			/* what waited in memory goes first, keeping the order
			 * mem[0 .. MAX) | file | mem[MAX ..) */
			size_t w = spill(c, c->mem + CAPTURE_MEM_MAX, c->mem_len - CAPTURE_MEM_MAX);
			memmove(c->mem + CAPTURE_MEM_MAX, c->mem + CAPTURE_MEM_MAX + w,
				c->mem_len - CAPTURE_MEM_MAX - w);
			c->mem_len -= w;
		}
	}
	if (c->spill_fd >= 0 && c->mem_len <= CAPTURE_MEM_MAX) {
		/* (once bytes stay in memory after the file, later ones must
		 * follow them there) */
		size_t w = spill(c, p, n);
		p += w;
		n -= w;
	}
	if (n)
		keep_mem(c, p, n);
}

void capture_add(struct capture *c, const void *data, size_t n)
{
	const char *p = data;
	if (!n)
		return;
	if (c->live)
		live_write(c->live, p, n);
	if (c->sha)
		sha256_update(c->sha, p, n);
	c->total += n;
	if (c->kept < c->max_keep) {
		size_t k = c->max_keep - c->kept < n ? (size_t)(c->max_keep - c->kept) : n;
		utf8_feed(&c->utf8, p, k);
		keep(c, p, k);
		c->kept += k;
	}
}

void capture_finish(struct capture *c)
{
	if (c->live) {
		live_flush(c->live);
		c->live = NULL;
	}
	if (c->sha) {
		sha256_final(c->sha, c->digest);
		free(c->sha);
		c->sha = NULL;
		c->has_digest = true;
	}
}

/* Kept bytes are laid out as: mem[0 .. head) then the spill file, then
 * mem[head ..) only if the spill file failed part-way.  head is the
 * memory part written before the first spill. */
static size_t mem_head(const struct capture *c)
{
	if (c->spill_fd < 0)
		return c->mem_len;
	return c->mem_len < CAPTURE_MEM_MAX ? c->mem_len : CAPTURE_MEM_MAX;
}

int capture_each(const struct capture *c, capture_fn fn, void *ctx)
{
	size_t head = mem_head(c);
	if (head)
		fn(ctx, c->mem, head);
	if (c->spill_fd >= 0) {
		char buf[65536];
		off_t off = 0;
		for (;;) {
			ssize_t r = pread(c->spill_fd, buf, sizeof buf, off);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return -1;
			if (r == 0)
				break;
			fn(ctx, buf, (size_t)r);
			off += r;
		}
	}
	if (c->mem_len > head)
		fn(ctx, c->mem + head, c->mem_len - head);
	return 0;
}

ssize_t capture_read_at(const struct capture *c, uint64_t off, void *buf, size_t n)
{
	size_t head = mem_head(c);
	if (off < head) {
		size_t k = head - off < n ? head - (size_t)off : n;
		memcpy(buf, c->mem + off, k);
		return (ssize_t)k;
	}
	off -= head;
	if (c->spill_fd >= 0) {
		ssize_t r;
		do
			r = pread(c->spill_fd, buf, n, (off_t)off);
		while (r < 0 && errno == EINTR);
		if (r != 0)
			return r;
		off_t size = lseek(c->spill_fd, 0, SEEK_END);
		if (size < 0)
			return -1;
		off -= (uint64_t)size;
	}
	size_t tail = c->mem_len - head;
	if (off >= tail)
		return 0;
	size_t k = tail - off < n ? tail - (size_t)off : n;
	memcpy(buf, c->mem + head + off, k);
	return (ssize_t)k;
}

bool capture_truncated(const struct capture *c)
{
	return c->total > c->kept;
}

void capture_hex(const struct capture *c, char out[65])
{
	if (!c->has_digest) {
		out[0] = 0;
		return;
	}
	hex_encode(c->digest, 32, out);
}

void capture_free(struct capture *c)
{
	free(c->sha);
	if (c->spill_fd >= 0)
		close(c->spill_fd);
	free(c->mem);
	memset(c, 0, sizeof *c);
	c->spill_fd = -1;
}
