#!/usr/bin/env bash
# Snapshot objects that the store keeps failing to give (500 on every GET of
# snapshots/, after every retry; through tests/s3/fault_proxy.py --only):
# snapshots, dump latest and check fail with exit 14 and name the snapshot,
# never a short list or "0 snapshots" with exit 0.
#
# Run through tests/s3/run_with_s3.sh --fault-proxy with
# TSARC_TEST_FAULT_RATE=1 TSARC_TEST_FAULT_KINDS=internal
# TSARC_TEST_FAULT_ONLY='^GET [^?]*/snapshots/[0-9a-f]'.
. "$(dirname "$0")/../cli/lib.sh"

: "${TSARC_TEST_S3_URL:?run this through tests/s3/run_with_s3.sh}"
: "${TSARC_TEST_FAULT_ONLY:?run this with TSARC_TEST_FAULT_ONLY set}"
R=$TSARC_TEST_S3_URL
# Give up soon: every attempt fails the same way.
export TSARC_S3_MAX_RETRIES=2 TSARC_S3_RETRY_DEADLINE=30

init_repo "$R"
"$GEN" 1M --seed 9 >"$WORK/in.sql" || fail "the generator failed"
backup_file "$R" db.sql "$WORK/in.sql" # (no snapshot is read)

expect_unreadable_snapshot 14 "$R" "$SNAP"
finish
