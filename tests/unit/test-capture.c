/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-capture.c - a capture whose spill file cannot be opened (no fd
 * free) keeps the bytes in memory, opens the file once an fd is back,
 * and hands every byte back in order. */
#include "config.h"
#include "capture.h"
#include "tap.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static struct buf got;

static void collect(void *ctx, const void *p, size_t n)
{
	(void)ctx;
	buf_add(&got, p, n);
}

/* Take every free fd; returns how many (their numbers in fds). */
static int fill_fds(int *fds, int max)
{
	int n = 0;
	while (n < max) {
		int fd = fcntl(0, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			break;
		fds[n++] = fd;
	}
	return n;
}

int main(void)
{
	enum { CHUNK = 50 * 1024, CHUNKS = 6 };
	char *data = xmalloc((size_t)CHUNK * CHUNKS);
	for (size_t i = 0; i < (size_t)CHUNK * CHUNKS; i++)
		data[i] = (char)('a' + (i * 7 + i / 977) % 26);

	/* a small table, so that taking every fd is quick */
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max < 64 ? rl.rlim_max : 64;
	setrlimit(RLIMIT_NOFILE, &rl);
	struct capture c;
	capture_init(&c, 1u << 30, false, NULL);
	static int fds[64];
	int n = fill_fds(fds, 64);
	ok(n > 0 && errno == EMFILE, "every fd taken (%d)", n);
	/* beyond CAPTURE_MEM_MAX with no fd for a spill file */
	for (int i = 0; i < 3; i++)
		capture_add(&c, data + (size_t)i * CHUNK, CHUNK);
	ok(c.spill_fd < 0, "no spill file while no fd is free");
	ok(c.err == 0, "a shortage of fds is not a lasting error (err %d)", c.err);
	is_int(c.mem_len, 3 * CHUNK, "the bytes wait in memory");
	/* fds come back: the next bytes open the file, what waited goes first */
	for (int i = 0; i < n; i++)
		close(fds[i]);
	for (int i = 3; i < CHUNKS; i++)
		capture_add(&c, data + (size_t)i * CHUNK, CHUNK);
	ok(c.spill_fd >= 0, "the spill file is opened once an fd is free");
	is_int(c.mem_len, CAPTURE_MEM_MAX, "memory holds CAPTURE_MEM_MAX again");
	capture_finish(&c);
	ok(capture_each(&c, collect, NULL) == 0, "capture_each reads it all");
	is_int(got.len, (size_t)CHUNK * CHUNKS, "every byte kept");
	ok(got.len == (size_t)CHUNK * CHUNKS && !memcmp(got.p, data, got.len),
	   "in the order written");
	char b[CHUNK];
	size_t off = 0;
	int same = 1;
	for (;;) {
		ssize_t r = capture_read_at(&c, off, b, sizeof b);
		if (r <= 0)
			break;
		same &= off + (size_t)r <= got.len && !memcmp(b, data + off, (size_t)r);
		off += (size_t)r;
	}
	ok(same && off == (size_t)CHUNK * CHUNKS, "capture_read_at agrees (%zu bytes)", off);
	capture_free(&c);
	buf_free(&got);
	free(data);
	return done_testing();
}
