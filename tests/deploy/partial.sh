#!/usr/bin/env bash
# A snapshot that lacks some of the target's enabled components (taken
# before a component was added to the configuration, or into a target
# that has more than the source had) restores the rest and leaves those
# as they are: a half-restored deployment, said only in a line at the end
# of the report, with exit code 0. It is refused, before anything is read
# or written (--dry-run too), naming what the snapshot lacks, unless the
# operator says which part is meant: --only, or --allow-partial. An undo
# snapshot holds only what a restore replaced, by design, and restores
# with the whole configuration. The other way, a snapshot holding a
# component the target configuration leaves out or disables, is refused
# the same way.
# Files components only: no database server is needed. The undo snapshot
# is taken with --only, as a restore of one component takes it.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

REPO=$WORK/repo
init_repo "$REPO"

# listing DIR: every entry and every file's MD5, sorted
listing() { (cd "$1" && { find . -printf '%p %y\n'; find . -type f -exec md5sum {} +; } | LC_ALL=C sort); }

# config FILE NAME...: one files component per NAME, backing up
# $WORK/dep/NAME, restored by replace-tree.
config() {
	python3 - "$WORK/dep" "$@" <<'PY'
import json, sys
dep, path, names = sys.argv[1], sys.argv[2], sys.argv[3:]
json.dump({"profile": "none", "transport": {"type": "local"},
           "components": {n: {"kind": "files", "path": dep + "/" + n, "stream": n + ".tar",
                              "restore": {"action": "replace-tree", "order": 1 + i}}
                          for i, n in enumerate(names)}},
          open(path, "w"), indent=2)
PY
}

mkdir -p "$WORK/dep/system-storage" "$WORK/dep/extra-files"
echo "logo v1" >"$WORK/dep/system-storage/logo.png"
echo "extra v1" >"$WORK/dep/extra-files/notes.txt"
config "$WORK/old.json" system-storage
config "$WORK/new.json" system-storage extra-files

info "a backup taken before extra-files was added to the configuration"
ok backup --repo "$REPO" --config "$WORK/old.json" --json
SNAP=$(json_get "$OUT" "d['snapshot_id']")

echo "logo v2" >"$WORK/dep/system-storage/logo.png"
echo "extra v2" >"$WORK/dep/extra-files/notes.txt"
listing "$WORK/dep" >"$WORK/before.list"

info "restored with the configuration that has extra-files: refused, nothing written"
for dry in "" --dry-run; do
	# shellcheck disable=SC2086
	t restore "$SNAP" --repo "$REPO" --config "$WORK/new.json" $dry
	expect_rc 2 "restore $dry of a snapshot without extra-files"
	expect_err "extra-files" "restore $dry: the component the snapshot lacks is named"
	expect_err "--only" "restore $dry: the way to restore a part is named"
	expect_err "--allow-partial" "restore $dry: the way to restore what the snapshot has is named"
	listing "$WORK/dep" | cmp -s - "$WORK/before.list" ||
		fail "restore $dry: refused, yet the deployment changed: $(listing "$WORK/dep" | diff "$WORK/before.list" - | head -5)"
done

info "--only system-storage: restores that component"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/new.json" --only system-storage
[ "$(cat "$WORK/dep/system-storage/logo.png")" = "logo v1" ] || fail "--only: system-storage not restored"
[ "$(cat "$WORK/dep/extra-files/notes.txt")" = "extra v2" ] || fail "--only: extra-files changed"

echo "logo v2" >"$WORK/dep/system-storage/logo.png"
info "--allow-partial: what the snapshot has is restored, the rest listed"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/new.json" --allow-partial --json
[ "$(cat "$WORK/dep/system-storage/logo.png")" = "logo v1" ] || fail "--allow-partial: system-storage not restored"
[ "$(cat "$WORK/dep/extra-files/notes.txt")" = "extra v2" ] || fail "--allow-partial: extra-files changed"
[ "$(json_get "$OUT" "d['absent_from_snapshot']")" = "['extra-files']" ] ||
	fail "--allow-partial: the report's absent_from_snapshot is $(json_get "$OUT" "d.get('absent_from_snapshot')")"

