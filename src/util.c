/* SPDX-License-Identifier: GPL-3.0-or-later */
/* util.c - allocation, buffers, clocks, durations, signal names. */
#include "config.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static void oom(void)
{
	static const char msg[] = "piperun: out of memory\n";
	ssize_t r = write(2, msg, sizeof msg - 1);
	(void)r;
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		oom();
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *p;
	if (vasprintf(&p, fmt, ap) < 0)
		oom();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

void xgrow(void *arr, size_t *cap, size_t need, size_t sz)
{
	void **a = arr;
	if (need <= *cap)
		return;
	size_t n = *cap ? *cap : 4;
	while (n < need)
		n *= 2;
	*a = xrealloc(*a, n * sz);
	*cap = n;
}

void buf_reserve(struct buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t n = b->cap ? b->cap : 64;
	while (n < b->len + extra + 1)
		n *= 2;
	b->p = xrealloc(b->p, n);
	b->cap = n;
	b->p[b->len] = 0;    /* a reserved, still empty buffer is "" too */
}

void buf_add(struct buf *b, const void *data, size_t n)
{
	buf_reserve(b, n);
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = 0;
}

void buf_addstr(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_addch(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	buf_addstr(b, s);
	free(s);
}

char *buf_detach(struct buf *b)
{
	char *p = b->p ? b->p : xstrdup("");
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Write what a line-oriented reader must not see raw. */
static void escape_one(struct buf *b, unsigned char c)
{
	switch (c) {
	case '\n': buf_addstr(b, "\\n"); break;
	case '\t': buf_addstr(b, "\\t"); break;
	case '\r': buf_addstr(b, "\\r"); break;
	default: buf_printf(b, "\\x%02x", c); break;
	}
}

char *ctl_escape(const char *s, bool backslash)
{
	struct buf b = { 0 };
	buf_reserve(&b, strlen(s));
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			escape_one(&b, *p);
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* U+0080..U+009F (C1: 0x9b is a terminal's CSI) */
			escape_one(&b, p[0]);
			escape_one(&b, *++p);
		} else if (*p == '\\' && backslash) {
			buf_addstr(&b, "\\\\");
		} else {
			buf_addch(&b, (char)*p);
		}
	}
	return buf_detach(&b);
}

void err_line(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	char *e = ctl_escape(m, false);
	size_t n = strlen(e);
	e = xrealloc(e, n + 2);
	e[n] = '\n';
	e[n + 1] = 0;
	/* one write: a whole line, never torn by another writer */
	(void)write_full(2, e, n + 1);
	free(e);
	free(m);
}

double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* UTC calendar date from days since 1970-01-01 (H. Hinnant's
 * civil_from_days): gmtime_r would read /etc/localtime at every start. */
static void civil_from_days(long z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	long era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long yy = (long)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yy + (*m <= 2));
}

void iso8601_now(char out[32])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	long days = (long)(ts.tv_sec / 86400), secs = (long)(ts.tv_sec % 86400);
	int y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	char tmp[96];
	snprintf(tmp, sizeof tmp, "%04d-%02u-%02uT%02ld:%02ld:%02ld.%03dZ", y, m, d,
		 secs / 3600, secs / 60 % 60, secs % 60, (int)(ts.tv_nsec / 1000000) % 1000);
	snprintf(out, 32, "%.31s", tmp);
}

int dur_parse(const char *s, double *secs)
{
	/* Parse by hand: strtod accepts hex, inf, nan and leading blanks,
	 * none of which a duration should be. */
	const char *p = s;
	double v = 0;
	int digits = 0;
	while (isdigit((unsigned char)*p)) {
		v = v * 10 + (*p++ - '0');
		digits++;
	}
	if (*p == '.') {
		double scale = 0.1;
		p++;
		while (isdigit((unsigned char)*p)) {
			v += (*p++ - '0') * scale;
			scale /= 10;
			digits++;
		}
	}
	if (!digits)
		return -1;
	double mult;
	if (!*p || !strcmp(p, "s"))
		mult = 1;
	else if (!strcmp(p, "ms"))
		mult = 1e-3;
	else if (!strcmp(p, "us"))
		mult = 1e-6;
	else if (!strcmp(p, "m"))
		mult = 60;
	else if (!strcmp(p, "h"))
		mult = 3600;
	else
		return -1;
	v *= mult;
	if (!isfinite(v) || v > DUR_MAX)
		return -2;
	*secs = v;
	return 0;
}

