/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-pipeline-host.c - the hidden `piperun __pipeline-host`: the host of
 * one pipeline job, started by the runner like any job's program.  The
 * host itself is chain.h's chain_host_main (the only libpipeline user);
 * this is its row in the command table.  It runs before piperun's
 * process-wide set-up, so that nothing changes a signal disposition or
 * an fd its stages would inherit. */
#include "config.h"
#include "chain.h"
#include "cmd.h"

static int pipeline_host_main(int argc, char **argv)
{
	return chain_host_main();
}

const struct cmd_entry cmd_pipeline_host_entry = {
	.name = "__pipeline-host",
	.synopsis = "__pipeline-host",
	.summary = "the host of one pipeline job (started by `piperun run`)",
	.help = "",
	.exec = pipeline_host_main,
	.flags = CMD_HIDDEN | CMD_BEFORE_SETUP,
};
