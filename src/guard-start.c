/* SPDX-License-Identifier: GPL-3.0-or-later */
/* guard-start.c - starting the guardian (contain.h) without fork().
 *
 * A fork of the runner costs it more than the system call: every page
 * either side writes afterwards is copied (the runner's heap, stack and
 * data as it sets up and runs its first job), and the guardian's end
 * tears down a copy of the runner's address space that contain_fini
 * waits for.  So the guardian starts as a clone(CLONE_VM) child on a
 * small stack of its own: no copy at all.  Sharing the runner's memory,
 * it may touch nothing of the runner's but its boot block (on its own
 * stack mapping, filled in before the clone) and the guard table (a
 * shared mapping of a memfd); it makes raw system calls only (no libc:
 * no errno, which is the runner's thread's, no lock, no lazy binding).
 * It ignores every signal it can, takes a session of its own and waits
 * for the runner's pipe to reach EOF, as the forked guardian did.  Then:
 *   - the runner ended cleanly (contain_fini set the table's done): it
 *     exits, which costs nothing (no address space of its own);
 *   - otherwise (the runner died, or left cgroups to clean up later) it
 *     execs `piperun __guardian` (the binary through an O_PATH fd of
 *     /proc/self/exe), which maps the table from the memfd and does the
 *     guardian's whole work with libc (contain_guardian_main); if that
 *     exec fails it still KILLs the run's cgroup and every group of the
 *     table before going.
 * Where this cannot work (another architecture, valgrind, which ends a
 * program that makes such a clone, or a ThreadSanitizer build) guard_clone
 * fails and the caller forks as before. */
#include "config.h"
#include "guard-start.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if (defined(__x86_64__) || defined(__aarch64__)) && !defined(__SANITIZE_THREAD__)
#define GUARD_RAW 1
#include <sched.h>
#include <stdlib.h>
#endif

#define GUARD_STACK (64 * 1024)

struct guard_boot {
	struct guard_clone_args a;
	char *argv[3];
	char *envp[2];
	char a0[8], a1[16], name[16], one[2];
	char env[GUARD_ENV_MAX];
};

static void *stack_map;

#ifdef GUARD_RAW
#define NOSAN __attribute__((no_sanitize("address", "undefined", "thread"), noinline))

/* A system call without libc: the result, or -errno. */
NOSAN static long raw6(long n, long a, long b, long c, long d, long e)
{
	long r;
#if defined(__x86_64__)
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
#else
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory");
	r = x0;
#endif
	return r;
}

#define RAW(n, a, b, c) raw6((n), (long)(a), (long)(b), (long)(c), 0, 0)

/* the kernel's struct sigaction (x86_64 and arm64) */
struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	unsigned long mask;
};

/* Keep only the fds in keep[0..n) (sorted, -1 first), stdio on
 * /dev/null: where they are, since moving one could need an fd the
 * limit does not allow. */
NOSAN static void raw_fds(int *keep, int n)
{
	for (int i = 1; i < n; i++)      /* insertion sort, no libc */
		for (int k = i; k > 0 && keep[k - 1] > keep[k]; k--) {
			int t = keep[k];
			keep[k] = keep[k - 1];
			keep[k - 1] = t;
		}
	RAW(SYS_close_range, 0, 2, 0);
	static const char dn[] = "/dev/null";
	if (RAW(SYS_openat, AT_FDCWD, dn, O_RDWR) == 0) {
		RAW(SYS_dup3, 0, 1, 0);
		RAW(SYS_dup3, 0, 2, 0);
	}
	unsigned lo = 3;
	for (int i = 0; i < n; i++) {
		if (keep[i] < 3)
			continue;
		if ((unsigned)keep[i] > lo)
			RAW(SYS_close_range, lo, (unsigned)keep[i] - 1, 0);
		lo = (unsigned)keep[i] + 1;
	}
	RAW(SYS_close_range, lo, ~0U, 0);
}

