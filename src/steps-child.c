/* SPDX-License-Identifier: GPL-3.0-or-later */
/* steps-child.c - the child of a run or coprocess step: a struct proc
 * (proc.h) per worker, which spawns, watches, signals (signal, SIGCONT,
 * KILL after kill_after) and reaps it; here what is the step's own: its
 * stdio and pty, its pipes read and written, its clocks, the item's
 * text for how it ended. */
#include "config.h"
#include "steps-int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
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

/* A closing coprocess that lingers: KILL it (t_kill). */
void on_kill_timer(struct timer *t)
{
	struct worker *w = t->data;
	if (child_alive(w))
		proc_kill(&w->child);
}

bool child_alive(const struct worker *w)
{
	return w->child.pid > 0 && !w->child.exited;
}

/* Signal the child (then SIGCONT); KILL after kill_after if it is still
 * there.  SIGKILL: at once; 0: SIGTERM. */
void worker_kill(struct worker *w, int sig)
{
	if (!child_alive(w))
		return;
	if (!sig)
		sig = SIGTERM;
	if (sig == SIGKILL)
		proc_kill(&w->child);
	else
		proc_terminate(&w->child, sig, w->e->s->kill_after);
}

/* The child is reaped (proc's on_exit): its clocks stop. */
void child_ended(struct worker *w)
{
	proc_end(&w->child);
	timer_stop(w->loop, &w->t_kill);
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
			/* an item of MAX_ITEM_BYTES and its newline fit */
			if (w->overflow || w->rbuf.len + (size_t)r > MAX_ITEM_BYTES + 1) {
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

/* Start the step's program with io as its fds 0, 1 and 2. */
int child_spawn(struct worker *w, char *const *argv, struct proc_stdio *io,
		void (*on_exit)(struct proc *p), char **why)
{
	const struct step_spec *sp = w->st->sp;
	struct proc_opts o = {
		.spawn = { .path = sp->exe, .argv = argv },
		.stdio = io,
		.nstdio = 3,
		.group = PROC_GROUP_NONE,  /* the host's group: job signals reach it */
		.loop = w->loop,
		.t0 = w->e->t0,
		.on_exit = on_exit,
		.ctx = w,
	};
	struct proc_error pe;
	if (proc_spawn(&w->child, &o, &pe) < 0) {
		const char *step = pe.slot >= 0 ? "pipe" : pe.unwatched ? "watch" : spawn_step_name(pe.step);
		*why = xasprintf("cannot start %s: %s: %s", argv[0], step, strerror(pe.err));
		return -1;
	}
	w->timed_out = w->killed_for_stop = w->overflow = false;
	w->rbuf.len = 0;
	return 0;
}

char *status_text(const struct stage_result *s)
{
	if (s->signal)
		return xasprintf("killed by %s", sig_name(s->signal));
	return xasprintf("exit status %d", s->exit_code);
}

/* ------------------------------------------------------ fds and workers */

/* The fds a run or coprocess worker holds at most: its loop (thread
 * mode), its child's pidfd and pipe ends, and the other ends while the
 * child is spawned. */
#define FDS_PER_WORKER_THREAD 7
#define FDS_PER_WORKER_ASYNC 6
#define FDS_RESERVED 16    /* the host's own, and a margin */

static long fds_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return FDS_RESERVED;
	long n = -1; /* its own */
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

void steps_fd_caps(struct engine *e)
{
	long total = 0;
	for (size_t k = 0; k < e->n; k++) {
		e->st[k].nw = e->s->steps[k].workers;
		if (e->s->steps[k].kind != STEP_TASK)
			total += e->st[k].nw;
	}
	struct rlimit rl;
	if (!total || getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return;
	long per = e->threaded ? FDS_PER_WORKER_THREAD : FDS_PER_WORKER_ASYNC;
	long room = ((long)rl.rlim_cur - fds_open() - FDS_RESERVED) / per;
	if (total <= room)
		return;
	/* each step its share, at least one worker: fewer workers that all
	 * work beat many that fail their items with EMFILE */
	for (size_t k = 0; k < e->n; k++) {
		struct step *st = &e->st[k];
		const struct step_spec *sp = &e->s->steps[k];
		if (sp->kind == STEP_TASK)
			continue;
		long nw = room > 0 ? st->nw * room / total : 1;
		nw = nw < 1 ? 1 : nw;
		if (nw >= st->nw)
			continue;
		st->fd_msg = xasprintf("%d workers asked for, %ld run: the fd limit (%llu) does not "
				       "allow more (about %ld fds each)", st->nw, nw,
				       (unsigned long long)rl.rlim_cur, per);
		host_say(e, "step %s: %s", sp->name, st->fd_msg);
		st->nw = (int)nw;
	}
}
