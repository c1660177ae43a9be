/* SPDX-License-Identifier: GPL-3.0-or-later */
/* afile.c - a file replaced whole or not at all; see afile.h. */
#include "config.h"
#include "afile.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The directory part of path ("." when it has none). */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

void afile_in_place(struct afile *f, const char *path, int fd)
{
	memset(f, 0, sizeof *f);
	f->path = xstrdup(path);
	f->fd = fd;
	f->in_place = true;
}

static void afile_free(struct afile *f)
{
	free(f->path);
	free(f->tmp);
	f->path = f->tmp = NULL;
	f->fd = -1;
}

int afile_open(struct afile *f, const char *path, int flags)
{
	memset(f, 0, sizeof *f);
	f->fd = -1;
	struct stat st, lst;
	bool exists = stat(path, &st) == 0;
	/* in place: what is not a plain file (a FIFO, a device), and what a
	 * rename would not replace but cut off: a symbolic link (/dev/stdout
	 * into a shell's redirection), a file with other links */
	bool link = exists && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode);
	if (exists && !S_ISDIR(st.st_mode) &&
	    (!S_ISREG(st.st_mode) || link || st.st_nlink > 1)) {
		int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | flags);
		if (fd < 0)
			return -1;
		afile_in_place(f, path, fd);
		return 0;
	}
	if (exists && S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		return -1;
	}
	if (exists && faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) < 0)
		return -1;
	mode_t mask = umask(0);
	umask(mask);
	mode_t mode = exists ? st.st_mode & 07777 : 0666 & ~mask;
	char *dir = dir_of(path);
	int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd >= 0) {
		f->unnamed = true;
	} else if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) {
		/* no O_TMPFILE here: a named one, removed if we fail */
		const char *base = strrchr(path, '/');
		f->tmp = xasprintf("%s/.%s.piperun-XXXXXX", dir, base ? base + 1 : path);
		fd = mkostemp(f->tmp, O_CLOEXEC);
	}
	int e = errno;
	free(dir);
	if (fd < 0) {
		afile_free(f);
		errno = e;
		return -1;
	}
	fchmod(fd, mode);
	f->fd = fd;
	f->path = xstrdup(path);
	return 0;
}

int afile_commit(struct afile *f)
{
	int rc = 0, e = 0;
	if (f->in_place) {
		rc = close(f->fd);
		afile_free(f);
		return rc;
	}
	if (fdatasync(f->fd) < 0) {
		rc = -1;
		e = errno;
	}
	if (!rc && f->unnamed) {
		/* name it beside the target; the rename then replaces it */
		char *dir = dir_of(f->path), proc[40];
		const char *base = strrchr(f->path, '/');
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", f->fd);
		for (int i = 0; i < 100 && !f->tmp && !rc; i++) {
			char *t = xasprintf("%s/.%s.piperun-%d.%d", dir, base ? base + 1 : f->path,
					    (int)getpid(), i);
			if (linkat(AT_FDCWD, proc, AT_FDCWD, t, AT_SYMLINK_FOLLOW) == 0) {
				f->tmp = t;
				continue;
			}
			free(t);
			if (errno != EEXIST) {
				rc = -1;
				e = errno;
			}
		}
		free(dir);
		if (!f->tmp && !rc) {
			rc = -1;
			e = EEXIST;
		}
	}
	if (!rc && rename(f->tmp, f->path) < 0) {
		rc = -1;
		e = errno;
	}
	if (close(f->fd) < 0 && !rc) {
		rc = -1;
		e = errno;
	}
	f->fd = -1;
	if (rc) {
		afile_abort(f);
		errno = e;
		return -1;
	}
	char *dir = dir_of(f->path);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	free(dir);
	afile_free(f);
	return 0;
}

void afile_abort(struct afile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->tmp && !f->in_place)
		unlink(f->tmp);
	afile_free(f);
}
