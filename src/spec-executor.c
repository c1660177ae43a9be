/* SPDX-License-Identifier: GPL-3.0-or-later */
/* spec-executor.c - the spec's top-level "executor" block: where the
 * jobs run when `piperun run --executor NAME` asks for it.  Only
 * "slurm" has settings (struct slurm_spec); they are checked here, as
 * the rest of the spec is, and used by slurm.c and proc-slurm.c. */
#include "config.h"
#include "jsonw.h"
#include "spec-int.h"
#include "spec-plan.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const executor_keys[] = { "slurm", NULL };
static const char *const slurm_keys[] = {
	"partition", "account", "cpus_per_job", "mem_per_job", "time_limit",
	"allocation", "extra_args", NULL
};

struct slurm_spec *spec_slurm_default(void)
{
	struct slurm_spec *x = xcalloc(1, sizeof *x);
	x->cpus_per_job = 1;
	return x;
}

void spec_slurm_free(struct slurm_spec *x)
{
	if (!x)
		return;
	free(x->partition);
	free(x->account);
	free(x->time_limit);
	free(x->alloc_job);
	spec_strv_free(x->extra_args, x->nextra_args);
	free(x);
}

/* A name Slurm takes on its command line: non-empty, no blank, no
 * control character, not an option. */
static char *get_name(struct ctx *c, const struct cJSON *v, const char *path)
{
	const char *s = jv_str(v);
	bool ok = s && *s && *s != '-';
	for (const char *p = s; ok && *p; p++)
		ok = !isspace((unsigned char)*p) && !iscntrl((unsigned char)*p) && *p != ',';
	if (!ok) {
		spec_expected(c, path, "a name (a non-empty string without blanks or commas)", v);
		return NULL;
	}
	return xstrdup(s);
}

/* A memory size as Slurm's --mem takes it, in MiB: a number of MiB, or
 * a string "N" with an optional K, M, G or T suffix. */
static bool get_mem(struct ctx *c, const struct cJSON *v, const char *path, long *mb)
{
	double n = -1;
	if (jv_is_number(v)) {
		n = jv_num(v);
	} else if (jv_is_string(v) && isdigit((unsigned char)*jv_str(v))) {
		char *end;
		n = strtod(jv_str(v), &end);
		static const char units[] = "KMGT";
		const char *u = *end ? strchr(units, toupper((unsigned char)*end)) : NULL;
		if (*end && (!u || end[1]))
			n = -1;
		else if (u)
			n *= u == units ? 1.0 / 1024 : u == units + 1 ? 1 : u == units + 2 ? 1024
			     : 1024.0 * 1024;
	}
	if (!(n >= 1 && n <= 1e12)) {
		spec_expected(c, path, "a memory size like 512 (MiB) or \"4G\", at least 1M", v);
		return false;
	}
	*mb = (long)(n + 0.999999);
	return true;
}

/* Slurm's --time: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS. */
static char *get_time(struct ctx *c, const struct cJSON *v, const char *path)
{
	const char *s = jv_str(v);
	bool ok = s && isdigit((unsigned char)*s) && strlen(s) < 32;
	int colons = 0, dashes = 0;
	for (const char *p = s; ok && *p; p++) {
		colons += *p == ':';
		dashes += *p == '-';
		ok = (isdigit((unsigned char)*p) || *p == ':' || *p == '-') &&
		     !((*p == ':' || *p == '-') && !isdigit((unsigned char)p[1]));
	}
	if (!ok || colons > 2 || dashes > 1 || (dashes && strchr(s, ':') && strchr(s, ':') <
						 strchr(s, '-'))) {
		spec_expected(c, path, "a Slurm time limit like \"30\" (minutes), \"1:30:00\" "
			      "or \"2-00:00:00\"", v);
		return NULL;
	}
	return xstrdup(s);
}

/* "new", or the job id of an allocation (a number, or a string of
 * digits). */
