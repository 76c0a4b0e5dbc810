#!/usr/bin/env bash
# A repository lock that cannot be removed (500 on every DELETE of locks/,
# after every retry; through tests/s3/fault_proxy.py --only). A command
# whose work is done reports it whole, and names the lock left: a backup's
# snapshot is safe, so it warns and exits 0 (the lock only delays a prune
# until it is stale); check prints its whole report first, then exits
# non-zero where it found nothing (a sound report with a lock left behind
# must not pass for a clean run), and 3 with a warning naming the lock
# where it found damage (the damage is what matters).
#
# Run through tests/s3/run_with_s3.sh --fault-proxy with
# TSARC_TEST_FAULT_RATE=1 TSARC_TEST_FAULT_KINDS=internal
# TSARC_TEST_FAULT_ONLY='^DELETE [^?]*/locks/'.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/object_lock_lib.sh"

: "${TSARC_TEST_FAULT_ONLY:?run this with TSARC_TEST_FAULT_ONLY set}"
R=$TSARC_TEST_S3_URL
# Give up soon: every attempt fails the same way.
export TSARC_S3_MAX_RETRIES=2 TSARC_S3_RETRY_DEADLINE=30
LEFT="work is done, but its repository lock could not be removed"

init_repo "$R"
"$GEN" 1M --seed 9 >"$WORK/in.sql" || fail "the generator failed"

info "backup: the snapshot is stored and named, with a warning of the lock left"
backup_file "$R" db.sql "$WORK/in.sql"
expect_err "warning: could not remove the repository lock: DELETE [^ ]*/locks/" \
	"backup names the lock left"
t dump --repo "$R" "$SNAP" db.sql
cmp -s "$OUT" "$WORK/in.sql" || fail "the snapshot stored before the lock failed does not restore"

info "check of a sound repository: the report, then the lock's failure"
t check --repo "$R" --json
[ "$RC" -ne 0 ] && [ "$RC" -ne 3 ] || fail "check whose lock stays exited $RC"
[ "$(json_get "$OUT" "d['ok']")" = True ] && [ "$(json_get "$OUT" "d['snapshots']")" = 1 ] ||
	fail "check printed no full report before failing: $(cat "$OUT")"
expect_err "$LEFT" "check names the lock left"
t check --repo "$R"
[ "$RC" -ne 0 ] && [ "$RC" -ne 3 ] || fail "check (text) whose lock stays exited $RC"
expect_out "no errors were found" "check's text report comes before its failure"

info "check of a damaged repository: exit 3, the report, and a warning of the lock"
[ "$($ATT overwrite "$BUCKET" "prefix/snapshots/$SNAP")" = ok ] ||
	fail "cannot overwrite the snapshot object"
t check --repo "$R" --json
expect_rc 3 "check of a damaged repository whose lock stays"
[ "$(json_get "$OUT" "d['ok']")" = False ] && [ "$(json_get "$OUT" "d['snapshots_damaged']")" = 1 ] ||
	fail "check did not report the damaged snapshot: $(cat "$OUT")"
expect_err "lock_not_removed|$LEFT" "check warns of the lock left"
finish
