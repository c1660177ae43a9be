/* SPDX-License-Identifier: GPL-3.0-or-later */
/* contain.c - cgroups, process groups, the subreaper and the guardian
 * (see contain.h). */
#include "config.h"
#include "contain.h"
#include "contain-int.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <dirent.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* free slots of the guard table, kept in runner memory only */
static size_t *free_slots;
static size_t nfree, free_cap;

const char *contain_mode_name(enum contain_mode m)
{
	return m == CONTAIN_CGROUP ? "cgroup" : "process-group";
}

/* ------------------------------------------------------------- cgroup v2 */

/* mountinfo escapes blanks as \040 etc. */
static void unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p;) {
		if (p[0] == '\\' && isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
		    isdigit((unsigned char)p[3])) {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 4;
		} else {
			*o++ = *p++;
		}
	}
	*o = 0;
}

/* The cgroup v2 mount point: where it usually is when statfs says that
 * is cgroup2 (a pure v2 system, or systemd's hybrid layout), else the
 * first cgroup2 mount in mountinfo (slower to read by 50 us, a cost of
 * every run). */
static char *cgroup2_mount(void)
{
	static const char *const usual[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
	struct statfs sf;
	for (size_t i = 0; i < sizeof usual / sizeof *usual; i++)
		if (statfs(usual[i], &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
			return xstrdup(usual[i]);
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return NULL;
	char line[4096], *found = NULL;
	while (!found && fgets(line, sizeof line, f)) {
		char *sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		/* fields: id parent maj:min root mountpoint ... */
		char *save, *tok = strtok_r(line, " ", &save);
		for (int i = 0; tok && i < 4; i++)
			tok = strtok_r(NULL, " ", &save);
		if (tok) {
			unescape(tok);
			found = xstrdup(tok);
		}
	}
	fclose(f);
	return found;
}

/* Our own cgroup v2 path ("0::/path"). */
static char *own_cgroup(void)
{
	char b[8192];
	ssize_t n = cg_read(AT_FDCWD, "/proc/self/cgroup", b, sizeof b);
	for (char *line = n > 0 ? b : NULL; line && *line;) {
		char *end = strchr(line, '\n');
		if (end)
			*end = 0;
		if (!strncmp(line, "0::", 3))
			return xstrdup(line + 3);
		line = end ? end + 1 : NULL;
	}
	return NULL;
}

static int cgroup_setup(struct contain *c, char **why)
{
	char *mnt = cgroup2_mount(), *own = own_cgroup();
	int rc = -1;
	if (!mnt || !own) {
		*why = xstrdup("no cgroup v2 hierarchy is mounted");
		goto out;
	}
	c->run_path = xasprintf("%s%s%spiperun.%d", mnt, own,
				own[strlen(own) - 1] == '/' ? "" : "/", (int)getpid());
	if (mkdir(c->run_path, 0755) < 0 && errno != EEXIST) {
		*why = xasprintf("cannot create %s: %s", c->run_path, strerror(errno));
		goto out;
	}
	c->run_dirfd = pathfd_openat(AT_FDCWD, c->run_path, O_DIRECTORY);
	if (c->run_dirfd < 0) {
		*why = xasprintf("cannot open %s: %s", c->run_path, strerror(errno));
		rmdir(c->run_path);
		goto out;
	}
	c->mode = CONTAIN_CGROUP;
	rc = 0;
out:
	free(mnt);
	free(own);
	if (rc < 0) {
		free(c->run_path);
		c->run_path = NULL;
	}
	return rc;
}

int cg_open(int dirfd, const char *file, int flags)
{
	return openat(dirfd, file, flags | O_CLOEXEC);
}

ssize_t cg_read(int dirfd, const char *file, char *buf, size_t n)
{
	int fd = cg_open(dirfd, file, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t r = read(fd, buf, n - 1);
	close(fd);
	buf[r > 0 ? r : 0] = 0;
	return r;
}

bool cg_kill(int dirfd)
{
	int fd = cg_open(dirfd, "cgroup.kill", O_WRONLY);
	if (fd < 0)
		return false;
	bool sent = write(fd, "1", 1) == 1;
	close(fd);
	return sent;
}

int cg_state(int dirfd, bool *populated, bool *frozen)
{
	char b[256];
	if (cg_read(dirfd, "cgroup.events", b, sizeof b) <= 0)
		return -1;
	char *p = strstr(b, "populated ");
	char *f = strstr(b, "frozen ");
	if (!p)
		return -1;
	*populated = p[10] != '0';
	*frozen = f && f[7] != '0';
	return 0;
}

/* pids in cgroup.procs (malloc'd), count in *n */
static pid_t *cg_procs(int dirfd, size_t *n)
{
	return pids_read(cg_open(dirfd, "cgroup.procs", O_RDONLY), n);
}

static size_t slot_take(struct contain *c, pid_t pgid)
{
	struct guard_table *t = c->guard.table;
	if (!t)
		return 0;
	size_t i;
	if (nfree)
		i = free_slots[--nfree];
	else if (t->hwm < GUARD_SLOTS)
		i = t->hwm;
	else
		return 0;
	/* publish the slot before the high-water mark that exposes it (the
	 * guardian reads them only once the runner is gone, but a release
	 * store costs nothing) */
	__atomic_store_n(&t->pg[i], pgid, __ATOMIC_RELEASE);
	if (i >= t->hwm)
		__atomic_store_n(&t->hwm, i + 1, __ATOMIC_RELEASE);
	return i + 1;
}

static void slot_free(struct contain *c, size_t slot)
{
	if (!slot || !c->guard.table)
		return;
	c->guard.table->pg[slot - 1] = 0;
	xgrow(&free_slots, &free_cap, nfree + 1, sizeof *free_slots);
	free_slots[nfree++] = slot - 1;
}

/* ------------------------------------------------------------------ run */

int contain_init(struct contain *c, char **why)
{
	memset(c, 0, sizeof *c);
	pthread_mutex_init(&c->mtx, NULL);
	c->run_dirfd = -1;
	c->guard.fd = -1;
	c->mode = CONTAIN_PGROUP;
	*why = NULL;
	const char *want = getenv("PIPERUN_CONTAINMENT");
	if (!want || !*want)
		want = "auto";
	if (strcmp(want, "pgroup") && strcmp(want, "process-group")) {
		char *reason = NULL;
		if (cgroup_setup(c, &reason) < 0) {
			if (!strcmp(want, "cgroup")) {
				*why = xasprintf("PIPERUN_CONTAINMENT=cgroup: %s", reason);
				free(reason);
				return -1;
			}
			free(reason);
		}
	}
	/* Spares hold an fd each: at most one per 64 of the fd limit, and
	 * never more than 256 (more than -j's worth is never used). */
	struct rlimit rl;
	c->spares_max = 256;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 64 < c->spares_max)
		c->spares_max = rl.rlim_cur / 64;
	/* In both modes orphans come to us: in process-group mode to be
	 * found at all, in cgroup mode so that killed ones are reaped at once
	 * (a zombie keeps its cgroup populated, and PID 1 may be slow). */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* without a guardian the run still works; only runner death loses
	 * grandchildren.  No reason to refuse the run. */
	guardian_start(&c->guard, c->run_path, c->mode == CONTAIN_CGROUP
		       ? cg_open(c->run_dirfd, "cgroup.kill", O_WRONLY) : -1);
	return 0;
}

static char *proc_cmdline(pid_t pid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	ssize_t r = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (r <= 0)
		return NULL;
	while (r > 0 && buf[r - 1] == 0)
		r--;
	for (ssize_t i = 0; i < r; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[r] = 0;
	return xstrdup(buf);
}

static void note_orphan(struct contain *c, pid_t pid, char *argv)
{
	for (size_t i = 0; i < c->norphans; i++)
		if (c->orphans[i].pid == pid) {
			free(argv);
			return;
		}
	xgrow(&c->orphans, &c->orphans_cap, c->norphans + 1, sizeof *c->orphans);
	c->orphans[c->norphans].pid = pid;
	c->orphans[c->norphans].argv = argv;
	c->norphans++;
}

void contain_reap_orphans(struct contain *c, bool (*is_tracked)(pid_t, void *), void *ctx)
{
	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || !si.si_pid)
			return;
		/* a job's own process: its pidfd handler reaps it (and any
		 * orphan queued behind it waits for the next SIGCHLD) */
		if (si.si_pid == c->guard.pid || is_tracked(si.si_pid, ctx))
			return;
		/* it ended: nothing to stop, nothing to list (the run-level
		 * list is of orphans piperun had to kill at the end) */
		waitid(P_PID, (id_t)si.si_pid, &si, WEXITED | WNOHANG);
	}
}

static void sleep_ms(double ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)((ms - (time_t)(ms / 1000) * 1000) * 1e6) };
	nanosleep(&ts, NULL);
}

