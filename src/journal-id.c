/* SPDX-License-Identifier: GPL-3.0-or-later */
/* journal-id.c - a job's identity for the journal (journal.h): a hash
 * of a canonical encoding of what the spec says the job does, and
 * HMAC-SHA256 (RFC 2104) for jobs with secrets.
 *
 * The encoding is a sequence of fields, each a tag byte, its length as
 * 8 bytes little-endian, then its bytes: unambiguous whatever the bytes.
 * What is left out on purpose: the inherited environment (resuming from
 * another shell or CI runner must not re-run everything), programs as
 * PATH resolved them, and how a job is supervised rather than what it
 * does (timeout, signal, kill_after, retries, nice, max_output,
 * encoding, digest, after). */
#include "config.h"
#include "journal.h"
#include "codec.h"
#include "sha256.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One hash being fed: plain SHA-256, or the inner hash of an HMAC. */
struct idhash {
	struct sha256 s;
};

static void put(struct idhash *h, char tag, const void *p, size_t n)
{
	unsigned char hdr[9];
	hdr[0] = (unsigned char)tag;
	for (int i = 0; i < 8; i++)
		hdr[1 + i] = (unsigned char)((uint64_t)n >> (8 * i));
	sha256_update(&h->s, hdr, sizeof hdr);
	if (n)
		sha256_update(&h->s, p, n);
}

static void put_str(struct idhash *h, char tag, const char *s)
{
	if (s)
		put(h, tag, s, strlen(s));
	else
		put(h, '-', NULL, 0);   /* absent differs from "" */
}

static void put_u64(struct idhash *h, char tag, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	put(h, tag, b, sizeof b);
}

static void put_kv(struct idhash *h, const struct kv *kv, size_t n)
{
	put_u64(h, 'E', n);
	for (size_t i = 0; i < n; i++) {
		put_str(h, 'k', kv[i].name);
		put_str(h, 'v', kv[i].value);
	}
}

static void put_strv(struct idhash *h, char tag, char *const *v, size_t n)
{
	put_u64(h, tag, n);
	for (size_t i = 0; i < n; i++)
		put_str(h, 's', v[i]);
}

static void put_io(struct idhash *h, char tag, const struct io_spec *io)
{
	put_u64(h, tag, (uint64_t)io->mode);
	put_str(h, 'p', io->path);
	put_u64(h, 'a', io->append);
}

static void put_steps(struct idhash *h, const struct steps_spec *st)
{
	put_u64(h, 'I', (uint64_t)st->items);
	put_u64(h, 'c', st->count);
	put_u64(h, 'o', st->ordered);
	put_u64(h, 'x', st->stop_on_error);
	put_u64(h, 'n', st->nsteps);
	for (size_t i = 0; i < st->nsteps; i++) {
		const struct step_spec *p = &st->steps[i];
		put_str(h, 'N', p->name);
		put_u64(h, 'K', (uint64_t)p->kind);
		put_strv(h, 'A', p->argv, p->argc);
		put_u64(h, 'i', p->stdin_null);
		put_u64(h, 'y', p->pty);
		put_str(h, 'T', p->task);
		put_str(h, 'g', p->args);
	}
}

/* The stdin source; src_id: the identity of the job it reads from. */
static void put_stdin(struct idhash *h, const struct in_spec *in, const char *src_id)
{
	put_u64(h, 'S', (uint64_t)in->kind);
	switch (in->kind) {
	case IN_TEXT:
	case IN_BASE64:
		put(h, 'd', in->data, in->len);
		break;
	case IN_FILE:
		put_str(h, 'p', in->path);
		break;
	case IN_RANDOM:
		put_u64(h, 'r', in->nrandom);
		put_u64(h, 'z', in->seeded);
		put_u64(h, 'z', in->seeded ? in->seed : 0);
		break;
	case IN_FROM:
		put_str(h, 'f', src_id);
		break;
	default:
		break;
	}
}

static void put_job(struct idhash *h, const struct job_spec *j, const char *src_id)
{
	put_str(h, 'V', "piperun-identity-1");
	put_str(h, 'n', j->name);
	put_u64(h, 'k', (uint64_t)j->kind);
	put_str(h, 'h', j->shell);
	put_u64(h, 'G', j->nstages);
	for (size_t i = 0; i < j->nstages; i++) {
		const struct stage_spec *st = &j->stages[i];
		put_strv(h, 'A', st->argv, st->argc);
		put_kv(h, st->env, st->nenv);
		put_u64(h, 'e', st->has_err);
		if (st->has_err)
			put_io(h, 'R', &st->err);
	}
	put_kv(h, j->env, j->nenv);
	put_u64(h, 'C', j->env_clear);
	put_strv(h, 'U', j->unset, j->nunset);
	put_strv(h, 'X', j->secret, j->nsecret);
	put_str(h, 'd', j->cwd);
	put_stdin(h, &j->in, src_id);
	put_io(h, 'O', &j->out);
	put_io(h, 'R', &j->err);
	put_u64(h, 'x', j->nexpect);
	for (size_t i = 0; i < j->nexpect; i++)
		put_u64(h, 'i', (uint64_t)(int64_t)j->expect[i]);
	put_u64(h, 'P', j->pipefail);
	put_u64(h, 'm', j->has_umask ? (uint64_t)j->umask : UINT64_MAX);
	put_u64(h, 'L', j->nrlimits);
	for (size_t i = 0; i < j->nrlimits; i++) {
		put_u64(h, 'l', (uint64_t)j->rlimits[i].resource);
		put_u64(h, 'l', j->rlimits[i].value);
	}
	if (j->steps)
		put_steps(h, j->steps);
}

