#ifndef TSARC_URLTEXT_H
#define TSARC_URLTEXT_H

#include <stddef.h>

/*
 * Credentials in URL text (scheme://user:password@host/...), the one rule
 * every URL tsarc reads or quotes goes by: a repository URL, an endpoint,
 * --pushgateway, a URL from a deployment's Secret.
 *
 * The userinfo of a URL ends at an '@'. Looking for it only before the
 * first '/', '?' or '#' misses it when the password holds one of those
 * (an AWS secret access key often holds '/'): the text was then taken as
 * host "user:first-part" and a path "rest-of-the-password@host/...", and
 * that path reached messages, descriptions and argv. So an '@' anywhere
 * after "scheme://" counts.
 */

/* The last '@' after url's "://", or NULL (none, or no "://"): where
 * credentials, if any, end. */
const char *tsarc_url_userinfo_end(const char *url);

/* `url` as a message may quote it, into out (size > 0, always
 * terminated): anything from after "://" to its last '@' is "***". */
void tsarc_url_redact(const char *url, char *out, size_t size);

#endif
