# shellcheck shell=bash disable=SC2034 # sets ATT, BUCKET, BASE for the test that sources it
# What the Object Lock tests on the RGW (object_lock.sh, object_lock_pack.sh)
# share; sourced after tests/cli/lib.sh, run through run_with_s3.sh. Sets
# ATT (tests/s3/attacker.py: botocore with the repository's credentials,
# one server per test), BUCKET (the fresh bucket of TSARC_TEST_S3_URL) and
# BASE (the endpoint URL before it); wait_past EPOCH waits until this host's clock, which the
# local RGW shares, is past EPOCH (a retention date cannot be set in the
# past, so expiring one means waiting for a date a few seconds ahead);
# old_version, version_until and extend_moves look at what an overwrite
# left behind.
: "${TSARC_TEST_S3_URL:?run this through tests/s3/run_with_s3.sh}"
# One attacker.py serves the test's commands (botocore's start-up is most
# of a command's cost); att ARGS... runs one as `attacker.py ARGS...` would.
python3 "$(dirname "${BASH_SOURCE[0]}")/attacker.py" serve "$WORK/attacker.port" &
for _ in $(seq 300); do
	[ -s "$WORK/attacker.port" ] && break
	sleep 0.1
done
ATT_PORT=$(cat "$WORK/attacker.port" 2>/dev/null) || fail "attacker.py serve did not start"
att() {
	local fd rc
	exec {fd}<>"/dev/tcp/127.0.0.1/$ATT_PORT" || fail "attacker.py serve is not listening"
	printf '%s\0' "$TSARC_TEST_S3_ENDPOINT" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" \
		"$#" "$@" >&"$fd"
	read -r rc <&"$fd"
	cat <&"$fd"
	exec {fd}<&-
	return "${rc:-1}"
}
ATT=att
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
# old_version BUCKET KEY: the id of KEY's one noncurrent version (the
# genuine one an overwrite left behind).
old_version() {
	local v
	v=$($ATT versions "$1" "$2" | awk -v k="$2" '$1 == k && $3 == "old" {print $2}')
	if [ -z "$v" ] || [ "$(printf '%s\n' "$v" | wc -l)" != 1 ]; then
		fail "$2 has not exactly one old version: $($ATT versions "$1" "$2")"
	fi
	printf '%s\n' "$v"
}
# version_until BUCKET KEY [VERSION]: the retain-until date (epoch) of that
# version of KEY (the current one by default), 0 when it has none.
version_until() { $ATT retention "$@" | awk '{print $2}'; }
# extend_moves REPO WHAT "KEY [VERSION]"...: extend-retention --json of a
# damaged REPO exits 3 (WHAT) and moves the date of each version of KEY in
# $BUCKET given (the current one without VERSION).
extend_moves() {
	local repo=$1 what=$2 kv i=0 was=()
	shift 2
	for kv in "$@"; do
		# shellcheck disable=SC2086 # KEY [VERSION], split on purpose
		was+=("$(version_until "$BUCKET" $kv)")
	done
	sleep 2
	t extend-retention --repo "$repo" --json
	expect_rc 3 "$what"
	for kv in "$@"; do
		# shellcheck disable=SC2086
		[ "$(version_until "$BUCKET" $kv)" -gt "${was[i]}" ] ||
			fail "$what: the date of $kv did not move from ${was[i]}"
		i=$((i + 1))
	done
}
# prune_as_dry_run_said REPO: prune --dry-run --json, then prune --json
# (left in $OUT) on the same state; the dry run must have said what the
# real run did under Object Lock: bytes freed, what is only hidden, what
# the sweep deletes for good or keeps (README: the dry run's figures are
# exact). The old index objects a format-2 prune replaces are named only
# once the merged one is written: the dry run does not count them.
prune_as_dry_run_said() {
	ok prune --repo "$1" --dry-run --json
	cp "$OUT" "$WORK/prune-dry.json"
	ok prune --repo "$1" --json
	local diff
	diff=$(python3 -c 'import json, sys
dry, real = (json.load(open(f)) for f in sys.argv[1:3])
keys = ["bytes_removed", "chunks_removed", "chunks_kept", "hidden_removed", "hidden_kept",
        "packs_deleted", "packs_repacked", "packs_written", "packs_locked", "packs_kept"]
bad = [k + ": dry run " + json.dumps(dry.get(k)) + ", prune " + json.dumps(real.get(k))
       for k in keys if dry.get(k) != real.get(k)]
print("; ".join(bad))' "$WORK/prune-dry.json" "$OUT") ||
		fail "the two reports of prune are not JSON"
	[ -z "$diff" ] || fail "prune --dry-run did not say what prune did: $diff"
}
