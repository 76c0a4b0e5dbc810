#ifndef TSARC_NAMES_H
#define TSARC_NAMES_H

#include <stddef.h>

/*
 * A table of {value, name} pairs that serves both directions: the name
 * an enum prints as, and the value a configured word parses to. Codecs,
 * TLS modes, log levels and signals each had a switch for one direction
 * and, where they parsed, a second list for the other, which could drift
 * apart. Aliases go after the spelling that is printed: the first row
 * with a value gives its name.
 */
typedef struct tsarc_name {
	int value;
	const char *name;
} tsarc_name;

#define TSARC_NAMES_COUNT(table) (sizeof(table) / sizeof((table)[0]))

/* The name of the first row with `value`; `otherwise` when none has it. */
const char *tsarc_name_of(const tsarc_name *table, size_t n, int value, const char *otherwise);

/* 1 and *value set when a row is named `name` (ignoring case when
 * `nocase`), 0 and *value untouched when none is. */
int tsarc_name_find(const tsarc_name *table, size_t n, const char *name, int nocase,
	int *value);

#endif
