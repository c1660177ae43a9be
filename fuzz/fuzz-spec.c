/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fuzz-spec.c - libFuzzer harness: a whole spec document through the
 * loader and validator (spec_load_mem), as `piperun validate` and `run`
 * see it.  A loaded spec must also survive what the runner does with it
 * before anything starts: every steps job's host description must parse
 * back (steps_describe -> steps_desc_parse), and redaction must work on
 * every job's name.  The second reading of the text (numbers and \u0000,
 * in step with cJSON's tree) must never disagree with cJSON ("internal
 * error"), and stdin text keeps its length (NULs and all).  Any crash,
 * leak or UBSan report is a finding. */
#include "config.h"
#include "fuzz.h"
#include "spec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
/* Programs are looked up on PATH as a spec loads; a short PATH keeps
 * that from dominating each run. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	setenv("PATH", "/usr/bin:/bin", 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct errlist errs = { 0 };
	struct spec *s = spec_load_mem("fuzz.json", (const char *)data, size, &errs);
	for (size_t i = 0; i < errs.n; i++)
		if (!strcmp(errs.msg[i], "piperun: fuzz.json: internal error: "
			    "the document reads differently the second time")) {
			fprintf(stderr, "%s\n", errs.msg[i]);
			abort();
		}
	if (!s) {
		if (errs.n == 0) {
			fprintf(stderr, "spec rejected without an error message\n");
			abort();
		}
		errlist_free(&errs);
		return 0;
	}
	/* the first and last 512 jobs (each is made as it is asked for: a
	 * million of them take seconds) */
	for (size_t i = 0; i < s->njobs; i = i == 511 && s->njobs > 1024 ? s->njobs - 512 : i + 1) {
		bool held;
		const struct job_spec *j = spec_job_peek(s, i, &held);
		CHECK(j->in.kind != IN_TEXT || (j->in.data && j->in.data[j->in.len] == 0));
		char *r = spec_redact(j, j->name);
		free(r);
		if (j->kind != KIND_STEPS) {
			spec_job_unpeek(s, i, held);
			continue;
		}
		char *d = steps_describe(j, s->mode == MODE_THREAD ? MODE_THREAD : MODE_ASYNC,
					 i % 2, i % 3 == 0);
		char *why = NULL;
		struct steps_spec *st = steps_desc_parse(d, strlen(d), &why);
		if (!st) {
			fprintf(stderr, "steps description does not parse back: %s\n%s\n",
				why ? why : "?", d);
			abort();
		}
		steps_spec_free(st);
		free(d);
		spec_job_unpeek(s, i, held);
	}
	spec_free(s);
	errlist_free(&errs);
	return 0;
}
