/* SPDX-License-Identifier: GPL-3.0-or-later */
/* slurm.c - one Slurm allocation for a run (slurm.h): the Slurm client
 * commands run to a bounded end (salloc, scontrol, sinfo, scancel), the
 * allocation sized for the run's parallelism, the sentinel that cancels
 * it should the runner die before releasing it, and the scancel helpers
 * that signal steps while the run goes on, reaped without waiting. */
#include "config.h"
#include "slurm.h"
#include "spawn.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct slurm_helper {
	int pidfd;
	struct slurm_helper *next;
};

/* name's path on PATH (malloc'd), or NULL. */
static char *which(const char *name)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path; ; ) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char *f = xasprintf("%.*s/%s", (int)n, n ? p : ".", name);
		struct stat st;
		if (stat(f, &st) == 0 && S_ISREG(st.st_mode) && access(f, X_OK) == 0)
			return f;
		free(f);
		if (!e)
			return NULL;
		p = e + 1;
	}
}

/* Start argv with stdin on /dev/null, stdout and stderr on out_fd (or
 * /dev/null: -1), in the runner's process group, signals unblocked (the
 * runner keeps its own blocked); pdeath: what it gets if the runner
 * dies (spawn_opts).  Returns the pid (*pidfd its pidfd), or -1 with
 * errno. */
static pid_t start(char *const argv[], int out_fd, int pdeath, int *pidfd)
{
	int dn = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (dn < 0)
		return -1;
	struct spawn_opts so = {
		.path = argv[0], .argv = argv,
		.fd = { dn, out_fd >= 0 ? out_fd : dn, out_fd >= 0 ? out_fd : dn },
		.pgid = -1, .cgroup_fd = -1, .pdeath_sig = pdeath,
	};
	struct spawn_error se;
	pid_t pid;
	int rc = spawn_start(&so, &pid, pidfd, &se);
	close(dn);
	if (rc < 0) {
		errno = se.err;
		return -1;
	}
	return pid;
}

static int wait_status(int pidfd)
{
	struct spawn_exit x;
	int r = spawn_reap(pidfd, true, &x);
	close(pidfd);
	if (r <= 0)
		return -1;
	return x.signal ? 128 + x.signal : x.exit_code;
}

/* Run argv to its end, its stdout and stderr into out; after timeout_s
 * it gets SIGTERM, 3 s later SIGKILL.  Returns its exit status (128 + a
 * signal), or -1 with errno when it could not start. */
static int run_cmd(char *const argv[], double timeout_s, struct buf *out)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	int pidfd;
	pid_t pid = start(argv, p[1], SIGTERM, &pidfd);
	int err = errno;
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		errno = err;
		return -1;
	}
	double deadline = now_ms() + timeout_s * 1000, kill_at = 0;
	for (;;) {
		double left = (kill_at ? kill_at : deadline) - now_ms();
		struct pollfd pf = { p[0], POLLIN, 0 };
		int r = poll(&pf, 1, left > 0 ? (int)u_ceil(left) : 0);
		if (r > 0) {
			char b[4096];
			ssize_t n = read(p[0], b, sizeof b);
			if (n > 0) {
				buf_add(out, b, (size_t)n);
				continue;
			}
			if (n == 0 || errno != EINTR)
				break;
		} else if (r == 0) {
			kill(pid, kill_at ? SIGKILL : SIGTERM);
			if (kill_at)
				break;
			kill_at = now_ms() + 3000;
		}
	}
	close(p[0]);
	buf_addch(out, '\0');
	out->len--;
	return wait_status(pidfd);
}

/* The last line of out that says "error", or its last line; trimmed. */
static char *last_error(const struct buf *out)
{
	const char *s = out->p ? out->p : "", *best = NULL, *last = NULL;
	for (const char *l = s; *l; ) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		if (n) {
			last = l;
			if (memmem(l, n, "error", 5))
				best = l;
		}
		l += n + (e != NULL);
	}
	const char *l = best ? best : last;
	if (!l)
		return xstrdup("no message");
	const char *e = strchr(l, '\n');
	return xstrndup(l, e ? (size_t)(e - l) : strlen(l));
}

/* scontrol show job -o ID: its state and CPUs.  Returns 0, or -1 with
 * *why. */
