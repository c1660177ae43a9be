/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-bgwrite.c - the writer thread (bgwrite.h): puts return while the
 * reader is stalled (up to max), every byte arrives in order, a reader
 * that goes away is a sticky EPIPE, and an async fd_sink (jsonw.h) goes
 * through it. */
#include "config.h"
#include "bgwrite.h"
#include "jsonw.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOTAL (4 << 20)

/* Puts 4 MiB into a pipe nobody reads yet (its buffer holds 64 KiB):
 * they all return. */
static void test_stalled_reader(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		abort();
	struct bgwrite *b = bgwrite_new(p[1], 64 << 20);
	ok(b != NULL, "a writer thread");
	char chunk[4096];
	size_t k = 0, i;
	for (i = 0; i < TOTAL / sizeof chunk; i++) {
		for (size_t j = 0; j < sizeof chunk; j++)
			chunk[j] = (char)(k++ * 7);
		if (bgwrite_put(b, chunk, sizeof chunk) < 0)
			break;
	}
	is_int(i, TOTAL / sizeof chunk, "4 MiB queued while the reader reads nothing");
	/* now read it all: same bytes, same order */
	size_t got = 0, bad = 0;
	k = 0;
	while (got < TOTAL) {
		ssize_t r = read(p[0], chunk, sizeof chunk);
		if (r <= 0)
			break;
		for (ssize_t j = 0; j < r; j++)
			bad += chunk[j] != (char)(k++ * 7);
		got += (size_t)r;
	}
	is_int(got, TOTAL, "every byte arrives");
	is_int(bad, 0, "in order");
	is_int(bgwrite_finish(b), 0, "finish: no error");
	close(p[0]);
	close(p[1]);
}

/* A reader gone: EPIPE, sticky, and puts stop queueing. */
static void test_reader_gone(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		abort();
	close(p[0]);
	struct bgwrite *b = bgwrite_new(p[1], 1 << 20);
	char c[100] = { 0 };
	bgwrite_put(b, c, sizeof c);
	int rc = 0;
	for (int i = 0; i < 100000 && rc == 0; i++) {
		rc = bgwrite_put(b, c, sizeof c);
		if (!rc)
			usleep(100);
	}
	is_int(rc, -1, "a put fails once the reader is gone");
	is_int(bgwrite_error(b), EPIPE, "with EPIPE");
	is_int(bgwrite_finish(b), EPIPE, "finish says so too");
	close(p[1]);
}

/* An async sink: its flushes return with the reader stalled; finish
 * writes the rest. */
static void test_async_sink(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		abort();
	struct fd_sink *s = calloc(1, sizeof *s);
	s->fd = p[1];
	s->async = true;
	char line[1000];
	memset(line, 'a', sizeof line);
	for (int i = 0; i < 1000; i++) {
		fd_sink_write(s, line, sizeof line);
		fd_sink_flush(s);
	}
	ok(s->bg != NULL && s->err == 0, "1 MB flushed through the thread, reader stalled");
	size_t got = 0;
	char buf[65536];
	int fl = fcntl(p[0], F_GETFL);
	fcntl(p[0], F_SETFL, fl | O_NONBLOCK);
	for (int tries = 0; got < 1000000 && tries < 100000; tries++) {
		ssize_t r = read(p[0], buf, sizeof buf);
		if (r > 0)
			got += (size_t)r;
		else
			usleep(100);
	}
	is_int(got, 1000000, "all of it read");
	is_int(fd_sink_finish(s), 0, "finish");
	ok(s->bg == NULL, "the thread is gone");
	free(s);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_stalled_reader();
	test_reader_gone();
	test_async_sink();
	return done_testing();
}
