/* SPDX-License-Identifier: GPL-3.0-or-later */
/* steps-io.c - the source (items read lazily), the sink (final items, in
 * order if asked), progress lines and the final counts. */
#include "config.h"
#include "steps-int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* --------------------------------------------------------------- source */

/* An item read: 1, or 3 when it was sunk in an earlier session. */
static int source_item(struct engine *e, struct item *it)
{
	if (!e->want_ih)
		return 1;
	it->ih = item_hash(it->text, it->len);
	return resume_take(e, it) ? 3 : 1;
}

/* A line of input over MAX_ITEM_BYTES (starting at p) fails as that
 * item, recorded with its head; the other lines go on. */
static void too_long(struct engine *e, const char *p)
{
	struct item it = { xstrndup(p, 4096), 4096, e->next_seq++, 0, false };
	record_failure(e, STEP_INPUT, &it, -1, 0,
		       xasprintf("line %" PRIu64 ": longer than %u bytes (an item is at most 16 MiB)",
				 it.seq + 1, MAX_ITEM_BYTES));
}

int source_next(struct engine *e, struct item *it)
{
	const struct steps_spec *s = e->s;
	if (s->items == ITEMS_COUNT) {
		if (e->next_seq >= s->count)
			return -1;
		char b[24];
		int n = snprintf(b, sizeof b, "%" PRIu64, e->next_seq + 1);
		*it = (struct item){ xstrndup(b, (size_t)n), (size_t)n, e->next_seq++, 0, false };
		return source_item(e, it);
	}
	size_t avail = e->ibuf.len - e->ioff;
	char *p = avail ? e->ibuf.p + e->ioff : NULL;
	char *nl = avail ? memchr(p, '\n', avail) : NULL;
	size_t len;
	if (e->skip_line) {
		/* the rest of a line that failed for its length */
		e->ioff = nl ? (size_t)(nl - e->ibuf.p) + 1 : e->ibuf.len;
		if (!nl && !e->in_eof)
			return 0;
		e->skip_line = false;
		return nl ? 2 : -1;
	}
	if (nl)
		len = (size_t)(nl - p);
	else if (e->in_eof && avail)
		len = avail;
	else if (e->in_eof)
		return -1;
	else
		return 0;
	if (len > MAX_ITEM_BYTES) {
		too_long(e, p);
		e->ioff += len + (nl ? 1 : 0);
		return 2;
	}
	*it = (struct item){ xstrndup(p, len), len, e->next_seq++, 0, false };
	e->ioff += len + (nl ? 1 : 0);
	if (memchr(it->text, 0, len)) {
		/* a step's argv would end it there: it fails, the rest go on */
		record_failure(e, STEP_INPUT, it, -1, 0,
			       xasprintf("line %" PRIu64 ": a NUL byte (an item is a line of text)",
					 it->seq + 1));
		return 2;
	}
	return source_item(e, it);
}

/* Read more input (once).  Returns -1 on a read error (fatal). */
int source_read(struct engine *e)
{
	if (e->ioff) {
		memmove(e->ibuf.p, e->ibuf.p + e->ioff, e->ibuf.len - e->ioff);
		e->ibuf.len -= e->ioff;
		e->ioff = 0;
	}
	if (e->ibuf.len > MAX_ITEM_BYTES && !e->skip_line) {
		/* no newline in it (source_next took every line): too long */
		too_long(e, e->ibuf.p);
		e->skip_line = true;
	}
	if (e->skip_line)
		e->ibuf.len = 0; /* no newline in it: all of it goes */
	buf_reserve(&e->ibuf, 65536);
	ssize_t r;
	do
		r = read(e->in_fd, e->ibuf.p + e->ibuf.len, 65536);
	while (r < 0 && errno == EINTR);
	if (r < 0 && errno == EAGAIN)
		return 0;
	if (r < 0) {
		engine_stop(e, 0, "error", xasprintf("items: cannot read: %s", strerror(errno)));
		return -1;
	}
	if (!r)
		e->in_eof = true;
	e->ibuf.len += (size_t)r;
	return 0;
}

