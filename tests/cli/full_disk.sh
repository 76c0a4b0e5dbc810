#!/usr/bin/env bash
# A full disk mid-way, on a small tmpfs mounted in a private mount namespace
# (unshare -m: the mount goes with this test's process, whatever ends it):
# - a backup into a folder repository that runs out of space fails, writes
#   no snapshot, leaves no temporary file, and the repository checks clean;
#   with room again, the same backup stores and dumps byte-identical;
# - a tree restore (replace-tree, local transport) into a volume without
#   room for the new tree beside the old one fails and leaves the old tree
#   exact, without staging folder or journal; with room, the new tree exact.
# Needs root for the mount: skipped (77) without it.
if [ -z "${TSARC_FULL_DISK_NS:-}" ]; then
	unshare --mount --propagation private true 2>/dev/null ||
		{ echo "SKIP: no private mount namespace here (needs root)"; exit 77; }
	TSARC_FULL_DISK_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

M=$WORK/m
mkdir -p "$M"
mount -t tmpfs -o size=8m tmpfs "$M" || { echo "SKIP: cannot mount a tmpfs"; exit 77; }
# Unmounted first, or the work folder could not go.
trap 'umount "$M" 2>/dev/null; cleanup' EXIT

info "a backup that fills the disk: no snapshot, nothing left, check clean; then with room"
R=$M/repo
init_repo "$R"
head -c 3000000 /dev/urandom >"$WORK/a.bin"
head -c 20000000 /dev/urandom >"$WORK/b.bin"
t_in "$WORK/a.bin" backup --repo "$R" --stdin --name a.bin -q
expect_rc 0 "a backup that fits"
t_in "$WORK/b.bin" backup --repo "$R" --stdin --name b.bin -q
[ "$RC" -ne 0 ] || fail "a backup larger than the free space succeeded"
expect_err "no space left" "the full disk is named"
t snapshots --repo "$R" --json
[ "$(json_get "$OUT" "len(d)")" = 1 ] || fail "a backup that ran out of space wrote a snapshot"
[ -z "$(find "$R" -name '.tmp-*')" ] || fail "temporary files left: $(find "$R" -name '.tmp-*')"
ok check --repo "$R" --read-data
mount -o remount,size=64m "$M" || fail "cannot make room"
ok backup --repo "$R" --stdin --name b.bin -q <"$WORK/b.bin"
t dump --repo "$R" latest b.bin
cmp -s "$OUT" "$WORK/b.bin" || fail "the backup after the full disk does not dump byte-identical"
ok check --repo "$R" --read-data
rm -rf "$R"

info "a tree restore without room for the new tree: the old tree exact; then with room"
mount -o remount,size=8m "$M" || fail "cannot shrink the tmpfs again"
SRC=$WORK/src
mkdir -p "$SRC/d"
head -c 3000000 /dev/urandom >"$SRC/big1"
head -c 3000000 /dev/urandom >"$SRC/d/big2"
echo small >"$SRC/small"
R=$WORK/repo
init_repo "$R"
# config FILE PATH: one files component at PATH, restored by replace-tree.
config() {
	printf '{"profile": "none", "transport": {"type": "local"}, "components": {"storage": {"kind": "files", "path": "%s", "stream": "storage.tar", "restore": {"action": "replace-tree", "order": 1}}}}\n' "$2" >"$1"
}
config "$WORK/backup.json" "$SRC"
ok backup --repo "$R" --config "$WORK/backup.json" -q
T=$M/t
mkdir "$T"
head -c 4000000 /dev/urandom >"$T/old.bin"
echo keep >"$T/keep.txt"
listing() { (cd "$1" && { find . -printf '%p %y\n'; find . -type f -exec md5sum {} +; } | LC_ALL=C sort); }
listing "$T" >"$WORK/old.list"
config "$WORK/restore.json" "$T"
t restore latest --repo "$R" --config "$WORK/restore.json"
[ "$RC" -ne 0 ] || fail "a restore without room for the new tree succeeded"
expect_err "no space left" "the full disk is named"
diff "$WORK/old.list" <(listing "$T") >&2 || fail "a restore that ran out of space changed the old tree"
mount -o remount,size=64m "$M" || fail "cannot make room"
ok restore latest --repo "$R" --config "$WORK/restore.json" -q
diff <(listing "$SRC") <(listing "$T") >&2 || fail "the restore with room is not the new tree"
finish
