/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-chain.c - the pipefail rule over a table of stage outcomes. */
#include "config.h"
#include "chain.h"
#include "tap.h"
#include "util.h"

#include <signal.h>

#define PIPE (-SIGPIPE)

static const struct {
	const char *what;
	int n;
	int rc[4];
	int pipefail, plain;
} cases[] = {
	{ "all succeed", 3, { 0, 0, 0 }, 0, 0 },
	{ "yes | head: writer killed by SIGPIPE counts as success", 2, { PIPE, 0 }, 0, 0 },
	{ "middle stage fails", 3, { 0, 3, 0 }, 3, 0 },
	{ "last stage fails", 3, { 0, 0, 4 }, 4, 4 },
	{ "rightmost failure wins", 3, { 1, 2, 0 }, 2, 0 },
	{ "rightmost failure wins, last included", 3, { 1, 0, 5 }, 5, 5 },
	{ "SIGPIPE in the last stage is a failure", 2, { 0, PIPE }, PIPE, PIPE },
	{ "openssl-style exit 1 on EPIPE is a real failure", 2, { 1, 0 }, 1, 0 },
	{ "SIGPIPE before a real failure", 3, { PIPE, 2, 0 }, 2, 0 },
	{ "a real failure before a SIGPIPE'd stage", 3, { 7, PIPE, 0 }, 7, 0 },
	{ "killed by TERM (timeout)", 2, { -15, -15 }, -15, -15 },
	{ "killed by KILL in front, last ok", 2, { -9, 0 }, -9, 0 },
	{ "single stage", 1, { 9 }, 9, 9 },
};

int main(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		is_int(chain_returncode(cases[i].rc, (size_t)cases[i].n, true), cases[i].pipefail,
		       "pipefail: %s", cases[i].what);
		is_int(chain_returncode(cases[i].rc, (size_t)cases[i].n, false), cases[i].plain,
		       "no pipefail: %s", cases[i].what);
	}
	return done_testing();
}
