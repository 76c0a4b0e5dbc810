/* Quoting for a POSIX shell: what reaches `sh -c` in a pod. */
#include "component.h"
#include "tsarc/errors.h"

#include <stdlib.h>
#include <string.h>

int tsarc_shell_quote(const char *s, char **out)
{
	size_t len = 2, i, k = 0;
	char *q;

	for (i = 0; s[i]; i++)
		len += s[i] == '\'' ? 4 : 1;
	if (!(q = malloc(len + 1)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	q[k++] = '\'';
	for (i = 0; s[i]; i++) {
		if (s[i] == '\'') {
			memcpy(q + k, "'\\''", 4);
			k += 4;
		} else
			q[k++] = s[i];
	}
	q[k++] = '\'';
	q[k] = '\0';
	*out = q;
	return 0;
}
