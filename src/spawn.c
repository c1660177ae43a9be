/* SPDX-License-Identifier: GPL-3.0-or-later */
/* spawn.c - clone3/clone(CLONE_VM|CLONE_VFORK|CLONE_PIDFD) + execve; see
 * spawn.h. */
#include "config.h"
#include "spawn.h"
#include "signals.h"
#include "util.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
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
static int self_fd = -1;     /* O_PATH of /proc/self/exe, see self_exe_fd */
static bool unshare_ok;      /* close_range has CLOSE_RANGE_UNSHARE (5.9) */

void spawn_init(void)
{
	signals_init();
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
	/* (a table not shared is left as it is: nothing happens) */
	unshare_ok = syscall(SYS_close_range, ~0U, ~0U, CLOSE_RANGE_UNSHARE) == 0;
	if (self_fd < 0) {
		/* high, out of the way of any child's fd map */
		int fd = pathfd_openat(AT_FDCWD, "/proc/self/exe", 0);
		self_fd = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 3 + SPAWN_MAX_EXTRA);
		if (self_fd < 0)
			self_fd = fd;
		else
			close(fd); /* (counted once: the copy takes its place) */
	}
}

const sigset_t *spawn_orig_mask(void)
{
	return &orig_mask;
}

size_t spawn_orig_nofile(void)
{
	return orig_nofile.rlim_cur == RLIM_INFINITY ? (size_t)-1 : orig_nofile.rlim_cur;
}

void spawn_child_default(int sig, bool unblock)
{
	if (unblock)
		sigdelset(&orig_mask, sig);
	for (int i = 0; i < nchanged; i++)
		if (changed_sigs[i] == sig) {
			changed_ign[i] = false;
			return;
		}
	signal(sig, SIG_DFL);
}

const char *spawn_step_name(enum spawn_step s)
{
	static const char *const names[] = {
		"ok", "clone", "join cgroup", "setpgid", "PR_SET_PDEATHSIG",
		"setrlimit", "nice", "dup2", "close_range", "chdir", "execve",
	};
	return names[s];
}

/* "/proc/self/exe" is exec'd through an O_PATH descriptor of it, opened
 * once: the same file whatever became of its name, and unlike
 * /proc/self/exe still this program when the runner itself runs under a
 * loader such as valgrind (where /proc/self/exe in a fresh child is the
 * loader).  The child keeps the descriptor (CLOEXEC) out of its fd map
 * and execs /proc/self/fd/N; children still see only their fds. */

/* opened by spawn_init(); without it, /proc/self/exe is exec'd as is */
static int self_exe_fd(const char *path)
{
	if (!path || strcmp(path, "/proc/self/exe"))
		return -1;
	return self_fd;
}

/* "/proc/self/fd/N" into buf (async-signal-safe; run in the child, so
 * uninstrumented like child_main). */
__attribute__((no_sanitize("address", "undefined", "thread")))
static const char *fd_path(char buf[32], int fd)
{
	static const char pre[] = "/proc/self/fd/";
	char digits[12];
	int n = 0;
	do
		digits[n++] = (char)('0' + fd % 10);
	while ((fd /= 10) && n < (int)sizeof digits);
	size_t k = sizeof pre - 1;
	for (size_t i = 0; i < k; i++)
		buf[i] = pre[i];
	while (n)
		buf[k++] = digits[--n];
	buf[k] = 0;
	return buf;
}

/* close_range(lo, hi) but for keep (in the child: uninstrumented) */
__attribute__((no_sanitize("address", "undefined", "thread")))
static long close_but(unsigned int lo, unsigned int hi, int keep)
{
	long r = 0;
	if (keep < 0 || (unsigned int)keep < lo || (unsigned int)keep > hi)
		return syscall(SYS_close_range, lo, hi, 0);
	if ((unsigned int)keep > lo)
		r = syscall(SYS_close_range, lo, (unsigned int)keep - 1, 0);
	if (r >= 0 && (unsigned int)keep < hi)
		r = syscall(SYS_close_range, (unsigned int)keep + 1, hi, 0);
	return r;
}

/* In the child: the fd limit piperun was started with, and the job's
 * limits.  -1 with errno on failure. */
