/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fuzz-names.c - libFuzzer harness: durations ("1.5s", "250ms", "2m")
 * and signal names ("TERM", "SIGKILL", "9") as the spec, `exec -t/-s/-k`
 * and `pool --timeout` take them.
 * Properties: an accepted duration is finite, >= 0 and at most 1e9 s;
 * an accepted signal is a real signal number whose canonical name
 * (sig_name) parses back to the same number. */
#include "config.h"
#include "fuzz.h"
#include "util.h"

#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);
	double secs = -1;
	if (dur_parse(s, &secs) == 0 && !(isfinite(secs) && secs >= 0 && secs <= 1e9)) {
		fprintf(stderr, "dur_parse(\"%s\") accepted %g\n", s, secs);
		abort();
	}
	int sig = sig_parse(s);
	if (sig != -1) {
		if (sig < 1 || sig >= NSIG) {
			fprintf(stderr, "sig_parse(\"%s\") = %d\n", s, sig);
			abort();
		}
		const char *name = sig_name(sig);
		if (sig_parse(name) != sig) {
			fprintf(stderr, "sig_name(%d) = \"%s\" does not parse back\n", sig, name);
			abort();
		}
	}
	free(s);
	return 0;
}
