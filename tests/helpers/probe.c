/* SPDX-License-Identifier: GPL-3.0-or-later */
/* probe.c - a test child: reports what a job sees (fds, signals, limits,
 * argv bytes) and produces output patterns the tests need.
 *
 *   probe fds                 open fds, space-separated
 *   probe argv-hex ARGS...    each argument as hex, one per line
 *   probe sigdisp SIG...      "SIGHUP ignored|default|handled blocked|unblocked"
 *   probe gen N SEED [err]    N deterministic bytes on stdout (or stderr)
 *   probe both N SEED         N bytes to stdout and N (seed+1) to stderr,
 *                             interleaved in 4 KiB chunks
 *   probe rlimit NAME         soft and hard limit of nofile/cpu/as
 *   probe ids                 pid ppid pgid sid
 *   probe umask | nice | cwd  what the name says
 *   probe getenv NAME         the variable's value, or "(unset)"
 *   probe spawn-tree N SECS [MARK]  N grandchildren (sh named MARK) sleeping
 *                             SECS; exits 0 at once
 *   probe ignore-term SECS    ignore SIGTERM, sleep SECS
 *   probe ignore-all SECS     ignore every catchable signal, sleep SECS
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void fill(uint64_t *s, unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = mix(s);
		for (size_t k = 0; k < 8 && i + k < n; k++)
			b[i + k] = (unsigned char)(v >> (8 * k));
	}
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int sig_of(const char *s)
{
	static const struct { const char *n; int s; } t[] = {
		{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "PIPE", SIGPIPE },
		{ "TERM", SIGTERM }, { "CHLD", SIGCHLD }, { "USR1", SIGUSR1 }, { "ALRM", SIGALRM },
	};
	if (!strncmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (!strcmp(t[i].n, s))
			return t[i].s;
	return atoi(s);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: probe WHAT [ARGS]\n");
		return 2;
	}
	const char *what = argv[1];
	if (!strcmp(what, "fds")) {
		DIR *d = opendir("/proc/self/fd");
		int self = dirfd(d), first = 1;
		struct dirent *e;
		int fds[1024], n = 0;
		while ((e = readdir(d)) && n < 1024)
			if (e->d_name[0] != '.' && atoi(e->d_name) != self)
				fds[n++] = atoi(e->d_name);
		closedir(d);
		for (int i = 0; i < n; i++)
			for (int k = i + 1; k < n; k++)
				if (fds[k] < fds[i]) {
					int t = fds[i];
					fds[i] = fds[k];
					fds[k] = t;
				}
		for (int i = 0; i < n; i++) {
			printf("%s%d", first ? "" : " ", fds[i]);
			first = 0;
		}
		printf("\n");
		return 0;
	}
	if (!strcmp(what, "argv-hex")) {
		for (int i = 2; i < argc; i++) {
			for (const unsigned char *p = (const unsigned char *)argv[i]; *p; p++)
				printf("%02x", *p);
			printf("\n");
		}
		return 0;
	}
	if (!strcmp(what, "sigdisp")) {
		sigset_t mask;
		sigprocmask(SIG_SETMASK, NULL, &mask);
		for (int i = 2; i < argc; i++) {
			int s = sig_of(argv[i]);
			struct sigaction sa;
			sigaction(s, NULL, &sa);
			printf("%s %s %s\n", argv[i],
			       sa.sa_handler == SIG_IGN ? "ignored" :
			       sa.sa_handler == SIG_DFL ? "default" : "handled",
			       sigismember(&mask, s) ? "blocked" : "unblocked");
		}
		return 0;
	}
	if (!strcmp(what, "gen") && argc >= 4) {
		uint64_t n = strtoull(argv[2], NULL, 10), seed = strtoull(argv[3], NULL, 10);
		int fd = argc > 4 && !strcmp(argv[4], "err") ? 2 : 1;
		static unsigned char buf[65536];
		while (n) {
			size_t k = n < sizeof buf ? (size_t)n : sizeof buf;
			fill(&seed, buf, k);
			if (write_all(fd, buf, k) < 0)
				return 1;
			n -= k;
		}
		return 0;
	}
	if (!strcmp(what, "both") && argc >= 4) {
		uint64_t n = strtoull(argv[2], NULL, 10), s1 = strtoull(argv[3], NULL, 10), s2 = s1 + 1;
		static unsigned char buf[4096];
		uint64_t left1 = n, left2 = n;
		while (left1 || left2) {
			if (left1) {
				size_t k = left1 < sizeof buf ? (size_t)left1 : sizeof buf;
				fill(&s1, buf, k);
				if (write_all(1, buf, k) < 0)
					return 1;
				left1 -= k;
			}
			if (left2) {
				size_t k = left2 < sizeof buf ? (size_t)left2 : sizeof buf;
				fill(&s2, buf, k);
				if (write_all(2, buf, k) < 0)
					return 1;
				left2 -= k;
			}
		}
		return 0;
	}
	if (!strcmp(what, "rlimit") && argc >= 3) {
		int r = !strcmp(argv[2], "nofile") ? RLIMIT_NOFILE :
			!strcmp(argv[2], "cpu") ? RLIMIT_CPU : RLIMIT_AS;
		struct rlimit rl;
		getrlimit(r, &rl);
		if (rl.rlim_cur == RLIM_INFINITY)
			printf("unlimited ");
		else
			printf("%llu ", (unsigned long long)rl.rlim_cur);
		if (rl.rlim_max == RLIM_INFINITY)
			printf("unlimited\n");
		else
			printf("%llu\n", (unsigned long long)rl.rlim_max);
		return 0;
	}
	if (!strcmp(what, "ids")) {
		printf("%d %d %d %d\n", getpid(), getppid(), getpgid(0), getsid(0));
		return 0;
	}
	if (!strcmp(what, "umask")) {
		mode_t m = umask(0);
		printf("%03o\n", (unsigned)m);
		return 0;
	}
	if (!strcmp(what, "nice")) {
		errno = 0;
		printf("%d\n", getpriority(PRIO_PROCESS, 0));
		return 0;
	}
	if (!strcmp(what, "cwd")) {
		char b[4096];
		printf("%s\n", getcwd(b, sizeof b) ? b : "?");
		return 0;
	}
	if (!strcmp(what, "getenv") && argc >= 3) {
		const char *v = getenv(argv[2]);
		printf("%s\n", v ? v : "(unset)");
		return 0;
	}
	if (!strcmp(what, "spawn-tree") && argc >= 4) {
		/* grandchildren: sh (with the marker as $0, so tests can find
		 * them) waiting for a sleep */
		int n = atoi(argv[2]);
		const char *mark = argc > 4 ? argv[4] : "probe-tree";
		for (int i = 0; i < n; i++)
			if (fork() == 0) {
				execl("/bin/sh", mark, "-c", "sleep \"$1\"; :", mark, argv[3], (char *)NULL);
				_exit(127);
			}
		return 0;
	}
	if (!strcmp(what, "ignore-term") && argc >= 3) {
		signal(SIGTERM, SIG_IGN);
		execlp("sleep", "sleep", argv[2], (char *)NULL);
		return 127;
	}
	if (!strcmp(what, "ignore-all") && argc >= 3) {
		for (int sig = 1; sig < NSIG; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				signal(sig, SIG_IGN);
		execlp("sleep", "sleep", argv[2], (char *)NULL);
		return 127;
	}
	fprintf(stderr, "probe: unknown %s\n", what);
	return 2;
}
