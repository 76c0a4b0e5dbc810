#!/usr/bin/env bash
# A tree restore replaces the whole folder: when the repository it reads
# is a folder inside that tree, the restore would put the repository back
# as the snapshot held it (or delete it as an extra entry), losing every
# snapshot written since. Such a restore is refused before anything is
# written (the plan too), the repository and the tree as they were.
# Nor does a backup copy the repository into itself: the repository's
# folder is left out of the snapshot, named in the log and in the
# report (else every backup grew by the whole repository).
# No database server is needed.
# shellcheck disable=SC1091
. "$(cd "$(dirname "$0")" && pwd)/../cli/lib.sh"

TREE=$WORK/storage
REPO=$TREE/.backups
mkdir -p "$TREE/sub"
echo "one" >"$TREE/a.txt"
echo "two" >"$TREE/sub/b.txt"
init_repo "$REPO"
python3 - "$WORK/config.json" "$TREE" <<'PY'
import json, sys
json.dump({"profile": "none", "transport": {"type": "local"},
           "components": {"st": {"kind": "files", "path": sys.argv[2], "stream": "st.tar",
                                 "restore": {"action": "replace-tree", "order": 1}}}},
          open(sys.argv[1], "w"), indent=2)
PY

info "two backups of a tree that holds the repository"
ok backup --repo "$REPO" --config "$WORK/config.json" --json
S1=$(json_get "$OUT" "d['snapshot_id']")
echo "later" >"$TREE/later.txt"
ok backup --repo "$REPO" --config "$WORK/config.json" --json
S2=$(json_get "$OUT" "d['snapshot_id']")
cp "$OUT" "$WORK/b2.json"
cp "$ERR" "$WORK/b2.err"

info "the snapshot holds the tree, not the repository"
ok dump --repo "$REPO" "$S2" st.tar
tar -tf "$OUT" | LC_ALL=C sort >"$WORK/s2.list" || fail "the stream is not a tar"
grep -qx './later.txt' "$WORK/s2.list" || fail "the snapshot lacks the tree: $(cat "$WORK/s2.list")"
grep -qx './sub/b.txt' "$WORK/s2.list" || fail "the snapshot lacks the tree: $(cat "$WORK/s2.list")"
if grep -q '^\./\.backups' "$WORK/s2.list"; then
	fail "the snapshot holds the repository itself: $(grep -c '^\./\.backups' "$WORK/s2.list") entries under ./.backups"
fi
info "the backup names the repository's folder as left out, log and report"
grep -qE '/\.backups: .*repository' "$WORK/b2.err" ||
	fail "the log does not name the repository's folder: $(cat "$WORK/b2.err")"
python3 - "$WORK/b2.json" <<'PY' || fail "the report does not name the repository's folder as left out: $(cat "$WORK/b2.json")"
import json, sys
comps = json.load(open(sys.argv[1]))["components"]
ex = [e for c in comps for e in c.get("excluded", [])]
assert any(e["path"] == "./.backups" and "repository" in e["why"] for e in ex), comps
PY

info "the restore of the first into the tree is refused, nothing written"
(cd "$TREE" && find . -path ./.backups -prune -o -print | LC_ALL=C sort) >"$WORK/tree.before"
t restore "$S1" --repo "$REPO" --config "$WORK/config.json" --dry-run
[ "$RC" -ne 0 ] || fail "the plan of a restore over the repository's own folder was accepted"
expect_err "repository" "the plan's refusal names the repository"
t restore "$S1" --repo "$REPO" --config "$WORK/config.json"
[ "$RC" -ne 0 ] || fail "a restore over the repository's own folder ran"
expect_err "repository" "the refusal names the repository"
ok snapshots --repo "$REPO" --json
python3 - "$OUT" "$S1" "$S2" <<'PY' || fail "the repository lost snapshots: $(cat "$OUT")"
import json, sys
ids = {s["id"] for s in json.load(open(sys.argv[1]))}
assert set(sys.argv[2:]) <= ids, ids
PY
ok check --repo "$REPO" --read-data
(cd "$TREE" && find . -path ./.backups -prune -o -print | LC_ALL=C sort) >"$WORK/tree.after"
diff "$WORK/tree.before" "$WORK/tree.after" >&2 || fail "the refused restore changed the tree"

finish
