/* SPDX-License-Identifier: GPL-3.0-or-later */
/* pool-process.c - the pool's process mode (see pool.h): forked
 * workers, batches of indices out and results back over a socketpair
 * each (the wire protocol), a shared page saying which item each
 * worker is on, replacements for workers that die. */
#include "config.h"
#include "pool-int.h"
#include "loop.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* What each worker shows the parent: the item it is on, since when. */
struct pslot {
	volatile int64_t cur;       /* -1: between items */
	volatile double started_ms;
};

/* A result on the wire: this header, then an int64 / double / u32 length
 * and text, as kind says. */
struct wire {
	uint32_t index;
	uint8_t status;             /* POOL_OK or POOL_ERROR */
	uint8_t kind;
	uint16_t pad;
	double duration_ms;
};

struct pworker {
	int index;                  /* 1-based, as in results */
	pid_t pid;
	int pidfd, sock;
	struct watch w_sock, w_pid;
	uint32_t *batch;
	size_t nbatch, batch_cap;
	struct buf in;
	bool busy, timed_out;
};

struct ppool {
	const struct pool_opts *o;
	const struct pool_items *it;
	struct pool_result *res;
	struct loop *loop;
	struct pworker *w;
	int nw;
	struct pslot *slots;
	size_t *queue;              /* items to run again (a worker died) */
	size_t nqueue, qcap;
	size_t next, done;
	bool stop;
	struct timer tick;
	int failed;                 /* could not fork at all */
};

static void wire_put(struct buf *b, uint32_t index, const struct pool_result *r)
{
	struct wire h = { .index = index, .status = r->status, .kind = r->kind,
			  .duration_ms = r->duration_ms };
	if (r->status == POOL_ERROR)
		h.kind = PIPERUN_RESULT_ERROR;
	buf_add(b, &h, sizeof h);
	switch (h.kind) {
	case PIPERUN_RESULT_INT:
	case PIPERUN_RESULT_NUMBER:
		buf_add(b, &r->v, sizeof r->v);
		break;
	default: {
		uint32_t n = r->text ? (uint32_t)strlen(r->text) : 0;
		buf_add(b, &n, sizeof n);
		buf_add(b, r->text ? r->text : "", n);
	}
	}
}

/* The worker process: batches of indices in, results out. */
static void pworker_main(int sock, struct pslot *slot, const struct pool_opts *o,
			 const struct pool_items *it, int index, pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	signal(SIGPIPE, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	void *state = NULL;
	bool ok = !o->task->init || o->task->init(&state) == 0;
	struct buf out = { 0 };
	uint32_t *idx = NULL;
	size_t cap = 0;
	for (;;) {
		uint32_t n;
		if (read_full(sock, &n, sizeof n) < 0)
			break;
		xgrow(&idx, &cap, n ? n : 1, sizeof *idx);
		if (read_full(sock, idx, n * sizeof *idx) < 0)
			break;
		double clock = 0;
		for (uint32_t k = 0; k < n; k++) {
			struct pool_result r = { 0 };
			slot->started_ms = clock ? clock : now_ms();
			slot->cur = idx[k];
			if (ok) {
				pool_run_one(o, state, it, idx[k], &r, index, &clock);
			} else {
				r.status = POOL_ERROR;
				r.text = xstrdup("the task's init failed");
			}
			slot->cur = -1;
			wire_put(&out, idx[k], &r);
			free(r.text);
			if (out.len >= 32768) {
				if (write_full(sock, out.p, out.len) < 0)
					_exit(1);
				out.len = 0;
			}
		}
		if (out.len) {
			if (write_full(sock, out.p, out.len) < 0)
				_exit(1);
			out.len = 0;
		}
	}
	if (ok && o->task->fini)
		o->task->fini(state);
	_exit(0);
}

static void pw_on_sock(struct watch *w, uint32_t ev);
static void pw_on_pid(struct watch *w, uint32_t ev);

static int pw_spawn(struct ppool *p, struct pworker *w)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	p->slots[w->index - 1].cur = -1;
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		/* only its socket, as fd 3; stdout goes to stderr so that a
		 * chatty plugin cannot corrupt the results */
		int s = fcntl(sv[1], F_DUPFD, 10);
		dup2(s, 3);
		close_range(4, ~0U, 0);
		int dn = open("/dev/null", O_RDONLY);
		if (dn >= 0 && dn != 0) {
			dup2(dn, 0);
			close(dn);
		}
		dup2(2, 1);
		/* sanitizers: this copy of the pool never frees what it holds */
		pworker_main(3, &p->slots[w->index - 1], p->o, p->it, w->index, parent);
	}
	close(sv[1]);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	w->pid = pid;
	w->sock = sv[0];
	w->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	w->busy = false;
	w->timed_out = false;
	w->nbatch = 0;
	w->in.len = 0;
	loop_add(p->loop, &w->w_sock, w->sock, EPOLLIN, pw_on_sock, p);
	if (w->pidfd >= 0)
		loop_add(p->loop, &w->w_pid, w->pidfd, EPOLLIN, pw_on_pid, p);
	return 0;
}

