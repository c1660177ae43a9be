/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-util.c - util.h's floor and ceil without libm (exact, -0.0 kept,
 * huge values, NaN and infinities as they are) and own_children (the
 * calling thread's children, many of them). */
#include "config.h"
#include "util.h"
#include "tap.h"

#include <math.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static bool same(double a, double b)
{
	return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

int main(void)
{
	const double v[] = { 0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -1.5, 2.999999999, -2.000000001,
			     0x1p52, -0x1p52, 0x1p52 + 1, 0x1p52 - 0.5, -0x1p52 + 0.5, 1e300, -1e300,
			     4503599627370495.5, -4503599627370495.5, 1e-300, -1e-300,
			     INFINITY, -INFINITY, NAN, 0.1 * 3, 9007199254740993.0 };
	int bad = 0;
	for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
		if (!same(u_floor(v[i]), floor(v[i]))) {
			printf("# u_floor(%.17g) = %.17g, floor %.17g\n", v[i], u_floor(v[i]), floor(v[i]));
			bad++;
		}
		if (!same(u_ceil(v[i]), ceil(v[i]))) {
			printf("# u_ceil(%.17g) = %.17g, ceil %.17g\n", v[i], u_ceil(v[i]), ceil(v[i]));
			bad++;
		}
	}
	srand(7);
	for (int i = 0; i < 100000; i++) {
		double x = ((double)rand() / RAND_MAX - 0.5) * (i % 2 ? 1e6 : 1e17);
		bad += !same(u_floor(x), floor(x)) || !same(u_ceil(x), ceil(x));
	}
	is_int(bad, 0, "u_floor and u_ceil agree with libm's, bit for bit");

	size_t n;
	pid_t *none = own_children(&n);
	ok(none && n == 0, "no children: an empty list");
	free(none);
	enum { N = 600 };   /* more than one read of the children file */
	pid_t kids[N];
	for (int i = 0; i < N; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			pause();
			_exit(0);
		}
	}
	pid_t *got = own_children(&n);
	is_int((long)n, N, "%d children listed", N);
	int found = 0;
	for (int i = 0; i < N; i++)
		for (size_t k = 0; k < n; k++)
			if (got[k] == kids[i]) {
				found++;
				break;
			}
	is_int(found, N, "each of them");
	free(got);
	is_int(count_children(), N, "count_children agrees");
	for (int i = 0; i < N; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	return done_testing();
}
