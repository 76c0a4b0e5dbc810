#!/usr/bin/env bash
# kill -9 of prune on a format-2 repository under S3 Object Lock, on the
# real Ceph RGW, at chosen requests (tests/s3/fault_proxy.py --hold-file
# holds the Nth request of a kind; the test kills prune there, no timing):
#   - within the retention dates, where prune writes a merged index and
#     hides old index objects and wholly unused packs behind delete
#     markers (it cannot delete them), and does not repack;
#   - after them (governance, shortened by an administrator's bypass),
#     where it repacks, then deletes every version of what it removes.
# After each kill: check passes, every kept snapshot restores
# byte-identical; the trials run one after another on the same
# repository, each prune finishing what the killed one began, and at the
# end an uninterrupted prune leaves nothing to do and check --read-data
# is clean.
#
# Run through tests/s3/run_with_s3.sh --fault-proxy with
# TSARC_TEST_HOLD=1 and TSARC_TEST_FAULT_RATE=0.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../cli/prune_set.sh"
. "$(dirname "$0")/object_lock_lib.sh"
: "${TSARC_TEST_HOLD_FILE:?run this through run_with_s3.sh --fault-proxy with TSARC_TEST_HOLD=1}"
HOLD=$TSARC_TEST_HOLD_FILE
# A held request must not be given up on (and sent again) before the kill.
export TSARC_S3_STALL_TIMEOUT=120

G=$BASE/$BUCKET/repo
init_repo "$G" --format 2 --pack-size 131072 --chunk-min 16384 --chunk-avg 65536 \
	--chunk-max 262144 --object-lock 1 --object-lock-mode governance

prune_set "$G"

# kill_at N REGEX WHAT: a prune whose Nth request matching REGEX (over
# "METHOD target", a newline and the body) is held, killed there; then
# check passes and every kept snapshot restores.
TRIAL=0
kill_at() {
	local nth=$1 regex=$2 what=$3 pid rc=0 reached
	TRIAL=$((TRIAL + 1))
	rm -f "$HOLD.reached"
	printf '%s\n%s\n' "$nth" "$regex" >"$HOLD.new" && mv "$HOLD.new" "$HOLD"
	"$TSARC" prune --repo "$G" --json >"$OUT" 2>"$ERR" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null && [ ! -e "$HOLD.reached" ]; do sleep 0.05; done
	if [ -e "$HOLD.reached" ]; then
		reached="killed at $(cat "$HOLD.reached")"
		kill -9 "$pid" 2>/dev/null
	else
		reached="not reached: the prune ended first"
	fi
	wait "$pid" || rc=$?
	rm -f "$HOLD"
	[ "$rc" -eq 137 ] || [ "$rc" -eq 0 ] || fail "trial $TRIAL ($what): prune exited with $rc"
	sanitizer_check "$([ "$rc" -eq 137 ] && echo 0 || echo "$rc")" "$ERR" "prune (trial $TRIAL)"
	info "trial $TRIAL ($what): $reached; exit $rc"
	[ "$rc" -eq 137 ] || [ "${4:-}" = may-miss ] || fail "trial $TRIAL ($what): $reached"
	t check --repo "$G"
	expect_rc 0 "check after trial $TRIAL ($what)"
	restores_all "$G"
}
PUT_INDEX='^PUT [^ ]*/repo/index/'
PUT_PACK='^PUT [^ ]*/repo/data/'
DELETE_INDEX='^POST [^ ]*\?delete[^ ]*\n[\s\S]*<Key>(?:[^<]*/)?repo/index/'
DELETE_PACK='^POST [^ ]*\?delete[^ ]*\n[\s\S]*<Key>(?:[^<]*/)?repo/data/'

# --- within the dates: nothing can be deleted, prune hides ---
kill_at 1 "$PUT_INDEX" "merged index being written"
kill_at 1 "$DELETE_INDEX" "old index objects: their versions asked"
kill_at 2 "$DELETE_INDEX" "old index objects: being hidden" may-miss
kill_at 1 "$DELETE_PACK" "unused packs: their versions asked"
kill_at 2 "$DELETE_PACK" "unused packs: being hidden" may-miss
ok prune --repo "$G" --json
[ "$(json_get "$OUT" "d['packs_repacked']")" -eq 0 ] || fail "a retained pack was repacked"
ok check --repo "$G" --read-data
restores_all "$G"

# --- after the dates: prune repacks and deletes every version ---
$ATT expire "$BUCKET" repo/ 3
wait_past $(($(date +%s) + 4))
kill_at 1 "$PUT_PACK" "a new pack being written"
kill_at 1 "$PUT_INDEX" "the new packs' index being written"
kill_at 2 "$PUT_INDEX" "the merged index being written" may-miss
kill_at 1 "$DELETE_INDEX" "old index versions being deleted" may-miss
kill_at 1 "$DELETE_PACK" "pack versions being deleted" may-miss
# Whatever the kills left: the dates of what they wrote passed too.
$ATT expire "$BUCKET" repo/ 3
wait_past $(($(date +%s) + 4))
ok prune --repo "$G" --json
ok prune --repo "$G" --json --dry-run --max-unused 5
[ "$(json_get "$OUT" "d['packs_deleted'] + d['packs_repacked'] + d['packs_unindexed']")" -eq 0 ] ||
	fail "a prune after the trials would still change packs: $(cat "$OUT")"
ok check --repo "$G" --read-data
restores_all "$G"
echo "object_lock_prune_kill: OK ($TRIAL trials)"
