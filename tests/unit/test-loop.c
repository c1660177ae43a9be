/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-loop.c - the event loop: timers fire in deadline order, stopped
 * timers never fire, fds wake the loop. */
#include "config.h"
#include "loop.h"
#include "tap.h"
#include "util.h"

#include <fcntl.h>
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
	close(p[0]);
	close(p[1]);
	loop_free(l);
	return done_testing();
}