const char *dur_expected(const char *s)
{
	double secs;
	return dur_parse(s, &secs) == -2 ? "a duration of at most " DUR_MAX_TEXT
		: "a duration like 1.5s";
}

static const struct {
	int num;
	const char *name;
} signames[] = {
	{ SIGHUP, "SIGHUP" },   { SIGINT, "SIGINT" },   { SIGQUIT, "SIGQUIT" },
	{ SIGILL, "SIGILL" },   { SIGTRAP, "SIGTRAP" }, { SIGABRT, "SIGABRT" },
	{ SIGBUS, "SIGBUS" },   { SIGFPE, "SIGFPE" },   { SIGKILL, "SIGKILL" },
	{ SIGUSR1, "SIGUSR1" }, { SIGSEGV, "SIGSEGV" }, { SIGUSR2, "SIGUSR2" },
	{ SIGPIPE, "SIGPIPE" }, { SIGALRM, "SIGALRM" }, { SIGTERM, "SIGTERM" },
	{ SIGSTKFLT, "SIGSTKFLT" }, { SIGCHLD, "SIGCHLD" }, { SIGCONT, "SIGCONT" },
	{ SIGSTOP, "SIGSTOP" }, { SIGTSTP, "SIGTSTP" }, { SIGTTIN, "SIGTTIN" },
	{ SIGTTOU, "SIGTTOU" }, { SIGURG, "SIGURG" },   { SIGXCPU, "SIGXCPU" },
	{ SIGXFSZ, "SIGXFSZ" }, { SIGVTALRM, "SIGVTALRM" }, { SIGPROF, "SIGPROF" },
	{ SIGWINCH, "SIGWINCH" }, { SIGIO, "SIGIO" },   { SIGPWR, "SIGPWR" },
	{ SIGSYS, "SIGSYS" },
};

int sig_parse(const char *s)
{
	uint64_t n;
	const char *p = s;
	if (!strncasecmp(p, "SIG", 3))
		p += 3;
	/* a number, as given or as sig_name writes unnamed ones ("SIG32") */
	if (parse_u64(p, &n))
		return (n >= 1 && n < (uint64_t)NSIG) ? (int)n : -1;
	for (size_t i = 0; i < ARRAY_SIZE(signames); i++)
		if (!strcasecmp(p, signames[i].name + 3))
			return signames[i].num;
	/* real-time signals as kill -l names them: RTMIN, RTMIN+3, RTMAX-2 */
	bool min = !strncasecmp(p, "RTMIN", 5), max = !strncasecmp(p, "RTMAX", 5);
	if (!min && !max)
		return -1;
	p += 5;
	uint64_t k = 0;
	if (*p && !((*p == (min ? '+' : '-')) && parse_u64(p + 1, &k)))
		return -1;
	if (k > (uint64_t)(SIGRTMAX - SIGRTMIN))
		return -1;
	return min ? SIGRTMIN + (int)k : SIGRTMAX - (int)k;
}

const char *sig_name(int sig)
{
	static _Thread_local char other[16];
	for (size_t i = 0; i < ARRAY_SIZE(signames); i++)
		if (signames[i].num == sig)
			return signames[i].name;
	if (sig == SIGRTMIN)
		return "SIGRTMIN";
	if (sig > SIGRTMIN && sig <= SIGRTMAX)
		snprintf(other, sizeof other, "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(other, sizeof other, "SIG%d", sig);
	return other;
}

bool parse_u64(const char *s, uint64_t *out)
{
	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

bool parse_i64(const char *s, int64_t *out)
{
	const char *p = s;
	if (*p == '-' || *p == '+')
		p++;
	if (!isdigit((unsigned char)*p))
		return false;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

pid_t *pids_read(int fd, size_t *n)
{
	*n = 0;
	if (fd < 0)
		return NULL;
	struct buf b = { 0 };
	for (;;) {
		buf_reserve(&b, 4096);
		ssize_t r = read(fd, b.p + b.len, b.cap - b.len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		b.len += (size_t)r;
	}
	close(fd);
	b.p[b.len] = 0;
	pid_t *pids = xmalloc(sizeof *pids * (b.len / 2 + 1));
	for (char *p = b.p, *end = b.p + b.len; p < end;) {
		char *e;
		long v = strtol(p, &e, 10);
		if (e == p)
			break;
		/* A task that is exiting is listed as 0 once its pid is
		 * detached (cgroup.procs).  kill(0, sig) would signal
		 * piperun's own process group (and whoever shares it):
		 * never pass such an entry on. */
		if (v > 0)
			pids[(*n)++] = (pid_t)v;
		p = e;
	}
	buf_free(&b);
	return pids;
}

pid_t *own_children(size_t *n)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)gettid());
	return pids_read(open(path, O_RDONLY | O_CLOEXEC), n);
}

void keeper_detach(const char *name)
{
	setsid();
	/* the kernel's call: glibc's sigaction refuses the two signals it
	 * keeps for itself (32, 33), which would still kill us; a process
	 * with no threads that changes no ids has no use for them */
	struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; }
		ign = { SIG_IGN, 0, NULL, 0 };
	for (int sig = 1; sig <= 64; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD)
			syscall(SYS_rt_sigaction, sig, &ign, NULL, sizeof ign.mask);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_NAME, name);
}

