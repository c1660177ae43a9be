/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cgspawn.c - the floor of spawning with a cgroup per job: the bare
 * loop of shared/anchors' spawnbench -P N (vfork-style clone and exec of
 * every job at once, then wait for all), with each job, as piperun's
 * cgroup mode does, started straight into a cgroup of its own (mkdir,
 * clone3 CLONE_INTO_CGROUP) and the cgroups removed at the end.  With
 * -n 0 cgroups: the same loop without them.  No piperun code: it shows
 * what the kernel charges for the cgroups alone (bench/scale.py).
 *
 *   cgspawn N CGROUPS(0|1) PROG ARG...      (x86_64; needs root and a
 *                                            writable cgroup v2)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/magic.h>

struct clone3_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal;
	uint64_t stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
#define INTO_CGROUP 0x200000000ULL

static char stack[64 * 1024] __attribute__((aligned(16)));
static char **argv_g;

static int child(void *arg)
{
	(void)arg;
	execv(argv_g[0], argv_g);
	_exit(127);
}

/* clone3 that runs fn on its own stack in the child (as spawn.c does) */
static long clone3_fn(struct clone3_args *ca, int (*fn)(void *))
{
	long ret;
	register int (*r12)(void *) __asm__("r12") = fn;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "xor %%ebp, %%ebp\n\t"
			 "call *%%r12\n\t"
			 "mov %%eax, %%edi\n\t"
			 "mov $231, %%eax\n\t"
			 "syscall\n\t"
			 "hlt\n"
			 "1:"
			 : "=a"(ret)
			 : "0"((long)SYS_clone3), "D"(ca), "S"(sizeof *ca), "r"(r12)
			 : "rcx", "r11", "memory", "cc");
	return ret;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: cgspawn N CGROUPS(0|1) PROG ARG...\n");
		return 2;
	}
	int n = atoi(argv[1]), cg = atoi(argv[2]);
	argv_g = argv + 3;
	char base[256] = "";
	if (cg) {
		struct statfs sf;
		const char *mnt = statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC
			? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";
		char own[640] = "";
		FILE *f = fopen("/proc/self/cgroup", "r");
		char line[600];
		while (f && fgets(line, sizeof line, f))
			if (!strncmp(line, "0::", 3)) {
				line[strcspn(line, "\n")] = 0;
				snprintf(own, sizeof own, "%s", line + 3);
			}
		if (f)
			fclose(f);
		snprintf(base, sizeof base, "%s%s/cgspawn.%d", mnt, strcmp(own, "/") ? own : "",
			 (int)getpid());
		if (mkdir(base, 0755) < 0) {
			perror(base);
			return 1;
		}
	}
	for (int i = 0; i < n; i++) {
		int fd = -1;
		if (cg) {
			char p[300];
			snprintf(p, sizeof p, "%s/j%d", base, i);
			if (mkdir(p, 0755) < 0 || (fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
				perror(p);
				return 1;
			}
		}
		struct clone3_args ca = { .flags = CLONE_VM | CLONE_VFORK | (fd >= 0 ? INTO_CGROUP : 0),
					  .exit_signal = SIGCHLD,
					  .stack = (uint64_t)(uintptr_t)stack,
					  .stack_size = sizeof stack, .cgroup = (uint64_t)fd };
		if (clone3_fn(&ca, child) < 0) {
			fprintf(stderr, "cgspawn: clone3 failed\n");
			return 1;
		}
		if (fd >= 0)
			close(fd);
	}
	int st, bad = 0;
	while (wait(&st) > 0)
		bad += !WIFEXITED(st) || WEXITSTATUS(st);
	for (int i = 0; cg && i < n; i++) {
		char p[300];
		snprintf(p, sizeof p, "%s/j%d", base, i);
		rmdir(p);
	}
	if (cg)
		rmdir(base);
	return bad ? 1 : 0;
}
