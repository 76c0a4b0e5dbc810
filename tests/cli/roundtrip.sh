#!/usr/bin/env bash
# Round trip: a large mixed (text + random) stream, an empty and a one-byte
# stream, and a zlib repository come back byte-identical; snapshots, show,
# show --json and snapshot id prefixes behave; check --read-data is clean.
. "$(dirname "$0")/lib.sh"

R=$WORK/repo
SIZE=${TSARC_TEST_ROUNDTRIP_SIZE:-200M}
MIX=(--random-every 7 --seed 11)

init_repo "$R"
[ -f "$R/config" ] && [ -d "$R/keys" ] && [ -d "$R/data" ] && [ -d "$R/snapshots" ] ||
	fail "init did not create config, keys/, data/, snapshots/ in $R"

# --- the large mixed stream (generated once; the page cache holds it) ---
"$GEN" "$SIZE" "${MIX[@]}" >"$WORK/big.sql" || fail "the generator failed"
t_in "$WORK/big.sql" backup --repo "$R" --stdin --name db.sql \
	--tag nightly --tag mixed --host testhost --time 2026-01-02T03:04:05Z
expect_rc 0 "backup of the $SIZE mixed stream"
BIG=$(tr -d '[:space:]' <"$OUT")
[[ $BIG =~ ^[0-9a-f]{64}$ ]] || fail "backup did not print a 64-hex snapshot id on stdout: '$BIG'"
WANT_SIZE=$(stat -c %s "$WORK/big.sql")
[ "$WANT_SIZE" -eq "$(numfmt --from=iec "$SIZE")" ] || fail "the generator wrote $WANT_SIZE bytes, not $SIZE"
WANT_SHA=$(sha256sum <"$WORK/big.sql" | cut -d' ' -f1)

ok snapshots --repo "$R"
expect_out "^${BIG:0:10} " "snapshots lists the new snapshot"
expect_out "^1 snapshot$" "snapshots counts one snapshot"
expect_out "testhost" "snapshots shows the host"
expect_out "nightly,mixed" "snapshots shows the tags"

ok show --repo "$R" "$BIG"
expect_out "^snapshot $BIG$" "show prints the id"
expect_out "db\.sql \(stdin\)" "show lists the stream"
expect_out "sha256: +$WANT_SHA" "show prints the stream's SHA-256"
expect_out "\($WANT_SIZE bytes\)" "show prints the stream's size"

ok show --repo "$R" latest --json --chunks
cp "$OUT" "$WORK/show.json"
python3 - "$WORK/show.json" "$BIG" "$WANT_SIZE" "$WANT_SHA" <<'EOF' || fail "show --json is not what was backed up (see above)"
import json, sys
d = json.load(open(sys.argv[1]))
big, size, sha = sys.argv[2], int(sys.argv[3]), sys.argv[4]
def need(cond, what):
    if not cond:
        print("show --json: " + what, file=sys.stderr)
        sys.exit(1)
need(d["id"] == big, "id %s != %s" % (d["id"], big))
need(d["host"] == "testhost", "host %r" % d["host"])
need(d["tags"] == ["nightly", "mixed"], "tags %r" % d["tags"])
need(d["time"].startswith("2026-01-02T03:04:05"), "time %r" % d["time"])
need(len(d["streams"]) == 1, "%d streams" % len(d["streams"]))
s = d["streams"][0]
need(s["name"] == "db.sql" and s["kind"] == "stdin", "name/kind %r/%r" % (s["name"], s["kind"]))
need(s["size"] == size, "size %r != %d" % (s["size"], size))
need(s["sha256"] == sha, "sha256 %r" % s["sha256"])
need(s["chunk_count"] == len(s["chunks"]), "chunk_count %r vs %d chunks" % (s["chunk_count"], len(s["chunks"])))
need(sum(c[1] for c in s["chunks"]) == size, "chunk sizes add up to %d, not %d" % (sum(c[1] for c in s["chunks"]), size))
need(all(len(c[0]) == 64 for c in s["chunks"]), "a chunk id is not 64 hex")
# Default chunker (format 2, the default): 16 KiB .. 256 KiB; only the last
# chunk may be short.
need(all(c[1] <= 256 << 10 for c in s["chunks"]), "a chunk is larger than 256 KiB")
need(all(c[1] >= 16 << 10 for c in s["chunks"][:-1]), "a chunk before the last is smaller than 16 KiB")
print("show --json: %d chunks, %d bytes stored for %d" % (len(s["chunks"]), s["stored_size"], size))
EOF
info "$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["streams"][0]; print("mixed %s: %d chunks, stored %.1f%% of the stream" % (sys.argv[2], s["chunk_count"], 100.0*s["stored_size"]/s["size"]))' "$WORK/show.json" "$SIZE")"

