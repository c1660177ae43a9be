/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-proc.c - the one supervised process (proc.h) against real
 * children (sh and tests/helpers/probe): each kind of declared stdio, the
 * exit decode (code, signal), the terminate ladder (TERM ignored: KILL
 * after the grace; a stopped process is continued and acts on TERM) and
 * process-group containment reaching a grandchild, and a steps worker's
 * child: PROC_GROUP_NONE with pipes on a thread's own loop, two threads
 * at once. */
#include "config.h"
#include "proc.h"
#include "tap.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static struct loop *L;
static int exits, empties;

static void on_exit_cb(struct proc *p)
{
	exits++;
}

static void on_empty_cb(struct proc *p)
{
	empties++;
}

/* We are the children's subreaper: orphans that die are reaped here
 * (never the proc's own process: its pidfd is its reaper). */
static void on_look_cb(struct proc *p)
{
	siginfo_t si;
	for (;;) {
		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || !si.si_pid)
			break;
		if (si.si_pid == p->pid && !p->exited)
			break;
		waitid(P_PID, (id_t)si.si_pid, &si, WEXITED);
	}
}

/* Run the loop until cond holds or ms pass; returns whether it held. */
static bool run_until(const int *counter, int want, double ms)
{
	double end = now_ms() + ms;
	while (*counter < want && now_ms() < end)
		loop_run_once(L, 20);
	return *counter >= want;
}

static const char *probe(void)
{
	const char *p = getenv("PROBE");
	return p ? p : "tests/helpers/probe";
}

static int spawn(struct proc *p, char *const *argv, struct proc_stdio *io, int n,
		 enum proc_group g)
{
	struct proc_opts o = {
		.spawn = { .path = argv[0], .argv = argv },
		.stdio = io, .nstdio = n, .group = g,
		.loop = L, .t0 = now_ms(),
		.on_exit = on_exit_cb, .on_look = on_look_cb, .on_empty = on_empty_cb,
	};
	struct proc_error e;
	int rc = proc_spawn(p, &o, &e);
	if (rc < 0)
		printf("# spawn %s: step %s: %s\n", argv[0], spawn_step_name(e.step), strerror(e.err));
	return rc;
}

static size_t read_all(int fd, char *buf, size_t n)
{
	size_t got = 0;
	double end = now_ms() + 5000;
	while (got < n - 1 && now_ms() < end) {
		ssize_t r = read(fd, buf + got, n - 1 - got);
		if (r > 0)
			got += (size_t)r;
		else if (r == 0)
			break;
		else if (errno == EAGAIN)
			loop_run_once(L, 5);
		else if (errno != EINTR)
			break;
	}
	buf[got] = 0;
	return got;
}

