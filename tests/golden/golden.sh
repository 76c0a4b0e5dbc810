#!/usr/bin/env bash
# The committed format-1 repository (tests/golden/v1-repo) opens with its
# password and lists exactly the snapshots of v1.expected; each stream
# dumps byte-identical to the SHA-256 recorded there; check --read-data
# passes; a wrong password is refused as such; reading writes nothing
# into the repository but locks. See tests/golden/README.md.
. "$(dirname "$0")/../cli/lib.sh"

GOLDEN=$(cd "$(dirname "$0")" && pwd)
R=$WORK/v1-repo
# A copy: a dump takes a lock, which is a write.
cp -r "$GOLDEN/v1-repo" "$R"
export TSARC_PASSWORD=golden-v1-password
PASSWORD=$TSARC_PASSWORD

ok snapshots --repo "$R" --json
cp "$OUT" "$WORK/list.json"
grep -v '^#' "$GOLDEN/v1.expected" >"$WORK/expected"
python3 - "$WORK/list.json" "$WORK/expected" <<'PY' || fail "the snapshot list differs from v1.expected"
import json, sys
got = json.load(open(sys.argv[1]))
want = [l.split() for l in open(sys.argv[2]) if l.strip()]
assert len(got) == len(want), (len(got), len(want))
for g, (sid, time, host, tags, stream, kind, size, _sha) in zip(got, want):
    assert g["id"] == sid, (g["id"], sid)
    assert g["version"] == 1 and g["time"] == time and g["host"] == host, g
    assert g["tags"] == ([] if tags == "-" else tags.split(",")), g["tags"]
    assert [(s["name"], s["kind"], s["size"]) for s in g["streams"]] == [(stream, kind, int(size))], g
PY
n=0
while read -r sid _time _host _tags stream _kind size sha; do
	RC=0
	"$TSARC" dump --repo "$R" "$sid" "$stream" 2>"$ERR" >"$WORK/stream" || RC=$?
	sanitizer_check "$RC" "$ERR" "tsarc dump $sid $stream"
	[ "$RC" -eq 0 ] || fail "dump $sid $stream exited with $RC"
	[ "$(stat -c %s "$WORK/stream")" = "$size" ] || fail "$sid $stream: $(stat -c %s "$WORK/stream") bytes, want $size"
	[ "$(sha256sum <"$WORK/stream" | cut -d' ' -f1)" = "$sha" ] || fail "$sid $stream: the bytes differ"
	n=$((n + 1))
done <"$WORK/expected"
[ "$n" -eq 3 ] || fail "v1.expected has $n streams, want 3"

ok check --read-data --repo "$R"
TSARC_PASSWORD=not-the-password t snapshots --repo "$R"
expect_rc 12 "a wrong password"

# Nothing but lock objects was written.
diff -r -x locks -x index "$GOLDEN/v1-repo" "$R" >"$WORK/diff" 2>&1 || fail "reading changed the repository: $(head -5 "$WORK/diff")"
finish "3 streams of format 1"
