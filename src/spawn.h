/* SPDX-License-Identifier: GPL-3.0-or-later */
/* spawn.h - the one place piperun creates a child process.
 *
 * A child is started with clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD), the
 * technique glibc's posix_spawn uses: no page tables are copied (cheap even
 * when the runner is large), the parent sleeps until the child has exec'd
 * or failed, and the kernel hands back a pidfd.  A child that goes into a
 * cgroup is started with clone3 and CLONE_INTO_CGROUP (Linux 5.7): born
 * there, it never migrates (a migration takes the cgroup threadgroup lock,
 * and was a third of a short job's cost); older kernels get clone and the
 * child's own write to cgroup.procs.  posix_spawn itself cannot
 * set PDEATHSIG, close inherited fds, restore rlimits or join a cgroup,
 * which is why this module exists.  Between clone and exec the child makes
 * only async-signal-safe system calls.
 *
 * Because the child shares our memory until exec, it reports a failure
 * (which step, which errno) by writing into the parent's spawn_error
 * struct, not through a pipe: the parent resumes only after the child has
 * exec'd or exited, so the write is complete and ordered before the read.
 * (A CLOEXEC error pipe is what fork()-based spawners need; with a shared
 * address space it would cost two fds and three syscalls per job for
 * nothing.) */
#ifndef PIPERUN_SPAWN_H
#define PIPERUN_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "rlimit.h"

/* Record the signal mask, dispositions and RLIMIT_NOFILE piperun was
 * started with (children get them back), then set up the runner's own:
 * SIGPIPE ignored, SIGCHLD not ignored, fd limit raised to the hard limit;
 * and open this program's file (one O_PATH fd, kept) to start hosts from.
 * Call once, first thing in main. */
void spawn_init(void);
/* The fd soft limit piperun was started with (children's). */
size_t spawn_orig_nofile(void);
/* The signal mask piperun was started with (children's). */
const sigset_t *spawn_orig_mask(void);
/* From now on children start with sig at its default disposition (and
 * unblocked, if unblock), whatever piperun was started with: what
 * timeout(1)'s children get for the signals it installs handlers for
 * (and unblocks).  Only for a signal the caller keeps blocked (it is set
 * to SIG_DFL here too). */
void spawn_child_default(int sig, bool unblock);

/* Most fds beyond 0-2 a child can be given (a pipeline host needs one per
 * stage with its own stderr, plus four of its own). */
#define SPAWN_MAX_EXTRA 260

struct spawn_opts {
	const char *path;          /* what to execve (resolved beforehand) */
	char *const *argv;
	char *const *envp;         /* NULL: the runner's environ */
	int fd[3];                 /* become the child's 0, 1, 2 (-1: closed) */
	const int *extra_fds;      /* become the child's 3, 4, ... */
	int nextra;
	const char *cwd;           /* NULL: the runner's */
	bool has_nice;
	int nice;
	bool has_umask;
	mode_t umask;
	const struct rlimit_spec *rlimits;
	size_t nrlimits;
	const int *pass_fds;       /* kept open in the child, sorted */
	size_t npass_fds;
	pid_t pgid;                /* 0: the child leads a new process group;
				      -1: it stays in the runner's */
	int cgroup_fd;             /* -1, or the cgroup (a directory; O_PATH
				      will do) the child starts in: clone3's
				      CLONE_INTO_CGROUP, or where the kernel
				      lacks it, a write of the child to its
				      cgroup.procs before exec */
	bool block_signals;        /* the child starts with every signal blocked
				      (a pipeline host, until it is ready) */
	bool default_tty_signals;  /* SIGTTIN/SIGTTOU to SIG_DFL (exec, like
				      timeout(1): a background command that
				      touches the terminal stops) */
	char *const *enoexec_argv; /* execve fails with ENOEXEC (a script
				      without #!): run /bin/sh with this
				      argv, as execvp does; NULL: fail */
	int pdeath_sig;            /* sent to the child when the runner dies
				      (PR_SET_PDEATHSIG): 0 means SIGKILL,
				      SPAWN_PDEATH_NONE none */
};
#define SPAWN_PDEATH_NONE (-1)

/* Which step failed in the child. */
enum spawn_step {
	SPAWN_OK, SPAWN_CLONE, SPAWN_CGROUP, SPAWN_SETPGID, SPAWN_PDEATHSIG,
	SPAWN_RLIMIT, SPAWN_NICE, SPAWN_DUP, SPAWN_CLOSE, SPAWN_CHDIR,
	SPAWN_EXEC,
};

struct spawn_error {
	enum spawn_step step;
	int err;
};

/* Start a child.  Returns 0 with *pid and *pidfd (CLOEXEC) set, or -1 with
 * *e saying why; a child that failed before exec has already been reaped. */
int spawn_start(const struct spawn_opts *o, pid_t *pid, int *pidfd,
		struct spawn_error *e);
const char *spawn_step_name(enum spawn_step s);
/* Is err a shortage (fds, memory, processes) that may pass, rather than
 * a failure of this child? */
bool spawn_err_short(int err);
/* A child that could not be put in its cgroup: SPAWN_CLONE when short
 * (spawn_err_short), else SPAWN_CGROUP. */
struct spawn_error spawn_cgroup_error(int err);
/* May a child still be cloned straight into its cgroup (clone3 with
 * CLONE_INTO_CGROUP, not found missing or broken in this kernel)?  If
 * not, spawn_start joins it through cgroup.procs. */
bool spawn_into_cgroup_ok(void);

/* How a child ended, as waitid on its pidfd says. */
struct spawn_exit {
	int exit_code;       /* -1: killed by a signal */
	int signal;          /* 0: exited */
	bool core_dumped;    /* killed, and it dumped core */
	struct rusage ru;    /* the child's (glibc's waitid has no rusage: the system call does) */
};

/* Reap the child behind pidfd, waiting for it when block (retrying
 * EINTR), else WNOHANG: 1 with *x set, 0 when it has not exited yet,
 * -1 with errno. */
int spawn_reap(int pidfd, bool block, struct spawn_exit *x);

#endif