static void test_stdio(void)
{
	struct proc p;
	char buf[64];
	proc_init(&p);
	/* pipe out, null in; stderr to stdout (dup) */
	char *const a1[] = { "/bin/sh", "-c", "cat; echo out; echo err >&2", NULL };
	struct proc_stdio io[3] = { { PROC_STDIO_NULL, -1 }, { PROC_STDIO_PIPE_OUT, -1 },
				    { PROC_STDIO_DUP, 1 } };
	exits = 0;
	ok(spawn(&p, a1, io, 3, PROC_GROUP_OWN) == 0, "spawn: null in, pipe out, stderr dup'd");
	read_all(io[1].fd, buf, sizeof buf);
	is_str(buf, "out\nerr\n", "stdout and the dup'd stderr come through the pipe");
	close(io[1].fd);
	ok(run_until(&exits, 1, 5000), "on_exit once it exited");
	ok(p.status.has_status && p.status.exit_code == 0 && p.status.pid == p.pid,
	   "exit decoded: status 0, pid kept");
	proc_end(&p);

	/* pipe in; a given fd as stdout */
	int fds[2];
	ok(pipe2(fds, O_CLOEXEC) == 0, "a pipe of our own");
	char *const a2[] = { "/bin/sh", "-c", "read x; echo \"got $x\"; exit 7", NULL };
	struct proc_stdio io2[3] = { { PROC_STDIO_PIPE_IN, -1 }, { PROC_STDIO_FD, fds[1] },
				     { PROC_STDIO_INHERIT, 2 } };
	exits = 0;
	ok(spawn(&p, a2, io2, 3, PROC_GROUP_OWN) == 0, "spawn: pipe in, given fd out");
	ok(io2[0].fd >= 0 && (fcntl(io2[0].fd, F_GETFL) & O_NONBLOCK), "our end is non-blocking");
	ok(fcntl(fds[1], F_GETFD) >= 0, "a given fd stays ours");
	write(io2[0].fd, "41\n", 3);
	close(io2[0].fd);
	close(fds[1]);
	read_all(fds[0], buf, sizeof buf);
	close(fds[0]);
	is_str(buf, "got 41\n", "it read what we fed, wrote to the given fd");
	ok(run_until(&exits, 1, 5000), "exited");
	is_int(p.status.exit_code, 7, "exit code decoded");
	is_int(stage_returncode(&p.status), 7, "returncode = exit code");
	is_int(stage_shell_status(&p.status), 7, "shell status = exit code");
	proc_end(&p);

	/* a bad dup: nothing started, nothing left open */
	int before = count_open_fds();
	struct proc_stdio io3[3] = { { PROC_STDIO_PIPE_IN, -1 }, { PROC_STDIO_PIPE_OUT, -1 },
				     { PROC_STDIO_DUP, 2 } };
	struct proc_opts o = { .spawn = { .path = "/bin/true", .argv = (char *const[]){ "true", NULL } },
			       .stdio = io3, .nstdio = 3, .loop = L };
	struct proc_error e;
	ok(proc_spawn(&p, &o, &e) < 0 && e.slot == 2, "a slot that cannot be set up: -1, its slot");
	is_int(count_open_fds(), before, "no fd left open on error");
	ok(io3[0].fd == -1 && io3[1].fd == -1, "pipe slots say -1");

	/* pipe slots say -1 also when nothing was tried: too few slots,
	 * or a slot after the one that failed */
	struct proc_stdio io4[2] = { { PROC_STDIO_PIPE_IN, 1234 }, { PROC_STDIO_PIPE_OUT, 1234 } };
	o.stdio = io4;
	o.nstdio = 2;
	ok(proc_spawn(&p, &o, &e) < 0 && e.err == EINVAL, "too few slots: -1, EINVAL");
	ok(io4[0].fd == -1 && io4[1].fd == -1, "pipe slots say -1 (too few slots)");
	struct proc_stdio io5[3] = { { PROC_STDIO_DUP, 2 }, { PROC_STDIO_PIPE_OUT, 1234 },
				     { PROC_STDIO_INHERIT, 2 } };
	o.stdio = io5;
	o.nstdio = 3;
	ok(proc_spawn(&p, &o, &e) < 0 && e.slot == 0, "a bad first slot: -1, slot 0");
	ok(io5[1].fd == -1, "a later pipe slot says -1");
	is_int(count_open_fds(), before, "still no fd left open");
	proc_free(&p);
}

static void test_signal_decode(void)
{
	struct proc p;
	proc_init(&p);
	char *const a[] = { "/bin/sh", "-c", "kill -USR1 $$; sleep 5", NULL };
	struct proc_stdio io[3] = { { PROC_STDIO_NULL, -1 }, { PROC_STDIO_NULL, -1 },
				    { PROC_STDIO_INHERIT, 2 } };
	exits = 0;
	ok(spawn(&p, a, io, 3, PROC_GROUP_OWN) == 0, "spawn a process that kills itself");
	ok(run_until(&exits, 1, 5000), "exited");
	ok(p.status.has_status && p.status.signal == SIGUSR1 && p.status.exit_code == -1,
	   "signal decoded (exit_code -1)");
	is_int(stage_returncode(&p.status), -SIGUSR1, "returncode = -signal");
	is_int(stage_shell_status(&p.status), 128 + SIGUSR1, "shell status = 128 + signal");
	proc_end(&p);
	proc_free(&p);
}

