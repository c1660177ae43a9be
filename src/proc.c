/* SPDX-License-Identifier: GPL-3.0-or-later */
/* proc.c - the one supervised process (see proc.h): declared stdio,
 * containment joined at spawn, the pidfd watch, the exit decode and the
 * signal-then-KILL ladder. */
#include "config.h"
#include "proc.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void stage_result_exited(struct stage_result *s, const struct spawn_exit *x)
{
	s->has_status = true;
	s->exit_code = x->exit_code;
	s->signal = x->signal;
	s->core_dumped = x->core_dumped;
	s->user_ms = x->ru.ru_utime.tv_sec * 1e3 + x->ru.ru_utime.tv_usec / 1e3;
	s->sys_ms = x->ru.ru_stime.tv_sec * 1e3 + x->ru.ru_stime.tv_usec / 1e3;
	s->maxrss_kb = x->ru.ru_maxrss;
}

double stage_cpu_ms(const struct stage_result *s)
{
	return s->has_status ? s->user_ms + s->sys_ms : -1;
}

int stage_returncode(const struct stage_result *s)
{
	return s->signal ? -s->signal : s->exit_code;
}

int stage_shell_status(const struct stage_result *s)
{
	return s->signal ? 128 + s->signal : s->exit_code;
}

double proc_poll_backoff(double prev_ms)
{
	return prev_ms ? (prev_ms * 2 < 50.0 ? prev_ms * 2 : 50.0) : 1.0;
}

/* ----------------------------------------------------------- executors */

/* The executor table: where a proc's process runs.  Adding one is a
 * proc-NAME.c file with its struct proc_executor and a row here. */
static const struct proc_executor *const executors[] = {
	&proc_local,
	&proc_slurm,
};

const struct proc_executor *proc_executor_find(const char *name)
{
	for (size_t i = 0; i < sizeof executors / sizeof *executors; i++)
		if (!strcmp(executors[i]->name, name))
			return executors[i];
	return NULL;
}

const struct proc_executor *proc_executor_at(size_t i)
{
	return i < sizeof executors / sizeof *executors ? executors[i] : NULL;
}

void proc_init(struct proc *p)
{
	memset(p, 0, sizeof *p);
	p->pidfd = -1;
	p->cj.dirfd = -1;
	p->status.exit_code = -1;
}

bool proc_err_short(int err)
{
	return spawn_err_short(err);
}

/* ------------------------------------------------------------- signals */

/* The ladder's send(): the tree, or the process alone when it shares
 * our group.  The SIGCONT that follows a signal is not listed. */
static bool ladder_send(void *ctx, int sig, bool follow_up)
{
	struct proc *p = ctx;
	bool any;
	if (p->pid <= 0 || (follow_up && p->no_cont))
		return false;
	if (!follow_up && p->on_send)
		p->on_send(p, sig);
	if (p->group != PROC_GROUP_NONE && !follow_up && p->contain)
		contain_job_escaped(&p->cj, p->pgid, &p->escaped, &p->nescaped, &p->escaped_cap);
	any = proc_signal(p, sig);
	if (any && !follow_up) {
		xgrow(&p->term, &p->term_cap, p->nterm + 1, sizeof *p->term);
		p->term[p->nterm].signal = sig;
		p->term[p->nterm].at_ms = now_ms() - p->t0;
		p->nterm++;
	}
	return any;
}

bool proc_terminate(struct proc *p, int sig, double kill_after)
{
	return p->pid > 0 && ladder_signal(&p->ladder, sig, kill_after);
}

bool proc_deadline(struct proc *p, int sig, double kill_after)
{
	return p->pid > 0 && ladder_signal_again(&p->ladder, sig, kill_after);
}

void proc_kill(struct proc *p)
{
	if (p->pid > 0)
		ladder_kill(&p->ladder);
}

bool proc_signal(struct proc *p, int sig)
{
	if (p->pid <= 0)
		return false;
	if (p->group == PROC_GROUP_NONE)
		return !p->exited && kill_pid(p->pid, sig) == 0;
	return p->exec->signal(p, sig);
}

/* ---------------------------------------------------------------- exit */

