#ifndef TSARC_S3_STS_H
#define TSARC_S3_STS_H

/*
 * Temporary credentials from AWS STS: AssumeRoleWithWebIdentity (a
 * Kubernetes service-account token: EKS IRSA, OpenShift STS mode) and
 * AssumeRole (a profile's role_arn, signed with its source_profile's keys).
 * The endpoint: TSARC_S3_STS_ENDPOINT or AWS_ENDPOINT_URL_STS, else
 * sts.REGION.amazonaws.com (sts.amazonaws.com with
 * AWS_STS_REGIONAL_ENDPOINTS=legacy).
 */

#include "config.h"

/* What every credential provider needs to make its calls. */
typedef struct tsarc__s3_credctx {
	const char *region;
	const char *cacert; /* NULL: the system store */
	int insecure;
} tsarc__s3_credctx;

/* 1 when AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are both set. */
int tsarc__s3_web_identity_configured(void);
/* AssumeRoleWithWebIdentity with the token file read afresh (the kubelet
 * rotates it). TSARC_EACCESS when STS refuses, ENET/ETRANSIENT when it
 * cannot be reached or keeps failing, EIO for a malformed answer. */
int tsarc__s3_sts_web_identity(const tsarc__s3_credctx *ctx, tsarc__s3_creds *out);
int tsarc__s3_sts_assume_role(const tsarc__s3_credctx *ctx,
	const tsarc__s3_role *role, tsarc__s3_creds *out);

#endif
