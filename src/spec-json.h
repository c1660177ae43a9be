/* SPDX-License-Identifier: GPL-3.0-or-later */
/* spec-json.h - JSON access for the spec loader (spec-json.c, the only
 * file that includes cJSON.h).  A value is a `const struct cJSON *`,
 * opaque here: ask it what it is with jv_is_*, read it with jv_str /
 * jv_num / jv_get / JV_EACH.  A value belongs to the tree spec_parse_json
 * (or jv_parse) returned, freed by jv_free of that root; every jv_*
 * function takes NULL (no such value) and answers false / NULL / 0. */
#ifndef PIPERUN_SPEC_JSON_H
#define PIPERUN_SPEC_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct cJSON;
struct errlist;

/* ------------------------------------------------------------- values */

bool jv_is_string(const struct cJSON *v);
bool jv_is_number(const struct cJSON *v);
bool jv_is_bool(const struct cJSON *v);
bool jv_is_true(const struct cJSON *v);
bool jv_is_null(const struct cJSON *v);
bool jv_is_array(const struct cJSON *v);
bool jv_is_object(const struct cJSON *v);
/* A string's text (NULL if v is no string; cut at a \u0000: see
 * nul_text), a number's value (0 if v is no number). */
const char *jv_str(const struct cJSON *v);
double jv_num(const struct cJSON *v);
/* The member of an object named key (case-sensitive), or NULL. */
const struct cJSON *jv_get(const struct cJSON *obj, const char *key);
/* An array's or object's size, element i (or NULL); the first element
 * or member and the one after e, in document order; a member's key. */
int jv_size(const struct cJSON *v);
const struct cJSON *jv_at(const struct cJSON *v, int i);
const struct cJSON *jv_child(const struct cJSON *v);
const struct cJSON *jv_next(const struct cJSON *e);
const char *jv_key(const struct cJSON *member);
/* Each element (member) e of an array (object) v, in document order. */
#define JV_EACH(e, v) for (e = jv_child(v); e; e = jv_next(e))

/* Parse text leniently (no messages): the root, or NULL.  Free with
 * jv_free, which takes NULL. */
struct cJSON *jv_parse(const char *text, size_t len);
/* The same, but NULL unless the whole of text (trailing white space
 * aside) is that one value. */
struct cJSON *jv_parse_whole(const char *text, size_t len);
void jv_free(struct cJSON *root);
/* The bytes v spans in text, which jv_parse or jv_parse_whole read into
 * root (a string's quotes included; spec_raw_string decodes one with its
 * NULs, which jv_str cuts at): 0 and *tok, *toklen; -1 when v is not in
 * root. */
int jv_token(const struct cJSON *root, const char *text, size_t len, const struct cJSON *v,
	     const char **tok, size_t *toklen);
/* strings as the text of a compact JSON array of them (malloc'd). */
char *jv_strv_text(const char *const *v, size_t n);

/* ----------------------------------------------------- the loading context */

/* A string value cJSON cut short at a \u0000 but whose bytes are data
 * (stdin.text): its token, for parse_stdin to decode whole. */
struct nul_text {
	const struct cJSON *v;
	const char *tok;
	size_t len;
};

struct ctx {
	const char *file;
	struct errlist *errs;
	struct nul_text *nul_texts;
	size_t nnul_texts, nul_texts_cap;
	/* foreach sources (spec-foreach.c): read files and run commands
	 * (SPEC_LOAD_SOURCES); the bases of templates whose source was
	 * left unread; the paths of the commands run */
	bool sources, commands;
	char **deferred;
	size_t ndeferred;
	char **ran, **unrun;
	size_t nran, nunrun;
};

/* ------------------------------------------------ messages (spec-get.c) */

/* Add "piperun: FILE: PATH: what" (path NULL or "": no PATH) to c->errs. */
void spec_err(struct ctx *c, const char *path, const char *fmt, ...) PRINTF(3, 4);
/* "expected WHAT, got (a description of v)". */
void spec_expected(struct ctx *c, const char *path, const char *what,
		   const struct cJSON *v);
/* What a value is, for messages (malloc'd). */
char *spec_describe(const struct cJSON *v);
/* path.key (or path["k y"]) and path[i], malloc'd. */
char *spec_path_key(const char *path, const char *key);
char *spec_path_idx(const char *path, size_t i);
/* What a string is, as spec_describe shows one: "..." with escapes,
 * cut after 40 characters (malloc'd). */
char *spec_describe_str(const char *s);

/* ------------------------------------------------- parsing (spec-json.c) */

/* A spec number as text: integers as digits, else the shortest text that
 * reads back as the same double (malloc'd). */
char *spec_num_text(double d);

/* Parse text; NULL after adding an error with line and column. */
struct cJSON *spec_parse_json(struct ctx *c, const char *text, size_t len);
/* The second read of text beside root: false after adding errors. */
bool spec_check_raw(struct ctx *c, const struct cJSON *root, const char *text, size_t len);
/* A string token's bytes, escapes decoded, NULs kept (malloc'd, *n). */
char *spec_raw_string(const char *tok, size_t len, size_t *n);
/* A value as compact JSON text, its numbers as spec_num_text writes them. */
void spec_json_print(struct buf *b, const struct cJSON *v);
/* An error for each key that comes twice in an object, anywhere in v. */
void spec_check_dups(struct ctx *c, const struct cJSON *v, const char *path);

/* ------------------------------------------- typed getters (spec-get.c) */

/* An error for each key of obj not in allowed (NULL-terminated). */
void spec_check_keys(struct ctx *c, const struct cJSON *obj, const char *path,
		     const char *const *allowed, const char *what);
/* Typed getters: false (NULL) after adding an "expected ..." error. */
bool spec_get_bool(struct ctx *c, const struct cJSON *v, const char *path, bool *out);
bool spec_get_long(struct ctx *c, const struct cJSON *v, const char *path,
		   long min, long max, long *out);
const char *spec_get_str(struct ctx *c, const struct cJSON *v, const char *path);
bool spec_get_duration(struct ctx *c, const struct cJSON *v, const char *path, double *out);
bool spec_get_signal(struct ctx *c, const struct cJSON *v, const char *path, int *out);
bool spec_get_size(struct ctx *c, const struct cJSON *v, const char *path, uint64_t *out);
/* An array of strings, malloc'd and NULL-terminated (*n of them). */
char **spec_get_str_array(struct ctx *c, const struct cJSON *v, const char *path,
			  bool allow_single, bool allow_numbers, size_t *n);

#endif