static void write_kill(const char *run_path)
{
	char *k = xasprintf("%s/cgroup.kill", run_path);
	int fd = open(k, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t w = write(fd, "1", 1);
		(void)w;
		close(fd);
	}
	free(k);
}

void contain_slurm_job(struct contain *c, const char *job, const char *scancel,
		       const char *dir)
{
	if (!c->guard.table || strlen(scancel) >= sizeof c->guard.table->slurm_scancel)
		return;
	snprintf(c->guard.table->slurm_scancel, sizeof c->guard.table->slurm_scancel, "%s", scancel);
	if (dir && strlen(dir) < sizeof c->guard.table->slurm_dir)
		snprintf(c->guard.table->slurm_dir, sizeof c->guard.table->slurm_dir, "%s", dir);
	char *d = c->guard.table->slurm_job;
	snprintf(d + 1, sizeof c->guard.table->slurm_job - 1, "%s", job + (*job != 0));
	__atomic_store_n(&d[0], job[0], __ATOMIC_RELEASE);
}

void contain_fini(struct contain *c)
{
	/* a runner that ends so leaves its Slurm allocation to its caller
	 * (slurm_alloc_release): the guardian cancels it only for a
	 * runner that died */
	if (c->guard.table)
		__atomic_store_n(&c->guard.table->slurm_job[0], 0, __ATOMIC_RELEASE);
	/* after a release nothing is ever killed, here or by the guardian */
	bool released = c->leave_orphans || (c->guard.table && c->guard.table->released);
	bool linger = false, left = false;
	if (released && c->guard.table)
		__atomic_store_n(&c->guard.table->released, 1, __ATOMIC_RELEASE);
	if (!released) {
		/* Orphans still alive (adopted by us as subreaper): stop
		 * them, then reap.  Nothing of the run may outlive it. */
		for (int round = 0; round < 2; round++) {
			size_t nk;
			pid_t *kids = own_children(&nk);
			int n = 0;
			for (size_t i = 0; i < nk; i++) {
				if (kids[i] == c->guard.pid)
					continue;
				note_orphan(c, kids[i], proc_cmdline(kids[i]));
				kill_pid(kids[i], round ? SIGKILL : SIGTERM);
				n++;
			}
			free(kids);
			if (!n)
				break;
			/* give TERM a moment, then KILL what is left */
			for (int i = 0; i < 20 && round == 0; i++) {
				siginfo_t si;
				memset(&si, 0, sizeof si);
				while (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
				       si.si_pid && si.si_pid != c->guard.pid) {
					waitid(P_PID, (id_t)si.si_pid, &si, WEXITED);
					memset(&si, 0, sizeof si);
				}
				sleep_ms(10);
			}
		}
		siginfo_t si;
		for (;;) {
			memset(&si, 0, sizeof si);
			if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || !si.si_pid ||
			    si.si_pid == c->guard.pid)
				break;
			waitid(P_PID, (id_t)si.si_pid, &si, WEXITED);
		}
	}
	contain_spares_drop(c);
	free(c->spare);
	c->spare = NULL;
	free(c->made);
	c->made = NULL;
	c->spare_cap = 0;
	if (c->run_dirfd >= 0) {
		pathfd_close(c->run_dirfd);
		c->run_dirfd = -1;
		if (rmdir(c->run_path) < 0 && errno == EBUSY) {
			left = true;
			if (released)
				/* cgroups below a job's that was let go (a nested
				 * piperun's), still in use: the guardian removes
				 * the run's once they are empty, and is not waited
				 * for */
				linger = c->guard.pid > 0;
			else
				/* job cgroups still populated should not happen;
				 * the guardian removes them after the kill */
				write_kill(c->run_path);
		}
	}
	/* a group still in the table is the guardian's to kill, as ever */
	if (c->guard.table && c->guard.table->hwm > nfree)
		left = true;
	guardian_release(&c->guard, !left);
	c->guard_linger = linger;
	free(c->run_path);
	c->run_path = NULL;
	free(free_slots);
	free_slots = NULL;
	nfree = free_cap = 0;
	pthread_mutex_destroy(&c->mtx);
}

