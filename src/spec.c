/* SPDX-License-Identifier: GPL-3.0-or-later */
/* spec.c - JSON spec -> struct spec: structure.
 *
 * Loading runs in passes, each collecting every error it finds so that
 * `piperun validate` can report them all at once:
 *   1. parse (spec-json.c), mapping a failure to line:column, then read
 *      the text again beside the tree for what cJSON loses (a \u0000 in a
 *      string, a number's digits beyond 2^53): errors that stop here;
 *   2. structure (here, and the kind-*.c files for each kind's own
 *      fields): duplicate keys anywhere, unknown keys, types and ranges,
 *      each error naming the JSON path it is about;
 *   3. the values of foreach sources (spec-foreach.c: read only with
 *      SPEC_LOAD_SOURCES), then expansion of repeat/foreach into named
 *      copies with placeholders substituted (spec-expand.c);
 *   4. names, dependencies (after, stdin.from) and cycles, then
 *   5. resolution of programs on PATH and of each job's environment
 *      (spec-resolve.c).
 * Nothing here starts a process but a foreach command source, and that
 * only with SPEC_LOAD_SOURCES. */
#include "config.h"
#include "spec.h"
#include "spec-int.h"
#include "util.h"
#include "enum-name.h"
#include "kind.h"
#include "chain.h"
#include "codec.h"
#include "spawn.h"
#include "strmap.h"
#include "signals.h"
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_OUTPUT (16u << 20)

/* in the order `run --mode`'s and the spec's messages name them */
static const struct enum_name run_modes[] = {
	{ MODE_ASYNC, "async" }, { MODE_THREAD, "thread" }, { MODE_SERIAL, "serial" },
};
static const struct enum_name io_modes[] = {
	{ IO_CAPTURE, "capture" }, { IO_TEE, "tee" }, { IO_INHERIT, "inherit" },
	{ IO_NULL, "null" }, { IO_STDOUT, "stdout" }, { IO_FILE, "file" },
};
static const struct enum_name encodings[] = {
	{ ENC_AUTO, "auto" }, { ENC_UTF8, "utf-8" }, { ENC_BASE64, "base64" },
};

void spec_strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

char **spec_strv_dup(char *const *v, size_t n)
{
	if (!v)
		return NULL;
	char **r = xcalloc(n + 1, sizeof *r);
	for (size_t i = 0; i < n; i++)
		r[i] = xstrdup(v[i]);
	return r;
}

/* "$schema": the JSON Schema an editor checks the spec against
 * (CONTRACT §8.5); piperun only checks it is a string. */
static const char *const top_keys[] = {
	"$schema", "name", "mode", "max_parallel", "timeout", "fail_fast", "tag",
	"journal", "executor", "defaults", "jobs", NULL
};

#define COMMON_JOB_KEYS                                                      \
	"run", "shell", "pipeline", "pool", "steps", "env", "env_clear",     \
	"unset", "secret_env", "cwd", "stdin", "stdout", "stderr",           \
	"encoding", "max_output", "digest", "timeout", "signal",             \
	"kill_after", "expect", "retries", "retry_delay", "retry_backoff",   \
	"repeat", "foreach", "after", "always", "pipefail", "nice", "umask", \
	"rlimits", "pass_fds"

static const char *const job_keys[] = { "name", COMMON_JOB_KEYS, "items", "queue",
					"ordered", "on_error", "item_timeout", NULL };
static const char *const default_keys[] = { COMMON_JOB_KEYS, NULL };

/* The value of a job field: the job's own, else the default.  *path is
 * set to where it came from (callers free it). */
static const struct cJSON *spec_field(const struct cJSON *job, const struct cJSON *defaults,
			  const char *jpath, const char *key, char **path)
{
	const struct cJSON *v = jv_get(job, key);
	if (v) {
		*path = spec_path_key(jpath, key);
		return v;
	}
	if (defaults && (v = jv_get(defaults, key))) {
		*path = spec_path_key("defaults", key);
		return v;
	}
	*path = NULL;
	return NULL;
}

bool spec_parse_argv(struct ctx *c, const struct cJSON *v, const char *path,
		       struct targ **out, size_t *n)
{
	if (!jv_is_array(v) || !jv_size(v)) {
		spec_expected(c, path, "a non-empty argv array", v);
		return false;
	}
	size_t cnt = (size_t)jv_size(v), i = 0;
	struct targ *a = xcalloc(cnt, sizeof *a);
	bool ok = true;
	for (const struct cJSON *it = jv_child(v); it; it = jv_next(it), i++) {
		char *p = spec_path_idx(path, i);
		if (jv_is_string(it)) {
			a[i].s = xstrdup(jv_str(it));
		} else if (jv_is_object(it)) {
			static const char *const keys[] = { "base64", NULL };
			spec_check_keys(c, it, p, keys, "an argv item object has only \"base64\"");
			const struct cJSON *b = jv_get(it, "base64");
			unsigned char *bytes;
			size_t blen;
			char *bp = spec_path_key(p, "base64");
			if (!jv_is_string(b)) {
				spec_expected(c, bp, "a base64 string", b);
				ok = false;
			} else if (b64_decode(jv_str(b), strlen(jv_str(b)),
					      &bytes, &blen) < 0) {
				spec_expected(c, bp, "valid base64", b);
				ok = false;
			} else if (memchr(bytes, 0, blen)) {
				spec_err(c, bp, "an argv item cannot contain a NUL byte");
				free(bytes);
				ok = false;
			} else {
				a[i].s = xstrndup((char *)bytes, blen);
				a[i].raw = true;
				free(bytes);
			}
			free(bp);
		} else {
			spec_expected(c, p, "a string or {\"base64\": ...}", it);
			ok = false;
		}
		if (!a[i].s)
			a[i].s = xstrdup("");
		free(p);
	}
	*out = a;
	*n = cnt;
	return ok;
}

