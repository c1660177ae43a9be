/* quick.c - the cheapest child for the scale tests: a static binary (no
 * dynamic loader; on the test VM it execs about twice as fast as
 * coreutils' true), so tests of thousands of jobs measure the runner's
 * bookkeeping, not ld.so.
 *
 *   quick [-s SECONDS] [WORD...]
 *
 * sleeps SECONDS if given, then prints the WORDs separated by spaces and a
 * newline (nothing when there are none) and exits 0.  It is built by a
 * plain rule without the build's CFLAGS, so sanitizer builds get the same
 * static binary. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int i = 1;
	if (argc > 2 && !strcmp(argv[1], "-s")) {
		double s = strtod(argv[2], NULL);
		struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
		while (nanosleep(&ts, &ts) < 0)
			;
		i = 3;
	}
	char buf[4096];
	size_t n = 0;
	for (; i < argc; i++) {
		size_t l = strlen(argv[i]);
		if (n + l + 2 > sizeof buf)
			return 2;
		memcpy(buf + n, argv[i], l);
		n += l;
		buf[n++] = i + 1 < argc ? ' ' : '\n';
	}
	return n && write(1, buf, n) != (ssize_t)n;
}