static int job_info(const char *scontrol, const char *id, char *state, size_t nstate,
		    long *cpus, long *nodes, char **why)
{
	char *argv[] = { (char *)scontrol, "show", "job", "-o", (char *)id, NULL };
	struct buf out = { 0 };
	int rc = run_cmd(argv, 30, &out);
	const char *s = out.p ? out.p : "";
	const char *js = strstr(s, "JobState="), *nc = strstr(s, "NumCPUs=");
	if (rc != 0 || !js || !nc) {
		char *m = last_error(&out);
		*why = xasprintf("allocation %s: scontrol show job: %s", id, m);
		free(m);
		buf_free(&out);
		return -1;
	}
	js += 9;
	size_t n = strcspn(js, " \n");
	snprintf(state, nstate, "%.*s", (int)n, js);
	*cpus = strtol(nc + 8, NULL, 10);
	const char *nn = strstr(s, "NumNodes=");
	*nodes = nn ? strtol(nn + 9, NULL, 10) : 1;
	buf_free(&out);
	return 0;
}

/* The idle CPUs of the partition (the default one: all), 0 if unknown;
 * *total all of its CPUs. */
static long idle_cpus(const char *partition, long *total)
{
	*total = 0;
	char *sinfo = which("sinfo");
	if (!sinfo)
		return 0;
	char *argv[] = { sinfo, "-h", "-o", "%C", partition ? "-p" : NULL,
			 (char *)partition, NULL };
	struct buf out = { 0 };
	long idle = 0;
	if (run_cmd(argv, 30, &out) == 0)
		for (const char *l = out.p; l && *l; ) {
			long a, i, o, t;
			if (sscanf(l, "%ld/%ld/%ld/%ld", &a, &i, &o, &t) == 4) {
				idle += i;
				*total += t;
			}
			const char *e = strchr(l, '\n');
			l = e ? e + 1 : "";
		}
	buf_free(&out);
	free(sinfo);
	return idle;
}

/* salloc --no-shell for w's parallelism: a->jobid.  Returns 0, or -1
 * with *why. */
static int allocate(struct slurm_alloc *a, const struct slurm_want *w, char **why)
{
	const struct slurm_spec *x = a->spec;
	/* -j, else the idle CPUs; never more than the partition has (steps
	 * share the allocation's CPUs: --overlap) nor than there are jobs */
	long total, idle = idle_cpus(x->partition, &total);
	long par = w->max_parallel > 0 ? w->max_parallel : idle / x->cpus_per_job;
	if (total > 0 && par > total / x->cpus_per_job)
		par = total / x->cpus_per_job;
	if (w->jobs > 0 && par > w->jobs)
		par = w->jobs;
	if (par < 1)
		par = 1;
	char *salloc = which("salloc");
	char *opt[8] = { 0 };
	int no = 0;
	opt[no++] = xasprintf("--ntasks=%ld", par);
	opt[no++] = xasprintf("--cpus-per-task=%ld", x->cpus_per_job);
	/* salloc takes whole seconds, and 1 as "at once, or not" */
	long wait = w->wait_s < 0.5 ? 1 : (long)u_ceil(w->wait_s) < 2 ? 2 : (long)u_ceil(w->wait_s);
	opt[no++] = xasprintf("--immediate=%ld", wait);
	if (x->partition)
		opt[no++] = xasprintf("--partition=%s", x->partition);
	if (x->account)
		opt[no++] = xasprintf("--account=%s", x->account);
	if (x->time_limit)
		opt[no++] = xasprintf("--time=%s", x->time_limit);
	if (x->mem_mb)
		opt[no++] = xasprintf("--mem-per-cpu=%ldM",
				      (x->mem_mb + x->cpus_per_job - 1) / x->cpus_per_job);
	char *name = xasprintf("--job-name=%s", a->name);
	char *argv[16] = { salloc, "--no-shell", name };
	int n = 3;
	for (int i = 0; i < no; i++)
		argv[n++] = opt[i];
	argv[n] = NULL;
	struct buf out = { 0 };
	int rc = run_cmd(argv, w->wait_s + 30, &out);
	const char *g = out.p ? strstr(out.p, "Granted job allocation ") : NULL;
	if (g) {
		g += strlen("Granted job allocation ");
		a->jobid = xstrndup(g, strspn(g, "0123456789"));
		a->ours = true;
	}
	if (rc != 0 || !g || !*a->jobid) {
		char *m = last_error(&out);
		*why = rc < 0 ? xasprintf("salloc: %s", strerror(errno))
		     : xasprintf("no Slurm allocation within %gs: %s", w->wait_s, m);
		free(m);
	}
	for (int i = 0; i < no; i++)
		free(opt[i]);
	free(salloc);
	free(name);
	buf_free(&out);
	return *why ? -1 : 0;
}

