#ifndef TSARC_S3_URL_H
#define TSARC_S3_URL_H

/*
 * Repository URLs of the s3 store (README.md, "Repository URLs"): where
 * the endpoint, bucket and prefix are, and how requests address them.
 * Pure string work, apart from AWS_ENDPOINT_URL(_S3).
 */

typedef struct tsarc__s3_url {
	char *base_url;   /* "https://host[:port]", no trailing slash */
	char *host;       /* the Host header, also what is signed */
	char *bucket;
	char *prefix;     /* "" or "a/b/" (with the trailing slash) */
	char *desc;
	int virtual_host; /* bucket in the host name rather than the path */
	int aws;          /* AWS itself (affects bucket creation) */
} tsarc__s3_url;

/* s3:http(s)://HOST[:PORT]/BUCKET[/PREFIX] or s3://BUCKET[/PREFIX];
 * TSARC_ECONFIG saying what is wrong. For AWS itself (u->aws), the host
 * waits for the region: tsarc__s3_url_aws_host. */
int tsarc__s3_url_parse(tsarc__s3_url *u, const char *url);
int tsarc__s3_url_aws_host(tsarc__s3_url *u, const char *region);
void tsarc__s3_url_dispose(tsarc__s3_url *u);

#endif