void contain_guardian_wait(struct contain *c)
{
	guardian_stop(&c->guard, !c->guard_linger);
}

/* ------------------------------------------------------------------ job */

/* Push the children of every thread of pid (/proc/PID/task/TID/children)
 * onto *stack. */
static void push_children(pid_t pid, pid_t **stack, size_t *n, size_t *cap)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char cpath[320];
		snprintf(cpath, sizeof cpath, "/proc/%d/task/%s/children", (int)pid, e->d_name);
		FILE *f = fopen(cpath, "re");
		int c;
		while (f && fscanf(f, "%d", &c) == 1) {
			xgrow(stack, cap, *n + 1, sizeof **stack);
			(*stack)[(*n)++] = (pid_t)c;
		}
		if (f)
			fclose(f);
	}
	closedir(d);
}

/* Each live process other than piperun in group pgid gets sig (0: none
 * is sent); whether there was one.  (For piperun's own group, where
 * kill(-pgid, 0) would always find piperun.)  The members of a group
 * piperun made are its descendants, and stay in its subtree when
 * orphaned (it is their subreaper): the walk is of that subtree, not
 * of every process.  Zombies do not count: they are reaped as orphans;
 * with running_only, stopped members do not either. */
static bool group_walk(pid_t pgid, int sig, bool running_only)
{
	pid_t *stack = NULL;
	size_t n = 0, cap = 0;
	bool found = false;
	push_children(getpid(), &stack, &n, &cap);
	while (n && (sig || !found)) {
		pid_t pid = stack[--n];
		char path[64], b[512];
		snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t r = read(fd, b, sizeof b - 1);
		close(fd);
		b[r > 0 ? r : 0] = 0;
		/* pid (comm) state ppid pgrp ...; comm may hold anything */
		char *rp = strrchr(b, ')'), state;
		int ppid, pgrp;
		if (!rp || sscanf(rp + 1, " %c %d %d", &state, &ppid, &pgrp) != 3)
			continue;
		push_children(pid, &stack, &n, &cap);
		if (pgrp != pgid || state == 'Z' || state == 'X' ||
		    (running_only && (state == 'T' || state == 't')))
			continue;
		found = true;
		if (sig)
			kill_pid(pid, sig);
	}
	free(stack);
	return found;
}