/* piperun at the same path on every node of the allocation (the task
 * of each step is piperun itself): `piperun --version` as a step, once
 * per node.  Returns 0, or -1 with *why. */
static int check_nodes(struct slurm_alloc *a, long nodes, char **why)
{
	char jobid[64], n[32];
	snprintf(jobid, sizeof jobid, "--jobid=%s", a->jobid);
	snprintf(n, sizeof n, "--nodes=%ld", nodes < 1 ? 1 : nodes);
	char *argv[] = { a->srun, jobid, "--overlap", n, "--ntasks-per-node=1", "--quiet",
			 a->self, "--version", NULL };
	struct buf out = { 0 };
	int rc = run_cmd(argv, 60, &out);
	if (rc != 0) {
		char *m = last_error(&out);
		*why = xasprintf("--executor slurm: %s does not run on every node of allocation %s "
				 "(piperun must be installed at the same path there): %s",
				 a->self, a->jobid, m);
		free(m);
	}
	buf_free(&out);
	return rc == 0 ? 0 : -1;
}

/* The Slurm commands and piperun's own path. */
static int find_commands(struct slurm_alloc *a, char **why)
{
	static const char *const need[] = { "srun", "salloc", "scancel", "scontrol" };
	for (size_t i = 0; i < sizeof need / sizeof *need; i++) {
		char *p = which(need[i]);
		if (!p) {
			*why = xasprintf("--executor slurm: %s not found on PATH (is Slurm's client "
					 "installed?)", need[i]);
			return -1;
		}
		if (i == 0)
			a->srun = p;
		else if (i == 2)
			a->scancel = p;
		else
			free(p);
	}
	a->squeue = which("squeue");   /* the sentinel's, for steps */
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0) {
		*why = xasprintf("--executor slurm: /proc/self/exe: %s", strerror(errno));
		return -1;
	}
	self[n] = '\0';
	a->self = xstrdup(self);
	return 0;
}

static void rundir_remove(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			char *f = xasprintf("%s/%s", dir, e->d_name);
			unlink(f);
			free(f);
		}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* ------------------------------------------------------------ sentinel */

/* What a run makes on Slurm's side must not outlive a runner that dies,
 * whenever it dies.  The guardian (contain.c) cancels the allocation by
 * its id, but it starts with the run's containment, after the
 * allocation (the run is sized by it), and contain_fini forgets the id
 * before slurm_alloc_release cancels it: a runner SIGKILLed while salloc
 * ran, after it returned, or at the run's end leaked the allocation.
 * So before salloc starts, a sentinel is forked (twice: a child of the
 * runner would be taken for an orphan of the run at its end) that knows
 * the allocation by the unique name salloc is given, and the run
 * directory.  It waits on a pipe from the runner: "d" (the release is
 * done) and it exits; EOF without it (the runner died) and it runs
 * `scancel --name=NAME --user=UID`, which finds the job pending,
 * granted, or granted with its id never read, and again 1 s later (a
 * salloc killed with its request in flight: the job shows once
 * slurmctld took it), then removes the run directory.  In an
 * allocation piperun did not make (a job id, SLURM_JOB_ID's), which
 * stays, the run's steps would go on after the runner died (the
 * guardian kills the local sruns, which does not end their steps): the
 * steps bear the same name (srun --job-name), and the sentinel cancels
 * each step of the allocation that squeue -s lists with it.  As the guardian
 * it runs in a session of its own and ignores every signal it can.
 * Its other pipe, whose write end only it holds, tells the runner when
 * it is gone. */