/* close_range(lo, hi), or where the kernel has none (before 5.9) each
 * fd of the range /proc/self/fd lists */
static void close_from(unsigned int lo, unsigned int hi)
{
	if (syscall(SYS_close_range, lo, hi, 0) == 0 || errno != ENOSYS)
		return;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		if (!*end && fd != dirfd(d) && fd >= (long)lo && fd <= (long)hi)
			close((int)fd);
	}
	if (d)
		closedir(d);
}

void keep_only_fds(int a, int b)
{
	if (a < 0)
		a = b;
	if (b < 0)
		b = a;
	int lo = a < b ? a : b, hi = a < b ? b : a;
	close_from(0, 2);
	int dn = open("/dev/null", O_RDWR);
	if (dn == 0) {
		dup2(dn, 1);
		dup2(dn, 2);
	}
	if (hi < 0) {
		close_from(3, ~0U);
		return;
	}
	if (lo > 3)
		close_from(3, (unsigned)lo - 1);
	if (hi > lo + 1)
		close_from((unsigned)lo + 1, (unsigned)hi - 1);
	close_from((unsigned)hi + 1, ~0U);
}

int count_children(void)
{
	size_t n;
	pid_t *pids = own_children(&n);
	free(pids);
	return pids ? (int)n : -1;
}

int kill_group(pid_t pgid, int sig)
{
	if (pgid <= 1) {
		errno = EINVAL;
		return -1;
	}
	return kill(-pgid, sig);
}

int kill_pid(pid_t pid, int sig)
{
	if (pid <= 1) {
		errno = EINVAL;
		return -1;
	}
	return kill(pid, sig);
}

void die_of_signal(int sig)
{
	switch (sig) {
	case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS:
	case SIGFPE: case SIGSEGV: case SIGSYS: case SIGXCPU: case SIGXFSZ:
		prctl(PR_SET_DUMPABLE, 0);
		break;
	default:
		break;
	}
	signal(sig, SIG_DFL);
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, sig);
	pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	raise(sig);
}

char *map_pieces(const char *s, size_t len, char *(*fn)(const char *piece, void *ctx),
		 void *ctx, size_t *outlen)
{
	struct buf b = { 0 };
	buf_reserve(&b, len + 1);
	for (size_t off = 0;;) {
		char *r = fn(s + off, ctx);
		buf_addstr(&b, r);
		free(r);
		off += strlen(s + off);
		if (off >= len)
			break;
		buf_addch(&b, '\0');
		off++;
	}
	*outlen = b.len;
	return buf_detach(&b);
}

static long npathfds;

int pathfd_openat(int dirfd, const char *path, int flags)
{
	int fd = openat(dirfd, path, flags | O_PATH | O_CLOEXEC);
	if (fd >= 0)
		__atomic_add_fetch(&npathfds, 1, __ATOMIC_RELAXED);
	return fd;
}

void pathfd_close(int fd)
{
	if (fd < 0)
		return;
	close(fd);
	__atomic_sub_fetch(&npathfds, 1, __ATOMIC_RELAXED);
}

long pathfds_open(void)
{
	return __atomic_load_n(&npathfds, __ATOMIC_RELAXED);
}

uint64_t fnv1a_add(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

int memfd_from(const char *name, const void *p, size_t n)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < n) {
		ssize_t r = write(fd, (const char *)p + off, n - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? errno : EIO;
			close(fd);
			errno = e;
			return -1;
		}
		off += (size_t)r;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

int write_full(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t r = write(fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			poll(&pfd, 1, -1);
			continue;
		}
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

int read_full(int fd, void *p, size_t n)
{
	char *c = p;
	while (n) {
		ssize_t r = read(fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = 0;
			return -1;
		}
		c += r;
		n -= (size_t)r;
	}
	return 0;
}
