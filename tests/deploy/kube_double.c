/* The unit tests' kubectl double (kube_double.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <sys/stat.h>

#include "kube_double.h"

tsarc_transport *kube_double(const char *dir, const char *argv_log, int cut)
{
	char script[4200], conf[4400];
	tsarc_transport *tr = NULL;
	cJSON *c;
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
	snprintf(conf, sizeof(conf), "{\"type\": \"kube\", \"binary\": \"%s\"}", script);
	c = cJSON_Parse(conf);
	assert_int_equal(tsarc_transport_kube_new(&tr, c), 0);
	cJSON_Delete(c);
	return tr;
}