static void make_name(struct slurm_alloc *a)
{
	unsigned char r[8];
	if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
		/* no entropy yet: unique enough with the pid and the time */
		unsigned long long v = (unsigned long long)getpid() << 40 ^
				       (unsigned long long)(now_ms() * 1000);
		memcpy(r, &v, sizeof r);
	}
	int n = snprintf(a->name, sizeof a->name, "piperun-");
	for (size_t i = 0; i < sizeof r; i++)
		n += snprintf(a->name + n, sizeof a->name - (size_t)n, "%02x", r[i]);
}

/* Run argv to its end, at most 30 s (then SIGKILL); its stdout into out
 * (size bytes, NUL-ended: what does not fit is dropped) when out. */
static void sentinel_exec(char *const argv[], char *out, size_t size)
{
	int p[2] = { -1, -1 };
	if (out && (size == 0 || pipe2(p, O_CLOEXEC) < 0))
		return;
	pid_t pid = fork();
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = SIG_DFL };
		for (int sig = 1; sig < NSIG; sig++)
			sigaction(sig, &sa, NULL);
		if (p[1] >= 0)
			dup2(p[1], 1);
		execve(argv[0], argv, environ);
		_exit(127);
	}
	if (p[1] >= 0)
		close(p[1]);
	size_t len = 0;
	bool reaped = pid < 0;
	for (int i = 0; i < 3000 && (!reaped || p[0] >= 0); i++) {
		struct pollfd pf = { p[0], POLLIN, 0 };   /* -1: a 10 ms sleep */
		char b[4096];
		ssize_t r;
		if (poll(&pf, 1, 10) > 0 && p[0] >= 0) {
			if ((r = read(p[0], b, sizeof b)) <= 0) {
				close(p[0]);
				p[0] = -1;
			} else {
				size_t k = (size_t)r < size - 1 - len ? (size_t)r : size - 1 - len;
				memcpy(out + len, b, k);
				len += k;
			}
		}
		if (!reaped && waitpid(pid, NULL, WNOHANG) != 0)
			reaped = true;
	}
	if (p[0] >= 0)
		close(p[0]);
	if (!reaped) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (out)
		out[len] = '\0';
}

/* The allocation piperun asked for: every job of the user by its name
 * (pending or granted), waiting at most 30 s. */
static void sentinel_cancel_alloc(const struct slurm_alloc *a)
{
	char n[80], u[32];
	snprintf(n, sizeof n, "--name=%s", a->name);
	snprintf(u, sizeof u, "--user=%u", (unsigned)getuid());
	char *argv[] = { a->scancel, "--quiet", u, n, NULL };
	sentinel_exec(argv, NULL, 0);
}

/* An allocation piperun did not make: the run's steps in it, found by
 * their name (squeue -s; scancel --name knows jobs only). */
static void sentinel_cancel_steps(const struct slurm_alloc *a)
{
	static char out[1 << 16];
	char *q[] = { a->squeue, "-h", "-s", "-j", a->jobid, "-o", "%i %j", NULL };
	sentinel_exec(q, out, sizeof out);
	for (char *l = out; *l; ) {
		char *e = strchr(l, '\n');
		if (e)
			*e = '\0';
		char id[64], nm[64];
		if (sscanf(l, "%63s %63s", id, nm) == 2 && !strcmp(nm, a->name)) {
			char *c[] = { a->scancel, "--quiet", id, NULL };
			sentinel_exec(c, NULL, 0);
		}
		if (!e)
			break;
		l = e + 1;
	}
}

static _Noreturn void sentinel_main(int rfd, int wfd, const struct slurm_alloc *a)
{
	keep_only_fds(rfd, wfd);
	keeper_detach("piperun-sentry");
	char c = 0;
	ssize_t r;
	while ((r = read(rfd, &c, 1)) < 0 && errno == EINTR)
		;
	if (r == 1 && c == 'd')
		_exit(0);
	/* twice: a request or step in flight shows once slurmctld took it */
	for (int pass = 0; pass < 2; pass++) {
		if (pass) {
			struct timespec ts = { 1, 0 };
			nanosleep(&ts, NULL);
		}
		if (a->asked)
			sentinel_cancel_alloc(a);
		else if (a->jobid && a->squeue)
			sentinel_cancel_steps(a);
	}
	if (a->rundir)
		rundir_remove(a->rundir);
	_exit(0);
}

