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
t_in "$WORK/in.sql" backup --repo "$R" --stdin --name db.sql --json
expect_rc 0 "backup (no snapshot is read)"
SNAP=$(json_get "$OUT" "d['snapshot_id']")

t snapshots --repo "$R"
expect_rc 14 "snapshots when the snapshot object cannot be read"
expect_err "snapshot ${SNAP:0:12} cannot be read" "snapshots names the snapshot it cannot read"
! grep -q "snapshot" "$OUT" || fail "snapshots printed a list although a snapshot cannot be read: $(cat "$OUT")"
t snapshots --repo "$R" --json
expect_rc 14 "snapshots --json when the snapshot object cannot be read"
t dump --repo "$R" latest db.sql
expect_rc 14 "dump latest when the snapshot object cannot be read"
[ ! -s "$OUT" ] || fail "dump latest wrote data"
t check --repo "$R"
expect_rc 14 "check when the snapshot object cannot be read"
finish
