/* SPDX-License-Identifier: GPL-3.0-or-later */
/* job.h - one job of a run and its lifecycle.
 *
 *   PENDING --start--> RUNNING --exited--> ENDING
 *   ENDING --group empty (after the job's signal, then KILL)--> attempt end
 *   attempt end --retry (failed/timeout, retries left)--> RETRY_WAIT
 *   RETRY_WAIT --retry due--> PENDING --start--> RUNNING
 *   attempt end --end--> DONE
 *   PENDING --skip (dependency not ok / cancelled run)--> DONE
 *   RUNNING (files opening) --files open--> PENDING --start--> RUNNING
 *   RUNNING/ENDING --short (no headroom after all)--> PENDING
 * The table in job.c (job_state_next) is the whole of it.
 *
 * Events reach a job from the loop it was started on: its pidfd, its
 * stdin/stdout/stderr pipes and its timers.  A job never blocks, never
 * exits the program and never touches another job; it reports its end to
 * the runner through job_ops.done. */
#ifndef PIPERUN_JOB_H
#define PIPERUN_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture.h"
#include "codec.h"
#include "contain.h"
#include "loop.h"
#include "proc.h"
#include "util.h"
#include "spec.h"

enum job_state { JOB_PENDING, JOB_RUNNING, JOB_ENDING, JOB_RETRY_WAIT, JOB_DONE,
		 JOB__STATES };

/* What happens to a job.  Its lifecycle is the table job_state_next()
 * reads (job.c, s6-supervise style): every change of state is an event
 * that the table allows in the job's state. */
enum job_event {
	JOB_EV_START,        /* an attempt starts (or goes on, its files open) */
	JOB_EV_FILES_OPEN,   /* its files opened in the background: it waits
				to start through the runner like any other */
	JOB_EV_SHORT,        /* no headroom, or its start came short: it waits */
	JOB_EV_EXITED,       /* its process exited */
	JOB_EV_GROUP_EMPTY,  /* nothing of it is left: the attempt ends */
	JOB_EV_TIMEOUT,      /* its timeout fired */
	JOB_EV_CANCEL,       /* stop it (fail-fast, run timeout, interrupt) */
	JOB_EV_RETRY,        /* the attempt ended not ok, retries left */
	JOB_EV_END,          /* the attempt ended for good */
	JOB_EV_RETRY_DUE,    /* its retry delay is over */
	JOB_EV_SKIP,         /* it will never run */
	JOB_EV__COUNT
};

/* The state after e in s, or -1: e is refused there. */
int job_state_next(enum job_state s, enum job_event e);
const char *job_state_name(enum job_state s);
const char *job_event_name(enum job_event e);

enum job_status {
	ST_NONE, ST_OK, ST_FAILED, ST_TIMEOUT, ST_ERROR, ST_SKIPPED, ST_CANCELLED,
	ST__COUNT
};
const char *job_status_name(enum job_status s);

struct attempt_rec {
	enum job_status status;
	bool has_rc;
	int returncode;
	double duration_ms;
	double started_ms;           /* since run start */
	int slot;                    /* the slot it ran in (job.slot) */
};

/* Where stdin bytes come from while the runner feeds a pipe. */
struct feeder {
	enum in_kind kind;
	uint64_t off;
	struct splitmix_stream rng;  /* seeded random */
	uint64_t left;               /* random bytes still to send */
	const struct capture *src;   /* stdin.from */
	char *chunk;                 /* staged bytes not yet written */
	size_t chunk_len, chunk_off;
};

struct job;
struct job_ops {
	/* The job left RUNNING/ENDING (its slot is free): it is now DONE, or
	 * in RETRY_WAIT and will call ready() when its delay is over, or
	 * PENDING again: with resume, it calls ready() at once (its files,
	 * opened in the background, are there: it starts through job_start
	 * like any other); without, its start came short after all (its
	 * pipeline host could not fork; error says why) and it waits like
	 * a job_start that returned -1. */
	void (*ended)(struct job *j);
	void (*ready)(struct job *j);
	/* A child was reaped, or a group is being waited for: reap orphans
	 * that a not-yet-reaped job process may have hidden from the last
	 * SIGCHLD (waitid's peek shows one zombie at a time). */
	void (*reap_orphans)(struct job *j);
	/* A steps job sank items: its host's "S" lines (steps.h), whole,
	 * for the journal.  NULL: nobody journals them (env.journal_items
	 * is false and the host does not send them). */
	void (*items_sunk)(struct job *j, const char *lines, size_t n);
	void *ctx;
};

