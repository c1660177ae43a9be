/* SPDX-License-Identifier: GPL-3.0-or-later */
/* capture.h - one captured output stream: counts every byte, keeps the
 * first max_output bytes (a small part in memory, the rest in an unlinked
 * temporary file, so the runner's memory does not grow with output size),
 * checks UTF-8 on the fly for encoding "auto", digests everything with
 * SHA-256 when asked, and streams bytes live (live.h) when asked. */
#ifndef PIPERUN_CAPTURE_H
#define PIPERUN_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "codec.h"
#include "live.h"
#include "sha256.h"

/* Bytes kept in memory before spilling to a temporary file. */
#define CAPTURE_MEM_MAX (64u * 1024)

struct capture {
	bool active;         /* set up by capture_init */
	uint64_t max_keep;
	uint64_t total;      /* every byte the stream carried */
	uint64_t kept;
	char *mem;
	size_t mem_len, mem_cap;
	int spill_fd;
	struct utf8_check utf8;
	struct sha256 *sha;  /* when digesting */
	bool has_digest;
	unsigned char digest[32];
	struct live *live;   /* NULL, or where to stream bytes live */
	int err;             /* first spill error (errno); bytes then kept in memory */
};

void capture_init(struct capture *c, uint64_t max_keep, bool digest, struct live *live);
void capture_add(struct capture *c, const void *p, size_t n);
/* End of stream: finalize the digest. */
void capture_finish(struct capture *c);
/* Hand the kept bytes, in order, to fn.  Returns -1 on a read error. */
typedef void (*capture_fn)(void *ctx, const void *p, size_t n);
int capture_each(const struct capture *c, capture_fn fn, void *ctx);
/* Read kept bytes at off (for stdin.from); returns bytes read, 0 at end. */
ssize_t capture_read_at(const struct capture *c, uint64_t off, void *buf, size_t n);
bool capture_truncated(const struct capture *c);
/* Hex digest ("" when not digested). */
void capture_hex(const struct capture *c, char out[65]);
void capture_free(struct capture *c);

/* Open an unlinked temporary file (O_TMPFILE in $TMPDIR or /tmp). */
int tmpfile_open(void);

#endif
