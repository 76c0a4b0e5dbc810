/*
 * Reading a component's fields (cJSON of the effective configuration):
 * strings, booleans, ports, argument lists, the allowed keys.
 */
#include "component.h"
#include "error_save.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tsarc_spec_str(const cJSON *spec, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, key);
	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

int tsarc_spec_bool(const cJSON *spec, const char *key, int dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, key);
	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

int tsarc_spec_port(const cJSON *spec, const char *key, const char *comp, int *port)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, key);
	long n;
	char *end;

	*port = 0;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (cJSON_IsNumber(v))
		/* In range before the cast: converting 1e300 to long is undefined. */
		n = v->valuedouble >= 1 && v->valuedouble <= 65535 &&
			(long)v->valuedouble == v->valuedouble ? (long)v->valuedouble : -1;
	else if (cJSON_IsString(v)) {
		errno = 0;
		n = strtol(v->valuestring, &end, 10);
		if (errno || *end || end == v->valuestring)
			n = -1;
	} else
		n = -1;
	if (n < 1 || n > 65535)
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': %s must be a port number "
			"from 1 to 65535", comp, key);
	*port = (int)n;
	return 0;
}

int tsarc_check_keys(const cJSON *obj, const char *where, const char *const allowed[])
{
	const cJSON *item;
	size_t i;

	cJSON_ArrayForEach(item, obj) {
		for (i = 0; allowed[i]; i++)
			if (!strcmp(allowed[i], item->string))
				break;
		if (!allowed[i])
			return tsarc_error_set(TSARC_ECONFIG, "%s: unknown field '%s'", where,
				item->string);
	}
	return 0;
}

int tsarc_spec_check_keys(const cJSON *spec, const char *comp, const char *const allowed[])
{
	char where[TSARC_ERROR_MESSAGE_MAX];

	snprintf(where, sizeof(where), "component '%s'", comp);
	return tsarc_check_keys(spec, where, allowed);
}

int tsarc_spec_add_args(tsarc_cmd *cmd, const cJSON *spec, const char *key, const char *comp)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(spec, key), *v;
	int rc;

	if (!arr || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr))
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': %s must be an array of "
			"strings", comp, key);
	cJSON_ArrayForEach(v, arr) {
		if (!cJSON_IsString(v))
			return tsarc_error_set(TSARC_ECONFIG, "component '%s': %s must be an array "
				"of strings", comp, key);
		if ((rc = tsarc_cmd_arg(cmd, v->valuestring)))
			return rc;
	}
	return 0;
}