static void on_pid(struct watch *w, uint32_t ev)
{
	struct proc *p = w->data;
	struct spawn_exit x;
	int r = spawn_reap(p->pidfd, false, &x);
	if ((r < 0 && errno == EINTR) || r == 0)
		return; /* interrupted, or not exited yet (spurious wake-up) */
	p->status.pid = p->pid;
	if (r > 0)
		stage_result_exited(&p->status, &x);
	if (p->exec->exited)
		p->exec->exited(p);
	loop_del(p->loop, &p->w_pid);
	close(p->pidfd);
	p->pidfd = -1;
	p->exited = true;
	if (p->on_exit)
		p->on_exit(p);
}

bool proc_alive(struct proc *p)
{
	if (p->pid <= 0 || p->group == PROC_GROUP_NONE)
		return p->pid > 0 && !p->exited;
	return p->exec->alive(p);
}

static void look(struct proc *p);

static void on_poll(struct timer *t)
{
	look(t->data);
}

static void look(struct proc *p)
{
	if (p->group == PROC_GROUP_NONE) {
		p->on_empty(p);
		return;
	}
	if (p->on_look)
		p->on_look(p);
	if (!proc_alive(p)) {
		p->on_empty(p);
		return;
	}
	/* Once a KILL went out, KILL again what is still there: a KILL that
	 * goes one by one (piperun's own group) misses what was forked
	 * meanwhile, and the ladder has no rung left to send it.  Not
	 * listed again in term. */
	if (ladder_killed(&p->ladder))
		proc_signal(p, SIGKILL);
	else
		ladder_signal(&p->ladder, p->wait_sig, p->wait_kill_after);
	p->poll_ms = proc_poll_backoff(p->poll_ms);
	timer_start(p->loop, &p->t_poll, now_ms() + p->poll_ms, on_poll, p);
}

void proc_wait_empty(struct proc *p, int sig, double kill_after)
{
	p->wait_sig = sig;
	p->wait_kill_after = kill_after;
	look(p);
}

/* --------------------------------------------------------------- spawn */

static int make_pipe(struct proc_stdio *io, int *child)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	bool in = io->kind == PROC_STDIO_PIPE_IN;
	io->fd = in ? fds[1] : fds[0];
	*child = in ? fds[0] : fds[1];
	fcntl(io->fd, F_SETFL, O_NONBLOCK);
	return 0;
}

/* The child's fd of every slot; *owned says which are ours to close. */
static int stdio_open(const struct proc_opts *o, int *child, bool *owned,
		      struct proc_error *e)
{
	for (int k = 0; k < o->nstdio; k++) {
		struct proc_stdio *io = &o->stdio[k];
		owned[k] = false;
		child[k] = -1;
		switch (io->kind) {
		case PROC_STDIO_NULL:
			child[k] = open("/dev/null", O_RDWR | O_CLOEXEC);
			owned[k] = child[k] >= 0;
			break;
		case PROC_STDIO_INHERIT:
			child[k] = k;
			break;
		case PROC_STDIO_CLOSED:
			if (k < 3)
				continue;   /* child[k] stays -1: closed */
			errno = EINVAL;
			break;
		case PROC_STDIO_PIPE_IN:
		case PROC_STDIO_PIPE_OUT:
			io->fd = -1;
			owned[k] = make_pipe(io, &child[k]) == 0;
			break;
		case PROC_STDIO_FD:
			child[k] = io->fd;
			break;
		case PROC_STDIO_DUP:
			child[k] = io->fd >= 0 && io->fd < k ? child[io->fd] : -1;
			if (child[k] < 0)
				errno = EINVAL;
			break;
		}
		if (child[k] < 0) {
			e->step = SPAWN_DUP;
			e->err = errno;
			e->slot = k;
			return -1;
		}
	}
	return 0;
}

/* The child's ends (what stdio_open made: all but the caller's pipe
 * ends), once the child has them or nothing started. */
static void close_child_ends(int n, const int *child, const bool *owned)
{
	for (int k = 0; k < n; k++)
		if (owned[k])
			close(child[k]);
}

/* The caller's pipe ends, when nothing is to be theirs after all. */
static void close_caller_ends(const struct proc_opts *o, int n)
{
	for (int k = 0; k < n; k++) {
		struct proc_stdio *io = &o->stdio[k];
		if ((io->kind == PROC_STDIO_PIPE_IN || io->kind == PROC_STDIO_PIPE_OUT) &&
		    io->fd >= 0) {
			close(io->fd);
			io->fd = -1;
		}
	}
}

