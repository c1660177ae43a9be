/* SPDX-License-Identifier: GPL-3.0-or-later */
/* guardian.c - the guardian (guardian.h): its start, its table, and its
 * clean-up after a runner that died. */
#include "config.h"
#include "guardian.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <dirent.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* The guardian uses plain system calls and stack buffers only. */

/* fn(dfd, name, type, arg) for each entry of the directory dfd (but
 * . and ..) until fn returns true; whether one did. */
static bool guardian_each_entry(int dfd, bool (*fn)(int dfd, const char *name,
						    unsigned char type, void *arg),
				void *arg)
{
	char dents[8192];
	long n;
	while ((n = syscall(SYS_getdents64, dfd, dents, sizeof dents)) > 0)
		for (long off = 0; off < n;) {
			struct { uint64_t ino; int64_t off; unsigned short reclen;
				 unsigned char type; char name[]; } *d = (void *)(dents + off);
			off += d->reclen;
			if (strcmp(d->name, ".") && strcmp(d->name, "..") &&
			    fn(dfd, d->name, d->type, arg))
				return true;
		}
	return false;
}

/* Is the cgroup at path populated (no: it is gone, or says 0)? */
static bool guardian_populated(const char *path)
{
	char ev[4096], b[256];
	snprintf(ev, sizeof ev, "%s/cgroup.events", path);
	int fd = open(ev, O_RDONLY | O_CLOEXEC);
	ssize_t r = fd >= 0 ? read(fd, b, sizeof b - 1) : -1;
	if (fd >= 0)
		close(fd);
	b[r > 0 ? r : 0] = 0;
	return r > 0 && !strstr(b, "populated 0");
}

/* Remove the cgroup dfd/name and every cgroup below it, depth first
 * (a job's cgroup may hold a nested piperun's); *arg is the depth. */
static bool rmdir_tree(int dfd, const char *name, unsigned char type, void *arg)
{
	int *depth = arg;
	if (type != DT_DIR)
		return false;
	int sub = *depth < 32 ? openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (sub >= 0) {
		(*depth)++;
		guardian_each_entry(sub, rmdir_tree, depth);
		(*depth)--;
		close(sub);
	}
	unlinkat(dfd, name, AT_REMOVEDIR);
	return false;
}

static void guardian_rmdir_all(const char *run_path)
{
	int dfd = open(run_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		int depth = 0;
		guardian_each_entry(dfd, rmdir_tree, &depth);
		close(dfd);
	}
	rmdir(run_path);
}

/* After cgroup.kill: wait (a little) for the run's cgroups to empty,
 * then remove them. */
