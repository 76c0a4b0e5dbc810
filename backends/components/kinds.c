/*
 * The component kinds, found by name: adding a kind is its file in
 * backends/components/ (built by the folder's glob) and one X(name) here.
 */
#include "kind.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <string.h>

#define TSARC_KINDS(X) X(mysql) X(postgres) X(redis) X(files) X(resources) X(exec) X(s3files)

#define TSARC_KIND_DECLARE(k) extern const tsarc_kind tsarc_kind_##k;
TSARC_KINDS(TSARC_KIND_DECLARE)
#define TSARC_KIND_REF(k) &tsarc_kind_##k,
static const tsarc_kind *const all[] = {TSARC_KINDS(TSARC_KIND_REF)};
#define NKINDS (sizeof(all) / sizeof(all[0]))

const tsarc_kind *tsarc_kind_find(const char *name)
{
	size_t i;

	for (i = 0; name && i < NKINDS; i++)
		if (!strcmp(all[i]->name, name))
			return all[i];
	return NULL;
}

const tsarc_kind *tsarc_kind_at(size_t i)
{
	return i < NKINDS ? all[i] : NULL;
}

void tsarc_kind_names(char *buf, size_t size)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < NKINDS && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "", all[i]->name);
}

int tsarc_kind_for_action(const char *kind, const char *action, const char *component,
	const tsarc_kind **out)
{
	const tsarc_kind *own = tsarc_kind_find(kind);
	char owners[200];
	size_t i, len = 0;

	*out = NULL;
	if (own && own->restore && !strcmp(own->action, action)) {
		*out = own;
		return 0;
	}
	owners[0] = '\0';
	for (i = 0; i < NKINDS; i++) {
		if (strcmp(all[i]->action, action) || !all[i]->restore)
			continue;
		if (all[i]->action_for_any_kind) {
			*out = all[i];
			return 0;
		}
		if (len < sizeof(owners))
			len += (size_t)snprintf(owners + len, sizeof(owners) - len, "%s%s",
				len ? " or " : "", all[i]->name);
	}
	if (len)
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': action %s needs kind %s",
			component, action, owners);
	return tsarc_error_set(TSARC_ECONFIG, "component '%s': unknown restore action '%s'",
		component, action);
}