bool spec_parse_env(struct ctx *c, const struct cJSON *v, const char *path,
		      struct kv **env, size_t *n, size_t *cap)
{
	if (!jv_is_object(v)) {
		spec_expected(c, path, "an object of NAME: \"value\"", v);
		return false;
	}
	bool ok = true;
	/* the names there already (defaults.env's) and those added: one
	 * lookup each, not a scan of the env per name */
	struct strmap names;
	strmap_init(&names, *n + (size_t)jv_size(v));
	for (size_t i = 0; i < *n; i++)
		strmap_put(&names, (*env)[i].name, i, NULL);
	for (const struct cJSON *e = jv_child(v); e; e = jv_next(e)) {
		char *p = spec_path_key(path, jv_key(e));
		if (!*jv_key(e) || strchr(jv_key(e), '=')) {
			spec_err(c, p, "an environment variable name cannot be empty or contain '='");
			ok = false;
		} else if (!jv_is_string(e)) {
			/* the value may be a secret (secret_env): name its type,
			 * never echo it */
			spec_err(c, p, "expected a string, got %s",
			    jv_is_number(e) ? "a number" : jv_is_bool(e) ? "a boolean" :
			    jv_is_null(e) ? "null" : jv_is_array(e) ? "an array" : "an object");
			ok = false;
		} else {
			size_t i = *strmap_put(&names, jv_key(e), *n, NULL);
			if (i == *n) {
				xgrow(env, cap, *n + 1, sizeof **env);
				(*env)[i].name = xstrdup(jv_key(e));
				(*env)[i].value = NULL;
				(*n)++;
			}
			free((*env)[i].value);
			(*env)[i].value = xstrdup(jv_str(e));
		}
		free(p);
	}
	strmap_free(&names);
	return ok;
}

bool spec_parse_output(struct ctx *c, const struct cJSON *v, const char *path,
			 bool is_stderr, struct io_spec *out)
{
	memset(out, 0, sizeof *out);
	if (jv_is_string(v)) {
		int m;
		/* a file is an object; "stdout" is for stderr only */
		if (ENUM_PARSE(io_modes, jv_str(v), &m) < 0 || m == IO_FILE ||
		    (m == IO_STDOUT && !is_stderr))
			goto bad;
		out->mode = (enum io_mode)m;
		return true;
	}
	if (jv_is_null(v)) {
		out->mode = IO_NULL;
		return true;
	}
	if (jv_is_object(v)) {
		static const char *const keys[] = { "file", "append", NULL };
		spec_check_keys(c, v, path, keys, "expected \"file\" and \"append\"");
		char *fp = spec_path_key(path, "file");
		const char *f = spec_get_str(c, jv_get(v, "file"), fp);
		free(fp);
		if (!f)
			return false;
		if (!*f) {
			char *p = spec_path_key(path, "file");
			spec_err(c, p, "expected a file name, got \"\"");
			free(p);
			return false;
		}
		out->mode = IO_FILE;
		out->path = xstrdup(f);
		const struct cJSON *a = jv_get(v, "append");
		if (a) {
			char *ap = spec_path_key(path, "append");
			bool ok = spec_get_bool(c, a, ap, &out->append);
			free(ap);
			if (!ok)
				return false;
		}
		return true;
	}
bad:
	spec_expected(c, path, is_stderr ?
		 "\"capture\", \"tee\", \"inherit\", \"null\", \"stdout\" or {\"file\": ...}" :
		 "\"capture\", \"tee\", \"inherit\", \"null\" or {\"file\": ...}", v);
	return false;
}

/* stdin.text: its bytes, NULs too (cJSON stopped at a \u0000: the
 * token noted by the second read has it all). */
static bool stdin_text(struct ctx *c, const struct cJSON *e, const char *p, struct in_spec *in)
{
	const char *s = spec_get_str(c, e, p);
	if (!s)
		return false;
	in->kind = IN_TEXT;
	for (size_t i = 0; i < c->nnul_texts; i++)
		if (c->nul_texts[i].v == e) {
			in->data = spec_raw_string(c->nul_texts[i].tok, c->nul_texts[i].len,
						   &in->len);
			return true;
		}
	in->data = xstrdup(s);
	in->len = strlen(s);
	return true;
}

