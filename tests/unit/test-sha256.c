/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-sha256.c - SHA-256 against the FIPS 180-4 / NIST vectors, the
 * SHA-NI path against the portable one over every length and chunking
 * that matters (block boundaries, padding edges). */
#include "config.h"
#include "sha256.h"
#include "tap.h"
#include "util.h"

#include <stdlib.h>

static void hex(const unsigned char d[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void vectors(const char *path)
{
	static const struct { const char *in, *out; } v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
		{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
		  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		unsigned char d[32];
		char h[65];
		sha256(v[i].in, strlen(v[i].in), d);
		hex(d, h);
		is_str(h, v[i].out, "%s: NIST vector %zu", path, i);
	}
	/* one million 'a' */
	struct sha256 s;
	char a[1000];
	memset(a, 'a', sizeof a);
	sha256_init(&s);
	for (int i = 0; i < 1000; i++)
		sha256_update(&s, a, sizeof a);
	unsigned char d[32];
	char h[65];
	sha256_final(&s, d);
	hex(d, h);
	is_str(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
	       "%s: one million 'a'", path);
}

int main(void)
{
	int hw = sha256_use_hw(1);
	printf("# SHA-NI %s\n", hw ? "available: testing both paths" : "not available");
	vectors(hw ? "sha-ni" : "portable");
	sha256_use_hw(0);
	vectors("portable");

	/* every length 0..300 and odd chunkings agree between the paths */
	unsigned char buf[300];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)(i * 131 + 7);
	int agree = 1;
	for (size_t n = 0; n <= sizeof buf && agree; n++) {
		unsigned char a[32], b[32];
		sha256_use_hw(0);
		sha256(buf, n, a);
		sha256_use_hw(1);
		struct sha256 s;
		sha256_init(&s);
		for (size_t off = 0, k = 1; off < n; off += k, k = k * 3 % 67 + 1)
			sha256_update(&s, buf + off, off + k > n ? n - off : k);
		sha256_final(&s, b);
		agree = !memcmp(a, b, 32);
		if (!agree)
			printf("# length %zu differs\n", n);
	}
	ok(agree, "both paths agree for every length 0..300 in odd chunks");
	return done_testing();
}
