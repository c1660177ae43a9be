/* SPDX-License-Identifier: GPL-3.0-or-later */
/* opener.c - opens that may wait, done by a thread of their own (see
 * opener.h). */
#include "config.h"
#include "opener.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Linux's memory devices (/dev/null, zero, full, random, urandom, ...):
 * their open never waits. */
#define MEM_MAJOR 1
/* A thread that only calls open(2) needs little stack. */
#define OPENER_STACK (128 * 1024)

struct opener {
	pthread_mutex_t mu;
	int refs;            /* the caller's and the thread's */
	int pathfd;          /* O_PATH of what is opened, or -1: by name */
	char *path;
	int flags;
	mode_t mode;
	bool fifo;
	dev_t dev;           /* the FIFO's inode */
	ino_t ino;
	int efd;             /* eventfd, written once the open returned */
	bool done;
	bool cancelled;      /* atomic: the thread reads it unlocked */
	bool live;           /* counted in its fifo_rec's live (fifo_mu) */
	int fd, err;         /* the result, once done */
	int partner;         /* after a cancel: our own other end of the FIFO */
};

/* ------------------------------------------------- our own FIFO ends
 *
 * The other end we open to cancel an open wakes every opener of that
 * FIFO that waits, not only the one cancelled: another job reading the
 * same FIFO would take it for a writer, and the next attempt of the
 * same job, if it came while the partner is still open.  So, per FIFO
 * (by inode):
 *   - a cancel opens a partner only when no other opener of ours still
 *     wants that FIFO (live); otherwise the cancelled thread waits on in
 *     open(2) with the live ones, and returns with them when the real
 *     other end comes (then closes what it got), or with the partner of
 *     the last of them to be cancelled;
 *   - an opener does not start its open(2) while one of our partners of
 *     that FIFO is open. */

struct fifo_rec {
	dev_t dev;
	ino_t ino;
	int live;            /* our openers of it, neither done nor cancelled */
	int partners;        /* our partners of it that are open */
};


static pthread_mutex_t fifo_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fifo_cv = PTHREAD_COND_INITIALIZER;
static struct fifo_rec *fifos;
static size_t nfifos, fifos_cap;

/* (fifo_mu held) */
static struct fifo_rec *fifo_rec(const struct opener *op)
{
	for (size_t i = 0; i < nfifos; i++)
		if (fifos[i].dev == op->dev && fifos[i].ino == op->ino)
			return &fifos[i];
	xgrow(&fifos, &fifos_cap, nfifos + 1, sizeof *fifos);
	fifos[nfifos] = (struct fifo_rec){ .dev = op->dev, .ino = op->ino };
	return &fifos[nfifos++];
}

/* (fifo_mu held) op no longer wants its FIFO. */
static void fifo_unlive(struct opener *op)
{
	if (op->live) {
		op->live = false;
		fifo_rec(op)->live--;
	}
}

static bool cancelled(const struct opener *op)
{
	return __atomic_load_n(&op->cancelled, __ATOMIC_ACQUIRE);
}

/* Wait until none of our partners of op's FIFO is open (or op is
 * cancelled). */
static void fifo_quiet(const struct opener *op)
{
	pthread_mutex_lock(&fifo_mu);
	while (fifo_rec(op)->partners && !cancelled(op))
		pthread_cond_wait(&fifo_cv, &fifo_mu);
	pthread_mutex_unlock(&fifo_mu);
}

/* ------------------------------------------------------------ opens */

/* Open what pathfd (O_PATH) stands for, through /proc/self/fd; by name
 * when there is no pathfd, or no /proc. */
static int reopen(int pathfd, const char *path, int flags, mode_t mode)
{
	if (pathfd >= 0) {
		char p[32];
		snprintf(p, sizeof p, "/proc/self/fd/%d", pathfd);
		int fd = open(p, flags | O_CLOEXEC, mode);
		if (fd >= 0 || errno != ENOENT)
			return fd;
		if (access("/proc/self/fd", F_OK) == 0) {
			errno = ENOENT;
			return -1;
		}
	}
	return open(path, flags | O_CLOEXEC, mode);
}


static void opener_free(struct opener *op)
{
	if (op->pathfd >= 0)
		pathfd_close(op->pathfd);
	if (op->efd >= 0)
		close(op->efd);
	if (op->fd >= 0)
		close(op->fd);
	if (op->fifo) {
		pthread_mutex_lock(&fifo_mu);
		fifo_unlive(op);
		if (op->partner >= 0) {
			close(op->partner);
			fifo_rec(op)->partners--;
			pthread_cond_broadcast(&fifo_cv);
		}
		pthread_mutex_unlock(&fifo_mu);
	}
	free(op->path);
	pthread_mutex_destroy(&op->mu);
	free(op);
}

/* Drop one reference (op->mu held); frees op with the last. */
static void unref_unlock(struct opener *op)
{
	bool last = --op->refs == 0;
	pthread_mutex_unlock(&op->mu);
	if (last)
		opener_free(op);
}

