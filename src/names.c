#include "names.h"

#include <string.h>
#include <strings.h>

const char *tsarc_name_of(const tsarc_name *table, size_t n, int value, const char *otherwise)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (table[i].value == value)
			return table[i].name;
	return otherwise;
}

int tsarc_name_find(const tsarc_name *table, size_t n, const char *name, int nocase,
	int *value)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (nocase ? !strcasecmp(name, table[i].name) : !strcmp(name, table[i].name)) {
			*value = table[i].value;
			return 1;
		}
	return 0;
}
