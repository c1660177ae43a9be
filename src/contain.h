/* SPDX-License-Identifier: GPL-3.0-or-later */
/* contain.h - keeping every descendant of a job under control
 * (shared/CONTAINMENT.md).
 *
 * cgroup mode (a writable cgroup v2 hierarchy, found in mountinfo): the
 * run gets a cgroup of its own and each job attempt a child cgroup that
 * its process joins before exec, so nothing it starts can leave:
 * not setsid, not a double fork.  A job's end, timeout or cancel reaches
 * every process in it; KILL is cgroup.kill.  Processes that had left the
 * job's process group are listed in its record as escaped.
 *
 * process-group mode (no writable cgroup v2: unprivileged, a container
 * without delegation, or PIPERUN_CONTAINMENT=pgroup): signals go to the
 * job's process group.
 *
 * In both modes piperun is a child subreaper: orphans are reparented to
 * it; it reaps those that die (never a job's own process: those are
 * reaped through their pidfds), and kills and lists at run level those
 * still alive at the end.  What this mode cannot see: a
 * process that left the group (setsid/setpgid) while its parent is still
 * alive is neither in the group nor an orphan yet.
 *
 * Either way a guardian process (guardian.h), started before any job, holds the read
 * end of a pipe from the runner and a shared table of live process
 * groups; when the runner dies (even by SIGKILL) the pipe reaches EOF and
 * the guardian SIGKILLs every group in the table and the run's cgroup,
 * then removes the cgroups (`piperun timeout`: first its -s signal, once
 * to each process, and the KILL only after a grace, contain_on_death).
 * In process-group mode it knows only the groups: a process that left
 * one (setsid) escapes it.  After contain_job_release it signals nothing
 * at all and removes the run's cgroups once they are empty (nested
 * piperuns' cgroups may outlive the run).  It runs in a session (and
 * process group) of its own, so that nothing sent to the runner's group
 * or session (a group KILL from timeout(1) or a CI runner, a terminal's
 * hang-up or Ctrl-C) reaches it, and ignores every signal it can:
 * stopping jobs cleanly is the runner's business, cleaning up after a
 * runner that died its own. */
#ifndef PIPERUN_CONTAIN_H
#define PIPERUN_CONTAIN_H

#include <stdbool.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

enum contain_mode { CONTAIN_PGROUP, CONTAIN_CGROUP };

struct escaped {
	pid_t pid;
	char *argv;        /* /proc/PID/cmdline, NULs as spaces; NULL if gone */
};

#include "guardian.h"

/* A job cgroup as mkdir makes it: the owner and mode of its directory
 * and control files, the values of its settings (contain-spare.c).
 * Read once per run, from its first job cgroup: they are all made
 * alike. */
struct cg_made;

/* An empty job cgroup kept for the next attempt (contain_job_end). */
struct cg_spare {
	int dirfd;
	char name[24];
};

struct contain {
	enum contain_mode mode;
	int run_dirfd;             /* the run's cgroup directory */
	char *run_path;
	unsigned long seq;         /* job cgroup names */
	struct guardian guard;
	bool guard_linger;         /* contain_fini: not to be waited for */
	bool leave_orphans;        /* contain_fini leaves orphans alone
				      (timeout(1): a command that ended on
				      its own keeps what it started) */
	struct escaped *orphans;   /* process-group mode: run-level list */
	size_t norphans, orphans_cap;
	struct cg_spare *spare;    /* empty job cgroups, to reuse */
	size_t nspare, spare_cap;
	size_t spares_max;         /* kept at most (from the fd limit) */
	struct cg_made *made;      /* how job cgroups are made, NULL until
				      the first is */
	bool no_more;              /* no attempt is to start but retries:
				      no spare is wanted */
	unsigned long cg_created;  /* job cgroups made (mkdir) */
	unsigned long cg_reused;   /* attempts started in a spare one */
	pthread_mutex_t mtx;       /* seq, the guard table's free slots, the
				      spares and counts (thread mode) */
};

struct contain_job {
	bool shared;               /* its process group is piperun's own
				      (PROC_GROUP_SHARED): set after
				      contain_job_prepare */
	int dirfd;                 /* the attempt's cgroup directory, -1 if none:
				      held from its making to its end, never
				      opened again by name (a job can mount
				      over its name) */
	char name[24];
	bool reused;               /* dirfd came from the spares */
	bool empty;                /* seen unpopulated, its group gone: it
				      may go back to the spares */
	bool killed;               /* it had a cgroup.kill: never reused
				      (some kernels SIGKILL every child
				      cloned into such a cgroup, spawn.c) */
	size_t slot;               /* guardian table slot + 1, 0 if none */
};

/* Set up containment for a run (mode from the machine and
 * PIPERUN_CONTAINMENT=auto|cgroup|pgroup), start the guardian.  Returns
 * -1 with a message in *why when asked-for cgroup mode is impossible. */
