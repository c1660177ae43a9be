/* SPDX-License-Identifier: GPL-3.0-or-later */
/* pool-process.c - the pool's process mode (see pool.h): forked
 * workers, batches of indices out over a socketpair each, results back
 * in wire frames through a ring per worker in a shared page (which also
 * says which item each worker is on and how many it has begun), the
 * socket waking a sleeping parent; replacements for workers that die,
 * none for one that dies before its first item. */
#include "config.h"
#include "pool-int.h"
#include "loop.h"
#include "task.h"
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
#include <linux/futex.h>
#include <sys/wait.h>
#include <unistd.h>

/* What each worker shows the parent: the item it is on, since when, and
 * how many items it has begun (the parent reads them when the worker
 * died: that is how it knows which items ran). */
struct pslot {
	/* written by the worker, on every item */
	volatile int64_t cur;       /* -1: between items */
	volatile double started_ms;
	uint64_t pos;               /* items begun of the current batch */
	uint64_t total;             /* items begun by this process */
	/* the results ring (RING bytes at ring_off in the shared page): a
	 * byte stream of wire frames, written up to wpos by the worker, read
	 * up to rpos by the parent (both only grow) */
	uint64_t wpos;
	size_t ring_off;
	/* written by the parent, and by the worker only around a wait: a
	 * cache line of their own, or every item would bounce it */
	_Alignas(64) uint64_t rpos;
	uint32_t rseq;              /* futex: bumped when the parent read */
	int space_waiter;           /* the worker waits for room */
	int want_wake;              /* the parent sleeps: a byte on the socket */
	int init_hung;              /* it gave up on init() and ended */
};

/* Results go through shared memory, not the socket: an item's result is
 * there (and survives the worker) before the worker begins the next
 * item, at the cost of a memcpy instead of a write(2) per item. */
enum { RING = 128 << 10 };

/* The shared page: a stop flag (fail-fast, a broken pool) that every
 * worker reads before it begins an item, then a slot per worker. */
struct pshared {
	int stop;                   /* atomic */
	struct pslot slots[];
};

/* A result on the wire: this header, then an int64 / double / u32 length
 * and text, as kind says.  WIRE_BATCH_END (kind INT, 8 bytes) says the
 * worker is done with its batch: the items of it that sent no result
 * never began. */
struct wire {
	uint32_t index;
	uint8_t status;             /* POOL_OK or POOL_ERROR */
	uint8_t kind;
	uint16_t pad;
	double duration_ms;
};
#define WIRE_BATCH_END UINT32_MAX

struct pworker {
	int index;                  /* 1-based, as in results */
	pid_t pid;
	int pidfd, sock;
	struct watch w_sock, w_pid;
	uint32_t *batch;
	size_t nbatch, batch_cap;
	long assigned;              /* items sent to this process */
	struct buf in;
	bool busy, timed_out;
	bool retiring;              /* its socket closed: it ends, by our will */
};

