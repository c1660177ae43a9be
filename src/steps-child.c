/* SPDX-License-Identifier: GPL-3.0-or-later */
/* steps-child.c - the child of a run or coprocess step: spawned, signalled
 * (signal, SIGCONT, KILL after kill_after), reaped, its exit told; its
 * pipes read and written.  One small file behind steps-int.h: the
 * supervised process (proc) replaces it. */
#include "config.h"
#include "steps-int.h"
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

void close_watched(struct worker *w, int *fd, struct watch *wt)
{
	if (*fd < 0)
		return;
	if (wt->active)
		loop_del(w->loop, wt);
	close(*fd);
	*fd = -1;
}

void child_close_fds(struct worker *w)
{
	if (w->fd_w == w->fd_r)
		w->fd_w = -1;
	close_watched(w, &w->fd_w, &w->w_w);
	close_watched(w, &w->fd_r, &w->w_r);
}

void on_kill_timer(struct timer *t)
{
	struct worker *w = t->data;
	if (w->pid > 0)
		kill_pid(w->pid, SIGKILL);
}

/* The ladder's send(): the child itself (it shares the host's group). */
static bool child_signal(void *ctx, int sig, bool follow_up)
{
	struct worker *w = ctx;
	return w->pid > 0 && kill_pid(w->pid, sig) == 0;
}

/* Signal the child (then SIGCONT); KILL after kill_after if it is still
 * there.  SIGKILL: at once. */
void worker_kill(struct worker *w, int sig)
{
	if (w->pid <= 0)
		return;
	if (sig == SIGKILL)
		ladder_kill(&w->ladder);
	else
		ladder_signal(&w->ladder, sig, w->e->s->kill_after);
}

/* Reap the child (its pidfd is readable). */
void child_reap(struct worker *w)
{
	struct spawn_exit x;
	w->rc = -1;
	w->sig = 0;
	if (spawn_reap(w->pidfd, true, &x) > 0) {
		w->rc = x.exit_code;
		w->sig = x.signal;
	}
	loop_del(w->loop, &w->w_pid);
	close(w->pidfd);
	w->pidfd = -1;
	w->pid = 0;
	timer_stop(w->loop, &w->t_kill);
	ladder_reset(&w->ladder);
	timer_stop(w->loop, &w->t_deadline);
	timer_stop(w->loop, &w->t_stall);
}

/* Read what is there (the child has exited: no waiting for the write
 * ends its own children may still hold). */
bool read_some(struct worker *w, bool all)
{
	for (;;) {
		char tmp[65536];
		ssize_t r = read(w->fd_r, tmp, sizeof tmp);
		if (r > 0) {
			if (w->overflow || w->rbuf.len + (size_t)r > MAX_ITEM_BYTES) {
				/* the answer is dropped whole: its head item fails
				 * when the child is gone, nothing of it is emitted */
				w->overflow = true;
				w->rbuf.len = 0;
			} else {
				buf_add(&w->rbuf, tmp, (size_t)r);
			}
			if (!all)
				return true;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return true;
		return false; /* EOF, or EIO from a pty whose other side is gone */
	}
}

void write_some(struct worker *w)
{
	while (w->woff < w->wbuf.len) {
		ssize_t r = write(w->fd_w, w->wbuf.p + w->woff, w->wbuf.len - w->woff);
		if (r > 0) {
			w->woff += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		/* EPIPE: it does not read; its exit will tell */
		w->woff = w->wbuf.len;
	}
	w->wbuf.len = w->woff = 0;
}

int pipe_cloexec(int p[2])
{
	return pipe2(p, O_CLOEXEC);
}

void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* A pseudo-terminal in raw mode (no echo, no CR/LF games), both ends
 * CLOEXEC: openpty(3) cannot promise that while other threads spawn. */
int open_pty(int *master, int *slave)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return -1;
	char name[128];
	if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof name) != 0)
		goto fail;
	int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		goto fail;
	struct termios t;
	if (tcgetattr(s, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(s, TCSANOW, &t);
	}
	*master = m;
	*slave = s;
	return 0;
fail:;
	int saved = errno;
	close(m);
	errno = saved;
	return -1;
}

/* Start the step's program; fds are the child's 0 and 1. */
int child_spawn(struct worker *w, char *const *argv, int in, int out, char **why)
{
	const struct step_spec *sp = w->st->sp;
	struct spawn_opts o = {
		.path = sp->exe,
		.argv = argv,
		.fd = { in, out, 2 },
		.pgid = -1,              /* the host's group: job signals reach it */
		.cgroup_procs_fd = -1,
	};
	struct spawn_error se;
	if (spawn_start(&o, &w->pid, &w->pidfd, &se) < 0) {
		w->pid = 0;
		*why = xasprintf("cannot start %s: %s: %s", argv[0], spawn_step_name(se.step),
				 strerror(se.err));
		return -1;
	}
	w->timed_out = w->killed_for_stop = w->overflow = false;
	w->rbuf.len = 0;
	ladder_init(&w->ladder, w->loop, child_signal, w);
	return 0;
}


char *status_text(int rc, int sig)
{
	if (sig)
		return xasprintf("killed by %s", sig_name(sig));
	return xasprintf("exit status %d", rc);
}