/* stdin.seed, which goes with random; ok: what came before is. */
static bool stdin_seed(struct ctx *c, const struct cJSON *v, const char *path,
		       struct in_spec *in, bool ok)
{
	char *p;
	const struct cJSON *seed = jv_get(v, "seed");
	if (seed) {
		p = spec_path_key(path, "seed");
		if (in->kind != IN_RANDOM && ok) {
			spec_err(c, p, "\"seed\" goes with \"random\" only");
			ok = false;
		} else if (!jv_is_number(seed) || jv_num(seed) < 0 ||
			   jv_num(seed) != u_floor(jv_num(seed)) ||
			   jv_num(seed) > 9007199254740992.0) {
			spec_expected(c, p, "an integer from 0 to 2^53", seed);
			ok = false;
		} else {
			in->seeded = true;
			in->seed = (uint64_t)jv_num(seed);
		}
		free(p);
	}
	return ok;
}

static bool parse_stdin(struct ctx *c, const struct cJSON *v, const char *path,
			struct in_spec *in)
{
	memset(in, 0, sizeof *in);
	if (jv_is_null(v) || (jv_is_string(v) && !strcmp(jv_str(v), "null"))) {
		in->kind = IN_NULL;
		return true;
	}
	if (jv_is_string(v) && !strcmp(jv_str(v), "inherit")) {
		in->kind = IN_INHERIT;
		return true;
	}
	if (!jv_is_object(v) || jv_size(v) == 0) {
		spec_expected(c, path, "null, \"inherit\" or an object with one of text, base64, file, random, from", v);
		return false;
	}
	static const char *const keys[] = { "text", "base64", "file", "random", "seed", "from", NULL };
	size_t before = c->errs->n;
	spec_check_keys(c, v, path, keys, "stdin takes one of text, base64, file, random (+ seed), from");
	if (c->errs->n != before)
		return false;
	int kinds = 0;
	for (const struct cJSON *e = jv_child(v); e; e = jv_next(e))
		if (strcmp(jv_key(e), "seed"))
			kinds++;
	if (kinds != 1) {
		spec_err(c, path, "expected exactly one of text, base64, file, random, from");
		return false;
	}
	const struct cJSON *e;
	char *p = NULL;
	bool ok = true;
	if ((e = jv_get(v, "text"))) {
		p = spec_path_key(path, "text");
		ok = stdin_text(c, e, p, in);
	} else if ((e = jv_get(v, "base64"))) {
		p = spec_path_key(path, "base64");
		unsigned char *bytes;
		size_t n;
		if (!jv_is_string(e) ||
		    b64_decode(jv_str(e), strlen(jv_str(e)), &bytes, &n) < 0) {
			spec_expected(c, p, "valid base64", e);
			ok = false;
		} else {
			in->kind = IN_BASE64;
			in->data = (char *)bytes;
			in->len = n;
		}
	} else if ((e = jv_get(v, "file"))) {
		p = spec_path_key(path, "file");
		const char *s = spec_get_str(c, e, p);
		if ((ok = s && *s)) {
			in->kind = IN_FILE;
			in->path = xstrdup(s);
		} else if (s) {
			spec_expected(c, p, "a file name", e);
		}
	} else if ((e = jv_get(v, "random"))) {
		p = spec_path_key(path, "random");
		uint64_t n;
		if ((ok = spec_get_size(c, e, p, &n))) {
			in->kind = IN_RANDOM;
			in->nrandom = n;
		}
	} else if ((e = jv_get(v, "from"))) {
		p = spec_path_key(path, "from");
		const char *s = spec_get_str(c, e, p);
		if ((ok = s != NULL)) {
			in->kind = IN_FROM;
			in->from = xstrdup(s);
		}
	}
	free(p);
	return stdin_seed(c, v, path, in, ok);
}

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "as", RLIMIT_AS },         { "core", RLIMIT_CORE },
	{ "cpu", RLIMIT_CPU },       { "data", RLIMIT_DATA },
	{ "fsize", RLIMIT_FSIZE },   { "locks", RLIMIT_LOCKS },
	{ "memlock", RLIMIT_MEMLOCK }, { "msgqueue", RLIMIT_MSGQUEUE },
	{ "nice", RLIMIT_NICE },     { "nofile", RLIMIT_NOFILE },
	{ "nproc", RLIMIT_NPROC },   { "rss", RLIMIT_RSS },
	{ "rtprio", RLIMIT_RTPRIO }, { "rttime", RLIMIT_RTTIME },
	{ "sigpending", RLIMIT_SIGPENDING }, { "stack", RLIMIT_STACK },
};