struct ppool {
	const struct pool_opts *o;
	const struct pool_items *it;
	struct pool_result *res;
	struct loop *loop;
	struct pworker *w;
	int nw;
	struct pshared *sh;
	size_t *queue;              /* items to run again (a worker died) */
	size_t nqueue, qcap;
	size_t next, done;
	bool stop;
	char *broken;               /* why process mode broke for this run */
	bool init_hung;             /* a worker gave up on init(): no replacement */
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

static long futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

/* The worker: wake the parent if it sleeps (it asked, want_wake), with a
 * byte on the socket. */
static void ring_wake_parent(struct pslot *slot, int sock)
{
	/* wpos was stored SEQ_CST: this load cannot pass it (the parent
	 * stores want_wake before it looks at wpos) */
	if (__atomic_load_n(&slot->want_wake, __ATOMIC_SEQ_CST) &&
	    __atomic_exchange_n(&slot->want_wake, 0, __ATOMIC_SEQ_CST) &&
	    write(sock, "", 1) < 0 && errno == EPIPE)
		_exit(1);
}

/* The worker: wait until the parent has read (rpos moved from r). */
static void ring_wait_room(struct pslot *slot, int sock, uint64_t r)
{
	uint32_t seq = __atomic_load_n(&slot->rseq, __ATOMIC_SEQ_CST);
	__atomic_store_n(&slot->space_waiter, 1, __ATOMIC_SEQ_CST);
	ring_wake_parent(slot, sock);
	if (__atomic_load_n(&slot->rpos, __ATOMIC_SEQ_CST) == r) {
		/* bounded: a lost wake costs 100 ms, never a hang */
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		futex(&slot->rseq, FUTEX_WAIT, seq, &ts);
	}
	__atomic_store_n(&slot->space_waiter, 0, __ATOMIC_SEQ_CST);
}

/* The worker: p[0..n) into its ring, waiting for room as needed; the
 * bytes are the parent's once wpos says so. */
static bool ring_put(struct pshared *sh, struct pslot *slot, int sock, const char *p, size_t n)
{
	bool waited = false;
	char *ring = (char *)sh + slot->ring_off;
	while (n) {
		uint64_t w = slot->wpos, r = __atomic_load_n(&slot->rpos, __ATOMIC_ACQUIRE);
		size_t room = RING - (size_t)(w - r);
		if (!room) {
			ring_wait_room(slot, sock, r);
			waited = true;
			continue;
		}
		size_t at = (size_t)(w % RING), k = n;
		if (k > room)
			k = room;
		if (k > RING - at)
			k = RING - at;
		memcpy(ring + at, p, k);
		__atomic_store_n(&slot->wpos, w + k, __ATOMIC_SEQ_CST);
		p += k;
		n -= k;
	}
	ring_wake_parent(slot, sock);
	return waited;
}

/* The worker's side of one batch: each item's result goes out as it ends,
 * before the next begins, so a death costs only the item it was on.  It
 * stops early at a stop (its own failure under fail-fast, or the flag). */
static void pworker_batch(int sock, struct pshared *sh, struct pslot *slot,
			  const struct pool_opts *o, const struct pool_items *it, int index,
			  void *state, bool ok, const uint32_t *idx, uint32_t n, struct buf *out)
{
	double clock = 0;
	for (uint32_t k = 0; k < n; k++) {
		if (__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE))
			break;
		struct pool_result r = { 0 };
		slot->started_ms = clock = clock ? clock : now_ms();
		slot->cur = idx[k];
		/* begun, before it runs: the parent will never run it again */
		__atomic_store_n(&slot->pos, slot->pos + 1, __ATOMIC_RELEASE);
		__atomic_store_n(&slot->total, slot->total + 1, __ATOMIC_RELEASE);
		if (ok)
			pool_run_one(o, state, it, idx[k], &r, index, &clock);
		else
			pool_fail(&r, "the task's init failed", index);
		slot->cur = -1;
		out->len = 0;
		wire_put(out, idx[k], &r);
		free(r.text);
		if (ring_put(sh, slot, sock, out->p, out->len))
			clock = 0; /* waiting for the parent is not the next item's time */
		if (o->fail_fast && r.status == POOL_ERROR) {
			__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
			break;
		}
	}
	/* the batch is over: the rest of it never began */
	__atomic_store_n(&slot->pos, 0, __ATOMIC_RELEASE);
	struct pool_result end = { .status = POOL_OK, .kind = PIPERUN_RESULT_INT };
	out->len = 0;
	wire_put(out, WIRE_BATCH_END, &end);
	ring_put(sh, slot, sock, out->p, out->len);
}

