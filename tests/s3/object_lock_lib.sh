# shellcheck shell=bash disable=SC2034 # sets ATT, BUCKET, BASE for the test that sources it
# What the Object Lock tests on the RGW (object_lock.sh, object_lock_pack.sh)
# share; sourced after tests/cli/lib.sh, run through run_with_s3.sh. Sets
# ATT (tests/s3/attacker.py: botocore with the repository's credentials),
# BUCKET (the fresh bucket of TSARC_TEST_S3_URL) and BASE (the endpoint URL
# before it); wait_past EPOCH waits until this host's clock, which the
# local RGW shares, is past EPOCH (a retention date cannot be set in the
# past, so expiring one means waiting for a date a few seconds ahead).
: "${TSARC_TEST_S3_URL:?run this through tests/s3/run_with_s3.sh}"
ATT="python3 $(dirname "${BASH_SOURCE[0]}")/attacker.py"
rest=${TSARC_TEST_S3_URL#s3:http*://}
rest=${rest#*/}
BUCKET=${rest%%/*}
BASE=${TSARC_TEST_S3_URL%%/"$BUCKET"/*}
wait_past() { while [ "$(date +%s)" -le "$1" ]; do sleep 0.2; done; }
# as_of_cmp REPO TIME SIZE "SNAP SEED"...: stream db.sql of each snapshot,
# dumped --as-of TIME, is byte-identical to `tsarc-gen-dump SIZE --seed SEED`.
as_of_cmp() {
	local repo=$1 time=$2 size=$3 pair snap seed
	shift 3
	for pair in "$@"; do
		read -r snap seed <<<"$pair"
		"$TSARC" dump --repo "$repo" --as-of "$time" "$snap" db.sql 2>"$ERR" |
			cmp - <("$GEN" "$size" --seed "$seed") >"$OUT" 2>&1 ||
			fail "dump --as-of of ${snap:0:10} differs from what was backed up: $(cat "$OUT" "$ERR")"
		sanitizer_check 0 "$ERR" "dump --as-of"
	done
}