static void guardian_rmdir(const char *run_path)
{
	for (int i = 0; i < 200 && guardian_populated(run_path); i++) {
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
	guardian_rmdir_all(run_path);
}

/* What was let go (contain_job_release) may still hold cgroups of the
 * run: a nested piperun's, below the job's.  Nothing is signalled; once
 * the whole run cgroup is empty (cgroup.events says populated 0: a
 * change wakes poll with POLLPRI, and a look each second besides) it is
 * removed, depth first. */
/* Is name a directory with a directory in it (a cgroup below a job's)? */
static bool has_subdir(int dfd, const char *name, unsigned char type, void *arg);
static bool is_dir(int dfd, const char *name, unsigned char type, void *arg)
{
	(void)dfd;
	(void)name;
	(void)arg;
	return type == DT_DIR;
}

static bool has_subdir(int dfd, const char *name, unsigned char type, void *arg)
{
	(void)arg;
	int sub = type == DT_DIR ? openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (sub < 0)
		return false;
	bool any = guardian_each_entry(sub, is_dir, NULL);
	close(sub);
	return any;
}

/* Cgroups below the run's job cgroups: a nested piperun's, which it
 * removes itself when it ends. */
static bool guardian_nested(const char *run_path)
{
	int dfd = open(run_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return false;
	bool any = guardian_each_entry(dfd, has_subdir, NULL);
	close(dfd);
	return any;
}

static void guardian_linger(const char *run_path)
{
	char ev[4096];
	snprintf(ev, sizeof ev, "%s/cgroup.events", run_path);
	int fd = open(ev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	for (;;) {
		char b[256];
		ssize_t r = pread(fd, b, sizeof b - 1, 0);
		if (r <= 0)
			break;   /* removed meanwhile */
		b[r] = 0;
		/* empty: a nested piperun whose command ended is about to
		 * remove its cgroups itself; a moment for it (up to 2 s) */
		for (int i = 0; i < 200 && strstr(b, "populated 0") && guardian_nested(run_path); i++) {
			struct timespec ts = { 0, 10000000 };
			nanosleep(&ts, NULL);
			r = pread(fd, b, sizeof b - 1, 0);
			b[r > 0 ? r : 0] = 0;
		}
		if (strstr(b, "populated 0") || r <= 0)
			break;
		struct pollfd pfd = { .fd = fd, .events = POLLPRI };
		poll(&pfd, 1, 1000);
	}
	close(fd);
	guardian_rmdir_all(run_path);
}

struct death_send {
	int sig;
	struct guard_table *t;     /* the groups that got sig already */
};

/* Is pg one of the groups of the table? */
static bool in_table(struct guard_table *t, pid_t pg)
{
	size_t hwm = t->hwm;
	for (size_t i = 0; pg > 0 && i < hwm && i < GUARD_SLOTS; i++)
		if (t->pg[i] == pg)
			return true;
	return false;
}

/* sig to the process v, unless its group got it already: each process
 * gets the death signal once, as from timeout(1)'s parent-death signal */
static void death_kill(const struct death_send *d, long v)
{
	if (v > 1 && !in_table(d->t, getpgid((pid_t)v)))
		kill((pid_t)v, d->sig);
}

/* the signal to every pid in the cgroup.procs of the job cgroup name
 * (arg: a struct death_send) */
static bool signal_job(int dfd, const char *name, unsigned char type, void *arg)
{
	const struct death_send *d = arg;
	char path[300];
	snprintf(path, sizeof path, "%s/cgroup.procs", name);
	int fd = type == DT_DIR ? openat(dfd, path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0)
		return false;
	char b[4096];
	long v = 0;
	bool in = false;
	ssize_t r;
	while ((r = read(fd, b, sizeof b)) > 0)
		for (ssize_t i = 0; i < r; i++) {
			/* (a number cut by the buffer's end goes on in the next) */
			if (b[i] >= '0' && b[i] <= '9') {
				v = v * 10 + (b[i] - '0');
				in = true;
				continue;
			}
			if (in)
				death_kill(d, v);
			v = 0;
			in = false;
		}
	if (in)
		death_kill(d, v);
	close(fd);
	return false;
}

/* Is /proc/NAME a live (not zombie) process of group *arg? */
static bool live_in_group(int dfd, const char *name, unsigned char type, void *arg)
{
	pid_t pg = *(const pid_t *)arg;
	(void)type;
	if (name[0] < '1' || name[0] > '9')
		return false;
	char path[300], b[512];
	snprintf(path, sizeof path, "%s/stat", name);
	int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t r = fd >= 0 ? read(fd, b, sizeof b - 1) : -1;
	if (fd >= 0)
		close(fd);
	b[r > 0 ? r : 0] = 0;
	/* pid (comm) state ppid pgrp */
	char *p = strrchr(b, ')');
	if (!p || p[1] != ' ' || !p[2] || p[2] == 'Z' || p[2] == 'X')
		return false;
	p += 3;
	for (int field = 0; field < 2 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return p && strtol(p, NULL, 10) == pg;
}

/* Is a live process (not a zombie: the runner is gone, and whoever
 * adopted its children may be slow to reap them) in group pg? */
static bool guardian_group_live(pid_t pg)
{
	if (kill_group(pg, 0) < 0)
		return false;
	int dfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return true;
	bool live = guardian_each_entry(dfd, live_in_group, &pg);
	close(dfd);
	return live;
}

/* Anything left of the run: a group of the table, or a populated run
 * cgroup. */
static bool guardian_any_alive(struct guard_table *t, const char *run_path)
{
	size_t hwm = t->hwm;
	for (size_t i = 0; i < hwm && i < GUARD_SLOTS; i++)
		if (t->pg[i] > 0 && guardian_group_live(t->pg[i]))
			return true;
	return run_path && guardian_populated(run_path);
}

/* The runner died and contain_on_death asked for a signal first: the
 * signal and SIGCONT to everything, then wait up to the grace for it to
 * go (the caller KILLs what is left). */
static void guardian_signal_first(struct guard_table *t, const char *run_path)
{
	int sig = t->death_sig;
	size_t hwm = t->hwm;
	for (int k = 0; k < 2; k++) {
		int s = k ? SIGCONT : sig;
		if (!s)
			continue;
		for (size_t i = 0; i < hwm && i < GUARD_SLOTS; i++)
			if (t->pg[i] > 0)
				kill_group(t->pg[i], s);
		/* the processes of the run's cgroups that are not in one of
		 * those groups (setsid'd, double-forked out of them) */
		struct death_send d = { s, t };
		int dfd = run_path ? open(run_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
		if (dfd >= 0) {
			guardian_each_entry(dfd, signal_job, &d);
			close(dfd);
		}
	}
	double ms = t->death_grace * 1000;
	for (double waited = 0; waited < ms && guardian_any_alive(t, run_path); waited += 10) {
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
}

/* The runner died holding a Slurm allocation it made: scancel it (its
 * steps with it), waiting at most 30 s for scancel. */
static void guardian_scancel(const struct guard_table *t)
{
	char id[32], path[512];
	memcpy(id, t->slurm_job, sizeof id);
	memcpy(path, t->slurm_scancel, sizeof path);
	id[sizeof id - 1] = path[sizeof path - 1] = '\0';
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = { path, "--quiet", id, NULL };
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve(path, argv, environ);
		_exit(127);
	}
	for (int i = 0; pid > 0 && i < 3000; i++) {
		if (waitpid(pid, NULL, WNOHANG) != 0)
			return;
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static bool unlink_entry(int dfd, const char *name, unsigned char type, void *arg)
{
	(void)type;
	(void)arg;
	unlinkat(dfd, name, 0);
	return false;
}

/* The run's directory of step status files (flat), and the directory. */
static void guardian_rm_slurm_dir(const struct guard_table *t)
{
	char dir[512];
	memcpy(dir, t->slurm_dir, sizeof dir);
	dir[sizeof dir - 1] = '\0';
	int dfd = *dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (dfd < 0)
		return;
	guardian_each_entry(dfd, unlink_entry, NULL);
	close(dfd);
	rmdir(dir);
}

static void guardian_main(int rfd, int killfd, struct guard_table *t, const char *run_path)
{
	/* A session (and process group) of its own: whatever is sent to
	 * piperun's group or session (a group KILL from timeout(1) or a CI
	 * runner, a terminal's hang-up or Ctrl-C) does not reach the
	 * guardian, which must outlive piperun to clean up after it.  Every
	 * signal that can be ignored is, in case one is sent to it alone. */
	keeper_detach("piperun-guard");
	char b[64];
	for (;;) {
		ssize_t r = read(rfd, b, sizeof b);
		if (r == 0)
			break;
		if (r < 0 && errno != EINTR)
			break;
	}
	if (__atomic_load_n(&t->clean, __ATOMIC_ACQUIRE))
		_exit(0);
	/* The runner is gone: normally after every job ended (nothing
	 * left), or killed (SIGKILL, OOM) with jobs running.  What was let
	 * go stays alone: only the run's cgroups are removed once empty. */
	if (__atomic_load_n(&t->released, __ATOMIC_ACQUIRE)) {
		if (run_path)
			guardian_linger(run_path);
		_exit(0);
	}
	if (t->death_set)
		guardian_signal_first(t, run_path);
	if (killfd >= 0) {
		ssize_t w = write(killfd, "1", 1);
		(void)w;
	}
	size_t hwm = t->hwm;
	for (size_t i = 0; i < hwm && i < GUARD_SLOTS; i++)
		if (t->pg[i] > 0)
			kill_group(t->pg[i], SIGKILL);
	if (__atomic_load_n(&t->slurm_job[0], __ATOMIC_ACQUIRE)) {
		guardian_scancel(t);
		guardian_rm_slurm_dir(t);
	}
	/* a runner that ended normally removed its cgroup itself */
	if (run_path && access(run_path, F_OK) == 0)
		guardian_rmdir(run_path);
	_exit(0);
}


/* ------------------------------------------------------- start and stop */

/* The guardian: a fork of the runner. */
static pid_t forked_start(int rfd, int killfd, struct guard_table *t, const char *run_path)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	/* only the pipe and cgroup.kill (both above 2: main's
	 * ensure_std_fds) */
	keep_only_fds(rfd, killfd);
	guardian_main(rfd, killfd, t, run_path);
	_exit(0);
}

int guardian_start(struct guardian *g, const char *run_path, int killfd)
{
	memset(g, 0, sizeof *g);
	g->fd = -1;
	int p[2] = { -1, -1 };
	struct guard_table *t = mmap(NULL, sizeof *t, PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (t == MAP_FAILED || pipe2(p, O_CLOEXEC) < 0) {
		if (t != MAP_FAILED)
			munmap(t, sizeof *t);
		if (killfd >= 0)
			close(killfd);
		return -1;
	}
	pid_t pid = forked_start(p[0], killfd, t, run_path);
	close(p[0]);
	if (killfd >= 0)
		close(killfd);
	if (pid < 0) {
		close(p[1]);
		munmap(t, sizeof *t);
		return -1;
	}
	g->pid = pid;
	g->fd = p[1];
	g->table = t;
	return 0;
}

void guardian_release(struct guardian *g, bool clean)
{
	if (g->table && clean)
		__atomic_store_n(&g->table->clean, 1, __ATOMIC_RELEASE);
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
}

void guardian_stop(struct guardian *g, bool wait)
{
	guardian_release(g, false);
	if (g->pid > 0 && wait) {
		/* a guardian someone stopped would hold the runner here for
		 * good: it is woken (it exits at once, or cleans up) */
		kill(g->pid, SIGCONT);
		while (waitpid(g->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (g->table)
		munmap(g->table, sizeof *g->table);
	memset(g, 0, sizeof *g);
	g->fd = -1;
}
