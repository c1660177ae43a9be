/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-contain.c - containment in process-group mode
 * (PIPERUN_CONTAINMENT=pgroup): set-up with its guardian, a job's
 * process joining its group, a signal to the group reaching a
 * grandchild, empty detection, orphans reaped, the fallback API,
 * letting a job go (contain_job_release) and the death signal the
 * guardian sends first (contain_on_death); in cgroup mode, job cgroups
 * kept empty for reuse and never reused once killed or still in use. */
#include "config.h"
#include "contain.h"
#include "spawn.h"
#include "tap.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t leader;

static bool is_leader(pid_t pid, void *ctx)
{
	return pid == leader;
}

/* Start argv in cj's cgroup; returns its leader's pid, reaped. */
static pid_t run_in(struct contain *c, struct contain_job *cj, char *const *argv)
{
	struct spawn_opts o = { .path = argv[0], .argv = argv, .fd = { 0, 1, 2 },
				.pgid = 0, .cgroup_fd = cj->dirfd };
	struct spawn_error se;
	struct spawn_exit x;
	pid_t pid;
	int pidfd;
	if (spawn_start(&o, &pid, &pidfd, &se) < 0)
		return -1;
	contain_job_started(c, cj, pid);
	spawn_reap(pidfd, true, &x);
	close(pidfd);
	return pid;
}

/* Is anything of cj left, asked until it says no (bounded)? */
static bool settles_empty(struct contain *c, struct contain_job *cj, pid_t pgid)
{
	for (int i = 0; i < 200; i++) {
		if (!contain_job_alive(c, cj, pgid))
			return true;
		usleep(10 * 1000);
	}
	return false;
}

static void cgroup_spares(void)
{
	setenv("PIPERUN_CONTAINMENT", "cgroup", 1);
	struct contain c;
	struct contain_job cj;
	char *why = NULL;
	ok(contain_init(&c, &why) == 0 && c.mode == CONTAIN_CGROUP, "cgroup mode (%s)",
	   why ? why : "ok");
	char *run = xstrdup(c.run_path);
	ok(contain_job_prepare(&c, &cj, false) >= 0 && !cj.reused, "a new job cgroup");
	char first[sizeof cj.name];
	memcpy(first, cj.name, sizeof first);
	char *const t[] = { "/bin/true", NULL };
	pid_t pid = run_in(&c, &cj, t);
	ok(pid > 0 && settles_empty(&c, &cj, pid) && cj.empty, "its job ended, seen empty");
	contain_job_end(&c, &cj);
	is_int(c.nspare, 1, "kept for reuse");
	ok(contain_job_prepare(&c, &cj, false) >= 0 && cj.reused && !strcmp(cj.name, first),
	   "the next attempt gets it");
	is_int(c.cg_reused, 0, "reused counts attempts started, not taken");

	/* a leftover: the cgroup is not empty at the end, so it is killed
	 * and dropped, never kept */
	char *const bg[] = { "/bin/sh", "-c", "setsid sleep 30 & exit 0", NULL };
	pid = run_in(&c, &cj, bg);
	is_int(c.cg_created, 1, "created: 1");
	is_int(c.cg_reused, 1, "reused: 1");
	ok(pid > 0 && contain_job_alive(&c, &cj, pid), "its leftover keeps it populated");
	contain_job_end(&c, &cj);
	is_int(c.nspare, 0, "not kept");
	bool gone = false;
	for (int i = 0; i < 200 && !gone; i++) {
		gone = unlinkat(c.run_dirfd, first, AT_REMOVEDIR) == 0 || errno == ENOENT;
		if (!gone)
			usleep(10 * 1000);
	}
	ok(gone, "its leftover was killed: the cgroup could be removed");

	/* a cgroup that had a cgroup.kill is never reused (spawn.c) */
	ok(contain_job_prepare(&c, &cj, false) >= 0 && !cj.reused, "a new one");
	pid = run_in(&c, &cj, t);
	ok(pid > 0 && settles_empty(&c, &cj, pid), "ended");
	contain_job_signal(&c, &cj, pid, SIGKILL);
	ok(cj.killed, "a KILL went to it");
	contain_job_end(&c, &cj);
	is_int(c.nspare, 0, "a killed cgroup is not kept");
	ok(contain_job_prepare(&c, &cj, true) >= 0 && !cj.reused, "fresh: a new one");
	contain_job_end(&c, &cj);
	is_int(c.nspare, 1, "an unused one is kept");
	is_int(c.cg_created, 3, "created: 3");
	contain_fini(&c);
	contain_guardian_wait(&c);
	ok(access(run, F_OK) < 0 && errno == ENOENT, "the run's cgroup and its spares are gone");
	free(run);
	free(why);
	escaped_free(c.orphans, c.norphans);
	setenv("PIPERUN_CONTAINMENT", "pgroup", 1);
}

