#ifndef TSARC_S3_METADATA_H
#define TSARC_S3_METADATA_H

/*
 * Credentials from the platform the process runs on, as JSON from a
 * link-local endpoint:
 *  - the container endpoint (ECS tasks, EKS Pod Identity):
 *    AWS_CONTAINER_CREDENTIALS_FULL_URI (https, or http to loopback or the
 *    ECS/EKS link-local addresses) or _RELATIVE_URI (on 169.254.170.2),
 *    with the Authorization token from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
 *    (read afresh every time) or _TOKEN;
 *  - the EC2 instance metadata service, IMDSv2 only: a session token by
 *    PUT first, then the role name and its credentials with the token.
 *    No fallback to IMDSv1: a PUT that gets no answer is usually the
 *    metadata hop limit (1) seen from inside a container, and the error
 *    says so instead of leaking a token-less request.
 */

#include "sts.h"

/* 1 when either container variable is set. */
int tsarc__s3_container_configured(void);
int tsarc__s3_container_creds(const tsarc__s3_credctx *ctx, tsarc__s3_creds *out);

/* TSARC_ENOTFOUND (message says why) when AWS_EC2_METADATA_DISABLED=true
 * or nothing answers the token PUT: the chain reports it with the rest. */
int tsarc__s3_imds_creds(const tsarc__s3_credctx *ctx, tsarc__s3_creds *out);

/*
 * {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"} (IMDS adds
 * "Code": "Success"); untrusted: TSARC_EIO unless all four are strings and
 * the time parses. Parsed copies are wiped before they are freed.
 */
int tsarc__s3_parse_cred_json(tsarc__s3_creds *out, const char *json, size_t len);

#endif
