/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fuzz-results.c - libFuzzer harness: the results writer, round trip.
 * A random job record (name, argv, a secret, status, returncode, error,
 * stdout/stderr bytes fed in random chunks, encoding, max_output,
 * digest) goes through report_job(); the output must parse as JSON
 * (cJSON) and read back as what went in:
 *  - stdout/stderr decode (base64, or UTF-8 text) to exactly the kept
 *    bytes; *_bytes is the total, *_truncated says whether bytes were
 *    dropped, *_sha256 is the digest of every byte;
 *  - name, argv and error read back exactly (as redacted), and the
 *    secret appears in none of them;
 *  - status and returncode are the ones set.
 * Input: a flags byte, then length-prefixed strings (name, arg0, arg1,
 * secret, error, stderr), the rest is stdout. */
#include "config.h"
#include "fuzz.h"
#include "codec.h"
#include "jsonw.h"
#include "job.h"
#include "report.h"
#include "sha256.h"
#include "spec.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct in { const uint8_t *p; size_t n; };

static uint8_t byte(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

/* a length-prefixed chunk (not NUL-terminated) */
static size_t chunk(struct in *in, const uint8_t **p)
{
	size_t l = byte(in);
	if (l > in->n)
		l = in->n;
	*p = in->p;
	in->p += l;
	in->n -= l;
	return l;
}

static char *cstr(struct in *in)
{
	const uint8_t *p;
	size_t l = chunk(in, &p);
	char *s = xstrndup((const char *)p, l);   /* stops at a NUL */
	return s;
}

static bool utf8_ok(const unsigned char *s, size_t n)
{
	struct utf8_check u = { 0 };
	utf8_feed(&u, s, n);
	return utf8_valid(&u) && !u.nul;
}

static void to_buf(void *ctx, const char *p, size_t n)
{
	buf_add(ctx, p, n);
}

static void check_str(const cJSON *o, const char *key, const char *want)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	CHECK(v);
	if (!want) {
		CHECK(cJSON_IsNull(v));
		return;
	}
	CHECK(cJSON_IsString(v));
	if (utf8_ok((const unsigned char *)want, strlen(want)))
		CHECK(!strcmp(v->valuestring, want));
}

static void no_secret(const char *s, const char *secret)
{
	if (s && strlen(secret) >= 4 && !strchr(secret, '*'))
		CHECK(!strstr(s, secret));
}

static void feed(struct capture *c, const uint8_t *p, size_t n, uint8_t cuts)
{
	/* in pieces, so UTF-8 sequences and digests cross boundaries */
	size_t step = cuts % 7 + 1;
	for (size_t off = 0; off < n; off += step)
		capture_add(c, p + off, n - off < step ? n - off : step);
	capture_finish(c);
}

static void check_stream(const cJSON *o, const char *name, const struct job_spec *js,
			 const uint8_t *p, size_t n)
{
	char key[40];
	size_t kept = n < js->max_output ? n : (size_t)js->max_output;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	snprintf(key, sizeof key, "%s_encoding", name);
	const cJSON *enc = cJSON_GetObjectItemCaseSensitive(o, key);
	CHECK(cJSON_IsString(v) && cJSON_IsString(enc));
	if (!strcmp(enc->valuestring, "base64")) {
		CHECK(js->encoding != ENC_UTF8);
		size_t dl = 0;
		unsigned char *d = NULL;
		CHECK(b64_decode(v->valuestring, strlen(v->valuestring), &d, &dl) == 0);
		CHECK(dl == kept && (!kept || !memcmp(d, p, kept)));
		free(d);
	} else {
		CHECK(!strcmp(enc->valuestring, "utf-8"));
		CHECK(js->encoding != ENC_BASE64);
		if (utf8_ok(p, kept))
			CHECK(strlen(v->valuestring) == kept && !memcmp(v->valuestring, p, kept));
		else
			CHECK(js->encoding == ENC_UTF8);   /* auto would have chosen base64 */
	}
	snprintf(key, sizeof key, "%s_bytes", name);
	v = cJSON_GetObjectItemCaseSensitive(o, key);
	CHECK(cJSON_IsNumber(v) && v->valuedouble == (double)n);
	snprintf(key, sizeof key, "%s_truncated", name);
	v = cJSON_GetObjectItemCaseSensitive(o, key);
	CHECK(cJSON_IsBool(v) && cJSON_IsTrue(v) == (kept < n));
	if (js->digest) {
		struct sha256 h;
		unsigned char d[32];
		char hex[65];
		sha256_init(&h);
		sha256_update(&h, p, n);
		sha256_final(&h, d);
		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", d[i]);
		snprintf(key, sizeof key, "%s_sha256", name);
		v = cJSON_GetObjectItemCaseSensitive(o, key);
		CHECK(cJSON_IsString(v) && !strcmp(v->valuestring, hex));
	}
}