static void test_ladder(void)
{
	struct proc p;
	proc_init(&p);
	char *const a[] = { (char *)probe(), "ignore-term", "30", NULL };
	struct proc_stdio io[3] = { { PROC_STDIO_NULL, -1 }, { PROC_STDIO_NULL, -1 },
				    { PROC_STDIO_INHERIT, 2 } };
	exits = 0;
	ok(spawn(&p, a, io, 3, PROC_GROUP_OWN) == 0, "spawn probe ignore-term");
	usleep(100 * 1000); /* let it ignore TERM */
	double t = now_ms();
	ok(proc_terminate(&p, SIGTERM, 0.3), "TERM reached it");
	ok(!proc_terminate(&p, SIGTERM, 0.3), "a second terminate does not repeat the signal");
	ok(run_until(&exits, 1, 5000), "it ended");
	ok(p.status.signal == SIGKILL, "by KILL, after the grace");
	ok(now_ms() - t >= 250, "not before the grace (%.0f ms)", now_ms() - t);
	ok(p.nterm == 2 && p.term[0].signal == SIGTERM && p.term[1].signal == SIGKILL,
	   "termination lists TERM then KILL (SIGCONT not listed)");
	proc_end(&p);

	/* a stopped process is continued and acts on TERM */
	char *const b[] = { "/bin/sleep", "30", NULL };
	exits = 0;
	ok(spawn(&p, b, io, 3, PROC_GROUP_OWN) == 0, "spawn sleep");
	kill(p.pid, SIGSTOP);
	usleep(50 * 1000);
	t = now_ms();
	proc_terminate(&p, SIGTERM, 10);
	ok(run_until(&exits, 1, 3000), "the stopped process ended");
	ok(p.status.signal == SIGTERM, "by TERM (SIGCONT followed it), not the KILL");
	ok(now_ms() - t < 2000, "long before the grace");
	proc_end(&p);
	proc_free(&p);
}

static void test_group(void)
{
	struct proc p;
	proc_init(&p);
	char *const a[] = { (char *)probe(), "spawn-tree", "1", "30", "proc-test-tree", NULL };
	struct proc_stdio io[3] = { { PROC_STDIO_NULL, -1 }, { PROC_STDIO_NULL, -1 },
				    { PROC_STDIO_INHERIT, 2 } };
	exits = empties = 0;
	ok(spawn(&p, a, io, 3, PROC_GROUP_OWN) == 0, "spawn a tree (a grandchild sleeping)");
	is_int(getpgid(p.pid), p.pid, "it leads a process group of its own");
	ok(run_until(&exits, 1, 5000), "the child exited at once");
	ok(proc_alive(&p), "its grandchild is still in the group");
	proc_wait_empty(&p, SIGTERM, 2);
	ok(run_until(&empties, 1, 5000), "on_empty: the group was emptied");
	ok(!proc_alive(&p), "nothing of it is left");
	ok(p.nterm >= 1 && p.term[0].signal == SIGTERM, "what was left got TERM");
	proc_end(&p);

	/* the caller's group: signalled alone, empty at its exit */
	char *const b[] = { "/bin/sleep", "30", NULL };
	exits = empties = 0;
	ok(spawn(&p, b, io, 3, PROC_GROUP_NONE) == 0, "spawn in our own group");
	is_int(getpgid(p.pid), getpgrp(), "it stays in our process group");
	ok(proc_signal(&p, SIGTERM), "a signal reaches it alone");
	ok(run_until(&exits, 1, 3000) && p.status.signal == SIGTERM, "it died of it");
	proc_wait_empty(&p, SIGTERM, 1);
	is_int(empties, 1, "PROC_GROUP_NONE: empty at once");
	ok(!proc_signal(&p, SIGTERM), "no signal after it was reaped");
	proc_end(&p);
	proc_free(&p);
}

/* An executor whose first KILL misses (as a KILL that goes one by one
 * misses a process forked during its walk): the looks that follow must
 * send KILL again until nothing is left, not poll forever. */
static int missed_kills;

static bool flaky_signal(struct proc *p, int sig)
{
	if (sig == SIGKILL && !missed_kills++)
		return true;
	return proc_local.signal(p, sig);
}

