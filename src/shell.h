/* SPDX-License-Identifier: GPL-3.0-or-later */
/* shell.h - placeholders in `shell` scripts: {} becomes a reference to
 * the value, never the value's text (see shell.c). */
#ifndef PIPERUN_SHELL_H
#define PIPERUN_SHELL_H

#include <stdbool.h>
#include <stddef.h>

/* The shell variable that holds a copy's value, and the prefix that sets
 * it from $1 on the script's first line (so LINENO is unchanged), then
 * drops it so that "$@" is empty as in a script without a value. */
#define SHELL_VALUE_VAR "__piperun_v"
#define SHELL_VALUE_PREFIX SHELL_VALUE_VAR "=$1; shift; "

struct shell_script {
	char *script;      /* what /bin/sh -c runs (malloc'd) */
	bool takes_value;  /* a {} was replaced by a reference: the script
			    * begins with SHELL_VALUE_PREFIX and sh must get
			    * the value as $1: sh -c SCRIPT /bin/sh VALUE */
	const char *arith; /* where the script reads a {} as arithmetic
			    * ("$((...))", "let", ...), or NULL: then only an
			    * integer value is data (shell_value_check) */
};

/* Substitute the placeholders of a `shell` script for one copy: {#}
 * becomes index and {{}} a literal {}, as text; each {} becomes a
 * reference to SHELL_VALUE_VAR quoted for where it sits, as sh reads the
 * script (bare "${v}", inside "..." ${v}, inside '...' '"${v}"', in a
 * here-document ${v}), or, when splice is set (repeat's copy index, an
 * integer), that text.  A {} after a backslash or in a # comment is left
 * alone.  Returns 0, or -1 and a malloc'd *why when a {} sits where no
 * reference can stand for it (a here-document with a quoted delimiter). */
int shell_subst(const char *script, const char *splice, size_t index,
		struct shell_script *out, char **why);

/* The same scan with another expansion of the value, for showing a
 * script in its positional form: each {} becomes "$1" quoted for where it
 * sits.  NULL when shell_subst would fail. */
char *shell_subst_positional(const char *script);

/* Can value be the {} of a shell script that reads it as arithmetic at
 * arith (shell_script.arith, or NULL)?  NULL if so, else why not
 * (malloc'd).  bash evaluates array subscripts in arithmetic, running
 * any $(...) or `...` in them, and a script may evaluate a value
 * arithmetically where piperun cannot see it (n={}; $((n+1))): so
 * arithmetic takes only an integer, and no value may hold '[' with '$'
 * or '`'.  For values known at expansion and values that arrive at run
 * time alike. */
char *shell_value_check(const char *value, const char *arith);

#endif