static struct spec *make_spec(const char *name, const char *a0, const char *a1,
			      const char *secret, uint8_t flags, size_t max_output)
{
	static const char *const encs[] = { "auto", "utf-8", "base64" };
	cJSON *doc = cJSON_CreateObject(), *jobs = cJSON_AddArrayToObject(doc, "jobs");
	cJSON *job = cJSON_CreateObject();
	cJSON_AddItemToArray(jobs, job);
	cJSON_AddStringToObject(job, "name", name);
	cJSON *run = cJSON_AddArrayToObject(job, "run");
	cJSON_AddItemToArray(run, cJSON_CreateString(a0));
	cJSON_AddItemToArray(run, cJSON_CreateString(a1));
	cJSON *env = cJSON_AddObjectToObject(job, "env");
	cJSON_AddStringToObject(env, "S", secret);
	cJSON *se = cJSON_AddArrayToObject(job, "secret_env");
	cJSON_AddItemToArray(se, cJSON_CreateString("S"));
	cJSON_AddStringToObject(job, "encoding", encs[(flags & 3) % 3]);
	cJSON_AddBoolToObject(job, "digest", flags & 4);
	if (flags & 8)
		cJSON_AddNumberToObject(job, "max_output", (double)max_output);
	char *text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	struct errlist errs = { 0 };
	struct spec *s = spec_load_mem("fuzz.json", text, strlen(text), &errs);
	errlist_free(&errs);
	free(text);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	uint8_t flags = byte(&in), cuts = byte(&in), st = byte(&in);
	int rc = (int8_t)byte(&in);
	size_t max_output = byte(&in) % 64;
	char *name = cstr(&in), *a0 = cstr(&in), *a1 = cstr(&in), *secret = cstr(&in);
	char *error = cstr(&in);
	const uint8_t *err_p, *out_p;
	size_t err_n = chunk(&in, &err_p);
	out_p = in.p;
	size_t out_n = in.n;

	struct spec *s = make_spec(name, a0, a1, secret, flags, max_output);
	if (!s)  /* a name or value the spec rejects: try plain ones */
		s = make_spec("job", a0[0] ? a0 : "x", a1, "secret-value", flags, 16);
	if (!s)
		s = make_spec("job", "x", "y", "secret-value", flags, 16);
	CHECK(s && s->njobs == 1);
	const struct job_spec *js = spec_job(s, 0);

	struct job j;
	job_init(&j, js, 0, NULL);
	static const enum job_status sts[] = { ST_OK, ST_FAILED, ST_TIMEOUT, ST_ERROR };
	j.status = sts[st % 4];
	j.has_rc = st & 4;
	j.returncode = rc;
	j.error = (st & 8) ? xstrdup(error) : NULL;
	j.attempts = 1;
	j.started_ms = 1.5;
	j.duration_ms = 2.25;
	struct job_run *rn = job_run_make(&j);   /* as its first start makes it */
	rn->nstages = js->nstages;
	rn->stages = xcalloc(rn->nstages, sizeof *rn->stages);
	capture_init(&rn->out, js->max_output, js->digest, NULL);
	capture_init(&rn->err, js->max_output, js->digest, NULL);
	feed(&rn->out, out_p, out_n, cuts);
	feed(&rn->err, err_p, err_n, cuts >> 3);

	struct buf b = { 0 };
	struct jw w;
	jw_init(&w, to_buf, &b, flags & 16);
	report_job(&w, &j);
	buf_addch(&b, '\0');
	cJSON *o = cJSON_Parse(b.p);
	if (!o) {
		fprintf(stderr, "not JSON: %s\n", b.p);
		abort();
	}

	char *want = spec_redact(js, js->name);
	check_str(o, "name", want);
	no_secret(cJSON_GetStringValue(cJSON_GetObjectItem(o, "name")), js->env[0].value);
	free(want);
	want = j.error ? spec_redact(js, j.error) : NULL;
	check_str(o, "error", want);
	no_secret(cJSON_GetStringValue(cJSON_GetObjectItem(o, "error")), js->env[0].value);
	free(want);
	const cJSON *stages = cJSON_GetObjectItem(o, "stages");
	CHECK(cJSON_GetArraySize(stages) == (int)js->nstages);
	const cJSON *argv = cJSON_GetObjectItem(cJSON_GetArrayItem(stages, 0), "argv");
	CHECK(cJSON_GetArraySize(argv) == (int)js->stages[0].argc);
	for (size_t k = 0; k < js->stages[0].argc; k++) {
		const cJSON *a = cJSON_GetArrayItem(argv, (int)k);
		want = spec_redact(js, js->stages[0].argv[k]);
		CHECK(cJSON_IsString(a));
		if (utf8_ok((const unsigned char *)want, strlen(want)))
			CHECK(!strcmp(a->valuestring, want));
		no_secret(a->valuestring, js->env[0].value);
		free(want);
	}
	check_str(o, "status", job_status_name(j.status));
	const cJSON *r = cJSON_GetObjectItem(o, "returncode");
	CHECK(j.has_rc ? cJSON_IsNumber(r) && r->valueint == rc : cJSON_IsNull(r));
	check_stream(o, "stdout", js, out_p, out_n);
	check_stream(o, "stderr", js, err_p, err_n);

	cJSON_Delete(o);
	buf_free(&b);
	job_free(&j);
	spec_free(s);
	free(name), free(a0), free(a1), free(secret), free(error);
	return 0;
}
