/* SPDX-License-Identifier: GPL-3.0-or-later */
/* contain-spare.c - job cgroups: made for an attempt, kept empty as
 * spares and handed to the next attempt, dropped (see contain.h).
 *
 * A mkdir and an rmdir of a cgroup per job cost more than the job's
 * clone; a cgroup that its job left exactly as it was made is as good
 * as a new one.  "Exactly as made" is checked, not assumed: a job (as
 * root, or one its cgroup was delegated to) can freeze its cgroup, make
 * cgroups below it, limit their number or depth, make it threaded, turn
 * its pressure accounting off, chown it to someone who could freeze the
 * next job, or park a process in it after its end.  The checks: at the
 * end, no cgroup.kill (some kernels kill every child cloned into such a
 * cgroup, spawn.c), no subdirectory (the directory's link count), the
 * owner and mode of the directory and of each control file and the
 * values of its settings (depth and descendant limits, subtree_control,
 * type, pressure) as mkdir makes them (read once per run, from its
 * first job cgroup); when taken, cgroup.events says it is unpopulated
 * and not frozen.  (File times cannot tell: a
 * write that does not truncate leaves them, and kernfs stamps them to
 * the tick.)  About 25 system calls, and only for a cgroup touched since
 * its last checks (inotify, below). */
#include "config.h"
#include "contain-int.h"
#include "spawn.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* Whose a job cgroup is: the directory's and these files' owner and
 * mode. */
static const char *const control_files[] = {
	"cgroup.freeze", "cgroup.kill", "cgroup.max.depth", "cgroup.max.descendants",
	"cgroup.pressure", "cgroup.subtree_control", "cgroup.threads", "cgroup.type",
	"cgroup.procs",
};
#define NCONTROL (sizeof control_files / sizeof *control_files)

/* What a job may set in its cgroup and leave to the next. */
static const char *const settings[] = {
	"cgroup.max.depth", "cgroup.max.descendants", "cgroup.subtree_control",
	"cgroup.type", "cgroup.pressure",
};
#define NSETTINGS (sizeof settings / sizeof *settings)

struct owner {
	uid_t uid;
	gid_t gid;
	mode_t mode;             /* 0: no such file */
};

struct cg_made {
	struct owner dir, file[NCONTROL];
	char value[NSETTINGS][24];   /* "" and absent[i]: no such file */
	bool absent[NSETTINGS];
};

static struct owner owner_of(int dirfd, const char *file, nlink_t *nlink)
{
	struct stat st;
	if (fstatat(dirfd, file ? file : "", &st, file ? 0 : AT_EMPTY_PATH) < 0)
		return (struct owner){ 0, 0, 0 };
	if (nlink)
		*nlink = st.st_nlink;
	return (struct owner){ st.st_uid, st.st_gid, st.st_mode };
}

static bool same_owner(struct owner a, struct owner b)
{
	return a.uid == b.uid && a.gid == b.gid && a.mode == b.mode;
}

/* The setting's text into v (n bytes); false if there is no such file. */
static bool setting(int dirfd, const char *file, char *v, size_t n)
{
	if (cg_read(dirfd, file, v, n) >= 0)
		return true;
	v[0] = 0;
	return false;
}

static struct cg_made *made_now(int dirfd)
{
	struct cg_made *m = xcalloc(1, sizeof *m);
	m->dir = owner_of(dirfd, NULL, NULL);
	for (size_t i = 0; i < NCONTROL; i++)
		m->file[i] = owner_of(dirfd, control_files[i], NULL);
	for (size_t i = 0; i < NSETTINGS; i++)
		m->absent[i] = !setting(dirfd, settings[i], m->value[i], sizeof m->value[i]);
	return m;
}

/* The run's first job cgroup, just made: how mkdir makes them.  (Read
 * from one that a process of ours could already have changed, it makes
 * every later check fail: nothing is then reused.) */