/* The worker process: batches of indices in, results out, until EOF. */
static void pworker_main(int sock, struct pshared *sh, struct pslot *slot,
			 const struct pool_opts *o, const struct pool_items *it, int index,
			 pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	signal(SIGPIPE, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	void *state = NULL;
	double bound = pool_life_bound_ms(o->timeout);
	int init = pool_task_init(o->task, &state, bound);
	if (init == 2) {
		/* given up (its thread ends with this process): the parent
		 * gives its batch to the others */
		__atomic_store_n(&slot->init_hung, 1, __ATOMIC_RELEASE);
		_exit(1);
	}
	bool ok = init == 0;
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
		pworker_batch(sock, sh, slot, o, it, index, state, ok, idx, n, &out);
	}
	if (ok && !pool_task_fini(o->task, state, bound)) {
		fprintf(stderr, "piperun: pool: worker %d: the task's fini() did not return within "
			"%gs; left behind\n", index, bound / 1000);
		fflush(stderr);
	}
	_exit(0);
}

static void pw_on_sock(struct watch *w, uint32_t ev);
static void pw_died(struct ppool *p, struct pworker *w, const siginfo_t *si);
static void pw_reap_nopidfd(struct ppool *p, struct pworker *w);
static void pw_on_pid(struct watch *w, uint32_t ev);

static int pw_spawn(struct ppool *p, struct pworker *w)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	struct pslot *slot = &p->sh->slots[w->index - 1];
	slot->cur = -1;
	slot->pos = slot->total = 0;
	slot->wpos = slot->rpos = 0;
	slot->space_waiter = slot->want_wake = slot->init_hung = 0;
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		/* a task's exit() here costs its item (the worker ended),
		 * not the pool's results: no guard (task.h) */
		task_exit_guard(NULL, 0, -1);
		/* only its socket, as fd 3, close-on-exec (the rest are
		 * closed; fd 0 is /dev/null), so a program a task starts
		 * sees exactly fds 0-2, as in the other modes; stdout goes
		 * to stderr so that a chatty plugin cannot corrupt the
		 * results */
		int s = fcntl(sv[1], F_DUPFD, 10);
		dup3(s, 3, O_CLOEXEC);
		close_range(4, ~0U, 0);
		/* no O_CLOEXEC: it becomes fd 0, which a task's children
		 * are meant to inherit */
		int dn = open("/dev/null", O_RDONLY);
		if (dn >= 0 && dn != 0) {
			dup2(dn, 0);
			close(dn);
		}
		dup2(2, 1);
		/* sanitizers: this copy of the pool never frees what it holds */
		pworker_main(3, p->sh, slot, p->o, p->it, w->index, parent);
	}
	close(sv[1]);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	w->pid = pid;
	w->sock = sv[0];
	w->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	w->busy = w->timed_out = w->retiring = false;
	w->nbatch = 0;
	w->assigned = 0;
	w->in.len = 0;
	loop_add(p->loop, &w->w_sock, w->sock, EPOLLIN, pw_on_sock, p);
	if (w->pidfd >= 0)
		loop_add(p->loop, &w->w_pid, w->pidfd, EPOLLIN, pw_on_pid, p);
	return 0;
}

static bool pw_work_left(const struct ppool *p)
{
	return p->nqueue || p->next < p->it->n;
}

/* The pool stops handing out items (fail-fast, or broken): the workers
 * see the flag before they begin their next item. */
static void pw_stop(struct ppool *p)
{
	p->stop = true;
	__atomic_store_n(&p->sh->stop, 1, __ATOMIC_RELEASE);
}

/* The worker ends (EOF on its socket: it runs fini() and exits 0); its
 * death, seen on its pidfd, brings a replacement if work is left. */
static void pw_retire(struct ppool *p, struct pworker *w)
{
	loop_del(p->loop, &w->w_sock);
	close(w->sock);
	w->sock = -1;
	w->retiring = true;
	if (w->pidfd < 0)
		pw_reap_nopidfd(p, w);
}