/* key padded to a block and xored with pad (RFC 2104). */
static void hmac_pad(const unsigned char *key, size_t keylen, unsigned char pad,
		     unsigned char block[64])
{
	unsigned char k[32];
	if (keylen > 64) {
		sha256(key, keylen, k);
		key = k;
		keylen = 32;
	}
	memset(block, 0, 64);
	memcpy(block, key, keylen);
	for (int i = 0; i < 64; i++)
		block[i] ^= pad;
}

static void hmac_finish(const unsigned char *key, size_t keylen, struct sha256 *inner,
			unsigned char out[32])
{
	unsigned char ih[32], block[64];
	sha256_final(inner, ih);
	hmac_pad(key, keylen, 0x5c, block);
	struct sha256 o;
	sha256_init(&o);
	sha256_update(&o, block, 64);
	sha256_update(&o, ih, 32);
	sha256_final(&o, out);
}

static void hmac_start(const unsigned char *key, size_t keylen, struct sha256 *inner)
{
	unsigned char block[64];
	hmac_pad(key, keylen, 0x36, block);
	sha256_init(inner);
	sha256_update(inner, block, 64);
}

void journal_hmac(const unsigned char *key, size_t keylen, const void *msg, size_t n,
		  unsigned char out[32])
{
	struct sha256 inner;
	hmac_start(key, keylen, &inner);
	sha256_update(&inner, msg, n);
	hmac_finish(key, keylen, &inner, out);
}

/* ids[i], once its source's is known (src: its identity, "" for none). */
static void identity(const struct spec *s, const unsigned char *key, journal_id *ids, size_t i,
		     const char *src)
{
	bool held;
	const struct job_spec *j = spec_job_peek(s, i, &held);
	struct idhash h;
	bool keyed = j->nsecret > 0;
	if (keyed)
		hmac_start(key, JOURNAL_KEY_BYTES, &h.s);
	else
		sha256_init(&h.s);
	put_job(&h, j, src);
	unsigned char d[32];
	if (keyed)
		hmac_finish(key, JOURNAL_KEY_BYTES, &h.s, d);
	else
		sha256_final(&h.s, d);
	hex_encode(d, 32, ids[i]);
	spec_job_unpeek(s, i, held);
}

/* The source job i reads (stdin.from, items.from), or SIZE_MAX. */
static size_t source_of(const struct spec *s, size_t i)
{
	bool held;
	const struct job_spec *j = spec_job_peek(s, i, &held);
	size_t f = j->in.kind == IN_FROM && j->in.from_idx < s->njobs ? j->in.from_idx : SIZE_MAX;
	spec_job_unpeek(s, i, held);
	return f;
}

/* ids[i] and those of the chain of sources it reads from, sources
 * first: up the chain on an explicit stack (a chain of any length: no
 * recursion), then down it.  state: 0 not yet, 1 under way, 2 done. */
static void identity_chain(const struct spec *s, const unsigned char *key, journal_id *ids,
			   unsigned char *state, size_t *stack, size_t i)
{
	size_t n = 0, f;
	stack[n++] = i;
	state[i] = 1;
	while ((f = source_of(s, stack[n - 1])) != SIZE_MAX && !state[f]) {
		state[f] = 1;
		stack[n++] = f;
	}
	while (n) {
		size_t k = stack[--n];
		f = source_of(s, k);
		/* a source under way: a cycle (spec.c refuses them) */
		identity(s, key, ids, k, f == SIZE_MAX ? NULL : state[f] == 2 ? ids[f] : "");
		state[k] = 2;
	}
}

void journal_identities(const struct spec *s, const unsigned char key[JOURNAL_KEY_BYTES],
			journal_id *ids, journal_id plan)
{
	unsigned char *state = xcalloc(s->njobs ? s->njobs : 1, 1);
	size_t *stack = xcalloc(s->njobs ? s->njobs : 1, sizeof *stack);
	struct sha256 p;
	sha256_init(&p);
	for (size_t i = 0; i < s->njobs; i++) {
		if (!state[i])
			identity_chain(s, key, ids, state, stack, i);
		sha256_update(&p, ids[i], 64);
	}
	unsigned char d[32];
	sha256_final(&p, d);
	hex_encode(d, 32, plan);
	free(stack);
	free(state);
}
