/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmd-timeline.c - `piperun timeline RESULTS --svg FILE [--html FILE]`:
 * a run's results document drawn as a Gantt chart, one lane per slot
 * (the records' "slot"; packed when a record has none), a bar per job
 * attempt coloured by status with a tooltip, a pipeline's stages as
 * sub-bars, a time axis, a legend and the run's summary in the title.
 * Above TL_MAX_LANES lanes or TL_MAX_BARS bars it aggregates: bars
 * closer than a pixel merge into one (the worst status), and it says
 * so.  --html wraps the SVG with the run's summary table, one static
 * file that needs no network. */
#include "config.h"
#include "afile.h"
#include "cmd.h"
#include "errlist.h"
#include "jsonw.h"
#include "minheap.h"
#include "spec.h"
#include "spec-json.h"
#include "svg.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TL_MAX_LANES 120
#define TL_MAX_BARS 3000
#define TL_LEFT 90.0
#define TL_RIGHT 24.0
#define TL_TOP 64.0

/* One job attempt. */
struct tl_bar {
	double start, end;           /* ms since the run's start */
	long slot;                   /* -1: none in the record */
	int lane;
	int status;                  /* index into statuses[] */
	const char *name;
	bool has_rc;
	long rc;
	int attempt, attempts;
	size_t stage0, nstages;      /* its stages in tl.stages */
};

struct tl_stage {
	double start, end;
	const char *argv0;
	bool has_rc;
	long rc;
};

/* The statuses an attempt can end with, worst last (aggregated bars
 * take the worst), and their colours. */
static const struct {
	const char *name, *colour;
} statuses[] = {
	{ "ok", "#43a047" }, { "cancelled", "#9e9e9e" }, { "failed", "#e53935" },
	{ "timeout", "#fb8c00" }, { "error", "#8e24aa" },
};
#define NSTATUS (sizeof statuses / sizeof statuses[0])
#define STAGE_COLOUR "#1e63b5"

struct tl {
	const struct cJSON *root;
	struct tl_bar *bars;
	size_t nbars, bars_cap;
	struct tl_stage *stages;
	size_t nstages, stages_cap;
	int nlanes;
	long per_lane;               /* slots per lane (aggregated: > 1) */
	bool packed;                 /* the records have no slots: lanes packed */
	bool aggregated;
	size_t drawn;                /* bars drawn (aggregated: merged ones) */
	double tmax;                 /* ms: the axis' end */
	double width;
	double counts[7];            /* by rec_statuses[]: when no summary */
	double njobs;
};

/* ------------------------------------------ what the chart reads, checked */

static double num_or(const struct cJSON *v, double dflt)
{
	return jv_is_number(v) ? jv_num(v) : dflt;
}

/* The statuses a results record can hold (job_status_name's). */
static const char *const rec_statuses[] = { "pending", "ok", "failed", "timeout",
					    "error", "skipped", "cancelled" };

static bool nonneg(const struct cJSON *v)
{
	return jv_is_number(v) && jv_num(v) >= 0;
}

static bool count_ok(const struct cJSON *v)
{
	return nonneg(v) && jv_num(v) == (double)(long long)jv_num(v);
}

static bool known_status(const struct cJSON *v)
{
	for (size_t i = 0; jv_is_string(v) && i < sizeof rec_statuses / sizeof *rec_statuses; i++)
		if (!strcmp(jv_str(v), rec_statuses[i]))
			return true;
	return false;
}

/* One record's (a job's or an attempt's) fields: NULL, or what is wrong
 * with which member (*key). */
static const char *check_times(const struct cJSON *r, const char **key)
{
	const struct cJSON *st = jv_get(r, "started_ms"), *du = jv_get(r, "duration_ms");
	const struct cJSON *sl = jv_get(r, "slot");
	if (!known_status(jv_get(r, "status")))
		return *key = "status", "not one of pending, ok, failed, timeout, error, "
					"skipped, cancelled";
	if (!nonneg(st) && !jv_is_null(st))
		return *key = "started_ms", "not a number >= 0 (or null: never started)";
	if (!nonneg(du) && !(jv_is_null(du) && jv_is_null(st)))
		return *key = "duration_ms", "not a number >= 0";
	if (sl && !jv_is_null(sl) && !count_ok(sl))
		return *key = "slot", "not null or an integer >= 0";
	return NULL;
}

static int bad_field(const char *file, const char *path, const char *why)
{
	err_line("piperun: timeline: %s: %s: %s", file, path, why);
	return EXIT_USAGE;
}

/* A pipeline's stages: times null or >= 0. */
static int check_stages(const char *file, const struct cJSON *stages, int j)
{
	static const char *const keys[] = { "started_ms", "ended_ms" };
	char path[96];
	if (stages && !jv_is_array(stages)) {
		snprintf(path, sizeof path, "jobs[%d].stages", j);
		return bad_field(file, path, "not an array");
	}
	for (int i = 0; i < jv_size(stages); i++) {
		const struct cJSON *s = jv_at(stages, i);
		for (size_t k = 0; k < 2; k++) {
			const struct cJSON *v = jv_get(s, keys[k]);
			if (!jv_is_object(s) || (v && !jv_is_null(v) && !nonneg(v))) {
				snprintf(path, sizeof path, "jobs[%d].stages[%d]%s%s", j, i,
					 jv_is_object(s) ? "." : "", jv_is_object(s) ? keys[k] : "");
				return bad_field(file, path, jv_is_object(s) ? "not a number >= 0 or null"
									 : "not an object");
			}
		}
	}
	return EXIT_OK;
}

/* One job record: its name, status, times, slot, attempts and stages. */
static int check_job(const char *file, const struct cJSON *job, int j)
{
	char path[96];
	const char *key = NULL, *why;
	snprintf(path, sizeof path, "jobs[%d]", j);
	if (!jv_is_object(job))
		return bad_field(file, path, "not an object");
	snprintf(path, sizeof path, "jobs[%d].name", j);
	if (!jv_is_string(jv_get(job, "name")))
		return bad_field(file, path, "not a string");
	snprintf(path, sizeof path, "jobs[%d].attempts", j);
	if (jv_get(job, "attempts") && !count_ok(jv_get(job, "attempts")))
		return bad_field(file, path, "not an integer >= 0");
	if ((why = check_times(job, &key))) {
		snprintf(path, sizeof path, "jobs[%d].%s", j, key);
		return bad_field(file, path, why);
	}
	const struct cJSON *hist = jv_get(job, "attempt_history");
	if (hist && !jv_is_array(hist)) {
		snprintf(path, sizeof path, "jobs[%d].attempt_history", j);
		return bad_field(file, path, "not an array");
	}
	for (int i = 0; i < jv_size(hist); i++) {
		const struct cJSON *a = jv_at(hist, i);
		if (!jv_is_object(a))
			key = "", why = "not an object";
		else if (!(why = check_times(a, &key)))
			continue;
		snprintf(path, sizeof path, "jobs[%d].attempt_history[%d]%s%s", j, i,
			 *key ? "." : "", key);
		return bad_field(file, path, why);
	}
	return check_stages(file, jv_get(job, "stages"), j);
}

/* Every field the chart and the page use: a damaged document is an
 * error naming the field, never a chart drawn from defaults.  A missing
 * summary (piperun always writes one; a trimmed document may not) is
 * counted from the jobs (sum_of). */
static int check_results(const char *file, const struct cJSON *root)
{
	const struct cJSON *jobs = jv_get(root, "jobs"), *sum = jv_get(root, "summary"), *m;
	for (int j = 0; j < jv_size(jobs); j++) {
		int rc = check_job(file, jv_at(jobs, j), j);
		if (rc)
			return rc;
	}
	if (sum && !jv_is_object(sum))
		return bad_field(file, "summary", "not an object");
	JV_EACH(m, sum) {
		char path[96];
		snprintf(path, sizeof path, "summary.%s", jv_key(m));
		if (!count_ok(m))
			return bad_field(file, path, "not an integer >= 0");
	}
	if (jv_get(root, "duration_ms") && !nonneg(jv_get(root, "duration_ms")))
		return bad_field(file, "duration_ms", "not a number >= 0");
	if (jv_get(root, "status") && !jv_is_string(jv_get(root, "status")))
		return bad_field(file, "status", "not a string");
	if (jv_get(root, "name") && !jv_is_null(jv_get(root, "name")) &&
	    !jv_is_string(jv_get(root, "name")))
		return bad_field(file, "name", "not a string");
	return EXIT_OK;
}

/* The summary's count KEY ("total" or a status), or, when the document
 * has no summary, the jobs' own count. */
static double sum_of(const struct tl *t, const char *key)
{
	const struct cJSON *sum = jv_get(t->root, "summary");
	if (sum)
		return num_or(jv_get(sum, key), 0);
	if (!strcmp(key, "total"))
		return t->njobs;
	for (size_t i = 0; i < sizeof rec_statuses / sizeof *rec_statuses; i++)
		if (!strcmp(key, rec_statuses[i]))
			return t->counts[i];
	return 0;
}

static int status_index(const char *s)
{
	for (size_t i = 0; s && i < NSTATUS; i++)
		if (!strcmp(s, statuses[i].name))
			return (int)i;
	return 2; /* unknown: drawn as failed */
}

static void add_bar(struct tl *t, const struct cJSON *job, const struct cJSON *a, int attempt,
		    int attempts)
{
	double start = num_or(jv_get(a, "started_ms"), -1);
	if (start < 0)
		return;
	xgrow(&t->bars, &t->bars_cap, t->nbars + 1, sizeof *t->bars);
	struct tl_bar *b = &t->bars[t->nbars++];
	const struct cJSON *rc = jv_get(a, "returncode");
	*b = (struct tl_bar){
		.start = start, .end = start + num_or(jv_get(a, "duration_ms"), 0),
		.slot = (long)num_or(jv_get(a, "slot"), -1), .lane = 0,
		.status = status_index(jv_str(jv_get(a, "status"))),
		.name = jv_str(jv_get(job, "name")), .has_rc = jv_is_number(rc),
		.rc = (long)jv_num(rc), .attempt = attempt, .attempts = attempts,
		.stage0 = t->nstages };
	if (b->end > t->tmax)
		t->tmax = b->end;
}

/* A pipeline's stages, under its last attempt's bar. */
static void add_stages(struct tl *t, const struct cJSON *job)
{
	struct tl_bar *b = &t->bars[t->nbars - 1];
	const struct cJSON *st;
	JV_EACH(st, jv_get(job, "stages")) {
		double s = num_or(jv_get(st, "started_ms"), -1);
		if (s < 0)
			continue;
		const struct cJSON *rc = jv_get(st, "returncode");
		xgrow(&t->stages, &t->stages_cap, t->nstages + 1, sizeof *t->stages);
		t->stages[t->nstages++] = (struct tl_stage){
			s, num_or(jv_get(st, "ended_ms"), b->end),
			jv_str(jv_at(jv_get(st, "argv"), 0)), jv_is_number(rc), (long)jv_num(rc) };
		b->nstages++;
	}
}

/* Every attempt of every job that ran in this run (a job restored by
 * --resume ran before: it is not drawn). */
static void read_bars(struct tl *t, const struct cJSON *jobs)
{
	const struct cJSON *j;
	JV_EACH(j, jobs) {
		if (num_or(jv_get(j, "attempts"), 0) < 1 || jv_is_true(jv_get(j, "resumed")))
			continue;
		const struct cJSON *hist = jv_get(j, "attempt_history");
		int n = jv_size(hist);
		if (jv_is_array(hist) && n > 0) {
			const struct cJSON *a;
			int k = 0;
			JV_EACH(a, hist)
				add_bar(t, j, a, ++k, n);
		} else {
			add_bar(t, j, j, 1, 1);
		}
		if (t->nbars && !strcmp(jv_str(jv_get(j, "kind")) ? jv_str(jv_get(j, "kind")) : "",
					"pipeline"))
			add_stages(t, j);
	}
}

static int cmp_start(const void *a, const void *b)
{
	const struct tl_bar *x = *(struct tl_bar *const *)a, *y = *(struct tl_bar *const *)b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Lanes: the slot (per_lane slots to a lane above TL_MAX_LANES); bars
 * of records without one are packed, each into the first lane free at
 * its start. */
static void lay_out(struct tl *t)
{
	long maxslot = -1;
	bool all = true;
	for (size_t i = 0; i < t->nbars; i++) {
		if (t->bars[i].slot > maxslot)
			maxslot = t->bars[i].slot;
		all = all && t->bars[i].slot >= 0;
	}
	if (all) {
		long n = maxslot + 1;
		t->per_lane = n > TL_MAX_LANES ? (n + TL_MAX_LANES - 1) / TL_MAX_LANES : 1;
		t->nlanes = (int)((n + t->per_lane - 1) / t->per_lane);
		for (size_t i = 0; i < t->nbars; i++)
			t->bars[i].lane = (int)(t->bars[i].slot / t->per_lane);
	} else {
		t->packed = true;
		struct tl_bar **by = xmalloc((t->nbars ? t->nbars : 1) * sizeof *by);
		for (size_t i = 0; i < t->nbars; i++)
			by[i] = &t->bars[i];
		qsort(by, t->nbars, sizeof *by, cmp_start);
		struct lanes lanes = { 0 };
		for (size_t i = 0; i < t->nbars; i++)
			by[i]->lane = (int)lanes_take(&lanes, by[i]->start, by[i]->end);
		size_t n = lanes.n;
		lanes_free(&lanes);
		free(by);
		t->per_lane = n > TL_MAX_LANES ? (long)((n + TL_MAX_LANES - 1) / TL_MAX_LANES) : 1;
		for (size_t i = 0; i < t->nbars; i++)
			t->bars[i].lane = (int)(t->bars[i].lane / t->per_lane);
		t->nlanes = (int)((n + (size_t)t->per_lane - 1) / (size_t)t->per_lane);
	}
	if (t->nlanes < 1)
		t->nlanes = 1;
	t->aggregated = t->per_lane > 1 || t->nbars > TL_MAX_BARS;
}

/* ------------------------------------------------------------ drawing */

static double lane_h(const struct tl *t)
{
	double h = 520.0 / t->nlanes;
	return h > 22 ? 22 : h < 3 ? 3 : h;
}

static double x_of(const struct tl *t, double ms)
{
	return TL_LEFT + ms / t->tmax * (t->width - TL_LEFT - TL_RIGHT);
}

/* A duration for people: "840 µs", "12.3 ms", "4.56 s", "2 min 5 s". */
static void fmt_ms(char *out, size_t n, double ms)
{
	if (ms < 1)
		snprintf(out, n, "%.0f µs", ms * 1000);
	else if (ms < 1000)
		snprintf(out, n, "%.3g ms", ms);
	else if (ms < 60000)
		snprintf(out, n, "%.3g s", ms / 1000);
	else
		snprintf(out, n, "%ld min %ld s", (long)(ms / 60000), (long)(ms / 1000) % 60);
}

/* A tick label: the step decides the unit. */
static void fmt_tick(char *out, size_t n, double ms, double step)
{
	if (step >= 60000)
		snprintf(out, n, "%g min", ms / 60000);
	else if (step >= 1000)
		snprintf(out, n, "%g s", ms / 1000);
	else
		snprintf(out, n, "%g ms", ms);
}

/* Ticks every 1, 2 or 5 times a power of ten (or whole minutes): about
 * eight across. */
static double tick_step(double tmax)
{
	double raw = tmax / 8, mag = 1e-3;
	while (mag * 10 <= raw)
		mag *= 10;
	double step = raw <= mag ? mag : raw <= 2 * mag ? 2 * mag : raw <= 5 * mag ? 5 * mag
		    : 10 * mag;
	if (step >= 60000) /* whole minutes: 1, 2, 5, 10, 15, 30, 60 ... */
		for (double m = 60000; ; m *= 2)
			if (m >= raw)
				return m;
	return step;
}

static void draw_axis(struct buf *b, const struct tl *t, double y0, double y1)
{
	double step = tick_step(t->tmax);
	for (int i = 0; i * step <= t->tmax * 1.0000001; i++) {
		double ms = i * step, x = x_of(t, ms);
		char label[40];
		svg_line(b, x, y0, x, y1 + 4, i ? "#dddddd" : "#888888");
		fmt_tick(label, sizeof label, ms, step);
		svg_text(b, x, y1 + 16, 11, "middle", "#333333", label);
	}
	svg_line(b, TL_LEFT, y1, t->width - TL_RIGHT, y1, "#888888");
}

static void draw_lanes(struct buf *b, const struct tl *t, double top)
{
	double h = lane_h(t);
	int every = h >= 10 ? 1 : (int)(10 / h + 1);
	for (int l = 0; l < t->nlanes; l++) {
		double y = top + l * h;
		if (l % 2)
			svg_rect(b, TL_LEFT, y, t->width - TL_LEFT - TL_RIGHT, h, "#f4f4f4", NULL, NULL);
		if (l % every)
			continue;
		char label[48];
		const char *what = t->packed ? "lane" : "slot";
		if (t->per_lane > 1)
			snprintf(label, sizeof label, "%ss %ld-%ld", what, l * t->per_lane,
				 (l + 1) * t->per_lane - 1);
		else
			snprintf(label, sizeof label, "%s %d", what, l);
		svg_text(b, TL_LEFT - 6, y + h / 2 + 4, h < 11 ? 9 : 11, "end", "#333333", label);
	}
}

static void bar_title(char *out, size_t n, const struct tl_bar *bar)
{
	char dur[32], at[32], rc[24] = "none";
	fmt_ms(dur, sizeof dur, bar->end - bar->start);
	fmt_ms(at, sizeof at, bar->start);
	if (bar->has_rc)
		snprintf(rc, sizeof rc, "%ld", bar->rc);
	if (bar->attempts > 1)
		snprintf(out, n, "%s: %s, %s, returncode %s (attempt %d of %d, started at %s)",
			 bar->name, statuses[bar->status].name, dur, rc, bar->attempt,
			 bar->attempts, at);
	else
		snprintf(out, n, "%s: %s, %s, returncode %s (started at %s)", bar->name,
			 statuses[bar->status].name, dur, rc, at);
}

static void draw_stages(struct buf *b, const struct tl *t, const struct tl_bar *bar, double y,
			double h)
{
	double sh = h * 0.5 / (double)bar->nstages;
	for (size_t i = 0; i < bar->nstages; i++) {
		const struct tl_stage *s = &t->stages[bar->stage0 + i];
		double x = x_of(t, s->start), w = x_of(t, s->end) - x;
		char dur[32], rc[24] = "none", title[512];
		fmt_ms(dur, sizeof dur, s->end - s->start);
		if (s->has_rc)
			snprintf(rc, sizeof rc, "%ld", s->rc);
		snprintf(title, sizeof title, "%s stage %zu (%s): %s, returncode %s", bar->name, i,
			 s->argv0 ? s->argv0 : "?", dur, rc);
		svg_rect(b, x, y + h * 0.45 + (double)i * sh, w < 0.5 ? 0.5 : w, sh * 0.8,
			 STAGE_COLOUR, NULL, title);
	}
}

static void draw_bars(struct buf *b, struct tl *t, double top)
{
	double h = lane_h(t), bh = h > 4 ? h * 0.8 : h;
	for (size_t i = 0; i < t->nbars; i++) {
		const struct tl_bar *bar = &t->bars[i];
		double x = x_of(t, bar->start), w = x_of(t, bar->end) - x;
		double y = top + bar->lane * h + (h - bh) / 2;
		char title[768];
		bar_title(title, sizeof title, bar);
		svg_rect(b, x, y, w < 0.5 ? 0.5 : w, bh, statuses[bar->status].colour,
			 w > 3 ? "#ffffff" : NULL, title);
		if (bar->nstages && bh >= 8)
			draw_stages(b, t, bar, y, bh);
		else if (bh >= 11 && w > 6.5 * (double)strlen(bar->name) + 8)
			svg_text(b, x + 4, y + bh / 2 + 4, 10, "start", "#ffffff", bar->name);
	}
	t->drawn = t->nbars;
}

/* One merged bar of a lane: [start, end] holding n attempts. */
struct tl_run {
	double start, end;
	size_t n, count[NSTATUS];
	int worst;
};

static void draw_run(struct buf *b, const struct tl *t, const struct tl_run *r, double y,
		     double bh)
{
	char from[32], to[32], title[512];
	fmt_ms(from, sizeof from, r->start);
	fmt_ms(to, sizeof to, r->end);
	int k = snprintf(title, sizeof title, "%zu attempts from %s to %s:", r->n, from, to);
	for (size_t s = 0; s < NSTATUS && k > 0 && (size_t)k < sizeof title; s++)
		if (r->count[s])
			k += snprintf(title + k, sizeof title - (size_t)k, " %zu %s", r->count[s],
				      statuses[s].name);
	double x = x_of(t, r->start), w = x_of(t, r->end) - x;
	svg_rect(b, x, y, w < 0.5 ? 0.5 : w, bh, statuses[r->worst].colour, NULL, title);
}

/* Aggregated: per lane, attempts less than a pixel apart are one bar,
 * coloured by the worst status among them. */
static void draw_merged(struct buf *b, struct tl *t, double top)
{
	double h = lane_h(t), bh = h > 4 ? h * 0.8 : h;
	double px_ms = t->tmax / (t->width - TL_LEFT - TL_RIGHT);
	struct tl_bar **by = xmalloc((t->nbars ? t->nbars : 1) * sizeof *by);
	for (size_t i = 0; i < t->nbars; i++)
		by[i] = &t->bars[i];
	qsort(by, t->nbars, sizeof *by, cmp_start);
	struct tl_run *runs = xcalloc((size_t)t->nlanes, sizeof *runs);
	t->drawn = 0;
	for (size_t i = 0; i <= t->nbars; i++) {
		for (int l = 0; i == t->nbars && l < t->nlanes; l++)
			if (runs[l].n) {
				draw_run(b, t, &runs[l], top + l * h + (h - bh) / 2, bh);
				t->drawn++;
			}
		if (i == t->nbars)
			break;
		const struct tl_bar *bar = by[i];
		struct tl_run *r = &runs[bar->lane];
		if (r->n && bar->start - r->end > px_ms) {
			draw_run(b, t, r, top + bar->lane * h + (h - bh) / 2, bh);
			t->drawn++;
			memset(r, 0, sizeof *r);
		}
		if (!r->n)
			r->start = bar->start;
		if (bar->end > r->end)
			r->end = bar->end;
		r->n++;
		r->count[bar->status]++;
		if (bar->status > r->worst)
			r->worst = bar->status;
	}
	free(runs);
	free(by);
}

static void draw_legend(struct buf *b, const struct tl *t, double y)
{
	double x = TL_LEFT;
	for (size_t s = 0; s < NSTATUS; s++) {
		char label[64];
		snprintf(label, sizeof label, "%s (%.0f)", statuses[s].name,
			 sum_of(t, statuses[s].name));
		svg_rect(b, x, y - 10, 12, 12, statuses[s].colour, NULL, NULL);
		svg_text(b, x + 16, y, 12, "start", "#333333", label);
		x += 24 + 7.0 * (double)strlen(label);
	}
	if (t->nstages) {
		svg_rect(b, x, y - 10, 12, 12, STAGE_COLOUR, NULL, NULL);
		svg_text(b, x + 16, y, 12, "start", "#333333", "pipeline stage");
		x += 24 + 7.0 * 14;
	}
	char skipped[64];
	snprintf(skipped, sizeof skipped, "skipped: %.0f (not drawn)",
		 sum_of(t, "skipped"));
	svg_text(b, x, y, 12, "start", "#333333", skipped);
}

/* "NAME: STATUS, N jobs (a ok, b failed, ...), DURATION, max_parallel M" */
static char *summary_line(const struct tl *t)
{
	const struct cJSON *r = t->root;
	struct buf b = { 0 };
	const char *name = jv_str(jv_get(r, "name"));
	buf_printf(&b, "%s: %s, %.0f jobs (", name && *name ? name : "run",
		   jv_str(jv_get(r, "status")) ? jv_str(jv_get(r, "status")) : "?",
		   sum_of(t, "total"));
	static const char *const keys[] = { "ok", "failed", "timeout", "error", "skipped",
					    "cancelled" };
	bool first = true;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		double n = sum_of(t, keys[i]);
		if (n > 0 || i == 0) {
			buf_printf(&b, "%s%.0f %s", first ? "" : ", ", n, keys[i]);
			first = false;
		}
	}
	char dur[32];
	fmt_ms(dur, sizeof dur, num_or(jv_get(r, "duration_ms"), t->tmax));
	buf_printf(&b, "), %s", dur);
	if (jv_is_number(jv_get(r, "max_parallel")))
		buf_printf(&b, ", max_parallel %.0f", jv_num(jv_get(r, "max_parallel")));
	const struct cJSON *peak = jv_get(jv_get(r, "runner"), "peak_parallel");
	if (jv_is_number(peak))
		buf_printf(&b, ", peak %.0f at once", jv_num(peak));
	return buf_detach(&b);
}

/* The whole chart into b. */
static void render_svg(struct buf *b, struct tl *t, bool standalone)
{
	double h = lane_h(t), plot_h = t->nlanes * h;
	double height = TL_TOP + plot_h + 64;
	char *title = summary_line(t);
	svg_begin(b, t->width, height, title, standalone);
	svg_text(b, TL_LEFT, 22, 15, "start", "#111111", title);
	draw_lanes(b, t, TL_TOP);
	draw_axis(b, t, TL_TOP, TL_TOP + plot_h);
	if (t->aggregated)
		draw_merged(b, t, TL_TOP);
	else
		draw_bars(b, t, TL_TOP);
	struct buf note = { 0 };
	if (!t->aggregated)
		buf_printf(&note, "%zu attempts in %d %s; hover a bar for its job", t->nbars,
			   t->nlanes, t->packed ? "lanes (the records have no slots)" : "slots");
	else
		buf_printf(&note, "aggregated: %zu attempts drawn as %zu bars (attempts less "
			   "than a pixel apart merged, coloured by the worst status)", t->nbars,
			   t->drawn);
	if (t->aggregated && t->per_lane > 1)
		buf_printf(&note, ", %ld slots a lane", t->per_lane);
	buf_addch(&note, 0);
	svg_text(b, TL_LEFT, 42, 12, "start", "#555555", note.p);
	buf_free(&note);
	draw_legend(b, t, TL_TOP + plot_h + 46);
	svg_end(b);
	free(title);
}

static void html_row(struct buf *b, const char *k, const char *v)
{
	buf_addstr(b, "<tr><th>");
	svg_escape(b, k);
	buf_addstr(b, "</th><td>");
	svg_escape(b, v);
	buf_addstr(b, "</td></tr>\n");
}

/* A top-level member as text: a string as is, a number as written. */
static void html_member(struct buf *b, const struct cJSON *obj, const char *k)
{
	const struct cJSON *v = jv_get(obj, k);
	char num[48];
	if (jv_is_string(v)) {
		html_row(b, k, jv_str(v));
	} else if (jv_is_number(v)) {
		snprintf(num, sizeof num, "%g", jv_num(v));
		html_row(b, k, num);
	} else if (jv_is_null(v)) {
		html_row(b, k, "null");
	}
}

/* The jobs not ok: name, status, returncode, duration, error (the first
 * TL_HTML_JOBS). */
#define TL_HTML_JOBS 200
static void html_not_ok(struct buf *b, const struct cJSON *jobs)
{
	const struct cJSON *j;
	size_t n = 0;
	JV_EACH(j, jobs) {
		const char *st = jv_str(jv_get(j, "status"));
		if (!st || !strcmp(st, "ok"))
			continue;
		if (!n++)
			buf_addstr(b, "<h2>Jobs not ok</h2>\n<table>\n<tr><th>name</th><th>status"
				   "</th><th>returncode</th><th>duration</th><th>error</th></tr>\n");
		if (n > TL_HTML_JOBS)
			continue;
		char rc[24] = "", dur[32];
		if (jv_is_number(jv_get(j, "returncode")))
			snprintf(rc, sizeof rc, "%.0f", jv_num(jv_get(j, "returncode")));
		fmt_ms(dur, sizeof dur, num_or(jv_get(j, "duration_ms"), 0));
		const char *cells[] = { jv_str(jv_get(j, "name")), st, rc, dur,
					jv_str(jv_get(j, "error")) };
		buf_addstr(b, "<tr>");
		for (size_t c = 0; c < 5; c++) {
			buf_addstr(b, "<td>");
			svg_escape(b, cells[c] ? cells[c] : "");
			buf_addstr(b, "</td>");
		}
		buf_addstr(b, "</tr>\n");
	}
	if (n > TL_HTML_JOBS)
		buf_printf(b, "<tr><td colspan=\"5\">and %zu more</td></tr>\n", n - TL_HTML_JOBS);
	if (n)
		buf_addstr(b, "</table>\n");
}

/* One static page: the chart inline, the run's summary table, the jobs
 * not ok; no script, no link, nothing fetched. */
/* The summary's counts, or (none in the document) the jobs' own. */
static void html_counts(struct buf *b, const struct tl *t)
{
	const struct cJSON *m;
	char num[32];
	JV_EACH(m, jv_get(t->root, "summary")) {
		snprintf(num, sizeof num, "%g", jv_num(m));
		html_row(b, jv_key(m), num);
	}
	if (jv_get(t->root, "summary"))
		return;
	snprintf(num, sizeof num, "%g", t->njobs);
	html_row(b, "total", num);
	for (size_t i = 1; i < sizeof rec_statuses / sizeof *rec_statuses; i++) {
		snprintf(num, sizeof num, "%g", t->counts[i]);
		html_row(b, rec_statuses[i], num);
	}
}

static void render_html(struct buf *b, struct tl *t)
{
	char *title = summary_line(t);
	buf_addstr(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
		   "<title>");
	svg_escape(b, title);
	buf_addstr(b, "</title>\n<style>\nbody { font-family: sans-serif; margin: 1em; }\n"
		   "table { border-collapse: collapse; margin-bottom: 1em; }\n"
		   "th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: left; }\n"
		   "svg { max-width: 100%; height: auto; }\n</style>\n</head>\n<body>\n<h1>");
	svg_escape(b, title);
	buf_addstr(b, "</h1>\n");
	render_svg(b, t, false);
	buf_addstr(b, "<h2>Summary</h2>\n<table>\n");
	static const char *const run_keys[] = { "name", "status", "started_at", "duration_ms",
						"mode", "max_parallel", "containment", "stopped" };
	for (size_t i = 0; i < sizeof run_keys / sizeof run_keys[0]; i++)
		html_member(b, t->root, run_keys[i]);
	html_member(b, jv_get(t->root, "runner"), "peak_parallel");
	html_counts(b, t);
	buf_addstr(b, "</table>\n");
	html_not_ok(b, jv_get(t->root, "jobs"));
	buf_addstr(b, "</body>\n</html>\n");
	free(title);
}

/* ------------------------------------------------------------ command */

/* b into path ("-": stdout), replaced whole (afile.h).  0, or -1 after
 * saying why. */
static int write_out(const char *what, const char *path, const struct buf *b)
{
	if (!strcmp(path, "-")) {
		struct fd_sink *out = cmd_stdout_sink();
		fd_sink_write(out, b->p, b->len);
		int rc = cmd_flush_stdout(&cmd_timeline_entry, out, EXIT_OK);
		free(out);
		return rc == EXIT_OK ? 0 : -1;
	}
	struct afile f;
	if (afile_open(&f, path, O_NONBLOCK) < 0) {
		err_line("piperun: timeline: %s %s: %s", what, path, strerror(errno));
		return -1;
	}
	fcntl(f.fd, F_SETFL, fcntl(f.fd, F_GETFL) & ~O_NONBLOCK);
	if (write_full(f.fd, b->p, b->len) < 0) {
		int e = errno;
		afile_abort(&f);
		err_line("piperun: timeline: %s %s: %s", what, path, strerror(e));
		return -1;
	}
	if (afile_commit(&f) < 0) {
		err_line("piperun: timeline: %s %s: %s", what, path, strerror(errno));
		return -1;
	}
	return 0;
}

/* RESULTS read and laid out into t: 0, or the exit status after saying
 * why. */
static int timeline_read(const char *file, struct tl *t, char **text, struct cJSON **root)
{
	struct errlist errs = { 0 };
	size_t len = 0;
	*text = spec_read(file, &len, &errs);
	if (!*text) {
		errlist_print(&errs);
		errlist_free(&errs);
		return EXIT_USAGE;
	}
	*root = jv_parse_whole(*text, len);
	const struct cJSON *jobs = jv_get(*root, "jobs");
	if (!jv_is_object(*root) || !jv_is_array(jobs)) {
		err_line("piperun: timeline: %s: not a results document (run -o json, "
			 "run --results, piperun journal)", file);
		return EXIT_USAGE;
	}
	int rc = check_results(file, *root);
	if (rc)
		return rc;
	t->root = *root;
	const struct cJSON *j;
	JV_EACH(j, jobs) {
		t->njobs++;
		for (size_t i = 0; i < sizeof rec_statuses / sizeof *rec_statuses; i++)
			if (!strcmp(jv_str(jv_get(j, "status")), rec_statuses[i]))
				t->counts[i]++;
	}
	read_bars(t, jobs);
	double dur = num_or(jv_get(*root, "duration_ms"), 0);
	if (dur > t->tmax)
		t->tmax = dur;
	if (t->tmax <= 0)
		t->tmax = 1;
	lay_out(t);
	return EXIT_OK;
}

static int cmd_timeline(int argc, char **argv)
{
	const struct cmd_entry *self = &cmd_timeline_entry;
	static const struct option opts[] = {
		{ "svg", required_argument, NULL, 's' },
		{ "html", required_argument, NULL, 'H' },
		{ "width", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *svg = NULL, *html = NULL;
	int64_t width = 1200;
	int c;
	while ((c = getopt_long(argc, argv, ":w:h", opts, NULL)) != -1) {
		if (c == 's')
			svg = optarg;
		else if (c == 'H')
			html = optarg;
		else if (c == 'w') {
			if (cmd_int_range(self, "-w/--width", optarg, 400, 20000, "", &width) < 0)
				return EXIT_USAGE;
		} else
			return cmd_opt_common(self, c, argv);
	}
	if (optind + 1 != argc)
		return cmd_bad_usage(self, optind < argc ? "one RESULTS file, not %d"
				     : "RESULTS missing%.0d", argc - optind);
	if (!svg && !html)
		svg = "-";
	struct tl t = { .width = (double)width };
	char *text = NULL;
	struct cJSON *root = NULL;
	int rc = timeline_read(argv[optind], &t, &text, &root);
	if (rc == EXIT_OK && svg) {
		struct buf b = { 0 };
		render_svg(&b, &t, true);
		rc = write_out("--svg", svg, &b) < 0 ? EXIT_RUNNER : EXIT_OK;
		buf_free(&b);
	}
	if (rc == EXIT_OK && html) {
		struct buf b = { 0 };
		render_html(&b, &t);
		rc = write_out("--html", html, &b) < 0 ? EXIT_RUNNER : EXIT_OK;
		buf_free(&b);
	}
	jv_free(root);
	free(text);
	free(t.bars);
	free(t.stages);
	return rc;
}

const struct cmd_entry cmd_timeline_entry = {
	.name = "timeline",
	.synopsis = "timeline RESULTS|- [--svg FILE] [--html FILE] [-w PX]",
	.summary = "draw a run's results as a Gantt chart (SVG, HTML)",
	.help =
	"RESULTS is a results document (run -o json, run --results, piperun\n"
	"journal); - reads stdin.  One lane per slot, a bar per job attempt\n"
	"coloured by its status (hover for name, status, duration and\n"
	"returncode), a pipeline's stages as sub-bars, a time axis and a\n"
	"legend; the run's summary is the title.  Above 120 lanes or 3000\n"
	"bars, bars less than a pixel apart merge (the chart says so).\n"
	"\n"
	"options:\n"
	"      --svg FILE     write the chart to FILE (- : stdout; the default\n"
	"                     when neither --svg nor --html is given)\n"
	"      --html FILE    write one static HTML page: the chart and the run's\n"
	"                     summary table (needs no network)\n"
	"  -w, --width PX     the chart's width (default 1200)\n"
	"  -h, --help         show this help\n"
	"\n"
	"exit status: 0 written, 2 usage error or RESULTS unreadable, no\n"
	"results or a damaged one (the bad field named), 3 a FILE could not\n"
	"be written.\n",
	.exec = cmd_timeline,
};
