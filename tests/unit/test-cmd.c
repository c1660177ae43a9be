/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-cmd.c - what the command layer's static text says against the
 * registries it names: `piperun help pool` lists the built-in tasks as
 * task.c's registry has them (the help is a literal, so it cannot ask),
 * and the pool modes' names go both ways through pool.c's table. */
#include "config.h"
#include "cmd.h"
#include "pool.h"
#include "tap.h"
#include "task.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static void test_pool_help_tasks(void)
{
	char *names = task_builtin_names(" or ");
	char *line = xasprintf("\n      --task NAME            %s (built in)\n", names);
	ok(strstr(cmd_pool_entry.help, line) != NULL,
	   "pool help: --task lists \"%s\" as the registry names them", names);
	free(line);
	free(names);
}

static void test_pool_mode_names(void)
{
	static const char *const names[] = { "serial", "thread", "process", "async" };
	size_t n;
	const struct enum_name *t = pool_mode_table(&n);
	for (int m = POOL_SERIAL; m <= POOL_ASYNC; m++) {
		int back = POOL_ASYNC + 1;
		is_str(pool_mode_name((enum pool_mode)m), names[m], "pool mode %d is %s", m, names[m]);
		ok(enum_parse(t, n, names[m], &back) == 0 && back == m, "\"%s\" parses back", names[m]);
	}
	int untouched = POOL_THREAD;
	ok(enum_parse(t, n, "Thread", &untouched) < 0 && untouched == POOL_THREAD,
	   "mode names are exact; a miss leaves the mode alone");
	ok(pool_mode_name((enum pool_mode)99) == NULL, "no name for a mode not in the table");
	bool in_order = n == 4;
	for (size_t i = 0; in_order && i < n; i++)
		in_order = t[i].value == (int)i && !strcmp(t[i].name, names[i]);
	ok(in_order, "pool_mode_table: the four modes in --mode's message order");
}

int main(void)
{
	test_pool_help_tasks();
	test_pool_mode_names();
	return done_testing();
}
