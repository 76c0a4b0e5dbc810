#!/usr/bin/env bash
# The tsarc CLI on a real S3 server (Ceph RGW): init creates the bucket,
# backup of a ~64 MiB mixed stream, snapshots, dump (byte-identical),
# deduplication on a second backup, check --read-data, forget + prune (batched
# deletes) and a partial --read-data-subset; then the exit codes
# and messages for a wrong secret, a missing bucket, an unreachable
# endpoint and a bucket policy that refuses deletes and pack writes (key
# remove, passwd, backup),
# and TLS (--cacert, AWS_CA_BUNDLE, --insecure-no-tls-verify).
#
# Run through tests/s3/run_with_s3.sh, which provides TSARC_TEST_S3_URL (a
# fresh bucket) and the AWS_* variables; with --fault-proxy the same round
# trip runs through tests/s3/fault_proxy.py (503/500/resets/stalls on 10% of
# requests) and the error-code part is left out.
. "$(dirname "$0")/../cli/lib.sh"

: "${TSARC_TEST_S3_URL:?run this through tests/s3/run_with_s3.sh}"
: "${AWS_SECRET_ACCESS_KEY:?run this through tests/s3/run_with_s3.sh}"
R=$TSARC_TEST_S3_URL
SIZE=${TSARC_TEST_S3_ROUNDTRIP_SIZE:-64M}
MIX=(--random-every 7 --seed 5)
SECRET=$AWS_SECRET_ACCESS_KEY

# Neither the S3 secret nor the repository password may ever be printed.
no_secrets() {
	if grep -qF -- "$SECRET" "$OUT" "$ERR" || grep -qF -- "$PASSWORD" "$OUT" "$ERR"; then
		fail "$1: a secret appears in the output"
	fi
}

info "repository $R"
init_repo "$R"
no_secrets "init"

backup_gen "$R" db.sql "$SIZE" "${MIX[@]}"
no_secrets "backup"
FIRST=$SNAP
ok snapshots --repo "$R"
expect_out "^${FIRST:0:10} " "snapshots lists the new snapshot"
expect_out "^1 snapshot$" "snapshots counts one snapshot"

dump_cmp "$R" "$FIRST" db.sql "$SIZE" "${MIX[@]}"
no_secrets "dump"

# The same stream again: nothing new to upload.
backup_gen "$R" db.sql "$SIZE" "${MIX[@]}"
[ "$(json_get "$WORK/backup.json" "d['new_chunks']")" = 0 ] ||
	fail "a second backup of the same stream uploaded new chunks"
dump_cmp "$R" latest db.sql "$SIZE" "${MIX[@]}"

ok check --repo "$R" --read-data
expect_out "no errors were found" "check --read-data"
no_secrets "check"

# Retention on S3: other data, forget the first two snapshots, prune
# deletes their chunks in batches; what is kept still restores.
KEPT_GEN=(8M --seed 77)
backup_gen "$R" db.sql "${KEPT_GEN[@]}"
KEPT=$SNAP
ok forget --repo "$R" --keep-last 1 --prune --json
[ "$(json_get "$OUT" "d['removed']")" = 2 ] || fail "forget --keep-last 1 should remove 2 snapshots"
PRUNED=$(json_get "$OUT" "d['prune']['chunks_removed']")
[ "$PRUNED" -gt 0 ] || fail "prune on S3 removed no chunks"
ok prune --repo "$R" --json
[ "$(json_get "$OUT" "d['chunks_removed']")" = 0 ] || fail "a second prune still found chunks to remove"
[ "$(json_get "$OUT" "d['chunks_stored']")" = "$(json_get "$OUT" "d['chunks_referenced']")" ] ||
	fail "after prune, stored chunks are not exactly the referenced ones"
dump_cmp "$R" "$KEPT" db.sql "${KEPT_GEN[@]}"
ok check --repo "$R" --read-data-subset 1/2
ok check --repo "$R" --read-data-subset 2/2
info "prune removed $PRUNED chunks on S3"

t init --repo "$R" --kdf-memory 4
[ "$RC" -ne 0 ] || fail "init over an existing S3 repository succeeded"

if [ -n "${TSARC_TEST_EXPECT_RETRIES:-}" ]; then
	info "PASS (through the fault proxy)"
	exit 0
fi