info "an undo snapshot (what a restore of system-storage replaced) restores with the whole configuration"
echo "logo v3" >"$WORK/dep/system-storage/logo.png"
listing "$WORK/dep" >"$WORK/v3.list"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/new.json" --only system-storage --undo-snapshot --json
UNDO=$(json_get "$OUT" "d['undo_snapshot']")
[ "$(cat "$WORK/dep/system-storage/logo.png")" = "logo v1" ] || fail "--undo-snapshot: system-storage not restored"
ok restore "$UNDO" --repo "$REPO" --config "$WORK/new.json"
listing "$WORK/dep" | cmp -s - "$WORK/v3.list" ||
	fail "the undo snapshot did not put the deployment back: $(listing "$WORK/dep" | diff "$WORK/v3.list" - | head -5)"

info "a snapshot with every component restores without either option"
ok backup --repo "$REPO" --config "$WORK/new.json" --json
FULL=$(json_get "$OUT" "d['snapshot_id']")
listing "$WORK/dep" >"$WORK/full.list"
echo "broken" >"$WORK/dep/extra-files/notes.txt"
ok restore "$FULL" --repo "$REPO" --config "$WORK/new.json"
listing "$WORK/dep" | cmp -s - "$WORK/full.list" ||
	fail "the full snapshot did not restore: $(listing "$WORK/dep" | diff "$WORK/full.list" - | head -5)"

info "the other way: a snapshot with more than the target configuration restores"
# old.json has no extra-files; off.json has it disabled. Either restore
# would replace system-storage and leave the snapshot's extra-files out,
# with exit 0: refused the same way, naming the stream and its component.
python3 - "$WORK/new.json" "$WORK/off.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["components"]["extra-files"]["enabled"] = False
json.dump(c, open(sys.argv[2], "w"))
PY
echo "broken again" >"$WORK/dep/system-storage/logo.png"
listing "$WORK/dep" >"$WORK/before2.list"
for cfg in old off; do
	for dry in "" --dry-run; do
		# shellcheck disable=SC2086
		t restore "$FULL" --repo "$REPO" --config "$WORK/$cfg.json" $dry
		expect_rc 2 "restore $dry with $cfg.json of a snapshot with extra-files"
		expect_err "extra-files" "restore $dry with $cfg.json: the component the target leaves out is named"
		expect_err "--only" "restore $dry with $cfg.json: the way to restore a part is named"
		expect_err "--allow-partial" "restore $dry with $cfg.json: the way to restore the rest is named"
		listing "$WORK/dep" | cmp -s - "$WORK/before2.list" ||
			fail "restore $dry with $cfg.json: refused, yet the deployment changed"
	done
done
ok restore "$FULL" --repo "$REPO" --config "$WORK/old.json" --only system-storage
[ "$(cat "$WORK/dep/system-storage/logo.png")" = "logo v3" ] || fail "--only with old.json: system-storage not restored"
echo "broken again" >"$WORK/dep/system-storage/logo.png"
echo "extra changed" >"$WORK/dep/extra-files/notes.txt"
ok restore "$FULL" --repo "$REPO" --config "$WORK/off.json" --allow-partial --json
[ "$(cat "$WORK/dep/system-storage/logo.png")" = "logo v3" ] || fail "--allow-partial with off.json: system-storage not restored"
[ "$(cat "$WORK/dep/extra-files/notes.txt")" = "extra changed" ] || fail "--allow-partial with off.json: extra-files restored"
[ "$(json_get "$OUT" "d['left_out_by_configuration']")" = "['extra-files']" ] ||
	fail "--allow-partial: the report's left_out_by_configuration is $(json_get "$OUT" "d.get('left_out_by_configuration')")"

finish
