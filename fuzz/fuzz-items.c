/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fuzz-items.c - libFuzzer harness: the pool's item-line parser (lines
 * of `piperun pool --items`, `pool` jobs and task steps): whitespace-
 * separated numbers, or one JSON array per line.
 * Properties: a parse that fails says which line; one that succeeds has
 * consistent arrays (arg0 ascending, ending at nargs; string indices in
 * range; OTHER arguments valid JSON, and compact: json-strict.c gives
 * them back unchanged), and parsing each line alone
 * (pool_parse_one, as steps do) gives the same arguments.  The input is
 * read from a memfd as `piperun pool` reads its items: all at once (the
 * items of the lines before a bad one are kept and checked too), then a
 * chunk of 1 to 4 items at a time, which must give the same items. */
#include "config.h"
#include "fuzz.h"
#include "json-strict.h"
#include "pool.h"
#include "pool-int.h"
#include "spec.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void same_arg(const struct pool_items *it, size_t k, const struct piperun_arg *a)
{
	CHECK(it->types[k] == a->type);
	switch (a->type) {
	case PIPERUN_ARG_INT:
		CHECK(it->vals[k] == a->i);
		break;
	case PIPERUN_ARG_NUMBER: {
		double d;
		memcpy(&d, &it->vals[k], sizeof d);
		CHECK(memcmp(&d, &a->d, sizeof d) == 0);
		break;
	}
	default:
		CHECK(it->vals[k] >= 0 && (size_t)it->vals[k] < it->nstrings);
		CHECK(!strcmp(it->strings[it->vals[k]], a->s));
		if (a->type == PIPERUN_ARG_OTHER) {
			CHECK(spec_json_text_valid(a->s));
			char *why = NULL;
			size_t n = 0;
			char *c = jstrict_compact(a->s, strlen(a->s), &n, &why);
			CHECK(c && n == strlen(a->s) && !memcmp(c, a->s, n));
			free(c);
			free(why);
		}
	}
}

/* The bytes as a file to read from, at offset 0: one memfd for the
 * whole run (creating one per input costs more than the parsing). */
static int data_fd(const uint8_t *data, size_t size)
{
	static int fd = -1;
	if (fd < 0)
		fd = memfd_create("items", MFD_CLOEXEC);
	CHECK(fd >= 0 && ftruncate(fd, 0) == 0);
	for (size_t off = 0; off < size;) {
		ssize_t w = pwrite(fd, data + off, size - off, (off_t)off);
		CHECK(w > 0);
		off += (size_t)w;
	}
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	return fd;
}

/* Read every item into all (one chunk).  Returns the reader's result: 0
 * at the end, -1 at a bad line (*err), the items before it in all. */
static int read_all(const uint8_t *data, size_t size, struct pool_items *all, char **err)
{
	int fd = data_fd(data, size);
	struct pool_reader r;
	pool_reader_init(&r, fd);
	int rc = pool_read_chunk(&r, all, SIZE_MAX, err);
	if (rc >= 0) {
		/* nothing after the end */
		struct pool_items more = { 0 };
		CHECK(pool_read_chunk(&r, &more, SIZE_MAX, err) == 0 && !more.n);
		pool_items_free(&more);
	}
	pool_reader_free(&r);
	return rc < 0 ? -1 : 0;
}

/* Read the items max at a time: each chunk follows the one before and
 * holds the same items as all.  Returns what read_all returned, with
 * *nitems the items read. */
static int read_chunks(const uint8_t *data, size_t size, size_t max,
		       const struct pool_items *all, size_t *nitems, char **err)
{
	int fd = data_fd(data, size);
	struct pool_reader r;
	pool_reader_init(&r, fd);
	struct pool_items chunk = { 0 };
	struct piperun_arg a;
	int rc;
	*nitems = 0;
	do {
		rc = pool_read_chunk(&r, &chunk, max, err);
		CHECK(chunk.base == *nitems && chunk.n <= max);
		CHECK(*nitems + chunk.n <= all->n);
		for (size_t i = 0; i < chunk.n; i++) {
			size_t j = chunk.base + i;
			CHECK(chunk.arg0[i + 1] - chunk.arg0[i] == all->arg0[j + 1] - all->arg0[j]);
			for (size_t k = chunk.arg0[i]; k < chunk.arg0[i + 1]; k++) {
				pool_get_arg(&chunk, k, &a);
				same_arg(all, all->arg0[j] + (k - chunk.arg0[i]), &a);
			}
		}
		*nitems += chunk.n;
	} while (rc > 0);
	pool_items_free(&chunk);
	pool_reader_free(&r);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct pool_items all = { 0 };
	char *err = NULL;
	int rc = read_all(data, size, &all, &err);
	if (rc < 0) {
		CHECK(err && !strncmp(err, "line ", 5));
		free(err);
		err = NULL;
	}
	CHECK(all.n == 0 || all.arg0[all.n] == all.nargs);
	for (size_t i = 0; i < all.n; i++)
		CHECK(all.arg0[i] <= all.arg0[i + 1]);

	/* each line alone, up to the items read (all of them, or the ones
	 * before the bad line) */
	struct pool_items one = { 0 };
	struct piperun_arg *args = NULL;
	size_t item = 0;
	for (const char *p = text, *e = text + size; p < e && (rc == 0 || item < all.n);) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(e - p);
		size_t nargs = 0;
		CHECK(pool_parse_one(&one, p, l, &args, &nargs, &err) == 0);
		if (one.n) {
			CHECK(item < all.n);
			CHECK(nargs == all.arg0[item + 1] - all.arg0[item]);
			for (size_t k = 0; k < nargs; k++)
				same_arg(&all, all.arg0[item] + k, &args[k]);
			item++;
		}
		p += l + (nl ? 1 : 0);
	}
	CHECK(item == all.n);

	/* a chunk at a time: the same items, and the same end */
	size_t nitems = 0;
	int crc = read_chunks(data, size, 1 + (size ? data[0] % 4 : 0), &all, &nitems, &err);
	CHECK((crc < 0) == (rc < 0) && nitems == all.n);
	free(err);

	free(args);
	pool_items_free(&one);
	pool_items_free(&all);
	return 0;
}