static bool parse_rlimits(struct ctx *c, const struct cJSON *v, const char *path,
			  struct job_spec *j)
{
	if (!jv_is_object(v)) {
		spec_expected(c, path, "an object like {\"nofile\": 1024}", v);
		return false;
	}
	bool ok = true;
	size_t cap = 0;
	for (const struct cJSON *e = jv_child(v); e; e = jv_next(e)) {
		char *p = spec_path_key(path, jv_key(e));
		size_t k;
		for (k = 0; k < ARRAY_SIZE(rlimit_names); k++)
			if (!strcmp(rlimit_names[k].name, jv_key(e)))
				break;
		uint64_t val = 0;
		if (k == ARRAY_SIZE(rlimit_names)) {
			spec_err(c, p, "unknown resource limit (as, core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)");
			ok = false;
		} else if (jv_is_string(e) && !strcmp(jv_str(e), "unlimited")) {
			val = RLIM_INFINITY;
		} else if (!spec_get_size(c, e, p, &val)) {
			ok = false;
		}
		if (ok) {
			xgrow(&j->rlimits, &cap, j->nrlimits + 1, sizeof *j->rlimits);
			j->rlimits[j->nrlimits].name = rlimit_names[k].name;
			j->rlimits[j->nrlimits].resource = rlimit_names[k].resource;
			j->rlimits[j->nrlimits].value = val;
			j->nrlimits++;
		}
		free(p);
	}
	return ok;
}

static void spec_tstage_free(struct tstage *s)
{
	for (size_t i = 0; i < s->argc; i++)
		free(s->argv[i].s);
	free(s->argv);
	for (size_t i = 0; i < s->nenv; i++) {
		free(s->env[i].name);
		free(s->env[i].value);
	}
	free(s->env);
	free(s->err.path);
}

/* The fields of a job object are read with FIELD(key): v is the job's
 * own value, else the default, and p where it came from.  The parse_job_*
 * functions each take a group of fields, in the order messages come. */
#define FIELD(key) (free(p), p = NULL, v = spec_field(job, defaults, t->path, key, &p))

/* An array of integers from min to max (each element's error its own). */
static int *get_int_array(struct ctx *c, const struct cJSON *v, const char *path,
			  long min, long max, size_t *n)
{
	size_t i = 0;
	*n = (size_t)jv_size(v);
	int *r = xcalloc(*n ? *n : 1, sizeof *r);
	const struct cJSON *e;
	JV_EACH(e, v) {
		char *ep = spec_path_idx(path, i);
		long x;
		if (spec_get_long(c, e, ep, min, max, &x))
			r[i] = (int)x;
		free(ep);
		i++;
	}
	return r;
}

static void job_defaults(struct tmpl *t, size_t index)
{
	struct job_spec *j = &t->j;
	t->path = xasprintf("jobs[%zu]", index);
	j->spec_index = index;
	j->kind = KIND_RUN;
	j->in.kind = IN_NULL;
	j->out.mode = IO_CAPTURE;
	j->err.mode = IO_CAPTURE;
	j->encoding = ENC_AUTO;
	j->max_output = DEFAULT_MAX_OUTPUT;
	j->signal = SIGTERM;
	j->kill_after = SPEC_KILL_AFTER_DEFAULT;
	j->retry_backoff = 1.0;
	j->pipefail = true;
	t->repeat = 1;
}

/* What the job runs (one key of the kind table: the job's own choice
 * wins over a default one), parsed by its kind. */
static void parse_job_what(struct ctx *c, const struct cJSON *job, const struct cJSON *defaults,
			   struct tmpl *t)
{
	const struct cJSON *src = job;
	bool any = false;
	const struct job_kind *k, *what = NULL;
	for (size_t i = 0; (k = kind_at(i)); i++)
		if (jv_get(job, k->name))
			any = true;
	if (!any)
		src = defaults;
	int nwhat = 0;
	for (size_t i = 0; src && (k = kind_at(i)); i++)
		if (jv_get(src, k->name)) {
			if (nwhat++)
				spec_err(c, t->path, "expected exactly one of run, shell, pipeline, pool, steps; found both \"%s\" and \"%s\"",
					 what->name, k->name);
			else
				what = k;
		}
	if (!nwhat)
		spec_err(c, t->path, "expected one of run, shell, pipeline, pool, steps; found none");
	if (nwhat != 1)
		return;
	char *p = spec_path_key(src == job ? t->path : "defaults", what->name);
	what->parse(c, job, jv_get(src, what->name), p, src != job, t);
	free(p);
}

/* Keys that belong to another kind of job. */
static void check_kind_keys(struct ctx *c, const struct cJSON *job, struct tmpl *t)
{
	const struct job_kind *k;
	for (size_t i = 0; (k = kind_at(i)); i++)
		for (size_t n = 0; k->id != t->j.kind && k->own_keys && k->own_keys[n]; n++)
			if (jv_get(job, k->own_keys[n])) {
				char *p = spec_path_key(t->path, k->own_keys[n]);
				spec_err(c, p, "\"%s\" belongs to %s jobs", k->own_keys[n], k->name);
				free(p);
			}
}

/* unset against env, one rule (piperun-spec(5), ENVIRONMENT): piperun's
 * environment, then defaults.env, then unset, then the job's own env (a
 * job's own fields win over defaults), then a stage's.  So a name in
 * unset leaves j->env when only defaults.env set it, and leaves j->unset
 * when the job's own env sets it after a defaults.unset; both on the job
 * itself contradict each other.  j->env and j->unset end disjoint, as
 * `plan` shows them and the run applies them. */