static void test_kill_again(void)
{
	static const struct proc_executor flaky = {
		.name = "flaky", .signal = flaky_signal,
	};
	struct proc_executor ex = flaky;
	ex.start = proc_local.start;
	ex.alive = proc_local.alive;
	ex.end = proc_local.end;
	for (int k = 0; k < 2; k++) {
		struct proc p;
		proc_init(&p);
		/* what is left ignores TERM: only a KILL ends it */
		char *const a[] = { "/bin/sh", "-c", "trap '' TERM; sleep 30 & exit 0", NULL };
		struct proc_stdio io[3] = { { PROC_STDIO_NULL, -1 }, { PROC_STDIO_NULL, -1 },
					    { PROC_STDIO_INHERIT, 2 } };
		struct proc_opts o = {
			.spawn = { .path = a[0], .argv = a },
			.stdio = io, .nstdio = 3, .group = PROC_GROUP_OWN, .executor = &ex,
			.loop = L, .t0 = now_ms(),
			.on_exit = on_exit_cb, .on_look = on_look_cb, .on_empty = on_empty_cb,
		};
		struct proc_error e;
		exits = empties = missed_kills = 0;
		ok(proc_spawn(&p, &o, &e) == 0, "spawn a tree through an executor whose first KILL misses");
		ok(run_until(&exits, 1, 5000), "the child exited at once");
		/* k 0: the climb's own signal is KILL; k 1: the grace's KILL */
		proc_wait_empty(&p, k ? SIGTERM : SIGKILL, k ? 0.05 : 0);
		if (k)
			ok(run_until(&missed_kills, 1, 3000), "the grace's KILL went out (and missed)");
		ok(run_until(&empties, 1, 3000), "KILL again at a later look: the group emptied (%s)",
		   k ? "after the grace" : "-s KILL");
		ok(missed_kills >= 2, "KILL was sent again (%d)", missed_kills);
		ok(p.nterm >= 1 && p.term[p.nterm - 1].signal == SIGKILL &&
		   (p.nterm < 2 || p.term[p.nterm - 2].signal != SIGKILL),
		   "the term list names the KILL once");
		proc_end(&p);
		proc_free(&p);
	}
}

/* timeout(1)'s layout: we lead a group, the child stays in it; its tree
 * is the group but us.  TERM comes back to us (blocked here, as
 * supervise.c keeps it); KILL, which cannot be blocked, must spare us. */
static void test_shared_group(void)
{
	pid_t saved = getpgrp();
	ok(setpgid(0, 0) == 0, "we lead a process group");
	sigset_t term;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, NULL);
	struct proc p;
	proc_init(&p);
	struct proc_stdio io[3] = { { PROC_STDIO_NULL, -1 }, { PROC_STDIO_NULL, -1 },
				    { PROC_STDIO_INHERIT, 2 } };
	char *const a[] = { "/bin/sleep", "30", NULL };
	exits = empties = 0;
	ok(spawn(&p, a, io, 3, PROC_GROUP_SHARED) == 0, "spawn in a group we lead");
	is_int(getpgid(p.pid), getpid(), "it stays in our group");
	is_int(p.pgid, getpid(), "its tree's group is ours");
	ok(proc_alive(&p), "alive: another member of our group");
	ok(proc_terminate(&p, SIGTERM, 5), "TERM reached it");
	ok(run_until(&exits, 1, 3000) && p.status.signal == SIGTERM, "it died of TERM");
	struct timespec zero = { 0, 0 };
	is_int(sigtimedwait(&term, NULL, &zero), SIGTERM, "the TERM came back to us, blocked");
	proc_wait_empty(&p, SIGTERM, 1);
	ok(run_until(&empties, 1, 3000), "empty: nothing but us in the group");
	proc_end(&p);

	/* a grandchild left behind: the ladder's KILL ends it, not us */
	char *const b[] = { (char *)probe(), "spawn-tree", "1", "30", "proc-test-shared", NULL };
	exits = empties = 0;
	ok(spawn(&p, b, io, 3, PROC_GROUP_SHARED) == 0, "spawn a tree in our group");
	ok(run_until(&exits, 1, 5000), "the child exited at once");
	ok(proc_alive(&p), "its grandchild is still in our group");
	proc_kill(&p);
	proc_wait_empty(&p, SIGKILL, 1);
	ok(run_until(&empties, 1, 5000), "KILL emptied the group, and we are still here");
	proc_end(&p);
	proc_free(&p);
	while (sigtimedwait(&term, NULL, &zero) > 0)
		;
	sigprocmask(SIG_UNBLOCK, &term, NULL);
	setpgid(0, saved);
}

/* A steps worker's child: in our group, stdio pipes, on a loop of the
 * worker's own thread; TERM ignored, so the ladder's KILL ends it. */
