/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-opener.c - opening by path without blocking: files and memory
 * devices open at once, a FIFO opens in the background once its other
 * end comes, and a cancelled FIFO open lets its thread go, however
 * early the cancel comes. */
#include "config.h"
#include "opener.h"
#include "tap.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int threads(void)
{
	DIR *d = opendir("/proc/self/task");
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static void *idle(void *arg)
{
	return arg;
}

static void nap(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	nanosleep(&ts, NULL);
}

/* Wait (up to 5 s) until only `want` threads are left. */
static bool threads_back_to(int want)
{
	for (int i = 0; i < 500; i++) {
		if (threads() == want)
			return true;
		nap();
	}
	return false;
}

/* Wait (up to 5 s) for the opener to report; its fd, or -2 if it never did. */
static int wait_take(struct opener *op)
{
	struct pollfd p = { .fd = opener_fd(op), .events = POLLIN };
	int fd;
	if (poll(&p, 1, 5000) != 1)
		return -2;
	return opener_take(op, &fd) ? fd : -2;
}

int main(void)
{
	char dir[] = "/tmp/piperun-test-opener.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char *file = xasprintf("%s/file", dir), *fifo = xasprintf("%s/fifo", dir);
	char *made = xasprintf("%s/made", dir), *link = xasprintf("%s/link", dir);
	char *target = xasprintf("%s/target", dir);
	int fd = -1;
	struct opener *op = NULL;
	/* (a sanitizer's runtime may start a thread of its own with the
	 * first one: count from there) */
	pthread_t t;
	if (pthread_create(&t, NULL, idle, NULL) == 0)
		pthread_join(t, NULL);
	int base = threads();

	int w = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	ok(w >= 0 && write(w, "data", 4) == 4, "a regular file");
	close(w);
	ok(opener_open(file, O_RDONLY, 0, &fd, &op) == 0 && fd >= 0 && !op,
	   "a regular file opens at once");
	close(fd);
	ok(opener_open("/dev/null", O_WRONLY, 0, &fd, &op) == 0 && fd >= 0,
	   "/dev/null opens at once");
	close(fd);
	ok(opener_open(made, O_WRONLY | O_CREAT | O_TRUNC, 0600, &fd, &op) == 0 && fd >= 0 &&
	   access(made, F_OK) == 0, "a missing file is created at once");
	close(fd);
	errno = 0;
	ok(opener_open(target, O_RDONLY, 0, &fd, &op) == -1 && errno == ENOENT,
	   "a missing file to read: ENOENT");
	ok(symlink(target, link) == 0, "a dangling symlink");
	int r = opener_open(link, O_WRONLY | O_CREAT | O_TRUNC, 0600, &fd, &op);
	if (r == 1)
		fd = wait_take(op);
	ok(r >= 0 && fd >= 0 && access(target, F_OK) == 0,
	   "writing through a dangling symlink creates its target");
	if (fd >= 0)
		close(fd);

	ok(mkfifo(fifo, 0600) == 0, "a FIFO");
	ok(opener_open(fifo, O_RDONLY, 0, &fd, &op) == 1 && op, "a FIFO to read opens in the background");
	ok(opener_is_fifo(op), "and says it is a FIFO");
	ok(opener_take(op, &fd) == 0, "no writer yet: not open");
	/* (O_NONBLOCK: ENXIO until the thread is waiting in open) */
	for (int i = 0; i < 500 && (w = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0; i++)
		nap();
	ok(w >= 0 && write(w, "x", 1) == 1, "a writer comes and writes");
	fd = wait_take(op);
	char c = 0;
	ok(fd >= 0 && read(fd, &c, 1) == 1 && c == 'x', "the reader opened and reads its byte");
	ok(fd >= 0 && !(fcntl(fd, F_GETFL) & O_NONBLOCK), "a blocking fd, as a shell gives");
	close(w);
	ok(fd >= 0 && read(fd, &c, 1) == 0, "EOF once the writer closed");
	close(fd);

	ok(opener_open(fifo, O_WRONLY, 0, &fd, &op) == 1, "a FIFO to write opens in the background");
	int rd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	fd = wait_take(op);
	ok(fd >= 0 && write(fd, "y", 1) == 1 && read(rd, &c, 1) == 1 && c == 'y',
	   "it opens once a reader comes");
	close(fd);
	close(rd);

	ok(threads_back_to(base), "every opener thread is gone (%d)", threads());
	/* two openers of the same FIFO: cancelling one must not wake the
	 * other (our partner would look like a writer to it) */
	struct opener *a = NULL, *b = NULL;
	ok(opener_open(fifo, O_RDONLY, 0, &fd, &a) == 1 &&
	   opener_open(fifo, O_RDONLY, 0, &fd, &b) == 1, "two readers wait on one FIFO");
	opener_cancel(a);
	for (int i = 0; i < 20; i++)
		nap();
	ok(opener_take(b, &fd) == 0, "cancelling one does not open the other");
	for (int i = 0; i < 500 && (w = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0; i++)
		nap();
	ok(w >= 0 && write(w, "z", 1) == 1, "a writer comes");
	close(w);
	fd = wait_take(b);
	ok(fd >= 0 && read(fd, &c, 1) == 1 && c == 'z', "the other reads what it wrote");
	close(fd);
	ok(threads_back_to(base), "the cancelled one's thread returned with it (%d)", threads());
	/* cancels at every stage of the thread's life, even before it got
	 * to open(2): the thread always returns */
	bool all = true;
	for (int i = 0; i < 200 && all; i++) {
		int flags = i % 2 ? O_WRONLY : O_RDONLY;
		all = opener_open(fifo, flags, 0, &fd, &op) == 1;
		if (all && i % 3)
			nap();
		if (all)
			opener_cancel(op);
	}
	ok(all, "200 FIFO opens started and cancelled");
	ok(threads_back_to(base), "every cancelled opener's thread returned (%d left of %d)",
	   threads(), base);

	unlink(file);
	unlink(made);
	unlink(link);
	unlink(target);
	unlink(fifo);
	rmdir(dir);
	free(file);
	free(fifo);
	free(made);
	free(link);
	free(target);
	return done_testing();
}
