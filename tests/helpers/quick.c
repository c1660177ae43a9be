/* SPDX-License-Identifier: GPL-3.0-or-later */
/* quick.c - the cheapest child for the scale tests, so that tests of
 * thousands of jobs measure the runner's bookkeeping, not the exec of a
 * dynamic binary.
 *
 *   quick [-s SECONDS] [WORD...]
 *
 * sleeps SECONDS if given, then prints the WORDs separated by spaces and a
 * newline (nothing when there are none) and exits 0.
 *
 * On x86-64 it is built without libc (-nostdlib, QUICK_NOLIBC: raw system
 * calls, a 9 KB binary): on the test VM it execs ~3x as fast as coreutils'
 * true; elsewhere it is a static libc binary (~1.6x).  It is built by a
 * plain rule without the build's CFLAGS, so sanitizer builds get the same
 * binary. */
#ifdef QUICK_NOLIBC
typedef unsigned long size_t;

static long sys3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return r;
}
#define SYS_write 1
#define SYS_nanosleep 35
#define SYS_exit 60
struct timespec {
	long tv_sec, tv_nsec;
};
#define EINTR 4
#else
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <time.h>
#include <unistd.h>
#endif

static int same(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* seconds as "D[.DDD]" in nanoseconds */
static long long parse_ns(const char *s)
{
	long long sec = 0, frac = 0, scale = 1000000000;
	for (; *s >= '0' && *s <= '9'; s++)
		sec = sec * 10 + (*s - '0');
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			if (scale > 1)
				scale /= 10, frac += (*s - '0') * scale;
	return sec * 1000000000 + frac;
}

static int nap(struct timespec *ts)
{
#ifdef QUICK_NOLIBC
	return (int)sys3(SYS_nanosleep, (long)ts, (long)ts, 0) == -EINTR;
#else
	return nanosleep(ts, ts) < 0 && errno == EINTR;
#endif
}

static long put(const char *p, size_t n)
{
#ifdef QUICK_NOLIBC
	return sys3(SYS_write, 1, (long)p, (long)n);
#else
	return write(1, p, n);
#endif
}

int main(int argc, char **argv)
{
	int i = 1;
	if (argc > 2 && same(argv[1], "-s")) {
		long long ns = parse_ns(argv[2]);
		struct timespec ts;
		ts.tv_sec = (long)(ns / 1000000000);
		ts.tv_nsec = (long)(ns % 1000000000);
		while (nap(&ts))
			;
		i = 3;
	}
	char buf[4096];
	size_t n = 0;
	for (; i < argc; i++) {
		for (const char *a = argv[i]; *a; a++) {
			if (n + 2 > sizeof buf)
				return 2;
			buf[n++] = *a;
		}
		buf[n++] = i + 1 < argc ? ' ' : '\n';
	}
	return n && put(buf, n) != (long)n;
}

#ifdef QUICK_NOLIBC
void quick_start(long *sp) __attribute__((used, noreturn));
void quick_start(long *sp)
{
	int rc = main((int)sp[0], (char **)(sp + 1));
	sys3(SYS_exit, rc, 0, 0);
	__builtin_unreachable();
}

/* the kernel's entry: argc at (%rsp), argv after it */
__asm__(".globl _start\n"
	"_start:\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call quick_start\n"
	"	hlt\n");
#endif
