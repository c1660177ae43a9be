/* SPDX-License-Identifier: GPL-3.0-or-later */
/* treerss.c - the benchmarks' launcher: runs one command, prints its wall
 * time and the peak RSS of its process tree.
 *
 *   treerss -- /path/cmd [args...]
 *
 * The command's stdio is this program's; when the command has been reaped
 * one line goes to stderr, last:
 *
 *   \n@treerss wall_s=W maxrss_kb=K user_s=U sys_s=S status=X
 *
 * wall_s is CLOCK_MONOTONIC from just before posix_spawn to wait4's
 * return.  maxrss_kb is wait4's ru_maxrss: Linux reports the largest
 * peak of any single process of the tree that was reaped inside it (the
 * command and the descendants it or theirs waited for) -- a maximum, not
 * a sum.  It is taken here and not from Python's os.wait4, because
 * ru_maxrss survives execve: a child Python spawns carries Python's own
 * peak (tens of MB) into the figure.  This launcher is small, so its own
 * size (about 1 MB) is the floor.  status is the exit status, or 128+N
 * for a signal N.
 */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int i = 1;
    if (i < argc && strcmp(argv[i], "--") == 0)
        i++;
    if (i >= argc) {
        fprintf(stderr, "usage: treerss -- CMD [ARGS...]\n");
        return 2;
    }
    pid_t pid;
    double t0 = now();
    int rc = posix_spawnp(&pid, argv[i], NULL, NULL, argv + i, environ);
    if (rc != 0) {
        fprintf(stderr, "treerss: %s: %s\n", argv[i], strerror(rc));
        return 127;
    }
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) < 0) {
        perror("treerss: wait4");
        return 2;
    }
    double wall = now() - t0;
    int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    fprintf(stderr, "\n@treerss wall_s=%.6f maxrss_kb=%ld user_s=%.6f sys_s=%.6f status=%d\n",
            wall, ru.ru_maxrss, ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
            ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, status);
    return status;
}
