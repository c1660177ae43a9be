/* SPDX-License-Identifier: GPL-3.0-or-later */
/* chain.h - multi-stage pipelines (`pipeline` jobs), built on libpipeline
 * and fenced in a helper process: the pipeline host.
 *
 * libpipeline was written for a program that runs one pipeline and
 * exits: its wait reaps any child (waitpid(-1)), its fatal errors exit
 * the process, exec failure shows as 255, and it is not thread-safe
 * (shared/LIBPIPELINE.md).  So the runner never calls it.  For each
 * pipeline job the runner spawns `piperun __pipeline-host` (this same
 * executable) in the job's new process group, like any job; inside that
 * single-threaded host libpipeline builds the pipes and forks the
 * stages, and the host reaps exactly its stages with wait4 and reports
 * each one's pid, status and rusage back.  A fatal libpipeline error ends
 * only the host, and becomes that job's error.
 *
 * Host fds (set up by the runner through spawn's fd map):
 *   0, 1   the job's stdin and stdout (stage 1 reads 0, the last writes 1)
 *   2      diagnostics: libpipeline's own messages (the job's error)
 *   3      the description (a memfd; see chain_describe)
 *   4      results: fixed-size struct chain_record, one write each
 *   5      where stages send stderr by default (the job's stderr)
 *   6...   per-stage stderr targets, as the description says
 *
 * Every stage, in the pre-exec hook libpipeline runs after fork: routes
 * its stderr, closes every fd above 2 (so no stage keeps a pipe end it
 * does not use), gets PDEATHSIG, the signal mask piperun was started
 * with, and is exec'd by the hook itself with its exact argv and
 * environment (exec failure = 127/126, reported faithfully). */
#ifndef PIPERUN_CHAIN_H
#define PIPERUN_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "spec.h"

/* The most stages a pipeline may have (the host needs an fd for each). */
#define SPAWN_STAGES_MAX 256

#define CHAIN_FD_DIAG 2
#define CHAIN_FD_DESC 3
#define CHAIN_FD_RESULTS 4
#define CHAIN_FD_JOBERR 5
#define CHAIN_FD_STAGE0 6

/* How a stage's stderr is routed, in the description. */
enum chain_err { CHAIN_ERR_JOB, CHAIN_ERR_MERGE, CHAIN_ERR_FD };

enum chain_rec_type {
	CHAIN_REC_STARTED = 1, /* pid known */
	CHAIN_REC_ENDED = 2,   /* status and rusage known */
	CHAIN_REC_FATAL = 3,   /* the host is exiting before its stages ended */
};

struct chain_record {
	int32_t type;
	int32_t index;     /* stage */
	int32_t pid;
	int32_t exit_code; /* -1 when killed */
	int32_t signal;
	int32_t err;       /* CHAIN_REC_FATAL: errno */
	int64_t utime_us, stime_us, maxrss_kb;
};

/* Runner side: write the description of a pipeline job's stages into a
 * new memfd (offset 0) and return it; -1 with errno.  err_route[i] says
 * how stage i's stderr goes; with CHAIN_ERR_FD it is host fd
 * CHAIN_FD_STAGE0 + k for the k-th such stage, in order. */
int chain_describe(const struct job_spec *j, const enum chain_err *err_route);

/* The returncode of a pipeline from its stages (CONTRACT §3 pipefail):
 * with pipefail, the rightmost stage that did not succeed, where a stage
 * before the last killed by SIGPIPE counts as success (its reader simply
 * stopped); without, the last stage's.  rc[i] is stage i's returncode
 * (exit code, or -signal). */
int chain_returncode(const int *rc, size_t n, bool pipefail);

/* Host side: `piperun __pipeline-host`; returns the exit status. */
int chain_host_main(void);

#endif