dump_cmp_file "$R" latest db.sql "$WORK/big.sql"
rm -f "$WORK/big.sql"
ok show --repo "$R" "${BIG:0:8}"
expect_out "^snapshot $BIG$" "show of an 8-digit id prefix"

# --- an empty and a one-byte stream ---
t_in /dev/null backup --repo "$R" --stdin --name empty
expect_rc 0 "backup of an empty stream"
EMPTY=$(tr -d '[:space:]' <"$OUT")
printf 'x' >"$WORK/one"
t_in "$WORK/one" backup --repo "$R" --stdin --name one --json
expect_rc 0 "backup of a one-byte stream"
ONE=$(json_get "$OUT" "d['snapshot_id']")
[ "$(json_get "$OUT" "d['bytes_read']")" = 1 ] || fail "backup --json of one byte: bytes_read != 1"
# An untagged snapshot: show has no "tags:" line, and neither show nor
# snapshots ends a line in blanks (show printed "  tags:   " and the list
# "...  1 B  " with nothing after).
ok show --repo "$R" "$ONE"
expect_out "^  streams: 1$" "show of the one-byte snapshot"
! grep -q '^  tags:' "$OUT" || fail "show prints a tags line for an untagged snapshot: $(cat -A "$OUT")"
ok show --repo "$R" "$BIG"
expect_out "^  tags:    nightly mixed$" "show of the tagged snapshot names its tags"
for args in "show $ONE" "show $BIG" snapshots; do
	ok $args --repo "$R"
	! grep -n '[[:blank:]]$' "$OUT" || fail "$args: a line ends in blanks: $(cat -A "$OUT")"
done

t dump --repo "$R" "$EMPTY" empty
expect_rc 0 "dump of the empty stream"
[ ! -s "$OUT" ] || fail "dump of the empty stream wrote $(wc -c <"$OUT") bytes"
t dump --repo "$R" "$ONE" one
expect_rc 0 "dump of the one-byte stream"
cmp -s "$OUT" "$WORK/one" || fail "dump of the one-byte stream differs"
ok show --repo "$R" "$EMPTY" --json
[ "$(json_get "$OUT" "d['streams'][0]['size']")" = 0 ] || fail "empty stream: size in show --json is not 0"
[ "$(json_get "$OUT" "d['streams'][0]['sha256']")" = "$(sha256sum </dev/null | cut -d' ' -f1)" ] ||
	fail "empty stream: sha256 is not the SHA-256 of nothing"

# `latest` is the newest snapshot; a stream the snapshot does not have fails.
t dump --repo "$R" latest one
expect_rc 0 "dump latest one"
cmp -s "$OUT" "$WORK/one" || fail "latest is not the newest snapshot"
t dump --repo "$R" latest db.sql
[ "$RC" -ne 0 ] || fail "dump of a stream that the snapshot lacks succeeded"
expect_err "no stream 'db\.sql'" "dump of a missing stream names it"

ok snapshots --repo "$R" --json
[ "$(json_get "$OUT" "len(d)")" = 3 ] || fail "snapshots --json does not list 3 snapshots"
[ "$(json_get "$OUT" "sorted(s['id'] for s in d) == sorted(['$BIG','$EMPTY','$ONE'])")" = True ] ||
	fail "snapshots --json does not list exactly the 3 snapshot ids"