/* Start a's sentinel.  Returns 0, or -1 with *why. */
static int sentinel_start(struct slurm_alloc *a, char **why)
{
	int to[2], back[2];
	if (pipe2(to, O_CLOEXEC) < 0)
		goto fail;
	if (pipe2(back, O_CLOEXEC) < 0) {
		close(to[0]);
		close(to[1]);
		goto fail;
	}
	pid_t mid = fork();
	if (mid == 0) {
		pid_t pid = fork();
		if (pid == 0)
			sentinel_main(to[0], back[1], a);
		_exit(pid < 0 ? 1 : 0);
	}
	int err = errno, st = 0;
	close(to[0]);
	close(back[1]);
	while (mid > 0 && waitpid(mid, &st, 0) < 0 && errno == EINTR)
		;
	if (mid < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		close(to[1]);
		close(back[0]);
		errno = mid < 0 ? err : EAGAIN;
		goto fail;
	}
	a->sentinel = to[1];
	a->sentinel_gone = back[0];
	return 0;
fail:
	*why = xasprintf("--executor slurm: cannot start the process that cancels the "
			 "allocation should piperun die: %s", strerror(errno));
	return -1;
}

/* The release is done: the sentinel exits; wait for it (up to 5 s). */
static void sentinel_stop(struct slurm_alloc *a)
{
	if (a->sentinel >= 0) {
		/* a sentinel killed by someone: EPIPE, and not the SIGPIPE
		 * that would end piperun (taken back if it came) */
		sigset_t pipe, old, pending;
		sigemptyset(&pipe);
		sigaddset(&pipe, SIGPIPE);
		pthread_sigmask(SIG_BLOCK, &pipe, &old);
		sigpending(&pending);
		if (write(a->sentinel, "d", 1) < 0 && errno == EPIPE &&
		    !sigismember(&pending, SIGPIPE)) {
			struct timespec zero = { 0, 0 };
			sigtimedwait(&pipe, NULL, &zero);
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		close(a->sentinel);
		a->sentinel = -1;
	}
	if (a->sentinel_gone >= 0) {
		struct pollfd pf = { a->sentinel_gone, POLLIN, 0 };
		while (poll(&pf, 1, 5000) < 0 && errno == EINTR)
			;
		close(a->sentinel_gone);
		a->sentinel_gone = -1;
	}
}

int slurm_alloc_get(struct slurm_alloc *a, const struct slurm_spec *x,
		    const struct slurm_want *w, char **why)
{
	memset(a, 0, sizeof *a);
	a->sentinel = a->sentinel_gone = -1;
	pthread_mutex_init(&a->mtx, NULL);
	a->spec = x;
	*why = NULL;
	if (find_commands(a, why) < 0)
		goto fail;
	const char *tmp = getenv("PIPERUN_SLURM_DIR");
	char *tmpl = xasprintf("%s/piperun-slurm.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl)) {
		*why = xasprintf("--executor slurm: run directory %s: %s", tmpl, strerror(errno));
		free(tmpl);
		goto fail;
	}
	a->rundir = tmpl;
	const char *env = getenv("SLURM_JOB_ID");
	a->asked = x->alloc == SLURM_ALLOC_NEW || (x->alloc == SLURM_ALLOC_DEFAULT &&
						    (!env || !*env));
	make_name(a);
	if (x->alloc == SLURM_ALLOC_JOB)
		a->jobid = xstrdup(x->alloc_job);
	else if (!a->asked)
		a->jobid = xstrdup(env);
	/* from here on, a runner that dies leaves nothing behind */
	if (sentinel_start(a, why) < 0)
		goto fail;
	if (a->asked && allocate(a, w, why) < 0)
		goto fail;
	char state[32];
	long nodes;
	char *scontrol = which("scontrol");
	int rc = job_info(scontrol, a->jobid, state, sizeof state, &a->cpus, &nodes, why);
	free(scontrol);
	if (rc < 0)
		goto fail;
	if (strcmp(state, "RUNNING")) {
		*why = xasprintf("allocation %s is %s, not RUNNING", a->jobid, state);
		goto fail;
	}
	if (check_nodes(a, nodes, why) < 0)
		goto fail;
	return 0;
fail:
	slurm_alloc_release(a);
	return -1;
}

long slurm_alloc_parallel(const struct slurm_alloc *a)
{
	long n = a->cpus / a->spec->cpus_per_job;
	return n < 1 ? 1 : n;
}

char *slurm_status_path(struct slurm_alloc *a)
{
	pthread_mutex_lock(&a->mtx);
	unsigned long n = ++a->seq;
	pthread_mutex_unlock(&a->mtx);
	return xasprintf("%s/%lu.status", a->rundir, n);
}

/* ------------------------------------------------------------- helpers */

static void reap(struct slurm_alloc *a, bool block)
{
	pthread_mutex_lock(&a->mtx);
	for (struct slurm_helper **h = &a->helpers; *h; ) {
		struct spawn_exit x;
		int r = spawn_reap((*h)->pidfd, block, &x);
		if (r == 0 || (r < 0 && errno == EINTR)) {
			h = &(*h)->next;
			continue;
		}
		/* reaped (or by the runner's orphan reaper: ECHILD) */
		struct slurm_helper *d = *h;
		*h = d->next;
		close(d->pidfd);
		free(d);
	}
	pthread_mutex_unlock(&a->mtx);
}

/* srun forks a process of its own (an srun too), which now and then
 * outlives it by a moment; we, a subreaper, adopt it then.  At the
 * run's end, wait for those (up to 2 s) and reap them, so that they are
 * not taken for orphans the run left behind. */
static void wait_srun_children(void)
{
	for (int round = 0; round < 200; round++) {
		char path[64];
		size_t nk;
		pid_t *kids = own_children(&nk);
		bool any = false;
		for (size_t i = 0; i < nk; i++) {
			pid_t pid = kids[i];
			char comm[32] = "";
			snprintf(path, sizeof path, "/proc/%d/comm", pid);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			ssize_t r = fd >= 0 ? read(fd, comm, sizeof comm - 1) : -1;
			if (fd >= 0)
				close(fd);
			if (r <= 0 || strcmp(comm, "srun\n"))
				continue;
			siginfo_t si;
			memset(&si, 0, sizeof si);
			if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG) < 0 || si.si_pid != pid)
				any = true;   /* still running (or another's to reap) */
		}
		free(kids);
		if (!any)
			return;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

void slurm_reap_helpers(struct slurm_alloc *a, bool block)
{
	reap(a, block);
	if (block)
		wait_srun_children();
}

bool slurm_signal_step(struct slurm_alloc *a, const char *target, int sig)
{
	reap(a, false);
	char opt[32];
	snprintf(opt, sizeof opt, "--signal=%d", sig);
	char *argv[] = { a->scancel, "--quiet", opt, (char *)target, NULL };
	int pidfd;
	if (start(argv, -1, SPAWN_PDEATH_NONE, &pidfd) < 0)
		return false;
	struct slurm_helper *h = xcalloc(1, sizeof *h);
	h->pidfd = pidfd;
	pthread_mutex_lock(&a->mtx);
	h->next = a->helpers;
	a->helpers = h;
	pthread_mutex_unlock(&a->mtx);
	return true;
}

void slurm_alloc_release(struct slurm_alloc *a)
{
	reap(a, true);
	/* an allocation asked for by name: cancelled so, granted or not */
	if (a->asked && a->scancel) {
		char n[80], u[32];
		snprintf(n, sizeof n, "--name=%s", a->name);
		snprintf(u, sizeof u, "--user=%u", (unsigned)getuid());
		char *argv[] = { a->scancel, "--quiet", u, n, NULL };
		struct buf out = { 0 };
		run_cmd(argv, 30, &out);
		buf_free(&out);
	}
	a->ours = a->asked = false;
	if (a->rundir)
		rundir_remove(a->rundir);
	sentinel_stop(a);
	free(a->rundir);
	free(a->jobid);
	free(a->srun);
	free(a->scancel);
	free(a->squeue);
	free(a->self);
	a->rundir = a->jobid = a->srun = a->scancel = a->squeue = a->self = NULL;
}
