#ifndef TSARC_TESTS_S3_AWS_ENV_H
#define TSARC_TESTS_S3_AWS_ENV_H

/* The S3 tests set every AWS_* variable they depend on; a machine may have
 * others (AWS_CA_BUNDLE, AWS_PROFILE...) that would change the outcome. */

#include <stdlib.h>
#include <string.h>

extern char **environ;

static inline void clear_aws_env(void)
{
	char name[256];
	int again = 1;

	/* unsetenv reshuffles environ, so start over after each removal. */
	while (again) {
		char **e;
		again = 0;
		for (e = environ; *e; e++) {
			const char *eq = strchr(*e, '=');
			size_t n = eq ? (size_t)(eq - *e) : strlen(*e);
			if (strncmp(*e, "AWS_", 4) == 0 && n < sizeof(name)) {
				memcpy(name, *e, n);
				name[n] = '\0';
				unsetenv(name);
				again = 1;
				break;
			}
		}
	}
	/* The end of the credential chain would ask the EC2 metadata
	 * address: tests talk to loopback only. */
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

/* No AWS_* variable of the machine's, and no credentials or config file. */
static inline void clear_aws_env_and_files(void)
{
	clear_aws_env();
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/x", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent/y", 1);
}

/* Sets (or unsets) a NULL-terminated list of name, value pairs. */
static inline void set_env(const char *const *env)
{
	size_t i;

	for (i = 0; env && env[i]; i += 2)
		setenv(env[i], env[i + 1], 1);
}

static inline void unset_env(const char *const *env)
{
	size_t i;

	for (i = 0; env && env[i]; i += 2)
		unsetenv(env[i]);
}

#endif
