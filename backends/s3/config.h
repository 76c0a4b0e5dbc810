#ifndef TSARC_S3_CONFIG_H
#define TSARC_S3_CONFIG_H

/*
 * Finds credentials and the region the way the AWS CLI and SDKs do, so that
 * an operator's existing setup works unchanged:
 *   1. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN;
 *   2. the profile AWS_PROFILE (else "default") in AWS_SHARED_CREDENTIALS_FILE
 *      (else ~/.aws/credentials), then in AWS_CONFIG_FILE (else
 *      ~/.aws/config, where sections read "[profile NAME]" or "[default]").
 * Region: AWS_REGION, AWS_DEFAULT_REGION, the profile's `region`, us-east-1.
 */

typedef struct tsarc__s3_creds {
	char *access_key;
	char *secret_key;
	char *session_token; /* NULL when none */
	char *region;
	char *source;        /* where the keys came from, for messages */
} tsarc__s3_creds;

/* TSARC_ECONFIG with a message saying where keys were looked for. */
int tsarc__s3_creds_load(tsarc__s3_creds *out);
/* Wipes the secrets before releasing them. */
void tsarc__s3_creds_dispose(tsarc__s3_creds *c);

#endif
