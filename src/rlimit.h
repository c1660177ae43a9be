/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rlimit.h - one resource limit a job's child gets (a spec's "rlimits",
 * spawn_opts.rlimits): its own header so that spawn.h needs nothing of
 * the spec. */
#ifndef PIPERUN_RLIMIT_H
#define PIPERUN_RLIMIT_H

#include <stdint.h>

struct rlimit_spec {
	const char *name;
	int resource;
	uint64_t value; /* soft = hard = value; RLIM_INFINITY for "unlimited" */
};

#endif