__attribute__((no_sanitize("address", "undefined", "thread")))
static long child_rlimits(const struct spawn_opts *o)
{
	if (nofile_raised && syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &orig_nofile, NULL) < 0)
		return -1;
	for (size_t i = 0; i < o->nrlimits; i++) {
		struct rlimit rl, cur;
		rl.rlim_cur = rl.rlim_max = o->rlimits[i].value;
		if (syscall(SYS_prlimit64, 0, o->rlimits[i].resource, &rl, NULL) == 0)
			continue;
		/* lowering the soft limit alone is allowed without privilege
		 * when the hard limit is below the value */
		if (syscall(SYS_prlimit64, 0, o->rlimits[i].resource, NULL, &cur) < 0)
			return -1;
		rl.rlim_max = cur.rlim_max;
		if (rl.rlim_cur > rl.rlim_max ||
		    syscall(SYS_prlimit64, 0, o->rlimits[i].resource, &rl, NULL) < 0)
			return -1;
	}
	return 0;
}

/* In the child: its fd map (fd i from o's sources, pass_fds kept open),
 * everything else closed.  -1 with errno and *step set on failure. */
__attribute__((no_sanitize("address", "undefined", "thread")))
static long child_fds(const struct spawn_opts *o, int self, enum spawn_step *step)
{
	/* Child fd i comes from src[i].  A source below nfds that is not
	 * already in place could be overwritten by an earlier dup2: move
	 * those above nfds first. */
	int nfds = 3 + o->nextra;
	int src[3 + SPAWN_MAX_EXTRA];
	*step = SPAWN_DUP;
	for (int i = 0; i < nfds; i++)
		src[i] = i < 3 ? o->fd[i] : o->extra_fds[i - 3];
	for (int i = 0; i < nfds; i++)
		if (src[i] >= 0 && src[i] < nfds && src[i] != i) {
			long moved = syscall(SYS_fcntl, src[i], F_DUPFD_CLOEXEC, nfds);
			if (moved < 0)
				return -1;
			for (int k = i + 1; k < nfds; k++)
				if (src[k] == src[i])
					src[k] = (int)moved;
			src[i] = (int)moved;
		}
	for (int i = 0; i < nfds; i++) {
		if (src[i] < 0)
			syscall(SYS_close, i);   /* closed, as it was given */
		else if ((src[i] == i ? syscall(SYS_fcntl, i, F_SETFD, 0)
				      : syscall(SYS_dup3, src[i], i, 0)) < 0)
			return -1;
	}
	for (size_t i = 0; i < o->npass_fds; i++)
		if (syscall(SYS_fcntl, o->pass_fds[i], F_SETFD, 0) < 0)
			return -1;
	/* Children see exactly their mapped fds and pass_fds: close
	 * everything else, including fds piperun itself inherited without
	 * CLOEXEC. */
	*step = SPAWN_CLOSE;
	unsigned int lo = (unsigned int)nfds;
	for (size_t i = 0; i < o->npass_fds; i++) {
		unsigned int p = (unsigned int)o->pass_fds[i];
		if (p > lo && close_but(lo, p - 1, self) < 0)
			return -1;
		if (p >= lo)
			lo = p + 1;
	}
	return close_but(lo, ~0U, self) < 0 ? -1 : 0;
}

struct child_args {
	const struct spawn_opts *o;
	int self;                    /* exec this fd (see self_exe_fd), or -1 */
	int procs_fd;                /* cgroup.procs to join, or -1 (none, or
					CLONE_INTO_CGROUP put us there) */
	pid_t parent;
	unsigned int keep_below;     /* with CLONE_FILES: the child's fd table
					is made its own, of fds below this */
	volatile struct spawn_error *e;
	volatile int reached;        /* the child got as far as execve */
};

/* The kernel's struct sigaction, for rt_sigaction without libc (only
 * SIG_DFL/SIG_IGN are installed here, so no restorer is needed). */
struct ksigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

static long sys_set_disposition(int sig, bool ign)
{
	struct ksigaction ka = { .handler = ign ? SIG_IGN : SIG_DFL };
	return syscall(SYS_rt_sigaction, sig, &ka, NULL, sizeof ka.mask);
}

