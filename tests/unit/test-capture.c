/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-capture.c - capture.h's edge cases: a small stream stays in
 * memory; beyond CAPTURE_MEM_MAX the rest goes to a spill file and every
 * byte (binary: NULs, 0xff, cut UTF-8) comes back in order; max_output
 * keeps the first bytes, counts and digests them all; a spill file that
 * cannot be opened (no fd free) keeps the bytes in memory, opens the
 * file once an fd is back, and hands every byte back in order. */
#include "config.h"
#include "capture.h"
#include "codec.h"
#include "sha256.h"
#include "tap.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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

/* Every kept byte through capture_read_at, in reads of step bytes:
 * equal to want[0 .. n) and then the end? */
static int read_at_agrees(const struct capture *c, const char *want, size_t n, size_t step)
{
	char b[70000];
	size_t off = 0;
	for (;;) {
		ssize_t r = capture_read_at(c, off, b, step < sizeof b ? step : sizeof b);
		if (r < 0)
			return 0;
		if (r == 0)
			break;
		if (off + (size_t)r > n || memcmp(b, want + off, (size_t)r))
			return 0;
		off += (size_t)r;
	}
	return off == n;
}

/* Hex SHA-256 of p[0 .. n), as capture_hex writes it. */
static void hex_digest(const void *p, size_t n, char out[65])
{
	struct sha256 s;
	unsigned char d[32];
	sha256_init(&s);
	sha256_update(&s, p, n);
	sha256_final(&s, d);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* The capture holds want[0 .. n), through capture_each and through
 * capture_read_at (in reads within and across the memory/file line). */
static void check_kept(const struct capture *c, const char *want, size_t n, const char *what)
{
	buf_free(&got);
	ok(capture_each(c, collect, NULL) == 0 && got.len == n && !memcmp(got.p, want, n),
	   "%s: capture_each gives the kept bytes in order", what);
	ok(read_at_agrees(c, want, n, 4096), "%s: capture_read_at agrees in 4 KiB reads", what);
	ok(read_at_agrees(c, want, n, 65537), "%s: capture_read_at agrees in 64 KiB + 1 reads", what);
	buf_free(&got);
}

/* The capture's digest is SHA-256 of p[0 .. n). */
static void check_digest(const struct capture *c, const void *p, size_t n, const char *what)
{
	char want[65], have[65];
	hex_digest(p, n, want);
	capture_hex(c, have);
	is_str(have, want, "%s: the digest is SHA-256 of the whole stream", what);
}

/* Under CAPTURE_MEM_MAX: memory only, valid UTF-8, nothing truncated. */
static void test_small(void)
{
	struct capture c;
	capture_init(&c, 1u << 20, true, NULL);
	capture_add(&c, "h\xc3\xa9llo ", 7);
	capture_add(&c, "", 0);
	capture_add(&c, "world\n", 6);
	capture_finish(&c);
	ok(c.spill_fd < 0, "small: no spill file");
	is_int(c.total, 13, "small: every byte counted");
	ok(!capture_truncated(&c), "small: not truncated");
	ok(utf8_valid(&c.utf8), "small: valid UTF-8");
	check_kept(&c, "h\xc3\xa9llo world\n", 13, "small");
	check_digest(&c, "h\xc3\xa9llo world\n", 13, "small");
	capture_free(&c);
}

/* 200 KiB of binary bytes in uneven writes: the first CAPTURE_MEM_MAX in
 * memory, the rest in the spill file, all back in order. */
static void test_spill_binary(void)
{
	enum { N = 200 * 1024 };
	char *data = xmalloc(N);
	uint64_t x = 1;
	for (size_t i = 0; i < N; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		data[i] = (char)(x >> 56);
	}
	data[0] = 0;            /* a NUL first */
	data[N - 1] = (char)0xc3; /* a UTF-8 sequence cut at the end */
	struct capture c;
	capture_init(&c, 1u << 30, true, NULL);
	size_t off = 0, step = 1;
	while (off < N) {
		size_t k = step < N - off ? step : N - off;
		capture_add(&c, data + off, k);
		off += k;
		step = step * 3 + 7;  /* 1, 10, 37, ...: crosses 64 KiB mid-write */
	}
	capture_finish(&c);
	ok(c.spill_fd >= 0, "spill: a spill file beyond CAPTURE_MEM_MAX");
	is_int(c.mem_len, CAPTURE_MEM_MAX, "spill: memory holds CAPTURE_MEM_MAX");
	ok(c.err == 0, "spill: no error");
	is_int(c.total, N, "spill: every byte counted");
	is_int(c.kept, N, "spill: every byte kept");
	ok(!capture_truncated(&c), "spill: not truncated");
	ok(!utf8_valid(&c.utf8), "spill: binary bytes are not UTF-8");
	check_kept(&c, data, N, "spill");
	check_digest(&c, data, N, "spill");
	capture_free(&c);
	free(data);
}

/* max_output: the first max_keep bytes kept, all counted and digested;
 * UTF-8 judged on what is kept. */
static void test_truncate(void)
{
	enum { N = 300 * 1024, KEEP = 100 * 1000 + 1 };
	char *data = xmalloc(N);
	for (size_t i = 0; i < N; i++)
		data[i] = (char)('a' + i % 26);
	data[KEEP + 10] = (char)0xff; /* beyond max_output: not judged */
	struct capture c;
	capture_init(&c, KEEP, true, NULL);
	for (size_t off = 0; off < N; off += 1000)
		capture_add(&c, data + off, N - off < 1000 ? N - off : 1000);
	capture_finish(&c);
	is_int(c.total, N, "truncate: every byte counted");
	is_int(c.kept, KEEP, "truncate: max_output bytes kept");
	ok(capture_truncated(&c), "truncate: truncated");
	ok(utf8_valid(&c.utf8), "truncate: UTF-8 judged on the kept bytes only");
	check_kept(&c, data, KEEP, "truncate (the first max_output bytes)");
	check_digest(&c, data, N, "truncate");
	capture_free(&c);

	/* max_output 0: nothing kept, still counted */
	capture_init(&c, 0, false, NULL);
	capture_add(&c, data, 10);
	capture_finish(&c);
	ok(c.kept == 0 && c.total == 10 && capture_truncated(&c) && c.spill_fd < 0,
	   "truncate: max_output 0 keeps nothing and counts all");
	char have[65];
	capture_hex(&c, have);
	is_str(have, "", "truncate: no digest when none was asked for");
	capture_free(&c);
	free(data);
}

/* The spill file cannot be opened for want of an fd. */
static void test_fd_shortage(void)
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
}

int main(void)
{
	test_small();
	test_spill_binary();
	test_truncate();
	/* last: it lowers RLIMIT_NOFILE */
	test_fd_shortage();
	return done_testing();
}
