/* SPDX-License-Identifier: GPL-3.0-or-later */
/* codec.h - byte codecs the results and the spec need: base64 (strict
 * decoding, streaming encoding), incremental UTF-8 validation, and the
 * splitmix64 generator behind {"random": N, "seed": S}.  Written here
 * rather than taken from libcrypto: the decoder must reject what
 * EVP_DecodeBlock tolerates (blanks, bad padding), and the streaming
 * encoder must carry partial groups across chunk boundaries. */
#ifndef PIPERUN_CODEC_H
#define PIPERUN_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decode standard base64 (RFC 4648 alphabet, '=' padding optional but
 * correct when present).  Returns 0 and a malloc'd buffer, or -1. */
int b64_decode(const char *in, size_t n, unsigned char **out, size_t *outlen);
/* Encode n bytes into out (which holds 4*((n+2)/3) bytes); returns length. */
size_t b64_encode(const unsigned char *in, size_t n, char *out);
/* n bytes as lowercase hex into out (2n + 1 bytes, NUL-terminated). */
void hex_encode(const unsigned char *in, size_t n, char *out);

/* Streaming encoder: feed arbitrary chunks; output comes in whole groups. */
struct b64_stream {
	unsigned char carry[3];
	int ncarry;
};
typedef void (*b64_emit_fn)(void *ctx, const char *s, size_t n);
void b64_stream_feed(struct b64_stream *st, const void *data, size_t n,
		     b64_emit_fn emit, void *ctx);
void b64_stream_end(struct b64_stream *st, b64_emit_fn emit, void *ctx);

/* Incremental UTF-8 validation (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF) that also notes NUL bytes. */
struct utf8_check {
	uint8_t need, lo, hi;
	bool bad, nul;
};
void utf8_feed(struct utf8_check *st, const void *data, size_t n);
/* True when everything fed so far is complete, valid UTF-8. */
bool utf8_valid(const struct utf8_check *st);

/* Length of the longest valid UTF-8 sequence starting at p (1..4), or 0 if
 * p[0] starts no valid sequence within n bytes; *incomplete is set when
 * the bytes so far are a valid prefix cut short by n. */
size_t utf8_seq_len(const unsigned char *p, size_t n, bool *incomplete);

/* splitmix64: state += 0x9e3779b97f4a7c15 before each output. */
uint64_t splitmix64_next(uint64_t *state);
/* Fill out with n bytes of the seeded stream, continuing from *state and
 * *pos (bytes already produced of the current 64-bit word). */
struct splitmix_stream {
	uint64_t state;
	unsigned char word[8];
	int used; /* bytes of word already handed out; 8 = need a new one */
};
void splitmix_init(struct splitmix_stream *s, uint64_t seed);
void splitmix_fill(struct splitmix_stream *s, void *out, size_t n);

#endif