struct worker_run {
	struct loop *loop;
	int exits;
	bool spawned, same_group, echoed, terminated, ended;
	int signal;
	char line[64];
};

static void worker_on_exit(struct proc *p)
{
	struct worker_run *r = p->ctx;
	r->exits++;
}

static bool worker_read_line(struct worker_run *r, int fd)
{
	size_t got = 0;
	double end = now_ms() + 5000;
	while (got < sizeof r->line - 1 && now_ms() < end) {
		ssize_t n = read(fd, r->line + got, sizeof r->line - 1 - got);
		if (n > 0) {
			got += (size_t)n;
			r->line[got] = 0;
			if (strchr(r->line, '\n'))
				return true;
		} else if (n == 0 || errno != EAGAIN)
			break;
		else
			loop_run_once(r->loop, 5);
	}
	return false;
}

static void *worker_thread(void *arg)
{
	struct worker_run *r = arg;
	struct proc p;
	proc_init(&p);
	r->loop = loop_new();
	char *const a[] = { "/bin/sh", "-c", "trap '' TERM; read l; echo got-$l; exec sleep 30",
			    NULL };
	struct proc_stdio io[3] = { { PROC_STDIO_PIPE_IN, -1 }, { PROC_STDIO_PIPE_OUT, -1 },
				    { PROC_STDIO_INHERIT, 2 } };
	struct proc_opts o = {
		.spawn = { .path = a[0], .argv = a },
		.stdio = io, .nstdio = 3, .group = PROC_GROUP_NONE,
		.loop = r->loop, .t0 = now_ms(), .on_exit = worker_on_exit, .ctx = r,
	};
	struct proc_error e;
	r->spawned = proc_spawn(&p, &o, &e) == 0;
	if (r->spawned) {
		r->same_group = getpgid(p.pid) == getpgrp();
		r->echoed = write(io[0].fd, "x\n", 2) == 2 && worker_read_line(r, io[1].fd);
		usleep(50 * 1000); /* the sleep it became ignores TERM */
		r->terminated = proc_terminate(&p, SIGTERM, 0.2);
		double end = now_ms() + 5000;
		while (!r->exits && now_ms() < end)
			loop_run_once(r->loop, 20);
		r->ended = r->exits == 1;
		r->signal = p.status.signal;
		close(io[0].fd);
		close(io[1].fd);
	}
	proc_end(&p);
	proc_free(&p);
	loop_free(r->loop);
	return NULL;
}

static void test_worker_threads(void)
{
	struct worker_run r[2] = { { 0 }, { 0 } };
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker_thread, &r[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 2; i++) {
		ok(r[i].spawned && r[i].same_group, "worker %d: spawned in our group", i);
		ok(r[i].echoed && !strcmp(r[i].line, "got-x\n"), "worker %d: its pipes carry a line", i);
		ok(r[i].terminated, "worker %d: TERM reached it", i);
		ok(r[i].ended && r[i].signal == SIGKILL,
		   "worker %d: reaped on its thread's loop, by the KILL", i);
	}
}

/* The executor table: local and slurm by name and by index, nothing
 * else; a proc spawned without one runs on the local executor. */
static void test_executors(void)
{
	ok(proc_executor_find("local") == &proc_local, "executor: local by name");
	ok(proc_executor_find("nowhere") == NULL, "executor: unknown name");
	ok(proc_executor_at(0) == &proc_local, "executor: row 0 is local");
	ok(proc_executor_find("slurm") == &proc_slurm, "executor: slurm by name");
	ok(proc_executor_at(1) == &proc_slurm, "executor: row 1 is slurm");
	ok(proc_executor_at(2) == NULL, "executor: two rows");
	ok(proc_slurm.exited && proc_slurm.run_end && !proc_local.exited,
	   "executor: slurm decodes its step's status itself, local does not");
	is_str(proc_local.name, "local", "executor: its name");
}

int main(void)
{
	spawn_init();
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	L = loop_new();
	ok(L != NULL, "loop");
	test_stdio();
	test_signal_decode();
	test_ladder();
	test_group();
	test_kill_again();
	test_shared_group();
	test_worker_threads();
	test_executors();
	loop_free(L);
	return done_testing();
}
