/* Credentials in URL text: urltext.h. */
#include "urltext.h"

#include <stdio.h>
#include <string.h>

const char *tsarc_url_userinfo_end(const char *url)
{
	const char *p = url ? strstr(url, "://") : NULL;

	return p ? strrchr(p + 3, '@') : NULL;
}

void tsarc_url_redact(const char *url, char *out, size_t size)
{
	const char *at = tsarc_url_userinfo_end(url);

	if (!at)
		snprintf(out, size, "%s", url ? url : "");
	else
		snprintf(out, size, "%.*s***%s", (int)(strstr(url, "://") + 3 - url), url, at);
}
