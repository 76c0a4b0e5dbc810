/*
 * The s3files kind: system-storage kept in an S3-compatible bucket (3scale's
 * "S3 filestorage", credentials and bucket in the aws-auth Secret) backed up
 * as one deduplicated stream of its objects and restored so that the bucket
 * ends up equal to it. It runs on this host whatever the deployment's
 * transport: the bucket is reached over the network, not in a pod.
 *   where.c    the Secret and fields: endpoint, bucket, prefix, keys
 *   dump.c     the backup writer
 *   restore.c  the target resolved before the first write, the restore
 *   stream.c   the stream format (a pax tar with user.s3.* attributes)
 *   convert.c  a volume's tree (kind files) read as that stream
 */
#include "s3sys.h"
#include "tsarc/errors.h"

static const char *const S3FILES_FIELDS[] = {"kind", "enabled", "required", "stream",
	"transport", "restore", "description", "secret", "bucket", "prefix", "endpoint", "region",
	"storage_when", NULL};

static int s3files_validate(const cJSON *spec, const char *name)
{
	const char *endpoint = tsarc_spec_str(spec, "endpoint");

	if (!tsarc_spec_str(spec, "secret") && !tsarc_spec_str(spec, "bucket"))
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': an s3files component needs "
			"\"secret\" (aws-auth: AWS_BUCKET and the keys) or \"bucket\"", name);
	/* Before anything runs, as every mistake of the configuration. */
	return endpoint ? tsarc_s3sys_endpoint_check(endpoint, name) : 0;
}

/* A volume's tree, restored into a bucket (convert.c). */
static const tsarc_stream_conversion *const S3FILES_CONVERTS[] = {&tsarc_s3sys_from_tree, NULL};

const tsarc_kind tsarc_kind_s3files = {
	.name = "s3files", .extension = ".tar", .action = "replace-bucket",
	.target = TSARC_TARGET_OWN, .fields = S3FILES_FIELDS,
	.validate = s3files_validate, .dump = tsarc_s3sys_dump,
	.describe = tsarc_s3sys_describe, .resolve = tsarc_s3sys_resolve,
	.admit = tsarc_s3sys_admit, .converts = S3FILES_CONVERTS,
	.recorded_source = tsarc_s3sys_recorded_source, .restore = tsarc_s3sys_restore};