static void pw_assign(struct ppool *p, struct pworker *w)
{
	if (p->stop || w->busy || w->sock < 0 || !pw_work_left(p))
		return;
	long max = p->o->max_per_worker;
	if (max > 0 && w->assigned >= max) {
		pw_retire(p, w);
		return;
	}
	size_t remaining = p->nqueue + (p->it->n - p->next);
	size_t bs = remaining / ((size_t)p->nw * 4);
	bs = bs < 1 ? 1 : bs > 4096 ? 4096 : bs;
	if (max > 0 && bs > (size_t)(max - w->assigned))
		bs = (size_t)(max - w->assigned);
	w->nbatch = 0;
	while (w->nbatch < bs && pw_work_left(p)) {
		size_t i = p->nqueue ? p->queue[--p->nqueue] : p->next++;
		xgrow(&w->batch, &w->batch_cap, w->nbatch + 1, sizeof *w->batch);
		w->batch[w->nbatch++] = (uint32_t)i;
	}
	uint32_t n = (uint32_t)w->nbatch;
	w->busy = true;
	w->assigned += (long)n;
	if (write_full(w->sock, &n, sizeof n) < 0 ||
	    write_full(w->sock, w->batch, n * sizeof *w->batch) < 0) {
		/* the worker is gone: its pidfd will say so and requeue */
	}
}

/* Item i is done: counted, reported, and under fail-fast an error stops
 * the pool. */
static void pw_done(struct ppool *p, size_t i)
{
	p->done++;
	if (p->o->on_result)
		p->o->on_result(i, &p->res[i], p->o->ctx);
	if (p->o->fail_fast && p->res[i].status == POOL_ERROR)
		pw_stop(p);
}

/* The items of w's batch that sent no result: those that began (the
 * worker counted them) fail with why, the others never began and go
 * back to the queue. */
static void pw_settle(struct ppool *p, struct pworker *w, uint64_t begun, const char *why)
{
	struct pslot *s = &p->sh->slots[w->index - 1];
	for (size_t k = 0; w->busy && k < w->nbatch; k++) {
		size_t i = w->batch[k];
		if (p->res[i].status != POOL_PENDING)
			continue;
		if (k < begun && why) {
			pool_fail(&p->res[i], why, w->index);
			p->res[i].duration_ms = (float)(now_ms() - s->started_ms);
			pw_done(p, i);
		} else {
			xgrow(&p->queue, &p->qcap, p->nqueue + 1, sizeof *p->queue);
			p->queue[p->nqueue++] = i;
		}
	}
	w->busy = false;
}

/* One frame at off: its total size, 0 while it is incomplete. */
static size_t pw_frame(const struct pworker *w, size_t off, struct wire *h, uint32_t *tlen)
{
	if (w->in.len - off < sizeof *h)
		return 0;
	memcpy(h, w->in.p + off, sizeof *h);
	size_t need = sizeof *h;
	*tlen = 0;
	if (h->kind == PIPERUN_RESULT_INT || h->kind == PIPERUN_RESULT_NUMBER) {
		need += 8;
	} else {
		if (w->in.len - off < sizeof *h + 4)
			return 0;
		memcpy(tlen, w->in.p + off + sizeof *h, 4);
		need += 4 + *tlen;
	}
	return w->in.len - off < need ? 0 : need;
}

static void pw_take(struct ppool *p, struct pworker *w)
{
	size_t off = 0, need;
	struct wire h;
	uint32_t tlen;
	bool batch_end = false;
	while ((need = pw_frame(w, off, &h, &tlen)) != 0) {
		const char *payload = w->in.p + off + sizeof h;
		off += need;
		if (h.index == WIRE_BATCH_END) {
			batch_end = true;
			continue;
		}
		if (h.index >= p->it->n || p->res[h.index].status != POOL_PENDING)
			continue;
		struct pool_result *r = &p->res[h.index];
		r->status = h.status;
		r->kind = h.kind;
		r->duration_ms = (float)h.duration_ms;
		r->worker = (uint16_t)w->index;
		if (h.kind == PIPERUN_RESULT_INT || h.kind == PIPERUN_RESULT_NUMBER)
			memcpy(&r->v, payload, 8);
		else
			r->text = xstrndup(payload + 4, tlen);
		pw_done(p, h.index);
	}
	memmove(w->in.p, w->in.p + off, w->in.len - off);
	w->in.len -= off;
	if (batch_end && w->busy) {
		/* what it did not begin (it stopped) goes back to the queue */
		pw_settle(p, w, 0, NULL);
		pw_assign(p, w);
	}
}

