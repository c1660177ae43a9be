/* spawn.c - clone(CLONE_VM|CLONE_VFORK|CLONE_PIDFD) + execve; see spawn.h. */
#include "config.h"
#include "spawn.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define CHILD_STACK (256 * 1024)

static sigset_t orig_mask;
/* Signals whose disposition the runner changed, with what to restore. */
static int changed_sigs[4];
static bool changed_ign[4];
static int nchanged;
static struct rlimit orig_nofile;
static bool nofile_raised;

void spawn_init(void)
{
	sigprocmask(SIG_SETMASK, NULL, &orig_mask);
	struct sigaction sa;
	/* The runner writes to pipes whose readers may be gone: EPIPE, not
	 * death.  Children get the disposition piperun was started with. */
	sigaction(SIGPIPE, NULL, &sa);
	changed_sigs[nchanged] = SIGPIPE;
	changed_ign[nchanged++] = sa.sa_handler == SIG_IGN;
	signal(SIGPIPE, SIG_IGN);
	/* An ignored SIGCHLD makes the kernel reap children itself, and their
	 * statuses would be lost: the runner needs the default. */
	sigaction(SIGCHLD, NULL, &sa);
	if (sa.sa_handler == SIG_IGN) {
		changed_sigs[nchanged] = SIGCHLD;
		changed_ign[nchanged++] = true;
		signal(SIGCHLD, SIG_DFL);
	}
	getrlimit(RLIMIT_NOFILE, &orig_nofile);
	if (orig_nofile.rlim_cur < orig_nofile.rlim_max) {
		struct rlimit r = orig_nofile;
		r.rlim_cur = r.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &r) == 0)
			nofile_raised = true;
	}
}

size_t spawn_orig_nofile(void)
{
	return orig_nofile.rlim_cur == RLIM_INFINITY ? (size_t)-1 : orig_nofile.rlim_cur;
}

const char *spawn_step_name(enum spawn_step s)
{
	static const char *const names[] = {
		"ok", "clone", "join cgroup", "setpgid", "PR_SET_PDEATHSIG",
		"setrlimit", "nice", "dup2", "close_range", "chdir", "execve",
	};
	return names[s];
}

struct child_args {
	const struct spawn_opts *o;
	pid_t parent;
	volatile struct spawn_error *e;
};

/* Runs in the child, on its own stack, sharing the parent's memory until
 * execve.  Only async-signal-safe calls; no allocation, no stdio, no
 * errno-dependent library code beyond reading errno after a syscall.
 * Sanitizers are off here: the child runs on a stack the sanitizer
 * runtime does not know. */