static bool group_others(pid_t pgid, int sig)
{
	return group_walk(pgid, sig, false);
}

bool contain_own_group_alive(pid_t pgid)
{
	return group_others(pgid, 0);
}

bool contain_signal_own_group(pid_t pgid, int sig)
{
	/* what piperun cannot block would end or stop piperun itself: one
	 * by one to the others (a process forked meanwhile is found by the
	 * next look of the ladder) */
	if (sig == SIGKILL) {
		/* A walk races with fork: a child forked after its parent's
		 * children were read is missed.  A stopped process cannot
		 * fork, so the members are stopped first, again until a walk
		 * finds none running (bounded: the ladder's later looks KILL
		 * again what is still there), then KILLed. */
		for (int round = 0; round < 10 && group_walk(pgid, SIGSTOP, true); round++)
			;
	}
	if (sig == SIGKILL || sig == SIGSTOP)
		return group_others(pgid, sig);
	bool others = group_others(pgid, 0);
	/* kill(0): our own group even when its id is 1 (piperun as a PID
	 * namespace's init); piperun has sig blocked and takes it back as
	 * its own (PROC_GROUP_SHARED) */
	return kill(0, sig) == 0 && others;
}

void contain_fallback(struct contain *c)
{
	__atomic_store_n(&c->mode, CONTAIN_PGROUP, __ATOMIC_RELEASE);
}

enum contain_mode contain_mode_now(const struct contain *c)
{
	return __atomic_load_n(&c->mode, __ATOMIC_ACQUIRE);
}

void contain_job_started(struct contain *c, struct contain_job *cj, pid_t pgid)
{
	pthread_mutex_lock(&c->mtx);
	cj->slot = slot_take(c, pgid);
	if (cj->reused)
		c->cg_reused++;
	pthread_mutex_unlock(&c->mtx);
}

bool contain_job_alive(struct contain *c, struct contain_job *cj, pid_t pgid)
{
	int dfd = cj->dirfd;
	if (cj->shared && dfd < 0)
		return contain_own_group_alive(pgid);
	if (dfd >= 0) {
		bool populated, frozen;
		if (cg_state(dfd, &populated, &frozen) == 0) {
			if (!populated) {
				/* the cgroup is empty; a process that left it (root
				 * can) would still be in the group */
				bool left = !cj->shared && kill_group(pgid, 0) == 0;
				cj->empty = !left;
				return left;
			}
			return true;
		}
		/* unreadable: the cgroup was removed under us (by the
		 * guardian of an outer piperun that let us go, once it was
		 * empty) */
	}
	if (cj->shared)
		return contain_own_group_alive(pgid);
	return kill_group(pgid, 0) == 0 || errno == EPERM;
}