int main(void)
{
	spawn_init();
	setenv("PIPERUN_CONTAINMENT", "pgroup", 1);
	struct contain c;
	char *why = NULL;
	ok(contain_init(&c, &why) == 0, "init in process-group mode (%s)", why ? why : "ok");
	is_int(c.mode, CONTAIN_PGROUP, "mode: process group");
	is_str(contain_mode_name(c.mode), "process-group", "its name");
	ok(c.guard.pid > 0 && kill(c.guard.pid, 0) == 0, "the guardian runs");

	struct contain_job cj;
	is_int(contain_job_prepare(&c, &cj, false), -1, "no cgroup to start in, in this mode");
	/* a leader that starts a grandchild in its group, then waits */
	char *const argv[] = { "/bin/sh", "-c", "sleep 30 & wait", NULL };
	struct spawn_opts o = { .path = argv[0], .argv = argv, .fd = { 0, 1, 2 },
				.pgid = 0, .cgroup_fd = -1 };
	struct spawn_error se;
	int pidfd;
	ok(spawn_start(&o, &leader, &pidfd, &se) == 0, "spawn a leader");
	contain_job_started(&c, &cj, leader);
	ok(cj.slot > 0, "its group is in the guardian's table");
	is_int(getpgid(leader), leader, "it leads its own group");
	usleep(100 * 1000);
	ok(contain_job_alive(&c, &cj, leader), "alive");

	ok(contain_job_signal(&c, &cj, leader, SIGKILL), "KILL to the group reached it");
	struct spawn_exit x;
	ok(spawn_reap(pidfd, true, &x) == 1 && x.signal == SIGKILL, "the leader died of it");
	close(pidfd);
	/* the grandchild (an orphan now, reparented to us or init) goes too */
	bool gone = false;
	for (int i = 0; i < 200 && !gone; i++) {
		contain_reap_orphans(&c, is_leader, NULL);
		gone = !contain_job_alive(&c, &cj, leader);
		if (!gone)
			usleep(10 * 1000);
	}
	ok(gone, "the group is empty: the grandchild was killed too");
	ok(!contain_job_signal(&c, &cj, leader, SIGTERM), "nothing left to signal");

	size_t escaped_n = 0, cap = 0;
	struct escaped *list = NULL;
	contain_job_escaped(&cj, leader, &list, &escaped_n, &cap);
	is_int(escaped_n, 0, "no escaped list without a cgroup");
	contain_job_end(&c, &cj);
	is_int(cj.slot, 0, "out of the guardian's table");

	/* let go: out of the guardian's table, still running */
	char *const keep[] = { "/bin/sleep", "30", NULL };
	o.argv = keep;
	o.path = keep[0];
	pid_t kept;
	ok(spawn_start(&o, &kept, &pidfd, &se) == 0, "spawn one to let go");
	contain_job_prepare(&c, &cj, false);
	contain_job_started(&c, &cj, kept);
	contain_job_release(&c, &cj);
	is_int(cj.slot, 0, "released: out of the guardian's table");
	ok(kill(kept, 0) == 0, "released: still running");
	kill(kept, SIGKILL);
	spawn_reap(pidfd, true, &x);
	close(pidfd);

	contain_fallback(&c);
	is_int(contain_mode_now(&c), CONTAIN_PGROUP, "fallback: process groups from now");
	contain_fini(&c);
	contain_guardian_wait(&c);
	ok(c.guard.pid == 0, "the guardian was let go and reaped");

	/* The death signal: when the runner goes (its pipe closes) the
	 * guardian sends USR1 to the table's groups first, then KILL after
	 * the grace to what is left. */
	ok(contain_init(&c, &why) == 0 && c.guard.pid > 0, "a second run, its guardian");
	contain_on_death(&c, SIGUSR1, 5);
	char mark[] = "/tmp/test-contain-XXXXXX";
	int mfd = mkstemp(mark);
	close(mfd);
	unlink(mark);
	char *script = xasprintf("trap 'echo usr1 > %s; exit 0' USR1; sleep 30 & wait", mark);
	char *const usr[] = { "/bin/sh", "-c", script, NULL };
	o.argv = usr;
	o.path = usr[0];
	o.pdeath_sig = SPAWN_PDEATH_NONE;
	pid_t victim;
	ok(spawn_start(&o, &victim, &pidfd, &se) == 0, "spawn one that traps USR1");
	contain_job_prepare(&c, &cj, false);
	contain_job_started(&c, &cj, victim);
	usleep(200 * 1000);
	close(c.guard.fd);     /* as if the runner had died */
	c.guard.fd = -1;
	ok(spawn_reap(pidfd, true, &x) == 1 && x.exit_code == 0, "its USR1 trap ran: it exited 0");
	close(pidfd);
	ok(access(mark, F_OK) == 0, "the trap wrote its mark");
	int gst;
	ok(waitpid(c.guard.pid, &gst, 0) == c.guard.pid, "the guardian ended after its grace");
	c.guard.pid = 0;
	unlink(mark);
	free(script);
	contain_job_end(&c, &cj);
	contain_fini(&c);
	contain_guardian_wait(&c);
	escaped_free(c.orphans, c.norphans);
	free(why);
	cgroup_spares();
	return done_testing();
}