/* The parent: what w's ring holds, into w->in and on to pw_take.
 * Returns whether there was any. */
static bool pw_collect(struct ppool *p, struct pworker *w)
{
	struct pslot *slot = &p->sh->slots[w->index - 1];
	const char *ring = (const char *)p->sh + slot->ring_off;
	uint64_t wp = __atomic_load_n(&slot->wpos, __ATOMIC_ACQUIRE), r = slot->rpos;
	if (wp == r)
		return false;
	size_t n = (size_t)(wp - r), at = (size_t)(r % RING);
	size_t k = n < RING - at ? n : RING - at;
	buf_add(&w->in, ring + at, k);
	buf_add(&w->in, ring, n - k);
	__atomic_store_n(&slot->rpos, wp, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&slot->rseq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&slot->space_waiter, __ATOMIC_SEQ_CST))
		futex(&slot->rseq, FUTEX_WAKE, 1, NULL);
	pw_take(p, w);
	return true;
}

/* The socket only wakes the parent (a byte per wake): empty it, then
 * read the ring. */
static void pw_drain(struct ppool *p, struct pworker *w)
{
	char scratch[256];
	bool eof = false;
	while (w->sock >= 0) {
		ssize_t r = read(w->sock, scratch, sizeof scratch);
		if (r > 0)
			continue;
		if (r < 0 && errno == EINTR)
			continue;
		eof = r == 0;
		break;
	}
	pw_collect(p, w);
	if (eof && w->pidfd < 0 && w->pid > 0)
		pw_reap_nopidfd(p, w);
}

/* Every ring's results.  Returns whether there were any. */
static bool pw_collect_all(struct ppool *p)
{
	bool any = false;
	for (int k = 0; k < p->nw; k++)
		if (p->w[k].pid > 0)
			any |= pw_collect(p, &p->w[k]);
	return any;
}

/* Before the parent sleeps: each worker is asked to wake it, then the
 * rings are looked at once more (a result that came in between would
 * otherwise wait for the next wake).  Returns whether any had results:
 * then it must not sleep. */
static bool pw_before_sleep(struct ppool *p)
{
	for (int k = 0; k < p->nw; k++)
		if (p->w[k].pid > 0)
			__atomic_store_n(&p->sh->slots[k].want_wake, 1, __ATOMIC_SEQ_CST);
	return pw_collect_all(p);
}