/* The guardian's first life (see the top of the file). */
NOSAN static int guard_child(void *arg)
{
	struct guard_boot *b = arg;
	struct guard_clone_args *a = &b->a;
	int keep[4] = { a->rfd, a->killfd, a->memfd, a->exefd };
	raw_fds(keep, 4);
	RAW(SYS_setsid, 0, 0, 0);
	struct ksigaction sa;
	sa.handler = SIG_IGN;
	sa.flags = 0;
	sa.restorer = NULL;
	sa.mask = 0;
	for (int sig = 1; sig <= 64; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD)
			raw6(SYS_rt_sigaction, sig, (long)&sa, 0, 8, 0);
	unsigned long none = 0;
	raw6(SYS_rt_sigprocmask, SIG_SETMASK, (long)&none, 0, 8, 0);
	RAW(SYS_prctl, PR_SET_NAME, b->name, 0);
	char c[64];
	for (;;) {
		long r = RAW(SYS_read, a->rfd, c, sizeof c);
		if (r == 0 || (r < 0 && r != -EINTR))
			break;
	}
	if (__atomic_load_n(a->done, __ATOMIC_ACQUIRE))
		RAW(SYS_exit, 0, 0, 0);
	/* the exec'd guardian needs the table and cgroup.kill */
	RAW(SYS_fcntl, a->memfd, F_SETFD, 0);
	if (a->killfd >= 0)
		RAW(SYS_fcntl, a->killfd, F_SETFD, 0);
	static const char empty[] = "";
	raw6(SYS_execveat, a->exefd, (long)empty, (long)b->argv, (long)b->envp, AT_EMPTY_PATH);
	/* no exec: the least that must happen still does */
	if (a->killfd >= 0)
		RAW(SYS_write, a->killfd, b->one, 1);
	size_t hwm = *a->hwm;
	for (size_t i = 0; i < hwm && i < a->nslots; i++)
		if (a->pg[i] > 0)
			RAW(SYS_kill, -a->pg[i], SIGKILL, 0);
	RAW(SYS_exit, 0, 0, 0);
	return 0;
}

/* Under valgrind (its preload library is there) a clone that is
 * neither a thread nor a fork ends the program. */
static bool under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");
	return p && strstr(p, "vgpreload");
}

pid_t guard_clone(const struct guard_clone_args *a, const char *run_path)
{
	char env[GUARD_ENV_MAX];
	int n = snprintf(env, sizeof env, "PIPERUN_GUARDIAN=%d:%d:%s", a->killfd, a->memfd,
			 run_path ? run_path : "");
	if (under_valgrind() || n < 0 || (size_t)n >= sizeof env) {
		errno = ENOSYS;
		return -1;
	}
	void *m = mmap(NULL, GUARD_STACK, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (m == MAP_FAILED)
		return -1;
	/* the boot block at the bottom, the stack growing down to it */
	struct guard_boot *b = m;
	b->a = *a;
	strcpy(b->a0, "piperun");
	strcpy(b->a1, "__guardian");
	strcpy(b->name, "piperun-guard");
	strcpy(b->one, "1");
	strcpy(b->env, env);
	b->argv[0] = b->a0;
	b->argv[1] = b->a1;
	b->argv[2] = NULL;
	b->envp[0] = b->env;
	b->envp[1] = NULL;
	pid_t pid = clone(guard_child, (char *)m + GUARD_STACK, CLONE_VM | SIGCHLD, b);
	if (pid < 0) {
		int e = errno;
		munmap(m, GUARD_STACK);
		errno = e;
		return -1;
	}
	stack_map = m;
	return pid;
}
#else
pid_t guard_clone(const struct guard_clone_args *a, const char *run_path)
{
	(void)a;
	(void)run_path;
	errno = ENOSYS;
	return -1;
}
#endif

void *guard_shared_map(size_t len, int *memfd)
{
	*memfd = memfd_create("piperun-guard", MFD_CLOEXEC);
	if (*memfd >= 0 && ftruncate(*memfd, (off_t)len) == 0) {
		void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
			       *memfd, 0);
		if (m != MAP_FAILED)
			return m;
	}
	if (*memfd >= 0)
		close(*memfd);
	*memfd = -1;
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return m == MAP_FAILED ? NULL : m;
}

void guard_clone_done(bool gone)
{
	/* a guardian still running may be on that stack */
	if (gone && stack_map)
		munmap(stack_map, GUARD_STACK);
	stack_map = NULL;
}
