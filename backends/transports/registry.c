/*
 * The transports by name: the one place that knows which exist. A
 * configuration names a transport ("transport": {"type": ...}, a
 * component's or a hook's "transport"); a name not listed here is an
 * error naming it, never a silent default.
 */
#include "component.h"
#include "wipe.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const tsarc_transport_type tsarc_transport_types[] = {
	{"local", tsarc_transport_local_new, TSARC_TR_HOST_FILES, tsarc_local_same_place},
	{"kube", tsarc_transport_kube_new, TSARC_TR_IN_WORKLOAD, tsarc_kube_same_place},
	{NULL, NULL, 0, NULL},
};

#define NTYPES (sizeof(tsarc_transport_types) / sizeof(tsarc_transport_types[0]) - 1)

_Static_assert(NTYPES <= sizeof(((tsarc_transports *)0)->made) /
	sizeof(((tsarc_transports *)0)->made[0]), "tsarc_transports.made has a slot per type");

const tsarc_transport_type *tsarc_transport_type_find(const char *name)
{
	size_t i;

	for (i = 0; name && i < NTYPES; i++)
		if (!strcmp(tsarc_transport_types[i].name, name))
			return &tsarc_transport_types[i];
	return NULL;
}

void tsarc_transport_names(char *buf, size_t size)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < NTYPES && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "",
			tsarc_transport_types[i].name);
}

int tsarc_transports_get(tsarc_transports *t, const char *name, tsarc_transport **out)
{
	const tsarc_transport_type *type = tsarc_transport_type_find(name);
	size_t i;
	int rc = 0;

	*out = NULL;
	if (!type) {
		char names[200];
		tsarc_transport_names(names, sizeof(names));
		/* The name may come from a snapshot: not repeated whole. */
		return tsarc_error_set(TSARC_ECONFIG, "no transport '%.64s' (there are: %s)",
			name ? name : "(none)", names);
	}
	i = (size_t)(type - tsarc_transport_types);
	if (!t->made[i])
		rc = type->create(&t->made[i], t->conf);
	*out = t->made[i];
	return rc;
}

void tsarc_transports_dispose(tsarc_transports *t)
{
	size_t i;

	for (i = 0; i < NTYPES; i++)
		if (t->made[i]) {
			t->made[i]->free(t->made[i]);
			t->made[i] = NULL;
		}
}

/* The texts are a server's configuration (a redis.conf with its
 * requirepass): wiped before they are given back (wipe.h). */
void tsarc_server_config_dispose(tsarc_server_config *cfg)
{
	tsarc_secure_free_str(cfg->text);
	tsarc_secure_free_str(cfg->saved);
	cfg->text = cfg->saved = NULL;
	if (cfg->priv && cfg->priv_free)
		cfg->priv_free(cfg->priv);
	cfg->priv = NULL;
	cfg->priv_free = NULL;
}
