/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-workq.c - the work queue: FIFO order, a bounded queue blocks its
 * producer, close wakes consumers and lets them drain, abort stops
 * everything, the extra room, the eventfd, many threads lose nothing. */
#include "config.h"
#include "workq.h"
#include "tap.h"
#include "util.h"

#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

static void sleep_ms(int ms)
{
	usleep((useconds_t)ms * 1000);
}

/* ------------------------------------------------ a producer that blocks */

struct prod {
	struct workq *q;
	int from, n;
	volatile int pushed;     /* how many went in so far */
	bool aborted;
};

static void *producer(void *arg)
{
	struct prod *p = arg;
	for (int i = 0; i < p->n; i++) {
		int v = p->from + i;
		bool ab;
		if (workq_push(p->q, &v, 1, true, &ab) != 1) {
			p->aborted = ab;
			break;
		}
		__atomic_store_n(&p->pushed, i + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

struct cons {
	struct workq *q;
	int got;
	long sum;
	int rc;
};

static void *consumer(void *arg)
{
	struct cons *c = arg;
	int v[8];
	for (;;) {
		int n = workq_pop(c->q, v, 8, 2, true);
		if (n < 0) {
			c->rc = n;
			break;
		}
		for (int i = 0; i < n; i++)
			c->sum += v[i];
		c->got += n;
	}
	return NULL;
}

static void test_order(void)
{
	struct workq q;
	ok(workq_init(&q, sizeof(int), 8, 0, 0) == 0, "init");
	int in[5] = { 1, 2, 3, 4, 5 }, out[8];
	bool ab;
	is_int(workq_push(&q, in, 5, false, &ab), 5, "push 5 into room for 8");
	is_int(workq_pop(&q, out, 2, 1, false), 2, "pop at most 2");
	ok(out[0] == 1 && out[1] == 2, "first in, first out");
	is_int(workq_push(&q, in, 5, false, &ab), 5, "push wraps around the ring");
	size_t max;
	is_int(workq_depth(&q, &max), 8, "depth 8");
	is_int(max, 8, "max depth 8");
	ok(workq_full(&q), "full");
	is_int(workq_push(&q, in, 1, false, &ab), 0, "a full queue takes none without blocking");
	ok(!ab, "not aborted");
	is_int(workq_pop(&q, out, 8, 4, false), 2, "share 4 of 8 takes 2");
	is_int(workq_pop(&q, out, 8, 1, false), 6, "the rest");
	ok(out[0] == 5 && out[1] == 1 && out[5] == 5, "in order across the wrap");
	is_int(workq_pop(&q, out, 8, 1, false), 0, "empty: 0 without blocking");
	workq_close(&q, false);
	is_int(workq_pop(&q, out, 8, 1, true), -1, "closed and empty: -1");
	ok(workq_done(&q), "done");
	workq_destroy(&q, NULL);
}

static void test_bounded(void)
{
	struct workq q;
	workq_init(&q, sizeof(int), 3, 0, 0);
	struct prod p = { .q = &q, .from = 0, .n = 10 };
	pthread_t t;
	pthread_create(&t, NULL, producer, &p);
	sleep_ms(100);
	is_int(__atomic_load_n(&p.pushed, __ATOMIC_ACQUIRE), 3, "the producer blocks at capacity 3");
	int v;
	is_int(workq_pop(&q, &v, 1, 1, true), 1, "one taken");
	is_int(v, 0, "the first pushed");
	sleep_ms(100);
	is_int(__atomic_load_n(&p.pushed, __ATOMIC_ACQUIRE), 4, "one more goes in, no more");
	int seen = 1, inorder = 1;
	while (seen < 10) {
		int n = workq_pop(&q, &v, 1, 1, true);
		if (n != 1)
			break;
		inorder &= v == seen;
		seen++;
	}
	pthread_join(t, NULL);
	is_int(seen, 10, "all ten came through");
	ok(inorder, "in order");
	size_t max;
	workq_depth(&q, &max);
	is_int(max, 3, "max depth is the capacity");
	workq_destroy(&q, NULL);
}

static void test_close_wakes(void)
{
	struct workq q;
	workq_init(&q, sizeof(int), 4, 0, 0);
	struct cons c[3] = { { .q = &q }, { .q = &q }, { .q = &q } };
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, consumer, &c[i]);
	sleep_ms(50);
	int in[2] = { 7, 8 };
	bool ab;
	workq_push(&q, in, 2, true, &ab);
	workq_close(&q, false);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	ok(c[0].rc == -1 && c[1].rc == -1 && c[2].rc == -1, "close wakes every waiting consumer");
	is_int(c[0].got + c[1].got + c[2].got, 2, "what was in is drained first");
	is_int(c[0].sum + c[1].sum + c[2].sum, 15, "the items themselves");
	is_int(workq_push(&q, in, 1, false, &ab), 1, "close does not refuse pushes (the caller's promise)");
	workq_destroy(&q, NULL);
}

static int dropped;
static void drop(void *e)
{
	dropped += *(int *)e;
}

static void test_abort(void)
{
	struct workq q;
	workq_init(&q, sizeof(int), 2, 0, 0);
	struct prod p = { .q = &q, .from = 1, .n = 5 };
	pthread_t t;
	pthread_create(&t, NULL, producer, &p);
	sleep_ms(50);
	workq_close(&q, true);
	pthread_join(t, NULL);
	ok(p.aborted, "abort wakes a blocked producer, which learns it");
	int v;
	is_int(workq_pop(&q, &v, 1, 1, true), -1, "an aborted queue gives nothing");
	bool ab;
	is_int(workq_push(&q, &v, 1, true, &ab), 0, "nor takes anything");
	ok(ab, "push says aborted");
	ok(!workq_push_extra(&q, &v), "extra room refused too");
	workq_destroy(&q, drop);
	is_int(dropped, 3, "destroy hands back what was left (1 + 2)");
}

static void test_extra_and_fd(void)
{
	struct workq q;
	ok(workq_init(&q, sizeof(int), 1, 2, WORKQ_EVENTFD) == 0, "init with an eventfd");
	int fd = workq_fd(&q);
	ok(fd >= 0, "it has an fd");
	struct pollfd pf = { fd, POLLIN, 0 };
	is_int(poll(&pf, 1, 0), 0, "not readable while empty");
	int v = 1;
	bool ab;
	is_int(workq_push(&q, &v, 1, false, &ab), 1, "one in");
	is_int(poll(&pf, 1, 0), 1, "readable after a push");
	workq_clear_fd(&q);
	is_int(poll(&pf, 1, 0), 0, "cleared");
	v = 2;
	ok(workq_push_extra(&q, &v), "beyond capacity, into the extra room");
	v = 3;
	ok(workq_push_extra(&q, &v), "and again");
	size_t max;
	is_int(workq_depth(&q, &max), 3, "three in a queue of capacity 1");
	is_int(max, 1, "the extra room does not count as depth");
	int out[4];
	is_int(workq_pop(&q, out, 4, 1, false), 3, "all three out");
	ok(out[0] == 1 && out[1] == 2 && out[2] == 3, "in order");
	workq_clear_fd(&q);
	workq_close(&q, false);
	is_int(poll(&pf, 1, 0), 1, "close makes it readable");
	workq_destroy(&q, NULL);
}

static void test_many(void)
{
	struct workq q;
	workq_init(&q, sizeof(int), 16, 0, 0);
	enum { NP = 4, NC = 4, PER = 20000 };
	struct prod p[NP];
	struct cons c[NC];
	pthread_t tp[NP], tc[NC];
	for (int i = 0; i < NC; i++) {
		c[i] = (struct cons){ .q = &q };
		pthread_create(&tc[i], NULL, consumer, &c[i]);
	}
	for (int i = 0; i < NP; i++) {
		p[i] = (struct prod){ .q = &q, .from = i * PER, .n = PER };
		pthread_create(&tp[i], NULL, producer, &p[i]);
	}
	for (int i = 0; i < NP; i++)
		pthread_join(tp[i], NULL);
	workq_close(&q, false);
	long got = 0, sum = 0;
	for (int i = 0; i < NC; i++) {
		pthread_join(tc[i], NULL);
		got += c[i].got;
		sum += c[i].sum;
	}
	long n = (long)NP * PER;
	is_int(got, n, "4 producers, 4 consumers: every item once");
	is_int(sum, n * (n - 1) / 2, "and no item twice");
	workq_destroy(&q, NULL);
}

int main(void)
{
	test_order();
	test_bounded();
	test_close_wakes();
	test_abort();
	test_extra_and_fd();
	test_many();
	return done_testing();
}
