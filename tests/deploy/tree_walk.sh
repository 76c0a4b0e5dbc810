#!/usr/bin/env bash
# The backup's walk of a file tree on this host (backends/components/files.c),
# no database needed:
# - a component whose path is a symlink to the folder (a volume mounted
#   elsewhere and linked into place) is backed up as `tar -C PATH .` would:
#   the folder's entries, not the link alone; its restore puts them back.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

REPO=$WORK/repo
init_repo "$REPO"

# config FILE PATH: one files component, "st", backing up PATH as st.tar.
config() {
	python3 - "$@" <<'PY'
import json, sys
path, tree = sys.argv[1:]
json.dump({"profile": "none", "transport": {"type": "local"},
           "components": {"st": {"kind": "files", "path": tree, "stream": "st.tar",
                                 "restore": {"action": "replace-tree", "order": 1}}}},
          open(path, "w"), indent=2)
PY
}
# members TAR: the archive's entry names, one a line, sorted
members() { python3 -c 'import sys, tarfile; print("\n".join(sorted(m.name for m in tarfile.open(sys.argv[1]))))' "$1"; }

info "a component whose path is a symlink to its folder"
REAL=$WORK/volume/storage
mkdir -p "$REAL/sub"
echo "one" >"$REAL/a.txt"
echo "two" >"$REAL/sub/b.txt"
ln -s "$REAL" "$WORK/storage"
config "$WORK/link.json" "$WORK/storage"
ok backup --repo "$REPO" --config "$WORK/link.json" --json
ok dump latest st.tar --repo "$REPO"
members "$OUT" >"$WORK/link.list"
grep -qx './a.txt' "$WORK/link.list" && grep -qx './sub/b.txt' "$WORK/link.list" ||
	fail "the backup of a symlinked path did not hold the folder's files: $(tr '\n' ' ' <"$WORK/link.list")"
rm "$REAL/a.txt"
echo "later" >"$REAL/extra.txt"
ok restore latest --repo "$REPO" --config "$WORK/link.json"
[ "$(cat "$REAL/a.txt" 2>/dev/null)" = one ] && [ "$(cat "$REAL/sub/b.txt")" = two ] &&
	[ ! -e "$REAL/extra.txt" ] && [ -L "$WORK/storage" ] ||
	fail "the restore through the symlinked path did not give the folder back"

finish