/* Ordered output keeps at most window items between source and sink. */
bool window_full(struct engine *e)
{
	return e->s->ordered && e->next_seq - __atomic_load_n(&e->emitted, __ATOMIC_ACQUIRE) >= e->window;
}

/* ----------------------------------------------------------------- sink */


void sink_flush(struct engine *e)
{
	if (!e->obuf.len)
		return;
	if (write_full(e->out_fd, e->obuf.p, e->obuf.len) < 0)
		engine_stop(e, 0, "error", xasprintf("writing items: %s", strerror(errno)));
	e->obuf.len = 0;
	sunk_flush(e);
}

static void sink_out(struct engine *e, struct item *it)
{
	if (it->text) {
		sunk_note(e, it);
		buf_add(&e->obuf, it->text, it->len);
		buf_addch(&e->obuf, '\n');
		e->items_out++;
		item_free(it);
		if (e->obuf.len >= 65536)
			sink_flush(e);
	}
}

void sink_take(struct engine *e, struct item *items, size_t n)
{
	if (!e->s->ordered) {
		for (size_t i = 0; i < n; i++)
			sink_out(e, &items[i]);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		size_t slot = (size_t)(items[i].seq % e->window);
		e->reorder[slot] = items[i];
		e->present[slot] = true;
	}
	uint64_t em = e->emitted, start = em;
	while (e->present[em % e->window]) {
		size_t slot = (size_t)(em % e->window);
		e->present[slot] = false;
		sink_out(e, &e->reorder[slot]);
		em++;
	}
	if (em != start) {
		pthread_mutex_lock(&e->omu);
		__atomic_store_n(&e->emitted, em, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&e->ocond);
		pthread_mutex_unlock(&e->omu);
	}
}

/* ------------------------------------------------------- progress, stats */

static void worker_totals(const struct step *st, struct wstats *t)
{
	memset(t, 0, sizeof *t);
	for (int i = 0; i < st->nw; i++) {
		const struct wstats *s = &st->w[i].s;
		t->received += STAT_GET(s->received);
		t->processed += STAT_GET(s->processed);
		t->failed += STAT_GET(s->failed);
		t->restarts += STAT_GET(s->restarts);
		t->busy_us += STAT_GET(s->busy_us);
		t->blocked_us += STAT_GET(s->blocked_us);
	}
}

/* Whole lines: the sink's "S" lines and the ticker's progress (thread
 * mode) come from two threads, and a line may be longer than PIPE_BUF. */
void info_write(struct engine *e, const char *s, size_t n)
{
	pthread_mutex_lock(&e->imu);
	if (e->info_fd >= 0 && write_full(e->info_fd, s, n) < 0)
		/* the runner went away: carry on */
		__atomic_store_n(&e->info_fd, -1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&e->imu);
}

void progress_line(struct engine *e)
{
	if (e->trace)
		steps_trace_sample(e);
	if (__atomic_load_n(&e->info_fd, __ATOMIC_RELAXED) < 0)
		return;
	struct buf b = { 0 };
	buf_addstr(&b, "P ");
	for (size_t k = 0; k < e->n; k++) {
		struct wstats t;
		worker_totals(&e->st[k], &t);
		buf_printf(&b, "%s%s %" PRIu64 " q%zu", k ? " | " : "", e->st[k].sp->name,
			   t.processed + t.failed, workq_depth(e->st[k].in, NULL));
	}
	if (strcmp(b.p, e->progress)) {
		snprintf(e->progress, sizeof e->progress, "%s", b.p);
		buf_addch(&b, '\n');
		info_write(e, b.p, b.len);
	}
	buf_free(&b);
}

/* warnings[]: the steps that got fewer workers (the fd limit), or
 * stalled (a coprocess that buffers). */
