/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fuzz.h - what the libFuzzer harnesses share. */
#ifndef PIPERUN_FUZZ_H
#define PIPERUN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property that must hold: report it and abort (libFuzzer saves the
 * input as a crash). */
#define CHECK(c)                                                          \
	do {                                                              \
		if (!(c)) {                                               \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); \
			abort();                                          \
		}                                                         \
	} while (0)

#endif