static void resolve_unset(struct ctx *c, const struct cJSON *job, const char *path,
			  struct job_spec *j)
{
	const struct cJSON *own_env = jv_get(job, "env");
	bool own_unset = jv_get(job, "unset") != NULL;
	size_t keep = 0;
	for (size_t i = 0; i < j->nunset; i++) {
		const char *u = j->unset[i];
		if (own_env && jv_get(own_env, u)) {
			if (own_unset) {
				char *p = spec_path_idx(path, i);
				spec_err(c, p, "\"%s\" is both set in this job's env and unset", u);
				free(p);
			}
			free(j->unset[i]);
			continue;
		}
		for (size_t k = 0; k < j->nenv; k++) {
			if (strcmp(j->env[k].name, u))
				continue;
			free(j->env[k].name);
			free(j->env[k].value);
			memmove(&j->env[k], &j->env[k + 1], (j->nenv - k - 1) * sizeof *j->env);
			j->nenv--;
			break;
		}
		j->unset[keep++] = j->unset[i];
	}
	j->nunset = keep;
}

/* env, env_clear, unset, secret_env, cwd, stdin, stdout, stderr,
 * encoding, max_output, digest. */
static void parse_job_io(struct ctx *c, const struct cJSON *job, const struct cJSON *defaults,
			 struct tmpl *t)
{
	struct job_spec *j = &t->j;
	const struct job_kind *k = kind_get(j->kind);
	const struct cJSON *v;
	char *p = NULL;
	size_t envcap = 0;
	if (defaults && (v = jv_get(defaults, "env")))
		spec_parse_env(c, v, "defaults.env", &j->env, &j->nenv, &envcap);
	if ((v = jv_get(job, "env"))) {
		p = spec_path_key(t->path, "env");
		spec_parse_env(c, v, p, &j->env, &j->nenv, &envcap);
	}
	if (FIELD("env_clear"))
		spec_get_bool(c, v, p, &j->env_clear);
	if (FIELD("unset")) {
		j->unset = spec_get_str_array(c, v, p, false, false, &j->nunset);
		resolve_unset(c, job, p, j);
	}
	if (FIELD("secret_env"))
		j->secret = spec_get_str_array(c, v, p, false, false, &j->nsecret);
	if (FIELD("cwd")) {
		const char *s = spec_get_str(c, v, p);
		if (s && !*s)
			spec_expected(c, p, "a directory", v);
		else if (s)
			j->cwd = xstrdup(s);
	}
	if (FIELD("stdin") && k->stdin_error && jv_get(job, "stdin"))
		spec_err(c, p, "%s", k->stdin_error);
	else if (FIELD("stdin") && !j->pool_items_given && !k->stdin_error)
		parse_stdin(c, v, p, &j->in);
	if (FIELD("stdout"))
		spec_parse_output(c, v, p, false, &j->out);
	if (FIELD("stderr"))
		spec_parse_output(c, v, p, true, &j->err);
	if (FIELD("encoding")) {
		int e;
		if (ENUM_PARSE(encodings, jv_str(v), &e) == 0)
			j->encoding = (enum encoding)e;
		else
			spec_expected(c, p, "\"auto\", \"utf-8\" or \"base64\"", v);
	}
	if (FIELD("max_output"))
		spec_get_size(c, v, p, &j->max_output);
	if (FIELD("digest"))
		spec_get_bool(c, v, p, &j->digest);
	free(p);
}

/* timeout, signal, kill_after, expect, retries, retry_delay,
 * retry_backoff. */
static void parse_job_ending(struct ctx *c, const struct cJSON *job, const struct cJSON *defaults,
			     struct tmpl *t)
{
	struct job_spec *j = &t->j;
	const struct cJSON *v;
	char *p = NULL;
	long x;
	if (FIELD("timeout"))
		spec_get_duration(c, v, p, &j->timeout);
	if (FIELD("signal"))
		spec_get_signal(c, v, p, &j->signal);
	if (FIELD("kill_after"))
		spec_get_duration(c, v, p, &j->kill_after);
	if (FIELD("expect")) {
		if (jv_is_number(v)) {
			if (spec_get_long(c, v, p, -64, 255, &x)) {
				j->expect = xmalloc(sizeof *j->expect);
				j->expect[0] = (int)x;
				j->nexpect = 1;
			}
		} else if (!jv_is_array(v) || !jv_size(v)) {
			spec_expected(c, p, "a non-empty array of exit codes", v);
		} else {
			j->expect = get_int_array(c, v, p, -64, 255, &j->nexpect);
		}
	}
	if (FIELD("retries") && spec_get_long(c, v, p, 0, 1000000, &x))
		j->retries = (int)x;
	if (FIELD("retry_delay"))
		spec_get_duration(c, v, p, &j->retry_delay);
	if (FIELD("retry_backoff")) {
		if (!jv_is_number(v) || !(jv_num(v) >= 1.0) || jv_num(v) > 1000)
			spec_expected(c, p, "a number from 1 to 1000", v);
		else
			j->retry_backoff = jv_num(v);
	}
	free(p);
}

