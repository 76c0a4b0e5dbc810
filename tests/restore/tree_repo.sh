#!/usr/bin/env bash
# A tree restore replaces the whole folder: when the repository it reads
# is a folder inside that tree, the restore would put the repository back
# as the snapshot held it (or delete it as an extra entry), losing every
# snapshot written since. Such a restore is refused before anything is
# written (the plan too), the repository and the tree as they were.
# Nor does a backup copy the repository into itself: the repository's
# folder is left out of the snapshot, named in the log and in the
# report (else every backup grew by the whole repository).
# A restore into a folder that holds another tsarc repository, anywhere
# in it, is refused the same way, naming it: the restore would delete it
# (or replace it) with the old tree. Files that merely bear a repository's
# names do not stop a restore.
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

# Another folder that holds another tsarc repository (an operator's own
# repository of that host, or one restored from a copy): the restore would
# move it aside with the old tree and delete it, or replace the folder it
# sits in with the snapshot's, every snapshot in it lost. Refused, plan and
# restore, naming the repository's folder; nothing written. Files that only
# bear a repository's names (a "config", a "keys" folder) are no repository.
info "a restore into a folder that holds another repository is refused, nothing written"
TARGET=$WORK/target
mkdir -p "$TARGET/sub" "$TARGET/lookalike/keys"
echo "old" >"$TARGET/a.txt"
echo "an app's settings" >"$TARGET/lookalike/config"
echo "not a key" >"$TARGET/lookalike/keys/$(printf '%064d' 0)"
OTHER_PW="other-$PASSWORD"
TSARC_PASSWORD=$OTHER_PW "$TSARC" init --repo "$TARGET/sub/vault" --kdf-memory 4 >/dev/null 2>"$ERR" ||
	fail "init of the other repository"
echo "the other repository's data" >"$WORK/other.txt"
TSARC_PASSWORD=$OTHER_PW "$TSARC" backup --repo "$TARGET/sub/vault" --stdin --name other.txt \
	<"$WORK/other.txt" >/dev/null 2>"$ERR" || fail "backup into the other repository"
python3 - "$WORK/target.json" "$TARGET" <<'PY'
import json, sys
json.dump({"profile": "none", "transport": {"type": "local"},
           "components": {"st": {"kind": "files", "path": sys.argv[2], "stream": "st.tar",
                                 "restore": {"action": "replace-tree", "order": 1}}}},
          open(sys.argv[1], "w"), indent=2)
PY
# refused_into WHERE: the plan and the restore of S1 into $TARGET are
# refused naming the repository at WHERE (under $TARGET); the target and
# the other repository as they were, and the other repository still opens.
refused_into() {
	local where=$1
	(cd "$TARGET" && find . -print0 | LC_ALL=C sort -z | xargs -0 stat -c '%n %s %Y %a') >"$WORK/target.before"
	t restore "$S1" --repo "$REPO" --config "$WORK/target.json" --dry-run
	[ "$RC" -ne 0 ] || fail "the plan of a restore over the repository at $where was accepted"
	expect_err "$where.*repository" "the plan's refusal names the repository at $where"
	t restore "$S1" --repo "$REPO" --config "$WORK/target.json"
	[ "$RC" -ne 0 ] || fail "a restore over the repository at $where ran"
	expect_err "$where.*repository" "the refusal names the repository at $where"
	(cd "$TARGET" && find . -print0 | LC_ALL=C sort -z | xargs -0 stat -c '%n %s %Y %a') >"$WORK/target.after"
	diff "$WORK/target.before" "$WORK/target.after" >&2 || fail "the refused restore changed the target"
	TSARC_PASSWORD=$OTHER_PW "$TSARC" dump --repo "$TARGET/$where" latest other.txt 2>"$ERR" |
		cmp -s - "$WORK/other.txt" || fail "the other repository at $where lost its snapshot"
}
info "... in a folder the snapshot has too (sub/)"
refused_into sub/vault
info "... in a folder the snapshot does not have (an extra)"
mkdir "$TARGET/kept"
mv "$TARGET/sub/vault" "$TARGET/kept/vault"
refused_into kept/vault
info "... at the top of the folder"
mv "$TARGET/kept/vault" "$WORK/vault"
rmdir "$TARGET/kept"
cp -a "$WORK/vault/." "$TARGET/"
(cd "$TARGET" && rm -rf sub lookalike a.txt)
refused_into .

info "with the repository moved out, the restore runs: a lookalike is no repository"
rm -rf "$TARGET"
mkdir -p "$TARGET/lookalike/keys"
echo "an app's settings" >"$TARGET/lookalike/config"
echo "not a key" >"$TARGET/lookalike/keys/$(printf '%064d' 0)"
ok restore "$S1" --repo "$REPO" --config "$WORK/target.json"
[ -f "$TARGET/a.txt" ] && [ -f "$TARGET/sub/b.txt" ] || fail "the restore did not write the snapshot's tree"
[ ! -e "$TARGET/lookalike" ] || fail "the restore kept an extra entry"

finish