/* Runs in the child, on its own stack, sharing the parent's memory until
 * execve.  Only raw system calls: no allocation, no stdio, and nothing a
 * sanitizer intercepts (an interceptor run here would update the
 * parent's sanitizer state through the shared memory).  errno is the
 * parent's thread's (shared TLS), which is suspended meanwhile. */
__attribute__((no_sanitize("address", "undefined", "thread")))
static int child_main(void *arg)
{
	struct child_args *a = arg;
	const struct spawn_opts *o = a->o;
	int self = a->self;
	volatile struct spawn_error *e = a->e;
	enum spawn_step step;
	long r = 0;

#define SYS(...) do { r = syscall(__VA_ARGS__); if (r < 0) goto fail; } while (0)
	if (a->keep_below) {
		/* cloned with CLONE_FILES (clone_into): an fd table of its own
		 * before anything else, copied only below keep_below (every
		 * fd the child needs) rather than whole: the runner may hold
		 * thousands (a pidfd and a cgroup per running job) */
		step = SPAWN_CLOSE;
		SYS(SYS_close_range, a->keep_below, ~0U, CLOSE_RANGE_UNSHARE);
	}
	if (a->procs_fd >= 0) {
		/* "0" moves the writing process itself */
		step = SPAWN_CGROUP;
		r = syscall(SYS_write, a->procs_fd, "0", 1);
		if (r != 1) {
			if (r >= 0)
				errno = EIO;
			goto fail;
		}
	}
	step = SPAWN_SETPGID;
	if (o->pgid >= 0)
		SYS(SYS_setpgid, 0, o->pgid);
	step = SPAWN_PDEATHSIG;
	if (o->pdeath_sig != SPAWN_PDEATH_NONE)
		SYS(SYS_prctl, PR_SET_PDEATHSIG, o->pdeath_sig ? o->pdeath_sig : SIGKILL, 0, 0, 0);
	/* the parent may have died before PDEATHSIG was armed */
	if (syscall(SYS_getppid) != a->parent) {
		errno = ESRCH;
		goto fail;
	}
	for (int i = 0; i < nchanged; i++)
		sys_set_disposition(changed_sigs[i], changed_ign[i]);
	if (o->default_tty_signals) {
		sys_set_disposition(SIGTTIN, false);
		sys_set_disposition(SIGTTOU, false);
	}
	if (self >= 0 && self < 3 + (int)o->nextra) {
		/* the fd map would overwrite it: move it up (before a
		 * lowered RLIMIT_NOFILE could forbid that) */
		step = SPAWN_DUP;
		long moved = syscall(SYS_fcntl, self, F_DUPFD_CLOEXEC, 3 + (int)o->nextra);
		if (moved < 0)
			goto fail;
		self = (int)moved;
	}
	step = SPAWN_RLIMIT;
	if (child_rlimits(o) < 0)
		goto fail;
	step = SPAWN_NICE;
	if (o->has_nice) {
		long cur = syscall(SYS_getpriority, PRIO_PROCESS, 0);
		/* the raw call returns 20 - nice */
		int want = (int)(20 - cur) + o->nice;
		if (want > 19)
			want = 19;
		if (want < -20)
			want = -20;
		SYS(SYS_setpriority, PRIO_PROCESS, 0, want);
	}
	if (o->has_umask)
		syscall(SYS_umask, o->umask);
	step = SPAWN_DUP;
	if (child_fds(o, self, &step) < 0)
		goto fail;
	step = SPAWN_CHDIR;
	if (o->cwd)
		SYS(SYS_chdir, o->cwd);
	if (!o->block_signals)
		syscall(SYS_rt_sigprocmask, SIG_SETMASK, &orig_mask, NULL, 8);
	step = SPAWN_EXEC;
	a->reached = 1;
	char selfpath[32];
	syscall(SYS_execve, self >= 0 ? fd_path(selfpath, self) : o->path, o->argv,
		o->envp ? o->envp : environ);
	if (errno == ENOEXEC && o->enoexec_argv)
		syscall(SYS_execve, "/bin/sh", o->enoexec_argv, o->envp ? o->envp : environ);
#undef SYS
fail:
	e->err = errno;
	e->step = step;
	syscall(SYS_exit_group, 127);
	return 127;
}

/* ThreadSanitizer intercepts clone() and runs its fork bookkeeping in the
 * child; with CLONE_VM that child shares (and so resets) the parent's
 * sanitizer state.  Under TSan, call libc's own clone. */