/* repeat, foreach, after, always, pipefail. */
static void parse_job_flow(struct ctx *c, const struct cJSON *job, const struct cJSON *defaults,
			   struct tmpl *t)
{
	struct job_spec *j = &t->j;
	const struct cJSON *v;
	char *p = NULL;
	if (FIELD("repeat") && spec_get_long(c, v, p, 1, MAX_JOBS, &t->repeat))
		t->has_repeat = true;
	if (FIELD("foreach")) {
		if (jv_is_object(v)) {
			/* a source: its values are read before expansion
			 * (spec_foreach_fill) */
			t->src = spec_foreach_parse(c, v, p);
			t->has_foreach = t->src != NULL;
		} else {
			t->foreach = spec_get_str_array(c, v, p, false, true, &t->nforeach);
			if (t->foreach && !t->nforeach)
				spec_expected(c, p, "a non-empty array or a source object", v);
			else if (t->foreach)
				t->has_foreach = true;
		}
		t->foreach_path = xstrdup(p);
	}
	if (FIELD("after"))
		j->after = spec_get_str_array(c, v, p, true, false, &j->nafter);
	if (FIELD("always"))
		spec_get_bool(c, v, p, &j->always);
	if (FIELD("pipefail"))
		spec_get_bool(c, v, p, &j->pipefail);
	free(p);
}

static bool get_umask(const struct cJSON *v, mode_t *out)
{
	const char *s = jv_str(v);
	uint64_t m;
	if (s && *s && strspn(s, "01234567") == strlen(s)) {
		m = strtoull(s, NULL, 8);
		if (m > 0777)
			return false;
	} else if (jv_is_number(v) && jv_num(v) >= 0 && jv_num(v) <= 0777 &&
		   jv_num(v) == u_floor(jv_num(v))) {
		m = (uint64_t)jv_num(v);
	} else {
		return false;
	}
	*out = (mode_t)m;
	return true;
}

/* nice, umask, rlimits, pass_fds. */
static void parse_job_process(struct ctx *c, const struct cJSON *job,
			      const struct cJSON *defaults, struct tmpl *t)
{
	struct job_spec *j = &t->j;
	const struct cJSON *v;
	char *p = NULL;
	long x;
	if (FIELD("nice") && spec_get_long(c, v, p, -20, 19, &x)) {
		j->has_nice = true;
		j->nice = (int)x;
	}
	if (FIELD("umask")) {
		if (get_umask(v, &j->umask))
			j->has_umask = true;
		else
			spec_expected(c, p, "an octal string like \"022\"", v);
	}
	if (FIELD("rlimits"))
		parse_rlimits(c, v, p, j);
	if (FIELD("pass_fds")) {
		if (!jv_is_array(v))
			spec_expected(c, p, "an array of file descriptor numbers", v);
		else
			j->pass_fds = get_int_array(c, v, p, 3, 65535, &j->npass_fds);
	}
	free(p);
}

#undef FIELD

/* Parse one job object (with defaults) into a template. */
static void parse_job(struct ctx *c, const struct cJSON *job, const struct cJSON *defaults,
		      size_t index, struct tmpl *t)
{
	struct job_spec *j = &t->j;
	job_defaults(t, index);
	if (!jv_is_object(job)) {
		spec_expected(c, t->path, "a job object", job);
		return;
	}
	spec_check_keys(c, job, t->path, job_keys, "not a job field");
	const struct cJSON *v;
	if ((v = jv_get(job, "name"))) {
		char *p = spec_path_key(t->path, "name");
		const char *s = spec_get_str(c, v, p);
		if (s && !*s)
			spec_err(c, p, "expected a non-empty name, got \"\"");
		else if (s)
			j->name = xstrdup(s);
		free(p);
	}
	if (!j->name)
		j->name = xasprintf("job-%zu", index + 1);
	parse_job_what(c, job, defaults, t);
	check_kind_keys(c, job, t);
	parse_job_io(c, job, defaults, t);
	parse_job_ending(c, job, defaults, t);
	parse_job_flow(c, job, defaults, t);
	parse_job_process(c, job, defaults, t);
	const struct job_kind *k = kind_get(j->kind);
	if (k->check)
		k->check(c, job, t);
	if (k->host && j->npass_fds) {
		char *p = spec_path_key(t->path, "pass_fds");
		spec_err(c, p, "pass_fds is not supported for %s jobs (their host uses fds 3 and up)",
			 k->name);
		free(p);
	}
}

static void stage_free(struct stage_spec *st)
{
	spec_strv_free(st->argv, st->argc);
	for (size_t i = 0; i < st->nenv; i++) {
		free(st->env[i].name);
		free(st->env[i].value);
	}
	free(st->env);
	free(st->err.path);
	free(st->exe);
	free(st->exe_error);
	/* envp points into the runner's environ too; free only ours */
	free(st->envp);
	spec_strv_free(st->envp_owned, st->nenvp_owned);
}

