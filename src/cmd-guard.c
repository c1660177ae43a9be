/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-guard.c - the hidden `piperun __guard RFD KILLFD TABLEFD`: the
 * guardian's clean-up after a runner that died, exec'd by the guardian
 * that waited for it (guardian.h).  It runs before piperun's set-up:
 * nothing is opened, no disposition changed (its ignored signals are
 * the waiter's). */
#include "config.h"
#include "cmd.h"
#include "guardian.h"

const struct cmd_entry cmd_guard_entry = {
	.name = "__guard",
	.synopsis = "__guard RFD KILLFD TABLEFD",
	.summary = "the guardian's clean-up after a runner that died",
	.help = "",
	.exec = guardian_exec_main,
	.flags = CMD_HIDDEN | CMD_BEFORE_SETUP | CMD_ARGS,
};
