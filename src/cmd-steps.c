/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-steps.c - the hidden `piperun __steps`: the host of one steps job
 * (steps.h), started by the runner like any job's program.
 *
 *   fd 0  the items (unless they are a count)
 *   fd 1  the final items, one per line
 *   fd 2  the job's stderr (steps' children write there too)
 *   fd 3  the description (spec.h steps_describe), one line, read to its
 *         end: with "resume" in it, the items sunk in an earlier session
 *         follow it (steps.h)
 *   fd 4  progress lines and the final counts, for the runner */
#include "config.h"
#include "cmd.h"
#include "spec.h"
#include "steps.h"
#include "task.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int steps_host_main(int argc, char **argv)
{
	/* the runner's fds are ours alone: no step's child may inherit them */
	if (fcntl(3, F_SETFD, FD_CLOEXEC) < 0 || fcntl(4, F_SETFD, FD_CLOEXEC) < 0) {
		fprintf(stderr, "piperun: __steps is run by `piperun run` for steps jobs\n");
		return EXIT_USAGE;
	}
	struct buf b = { 0 };
	for (;;) {
		buf_reserve(&b, 65536);
		ssize_t r = pread(3, b.p + b.len, b.cap - b.len - 1, (off_t)b.len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "piperun: steps description: %s\n", strerror(errno));
			buf_free(&b);
			return EXIT_USAGE;
		}
		if (!r)
			break;
		b.len += (size_t)r;
	}
	close(3);
	char *why = NULL;
	char *nl = b.p ? memchr(b.p, '\n', b.len) : NULL;
	size_t dlen = nl ? (size_t)(nl - b.p) : b.len;
	struct steps_spec *s = steps_desc_parse(b.p ? b.p : "", dlen, &why);
	if (!s) {
		buf_free(&b);
		fprintf(stderr, "%s\n", why);
		free(why);
		return EXIT_USAGE;
	}
	why = NULL;
	struct steps_sunk sunk = { 0 };
	if (nl && s->resume) {   /* the engine keeps (and frees) the buffer */
		sunk.text = nl + 1;
		sunk.len = b.len - dlen - 1;
		sunk.mem = buf_detach(&b);
	}
	buf_free(&b);
	/* a task step that exit()s: the steps could not run (status 2) */
	task_exit_guard("steps", EXIT_USAGE, 4);
	int rc = steps_run(s, 0, 1, 4, sunk.mem ? &sunk : NULL, &why);
	task_exit_guard(NULL, 0, -1);
	if (rc > 128)
		/* stopped by a signal: die of it, as the runner expects of a
		 * job it signalled (nothing more to say) */
		die_of_signal(rc - 128);
	if (why) {
		fprintf(stderr, "piperun: %s\n", why);
		free(why);
	}
	steps_spec_free(s);
	return rc;
}

const struct cmd_entry cmd_steps_host_entry = {
	.name = "__steps",
	.synopsis = "__steps",
	.summary = "the host of one steps job (started by `piperun run`)",
	.help = "",
	.exec = steps_host_main,
	.flags = CMD_HIDDEN,
};