void spec_job_free(struct job_spec *j)
{
	free(j->name);
	free(j->base);
	free(j->shell);
	for (size_t i = 0; i < j->nstages; i++)
		stage_free(&j->stages[i]);
	free(j->stages);
	for (size_t i = 0; i < j->nenv; i++) {
		free(j->env[i].name);
		free(j->env[i].value);
	}
	free(j->env);
	spec_strv_free(j->unset, j->nunset);
	spec_strv_free(j->secret, j->nsecret);
	spec_strv_free(j->secret_values, j->nsecret_values);
	free(j->cwd);
	free(j->in.data);
	free(j->in.path);
	free(j->in.from);
	free(j->out.path);
	free(j->err.path);
	free(j->expect);
	spec_strv_free(j->after, j->nafter);
	free(j->deps);
	free(j->rlimits);
	free(j->pass_fds);
	free(j->value);
	if (kind_get(j->kind)->free_data)
		kind_get(j->kind)->free_data(j);
}

void spec_tmpl_free(struct tmpl *t)
{
	/* what a template's job has not (stages, deps, ...) is NULL */
	spec_job_free(&t->j);
	for (size_t i = 0; i < t->nstages; i++)
		spec_tstage_free(&t->stages[i]);
	free(t->stages);
	spec_strv_free(t->foreach, t->nforeach);
	spec_foreach_free(t->src);
	free(t->path);
	free(t->shell_path);
	free(t->foreach_path);
}
/* ------------------------------------------------------------ top level */

static void parse_top(struct ctx *c, const struct cJSON *root, struct spec *s)
{
	const struct cJSON *v;
	s->mode = MODE_ASYNC;
	if ((v = jv_get(root, "$schema"))) {
		char *p = spec_path_key("", "$schema");
		spec_get_str(c, v, p);
		free(p);
	}
	if ((v = jv_get(root, "name"))) {
		const char *n = spec_get_str(c, v, "name");
		s->name = n ? xstrdup(n) : NULL;
	}
	if ((v = jv_get(root, "mode"))) {
		int m;
		if (ENUM_PARSE(run_modes, jv_str(v), &m) == 0)
			s->mode = (enum run_mode)m;
		else
			spec_expected(c, "mode", "\"async\", \"thread\" or \"serial\"", v);
	}
	if ((v = jv_get(root, "max_parallel")))
		spec_get_long(c, v, "max_parallel", 0, 1000000, &s->max_parallel);
	if ((v = jv_get(root, "timeout")))
		spec_get_duration(c, v, "timeout", &s->timeout);
	if ((v = jv_get(root, "fail_fast"))) {
		if (jv_is_bool(v))
			s->fail_fast = jv_is_true(v) ? 1 : 0;
		else if (!jv_is_number(v) || jv_num(v) < 1 ||
			 jv_num(v) != u_floor(jv_num(v)) || jv_num(v) > 1e9)
			spec_expected(c, "fail_fast", "true, false or a number of jobs >= 1", v);
		else
			s->fail_fast = (long)jv_num(v);
	}
	if ((v = jv_get(root, "tag")))
		spec_get_bool(c, v, "tag", &s->tag);
	if ((v = jv_get(root, "journal"))) {
		const char *f = jv_str(v);
		if (f && *f)
			s->journal = xstrdup(f);
		else
			spec_expected(c, "journal", "a file name (a non-empty string)", v);
	}
	if ((v = jv_get(root, "executor")))
		spec_parse_executor(c, v, s);
}

/* Steps 2 to 5 on the tree of a document that parsed. */
static struct spec *load_tree(struct ctx *c, const struct cJSON *root, const char *name)
{
	struct errlist *errs = c->errs;
	size_t errs_before = errs->n;
	struct spec *s = xcalloc(1, sizeof *s);
	s->file = xstrdup(name);
	if (!jv_is_object(root)) {
		spec_expected(c, NULL, "a JSON object with \"jobs\" at the top", root);
		goto fail;
	}
	spec_check_dups(c, root, "");
	spec_check_keys(c, root, "", top_keys, "not a top-level field");
	parse_top(c, root, s);

	const struct cJSON *defaults = jv_get(root, "defaults");
	if (defaults && !jv_is_object(defaults)) {
		spec_expected(c, "defaults", "an object of job fields", defaults);
		defaults = NULL;
	}
	if (defaults)
		spec_check_keys(c, defaults, "defaults", default_keys,
				jv_get(defaults, "name") ? "names are per job" : "not a job field");

	const struct cJSON *jobs = jv_get(root, "jobs");
	if (!jobs) {
		spec_err(c, NULL, "\"jobs\" is missing (expected a non-empty array of jobs)");
		goto fail;
	}
	if (!jv_is_array(jobs) || !jv_size(jobs)) {
		spec_expected(c, "jobs", "a non-empty array of jobs", jobs);
		goto fail;
	}
	size_t nt = (size_t)jv_size(jobs), i = 0;
	struct tmpl *t = xcalloc(nt, sizeof *t);
	const struct cJSON *j;
	JV_EACH(j, jobs) {
		parse_job(c, j, defaults, i, &t[i]);
		i++;
	}
	if (errs->n == errs_before)
		spec_foreach_fill(c, t, nt);
	s->ran = c->ran;
	s->nran = c->nran;
	c->ran = NULL;
	c->nran = 0;
	s->unrun = c->unrun;
	s->nunrun = c->nunrun;
	c->unrun = NULL;
	c->nunrun = 0;
	if (errs->n != errs_before) {
		for (i = 0; i < nt; i++)
			spec_tmpl_free(&t[i]);
		free(t);
		goto fail;
	}
	spec_copies_build(c, t, nt, s);
	if (errs->n != errs_before)
		goto fail;
	return s;
fail:
	spec_free(s);
	return NULL;
}

