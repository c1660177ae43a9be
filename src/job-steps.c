/* SPDX-License-Identifier: GPL-3.0-or-later */
/* job-steps.c - the job side of a steps job: the fds its host gets and
 * the info lines it sends back (progress, error, final counts), and the
 * job's outcome from them (see job-steps.h; the host is steps.c). */
#include "config.h"
#include "job-steps.h"

#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A steps host's info lines (steps.h): "P progress", "E error", and last
 * the JSON counts. */
static pthread_mutex_t steps_progress_mu = PTHREAD_MUTEX_INITIALIZER;

void job_steps_progress(const struct job *j, char *out, size_t n)
{
	pthread_mutex_lock(&steps_progress_mu);
	snprintf(out, n, "%s", j->steps_progress);
	pthread_mutex_unlock(&steps_progress_mu);
}

void job_steps_progress_clear(struct job *j)
{
	if (!j->steps_progress[0])
		return;
	pthread_mutex_lock(&steps_progress_mu);
	j->steps_progress[0] = 0;
	pthread_mutex_unlock(&steps_progress_mu);
}

void job_steps_info(struct job *j)
{
	size_t off = 0;
	char *nl;
	while ((nl = memchr(j->resbuf.p + off, '\n', j->resbuf.len - off))) {
		char *line = j->resbuf.p + off;
		*nl = 0;
		if (!strncmp(line, "P ", 2)) {
			pthread_mutex_lock(&steps_progress_mu);
			snprintf(j->steps_progress, sizeof j->steps_progress, "%s", line + 2);
			pthread_mutex_unlock(&steps_progress_mu);
		} else if (!strncmp(line, "E ", 2)) {
			free(j->steps_error);
			j->steps_error = xstrdup(line + 2);
		} else if (*line == '{') {
			free(j->steps_info);
			j->steps_info = xstrdup(line);
		}
		off = (size_t)(nl - j->resbuf.p) + 1;
	}
	memmove(j->resbuf.p, j->resbuf.p + off, j->resbuf.len - off);
	j->resbuf.len -= off;
}

/* A steps host's status 2: the steps could not run (its "E" line or
 * stderr says why); 1 with an "E" line: that is the job's error. */
void job_steps_outcome(struct job *j)
{
	if (!j->has_rc || j->timed_out || j->cancelled)
		return;
	if (j->returncode == 2) {
		char *line = j->steps_error ? NULL : job_stderr_first_line(j);
		j->status = ST_ERROR;
		free(j->error);
		j->error = xstrdup(j->steps_error ? j->steps_error
				   : line ? line : "the steps could not run");
		free(line);
	} else if (j->returncode == 1 && j->steps_error) {
		free(j->error);
		j->error = xstrdup(j->steps_error);
	}
}

/* A steps host's fds beyond 0-2 (cmd-steps.c): 3 its description, 4 the
 * write end of its info pipe (read into resbuf). */
int job_steps_stdio(struct job *j, struct proc_stdio *io, int *desc)
{
	char *text = steps_describe(j->spec, j->env->spec->mode);
	*desc = memfd_from("piperun-steps", text, strlen(text));
	free(text);
	io[3] = (struct proc_stdio){ PROC_STDIO_FD, *desc };
	io[4] = JOB_PIPE_TO_RUNNER;
	return *desc < 0 ? -1 : 5;
}
