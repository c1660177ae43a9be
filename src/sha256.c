/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sha256.c - SHA-256, portable and SHA-NI (see sha256.h). */
#include "config.h"
#include "sha256.h"

#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_X86_SHA 1
#endif

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void blocks_c(uint32_t h[8], const unsigned char *p, size_t nblocks)
{
	while (nblocks--) {
		uint32_t w[64];
		for (int i = 0; i < 16; i++)
			w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
			       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
		for (int i = 16; i < 64; i++) {
			uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
			uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
			w[i] = w[i - 16] + s0 + w[i - 7] + s1;
		}
		uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
		uint32_t e = h[4], f = h[5], g = h[6], k = h[7];
		for (int i = 0; i < 64; i++) {
			uint32_t S1 = ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25);
			uint32_t ch = (e & f) ^ (~e & g);
			uint32_t t1 = k + S1 + ch + K[i] + w[i];
			uint32_t S0 = ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22);
			uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
			uint32_t t2 = S0 + maj;
			k = g;
			g = f;
			f = e;
			e = d + t1;
			d = c;
			c = b;
			b = a;
			a = t1 + t2;
		}
		h[0] += a; h[1] += b; h[2] += c; h[3] += d;
		h[4] += e; h[5] += f; h[6] += g; h[7] += k;
		p += 64;
	}
}

#ifdef HAVE_X86_SHA
/* Four rounds per step over the message schedule in 128-bit groups:
 * group g (g >= 4) = msg2(msg1(G[g-4], G[g-3]) + G[g-7..g-4 words],
 * G[g-1]); the partial msg1 is prepared two steps early, as in Intel's
 * reference code, in a ring of four registers. */
__attribute__((target("sha,sse4.1,ssse3")))
static void blocks_ni(uint32_t h[8], const unsigned char *p, size_t nblocks)
{
	const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i tmp = _mm_loadu_si128((const __m128i *)&h[0]);
	__m128i st1 = _mm_loadu_si128((const __m128i *)&h[4]);
	tmp = _mm_shuffle_epi32(tmp, 0xB1);            /* CDAB */
	st1 = _mm_shuffle_epi32(st1, 0x1B);            /* EFGH */
	__m128i st0 = _mm_alignr_epi8(tmp, st1, 8);    /* ABEF */
	st1 = _mm_blend_epi16(st1, tmp, 0xF0);         /* CDGH */
	while (nblocks--) {
		__m128i abef = st0, cdgh = st1, w[4];
		for (int i = 0; i < 16; i++) {
			if (i < 4)
				w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), mask);
			__m128i cur = w[i & 3];
			__m128i msg = _mm_add_epi32(cur, _mm_loadu_si128((const __m128i *)&K[4 * i]));
			st1 = _mm_sha256rnds2_epu32(st1, st0, msg);
			if (i >= 3 && i <= 14) {
				__m128i *nx = &w[(i + 1) & 3];
				*nx = _mm_add_epi32(*nx, _mm_alignr_epi8(cur, w[(i + 3) & 3], 4));
				*nx = _mm_sha256msg2_epu32(*nx, cur);
			}
			msg = _mm_shuffle_epi32(msg, 0x0E);
			st0 = _mm_sha256rnds2_epu32(st0, st1, msg);
			if (i >= 1 && i <= 12)
				w[(i + 3) & 3] = _mm_sha256msg1_epu32(w[(i + 3) & 3], cur);
		}
		st0 = _mm_add_epi32(st0, abef);
		st1 = _mm_add_epi32(st1, cdgh);
		p += 64;
	}
	tmp = _mm_shuffle_epi32(st0, 0x1B);            /* FEBA */
	st1 = _mm_shuffle_epi32(st1, 0xB1);            /* DCHG */
	st0 = _mm_blend_epi16(tmp, st1, 0xF0);         /* DCBA */
	st1 = _mm_alignr_epi8(st1, tmp, 8);            /* HGFE */
	_mm_storeu_si128((__m128i *)&h[0], st0);
	_mm_storeu_si128((__m128i *)&h[4], st1);
}

static int cpu_has_sha(void)
{
	unsigned int a, b, c, d;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b >> 29) & 1;
}
#endif

/* 1: SHA-NI, 0: portable; -1: not decided yet.  Set once before any
 * thread hashes (first use, or sha256_use_hw from a test). */
static int use_hw = -1;

int sha256_use_hw(int on)
{
#ifdef HAVE_X86_SHA
	use_hw = on && cpu_has_sha();
#else
	(void)on;
	use_hw = 0;
#endif
	return use_hw;
}

static void blocks(uint32_t h[8], const unsigned char *p, size_t n)
{
	if (use_hw < 0)
		sha256_use_hw(1);
#ifdef HAVE_X86_SHA
	if (use_hw) {
		blocks_ni(h, p, n);
		return;
	}
#endif
	blocks_c(h, p, n);
}

void sha256_init(struct sha256 *s)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};
	memcpy(s->h, iv, sizeof iv);
	s->len = 0;
	s->nbuf = 0;
}

void sha256_update(struct sha256 *s, const void *data, size_t n)
{
	const unsigned char *p = data;
	s->len += n;
	if (s->nbuf) {
		size_t k = 64 - s->nbuf < n ? 64 - s->nbuf : n;
		memcpy(s->buf + s->nbuf, p, k);
		s->nbuf += k;
		p += k;
		n -= k;
		if (s->nbuf < 64)
			return;
		blocks(s->h, s->buf, 1);
		s->nbuf = 0;
	}
	if (n >= 64) {
		blocks(s->h, p, n / 64);
		p += n / 64 * 64;
		n %= 64;
	}
	memcpy(s->buf, p, n);
	s->nbuf = n;
}

void sha256_final(struct sha256 *s, unsigned char out[32])
{
	uint64_t bits = s->len * 8;
	unsigned char pad[72] = { 0x80 };
	size_t padlen = (s->nbuf < 56 ? 56 : 120) - s->nbuf;
	for (int i = 0; i < 8; i++)
		pad[padlen + i] = (unsigned char)(bits >> (56 - 8 * i));
	uint64_t keep = s->len;
	sha256_update(s, pad, padlen + 8);
	s->len = keep;
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (unsigned char)(s->h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(s->h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(s->h[i] >> 8);
		out[4 * i + 3] = (unsigned char)s->h[i];
	}
}

void sha256(const void *data, size_t n, unsigned char out[32])
{
	struct sha256 s;
	sha256_init(&s);
	sha256_update(&s, data, n);
	sha256_final(&s, out);
}