struct spec *spec_load_mem_flags(const char *name, const char *text, size_t len,
				 unsigned flags, struct errlist *errs, struct errlist *warns)
{
	struct ctx c = { .file = name, .errs = errs, 
			 .sources = flags & (SPEC_LOAD_SOURCES | SPEC_LOAD_FILES),
			 .commands = flags & SPEC_LOAD_SOURCES };
	struct cJSON *root = spec_parse_json(&c, text, len);
	struct spec *s = NULL;
	if (root && spec_check_raw(&c, root, text, len))
		s = load_tree(&c, root, name);
	if (warns && root) {
		spec_warnings_tree(name, root, warns);
	} else if (warns) {
		/* JSON that is no spec may still be read leniently (trailing
		 * content, a NUL byte): warn about what it holds */
		struct cJSON *lenient = jv_parse(text, len);
		spec_warnings_tree(name, lenient, warns);
		jv_free(lenient);
	}
	jv_free(root);
	free(c.nul_texts);
	spec_strv_free(c.deferred, c.ndeferred);
	spec_strv_free(c.ran, c.nran);
	spec_strv_free(c.unrun, c.nunrun);
	return s;
}

struct spec *spec_load_mem_warns(const char *name, const char *text, size_t len,
				 struct errlist *errs, struct errlist *warns)
{
	return spec_load_mem_flags(name, text, len, 0, errs, warns);
}

struct spec *spec_load_mem(const char *name, const char *text, size_t len,
			   struct errlist *errs)
{
	return spec_load_mem_warns(name, text, len, errs, NULL);
}

/* The spec's text (spec_read) with the terminating signals unblocked:
 * a FIFO or a pipe may never be written (signals_unblock_terminating). */
static char *read_text(const char *file, size_t *len, struct errlist *errs);

char *spec_read(const char *file, size_t *len, struct errlist *errs)
{
	sigset_t old;
	signals_unblock_terminating(&old);
	char *text = read_text(file, len, errs);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return text;
}

static char *read_text(const char *file, size_t *len, struct errlist *errs)
{
	int fd = strcmp(file, "-") ? open(file, O_RDONLY | O_CLOEXEC) : 0;
	const char *shown = strcmp(file, "-") ? file : "<stdin>";
	if (fd < 0) {
		errlist_add(errs, "piperun: %s: cannot open: %s", shown, strerror(errno));
		return NULL;
	}
	struct buf b = { 0 };
	for (;;) {
		buf_reserve(&b, 65536);
		ssize_t r = read(fd, b.p + b.len, b.cap - b.len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			errlist_add(errs, "piperun: %s: cannot read: %s", shown, strerror(errno));
			if (fd)
				close(fd);
			buf_free(&b);
			return NULL;
		}
		if (r == 0)
			break;
		b.len += (size_t)r;
		if (b.len > (256u << 20)) {
			errlist_add(errs, "piperun: %s: spec larger than 256 MiB", shown);
			if (fd)
				close(fd);
			buf_free(&b);
			return NULL;
		}
	}
	if (fd)
		close(fd);
	*len = b.len;
	return b.p ? buf_detach(&b) : xstrdup("");
}

struct spec *spec_load_flags(const char *file, unsigned flags, struct errlist *errs,
			     struct errlist *warns)
{
	size_t len;
	char *text = spec_read(file, &len, errs);
	if (!text)
		return NULL;
	struct spec *s = spec_load_mem_flags(strcmp(file, "-") ? file : "<stdin>", text, len,
					     flags, errs, warns);
	free(text);
	return s;
}

struct spec *spec_load_warns(const char *file, struct errlist *errs, struct errlist *warns)
{
	return spec_load_flags(file, 0, errs, warns);
}

struct spec *spec_load(const char *file, struct errlist *errs)
{
	return spec_load_warns(file, errs, NULL);
}

void spec_free(struct spec *s)
{
	if (!s)
		return;
	spec_copies_free(s->copies);
	free(s->file);
	free(s->name);
	free(s->journal);
	spec_strv_free(s->ran, s->nran);
	spec_strv_free(s->unrun, s->nunrun);
	spec_slurm_free(s->slurm);
	free(s);
}

const char *spec_run_mode_name(enum run_mode m)
{
	return ENUM_NAME(run_modes, m);
}

const struct enum_name *spec_run_mode_table(size_t *n)
{
	*n = sizeof run_modes / sizeof run_modes[0];
	return run_modes;
}

const char *spec_io_mode_name(enum io_mode m)
{
	return ENUM_NAME(io_modes, m);
}

const char *spec_encoding_name(enum encoding e)
{
	return ENUM_NAME(encodings, e);
}
