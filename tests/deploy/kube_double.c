/* The unit tests' kubectl double (kube_double.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "kube_double.h"

tsarc_transport *kube_double(const char *dir, const char *argv_log, int cut)
{
	char script[4200];
	FILE *f;

	snprintf(script, sizeof(script), "%s/kubectl", dir);
	f = fopen(script, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n");
	if (argv_log)
		fprintf(f, "printf '%%s\\n' \"$@\" >> '%s'\n", argv_log);
	fprintf(f, "while [ $# -gt 0 ] && [ \"$1\" != -- ]; do shift; done\nshift\n");
	if (cut > 0)
		fprintf(f, "\"$@\" | head -c %d\nexit 0\n", cut);
	else
		fprintf(f, "exec \"$@\"\n");
	fclose(f);
	assert_int_equal(chmod(script, 0700), 0);
	return transport_with("kube", "binary", script);
}

tsarc_transport *transport_with(const char *type, const char *key, const char *value)
{
	tsarc_transport *tr = NULL;
	cJSON *c = cJSON_CreateObject();

	assert_non_null(cJSON_AddStringToObject(c, "type", type));
	assert_non_null(cJSON_AddStringToObject(c, key, value));
	assert_int_equal(strcmp(type, "kube") ? tsarc_transport_local_new(&tr, c) :
		tsarc_transport_kube_new(&tr, c), 0);
	cJSON_Delete(c);
	return tr;
}
