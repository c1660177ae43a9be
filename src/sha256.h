/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sha256.h - SHA-256 (FIPS 180-4) for digest: true.
 *
 * Written here instead of linking libcrypto: loading libcrypto costs
 * ~2.2 ms at every piperun start on the reference VM (measured: a
 * do-nothing program 1.95 ms, the same linked with -lcrypto 4.15 ms),
 * more than the whole one-job overhead budget, for one hash function.
 * On CPUs with the SHA extensions (cpuid 7:EBX.29) blocks go through
 * SHA-NI; elsewhere through portable C.  Both are tested against the
 * NIST vectors and against each other. */
#ifndef PIPERUN_SHA256_H
#define PIPERUN_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t len;         /* bytes hashed so far */
	unsigned char buf[64];
	size_t nbuf;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t n);
void sha256_final(struct sha256 *s, unsigned char out[32]);
void sha256(const void *data, size_t n, unsigned char out[32]);
/* For tests: 1 = use the SHA-NI path when the CPU has it (default),
 * 0 = portable C only.  Returns whether SHA-NI is in use. */
int sha256_use_hw(int on);

#endif
