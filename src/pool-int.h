/* SPDX-License-Identifier: GPL-3.0-or-later */
/* pool-int.h - what the files of the task pool share (pool.h is its
 * interface): one item's arguments and result, running one item, and
 * the engines pool_run() chooses from.  Not for other modules. */
#ifndef PIPERUN_POOL_INT_H
#define PIPERUN_POOL_INT_H

#include "pool.h"

#include <string.h>

/* Argument k as the task ABI has it (inline: it runs once per argument
 * of every item). */
static inline void pool_get_arg(const struct pool_items *it, size_t k, struct piperun_arg *a)
{
	memset(a, 0, sizeof *a);
	a->type = (enum piperun_arg_type)it->types[k];
	switch (a->type) {
	case PIPERUN_ARG_INT:
		a->i = it->vals[k];
		a->d = (double)a->i;
		break;
	case PIPERUN_ARG_NUMBER:
		memcpy(&a->d, &it->vals[k], sizeof a->d);
		break;
	default:
		a->s = it->strings[it->vals[k]];
	}
}

/* pool-items.c: a task's JSON result checked strictly (RFC 8259) and
 * made compact, so that it is one line (malloc'd, its length in *len);
 * else the item's error message (malloc'd) with *len 0. */
char *pool_json_result(const char *text, size_t *len);

/* pool.c: one item, serial and thread modes */
void pool_set_result(struct pool_result *r, const struct piperun_task *t,
		     struct piperun_result *res, double dur, int worker);
/* The one timeout rule of every mode: an item that has run for its
 * timeout (or longer) is timed out, whatever it returns then. */
bool pool_timed_out(const struct pool_opts *o, double dur_ms);
struct piperun_arg *pool_item_args(const struct pool_items *it, size_t i,
				   struct piperun_arg local[16], size_t *na);
/* *clock: when the previous item ended, if nothing since then was
 * anyone's time but this item's (0: read the clock; a caller that wrote
 * a record or waited in between sets it to 0), updated to when this one
 * ended, so a run of items reads the clock once each. */
void pool_run_one(const struct pool_opts *o, void *state, const struct pool_items *it,
		  size_t i, struct pool_result *r, int worker, double *clock);
/* The error of the items no worker ran because init() hung (malloc'd). */
char *pool_init_hung_text(const struct pool_opts *o);
void pool_skip_rest(struct pool_result *res, size_t n);
void pool_run_serial(const struct pool_opts *o, const struct pool_items *it,
		     struct pool_result *res);

/* pool-async.c */
int pool_run_async(const struct pool_opts *o, const struct pool_items *it,
		   struct pool_result *res, char **why);

/* pool-process.c */
int pool_run_processes(const struct pool_opts *o, const struct pool_items *it,
		       struct pool_result *res, char **why);

#endif
