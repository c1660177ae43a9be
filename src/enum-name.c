/* SPDX-License-Identifier: GPL-3.0-or-later */
/* enum-name.c - enum <-> name tables (see enum-name.h). */
#include "config.h"
#include "enum-name.h"

#include <string.h>

const char *enum_name(const struct enum_name *t, size_t n, int value)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].value == value)
			return t[i].name;
	return NULL;
}

int enum_parse(const struct enum_name *t, size_t n, const char *name, int *value)
{
	for (size_t i = 0; name && i < n; i++)
		if (!strcmp(t[i].name, name)) {
			*value = t[i].value;
			return 0;
		}
	return -1;
}
