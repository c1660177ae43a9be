/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-minheap.c - the min-heap of indices and the slot numbers on it
 * (minheap.h): pops come out smallest first; a slot taken is the lowest
 * free one, so jobs that start and end leave no gaps in 0..N-1. */
#include "config.h"
#include "minheap.h"
#include "tap.h"

#include <stdlib.h>

int main(void)
{
	struct minheap h = { 0 };
	unsigned seed = 7;
	for (int i = 0; i < 1000; i++)
		minheap_push(&h, (size_t)(rand_r(&seed) % 500));
	size_t prev = 0, n = 0;
	int unsorted = 0;
	while (h.n) {
		size_t v = minheap_pop(&h);
		unsorted += v < prev;
		prev = v;
		n++;
	}
	is_int(n, 1000, "every push popped");
	is_int(unsorted, 0, "in ascending order");
	minheap_free(&h);

	struct slots s = { 0 };
	is_int(slots_take(&s), 0, "the first slot is 0");
	is_int(slots_take(&s), 1, "then 1");
	is_int(slots_take(&s), 2, "then 2");
	slots_give(&s, 1);
	slots_give(&s, 0);
	is_int(slots_take(&s), 0, "the lowest free one first: 0");
	is_int(slots_take(&s), 1, "then 1");
	is_int(slots_take(&s), 3, "none free: the next new one, 3");
	slots_give(&s, -1); /* a job that never had one */
	is_int(slots_take(&s), 4, "giving back -1 frees nothing");
	/* 8 at once, ending and starting at random: never above 7 */
	slots_free(&s);
	int held[8], top = 0;
	for (int i = 0; i < 8; i++)
		held[i] = (int)slots_take(&s);
	for (int round = 0; round < 10000; round++) {
		int k = rand_r(&seed) % 8;
		slots_give(&s, held[k]);
		held[k] = (int)slots_take(&s);
		if (held[k] > top)
			top = held[k];
	}
	is_int(top, 7, "8 running at once use slots 0..7 only");
	slots_free(&s);

	/* lanes: in order of start, each on the lowest lane free then */
	struct lanes l = { 0 };
	is_int((int)lanes_take(&l, 0, 10), 0, "the first interval: lane 0");
	is_int((int)lanes_take(&l, 5, 8), 1, "one that overlaps it: lane 1");
	is_int((int)lanes_take(&l, 8, 9), 1, "one that starts as lane 1's ends: lane 1 again");
	is_int((int)lanes_take(&l, 9, 12), 1, "lane 0 still busy: lane 1");
	is_int((int)lanes_take(&l, 10, 11), 0, "lane 0 free again at 10: lane 0");
	is_int((int)l.n, 2, "two lanes in all");
	lanes_free(&l);
	return done_testing();
}