static void *opener_main(void *arg)
{
	struct opener *op = arg;
	int fd = -1, err = ECANCELED;
	if (op->fifo)
		fifo_quiet(op);
	if (!cancelled(op)) {
		fd = reopen(op->pathfd, op->path, op->flags, op->mode);
		err = errno;
	}
	pthread_mutex_lock(&op->mu);
	op->done = true;
	if (op->fifo) {
		pthread_mutex_lock(&fifo_mu);
		fifo_unlive(op);
		pthread_mutex_unlock(&fifo_mu);
	}
	if (op->cancelled) {
		/* nobody wants it any more */
		if (fd >= 0)
			close(fd);
	} else {
		op->fd = fd;
		op->err = err;
		uint64_t one = 1;
		ssize_t n = write(op->efd, &one, sizeof one);
		(void)n;
	}
	unref_unlock(op);
	return NULL;
}

static int start_thread(struct opener *op)
{
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, OPENER_STACK);
	/* no signal is ever handled in an opener thread: it inherits a
	 * full mask */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t t;
	int rc = pthread_create(&t, &a, opener_main, op);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&a);
	return rc;
}

static bool may_wait(const struct stat *st)
{
	if (S_ISFIFO(st->st_mode) || S_ISBLK(st->st_mode))
		return true;
	return S_ISCHR(st->st_mode) && major(st->st_rdev) != MEM_MAJOR;
}

int opener_open(const char *path, int flags, mode_t mode, int *fd,
		struct opener **opp)
{
	*fd = -1;
	*opp = NULL;
	int pathfd = -1;
	struct stat st = { 0 };
	for (int tries = 0; tries < 3; tries++) {
		pathfd = pathfd_openat(AT_FDCWD, path, 0);
		if (pathfd >= 0)
			break;
		if (errno != ENOENT || !(flags & O_CREAT))
			return -1;
		/* nothing there: create it, unless something appeared there
		 * meanwhile (then look at what it is) */
		*fd = open(path, flags | O_EXCL | O_CLOEXEC, mode);
		if (*fd >= 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	if (pathfd >= 0) {
		if (fstat(pathfd, &st) < 0) {
			int e = errno;
			pathfd_close(pathfd);
			errno = e;
			return -1;
		}
		if (!may_wait(&st)) {
			*fd = reopen(pathfd, path, flags, mode);
			int e = errno;
			pathfd_close(pathfd);
			errno = e;
			return *fd < 0 ? -1 : 0;
		}
	}
	/* A FIFO or a device; or a path that kept changing under us (a
	 * dangling symlink, which O_EXCL never follows): open it where
	 * waiting costs nothing. */
	struct opener *op = xcalloc(1, sizeof *op);
	pthread_mutex_init(&op->mu, NULL);
	op->refs = 2;
	op->pathfd = pathfd;
	op->path = xstrdup(path);
	op->flags = flags;
	op->mode = mode;
	op->fifo = pathfd >= 0 && S_ISFIFO(st.st_mode);
	op->dev = st.st_dev;
	op->ino = st.st_ino;
	op->fd = op->partner = -1;
	op->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (op->fifo) {
		pthread_mutex_lock(&fifo_mu);
		op->live = true;
		fifo_rec(op)->live++;
		pthread_mutex_unlock(&fifo_mu);
	}
	int rc = op->efd < 0 ? errno : start_thread(op);
	if (rc) {
		opener_free(op);
		errno = rc;
		return -1;
	}
	*opp = op;
	return 1;
}

int opener_fd(const struct opener *op)
{
	return op->efd;
}

bool opener_is_fifo(const struct opener *op)
{
	return op->fifo;
}

int opener_take(struct opener *op, int *fd)
{
	uint64_t v;
	if (read(op->efd, &v, sizeof v) != (ssize_t)sizeof v)
		return 0; /* not yet (a spurious wake-up) */
	pthread_mutex_lock(&op->mu);
	*fd = op->fd;
	int err = op->err;
	op->fd = -1;
	unref_unlock(op);
	errno = err;
	return 1;
}

void opener_cancel(struct opener *op)
{
	pthread_mutex_lock(&op->mu);
	__atomic_store_n(&op->cancelled, true, __ATOMIC_RELEASE);
	if (op->fifo) {
		pthread_mutex_lock(&fifo_mu);
		fifo_unlive(op);
		struct fifo_rec *r = fifo_rec(op);
		if (!op->done && !r->live) {
			/* Be the other end ourselves: O_RDWR never waits on a
			 * FIFO (Linux) and is both a reader and a writer, so
			 * the thread's open returns, now or as soon as it gets
			 * there; the partner stays open until then.  Without
			 * read and write permission, the end it waits for will
			 * do (a writer opened O_NONBLOCK needs a reader there
			 * already). */
			op->partner = reopen(op->pathfd, op->path, O_RDWR | O_NONBLOCK, 0);
			if (op->partner < 0)
				op->partner = reopen(op->pathfd, op->path, O_NONBLOCK |
						     ((op->flags & O_ACCMODE) == O_RDONLY ? O_WRONLY : O_RDONLY), 0);
			if (op->partner >= 0)
				r->partners++;
		}
		/* a thread waiting in fifo_quiet sees the cancel */
		pthread_cond_broadcast(&fifo_cv);
		pthread_mutex_unlock(&fifo_mu);
	}
	unref_unlock(op);
}
