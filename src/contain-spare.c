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
 * cgroup, spawn.c) and unpopulated; when taken, unpopulated and not
 * frozen (cgroup.events), no subdirectory (the directory's link count),
 * no extended attribute added, the owner and mode of the directory and of
 * each control file and the values of its settings (depth and
 * descendant limits, subtree_control, type, pressure, controllers) as
 * mkdir makes them (read once per run, from its first job cgroup).
 * Checked when taken, not at the end: a job of the run can change an
 * idle kept cgroup that is not its own.  Checked by reading, not by
 * watching: some writes raise no inotify event (aio, an fd handed out
 * by fanotify).  Through the fd held since the mkdir, never by name: a
 * job can mount another cgroup over its own's name.  (File times
 * cannot tell either: a write that does not truncate leaves them, and
 * kernfs stamps them to the tick.)  About 30 system calls. */
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
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

/* Whose a job cgroup is: the directory's and these files' owner and
 * mode. */
static const char *const control_files[] = {
	"cgroup.freeze", "cgroup.kill", "cgroup.max.depth", "cgroup.max.descendants",
	"cgroup.pressure", "cgroup.subtree_control", "cgroup.threads", "cgroup.type",
	"cgroup.procs",
};
#define NCONTROL (sizeof control_files / sizeof *control_files)

/* What a job may set in its cgroup and leave to the next (controllers:
 * a root job can enable them above, and their limits come with them). */
static const char *const settings[] = {
	"cgroup.max.depth", "cgroup.max.descendants", "cgroup.subtree_control",
	"cgroup.type", "cgroup.pressure", "cgroup.controllers",
};
#define NSETTINGS (sizeof settings / sizeof *settings)

struct owner {
	uid_t uid;
	gid_t gid;
	mode_t mode;             /* 0: no such file */
};

struct cg_made {
	struct owner dir, file[NCONTROL];
	ssize_t xattrs;              /* the length of its xattr names, -1: none */
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

/* The length of the list of its extended attributes' names (through
 * the fd: not by name), -1 where there are none to have. */
static ssize_t xattr_names(int dirfd)
{
	return flistxattr(dirfd, NULL, 0);
}

static struct cg_made *made_now(int dirfd)
{
	struct cg_made *m = xcalloc(1, sizeof *m);
	m->dir = owner_of(dirfd, NULL, NULL);
	m->xattrs = xattr_names(dirfd);
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
	/* no extended attribute added (a note for the next job's tools) */
	if (xattr_names(cj->dirfd) != m->xattrs)
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
	if (cj->dirfd < 0)
		return;
	if (kill)
		cg_kill(cj->dirfd);
	close(cj->dirfd);
	cj->dirfd = -1;
	unlinkat(c->run_dirfd, cj->name, AT_REMOVEDIR);
}

/* A spare into cj, still unpopulated, not frozen and as made, checked
 * now (its own job or another of the run could have changed it, even
 * while it was kept); those that are not are dropped (killed).  False
 * when none is left. */
static bool take_spare(struct contain *c, struct contain_job *cj)
{
	for (;;) {
		pthread_mutex_lock(&c->mtx);
		bool any = c->nspare > 0;
		if (any) {
			struct cg_spare *sp = &c->spare[--c->nspare];
			cj->dirfd = sp->dirfd;
			memcpy(cj->name, sp->name, sizeof cj->name);
		}
		pthread_mutex_unlock(&c->mtx);
		if (!any)
			return false;
		bool populated, frozen;
		if (cg_state(cj->dirfd, &populated, &frozen) == 0 && !populated && !frozen &&
		    as_made(c, cj)) {
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
	cj->reused = cj->empty = cj->killed = false;
	cj->slot = 0;
	if (contain_mode_now(c) != CONTAIN_CGROUP)
		return -1;
	if (!fresh && take_spare(c, cj))
		return cj->dirfd;
	snprintf(cj->name, sizeof cj->name, "job%lu", __atomic_add_fetch(&c->seq, 1, __ATOMIC_RELAXED));
	if (mkdirat(c->run_dirfd, cj->name, 0755) < 0)
		return -1;
	/* a plain directory fd, not O_PATH: flistxattr takes it (and poll
	 * sees it: no pathfd count) */
	cj->dirfd = openat(c->run_dirfd, cj->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cj->dirfd < 0) {
		int e = errno;
		unlinkat(c->run_dirfd, cj->name, AT_REMOVEDIR);
		errno = e;
		return -1;
	}
	if (!__atomic_load_n(&c->no_more, __ATOMIC_RELAXED)) /* (else never kept) */
		note_made(c, cj->dirfd);
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
		close(c->spare[i].dirfd);
		if (c->run_dirfd >= 0)
			unlinkat(c->run_dirfd, c->spare[i].name, AT_REMOVEDIR);
	}
	c->nspare = 0;
	pthread_mutex_unlock(&c->mtx);
	return n > 0;
}

void contain_job_end(struct contain *c, struct contain_job *cj)
{
	if (cj->dirfd < 0) {
		contain_unslot(c, cj);
		return;
	}
	bool populated = true, frozen = true;
	if (!cj->empty && cg_state(cj->dirfd, &populated, &frozen) == 0 && populated) {
		/* something is still in it: killed, never reused */
		contain_job_drop(c, cj, true);
		return;
	}
	/* not wanted, no room, or never to be reused: removed (the checks
	 * come when it is taken) */
	if (cj->killed || !spare_room(c)) {
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
		memcpy(sp->name, cj->name, sizeof cj->name);
		kept = true;
	}
	pthread_mutex_unlock(&c->mtx);
	if (kept) {
		cj->dirfd = -1;
		} else {
		contain_job_drop(c, cj, false);
	}
}

void contain_job_discard(struct contain *c, struct contain_job *cj)
{
	contain_job_drop(c, cj, false);
}