void proc_clear(struct proc *p)
{
	p->pid = p->pgid = 0;
	p->pidfd = -1;
	p->exited = p->in_cgroup = p->running = false;
	memset(&p->status, 0, sizeof p->status);
	p->status.exit_code = -1;
	p->nterm = 0;
	escaped_free(p->escaped, p->nescaped);
	p->escaped = NULL;
	p->nescaped = p->escaped_cap = 0;
	p->fail_step = SPAWN_OK;
	p->fail_err = 0;
	free(p->fail_msg);
	free(p->report_json);
	p->fail_msg = p->report_json = NULL;
	p->report_key = NULL;
}

static void reset(struct proc *p, const struct proc_opts *o)
{
	if (p->loop)	/* used before: its KILL may still be armed */
		ladder_reset(&p->ladder);
	proc_clear(p);
	p->group = o->group;
	p->contain = o->group != PROC_GROUP_NONE ? o->contain : NULL;
	p->exec = o->executor ? o->executor : &proc_local;
	p->exec_ctx = o->exec_ctx;
	p->leftover_sig = o->leftover_sig ? o->leftover_sig : SIGTERM;
	p->leftover_kill_after = o->leftover_sig ? o->leftover_kill_after : 2;
	p->loop = o->loop;
	p->t0 = o->t0;
	p->poll_ms = 0;
	p->on_exit = o->on_exit;
	p->on_look = o->on_look;
	p->on_empty = o->on_empty;
	p->on_send = o->on_send;
	p->on_running = o->on_running;
	p->no_cont = o->no_cont;
	p->ctx = o->ctx;
	ladder_init(&p->ladder, o->loop, ladder_send, p);
}

int proc_spawn(struct proc *p, const struct proc_opts *o, struct proc_error *e)
{
	int child[PROC_MAX_STDIO];
	bool owned[PROC_MAX_STDIO];
	*e = (struct proc_error){ .step = SPAWN_OK, .slot = -1 };
	reset(p, o);
	/* every pipe slot says -1 until its pipe is made, whichever way
	 * this returns (proc.h) */
	for (int k = 0; k < o->nstdio; k++) {
		struct proc_stdio *io = &o->stdio[k];
		if (io->kind == PROC_STDIO_PIPE_IN || io->kind == PROC_STDIO_PIPE_OUT)
			io->fd = -1;
	}
	if (o->nstdio < 3 || o->nstdio > PROC_MAX_STDIO) {
		e->step = SPAWN_DUP;
		e->err = EINVAL;
		return -1;
	}
	int n = o->nstdio;
	if (stdio_open(o, child, owned, e) < 0) {
		close_child_ends(e->slot, child, owned);
		close_caller_ends(o, e->slot);
		return -1;
	}
	struct spawn_opts so = o->spawn;
	memcpy(so.fd, child, sizeof so.fd);
	so.extra_fds = n > 3 ? child + 3 : NULL;
	so.nextra = n - 3;
	so.pgid = o->group == PROC_GROUP_OWN ? 0 : -1;
	int rc = p->exec->start(p, &so, o->short_in_group, e);
	p->running = rc == 0 && !p->exec->late_start;
	close_child_ends(n, child, owned);
	if (rc < 0) {
		close_caller_ends(o, n);
		return -1;
	}
	if (loop_add(p->loop, &p->w_pid, p->pidfd, EPOLLIN, on_pid, p) < 0) {
		/* it could never be supervised: end it rather than hang */
		e->step = SPAWN_OK;
		e->err = errno;
		e->unwatched = true;
		proc_kill(p);
		struct spawn_exit x;
		spawn_reap(p->pidfd, true, &x);
		close(p->pidfd);
		p->pidfd = -1;
		p->exited = true;
		close_caller_ends(o, n);
		return -1;
	}
	return 0;
}

void proc_end(struct proc *p)
{
	if (p->loop) {
		timer_stop(p->loop, &p->t_poll);
		ladder_reset(&p->ladder);
	}
	if (p->pidfd >= 0) {
		loop_del(p->loop, &p->w_pid);
		close(p->pidfd);
		p->pidfd = -1;
	}
	if (p->exec)
		p->exec->end(p);
}

void proc_free(struct proc *p)
{
	free(p->term);
	p->term = NULL;
	p->nterm = p->term_cap = 0;
	escaped_free(p->escaped, p->nescaped);
	p->escaped = NULL;
	p->nescaped = p->escaped_cap = 0;
	free(p->fail_msg);
	free(p->report_json);
	p->fail_msg = p->report_json = NULL;
}
