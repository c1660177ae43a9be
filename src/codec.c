/* SPDX-License-Identifier: GPL-3.0-or-later */
/* codec.c - base64, UTF-8 validation, splitmix64. */
#include "config.h"
#include "codec.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int b64_decode(const char *in, size_t n, unsigned char **out, size_t *outlen)
{
	size_t pad = 0;
	while (n > 0 && in[n - 1] == '=' && pad < 2) {
		n--;
		pad++;
	}
	if (n % 4 == 1 || (pad && (n + pad) % 4))
		return -1;
	unsigned char *o = xmalloc(n / 4 * 3 + 3);
	size_t k = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64val((unsigned char)in[i]);
		if (v < 0) {
			free(o);
			return -1;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[k++] = (unsigned char)(acc >> bits);
		}
	}
	/* Leftover bits must be zero, or two encodings decode alike. */
	if (bits && (acc & ((1u << bits) - 1))) {
		free(o);
		return -1;
	}
	*out = o;
	*outlen = k;
	return 0;
}

size_t b64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t k = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[k++] = b64chars[v >> 18];
		out[k++] = b64chars[(v >> 12) & 63];
		out[k++] = b64chars[(v >> 6) & 63];
		out[k++] = b64chars[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[k++] = b64chars[v >> 18];
		out[k++] = b64chars[(v >> 12) & 63];
		out[k++] = '=';
		out[k++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[k++] = b64chars[v >> 18];
		out[k++] = b64chars[(v >> 12) & 63];
		out[k++] = b64chars[(v >> 6) & 63];
		out[k++] = '=';
	}
	return k;
}

void b64_stream_feed(struct b64_stream *st, const void *data, size_t n,
		     b64_emit_fn emit, void *ctx)
{
	const unsigned char *p = data;
	char out[4096];
	while (st->ncarry && st->ncarry < 3 && n) {
		st->carry[st->ncarry++] = *p++;
		n--;
	}
	if (st->ncarry == 3) {
		emit(ctx, out, b64_encode(st->carry, 3, out));
		st->ncarry = 0;
	}
	while (n >= 3) {
		size_t take = n / 3 * 3;
		if (take > sizeof out / 4 * 3)
			take = sizeof out / 4 * 3;
		emit(ctx, out, b64_encode(p, take, out));
		p += take;
		n -= take;
	}
	while (n--)
		st->carry[st->ncarry++] = *p++;
}

void b64_stream_end(struct b64_stream *st, b64_emit_fn emit, void *ctx)
{
	char out[4];
	if (st->ncarry)
		emit(ctx, out, b64_encode(st->carry, (size_t)st->ncarry, out));
	st->ncarry = 0;
}

/* Bounds for the byte after a lead byte (RFC 3629 table 3-7). */
static int utf8_lead(unsigned char c, uint8_t *need, uint8_t *lo, uint8_t *hi)
{
	*lo = 0x80;
	*hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF)
		*need = 1;
	else if (c == 0xE0) {
		*need = 2;
		*lo = 0xA0;
	} else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
		*need = 2;
	else if (c == 0xED) {
		*need = 2;
		*hi = 0x9F;
	} else if (c == 0xF0) {
		*need = 3;
		*lo = 0x90;
	} else if (c >= 0xF1 && c <= 0xF3)
		*need = 3;
	else if (c == 0xF4) {
		*need = 3;
		*hi = 0x8F;
	} else
		return -1;
	return 0;
}

void utf8_feed(struct utf8_check *st, const void *data, size_t n)
{
	const unsigned char *p = data, *end = p + n;
	if (st->bad)
		return;
	while (p < end) {
		if (!st->need) {
			/* ASCII fast path, 8 bytes at a time. */
			while (end - p >= 8) {
				uint64_t w;
				memcpy(&w, p, 8);
				if (w & 0x8080808080808080ull)
					break;
				/* any zero byte? */
				if ((w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull)
					st->nul = true;
				p += 8;
			}
			if (p == end)
				break;
			unsigned char c = *p++;
			if (c < 0x80) {
				if (!c)
					st->nul = true;
				continue;
			}
			if (utf8_lead(c, &st->need, &st->lo, &st->hi) < 0) {
				st->bad = true;
				return;
			}
		} else {
			unsigned char c = *p++;
			if (c < st->lo || c > st->hi) {
				st->bad = true;
				return;
			}
			st->need--;
			st->lo = 0x80;
			st->hi = 0xBF;
		}
	}
}

bool utf8_valid(const struct utf8_check *st)
{
	return !st->bad && !st->need;
}

size_t utf8_seq_len(const unsigned char *p, size_t n, bool *incomplete)
{
	uint8_t need, lo, hi;
	*incomplete = false;
	if (p[0] < 0x80)
		return 1;
	if (utf8_lead(p[0], &need, &lo, &hi) < 0)
		return 0;
	for (size_t i = 1; i <= need; i++) {
		if (i >= n) {
			*incomplete = true;
			return 0;
		}
		if (p[i] < lo || p[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xBF;
	}
	return need + 1u;
}

uint64_t splitmix64_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void splitmix_init(struct splitmix_stream *s, uint64_t seed)
{
	s->state = seed;
	s->used = 8;
}

void splitmix_fill(struct splitmix_stream *s, void *out, size_t n)
{
	unsigned char *o = out;
	while (n) {
		if (s->used == 8) {
			uint64_t v = splitmix64_next(&s->state);
			for (int i = 0; i < 8; i++)
				s->word[i] = (unsigned char)(v >> (8 * i));
			s->used = 0;
		}
		size_t take = (size_t)(8 - s->used);
		if (take > n)
			take = n;
		memcpy(o, s->word + s->used, take);
		s->used += (int)take;
		o += take;
		n -= take;
	}
}

void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = 0;
}
