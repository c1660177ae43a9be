/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-guardian.c - the hidden `piperun __guardian`: the run's guardian
 * (contain.h), exec'd by its clone-started first life (guard-start.c)
 * once the runner is gone and something is left to clean up.  Its row
 * in the command table; the work is contain_guardian_main's.  It runs
 * before piperun's process-wide set-up: it must change nothing the
 * guardian was started with. */
#include "config.h"
#include "cmd.h"
#include "contain.h"

static int guardian_host_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return contain_guardian_main();
}

const struct cmd_entry cmd_guardian_entry = {
	.name = "__guardian",
	.synopsis = "__guardian",
	.summary = "a run's guardian, cleaning up after it (started by piperun itself)",
	.help = "",
	.exec = guardian_host_main,
	.flags = CMD_HIDDEN | CMD_BEFORE_SETUP,
};