typedef int (*clone_fn)(int (*)(void *), void *, int, void *, ...);
static clone_fn libc_clone(void)
{
#ifdef __SANITIZE_THREAD__
	static clone_fn fn;
	clone_fn f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
		f = h ? (clone_fn)dlsym(h, "clone") : NULL;
		if (!f)
			f = clone;
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	return f;
#else
	return clone;
#endif
}

/* One stack per thread: CLONE_VFORK suspends the calling thread until the
 * child execs, so a thread never has two children on its stack at once. */
static _Thread_local char *child_stack;

#if defined(__x86_64__) && defined(SYS_clone3)
/* The kernel's struct clone_args (linux/sched.h, v2: with cgroup). */
struct clone3_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal;
	uint64_t stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
#define CLONE3_INTO_CGROUP 0x200000000ULL

/* clone3 starting fn(arg) on the args' stack, as glibc's clone3.S does:
 * the child comes back from the system call on its new stack with every
 * register but rax, rcx and r11 as the parent's, so fn and arg travel in
 * r12/r13; it calls fn and exits with its value (fn execs or exits
 * itself).  The libc wrapper is internal to glibc, and a raw syscall()
 * cannot be used: the child would return into the parent's frames on a
 * stack of its own.  Returns the child's pid or -errno. */
__attribute__((no_sanitize("address", "undefined", "thread")))
static long clone3_start(struct clone3_args *ca, int (*fn)(void *), void *arg)
{
	long ret;
	register int (*r12)(void *) __asm__("r12") = fn;
	register void *r13 __asm__("r13") = arg;
	__asm__ volatile(
		"syscall\n\t"
		"test %%rax, %%rax\n\t"
		"jnz 1f\n\t"
		"xor %%ebp, %%ebp\n\t"
		"mov %%r13, %%rdi\n\t"
		"call *%%r12\n\t"
		"mov %%eax, %%edi\n\t"
		"mov $231, %%eax\n\t"          /* exit_group */
		"syscall\n\t"
		"hlt\n"
		"1:"
		: "=a"(ret)
		: "0"((long)SYS_clone3), "D"(ca), "S"(sizeof *ca), "r"(r12), "r"(r13)
		: "rcx", "r11", "memory", "cc");
	return ret;
}

/* 1 usable, 0 not yet known, -1 not in this kernel (before 5.7). */
static int clone3_ok;

/* The child starts in the cgroup behind cgfd: no migration, no
 * cgroup.procs.  Returns the pid, or -1 with errno; ENOSYS when the
 * kernel cannot (the caller falls back to clone + cgroup.procs). */
static pid_t clone_into(int cgfd, struct child_args *a, int *pidfd)
{
	if (__atomic_load_n(&clone3_ok, __ATOMIC_RELAXED) < 0) {
		errno = ENOSYS;
		return -1;
	}
	struct clone3_args ca = {
		.flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE3_INTO_CGROUP |
			 (a->keep_below ? CLONE_FILES : 0),
		.pidfd = (uint64_t)(uintptr_t)pidfd,
		.exit_signal = SIGCHLD,
		.stack = (uint64_t)(uintptr_t)child_stack,
		.stack_size = CHILD_STACK,
		.cgroup = (uint64_t)cgfd,
	};
	long r = clone3_start(&ca, child_main, a);
	if (r >= 0 && !a->reached && a->e->step == SPAWN_OK) {
		/* killed before it ran a single instruction: kernels that
		 * take the kill_seq of the parent's cgroup and compare it
		 * with the target's (Linux 6.14 to at least 6.18) SIGKILL
		 * every child cloned into a cgroup when either of them was
		 * ever cgroup.kill'ed.  From now on: clone + cgroup.procs */
		siginfo_t si;
		while (waitid(P_PIDFD, (id_t)*pidfd, &si, WEXITED) < 0 && errno == EINTR)
			;
		close(*pidfd);
		*pidfd = -1;
		r = -ENOSYS;
	}
	if (r >= 0) {
		__atomic_store_n(&clone3_ok, 1, __ATOMIC_RELAXED);
		return (pid_t)r;
	}
	/* ENOSYS: no clone3 (< 5.3), or killed at birth (above); E2BIG:
	 * args without cgroup (< 5.7); EINVAL before the first success:
	 * the flag unknown */
	if (r == -ENOSYS || r == -E2BIG ||
	    (r == -EINVAL && !__atomic_load_n(&clone3_ok, __ATOMIC_RELAXED))) {
		__atomic_store_n(&clone3_ok, -1, __ATOMIC_RELAXED);
		r = -ENOSYS;
	}
	errno = (int)-r;
	return -1;
}
bool spawn_into_cgroup_ok(void)
{
	return __atomic_load_n(&clone3_ok, __ATOMIC_RELAXED) >= 0;
}
#else
bool spawn_into_cgroup_ok(void)
{
	return false;
}

