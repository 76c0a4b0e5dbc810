#!/usr/bin/env bash
# restore --undo-snapshot --verify-first on a format-2 repository (no
# database needed: a file tree and an exec component, local transport):
# the verification reads the snapshot's chunks, so the index is open
# before the undo backup stores its packs and index; a step that fails
# after the tree was replaced is then rolled back from that undo backup
# by the same process. The rollback must read the undo backup's chunks:
# the tree is as it was before the restore, and no chunk is said to be
# in no index (before, the rollback failed with "chunk ... is in no
# index ... 'tsarc repair index'", a repository damage that was not
# there, and left the tree the snapshot's). Without --verify-first the
# same rollback worked, the index being opened after the undo backup.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

REPO=$WORK/repo
init_repo "$REPO"
LIVE=$WORK/live
mkdir -p "$LIVE"
# The exec component's restore fails the first time only: the restore
# stops there, the rollback's restore of it then succeeds.
FLAG=$WORK/failed-once
python3 - "$WORK/config.json" "$LIVE" "$FLAG" <<'PY'
import json, sys
path, live, flag = sys.argv[1:]
json.dump({"profile": "none", "transport": {"type": "local"}, "components": {
    "tree": {"kind": "files", "path": live, "stream": "tree.tar",
             "restore": {"action": "replace-tree", "order": 1}},
    "job": {"kind": "exec", "script": "echo job-state",
            "restore": {"order": 2, "command": ["sh", "-c",
                "cat >/dev/null; [ -e '%s' ] && exit 0; : >'%s'; exit 1" % (flag, flag)]}}}},
    open(path, "w"), indent=2)
PY
listing() { (cd "$1" && find . -type f -exec md5sum {} + | LC_ALL=C sort); }

info "the snapshot: a tree of new bytes"
head -c 400000 /dev/urandom >"$LIVE/a.bin"
echo "first" >"$LIVE/b.txt"
ok backup --repo "$REPO" --config "$WORK/config.json" --json
SNAP=$(json_get "$OUT" "d['snapshot_id']")

info "the tree changes (state B): bytes no snapshot holds"
head -c 400000 /dev/urandom >"$LIVE/a.bin"
echo "second" >"$LIVE/b.txt"
listing "$LIVE" >"$WORK/state.B"

info "--undo-snapshot --verify-first: the job fails after the tree was replaced"
t restore "$SNAP" --repo "$REPO" --config "$WORK/config.json" --undo-snapshot --verify-first --json
[ "$RC" -ne 0 ] || fail "a restore whose job fails succeeded"
[ -e "$FLAG" ] || fail "the job's restore did not run"
grep -q "is in no index" "$ERR" && fail "the rollback did not find the undo backup's chunks: $(cat "$ERR")"
[ "$(json_get "$OUT" "d['rollback']['status']")" = applied ] ||
	fail "the rollback is not reported applied: $(json_get "$OUT" "d.get('rollback')")"
listing "$LIVE" >"$WORK/state.rolled-back"
diff "$WORK/state.B" "$WORK/state.rolled-back" >&2 || fail "the rollback did not bring state B back"

info "the repository checks clean"
ok check --repo "$REPO" --read-data
finish