/* fds a run keeps free beyond those open now, shared by every loop of
 * the run (job_start waits for them; see fd_need in job-fds.c). */
struct fd_reserve {
	int runner;                  /* the runner's own passing needs: cgroup
					files read while handling events, /proc */
	long spills;                 /* spill files that running jobs' captures
					may still open (atomic) */
};

/* A file a job's start opens by path: stdin, stdout, stderr or a
 * pipeline stage's stderr file.  Opened at once, or in the background
 * when it is a FIFO or a device whose open may wait (opener.h). */
struct opener;
struct job_file {
	int fd;                      /* the child's end, once open; -1 */
	bool waited;                 /* opened in the background: kept while
					the job waits for headroom */
	struct opener *op;           /* while opening in the background */
	struct watch w;              /* op's completion */
};

/* Shared per-run resources a job needs. */
struct job_env {
	struct loop *loop;
	int devnull;                 /* O_RDWR, CLOEXEC */
	double run_t0;               /* monotonic ms at run start */
	char *scratch;               /* read buffer, JOB_SCRATCH bytes */
	const struct job_ops *ops;
	const struct spec *spec;
	struct job *all;             /* every job (for stdin.from) */
	struct contain *contain;
	const struct proc_executor *executor;  /* where jobs run; NULL: here */
	void *exec_ctx;              /* the executor's (slurm: the allocation) */
	struct fd_reserve *fds;      /* NULL: no reserve */
	bool tag, timestamps;        /* --tag, --timestamps: live lines prefixed */
	bool live_out_to_stderr;     /* the results use stdout: live stdout
					goes to stderr (CONTRACT §8.1) */
	bool journal_items;          /* steps jobs report the items they sink
					(ops->items_sunk) */
	bool stopping;               /* fail-fast, run timeout or interrupt (each
					thread-mode worker has its own copy) */
};
#define JOB_SCRATCH (64 * 1024)

/* A job's attempts: what it holds from its first start until its record
 * is out (job_release) and no job reads its stdout any more.  A job that
 * never started has none (job->run is NULL); job_run_of() gives such a
 * job's readers an empty one.  Most of a job's memory is here, so a
 * run's jobs that wait or are done cost only their struct job. */
struct job_run {
	/* the running attempt */
	struct proc proc;            /* the spawned process: the command, or
					a pipeline's or steps host; its
					termination and escaped lists are
					the record's */
	int fd_in, fd_out, fd_err;   /* runner ends, -1 when closed */
	struct watch w_in, w_out, w_err;
	struct feeder feed;
	double t_start;              /* monotonic ms */
	/* files opened by path, [0] stdin, [1] stdout, [2] stderr, [3 + i]
	 * pipeline stage i's stderr */
	struct job_file *files;
	size_t nfiles;
	int opening;                 /* of them, still opening: the job is
					RUNNING with no process yet */
	int fds_promised;            /* its share of fd_reserve.spills */
	struct timer t_timeout, t_retry;

	/* pipeline jobs: the host's records and diagnostics, and stage
	 * stderr captured per stage */
	int fd_res, fd_diag;
	struct watch w_res, w_diag;
	struct buf resbuf, diag;
	int *fd_stage;               /* per stage: -1 or a pipe read end */
	struct watch *w_stage;
	struct capture *stage_err;   /* per stage (active when captured) */
	struct live *stage_live;     /* per stage, for "inherit" under --tag */
	bool host_fatal;
	int host_fatal_err;
	int stages_ended;

	/* steps jobs: what the host reported on its info pipe (fd_res) */
	char *steps_info;            /* the final counts: a JSON object */
	char *steps_error;           /* its "E" line: the job's error */
	char steps_progress[200];    /* its last "P" line (job_steps_progress) */