static void write_warnings(const struct engine *e, struct jw *w)
{
	jw_key(w, "warnings");
	jw_arr(w, false);
	for (size_t k = 0; k < e->n; k++) {
		const struct step *st = &e->st[k];
		if (st->fd_msg) {
			jw_obj(w, true);
			jw_kstr(w, "step", st->sp->name);
			jw_kstr(w, "kind", "fd_limit");
			jw_key(w, "index");
			jw_null(w);
			jw_kstr(w, "message", st->fd_msg);
			jw_obj_end(w);
		}
		if (!st->stall_msg)
			continue;
		jw_obj(w, true);
		jw_kstr(w, "step", st->sp->name);
		jw_kstr(w, "kind", "stall");
		jw_kint(w, "index", (int64_t)st->stall_seq);
		jw_kstr(w, "message", st->stall_msg);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

void write_stats(struct engine *e, double wall_ms)
{
	struct buf b = { 0 };
	struct jw w;
	jw_init(&w, buf_sink_write, &b, false);
	jw_obj(&w, true);
	jw_kint(&w, "items_in", (int64_t)e->next_seq);
	jw_kint(&w, "items_out", (int64_t)e->items_out);
	jw_kint(&w, "items_failed", (int64_t)e->failed_total);
	jw_kint(&w, "items_resumed", (int64_t)e->items_resumed);
	/* read but neither out nor failed: they were between steps (in a
	 * queue, a full worker's hands, the reorder window) when the job
	 * stopped; 0 whenever the job ran to the end */
	uint64_t done = e->items_out + e->failed_total;
	jw_kint(&w, "items_cancelled", (int64_t)(e->next_seq > done ? e->next_seq - done : 0));
	jw_kstr(&w, "steps_mode", e->threaded ? "thread" : "async");
	jw_kbool(&w, "ordered", e->s->ordered);
	jw_key(&w, "stopped");
	if (e->stop_sig)
		jw_str(&w, sig_name(e->stop_sig));
	else
		jw_str(&w, e->stop_reason);
	jw_key(&w, "steps");
	jw_arr(&w, false);
	for (size_t k = 0; k < e->n; k++) {
		struct step *st = &e->st[k];
		struct wstats t;
		worker_totals(st, &t);
		double life = 0;
		for (int i = 0; i < st->nw; i++)
			life += (st->w[i].t_end ? st->w[i].t_end : now_ms()) - e->t0;
		double busy = (double)t.busy_us / 1000, blocked = (double)t.blocked_us / 1000;
		double idle = life - busy - blocked;
		size_t maxd;
		workq_depth(st->in, &maxd);
		jw_obj(&w, true);
		jw_kstr(&w, "name", st->sp->name);
		jw_kstr(&w, "kind", steps_step_kind_name(st->sp->kind));
		jw_kint(&w, "workers", st->nw);
		jw_kint(&w, "received", (int64_t)t.received);
		jw_kint(&w, "processed", (int64_t)t.processed);
		jw_kint(&w, "failed", (int64_t)t.failed);
		jw_knum(&w, "busy_ms", busy);
		jw_knum(&w, "idle_ms", idle > 0 ? idle : 0);
		jw_knum(&w, "blocked_ms", blocked);
		jw_kint(&w, "queue", (int64_t)st->in->cap);
		jw_kint(&w, "max_queue_depth", (int64_t)maxd);
		jw_kint(&w, "restarts", (int64_t)t.restarts);
		if (st->stray_lines)
			jw_kint(&w, "stray_lines", (int64_t)st->stray_lines);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_key(&w, "failed_items");
	jw_arr(&w, false);
	for (size_t i = 0; i < e->nfails; i++) {
		const struct failure *f = &e->fails[i];
		jw_obj(&w, true);
		jw_kstr(&w, "step", f->step == STEP_INPUT ? NULL : e->st[f->step].sp->name);
		jw_kint(&w, "index", (int64_t)f->seq);
		jw_kstr(&w, "item", f->item);
		jw_key(&w, "returncode");
		if (f->sig)
			jw_int(&w, -f->sig);
		else if (f->rc >= 0)
			jw_int(&w, f->rc);
		else
			jw_null(&w);
		jw_kstr(&w, "signal", f->sig ? sig_name(f->sig) : NULL);
		jw_kstr(&w, "error", f->error);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_kint(&w, "failed_items_omitted", (int64_t)(e->failed_total - e->nfails));
	write_warnings(e, &w);
	jw_knum(&w, "wall_ms", wall_ms);
	jw_obj_end(&w);
	buf_addch(&b, '\n');
	info_write(e, b.p, b.len);
	buf_free(&b);
}
