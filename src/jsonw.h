/* SPDX-License-Identifier: GPL-3.0-or-later */
/* jsonw.h - a streaming JSON writer.  Results can hold megabytes of
 * captured output that live in temporary files; this writer escapes (or
 * base64-encodes) them chunk by chunk, so a document is never built in
 * memory.  Output goes to a sink callback; sinks for fds and for memory
 * buffers are provided.  Every string is written as valid UTF-8: invalid
 * bytes become U+FFFD and the writer says so. */
#ifndef PIPERUN_JSONW_H
#define PIPERUN_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"

typedef void (*jw_sink_fn)(void *ctx, const char *p, size_t n);

#define JW_LEVELS 1024

struct jw {
	jw_sink_fn sink;
	void *ctx;
	bool pretty;
	int depth;
	/* per nesting level: has an element been written; is it inline
	 * (levels past JW_LEVELS share the last: what cJSON parses, at most
	 * 1000 deep, always fits) */
	bool nonempty[JW_LEVELS + 1];
	bool inl[JW_LEVELS + 1];
	bool after_key;
	/* open string state */
	unsigned char carry[4];
	int ncarry;
	bool lossy;
	struct b64_stream b64;
};

void jw_init(struct jw *w, jw_sink_fn sink, void *ctx, bool pretty);
/* A writer of a part written aside from a document (to a file), that
 * stands where the document has depth containers open, none inline:
 * the elements it writes are indented as the document's would be. */
void jw_init_part(struct jw *w, jw_sink_fn sink, void *ctx, bool pretty, int depth);
/* Inline containers are written on one line even in pretty mode. */
void jw_obj(struct jw *w, bool inl);
void jw_obj_end(struct jw *w);
void jw_arr(struct jw *w, bool inl);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *k);
void jw_str(struct jw *w, const char *s);         /* NULL writes null */
bool jw_strn(struct jw *w, const void *s, size_t n); /* true if lossy */
void jw_int(struct jw *w, int64_t v);
void jw_uint(struct jw *w, uint64_t v);
void jw_num(struct jw *w, double v);               /* 3 decimals, trimmed */
/* A value's own double (an item's number, a task's result), finite:
 * the shortest text that reads back (strtod) as the same double, as
 * piperun-spec(5) VALUES promises: 0.1 stays 0.1, not
 * 0.10000000000000001.  jw_double_text writes it into b (NUL-ended)
 * and returns its length. */
void jw_double(struct jw *w, double v);
#define JW_DOUBLE_MAX 32
size_t jw_double_text(char b[JW_DOUBLE_MAX], double v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* Write pre-serialized JSON as one value. */
void jw_raw(struct jw *w, const char *json);
/* Streaming string: open, feed any chunks, close (returns lossy). */
void jw_str_open(struct jw *w);
void jw_str_feed(struct jw *w, const void *p, size_t n);
bool jw_str_close(struct jw *w);
/* Streaming base64 string. */
void jw_b64_open(struct jw *w);
void jw_b64_feed(struct jw *w, const void *p, size_t n);
void jw_b64_close(struct jw *w);
/* w's sink has just been given what part wrote: a run of elements of
 * the same container as w's open one, written aside (to a file) from
 * the same depth.  w goes on after them. */
void jw_follow(struct jw *w, const struct jw *part);
/* One element written aside and spliced in later (aside.h): jw_aside
 * makes the next value of w's open container come out as its first
 * (no separator); jw_splice writes to w's sink the separator that comes
 * before the next element of w's open container, whose text (written
 * by a writer that did jw_aside at the same depth, pretty as w is, in a
 * container that is not inline) the caller then gives the sink. */
void jw_aside(struct jw *w);
void jw_splice(struct jw *w);
/* End of a document: a newline. */
void jw_newline(struct jw *w);

/* Key + value shorthands. */
void jw_kstr(struct jw *w, const char *k, const char *v);
void jw_kint(struct jw *w, const char *k, int64_t v);
void jw_knum(struct jw *w, const char *k, double v);
void jw_kbool(struct jw *w, const char *k, bool v);
void jw_knull(struct jw *w, const char *k);

struct bgwrite;

/* A buffered fd sink.  Errors are sticky in err (an errno value).  With
 * async, a flush writes what the fd takes without waiting; once the
 * reader falls behind, a writer thread takes every flush (bgwrite.h),
 * so that a reader that stops reading never stalls the flusher; err
 * then says a failed write at a later flush. */
struct fd_sink {
	int fd;
	int err;
	bool async;
	struct bgwrite *bg;
	size_t len;
	char buf[1 << 16];
};
/* What a stalled reader of an async sink may cost in memory before a
 * flush waits for it. */
#define FD_SINK_QUEUE_MAX ((size_t)64 << 20)
void fd_sink_write(void *ctx, const char *p, size_t n);
int fd_sink_flush(struct fd_sink *s);
/* Everything written, the writer thread's queue too (then stopped: later
 * flushes write themselves).  0, or -1 with err set. */
int fd_sink_finish(struct fd_sink *s);
/* A sink into a struct buf (util.h). */
void buf_sink_write(void *ctx, const char *p, size_t n);

#endif