__attribute__((no_sanitize("address", "undefined", "thread")))
static int child_main(void *arg)
{
	struct child_args *a = arg;
	const struct spawn_opts *o = a->o;
	volatile struct spawn_error *e = a->e;
	enum spawn_step step;

	if (o->cgroup_procs_fd >= 0) {
		/* "0" moves the writing process itself */
		step = SPAWN_CGROUP;
		if (write(o->cgroup_procs_fd, "0", 1) != 1)
			goto fail;
	}
	step = SPAWN_SETPGID;
	if (o->pgid >= 0 && setpgid(0, o->pgid) < 0)
		goto fail;
	step = SPAWN_PDEATHSIG;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		goto fail;
	/* the parent may have died before PDEATHSIG was armed */
	if (getppid() != a->parent) {
		errno = ESRCH;
		goto fail;
	}
	for (int i = 0; i < nchanged; i++) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = changed_ign[i] ? SIG_IGN : SIG_DFL;
		sigaction(changed_sigs[i], &sa, NULL);
	}
	if (o->default_tty_signals) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = SIG_DFL;
		sigaction(SIGTTIN, &sa, NULL);
		sigaction(SIGTTOU, &sa, NULL);
	}
	step = SPAWN_RLIMIT;
	if (nofile_raised && setrlimit(RLIMIT_NOFILE, &orig_nofile) < 0)
		goto fail;
	for (size_t i = 0; i < o->nrlimits; i++) {
		struct rlimit r;
		r.rlim_cur = r.rlim_max = o->rlimits[i].value;
		if (setrlimit(o->rlimits[i].resource, &r) < 0) {
			/* lowering the soft limit alone is allowed without
			 * privilege when the hard limit is below the value */
			struct rlimit cur;
			if (getrlimit(o->rlimits[i].resource, &cur) < 0)
				goto fail;
			r.rlim_max = cur.rlim_max;
			if (r.rlim_cur > r.rlim_max || setrlimit(o->rlimits[i].resource, &r) < 0)
				goto fail;
		}
	}
	step = SPAWN_NICE;
	if (o->has_nice) {
		errno = 0;
		if (nice(o->nice) == -1 && errno)
			goto fail;
	}
	if (o->has_umask)
		umask(o->umask);
	step = SPAWN_DUP;
	{
		/* Child fd i comes from src[i].  A source below nfds that is
		 * not already in place could be overwritten by an earlier
		 * dup2: move those above nfds first. */
		int nfds = 3 + o->nextra;
		int src[3 + SPAWN_MAX_EXTRA];
		for (int i = 0; i < nfds; i++)
			src[i] = i < 3 ? o->fd[i] : o->extra_fds[i - 3];
		for (int i = 0; i < nfds; i++)
			if (src[i] < nfds && src[i] != i) {
				int moved = fcntl(src[i], F_DUPFD_CLOEXEC, nfds);
				if (moved < 0)
					goto fail;
				for (int k = i + 1; k < nfds; k++)
					if (src[k] == src[i])
						src[k] = moved;
				src[i] = moved;
			}
		for (int i = 0; i < nfds; i++) {
			if (src[i] == i) {
				if (fcntl(i, F_SETFD, 0) < 0)
					goto fail;
			} else if (dup2(src[i], i) < 0) {
				goto fail;
			}
		}
		for (size_t i = 0; i < o->npass_fds; i++)
			if (fcntl(o->pass_fds[i], F_SETFD, 0) < 0)
				goto fail;
		/* Children see exactly their mapped fds and pass_fds: close
		 * everything else, including fds piperun itself inherited
		 * without CLOEXEC. */
		step = SPAWN_CLOSE;
		unsigned int lo = (unsigned int)nfds;
		for (size_t i = 0; i < o->npass_fds; i++) {
			unsigned int p = (unsigned int)o->pass_fds[i];
			if (p > lo && close_range(lo, p - 1, 0) < 0)
				goto fail;
			if (p >= lo)
				lo = p + 1;
		}
		if (close_range(lo, ~0U, 0) < 0)
			goto fail;
	}
	step = SPAWN_CHDIR;
	if (o->cwd && chdir(o->cwd) < 0)
		goto fail;
	sigprocmask(SIG_SETMASK, &orig_mask, NULL);
	step = SPAWN_EXEC;
	execve(o->path, o->argv, o->envp ? o->envp : environ);
fail:
	e->err = errno;
	e->step = step;
	_exit(127);
}

/* One stack per thread: CLONE_VFORK suspends the calling thread until the
 * child execs, so a thread never has two children on its stack at once. */
static _Thread_local char *child_stack;

int spawn_start(const struct spawn_opts *o, pid_t *pid, int *pidfd,
		struct spawn_error *err)
{
	struct spawn_error e = { SPAWN_OK, 0 };
	if (!child_stack) {
		void *s = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
		if (s == MAP_FAILED) {
			err->step = SPAWN_CLONE;
			err->err = errno;
			return -1;
		}
		child_stack = s;
	}
	struct child_args a = { .o = o, .parent = getpid(), .e = &e };
	sigset_t all, old;
	sigfillset(&all);
	/* No signal may run in the child while it shares our memory. */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int fd = -1;
	pid_t p = clone(child_main, child_stack + CHILD_STACK,
			CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &a,
			(pid_t *)&fd);
	int clone_errno = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (p < 0) {
		err->step = SPAWN_CLONE;
		err->err = clone_errno;
		return -1;
	}
	if (e.step != SPAWN_OK) {
		/* The child has _exit'ed already (vfork semantics): reap it. */
		siginfo_t si;
		while (waitid(P_PIDFD, (id_t)fd, &si, WEXITED) < 0 && errno == EINTR)
			;
		close(fd);
		*err = e;
		return -1;
	}
	*pid = p;
	*pidfd = fd;
	return 0;
}