static pid_t clone_into(int cgfd, struct child_args *a, int *pidfd)
{
	(void)cgfd, (void)a, (void)pidfd;
	errno = ENOSYS;
	return -1;
}
#endif

bool spawn_err_short(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOMEM || err == EAGAIN;
}

struct spawn_error spawn_cgroup_error(int err)
{
	return (struct spawn_error){ spawn_err_short(err) ? SPAWN_CLONE : SPAWN_CGROUP, err };
}

/* One above the highest fd the child needs (at least 3). */
static unsigned int fds_needed_below(const struct spawn_opts *o, int self)
{
	int hi = 2;
	for (int i = 0; i < 3; i++)
		hi = o->fd[i] > hi ? o->fd[i] : hi;
	for (int i = 0; i < o->nextra; i++)
		hi = o->extra_fds[i] > hi ? o->extra_fds[i] : hi;
	for (size_t i = 0; i < o->npass_fds; i++)
		hi = o->pass_fds[i] > hi ? o->pass_fds[i] : hi;
	hi = self > hi ? self : hi;
	return (unsigned int)hi + 1;
}

/* Clone the child: straight into o->cgroup_fd where the kernel can,
 * else with clone and the child's own write to cgroup.procs. */
static pid_t clone_child(const struct spawn_opts *o, struct child_args *a, int *fd,
			 struct spawn_error *err)
{
	pid_t p = -1;
	if (o->cgroup_fd >= 0) {
		a->keep_below = unshare_ok ? fds_needed_below(o, a->self) : 0;
		p = clone_into(o->cgroup_fd, a, fd);
		a->keep_below = 0;   /* (the fallback below copies the table) */
		if (p >= 0 || errno != ENOSYS) {
			if (p < 0) {
				/* the cgroup cannot take it (EBUSY, EOPNOTSUPP,
				 * EACCES, ENODEV: removed), or we are short */
				*err = spawn_cgroup_error(errno);
			}
			return p;
		}
		a->procs_fd = openat(o->cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
		if (a->procs_fd < 0) {
			*err = spawn_cgroup_error(errno);
			return -1;
		}
	}
	p = libc_clone()(child_main, child_stack + CHILD_STACK,
			 CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, a, (pid_t *)fd);
	int e = errno;
	if (a->procs_fd >= 0)
		close(a->procs_fd);
	if (p < 0) {
		err->step = SPAWN_CLONE;
		err->err = e;
	}
	return p;
}

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
	struct child_args a = { .o = o, .parent = getpid(), .e = &e,
				.self = self_exe_fd(o->path), .procs_fd = -1 };
	sigset_t all, old;
	sigfillset(&all);
	/* No signal may run in the child while it shares our memory. */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int fd = -1;
	pid_t p = clone_child(o, &a, &fd, err);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (p < 0)
		return -1;
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

int spawn_reap(int pidfd, bool block, struct spawn_exit *x)
{
	siginfo_t si;
	long r;
	memset(x, 0, sizeof *x);
	do {
		memset(&si, 0, sizeof si);
		r = syscall(SYS_waitid, P_PIDFD, pidfd, &si, WEXITED | (block ? 0 : WNOHANG), &x->ru);
	} while (r < 0 && errno == EINTR && block);
	if (r < 0)
		return -1;
	if (si.si_pid == 0)
		return 0; /* WNOHANG: still running */
	if (si.si_code == CLD_EXITED) {
		x->exit_code = si.si_status;
	} else {
		x->exit_code = -1;
		x->signal = si.si_status;
		x->core_dumped = si.si_code == CLD_DUMPED;
	}
	return 1;
}