static void pw_assign(struct ppool *p, struct pworker *w)
{
	if (p->stop || w->busy || w->sock < 0)
		return;
	size_t remaining = p->nqueue + (p->it->n - p->next);
	if (!remaining)
		return;
	size_t bs = remaining / ((size_t)p->nw * 4);
	bs = bs < 1 ? 1 : bs > 4096 ? 4096 : bs;
	w->nbatch = 0;
	while (w->nbatch < bs && (p->nqueue || p->next < p->it->n)) {
		size_t i = p->nqueue ? p->queue[--p->nqueue] : p->next++;
		xgrow(&w->batch, &w->batch_cap, w->nbatch + 1, sizeof *w->batch);
		w->batch[w->nbatch++] = (uint32_t)i;
	}
	uint32_t n = (uint32_t)w->nbatch;
	w->busy = true;
	if (write_full(w->sock, &n, sizeof n) < 0 ||
	    write_full(w->sock, w->batch, n * sizeof *w->batch) < 0) {
		/* the worker is gone: its pidfd will say so and requeue */
	}
}

static void pw_take(struct ppool *p, struct pworker *w)
{
	size_t off = 0;
	for (;;) {
		if (w->in.len - off < sizeof(struct wire))
			break;
		struct wire h;
		memcpy(&h, w->in.p + off, sizeof h);
		size_t need = sizeof h;
		uint32_t tlen = 0;
		if (h.kind == PIPERUN_RESULT_INT || h.kind == PIPERUN_RESULT_NUMBER) {
			need += 8;
		} else {
			if (w->in.len - off < sizeof h + 4)
				break;
			memcpy(&tlen, w->in.p + off + sizeof h, 4);
			need += 4 + tlen;
		}
		if (w->in.len - off < need)
			break;
		if (h.index < p->it->n && p->res[h.index].status == POOL_PENDING) {
			struct pool_result *r = &p->res[h.index];
			r->status = h.status;
			r->kind = h.kind;
			r->duration_ms = (float)h.duration_ms;
			r->worker = (uint16_t)w->index;
			const char *payload = w->in.p + off + sizeof h;
			if (h.kind == PIPERUN_RESULT_INT || h.kind == PIPERUN_RESULT_NUMBER)
				memcpy(&r->v, payload, 8);
			else
				r->text = xstrndup(payload + 4, tlen);
			p->done++;
			if (p->o->on_result)
				p->o->on_result(h.index, r, p->o->ctx);
			if (p->o->fail_fast && r->status == POOL_ERROR)
				p->stop = true;
		}
		off += need;
	}
	memmove(w->in.p, w->in.p + off, w->in.len - off);
	w->in.len -= off;
	/* the batch is complete when every item of it has a result */
	if (w->busy) {
		bool complete = true;
		for (size_t k = 0; k < w->nbatch && complete; k++)
			complete = p->res[w->batch[k]].status != POOL_PENDING;
		if (complete) {
			w->busy = false;
			pw_assign(p, w);
		}
	}
}

static void pw_drain(struct ppool *p, struct pworker *w)
{
	for (;;) {
		buf_reserve(&w->in, 65536);
		ssize_t r = read(w->sock, w->in.p + w->in.len, w->in.cap - w->in.len - 1);
		if (r > 0) {
			w->in.len += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		break;
	}
	pw_take(p, w);
}

static void pw_on_sock(struct watch *wt, uint32_t ev)
{
	struct ppool *p = wt->data;
	struct pworker *w = (struct pworker *)((char *)wt - offsetof(struct pworker, w_sock));
	pw_drain(p, w);
}

static void pw_close(struct ppool *p, struct pworker *w)
{
	if (w->sock >= 0) {
		loop_del(p->loop, &w->w_sock);
		close(w->sock);
		w->sock = -1;
	}
	if (w->pidfd >= 0) {
		loop_del(p->loop, &w->w_pid);
		close(w->pidfd);
		w->pidfd = -1;
	}
}

/* A worker died: what it had started costs exactly its current item; the
 * rest of its batch goes to a replacement. */
static void pw_on_pid(struct watch *wt, uint32_t ev)
{
	struct ppool *p = wt->data;
	struct pworker *w = (struct pworker *)((char *)wt - offsetof(struct pworker, w_pid));
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid(P_PIDFD, (id_t)w->pidfd, &si, WEXITED | WNOHANG) < 0 || !si.si_pid)
		return;
	pw_drain(p, w);
	int64_t cur = p->slots[w->index - 1].cur;
	char *why = w->timed_out ? xstrdup("timed out (the worker was killed)")
		: si.si_code == CLD_EXITED ? xasprintf("the worker exited with status %d", si.si_status)
		: xasprintf("the worker was killed by %s", sig_name(si.si_status));
	for (size_t k = 0; w->busy && k < w->nbatch; k++) {
		size_t i = w->batch[k];
		if (p->res[i].status != POOL_PENDING)
			continue;
		if ((int64_t)i == cur) {
			struct pool_result *r = &p->res[i];
			r->status = POOL_ERROR;
			r->text = xstrdup(why);
			r->worker = (uint16_t)w->index;
			r->duration_ms = (float)(now_ms() - p->slots[w->index - 1].started_ms);
			p->done++;
			if (p->o->on_result)
				p->o->on_result(i, r, p->o->ctx);
			if (p->o->fail_fast)
				p->stop = true;
		} else {
			xgrow(&p->queue, &p->qcap, p->nqueue + 1, sizeof *p->queue);
			p->queue[p->nqueue++] = i;
		}
	}
	free(why);
	w->busy = false;
	pw_close(p, w);
	if (!p->stop && (p->nqueue || p->next < p->it->n)) {
		if (pw_spawn(p, w) == 0)
			pw_assign(p, w);
		else
			p->failed++;
	}
}