int contain_init(struct contain *c, char **why);
/* End of run: kill and reap orphans still alive (they are listed in
 * c->orphans); remove the run cgroup; let the
 * guardian go and reap it.  After a release (leave_orphans,
 * contain_job_release) nothing is killed: a run cgroup that cannot be
 * removed yet (a nested piperun's cgroups below a job's) is left to the
 * guardian, which removes it once empty and is then not waited for. */
void contain_fini(struct contain *c);
/* After contain_fini, as late as the caller can (the guardian, told to
 * go by contain_fini, exits meanwhile): wait for the guardian. */
void contain_guardian_wait(struct contain *c);
const char *contain_mode_name(enum contain_mode m);
/* What the guardian does when the runner dies: by default SIGKILL to
 * everything at once; after this, sig (unless 0) and SIGCONT to every
 * group in its table and every process in the run's cgroups, then
 * SIGKILL after grace_s to what is left (timeout(1)'s parent-death
 * signal, for the whole tree). */
void contain_on_death(struct contain *c, int sig, double grace_s);

/* Should the runner die, the guardian also cancels Slurm allocation job
 * (the scancel at path scancel, resolved beforehand): one the run made
 * (--executor slurm); and removes dir (NULL: none), the flat directory
 * of its steps' status files.  contain_fini forgets them (a runner that
 * ends releases them itself). */
void contain_slurm_job(struct contain *c, const char *job, const char *scancel,
		       const char *dir);

/* Before spawning an attempt: its cgroup (cgroup mode), an empty one
 * that an earlier attempt left (a spare: still unpopulated and not
 * frozen when taken) or a new one (counted created).  Returns its
 * directory fd for spawn_opts.cgroup_fd, or -1 (no cgroup; errno set if
 * one could not be made: EMFILE etc.).  With fresh, never a spare. */
int contain_job_prepare(struct contain *c, struct contain_job *cj, bool fresh);
/* The fds a job attempt's cgroup adds in the runner: *steady while it
 * runs (its directory, unless a spare's, already open, is there to
 * take) and *transient while it starts (cgroup.procs, where the kernel
 * cannot clone into a cgroup). */
void contain_job_fds(struct contain *c, int *steady, int *transient);
/* No attempt is to start after the next but retries: an ending job's
 * cgroup is removed, not kept, and one made from now on is not read as
 * the template (any thread). */
void contain_no_more(struct contain *c);
/* Remove the spares (their fds are wanted elsewhere, or the run ends);
 * whether there were any. */
bool contain_spares_drop(struct contain *c);
/* cgroups exist but cannot take our processes (odd delegation,
 * spawn's SPAWN_CGROUP): the rest of the run uses process groups.  Safe
 * from any thread. */
void contain_fallback(struct contain *c);
/* The mode now (it may fall back while a run goes on); any thread. */
enum contain_mode contain_mode_now(const struct contain *c);
/* The attempt's process (and group leader) is running. */
void contain_job_started(struct contain *c, struct contain_job *cj, pid_t pgid);
/* Is anything of the attempt still alive (the leader already reaped)? */
bool contain_job_alive(struct contain *c, struct contain_job *cj, pid_t pgid);
/* sig to piperun's own process group (kill(0)), piperun included;
 * whether anything else was in it. */
bool contain_signal_own_group(pid_t pgid, int sig);
/* Is a live process other than piperun in its own group pgid? */
bool contain_own_group_alive(pid_t pgid);
/* Signal everything of the attempt; returns true if anything was there. */
bool contain_job_signal(struct contain *c, struct contain_job *cj, pid_t pgid, int sig);
/* Processes in the attempt's cgroup that left its process group; appends
 * new ones to *list (pids already there are skipped). */
void contain_job_escaped(struct contain_job *cj, pid_t pgid, struct escaped **list,
			 size_t *n, size_t *cap);
/* The attempt is over: forget it.  Its cgroup goes back to the spares
 * only as it was made: seen unpopulated with its process group gone
 * (contain_job_alive) or unpopulated now, never cgroup.kill'ed, no
 * cgroup below it, the owner and mode of its directory and control
 * files and the values of its settings as when it was made, and
 * spares_max not reached.  One that still holds a process is killed
 * (cgroup.kill) and removed; any other is removed.  _discard: removed
 * even when empty (it could not take a process). */
void contain_job_end(struct contain *c, struct contain_job *cj);
void contain_job_discard(struct contain *c, struct contain_job *cj);
/* The attempt is over but what it left running stays, no longer the
 * run's: moved out of its cgroup (to the cgroup piperun started in),
 * dropped from the guardian's table, the cgroup removed (cgroups below
 * it, a nested piperun's, stay where they are).  From then on the
 * guardian signals nothing, even if the runner dies (the run's last
 * job: timeout(1)'s rules). */
void contain_job_release(struct contain *c, struct contain_job *cj);

/* Reap children that are orphans (not in the tracked set), noting them;
 * called when SIGCHLD arrives.  is_tracked says
 * whether a pid belongs to a running job. */
void contain_reap_orphans(struct contain *c, bool (*is_tracked)(pid_t, void *), void *ctx);

void escaped_free(struct escaped *list, size_t n);

#endif