bool contain_job_signal(struct contain *c, struct contain_job *cj, pid_t pgid, int sig)
{
	/* who is there, read before anything is sent: one that dies of the
	 * signal at once is gone from cgroup.procs when it is read after */
	size_t n = 0;
	int dfd = cj->dirfd;
	pid_t *pids = dfd >= 0 ? cg_procs(dfd, &n) : NULL;
	bool any;
	if (!cj->shared) {
		any = kill_group(pgid, sig) == 0;
	} else if (dfd < 0) {
		any = contain_signal_own_group(pgid, sig);
	} else {
		/* the cgroup holds the tree: all of the group but piperun is
		 * in it, the group needs no look of its own; what piperun
		 * cannot block goes by the cgroup alone */
		if (sig != SIGKILL && sig != SIGSTOP)
			kill(0, sig);
		any = n > 0;
	}
	if (dfd >= 0 && sig == SIGKILL) {
		cj->killed = true;
		any |= cg_kill(dfd);
	}
	for (size_t i = 0; i < n; i++)
		any |= kill_pid(pids[i], sig) == 0;
	free(pids);
	return any;
}

void contain_job_escaped(struct contain_job *cj, pid_t pgid, struct escaped **list,
			 size_t *n, size_t *cap)
{
	int dfd = cj->dirfd;
	if (dfd < 0)
		return;
	size_t np;
	pid_t *pids = cg_procs(dfd, &np);
	for (size_t i = 0; i < np; i++) {
		pid_t g = getpgid(pids[i]);
		if (g < 0 || g == pgid)
			continue;
		bool seen = false;
		for (size_t k = 0; k < *n && !seen; k++)
			seen = (*list)[k].pid == pids[i];
		if (seen)
			continue;
		xgrow(list, cap, *n + 1, sizeof **list);
		(*list)[*n].pid = pids[i];
		(*list)[*n].argv = proc_cmdline(pids[i]);
		(*n)++;
	}
	free(pids);
}

void contain_on_death(struct contain *c, int sig, double grace_s)
{
	if (!c->guard.table)
		return;
	c->guard.table->death_sig = sig;
	c->guard.table->death_grace = grace_s;
	__atomic_store_n(&c->guard.table->death_set, 1, __ATOMIC_RELEASE);
}

void contain_unslot(struct contain *c, struct contain_job *cj)
{
	pthread_mutex_lock(&c->mtx);
	slot_free(c, cj->slot);
	pthread_mutex_unlock(&c->mtx);
	cj->slot = 0;
}

void contain_job_release(struct contain *c, struct contain_job *cj)
{
	/* from now on the guardian leaves everything alone, even if the
	 * runner dies before contain_fini */
	if (c->guard.table)
		__atomic_store_n(&c->guard.table->released, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&c->mtx);
	slot_free(c, cj->slot);
	pthread_mutex_unlock(&c->mtx);
	cj->slot = 0;
	if (cj->dirfd >= 0 && c->run_path) {
		/* the cgroup piperun started in: the run's parent */
		char *up = xstrdup(c->run_path);
		char *slash = strrchr(up, '/');
		if (slash)
			*slash = 0;
		int dfd = pathfd_openat(AT_FDCWD, up, O_DIRECTORY);
		int to = dfd >= 0 ? cg_open(dfd, "cgroup.procs", O_WRONLY) : -1;
		/* they may fork meanwhile: again until none is left (bounded) */
		for (int round = 0; to >= 0 && round < 100; round++) {
			size_t n;
			pid_t *pids = cg_procs(cj->dirfd, &n);
			for (size_t i = 0; i < n; i++) {
				char num[24];
				int len = snprintf(num, sizeof num, "%d", (int)pids[i]);
				ssize_t w = write(to, num, (size_t)len);
				(void)w;
			}
			free(pids);
			if (!n)
				break;
		}
		if (to >= 0)
			close(to);
		if (dfd >= 0)
			pathfd_close(dfd);
		free(up);
	}
	/* cgroups below it (a nested piperun's) stay: removed if it can
	 * be, never killed, never reused */
	contain_job_drop(c, cj, false);
}

void escaped_free(struct escaped *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i].argv);
	free(list);
}
