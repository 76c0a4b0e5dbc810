#!/usr/bin/env bash
# The index cache against the real S3 (index_cache.h), through the fault
# proxy with no faults, for its log of requests. An object a backup
# stores is tagged with its MD5, the ETag the bucket lists for it, so the
# next run reads no index object back: an open with nothing changed makes
# one LIST of index/ and no GET of it, with 12 index objects. Then an
# index object is damaged in the bucket (its middle byte flipped and PUT
# again: the same size, another ETag) while this host's cache holds it
# intact: a backup here stores its chunks again (before, none: a snapshot
# that a host with another cache could not restore), that host restores
# it, prune refuses (exit 3) as it does on a host without the cache, and
# repair index mends the bucket.
. "$(dirname "$0")/../cli/lib.sh"

: "${TSARC_TEST_S3_URL:?run this through tests/s3/run_with_s3.sh}"
HERE=$(cd "$(dirname "$0")" && pwd)
python3 "$HERE/fault_proxy.py" --upstream "$TSARC_TEST_S3_ENDPOINT" --port-file "$WORK/port" \
	--rate 0 --log-file "$WORK/requests" &
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
[ -s "$WORK/port" ] || fail "fault_proxy.py did not start"
# s3:ENDPOINT/BUCKET/prefix, through the proxy.
BUCKET_PREFIX=${TSARC_TEST_S3_URL#"s3:$TSARC_TEST_S3_ENDPOINT/"}
BUCKET=${BUCKET_PREFIX%%/*}
R=s3:http://127.0.0.1:$(cat "$WORK/port")/$BUCKET_PREFIX

init_repo "$R"
for i in $(seq 12); do
	"$GEN" 300K --seed "$i" >"$WORK/in$i.sql" || fail "the generator failed"
	backup_file "$R" "db$i.sql" "$WORK/in$i.sql"
	if [ "$i" -eq 1 ]; then
		CHUNKS=$(json_get "$WORK/backup.json" "d['new_chunks']")
		FIRST_INDEX=$(python3 "$HERE/attacker.py" versions "$BUCKET" "${BUCKET_PREFIX#*/}/index/" | awk '{print $1}')
	fi
done
N=$(python3 "$HERE/attacker.py" versions "$BUCKET" "${BUCKET_PREFIX#*/}/index/" | wc -l)
[ "$N" -eq 12 ] || fail "12 backups stored $N index objects, want 12"

# index_requests: the LISTs of index/ and the GETs of an index object
# since the log was emptied.
index_requests() {
	LISTS=$(grep -c '^GET [^ ]*list-type=2[^ ]*prefix=[^ &]*index%2F' "$WORK/requests" || true)
	GETS=$(grep -c '^GET [^ ?]*/index/[0-9a-f]' "$WORK/requests" || true)
}
: >"$WORK/requests"
dump_cmp_file "$R" latest db12.sql "$WORK/in12.sql"
index_requests
[ "$LISTS" -eq 1 ] && [ "$GETS" -eq 0 ] ||
	fail "a dump after this host's backups: $LISTS LISTs of index/, $GETS GETs of index objects; want 1 and 0"
: >"$WORK/requests"
dump_cmp_file "$R" latest db12.sql "$WORK/in12.sql"
index_requests
[ "$LISTS" -eq 1 ] && [ "$GETS" -eq 0 ] ||
	fail "a dump with nothing changed: $LISTS LISTs of index/, $GETS GETs of index objects; want 1 and 0"

# The count above counts: without the cache, each object is read.
: >"$WORK/requests"
RC=0
"$TSARC" dump --no-cache --repo "$R" latest db12.sql >/dev/null 2>"$ERR" || RC=$?
[ "$RC" -eq 0 ] || fail "dump --no-cache exited with $RC"
index_requests
[ "$LISTS" -eq 1 ] && [ "$GETS" -eq 12 ] ||
	fail "a dump with --no-cache: $LISTS LISTs of index/, $GETS GETs of index objects; want 1 and 12"

# The first backup's index object, damaged in the bucket.
[ "$(python3 "$HERE/attacker.py" flip "$BUCKET" "$FIRST_INDEX")" = ok ] || fail "the index object could not be PUT again"
t check --repo "$R"
expect_rc 3 "check with an index object damaged in the bucket"
grep -q "damaged index $(basename "$FIRST_INDEX" | cut -c1-16)" "$OUT" || fail "check does not name the damaged index object: $(cat "$OUT")"
t_in "$WORK/in1.sql" backup --repo "$R" --stdin --name db1.sql --json
expect_rc 0 "a backup beside a damaged index object"
[ "$(json_get "$OUT" "d['new_chunks']")" -eq "$CHUNKS" ] ||
	fail "a backup beside a damaged index object stored $(json_get "$OUT" "d['new_chunks']") chunks, want $CHUNKS"
AGAIN=$(json_get "$OUT" "d['snapshot_id']")
(
	export XDG_CACHE_HOME=$WORK/.cache-elsewhere
	dump_cmp_file "$R" "$AGAIN" db1.sql "$WORK/in1.sql"
	[ -d "$XDG_CACHE_HOME/tsarc" ] || fail "the other cache was not used"
) || fail "a host with another cache cannot restore the backup made beside the damage"
t prune --repo "$R"
expect_rc 3 "prune with an index object damaged in the bucket"
ok repair index --repo "$R"
ok check --repo "$R"
finish "the index cache vouches for nothing the bucket does not hold"