static void pw_on_sock(struct watch *wt, uint32_t ev)
{
	struct ppool *p = wt->data;
	struct pworker *w = (struct pworker *)((char *)wt - offsetof(struct pworker, w_sock));
	(void)ev;
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

/* A worker died.  The items it began and did not report cost exactly
 * that (an error, the reason); those it never began go to a replacement.
 * One that died before it began any item broke the pool: forking more
 * would only repeat it. */
static void pw_died(struct ppool *p, struct pworker *w, const siginfo_t *sip)
{
	siginfo_t si = *sip;
	/* its socket first: what pw_collect reports must not hand the dead
	 * worker a batch (pw_assign skips a worker without one) */
	if (w->sock >= 0) {
		loop_del(p->loop, &w->w_sock);
		close(w->sock);
		w->sock = -1;
	}
	pw_collect(p, w);
	struct pslot *s = &p->sh->slots[w->index - 1];
	uint64_t begun = __atomic_load_n(&s->pos, __ATOMIC_ACQUIRE);
	/* a timeout reads the same in every mode, whoever saw it first: the
	 * worker reporting its item late, or the runner killing it stuck */
	bool init_hung = __atomic_load_n(&s->init_hung, __ATOMIC_ACQUIRE);
	char *why = w->timed_out ? xstrdup("timed out")
		: si.si_code == CLD_EXITED ? xasprintf("the worker exited with status %d", si.si_status)
		: xasprintf("the worker was killed by %s", sig_name(si.si_status));
	if (init_hung) {
		/* it began nothing: its batch goes to the others, and no
		 * replacement comes (its init() would likely hang again) */
		p->init_hung = true;
	} else if (!w->retiring && !__atomic_load_n(&s->total, __ATOMIC_ACQUIRE) && !p->broken) {
		p->broken = xasprintf("not run: a worker process died before its first item (%s; "
				      "the task's init()?), so process mode stopped for this run", why);
		pw_stop(p);
	}
	pw_settle(p, w, begun, why);
	free(why);
	pw_close(p, w);
	w->pid = 0;
	if (!init_hung && !p->stop && pw_work_left(p) && pw_spawn(p, w) < 0)
		p->failed++;
	/* what went back to the queue: for the replacement, or for any
	 * worker that is idle (no replacement could be forked) */
	for (int k = 0; k < p->nw; k++)
		pw_assign(p, &p->w[k]);
}

static void pw_on_pid(struct watch *wt, uint32_t ev)
{
	struct ppool *p = wt->data;
	struct pworker *w = (struct pworker *)((char *)wt - offsetof(struct pworker, w_pid));
	(void)ev;
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid(P_PIDFD, (id_t)w->pidfd, &si, WEXITED | WNOHANG) < 0 || !si.si_pid)
		return;
	pw_died(p, w, &si);
}

/* Without a pidfd (valgrind has no pidfd_open): a worker that closed its
 * end is gone or going; wait for it here. */
static void pw_reap_nopidfd(struct ppool *p, struct pworker *w)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	while (waitid(P_PID, (id_t)w->pid, &si, WEXITED) < 0 && errno == EINTR)
		;
	pw_died(p, w, &si);
}

static void pw_tick(struct timer *t)
{
	struct ppool *p = t->data;
	double now = now_ms();
	for (int k = 0; k < p->nw; k++) {
		struct pworker *w = &p->w[k];
		struct pslot *s = &p->sh->slots[k];
		if (w->pid > 0 && w->busy && !w->timed_out && s->cur >= 0 &&
		    pool_timed_out(p->o, now - s->started_ms)) {
			w->timed_out = true;
			kill_pid(w->pid, SIGKILL);
		}
	}
	double every = p->o->timeout * 1000 / 10;
	timer_start(p->loop, &p->tick, now + (every < 1 ? 1 : every > 100 ? 100 : every),
		    pw_tick, p);
}

/* Is any worker still there (a retiring one too: its replacement comes
 * when it is gone)?  Under a stop: is any still on an item? */
static bool pw_wait_more(struct ppool *p)
{
	for (int k = 0; k < p->nw; k++) {
		const struct pworker *w = &p->w[k];
		if (w->pid > 0 && (!p->stop || (w->busy && w->sock >= 0)))
			return true;
	}
	return false;
}

/* EOF tells every worker to finish; then reap them all: no worker
 * outlives the pool. */
static void pw_end_all(struct ppool *p)
{
	for (int k = 0; k < p->nw; k++) {
		struct pworker *w = &p->w[k];
		if (w->sock >= 0) {
			loop_del(p->loop, &w->w_sock);
			close(w->sock);
			w->sock = -1;
		}
	}
	for (int k = 0; k < p->nw; k++) {
		struct pworker *w = &p->w[k];
		if (w->pid > 0) {
			siginfo_t si;
			while (waitid(P_PID, (id_t)w->pid, &si, WEXITED) < 0 && errno == EINTR)
				;
			w->pid = 0;
		}
		if (w->pidfd >= 0) {
			loop_del(p->loop, &w->w_pid);
			close(w->pidfd);
			w->pidfd = -1;
		}
		buf_free(&w->in);
		free(w->batch);
	}
}

