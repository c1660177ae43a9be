/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-codec.c - base64, UTF-8 checking, splitmix64, durations, signals. */
#include "config.h"
#include "codec.h"
#include "sha256.h"
#include "tap.h"
#include "util.h"

#include <signal.h>
#include <stdlib.h>

static void emit_buf(void *ctx, const char *s, size_t n)
{
	buf_add(ctx, s, n);
}

static void test_base64(void)
{
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		char out[16] = { 0 };
		b64_encode((const unsigned char *)v[i].in, strlen(v[i].in), out);
		is_str(out, v[i].out, "base64 encodes \"%s\" (RFC 4648 vector)", v[i].in);
		unsigned char *d;
		size_t n;
		ok(b64_decode(v[i].out, strlen(v[i].out), &d, &n) == 0 &&
		   n == strlen(v[i].in) && !memcmp(d, v[i].in, n),
		   "base64 decodes \"%s\"", v[i].out);
		if (n || 1)
			free(d);
	}
	unsigned char *d;
	size_t n;
	ok(b64_decode("Zg", 2, &d, &n) == 0 && n == 1 && d[0] == 'f', "unpadded base64 accepted");
	free(d);
	ok(b64_decode("Zm9v YmFy", 9, &d, &n) < 0, "blanks in base64 rejected");
	ok(b64_decode("Z===", 4, &d, &n) < 0, "bad padding rejected");
	ok(b64_decode("Zh==", 4, &d, &n) < 0, "non-zero trailing bits rejected");
	ok(b64_decode("Zm9v!", 5, &d, &n) < 0, "characters outside the alphabet rejected");

	/* streaming in odd chunks equals one-shot encoding */
	unsigned char bytes[1000];
	for (size_t i = 0; i < sizeof bytes; i++)
		bytes[i] = (unsigned char)(i * 7 + 3);
	char whole[1400];
	size_t wl = b64_encode(bytes, sizeof bytes, whole);
	struct buf b = { 0 };
	struct b64_stream st = { 0 };
	for (size_t off = 0, k = 1; off < sizeof bytes; off += k, k = k % 5 + 1)
		b64_stream_feed(&st, bytes + off, off + k > sizeof bytes ? sizeof bytes - off : k,
				emit_buf, &b);
	b64_stream_end(&st, emit_buf, &b);
	ok(b.len == wl && !memcmp(b.p, whole, wl), "streaming base64 in 1..5-byte chunks matches");
	buf_free(&b);
}

static void test_utf8(void)
{
	static const struct { const char *s; int valid; } v[] = {
		{ "plain ascii", 1 }, { "caf\xc3\xa9", 1 }, { "\xe2\x82\xac", 1 },
		{ "\xf0\x9f\x98\x80", 1 }, { "\xc3", 0 }, { "\xc0\xaf", 0 },
		{ "\xe0\x80\xaf", 0 }, { "\xed\xa0\x80", 0 }, { "\xf4\x90\x80\x80", 0 },
		{ "\xff", 0 }, { "\x80", 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct utf8_check c = { 0 };
		utf8_feed(&c, v[i].s, strlen(v[i].s));
		is_int(utf8_valid(&c), v[i].valid, "utf8 vector %zu", i);
	}
	/* a sequence split across chunks is still valid */
	struct utf8_check c = { 0 };
	utf8_feed(&c, "\xf0\x9f", 2);
	ok(!utf8_valid(&c), "half a sequence is not (yet) valid");
	utf8_feed(&c, "\x98\x80", 2);
	ok(utf8_valid(&c), "the rest completes it");
	struct utf8_check z = { 0 };
	utf8_feed(&z, "abcdefgh\0ijklmnop", 17);
	ok(utf8_valid(&z) && z.nul, "NUL is valid UTF-8 but noted");
}

static void test_splitmix(void)
{
	/* CONTRACT §3: seed 7, 100 bytes -> sha256 30fcbf47...92af4 */
	struct splitmix_stream s;
	unsigned char bytes[100];
	splitmix_init(&s, 7);
	splitmix_fill(&s, bytes, 33);
	splitmix_fill(&s, bytes + 33, 67); /* chunking must not matter */
	unsigned char md[32];
	sha256(bytes, sizeof bytes, md);
	char hex[65];
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	ok(!strncmp(hex, "30fcbf47", 8) && !strcmp(hex + 59, "92af4"),
	   "seeded random matches the contract's digest (%s)", hex);
}

static void test_durations(void)
{
	static const struct { const char *s; double v; } good[] = {
		{ "0.1", 0.1 }, { "150ms", 0.15 }, { "1.5s", 1.5 }, { "2m", 120 },
		{ "1h", 3600 }, { "0", 0 }, { "10", 10 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		double v = -1;
		ok(dur_parse(good[i].s, &v) == 0 && v > good[i].v - 1e-9 && v < good[i].v + 1e-9,
		   "duration \"%s\" = %g s", good[i].s, good[i].v);
	}
	static const char *const bad[] = { "", "soon", "1.5x", "-1", " 1", "1 s", "0x10", "inf", "nan", "." };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		double v;
		ok(dur_parse(bad[i], &v) < 0, "duration \"%s\" rejected", bad[i]);
	}
}

static void test_signals(void)
{
	is_int(sig_parse("TERM"), SIGTERM, "TERM");
	is_int(sig_parse("SIGKILL"), SIGKILL, "SIGKILL");
	is_int(sig_parse("int"), SIGINT, "lower-case int");
	is_int(sig_parse("9"), 9, "by number");
	is_int(sig_parse("NOPE"), -1, "unknown name rejected");
	is_int(sig_parse("0"), -1, "0 rejected");
	is_str(sig_name(SIGTERM), "SIGTERM", "name of 15");
	is_str(sig_name(SIGRTMIN + 6), "SIGRTMIN+6", "name of a real-time signal");
	is_int(sig_parse("SIGRTMIN+6"), SIGRTMIN + 6, "RTMIN+n parses");
	is_int(sig_parse("rtmax-1"), SIGRTMAX - 1, "RTMAX-n parses");
	is_int(sig_parse("SIGRTMIN"), SIGRTMIN, "RTMIN parses");
	is_int(sig_parse("RTMIN-1"), -1, "RTMIN-n is not a signal");
	is_int(sig_parse("RTMIN+99"), -1, "RTMIN+n beyond RTMAX is not a signal");
	is_str(sig_name(32), "SIG32", "a signal below RTMIN is SIGn");
	is_int(sig_parse("SIG32"), 32, "SIGn parses back (found by fuzz-names)");
}

int main(void)
{
	test_base64();
	test_utf8();
	test_splitmix();
	test_durations();
	test_signals();
	return done_testing();
}
