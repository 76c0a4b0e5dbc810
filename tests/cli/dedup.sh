#!/usr/bin/env bash
# Deduplication: the same stream again stores nothing new; the stream with 1%
# of its lines changed (an updated row in each) stores at most 5% of its size.
# The figure with a 512 KiB average chunk is printed for information only.
. "$(dirname "$0")/lib.sh"

SIZE=${TSARC_TEST_DEDUP_SIZE:-192M}
"$GEN" "$SIZE" >"$WORK/base.sql" || fail "the generator failed"
"$GEN" "$SIZE" --mutate 1 >"$WORK/changed.sql" || fail "the generator failed"
BYTES=$(stat -c %s "$WORK/base.sql")
# The changed stream must really differ, in about 1% of its lines.
CHANGED=$(python3 -c 'import sys
a = open(sys.argv[1], "rb").read().split(b"\n")
b = open(sys.argv[2], "rb").read().split(b"\n")
assert len(a) == len(b)
print(sum(1 for x, y in zip(a, b) if x != y), sum(1 for x in a if x.startswith(b"INSERT")))' \
	"$WORK/base.sql" "$WORK/changed.sql") || fail "cannot compare the generated streams"
set -- $CHANGED
[ "$1" -ge 1 ] || fail "--mutate 1 changed no line of the $SIZE stream"
info "$SIZE stream: $1 of $2 INSERT lines changed by --mutate 1"

# new_bytes of $WORK/backup.json as a percentage of the stream, 2 decimals.
pct() { json_get "$WORK/backup.json" "'%.2f' % (100.0 * d['new_bytes'] / d['bytes_read'])"; }

# measure REPO: first, same, changed backups; sets FIRST_PCT SAME_NEW SAME_CHUNKS CHANGED_PCT.
measure() {
	local repo=$1
	t_in "$WORK/base.sql" backup --repo "$repo" --stdin --name db.sql --json
	expect_rc 0 "first backup"
	cp "$OUT" "$WORK/backup.json"
	[ "$(json_get "$WORK/backup.json" "d['bytes_read']")" -eq "$BYTES" ] || fail "first backup: bytes_read != $BYTES"
	[ "$(json_get "$WORK/backup.json" "d['new_chunks']")" -ge 1 ] || fail "first backup stored no chunk"
	FIRST_PCT=$(pct)

	t_in "$WORK/base.sql" backup --repo "$repo" --stdin --name db.sql --json
	expect_rc 0 "second backup of the same stream"
	cp "$OUT" "$WORK/backup.json"
	SAME_NEW=$(json_get "$WORK/backup.json" "d['new_bytes']")
	SAME_CHUNKS=$(json_get "$WORK/backup.json" "d['new_chunks']")
	SAME_STORED=$(json_get "$WORK/backup.json" "d['stored_bytes']")

	t_in "$WORK/changed.sql" backup --repo "$repo" --stdin --name db.sql --json
	expect_rc 0 "backup of the changed stream"
	cp "$OUT" "$WORK/backup.json"
	CHANGED_SNAP=$(json_get "$WORK/backup.json" "d['snapshot_id']")
	CHANGED_PCT=$(pct)
	CHANGED_CHUNKS=$(json_get "$WORK/backup.json" "d['new_chunks']")
}

R=$WORK/repo
init_repo "$R"
measure "$R"
info "default chunker (avg 1 MiB): first backup new ${FIRST_PCT}%, same again new_bytes=$SAME_NEW new_chunks=$SAME_CHUNKS, 1% of lines changed: new ${CHANGED_PCT}% ($CHANGED_CHUNKS chunks) of the stream"
[ "$SAME_NEW" = 0 ] || fail "the same stream again wrote $SAME_NEW new bytes (want 0)"
[ "$SAME_CHUNKS" = 0 ] || fail "the same stream again wrote $SAME_CHUNKS new chunks (want 0)"
[ "$SAME_STORED" = 0 ] || fail "the same stream again stored $SAME_STORED bytes (want 0)"
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= 5.0 else 1)' "$CHANGED_PCT" ||
	fail "1% of lines changed: new bytes are ${CHANGED_PCT}% of the stream (limit 5%)"
[ "$CHANGED_CHUNKS" -ge 1 ] || fail "the changed stream wrote no new chunk: the change was lost"

# The deduplicated snapshots still restore exactly, and the store holds one
# copy of each chunk.
dump_cmp_file "$R" "$CHANGED_SNAP" db.sql "$WORK/changed.sql"
ok check --repo "$R" --json
[ "$(json_get "$OUT" "d['ok'] and d['snapshots'] == 3 and d['chunks_unreferenced'] == 0")" = True ] ||
	fail "check after three backups is not clean: $(cat "$OUT")"

# For information: the same with a 512 KiB average chunk.
S=$WORK/small
init_repo "$S" --chunk-avg 524288
measure "$S"
info "avg 512 KiB chunker (for information): same again new_bytes=$SAME_NEW, 1% of lines changed: new ${CHANGED_PCT}% ($CHANGED_CHUNKS chunks) of the stream"
[ "$SAME_NEW" = 0 ] || fail "avg 512 KiB: the same stream again wrote $SAME_NEW new bytes (want 0)"

finish
