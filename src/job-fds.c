/* SPDX-License-Identifier: GPL-3.0-or-later */
/* job-fds.c - fd headroom: the fds an attempt of a job takes in the
 * runner, counted from its spec, and whether that many are free (see
 * job_fds_short in job.h). */
#include "config.h"
#include "job.h"
#include "kind.h"
#include "util.h"

#include <limits.h>
#include <poll.h>
#include <sys/resource.h>

/* Is io a pipe the runner reads? */
static bool piped(const struct job *j, const struct io_spec *io)
{
	return io->mode == IO_CAPTURE || io->mode == IO_TEE ||
	       (io->mode == IO_INHERIT && j->env->tag);
}

/* May its capture open a spill file later (capture.c: beyond
 * CAPTURE_MEM_MAX kept bytes)? */
static bool may_spill(const struct job_spec *s, const struct io_spec *io)
{
	return (io->mode == IO_CAPTURE || io->mode == IO_TEE) &&
	       (s->max_output > CAPTURE_MEM_MAX ||
		(io == &s->out && kind_get(s->kind)->splice_stdout)); /* kept whole */
}

static bool file_held(const struct job *j, size_t k)
{
	return job_run_of(j)->files && k < job_run_of(j)->nfiles && (job_run_of(j)->files[k].fd >= 0 || job_run_of(j)->files[k].op);
}

/* The fds an attempt of j takes in the runner, counted from its spec:
 *   steady     while it runs: the runner's ends of its pipes (stdin,
 *              stdout, stderr as configured; a pipeline's results and
 *              diagnostics and each captured stage stderr; a steps
 *              host's info pipe), its pidfd, its cgroup directory
 *              (none when a spare one is open already);
 *   transient  on top, during job_start only: the child's ends of those
 *              pipes, its files (unless already open), cgroup.procs
 *              (only where the kernel cannot clone into a cgroup), a
 *              pipeline's or steps host's description and the write ends
 *              of its side pipes;
 *   spills     later, one per captured stream whose capture may spill
 *              to a file (*spills).
 * The peak is steady + the larger of the other two. */
static int fd_need(const struct job *j, int *spills)
{
	const struct job_spec *s = j->spec;
	int cg_steady, cg_transient;
	contain_job_fds(j->env->contain, &cg_steady, &cg_transient);
	int steady = 1 + cg_steady, transient = cg_transient;
	*spills = 0;
	switch (s->in.kind) {
	case IN_NULL:
	case IN_INHERIT:
		break;
	case IN_FILE:
		transient += !file_held(j, 0);
		break;
	default: /* fed through a pipe */
		steady++;
		transient++;
		break;
	}
	for (size_t k = 1; k <= 2; k++) {
		const struct io_spec *io = k == 1 ? &s->out : &s->err;
		if (piped(j, io)) {
			steady++;
			transient++;
		} else if (io->mode == IO_FILE) {
			transient += !file_held(j, k);
		}
		*spills += may_spill(s, io);
	}
	const struct job_kind *k = kind_get(s->kind);
	if (k->host) {
		steady += k->host->fds_steady;
		transient += k->host->fds_transient;
	}
	for (size_t i = 0; k->many_stages && i < s->nstages; i++) {
		const struct stage_spec *st = &s->stages[i];
		if (!st->has_err)
			continue;
		if (piped(j, &st->err)) {
			steady++;
			transient++;
		} else if (st->err.mode == IO_FILE) {
			transient += !file_held(j, 3 + i);
		}
		*spills += may_spill(s, &st->err);
	}
	return steady + (transient > *spills ? transient : *spills);
}

/* fds among [lo, hi) that poll(2) flags POLLNVAL, counted up to want:
 * closed ones, and O_PATH ones (which poll cannot see).  This counts
 * without taking an fd (in thread mode other workers may be opening
 * some at this very moment). */
static long count_free(long lo, long hi, long want)
{
	struct pollfd p[1024];
	long n = 0;
	for (long at = lo; at < hi && n < want;) {
		int k = hi - at < 1024 ? (int)(hi - at) : 1024;
		for (int i = 0; i < k; i++)
			p[i] = (struct pollfd){ .fd = (int)(at + i) };
		if (poll(p, (nfds_t)k, 0) < 0)
			return want; /* cannot tell: a real shortage still throttles */
		for (int i = 0; i < k; i++)
			n += (p[i].revents & POLLNVAL) != 0;
		at += k;
	}
	return n;
}

/* Are at least n fds free under the soft limit, opath of those in use
 * being O_PATH ones?  fds are handed out lowest first, so the top ones
 * are free unless nearly all are in use: look there first, and count
 * the rest only then.  (O_PATH fds are taken off the count wherever
 * they are: at worst a little too careful.) */
static bool fds_free(long n, long opath)
{
	struct rlimit rl;
	if (n <= 0 || getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return true;
	long lim = rl.rlim_cur > INT_MAX ? INT_MAX : (long)rl.rlim_cur;
	long want = n + opath;
	if (want > lim)
		return false;
	long top = count_free(lim - want, lim, want);
	return top == want || top + count_free(0, lim - want, want - top) >= want;
}

/* Too few fds to start j, keep what running jobs were promised for
 * their spill files and leave the runner its own?  Sets *spills to what
 * j will be promised once it runs. */
bool job_fds_short(const struct job *j, int *spills)
{
	const struct fd_reserve *r = j->env->fds;
	for (int round = 0;; round++) {
		long n = fd_need(j, spills);
		if (r)
			n += r->runner + __atomic_load_n(&r->spills, __ATOMIC_RELAXED);
		if (fds_free(n, pathfds_open()))
			return false;
		/* the spare cgroups' fds go first */
		if (round || !contain_spares_drop(j->env->contain))
			return true;
	}
}
