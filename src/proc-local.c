/* SPDX-License-Identifier: GPL-3.0-or-later */
/* proc-local.c - the local executor: a proc's process runs on this
 * machine, started by spawn.c (clone + pidfd) in a process group of its
 * own and, in cgroup mode, a cgroup of its own joined before exec
 * (contain.h).  Its tree is the group and the cgroup. */
#include "config.h"
#include "proc.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

/* The attempt's cgroup (cgroup mode; fresh: never a reused one) into
 * so->cgroup_fd, or -1 with errno. */
static int local_cgroup(struct proc *p, struct spawn_opts *so, bool fresh)
{
	so->cgroup_fd = contain_job_prepare(p->contain, &p->cj, fresh);
	p->cj.shared = p->group == PROC_GROUP_SHARED;
	return so->cgroup_fd;
}

/* spawn_start in the attempt's cgroup, or its process group when the
 * cgroup cannot take it. */
static int local_start(struct proc *p, struct spawn_opts *so, bool short_in_group,
		       struct proc_error *e)
{
	struct spawn_error se;
	so->cgroup_fd = -1;
	if (p->contain && local_cgroup(p, so, false) < 0 &&
	    contain_mode_now(p->contain) == CONTAIN_CGROUP &&
	    proc_err_short(errno) && !short_in_group) {
		e->step = SPAWN_CLONE;
		e->err = errno;
		contain_job_end(p->contain, &p->cj);
		return -1;
	}
	int rc = spawn_start(so, &p->pid, &p->pidfd, &se);
	if (rc < 0 && se.step == SPAWN_CGROUP && p->cj.reused) {
		/* a reused cgroup that cannot take a process (what its last
		 * job left below it, say): dropped, and a new one tried */
		contain_job_discard(p->contain, &p->cj);
		if (local_cgroup(p, so, true) >= 0)
			rc = spawn_start(so, &p->pid, &p->pidfd, &se);
		else
			se = spawn_cgroup_error(errno);
	}
	if (rc < 0 && se.step == SPAWN_CLONE && proc_err_short(se.err) && short_in_group &&
	    so->cgroup_fd >= 0) {
		/* no fd left for the pidfd: the cgroup's gives it one; the
		 * command goes on in its process group alone */
		contain_job_discard(p->contain, &p->cj);
		so->cgroup_fd = -1;
		rc = spawn_start(so, &p->pid, &p->pidfd, &se);
	}
	if (rc < 0 && se.step == SPAWN_CGROUP && p->contain) {
		/* cgroups exist but cannot take our processes (odd
		 * delegation): the rest of the run uses process groups */
		contain_job_discard(p->contain, &p->cj);
		contain_fallback(p->contain);
		so->cgroup_fd = -1;
		rc = spawn_start(so, &p->pid, &p->pidfd, &se);
	}
	if (rc < 0) {
		if (p->contain)
			contain_job_end(p->contain, &p->cj);
		p->pid = 0;
		p->pidfd = -1;
		e->step = se.step;
		e->err = se.err;
		return -1;
	}
	p->in_cgroup = so->cgroup_fd >= 0;
	p->pgid = p->group == PROC_GROUP_OWN ? p->pid
		: p->group == PROC_GROUP_SHARED ? getpgrp() : 0;
	if (p->contain)
		contain_job_started(p->contain, &p->cj, p->pgid);
	return 0;
}

/* Everything of its tree: its group and, in cgroup mode, its cgroup. */
static bool local_signal(struct proc *p, int sig)
{
	if (p->contain)
		return contain_job_signal(p->contain, &p->cj, p->pgid, sig);
	if (p->group == PROC_GROUP_SHARED)
		return contain_signal_own_group(p->pgid, sig);
	return kill_group(p->pgid, sig) == 0;
}

static bool local_alive(struct proc *p)
{
	if (p->contain)
		return contain_job_alive(p->contain, &p->cj, p->pgid);
	if (p->group == PROC_GROUP_SHARED)
		return contain_own_group_alive(p->pgid);
	return kill_group(p->pgid, 0) == 0 || errno == EPERM;
}

static void local_end(struct proc *p)
{
	if (p->contain)
		contain_job_end(p->contain, &p->cj);
}

const struct proc_executor proc_local = {
	.name = "local",
	.start = local_start,
	.signal = local_signal,
	.alive = local_alive,
	.end = local_end,
};
