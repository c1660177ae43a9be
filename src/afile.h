/* SPDX-License-Identifier: GPL-3.0-or-later */
/* afile.h - a file replaced whole or not at all (--results, exec's
 * --json): written to a temporary file in the target's directory (an
 * unnamed O_TMPFILE one where the file system has them, so that a
 * SIGKILL leaves nothing behind), made durable and renamed over the
 * target at the end.  A run killed halfway leaves the previous file as
 * it was.  A target that is not a regular file (a FIFO, a device), a
 * symbolic link (/dev/stdout) or a file with other hard links is written
 * in place, truncated at the start as before. */
#ifndef PIPERUN_AFILE_H
#define PIPERUN_AFILE_H

#include <stdbool.h>

struct afile {
	char *path;          /* the target */
	char *tmp;           /* a named temporary file, or NULL */
	int fd;              /* -1: none */
	bool in_place;       /* not a regular file: written where it is */
	bool unnamed;        /* an O_TMPFILE, named only at the end */
};

/* Open for writing.  The target is checked now (a directory, no write
 * permission, no directory to put it in: -1 with errno) but not touched:
 * an existing file keeps its contents until afile_commit, and the new
 * one gets its mode.  flags: added to open's (O_NONBLOCK, say, for a
 * target that is a FIFO). */
int afile_open(struct afile *f, const char *path, int flags);
/* A target opened by the caller, written in place (f takes fd). */
void afile_in_place(struct afile *f, const char *path, int fd);
/* Make it the target: fdatasync, rename over it, fsync the directory;
 * the fd is closed either way.  0, or -1 with errno. */
int afile_commit(struct afile *f);
/* Drop it: the target stays as it was. */
void afile_abort(struct afile *f);

#endif