static void get_alloc(struct ctx *c, const struct cJSON *v, const char *path,
		      struct slurm_spec *x)
{
	const char *s = jv_str(v);
	if (s && !strcmp(s, "new")) {
		x->alloc = SLURM_ALLOC_NEW;
		return;
	}
	bool digits = s && *s && strlen(s) < 20;
	for (const char *p = s; digits && *p; p++)
		digits = isdigit((unsigned char)*p);
	if (digits) {
		x->alloc = SLURM_ALLOC_JOB;
		x->alloc_job = xstrdup(s);
	} else if (jv_is_number(v) && jv_num(v) >= 1 && jv_num(v) <= 1e15 &&
		   jv_num(v) == (double)(long long)jv_num(v)) {
		x->alloc = SLURM_ALLOC_JOB;
		x->alloc_job = xasprintf("%lld", (long long)jv_num(v));
	} else {
		spec_expected(c, path, "\"new\" or the job id of an allocation", v);
	}
}

static void parse_slurm(struct ctx *c, const struct cJSON *v, const char *path,
			struct slurm_spec *x)
{
	const struct cJSON *f;
	char *p;
	spec_check_keys(c, v, path, slurm_keys, "not a field of executor.slurm");
#define FIELD(key) ((f = jv_get(v, key)) && (p = spec_path_key(path, key)))
	if (FIELD("partition"))
		x->partition = get_name(c, f, p), free(p);
	if (FIELD("account"))
		x->account = get_name(c, f, p), free(p);
	if (FIELD("cpus_per_job"))
		spec_get_long(c, f, p, 1, 100000, &x->cpus_per_job), free(p);
	if (FIELD("mem_per_job"))
		get_mem(c, f, p, &x->mem_mb), free(p);
	if (FIELD("time_limit"))
		x->time_limit = get_time(c, f, p), free(p);
	if (FIELD("allocation"))
		get_alloc(c, f, p, x), free(p);
	if (FIELD("extra_args")) {
		x->extra_args = spec_get_str_array(c, f, p, false, false, &x->nextra_args);
		for (size_t i = 0; i < x->nextra_args; i++)
			if (!*x->extra_args[i] || !strcmp(x->extra_args[i], "--")) {
				char *pi = spec_path_idx(p, i);
				spec_err(c, pi, "an srun option cannot be empty or \"--\"");
				free(pi);
			}
		free(p);
	}
#undef FIELD
}

void spec_parse_executor(struct ctx *c, const struct cJSON *v, struct spec *s)
{
	if (!jv_is_object(v)) {
		spec_expected(c, "executor", "an object like {\"slurm\": {...}}", v);
		return;
	}
	spec_check_keys(c, v, "executor", executor_keys, "not an executor with settings");
	const struct cJSON *sl = jv_get(v, "slurm");
	if (!sl)
		return;
	if (!jv_is_object(sl)) {
		spec_expected(c, "executor.slurm", "an object of Slurm settings", sl);
		return;
	}
	s->slurm = spec_slurm_default();
	parse_slurm(c, sl, "executor.slurm", s->slurm);
}

void spec_plan_executor(struct jw *w, const struct spec *s)
{
	const struct slurm_spec *x = s->slurm;
	if (!x)
		return;
	jw_key(w, "executor");
	jw_obj(w, false);
	jw_key(w, "slurm");
	jw_obj(w, false);
	jw_kstr(w, "partition", x->partition);
	jw_kstr(w, "account", x->account);
	jw_kint(w, "cpus_per_job", x->cpus_per_job);
	jw_key(w, "mem_per_job");
	if (x->mem_mb) {
		char b[32];
		snprintf(b, sizeof b, "%ldM", x->mem_mb);
		jw_str(w, b);
	} else {
		jw_null(w);
	}
	jw_kstr(w, "time_limit", x->time_limit);
	jw_kstr(w, "allocation", x->alloc == SLURM_ALLOC_JOB ? x->alloc_job
			       : x->alloc == SLURM_ALLOC_NEW ? "new" : NULL);
	jw_key(w, "extra_args");
	jw_arr(w, true);
	for (size_t i = 0; i < x->nextra_args; i++)
		jw_str(w, x->extra_args[i]);
	jw_arr_end(w);
	jw_obj_end(w);
	jw_obj_end(w);
}