	/* result of the last attempt */
	struct capture out, err;
	struct live live_out, live_err;
	struct stage_result *stages;
	size_t nstages;
	struct attempt_rec *hist;
	size_t nhist, hist_cap;
};

struct job {
	const struct job_spec *spec; /* NULL until the runner makes it (it
					leaves the ready list, or is skipped),
					and again once the job is let go:
					run_job_spec() makes it anew */
	struct job_env *env;
	struct job_run *run;         /* NULL: never started, or let go */
	size_t index;
	enum job_state state;

	/* scheduling (runner) */
	size_t deps_left;
	bool dep_failed;
	size_t *rdeps;               /* jobs that depend on this one */
	size_t nrdeps, rdeps_cap;
	int throttled;               /* starts deferred for lack of fds/processes */
	int from_refs;               /* jobs still to read this one's stdout */
	bool written;                /* its record is out: only counts needed */
	int slot;                    /* the concurrency slot its running (or
					last) attempt holds, 0..limit-1, or -1:
					the worker's index in thread mode
					(job_assign), else job_set_slot's */
	int owner;                   /* thread mode: the worker running it, or -1
					(-2: handed out, no worker took it yet;
					only the runner's lock protects it) */
	bool timed_out;
	bool cancelled;
	bool always;                 /* its spec's, known before it is made */
	const struct buf *sunk_before; /* --resume: its items sunk in an earlier
					  session (steps.h, fd 5), or NULL */

	/* result of the last attempt */
	enum job_status status;
	bool has_rc;
	int returncode;
	char *error;
	double started_ms;           /* first attempt, since run start */
	double duration_ms;
	int attempts;
	int short_tries;             /* starts that came short with nothing
					else running (runner.c) */
	/* restored from a journal (--resume): its record there, as JSON
	 * text; the job never ran in this run */
	char *restored;
};

/* j's attempts, made on its first start (job.c); read-only callers of a
 * job that may never have started use job_run_of. */
struct job_run *job_run_make(struct job *j);
/* j's attempts, or an empty one (no process, no output, no stages) for
 * a job that has none. */
extern const struct job_run job_run_none;
static inline const struct job_run *job_run_of(const struct job *j)
{
	return j->run ? j->run : &job_run_none;
}

/* A job that ended ok in an earlier run, as its journal tells. */
struct job_restored {
	char *record;                /* its record, JSON text (malloc'd) */
	int attempts;
	bool has_rc;
	int returncode;
	double duration_ms;
	bool has_out;                /* its stdout, for the jobs that read it */
	char *out;                   /* (malloc'd) */
	size_t out_len;
};

/* Does piperun relay this stream of the job live: tee, and with --tag
 * an inherited or captured stream too (but a pool job's stdout, which is
 * its results)? */
bool job_stream_live(const struct job_spec *s, const struct io_spec *io, bool tag);

/* The status of an attempt that ran: timeout, cancelled, else ok when
 * rc is expected (expect[]; none given: 0) and failed when not. */
enum job_status job_outcome(bool timed_out, bool cancelled, int rc, const int *expect,
			    size_t nexpect);

/* Too few fds to start j, keep what running jobs were promised for
 * their spill files and leave the runner its own (job-fds.c)?  Sets
 * *spills to what j will be promised once it runs. */
bool job_fds_short(const struct job *j, int *spills);

/* For the kinds' job side (kind-*.c), from job.c: */
/* A pipe the runner reads, made by proc_spawn. */
extern const struct proc_stdio JOB_PIPE_TO_RUNNER;
/* The child's fd for an output stream io (inherit: inherit_fd; a file:
 * the job's file slot file). */
struct proc_stdio job_out_slot(const struct job *j, const struct io_spec *io,
			       int inherit_fd, size_t file);
/* The first line of the job's captured stderr, or NULL. */
char *job_stderr_first_line(const struct job *j);
/* The attempt's stages[0], has_rc and returncode: its process's (the
 * outcome of a kind whose process is its one stage). */
void job_proc_outcome(struct job *j);

void job_init(struct job *j, const struct job_spec *spec, size_t index,
	      struct job_env *env);
/* A job initialised with no spec (its spec's job is not made yet):
 * what l says of it (spec_job_links); job_make_spec makes it (s's job
 * j->index) when it is needed. */