static void note_made(struct contain *c, int dirfd)
{
	if (__atomic_load_n(&c->made, __ATOMIC_ACQUIRE))
		return;
	struct cg_made *m = made_now(dirfd), *none = NULL;
	if (!__atomic_compare_exchange_n(&c->made, &none, m, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		free(m);
}

/* Is the cgroup as mkdir made it? */
static bool as_made(const struct contain *c, const struct contain_job *cj)
{
	nlink_t nlink = 0;
	const struct cg_made *m = __atomic_load_n(&c->made, __ATOMIC_ACQUIRE);
	if (!m || !same_owner(owner_of(cj->dirfd, NULL, &nlink), m->dir) || nlink != 2)
		return false;
	for (size_t i = 0; i < NCONTROL; i++)
		if (!same_owner(owner_of(cj->dirfd, control_files[i], NULL), m->file[i]))
			return false;
	for (size_t i = 0; i < NSETTINGS; i++) {
		char v[sizeof m->value[i]];
		if (setting(cj->dirfd, settings[i], v, sizeof v) == m->absent[i] ||
		    strcmp(v, m->value[i]))
			return false;
	}
	return true;
}

/* ------------------------------------------------ changes, as they come
 *
 * The checks above cost some 25 system calls a job.  Every way a job can
 * change its cgroup is a write to one of its files, a chmod or chown, or
 * a directory made below it, and each of those raises an inotify event
 * on the cgroup's directory as it happens (IN_MODIFY, IN_ATTRIB,
 * IN_CREATE).  So each job cgroup is watched from when it is made, and
 * one not touched since its checks passed needs no checks again; one
 * touched (or never checked yet: a write between mkdir and the watch
 * would not be seen) is checked in full.  The kernel's own notices
 * (cgroup.events and other read-only *.events files when a cgroup
 * empties or fills) are no change; a lost event (queue overflow) makes
 * every cgroup touched.  c->mtx held. */

#define WATCH_MASK (IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVE | \
		    IN_DELETE_SELF | IN_MOVE_SELF)

static void touch(struct contain *c, int wd, unsigned char v)
{
	if (wd < 0)
		return;
	if ((size_t)wd >= c->touched_cap) {
		size_t old = c->touched_cap;
		xgrow(&c->touched, &c->touched_cap, (size_t)wd + 1, 1);
		memset(c->touched + old, 1, c->touched_cap - old);
	}
	c->touched[wd] = v;
}

static bool kernel_notice(const struct inotify_event *e)
{
	if (!(e->mask & IN_MODIFY) || !e->len)
		return false;
	size_t n = strlen(e->name);
	return (n >= 7 && !strcmp(e->name + n - 7, ".events")) ||
	       (n >= 13 && !strcmp(e->name + n - 13, ".events.local"));
}

/* The events so far, into c->touched. */
static void read_changes(struct contain *c)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;
	while (c->ino_fd >= 0 && (n = read(c->ino_fd, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			if (e->mask & IN_Q_OVERFLOW)
				memset(c->touched, 1, c->touched_cap);
			else if (!(e->mask & IN_IGNORED) && !kernel_notice(e))
				touch(c, e->wd, 1);
			p += sizeof *e + e->len;
		}
		/* room left for the longest event: the queue was empty */
		if ((size_t)n <= sizeof buf - sizeof(struct inotify_event) - NAME_MAX - 1)
			break;
	}
}

/* Watch the new cgroup cj (touched: not checked yet). */
static void watch(struct contain *c, struct contain_job *cj)
{
	cj->wd = -1;
	if (!c->run_path)
		return;
	char *path = xasprintf("%s/%s", c->run_path, cj->name);
	pthread_mutex_lock(&c->mtx);
	if (c->ino_fd < 0 && !c->no_watch)
		c->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	c->no_watch = c->ino_fd < 0;
	if (c->ino_fd >= 0)
		cj->wd = inotify_add_watch(c->ino_fd, path, WATCH_MASK | IN_ONLYDIR);
	touch(c, cj->wd, 1);
	pthread_mutex_unlock(&c->mtx);
	free(path);
}

/* Has cgroup cj not been touched since its checks passed? */
static bool untouched(struct contain *c, const struct contain_job *cj)
{
	if (cj->wd < 0)
		return false;
	pthread_mutex_lock(&c->mtx);
	read_changes(c);
	bool u = c->ino_fd >= 0 && (size_t)cj->wd < c->touched_cap && !c->touched[cj->wd];
	pthread_mutex_unlock(&c->mtx);
	return u;
}

/* Its checks passed: untouched from now.  (The events read before the
 * checks are theirs; one read after them, even if it came before, only
 * makes the next look a full check.) */
static void checked(struct contain *c, const struct contain_job *cj)
{
	pthread_mutex_lock(&c->mtx);
	touch(c, cj->wd, 0);
	pthread_mutex_unlock(&c->mtx);
}

/* As made: untouched since checked, or checked now. */
static bool still_as_made(struct contain *c, const struct contain_job *cj)
{
	if (untouched(c, cj)) /* (which read the events so far) */
		return true;
	if (!as_made(c, cj))
		return false;
	checked(c, cj);
	return true;
}

void contain_no_more(struct contain *c)
{
	__atomic_store_n(&c->no_more, true, __ATOMIC_RELAXED);
}

/* Is one more spare wanted, and is there room for it? */
static bool spare_room(struct contain *c)
{
	if (__atomic_load_n(&c->no_more, __ATOMIC_RELAXED))
		return false;
	pthread_mutex_lock(&c->mtx);
	bool room = c->nspare < c->spares_max;
	pthread_mutex_unlock(&c->mtx);
	return room;
}

void contain_job_drop(struct contain *c, struct contain_job *cj, bool kill)
{
	contain_unslot(c, cj);
	if (!cj->has_cg)
		return;
	int dfd = contain_job_dir(c, cj);
	if (kill && dfd >= 0)
		cg_kill(dfd);
	if (dfd >= 0)
		pathfd_close(dfd);
	cj->dirfd = -1;
	cj->wd = -1;
	cj->has_cg = false;
	unlinkat(c->run_dirfd, cj->name, AT_REMOVEDIR);
}

/* A spare into cj, still unpopulated, not frozen and as made (a job of
 * the run could have written to it while it was kept); those that are
 * not are dropped (killed).  False when none is left. */
static bool take_spare(struct contain *c, struct contain_job *cj)
{
	for (;;) {
		pthread_mutex_lock(&c->mtx);
		bool any = c->nspare > 0;
		if (any) {
			struct cg_spare *sp = &c->spare[--c->nspare];
			cj->dirfd = sp->dirfd;
			cj->wd = sp->wd;
			cj->has_cg = true;
			memcpy(cj->name, sp->name, sizeof cj->name);
		}
		pthread_mutex_unlock(&c->mtx);
		if (!any)
			return false;
		bool populated, frozen;
		if (cg_state(cj->dirfd, &populated, &frozen) == 0 && !populated && !frozen &&
		    still_as_made(c, cj)) {
			cj->reused = true;
			return true;
		}
		contain_job_drop(c, cj, true);
	}
}

int contain_job_prepare(struct contain *c, struct contain_job *cj, bool fresh)
{
	cj->shared = false;
	cj->dirfd = -1;
	cj->wd = -1;
	cj->has_cg = false;
	cj->reused = cj->empty = cj->killed = false;
	cj->slot = 0;
	if (contain_mode_now(c) != CONTAIN_CGROUP)
		return -1;
	if (!fresh && take_spare(c, cj))
		return cj->dirfd;
	snprintf(cj->name, sizeof cj->name, "job%lu", __atomic_add_fetch(&c->seq, 1, __ATOMIC_RELAXED));
	if (mkdirat(c->run_dirfd, cj->name, 0755) < 0)
		return -1;
	cj->dirfd = pathfd_openat(c->run_dirfd, cj->name, O_DIRECTORY);
	cj->has_cg = cj->dirfd >= 0;
	if (cj->dirfd < 0) {
		int e = errno;
		unlinkat(c->run_dirfd, cj->name, AT_REMOVEDIR);
		errno = e;
		return -1;
	}
	if (!__atomic_load_n(&c->no_more, __ATOMIC_RELAXED)) { /* (else never kept) */
		note_made(c, cj->dirfd);
		watch(c, cj);
	}
	__atomic_add_fetch(&c->cg_created, 1, __ATOMIC_RELAXED);
	return cj->dirfd;
}

void contain_job_fds(struct contain *c, int *steady, int *transient)
{
	*steady = *transient = 0;
	if (contain_mode_now(c) != CONTAIN_CGROUP)
		return;
	pthread_mutex_lock(&c->mtx);
	*steady = c->nspare == 0;
	pthread_mutex_unlock(&c->mtx);
	*transient = !spawn_into_cgroup_ok();
}

bool contain_spares_drop(struct contain *c)
{
	pthread_mutex_lock(&c->mtx);
	size_t n = c->nspare;
	for (size_t i = 0; i < n; i++) {
		pathfd_close(c->spare[i].dirfd);
		if (c->run_dirfd >= 0)
			unlinkat(c->run_dirfd, c->spare[i].name, AT_REMOVEDIR);
	}
	c->nspare = 0;
	/* the watches' fd too: from now on every check is a full one */
	bool watched = c->ino_fd >= 0;
	if (watched)
		close(c->ino_fd);
	c->ino_fd = -1;
	c->no_watch = true;
	pthread_mutex_unlock(&c->mtx);
	return n > 0 || watched;
}

void contain_job_end(struct contain *c, struct contain_job *cj)
{
	if (contain_job_dir(c, cj) < 0) {
		/* none, or not to be opened: removed if it can be */
		contain_job_drop(c, cj, false);
		return;
	}
	bool populated = true, frozen = true;
	if (!cj->empty && cg_state(cj->dirfd, &populated, &frozen) == 0 && populated) {
		/* something is still in it: killed, never reused */
		contain_job_drop(c, cj, true);
		return;
	}
	/* not wanted or no room: not worth the checks */
	if (cj->killed || !spare_room(c) || !still_as_made(c, cj)) {
		contain_job_drop(c, cj, false);
		return;
	}
	contain_unslot(c, cj);
	bool kept = false;
	pthread_mutex_lock(&c->mtx);
	if (c->nspare < c->spares_max) {
		xgrow(&c->spare, &c->spare_cap, c->nspare + 1, sizeof *c->spare);
		struct cg_spare *sp = &c->spare[c->nspare++];
		sp->dirfd = cj->dirfd;
		sp->wd = cj->wd;
		memcpy(sp->name, cj->name, sizeof cj->name);
		kept = true;
	}
	pthread_mutex_unlock(&c->mtx);
	if (kept) {
		cj->dirfd = -1;
		cj->has_cg = false;
	} else {
		contain_job_drop(c, cj, false);
	}
}

void contain_job_discard(struct contain *c, struct contain_job *cj)
{
	contain_job_drop(c, cj, false);
}