# --- snapshot id prefixes ---
t show --repo "$R" ffffffffffffffffffff
expect_rc 1 "show of an unknown prefix"
expect_err "no snapshot matches 'ffffffffffffffffffff'" "unknown prefix message"
t show --repo "$R" not-hex
[ "$RC" -ne 0 ] || fail "show of 'not-hex' succeeded"
expect_err "not a snapshot id" "a non-hex snapshot argument"
# Make two snapshots share a first hex digit (16 digits: 17 snapshots at most).
declare -A byfirst=([${BIG:0:1}]=$BIG)
[ "${EMPTY:0:1}" = "${BIG:0:1}" ] || byfirst[${EMPTY:0:1}]=$EMPTY
AMB=
[ "${EMPTY:0:1}" = "${BIG:0:1}" ] && AMB=${BIG:0:1}
if [ -z "$AMB" ]; then
	[ -z "${byfirst[${ONE:0:1}]:-}" ] || AMB=${ONE:0:1}
	byfirst[${ONE:0:1}]=$ONE
fi
i=0
while [ -z "$AMB" ] && [ $i -lt 17 ]; do
	i=$((i + 1))
	t_in "$WORK/one" backup --repo "$R" --stdin --name one --tag "n$i"
	expect_rc 0 "extra backup $i"
	id=$(tr -d '[:space:]' <"$OUT")
	[ -z "${byfirst[${id:0:1}]:-}" ] || AMB=${id:0:1}
	byfirst[${id:0:1}]=$id
done
[ -n "$AMB" ] || fail "no two of 18 snapshot ids share a first digit (cannot happen)"
t show --repo "$R" "$AMB"
[ "$RC" -ne 0 ] || fail "show of the ambiguous prefix '$AMB' succeeded"
[ "$RC" -lt 3 ] || fail "show of an ambiguous prefix: exit code $RC"
expect_err "ambiguous|matches [0-9]+ snapshots" "an ambiguous prefix says so"
t dump --repo "$R" "$AMB" one
[ "$RC" -ne 0 ] || fail "dump of the ambiguous prefix '$AMB' succeeded"
expect_err "ambiguous|matches [0-9]+ snapshots" "dump with an ambiguous prefix says so"

# --- the whole repository verifies ---
ok check --repo "$R" --read-data
expect_out "no errors were found" "check --read-data"
ok check --repo "$R" --json
[ "$(json_get "$OUT" "d['ok'] and d['chunks_missing'] == 0 and d['chunks_unreferenced'] == 0")" = True ] ||
	fail "check --json does not report a clean repository"

# --- a zlib repository with small chunks ---
Z=$WORK/zlib
init_repo "$Z" --compression zlib --chunk-min 65536 --chunk-avg 262144 --chunk-max 1048576
backup_gen "$Z" z.sql 24M --random-every 5 --seed 3
dump_cmp "$Z" "$SNAP" z.sql 24M --random-every 5 --seed 3
ok show --repo "$Z" "$SNAP" --json --chunks
python3 -c 'import json,sys
s = json.load(open(sys.argv[1]))["streams"][0]
c = s["chunks"]
assert all(x[1] <= 1048576 for x in c), "chunk over --chunk-max"
assert all(x[1] >= 65536 for x in c[:-1]), "chunk under --chunk-min"
assert len(c) > 48, "%d chunks for 24 MiB with a 256 KiB average" % len(c)' "$OUT" ||
	fail "the zlib repository's chunker parameters were not used"
ok check --repo "$Z" --read-data

# A snapshot without a host name (--host ""): show has no "host:" line and
# ends no line in blanks; it printed "  host:    ".
t_in "$WORK/one" backup --repo "$Z" --stdin --name one --host ""
expect_rc 0 "backup with an empty host name"
ok show --repo "$Z" latest
! grep -q '^  host:' "$OUT" || fail "show prints a host line for a snapshot without one: $(cat -A "$OUT")"
! grep -n '[[:blank:]]$' "$OUT" || fail "show: a line ends in blanks: $(cat -A "$OUT")"

finish
