/* SPDX-License-Identifier: GPL-3.0-or-later */
/* progress.c - progress on stderr (see progress.h). */
#include "config.h"
#include "progress.h"
#include "util.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define REDRAW_MS 100.0
#define PLAIN_EVERY_MS 1000.0
#define BAR 20

static void write_all(int fd, const char *s, size_t n)
{
	(void)write_full(fd, s, n);
}

static void draw(struct progress *p, const struct progress_counts *c, const char *status)
{
	double el = (now_ms() - p->t0) / 1000;
	char eta[32] = "";
	if (c->done && c->done < c->total)
		snprintf(eta, sizeof eta, "  ETA %.1fs", el / (double)c->done * (double)(c->total - c->done));
	char line[512];
	const char *sep = c->detail[0] ? "  " : "";
	/* cancelled and skipped only once there are some, as the summary
	 * has them: after Ctrl-C they are not failures */
	const char *csep = p->tty ? "  " : ", ";
	char stopped[64] = "";
	size_t k = 0;
	if (c->cancelled)
		k += (size_t)snprintf(stopped + k, sizeof stopped - k, "%s%zu cancelled", csep,
				      c->cancelled);
	if (c->skipped)
		snprintf(stopped + k, sizeof stopped - k, "%s%zu skipped", csep, c->skipped);
	if (p->tty) {
		char bar[BAR + 1];
		size_t fill = c->total ? c->done * BAR / c->total : BAR;
		memset(bar, '#', fill);
		memset(bar + fill, '.', BAR - fill);
		bar[BAR] = 0;
		snprintf(line, sizeof line, "\r\033[K[%s] %zu/%zu done  %zu running  %zu failed%s  %.1fs%s%s%s%s%s",
			 bar, c->done, c->total, c->running, c->failed, stopped, el,
			 status ? "" : eta, status ? "  " : "", status ? status : "", sep, c->detail);
	} else {
		snprintf(line, sizeof line, "piperun: %zu/%zu done, %zu running, %zu failed%s, %.1fs%s%s%s%s%s\n",
			 c->done, c->total, c->running, c->failed, stopped, el,
			 status ? "" : eta, status ? ": " : "", status ? status : "", sep, c->detail);
	}
	write_all(p->fd, line, strlen(line));
	p->last = *c;
	p->last_line = now_ms();
}

static void tick(struct timer *t)
{
	struct progress *p = t->data;
	struct progress_counts c;
	p->sample(p->ctx, &c);
	bool changed = memcmp(&c, &p->last, sizeof c) != 0;
	if (p->tty || changed || now_ms() - p->last_line >= PLAIN_EVERY_MS)
		draw(p, &c, NULL);
	timer_start(p->loop, &p->t, now_ms() + REDRAW_MS, tick, p);
}

void progress_start(struct progress *p, enum progress_when when, struct loop *l,
		    void (*sample)(void *ctx, struct progress_counts *c), void *ctx)
{
	memset(p, 0, sizeof *p);
	p->fd = 2;
	p->tty = isatty(2);
	p->on = when == PROGRESS_ALWAYS || (when == PROGRESS_AUTO && p->tty);
	if (!p->on)
		return;
	p->loop = l;
	p->sample = sample;
	p->ctx = ctx;
	p->t0 = now_ms();
	struct progress_counts c;
	sample(ctx, &c);
	draw(p, &c, NULL);
	timer_start(l, &p->t, now_ms() + REDRAW_MS, tick, p);
}

void progress_finish(struct progress *p, const char *status)
{
	if (!p->on)
		return;
	timer_stop(p->loop, &p->t);
	struct progress_counts c;
	p->sample(p->ctx, &c);
	draw(p, &c, status);
	if (p->tty)
		write_all(p->fd, "\n", 1);
	p->on = false;
}