# --- permanent errors fail fast, with the documented exit codes ---
ENDPOINT=${R#s3:}
ENDPOINT=${ENDPOINT%/*/*}
BUCKET=${R#s3:"$ENDPOINT"/}
BUCKET=${BUCKET%%/*}

SECONDS=0
AWS_SECRET_ACCESS_KEY="wrong-$SECRET" t snapshots --repo "$R"
expect_rc 13 "a wrong secret key"
expect_err "$AWS_ACCESS_KEY_ID" "the wrong-secret message names the access key id"
expect_err "secret key .*wrong" "the wrong-secret message says the secret is wrong"
grep -qF -- "wrong-$SECRET" "$ERR" && fail "the wrong secret is printed"
no_secrets "wrong secret"

MISSING="tsarc-missing-$RANDOM$RANDOM"
t snapshots --repo "s3:$ENDPOINT/$MISSING/prefix"
expect_rc 10 "a missing bucket"
expect_err "$MISSING" "the missing-bucket message names the bucket"

t dump --repo "s3:$ENDPOINT/$MISSING/prefix" latest db.sql
expect_rc 10 "dump from a missing bucket"

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
TSARC_S3_MAX_RETRIES=2 t snapshots --repo "s3:http://127.0.0.1:$PORT/$BUCKET/prefix"
expect_rc 14 "an unreachable endpoint"
expect_err "127\.0\.0\.1:$PORT" "the unreachable message names the endpoint"
[ $SECONDS -lt 30 ] || fail "the permanent errors took ${SECONDS}s: they must fail fast"

# --- a bucket policy that refuses deletes: exit 13 naming the object ---
# RGW answers a refused delete without a version with an empty VersionId,
# which was read as a damaged answer (exit 1, "S3 version listing holds an
# empty ... version id"); and a passwd or a backup whose lock could not
# be removed either said only that, not that the old password still opens
# the repository, or which write was refused.
PREFIX=${R#s3:"$ENDPOINT"/"$BUCKET"/}
# bucket_policy deny|noversions|delete: refuse every delete of key files
# and locks, and every write of packs; or the listing of versions.
bucket_policy() {
	python3 - "$1" "$ENDPOINT" "$BUCKET" "$PREFIX" <<'PY' || fail "cannot set the bucket policy"
import json, sys, botocore.session
what, ep, bucket, prefix = sys.argv[1:]
s3 = botocore.session.get_session().create_client("s3", endpoint_url=ep, region_name="us-east-1")
if what == "delete":
    s3.delete_bucket_policy(Bucket=bucket)
elif what == "noversions":
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": ["s3:ListBucketVersions"],
         "Resource": [f"arn:aws:s3:::{bucket}"]}]}))
else:
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
         "Resource": [f"arn:aws:s3:::{bucket}/{prefix}/keys/*", f"arn:aws:s3:::{bucket}/{prefix}/locks/*"]},
        {"Effect": "Deny", "Principal": "*", "Action": ["s3:PutObject"],
         "Resource": [f"arn:aws:s3:::{bucket}/{prefix}/data/*"]}]}))
PY
}
TSARC_NEW_PASSWORD="other-$PASSWORD" t key add --repo "$R" --json
expect_rc 0 "key add"
OTHER_KEY=$(json_get "$OUT" "d['added']")
bucket_policy deny
t key remove --repo "$R" "${OTHER_KEY:0:10}"
expect_rc 13 "key remove refused by a bucket policy"
expect_err "deleting s3://$BUCKET/$PREFIX/keys/$OTHER_KEY: AccessDenied" "the refused delete names the key file"
TSARC_PASSWORD="other-$PASSWORD" t snapshots --repo "$R"
expect_rc 0 "the key file a refused remove left"
TSARC_NEW_PASSWORD="new-$PASSWORD" t key passwd --repo "$R"
expect_rc 13 "key passwd refused by a bucket policy"
expect_err "warning: could not remove the repository lock" "the lock left is a warning"
expect_err "error: the new password was added as key .* so it still opens the repository" \
	"passwd says the old password still opens the repository"
# A backup whose lock stays said only that, not that its packs were refused.
t_in <("$GEN" 1M --seed 31) backup --repo "$R" --stdin --name refused.sql
expect_rc 13 "a backup refused its packs by a bucket policy"
expect_err "warning: could not remove the repository lock" "the backup's lock left is a warning"
expect_err "error: storing pack .*PUT s3://$BUCKET/$PREFIX/data/.*access denied" \
	"the backup names the pack refused"
no_secrets "refused deletes"
# A delete lists the key's versions first (none here, the bucket keeps
# none): refused, the error said only "GET bucket", not which permission.
bucket_policy noversions
t key remove --repo "$R" "${OTHER_KEY:0:10}"
expect_rc 13 "key remove without s3:ListBucketVersions"
expect_err "listing versions of s3://$BUCKET/$PREFIX/keys/$OTHER_KEY \(s3:ListBucketVersions" \
	"the refused version listing names its permission"
bucket_policy delete
ok unlock --repo "$R" --remove-all

# --- TLS (ci/rgw.sh serves the same buckets over https with its own CA) ---
if [ -n "${TSARC_TEST_S3_TLS_ENDPOINT:-}" ] && [ -n "${TSARC_TEST_S3_CACERT:-}" ]; then
	RT="s3:$TSARC_TEST_S3_TLS_ENDPOINT/$BUCKET/${R#s3:"$ENDPOINT"/"$BUCKET"/}"
	t snapshots --repo "$RT"
	[ "$RC" -ne 0 ] || fail "an https endpoint with an unknown CA was accepted"
	[ "$RC" -ne 14 ] || fail "a TLS verification failure must not be reported as a network error"
	expect_err "--cacert" "a TLS verification failure says how to give the CA"
	ok snapshots --repo "$RT" --cacert "$TSARC_TEST_S3_CACERT"
	expect_out "^${KEPT:0:10} " "snapshots over TLS with --cacert"
	AWS_CA_BUNDLE=$TSARC_TEST_S3_CACERT t snapshots --repo "$RT"
	expect_rc 0 "snapshots over TLS with AWS_CA_BUNDLE"
	t snapshots --repo "$RT" --insecure-no-tls-verify
	expect_rc 0 "snapshots over TLS without verification"
	expect_err "WARNING.*verification is DISABLED" "disabling TLS verification warns"
	"$TSARC" dump --repo "$RT" --cacert "$TSARC_TEST_S3_CACERT" "$KEPT" db.sql 2>"$ERR" |
		cmp - <("$GEN" "${KEPT_GEN[@]}") >"$OUT" 2>&1 ||
		fail "dump over TLS failed or differs: $(cat "$OUT")"
	sanitizer_check 0 "$ERR" "tsarc dump over TLS"
else
	info "no TLS endpoint (TSARC_TEST_S3_TLS_ENDPOINT): TLS part skipped"
fi

info "PASS"