struct spec_links;
void job_set_links(struct job *j, const struct spec_links *l);
void job_make_spec(struct job *j, const struct spec *s);
/* The runner's side of a job, through these only (it never writes a
 * job's fields): */
/* idx depends on dep (dep's rdeps). */
void job_add_dependent(struct job *dep, size_t idx);
/* One more job reads dep's stdout (stdin.from). */
void job_add_reader(struct job *src);
/* A reader of src ended: with none left, a written src lets go of its
 * output, and of its spec (s's job src->index; s NULL: kept). */
void job_reader_done(struct job *src, const struct spec *s);
enum job_dep { JOB_DEP_WAIT, JOB_DEP_READY, JOB_DEP_SKIPPED };
/* A dependency of j reached DONE: j is skipped (it was not ok and j is
 * not `always`), ready (its last dependency), or still waits. */
enum job_dep job_dep_done(struct job *j, const struct job *dep);
/* A start that found no headroom (err): the error it will carry if it
 * never gets any. */
void job_start_short(struct job *j, int err);
/* A start that came short (no fds or processes; its pipeline host could
 * not fork, an opener thread could not open): SHORT_WAIT for a running
 * job to end (others: one is running or starting); with nothing else
 * running, SHORT_RETRY after a pause (what ended last may count against
 * the limits a moment longer: a process until it is reaped, an orphan
 * until the runner reaps it, which the caller does now), up to
 * SHORT_TRIES times (about 1 s in all); then SHORT_FAIL: the job is
 * DONE, an error. */
enum short_verdict { SHORT_WAIT, SHORT_RETRY, SHORT_FAIL };
#define SHORT_TRIES 10
enum short_verdict job_start_came_short(struct job *j, bool others);
/* Its retry delay is over (or its files opened): PENDING again. */
void job_retry_due(struct job *j);
/* PENDING with its attempt's files opened in the background (a FIFO
 * whose other end came): the next job_start goes on with that attempt
 * (derived: no process yet, nothing still opening, files kept). */
bool job_resumes(const struct job *j);
/* Thread mode: the worker that runs it (-1: none; a worker's index is
 * also the job's slot), and the env (loop) it runs on from now. */
void job_assign(struct job *j, int owner);
void job_move(struct job *j, struct job_env *env);
/* Async and serial mode: the slot its attempt starts in (minheap.h). */
static inline void job_set_slot(struct job *j, int slot)
{
	j->slot = slot;
}

/* Start an attempt.  Returns 0 (running, or ended at once with an error
 * status), or -1 when fds or processes ran short (errno EMFILE, ENFILE,
 * EAGAIN, ENOMEM): nothing was started and the caller may try later.
 * A job whose file is a FIFO (or a device) without its other end is
 * RUNNING with no process (pid 0) while it opens in the background; its
 * timeout runs.  Once open, the job goes back to PENDING (ended(), then
 * ready()) and the next job_start continues the same attempt. */
int job_start(struct job *j);
/* End a job that will never run (dependency not ok, fail-fast, run
 * timeout, interrupt). */
void job_skip(struct job *j, const char *why);
/* End a job that will not run because it ended ok before (--resume):
 * DONE, ok, its figures and record from r (j takes r->record), and its
 * captured stdout from r->out when r->has_out (stdin.from readers). */
void job_restore(struct job *j, struct job_restored *r);
/* Stop a running job: its signal to the group, then KILL after kill_after
 * (now = KILL at once).  status becomes cancelled. */
void job_cancel(struct job *j, bool now);
/* Its record has been written: free its captured output (kept while a
 * stdin.from reader still needs it) and stage records, and then its spec
 * (s's job j->index: spec_job_drop; s NULL: kept); status, returncode
 * and error stay for the summary and the text table. */
void job_release(struct job *j, const struct spec *s);
/* Release what a finished job holds (captures, records). */
void job_free(struct job *j);
bool job_ok(const struct job *j);
/* A running steps job's last progress line ("" if none); safe from any
 * thread.  Off the progress line (ended, or a new attempt): clear.
 * (kind-steps.c) */
void job_steps_progress(const struct job *j, char *out, size_t n);
void job_steps_progress_clear(struct job *j);

#endif