/* The items that did not run: failed when the pool broke or could not
 * fork, skipped (pool_skip_rest) after a fail-fast stop. */
static void pw_fail_rest(struct ppool *p)
{
	char *hung = p->init_hung && !p->broken && !p->stop
		? pool_init_hung_text(p->o) : NULL;
	const char *why = p->broken ? p->broken : hung ? hung
		: p->failed && !p->stop ? "no worker process could be started for it" : NULL;
	if (why)
		pool_fail_pending(p->o, p->res, p->it->n, why);
	free(hung);
}

/* The shared page: the header, a slot per worker, a ring per worker. */
static size_t pw_shsize(int nw)
{
	return sizeof(struct pshared) + (size_t)nw * (sizeof(struct pslot) + RING);
}

/* Worker k's ring: after all the slots, k rings in. */
static size_t pw_ring_off(int nw, int k)
{
	return sizeof(struct pshared) + (size_t)nw * sizeof(struct pslot) + (size_t)k * RING;
}

static int pw_setup(struct ppool *p, char **why)
{
	size_t shsize = pw_shsize(p->nw);
	p->loop = loop_new();
	p->sh = mmap(NULL, shsize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!p->loop || p->sh == MAP_FAILED) {
		*why = xasprintf("pool: cannot set up process mode: %s", strerror(errno));
		loop_free(p->loop);
		return -1;
	}
	/* Workers never touch the results array (theirs go over the socket):
	 * leave it out of their address space, or every page the parent
	 * writes after a fork is a copy-on-write fault. */
	madvise(p->res, (p->it->n ? p->it->n : 1) * sizeof *p->res, MADV_DONTFORK);
	for (int k = 0; k < p->nw; k++)
		p->sh->slots[k].ring_off = pw_ring_off(p->nw, k);
	p->w = xcalloc((size_t)p->nw, sizeof *p->w);
	int started = 0;
	for (int k = 0; k < p->nw; k++) {
		p->w[k].index = k + 1;
		p->w[k].sock = p->w[k].pidfd = -1;
		if (p->it->n && pw_spawn(p, &p->w[k]) == 0)
			started++;
	}
	if (p->it->n && !started) {
		*why = xasprintf("pool: cannot start worker processes: %s", strerror(errno));
		loop_free(p->loop);
		munmap(p->sh, shsize);
		free(p->w);
		return -1;
	}
	return 0;
}

int pool_run_processes(const struct pool_opts *o, const struct pool_items *it,
		       struct pool_result *res, char **why)
{
	struct ppool p = { .o = o, .it = it, .res = res, .nw = o->workers };
	if ((size_t)p.nw > it->n)
		p.nw = it->n ? (int)it->n : 1;
	if (pw_setup(&p, why) < 0)
		return -1;
	for (int k = 0; k < p.nw; k++)
		pw_assign(&p, &p.w[k]);
	if (o->timeout > 0) {
		p.tick.data = &p;
		pw_tick(&p.tick);
	}
	while (p.done < it->n && pw_wait_more(&p)) {
		/* while results flow, the loop still turns (without waiting):
		 * the timeout tick and the deaths of workers are not put off
		 * until the others are done */
		bool busy = pw_collect_all(&p) || pw_before_sleep(&p);
		if (loop_run_once(p.loop, busy ? 0 : -1) < 0 && errno != EINTR)
			break;
	}
	timer_stop(p.loop, &p.tick);
	pw_end_all(&p);
	loop_free(p.loop);
	munmap(p.sh, pw_shsize(p.nw));
	free(p.w);
	free(p.queue);
	pw_fail_rest(&p);
	free(p.broken);
	pool_skip_rest(res, it->n);
	return 0;
}