static void pw_tick(struct timer *t)
{
	struct ppool *p = t->data;
	double now = now_ms();
	for (int k = 0; k < p->nw; k++) {
		struct pworker *w = &p->w[k];
		struct pslot *s = &p->slots[k];
		if (w->sock >= 0 && w->busy && !w->timed_out && s->cur >= 0 &&
		    now - s->started_ms > p->o->timeout * 1000) {
			w->timed_out = true;
			kill_pid(w->pid, SIGKILL);
		}
	}
	double every = p->o->timeout * 1000 / 10;
	timer_start(p->loop, &p->tick, now + (every < 1 ? 1 : every > 100 ? 100 : every),
		    pw_tick, p);
}

static bool pw_any_alive(struct ppool *p)
{
	for (int k = 0; k < p->nw; k++)
		if (p->w[k].sock >= 0)
			return true;
	return false;
}

int pool_run_processes(const struct pool_opts *o, const struct pool_items *it,
		       struct pool_result *res, char **why)
{
	struct ppool p = { .o = o, .it = it, .res = res, .nw = o->workers };
	if ((size_t)p.nw > it->n)
		p.nw = it->n ? (int)it->n : 1;
	p.loop = loop_new();
	p.slots = mmap(NULL, (size_t)p.nw * sizeof *p.slots, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!p.loop || p.slots == MAP_FAILED) {
		*why = xasprintf("pool: cannot set up process mode: %s", strerror(errno));
		loop_free(p.loop);
		return -1;
	}
	/* Workers never touch the results array (theirs go over the socket):
	 * leave it out of their address space, or every page the parent
	 * writes after a fork is a copy-on-write fault. */
	madvise(res, (it->n ? it->n : 1) * sizeof *res, MADV_DONTFORK);
	p.w = xcalloc((size_t)p.nw, sizeof *p.w);
	int started = 0;
	for (int k = 0; k < p.nw; k++) {
		p.w[k].index = k + 1;
		p.w[k].sock = p.w[k].pidfd = -1;
		if (it->n && pw_spawn(&p, &p.w[k]) == 0)
			started++;
	}
	if (it->n && !started) {
		*why = xasprintf("pool: cannot start worker processes: %s", strerror(errno));
		loop_free(p.loop);
		munmap(p.slots, (size_t)p.nw * sizeof *p.slots);
		free(p.w);
		return -1;
	}
	for (int k = 0; k < p.nw; k++)
		pw_assign(&p, &p.w[k]);
	if (o->timeout > 0) {
		p.tick.data = &p;
		pw_tick(&p.tick);
	}
	while (p.done < it->n && pw_any_alive(&p)) {
		/* fail-fast: stop once nothing is in flight */
		if (p.stop) {
			bool busy = false;
			for (int k = 0; k < p.nw; k++)
				busy |= p.w[k].busy && p.w[k].sock >= 0;
			if (!busy)
				break;
		}
		if (loop_run_once(p.loop, -1) < 0 && errno != EINTR)
			break;
	}
	timer_stop(p.loop, &p.tick);
	/* EOF tells every worker to finish; then reap them all: no worker
	 * outlives the pool */
	for (int k = 0; k < p.nw; k++) {
		struct pworker *w = &p.w[k];
		if (w->sock >= 0) {
			loop_del(p.loop, &w->w_sock);
			close(w->sock);
			w->sock = -1;
		}
	}
	for (int k = 0; k < p.nw; k++) {
		struct pworker *w = &p.w[k];
		if (w->pidfd >= 0) {
			siginfo_t si;
			while (waitid(P_PIDFD, (id_t)w->pidfd, &si, WEXITED) < 0 && errno == EINTR)
				;
			loop_del(p.loop, &w->w_pid);
			close(w->pidfd);
			w->pidfd = -1;
		}
		buf_free(&w->in);
		free(w->batch);
	}
	loop_free(p.loop);
	munmap(p.slots, (size_t)p.nw * sizeof *p.slots);
	free(p.w);
	free(p.queue);
	for (size_t i = 0; i < it->n; i++)
		if (res[i].status == POOL_PENDING && !p.stop && p.failed) {
			res[i].status = POOL_ERROR;
			res[i].text = xstrdup("no worker process could be started for it");
		}
	pool_skip_rest(res, it->n);
	return 0;
}
