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

/*
 * Letter case aside: the type is lower case as kubectl spells resource
 * names, kinds are CamelCase (ConfigMap, APIManager), and Kubernetes reads
 * a kind only as spelt by its group (kind "secret" or "SECRET" is no kind
 * of core v1: kubectl apply refuses it, "no matches for kind"). So a
 * spelling that differs in case is either refused by kubectl or is that
 * exact kind; which group it is in is tsarc_kube_object_of_type's check.
 */
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

/* v<digits>, then optionally alpha or beta and digits: Kubernetes' own
 * version syntax (v1, v1beta1, v2alpha3), at most 20 characters. */
static int kube_version(const char *s)
{
	const char *p = s;

	if (*p++ != 'v' || !(*p >= '0' && *p <= '9'))
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	if (!strncmp(p, "alpha", 5) || !strncmp(p, "beta", 4)) {
		p += *p == 'a' ? 5 : 4;
		if (!(*p >= '0' && *p <= '9'))
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return !*p && p - s <= 20;
}

int tsarc_valid_kube_api_version(const char *s)
{
	const char *slash;
	char group[254];
	size_t gl;

	if (!s)
		return 0;
	if (!(slash = strchr(s, '/')))
		return kube_version(s);
	gl = (size_t)(slash - s);
	if (gl >= sizeof(group))
		return 0;
	memcpy(group, s, gl);
	group[gl] = '\0';
	return dns_subdomain(group, 0) && kube_version(slash + 1);
}

/*
 * The API group of the kinds a type without one names, where tsarc knows
 * it: the core kinds it backs up itself (their only apiVersion is v1) and
 * the 3scale operator's APIManager (the profile's type "apimanager",
 * which the local transport also uses as its folder's name).
 */
static const struct {
	const char *kind, *group;
} KNOWN_GROUPS[] = {
	{"Secret", ""},
	{"ConfigMap", ""},
	{"APIManager", "apps.3scale.net"},
};

int tsarc_kube_type_group(const char *type, const char **group)
{
	size_t i;

	*group = NULL;
	if (!type)
		return 0;
	if (strchr(type, '.')) {
		*group = strchr(type, '.') + 1;
		return 1;
	}
	for (i = 0; i < sizeof(KNOWN_GROUPS) / sizeof(KNOWN_GROUPS[0]); i++)
		if (tsarc_kube_kind_of_type(KNOWN_GROUPS[i].kind, type)) {
			*group = KNOWN_GROUPS[i].group;
			return 1;
		}
	return 0;
}

int tsarc_kube_object_of_type(const char *api_version, const char *kind, const char *type)
{
	const char *slash, *group, *version;
	size_t gl, vl;

	if (!tsarc_valid_kube_api_version(api_version) || !tsarc_kube_kind_of_type(kind, type))
		return 0;
	slash = strchr(api_version, '/');
	if (!tsarc_kube_type_group(type, &group))
		return slash != NULL; /* not the core group: its kinds are known */
	if (!group[0])
		return !strcmp(api_version, "v1");
	if (!slash)
		return 0;
	gl = (size_t)(slash - api_version);
	version = slash + 1;
	vl = strlen(version);
	/* RESOURCE.GROUP, or kubectl's RESOURCE.VERSION.GROUP: that version
	 * in that group. */
	if (!strncmp(group, version, vl) && group[vl] == '.')
		group += vl + 1;
	return strlen(group) == gl && !strncasecmp(group, api_version, gl);
}
