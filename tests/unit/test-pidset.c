/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-pidset.c - the pid set (pidset.h): membership through growth and
 * removals inside probe clusters (no tombstones: what follows a removed
 * pid in its cluster must still be found). */
#include "config.h"
#include "pidset.h"
#include "tap.h"

#include <stdlib.h>

int main(void)
{
	struct pidset s = { 0 };
	ok(!pidset_has(&s, 42), "empty: nothing in it");
	pidset_del(&s, 42); /* (no-op) */
	/* pids that collide: multiples of the capacity hash alike */
	for (pid_t p = 64; p <= 5000; p += 64)
		pidset_add(&s, p);
	for (pid_t p = 1; p <= 5000; p++)
		if (p % 64)
			pidset_add(&s, p);
	is_int(s.n, 5000, "5000 pids in it");
	ok(s.cap >= 2 * s.n, "it grew to twice its load (%zu)", s.cap);
	int missing = 0;
	for (pid_t p = 1; p <= 5000; p++)
		missing += !pidset_has(&s, p);
	is_int(missing, 0, "every one found");
	/* remove every third, including from the middle of clusters */
	for (pid_t p = 3; p <= 5000; p += 3)
		pidset_del(&s, p);
	int wrong = 0;
	for (pid_t p = 1; p <= 5000; p++)
		wrong += pidset_has(&s, p) != (p % 3 != 0);
	is_int(wrong, 0, "after removals: the rest found, the removed not");
	is_int(s.n, 5000 - 5000 / 3, "and counted");
	ok(!pidset_has(&s, 0) && !pidset_has(&s, -1), "no pid 0 or below");
	pidset_free(&s);
	ok(!pidset_has(&s, 1), "freed: empty again");
	return done_testing();
}
