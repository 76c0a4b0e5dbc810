/*
 * Rules for names that reach a shell, a command line or a path (variable
 * names, Kubernetes kinds, names and types), whether they come from a
 * config or from a snapshot.
 */
#include "component.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

int tsarc_valid_env_name(const char *s)
{
	size_t i;

	if (!s || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (i = 1; s[i]; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
			    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return i <= 255;
}

int tsarc_valid_kube_kind(const char *s)
{
	size_t i;

	if (!s || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return 0;
	for (i = 1; s[i]; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
			    (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return i <= 63;
}

/* Dot-separated labels of letters (lower case unless `upper`), digits and
 * dashes, each starting and ending with a letter or digit. */
static int dns_subdomain(const char *s, int upper)
{
	size_t i, label = 0;

	if (!s || !s[0])
		return 0;
	for (i = 0; s[i]; i++) {
		char ch = s[i];
		int alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
			(upper && ch >= 'A' && ch <= 'Z');
		if (ch == '.') {
			if (!label || s[i - 1] == '-')
				return 0;
			label = 0;
		} else if (ch == '-') {
			if (!label)
				return 0;
			label++;
		} else if (alnum) {
			label++;
		} else
			return 0;
		if (label > 63)
			return 0;
	}
	return label > 0 && s[i - 1] != '-' && i <= 253;
}

int tsarc_valid_kube_name(const char *s)
{
	return dns_subdomain(s, 0);
}

int tsarc_valid_kube_type(const char *s)
{
	return dns_subdomain(s, 1);
}

int tsarc_kube_kind_of_type(const char *kind, const char *type)
{
	size_t kl, tl;
	int last, ends_y, sibilant;
	char end;

	if (!tsarc_valid_kube_kind(kind) || !type)
		return 0;
	kl = strlen(kind);
	tl = strcspn(type, ".");
	/* All but the kind's last letter, then the endings. */
	if (tl < kl || strncasecmp(kind, type, kl - 1))
		return 0;
	last = strncasecmp(kind + kl - 1, type + kl - 1, 1) == 0;
	end = (char)(kind[kl - 1] | 0x20); /* a letter or a digit: lower case */
	ends_y = end == 'y';
	sibilant = end == 's' || end == 'x' || end == 'z' || end == 'h';
	if (tl == kl)
		return last;
	/* The plural, as Kubernetes makes it from the kind. */
	if (tl == kl + 1)
		return last && (type[kl] == 's' || type[kl] == 'S');
	if (tl == kl + 2)
		return (last && sibilant && !strncasecmp(type + kl, "es", 2)) ||
			(ends_y && !strncasecmp(type + kl - 1, "ies", 3));
	return 0;
}
