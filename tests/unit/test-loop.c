/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-loop.c - the event loop: timers fire in deadline order, stopped
 * timers never fire, fds wake the loop, a watch removed during a batch
 * gets none of the batch's events (its memory may be gone). */
#include "config.h"
#include "loop.h"
#include "tap.h"
#include "util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

static int order[16], norder;

static void fire(struct timer *t)
{
	order[norder++] = (int)(long)t->data;
}

static int readable;
static void on_fd(struct watch *w, uint32_t ev)
{
	char c;
	readable += read(w->fd, &c, 1) == 1;
}

/* Two watches ready in one batch: whichever runs first removes the
 * other, which then is freed (ASan sees any read of it), or added again
 * on a quiet fd (it must not get the event of its old fd). */
static struct loop *pair_loop;
static struct watch *pair[2];
static int pair_calls, quiet_fd;
static bool pair_readd;
static void on_pair(struct watch *w, uint32_t ev)
{
	(void)ev;
	pair_calls++;
	struct watch *other = pair[0] == w ? pair[1] : pair[0];
	if (!other)
		return;
	loop_del(pair_loop, other);
	if (pair_readd) {
		loop_add(pair_loop, other, quiet_fd, EPOLLIN, on_pair, NULL);
	} else {
		free(other);
		pair[pair[0] == other ? 0 : 1] = NULL;
	}
}

static void batch_removal(struct loop *l, bool readd)
{
	int a[2], b[2], q[2];
	pipe2(a, O_CLOEXEC | O_NONBLOCK);
	pipe2(b, O_CLOEXEC | O_NONBLOCK);
	pipe2(q, O_CLOEXEC | O_NONBLOCK);
	pair_loop = l;
	pair_readd = readd;
	pair_calls = 0;
	quiet_fd = q[0];
	pair[0] = xcalloc(1, sizeof *pair[0]);
	pair[1] = xcalloc(1, sizeof *pair[1]);
	loop_add(l, pair[0], a[0], EPOLLIN, on_pair, NULL);
	loop_add(l, pair[1], b[0], EPOLLIN, on_pair, NULL);
	write(a[1], "x", 1);
	write(b[1], "x", 1);
	loop_run_once(l, 1000);
	is_int(pair_calls, 1, readd ? "a watch removed and added again in a batch gets no stale event"
				      : "a watch removed (and freed) in a batch is not called");
	for (int i = 0; i < 2; i++)
		if (pair[i]) {
			loop_del(l, pair[i]);
			free(pair[i]);
		}
	int fds[] = { a[0], a[1], b[0], b[1], q[0], q[1] };
	for (int i = 0; i < 6; i++)
		close(fds[i]);
}

int main(void)
{
	struct loop *l = loop_new();
	ok(l != NULL, "loop created");
	struct timer t[8] = { 0 };
	double now = now_ms();
	int at[8] = { 30, 10, 50, 20, 40, 5, 60, 15 };
	for (int i = 0; i < 8; i++)
		timer_start(l, &t[i], now + at[i], fire, (void *)(long)at[i]);
	timer_stop(l, &t[2]); /* 50 never fires */
	timer_start(l, &t[6], now + 1, fire, (void *)(long)1); /* re-armed earlier */
	while (loop_pending(l))
		loop_run_once(l, -1);
	int want[] = { 1, 5, 10, 15, 20, 30, 40 };
	ok(norder == 7, "seven timers fired (%d)", norder);
	int same = norder == 7;
	for (int i = 0; i < 7 && same; i++)
		same = order[i] == want[i];
	ok(same, "in deadline order, stopped timer skipped, re-armed timer moved");
	ok(now_ms() - now >= 40, "not before their deadlines");

	int p[2];
	ok(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0, "pipe");
	struct watch w;
	loop_add(l, &w, p[0], EPOLLIN, on_fd, NULL);
	write(p[1], "x", 1);
	loop_run_once(l, 1000);
	is_int(readable, 1, "a readable fd runs its callback");
	loop_del(l, &w);
	is_int(loop_pending(l), 0, "nothing pending after removal");
	batch_removal(l, false);
	batch_removal(l, true);
	is_int(loop_pending(l), 0, "nothing pending after the batch removals");
	close(p[0]);
	close(p[1]);
	loop_free(l);
	return done_testing();
}
