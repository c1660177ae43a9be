/* SPDX-License-Identifier: GPL-3.0-or-later */
/* util.h - small helpers every module uses: allocation that cannot fail
 * silently, a growable byte buffer, monotonic time, durations and signal
 * names.  Nothing here exits the program except on out-of-memory, where no
 * honest recovery exists (like git's xmalloc). */
#ifndef PIPERUN_UTIL_H
#define PIPERUN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define UNUSED __attribute__((unused))
#define PRINTF(f, a) __attribute__((format(printf, f, a)))

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) PRINTF(1, 2);
char *xvasprintf(const char *fmt, va_list ap) PRINTF(1, 0);
/* Grow *arr (of *cap elements of size sz) so that it holds at least need. */
void xgrow(void *arr, size_t *cap, size_t need, size_t sz);

/* A growable byte buffer; always NUL-terminated when p != NULL. */
struct buf {
	char *p;
	size_t len, cap;
};
void buf_reserve(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t n);
void buf_addstr(struct buf *b, const char *s);
void buf_addch(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) PRINTF(2, 3);
char *buf_detach(struct buf *b);
void buf_free(struct buf *b);
/* For output read line by line (the --tag prefix, the text table,
 * progress, messages on stderr): control characters written C-style,
 * \n \t \r, and \xHH for the other C0 bytes, DEL and the C1 range
 * U+0080..U+009F (as its two UTF-8 bytes).  With backslash, a backslash
 * is written \\ too, so that the escaping can be undone (names); without,
 * text that quotes its own data (messages) keeps its backslashes.
 * Returns a new string. */
char *ctl_escape(const char *s, bool backslash);
/* One message line on stderr, in one write: formatted, control
 * characters escaped (ctl_escape, backslashes kept), a newline added. */
void err_line(const char *fmt, ...) PRINTF(1, 2);
/* FNV-1a, 64 bits (Fowler, Noll, Vo): h (FNV1A_INIT to start) carried
 * over n more bytes.  For tables and checks, not against a chosen
 * collision. */
#define FNV1A_INIT 0xcbf29ce484222325ULL
uint64_t fnv1a_add(uint64_t h, const void *p, size_t n);
/* A sealed-off copy of p for a child to read: a memfd (CLOEXEC) holding
 * the n bytes, positioned at 0.  -1 with errno. */
int memfd_from(const char *name, const void *p, size_t n);
/* Write all n bytes: retries EINTR and short writes, waits (poll) when a
 * non-blocking fd is full.  0, or -1 with errno. */
int write_full(int fd, const void *p, size_t n);
/* Read exactly n bytes, retrying EINTR and short reads.  0, or -1 (with
 * errno, or 0 at end of file). */
int read_full(int fd, void *p, size_t n);

/* Bytes s[0..len) that may hold NULs (s[len] is one too): fn applied to
 * each NUL-terminated piece between them, the NULs kept.  Returns the
 * result, NUL-terminated, with *outlen its length. */
char *map_pieces(const char *s, size_t len, char *(*fn)(const char *piece, void *ctx),
		 void *ctx, size_t *outlen);

/* Monotonic clock in milliseconds (fractional). */
double now_ms(void);
/* Wall clock, for started_at: ISO 8601 UTC with milliseconds. */
void iso8601_now(char out[32]);

/* The longest duration piperun takes anywhere (spec or command line), in
 * seconds, and the same for messages. */
#define DUR_MAX 1e9
#define DUR_MAX_TEXT "1000000000s (about 31 years)"
/* Durations: "150ms", "1.5s", "2m", "1h", or a bare number of seconds.
 * Returns 0 and sets *secs on success; -1 on a malformed string, -2 on
 * one longer than DUR_MAX.  0 means "no limit" to the callers that give
 * it that meaning. */
int dur_parse(const char *s, double *secs);
/* What a duration option expected, for a message about s (which
 * dur_parse refused): "a duration like 1.5s", or the limit. */
const char *dur_expected(const char *s);
/* Signals by name ("TERM", "SIGTERM", "term") or number.  Returns the
 * number, or -1. */
int sig_parse(const char *s);
/* "SIGTERM" for 15; a static "SIG42"-style string for unknown numbers. */
const char *sig_name(int sig);

/* kill(-pgid, sig), refusing pgid <= 1: kill(0) would signal our own
 * group and kill(-1) every process we may signal.  Returns kill's result
 * (-1 with EINVAL when refused). */
int kill_group(pid_t pgid, int sig);
/* kill(pid, sig), likewise refusing pid <= 1. */
int kill_pid(pid_t pid, int sig);

/* Die of sig, as a process killed by it: its disposition reset to the
 * default, unblocked in this thread, and raised.  For a signal whose
 * default action dumps core, core dumps are turned off first
 * (PR_SET_DUMPABLE, as coreutils' timeout does): the shell sees 128+N,
 * and no core of piperun misleads anyone.  Returns only if the signal
 * did not end the process (SIGKILL and SIGSTOP cannot be raised so, and
 * a signal that is not terminating by default does not end it). */
void die_of_signal(int sig);

/* O_PATH fds: poll(2) cannot see them, so the count of free fds (job.c
 * fds_short) must be told of each.  Every O_PATH fd piperun holds is
 * opened and closed through these (O_PATH | O_CLOEXEC are added). */
int pathfd_openat(int dirfd, const char *path, int flags);
void pathfd_close(int fd);
/* How many are open now. */
long pathfds_open(void);

/* How many fds this process has open (-1 if /proc is not there). */
int count_open_fds(void);
/* How many children (live or zombie) the calling thread has. */
int count_children(void);
/* The calling thread's children (/proc/self/task/TID/children), *n of
 * them (malloc'd; NULL if unreadable). */
pid_t *own_children(size_t *n);
/* The positive numbers of a list of pids read to its end from fd
 * (closed; -1: none): *n of them, malloc'd, NULL for fd -1. */
pid_t *pids_read(int fd, size_t *n);
/* In a child that goes on without exec (the guardian, the Slurm
 * sentinel): close every fd but a and b (above 2; -1: none), stdio on
 * /dev/null.  Nothing is moved: that could need an fd the limit does
 * not allow. */
void keep_only_fds(int a, int b);
/* Such a child that must outlive piperun: a session (and process group)
 * of its own, so that nothing sent to piperun's group or session
 * reaches it; every signal that can be ignored ignored, none blocked;
 * named name. */
void keeper_detach(const char *name);

/* Strict decimal parsing of a whole string. */
bool parse_u64(const char *s, uint64_t *out);
bool parse_i64(const char *s, int64_t *out);

/* floor and ceil without libm (piperun does not link it: one library
 * less to load at every start); exact for every double, -0.0 kept. */
static inline double u_floor(double x)
{
	if (!(x > -0x1p52 && x < 0x1p52))   /* integral already, or NaN */
		return x;
	double t = (double)(long long)x;
	return t > x ? t - 1 : t == x ? x : t;
}

static inline double u_ceil(double x)
{
	return -u_floor(-x);
}

#endif
