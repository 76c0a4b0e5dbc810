#!/usr/bin/env bash
# File trees, end to end (no database needed):
# - a live tree: a file whose size is not what stat said is stored with the
#   bytes it really had and named on stderr (sysfs attributes read shorter
#   than their 4096-byte size: "shrank"; /proc/sys files read longer than
#   their size 0: "grew"); a fifo and a socket are skipped with a warning,
#   and the restore of that tree takes it whole (backup and restore agree);
# - a sparse file is restored with its holes (st_blocks);
# - through kubectl (tests/deploy/fake_kubectl.c, a TEST DOUBLE that runs the
#   pod's command here): a tar that libarchive and GNU tar read differently
#   (a GNU long link name, then a pax linkpath) reaches the pod only as
#   tsarc read it; a stream cut between two entries (GNU tar exits 0) swaps
#   nothing; the pod's swap interrupted after each of its moves in turn is
#   finished by the next restore, and leaves no old data lost meanwhile; a
#   backup of the tree meanwhile (on this host, and through the pod's tar)
#   takes the old tree without the restore's folders before the swap, and
#   is refused once the swap has begun.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

REPO=$WORK/repo
init_repo "$REPO"

# config FILE TRANSPORT-JSON COMPONENTS-JSON
config() {
	python3 - "$@" <<'PY'
import json, sys
path, tr, comps = sys.argv[1:]
json.dump({"profile": "none", "transport": json.loads(tr), "components": json.loads(comps)},
          open(path, "w"), indent=2)
PY
}
# listing DIR: every entry with its kind and link target, every file's MD5, sorted
listing() { (cd "$1" && { find . -printf '%p %y %l\n'; find . -type f -exec md5sum {} +; } | LC_ALL=C sort); }

info "a live tree: shrinking and growing files, a fifo, a socket, a sparse file"
SHRINK=/sys/kernel/mm/transparent_hugepage
GROW=/proc/sys/kernel/random
[ -r "$SHRINK/enabled" ] && [ "$(stat -c %s "$SHRINK/enabled")" -gt "$(wc -c <"$SHRINK/enabled")" ] ||
	fail "$SHRINK/enabled is not a file that reads shorter than its size here"
[ "$(stat -c %s "$GROW/boot_id")" = 0 ] && [ -n "$(cat "$GROW/boot_id")" ] ||
	fail "$GROW/boot_id is not a file that reads longer than its size here"
LIVE=$WORK/live
mkdir -p "$LIVE/sub"
echo "hello" >"$LIVE/a.txt"
head -c 3000000 /dev/urandom >"$LIVE/sub/big.bin" # past the in-memory limit: spooled
truncate -s 16M "$LIVE/sparse.img"
printf 'end' >>"$LIVE/sparse.img"
mkfifo "$LIVE/pipe"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$LIVE/sub/sock"
config "$WORK/live.json" '{"type": "local"}' "$(python3 -c 'import json, sys; print(json.dumps({
  "live": {"kind": "files", "path": sys.argv[1], "stream": "live.tar",
           "restore": {"action": "replace-tree", "order": 1}},
  "shrink": {"kind": "files", "path": sys.argv[2], "stream": "shrink.tar"},
  "grow": {"kind": "files", "path": sys.argv[3], "stream": "grow.tar"}}))' \
	"$LIVE" "$SHRINK" "$GROW")"
ok backup --repo "$REPO" --config "$WORK/live.json" --json
SNAP=$(json_get "$OUT" "d['snapshot_id']")
grep -q "$SHRINK/enabled: file shrank by [0-9]* bytes while read; stored the [0-9]* bytes it had" "$ERR" ||
	fail "the shrunk file is not named"
grep -q "$GROW/boot_id: file grew while read" "$ERR" || fail "the grown file is not named"
grep -q "$LIVE/pipe: skipped, a fifo" "$ERR" || fail "the fifo is not named"
grep -q "$LIVE/sub/sock: skipped, a socket" "$ERR" || fail "the socket is not named"
ok dump "$SNAP" shrink.tar --repo "$REPO"
python3 - "$OUT" "$SHRINK" <<'PY' || fail "the shrunk files were not stored with the bytes they had"
import os, sys, tarfile
t = tarfile.open(sys.argv[1])
files = [m for m in t if m.isfile()]
assert files
for m in files:
    data = t.extractfile(m).read()
    assert len(data) < 4096 and b"\0" not in data, (m.name, len(data))
    if m.name == "./enabled":
        assert data == open(os.path.join(sys.argv[2], "enabled"), "rb").read(), data
assert "./enabled" in [m.name for m in files]
PY
ok dump "$SNAP" live.tar --repo "$REPO"
tar -tvf "$OUT" >"$WORK/live.list" || fail "the live tree's tar does not read"
! grep -Eq 'pipe|sock' "$WORK/live.list" || fail "a fifo or socket was archived"

info "its restore takes it whole, with the sparse file's holes"
config "$WORK/restore.json" '{"type": "local"}' "{\"live\": {\"kind\": \"files\", \"path\": \"$WORK/restored\"}}"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/restore.json" --only live --json
diff <(listing "$LIVE" | grep -Ev '^\./(pipe|sub/sock) ') <(listing "$WORK/restored") >&2 ||
	fail "the restored tree differs"
cmp "$LIVE/sub/big.bin" "$WORK/restored/sub/big.bin" || fail "big.bin differs"
cmp "$LIVE/sparse.img" "$WORK/restored/sparse.img" || fail "sparse.img differs"
[ "$(stat -c %b "$WORK/restored/sparse.img")" -lt 1024 ] ||
	fail "the sparse file came back with $(du -k "$WORK/restored/sparse.img" | cut -f1) KiB allocated"

info "through kubectl: one pod, system-storage only"
KILLER=$WORK/killer
mkdir -p "$KILLER"
# pods [ENV-JSON]: the system-app pod, its container's environment (lib.sh)
pods() { fake_pod "$@"; }
pods
T=$WORK/pod-storage
# kubectl gets an allow-listed environment: the double's settings through pass_env.
config "$WORK/kube.json" "{\"type\": \"kube\", \"binary\": \"$FAKE_KUBECTL\", \"namespace\": \"3scale\",
	\"pass_env\": [\"FAKE_KUBE_DIR\", \"FAKE_KUBE_LOG\", \"FAKE_KUBE_NAMESPACE\", \"FAKE_KUBE_EXEC_STDIN_MAX\"]}" \
	"{\"system-storage\": {\"kind\": \"files\", \"workload\": \"system-app\", \"container\": \"system-master\",
	  \"path\": \"$T\", \"stream\": \"system-storage.tar\",
	  \"restore\": {\"action\": \"replace-tree\", \"path\": \"$T\", \"order\": 1}}}"
# stdin_snap TAR: a snapshot of that tar as stream system-storage.tar
stdin_snap() {
	t_in "$1" backup --repo "$REPO" --stdin --name system-storage.tar --json
	[ "$RC" = 0 ] || fail "cannot back up $1"
	json_get "$OUT" "d['snapshot_id']"
}
# old_tree: the pod's tree before each restore
old_tree() {
	rm -rf "$T" && mkdir -p "$T/d" && echo "old a" >"$T/a.txt" && echo "old x" >"$T/d/x" &&
		echo "old only" >"$T/gone.txt"
}

info "a GNU long link name then a pax linkpath: the pod gets what tsarc validated"
python3 - "$WORK/ambiguous.tar" <<'PY'
import sys, tarfile
out = open(sys.argv[1], "wb")
f = tarfile.TarInfo("readme.txt"); f.size = 6
out.write(f.tobuf(tarfile.USTAR_FORMAT) + b"hello\n".ljust(512, b"\0"))
# libarchive takes the long link name, GNU tar the pax linkpath after it.
out.write(tarfile.TarInfo._create_gnu_long_header("readme.txt", tarfile.GNUTYPE_LONGLINK, "utf-8", "strict"))
out.write(tarfile.TarInfo._create_pax_generic_header({"linkpath": "/etc/passwd"}, tarfile.XHDTYPE, "utf-8"))
l = tarfile.TarInfo("avatar.png"); l.type = tarfile.SYMTYPE; l.linkname = "readme.txt"
out.write(l.tobuf(tarfile.USTAR_FORMAT) + b"\0" * 1024)
PY
AMB=$(stdin_snap "$WORK/ambiguous.tar")
old_tree
ok restore "$AMB" --repo "$REPO" --config "$WORK/kube.json" --only system-storage
[ "$(readlink "$T/avatar.png")" = readme.txt ] ||
	fail "the pod made avatar.png -> $(readlink "$T/avatar.png"), not what tsarc validated"
[ "$(cat "$T/readme.txt")" = hello ] && [ ! -e "$T/gone.txt" ] || fail "the tree is not the archive's"
[ -z "$(ls -A "$T" | grep tsarc)" ] || fail "leftovers in the pod's tree: $(ls -A "$T")"

info "a stream cut between two entries swaps nothing"
mkdir -p "$WORK/empties"
for i in $(seq 1 60); do : >"$WORK/empties/f$i"; done
tar --format=ustar -cf "$WORK/empties.tar" -C "$WORK/empties" .
EMPTIES=$(stdin_snap "$WORK/empties.tar")
old_tree
listing "$T" >"$WORK/old.list"
FAKE_KUBE_EXEC_STDIN_MAX=10240 t restore "$EMPTIES" --repo "$REPO" --config "$WORK/kube.json" --only system-storage
[ "$RC" -ne 0 ] || fail "a restore whose stream was cut succeeded"
diff "$WORK/old.list" <(listing "$T") >&2 || fail "a cut stream changed the pod's tree"
expect_err "ended before tsarc verified all of it" "the cut is explained"

info "a journal tsarc did not write stops the restore, and says so"
old_tree
echo "not a journal" >"$T/.tsarc-swap-journal"
listing "$T" >"$WORK/old.list"
t restore "$EMPTIES" --repo "$REPO" --config "$WORK/kube.json" --only system-storage
[ "$RC" -ne 0 ] || fail "a restore went ahead over a foreign journal"
expect_err "swap-journal is not a swap journal tsarc wrote" "the pod's refusal is shown"
diff "$WORK/old.list" <(listing "$T") >&2 || fail "a refused restore changed the pod's tree"
config "$WORK/local-t.json" '{"type": "local"}' "{\"system-storage\": {\"kind\": \"files\", \"path\": \"$T\"}}"
t restore "$EMPTIES" --repo "$REPO" --config "$WORK/local-t.json" --only system-storage
[ "$RC" -ne 0 ] || fail "a local restore went ahead over a foreign journal"
expect_err "swap-journal is not a swap journal tsarc wrote" "the local refusal is shown"
diff "$WORK/old.list" <(listing "$T") >&2 || fail "a refused local restore changed the tree"

info "the pod's swap interrupted after each move in turn: the next restore ends it"
NEW=$WORK/newtree
mkdir -p "$NEW/d" && echo "new a" >"$NEW/a.txt" && echo "new x" >"$NEW/d/x" && echo "new y" >"$NEW/d/y" &&
	echo "new n" >"$NEW/n.txt" && ln -s d/x "$NEW/l"
tar --format=ustar -cf "$WORK/new.tar" -C "$NEW" .
NEWSNAP=$(stdin_snap "$WORK/new.tar")
# An `mv` that kills the pod's shell (as a lost pod or connection would)
# right after its k-th move.
cat >"$KILLER/mv" <<'SH'
#!/bin/sh
n=$(($(cat "$KILL_COUNT") - 1))
echo "$n" >"$KILL_COUNT"
/bin/mv "$@" || exit
[ "$n" = 0 ] && kill -9 "$PPID"
exit 0
SH
chmod +x "$KILLER/mv"
# Ten moves: the journal to phase 0 and 1; three old entries out; the
# journal to phase 2; four new entries in. Interrupted after a sample
# of them (one in each phase; the local swap's unit
# test interrupts it after every one).
# backed_up_meanwhile CONFIG STREAM WHAT: a backup of $T while a killed
# restore's journal is there ($phase its phase).
backed_up_meanwhile() {
	t backup --repo "$REPO" --config "$1" --json
	if [ "$phase" = 0 ]; then
		[ "$RC" -eq 0 ] || fail "$3 (before the swap), the backup of the tree failed"
		ok dump "$(json_get "$OUT" "d['snapshot_id']")" "$2" --repo "$REPO"
		tar -tf "$OUT" >"$WORK/backed-up.list" || fail "$3, the backup's tar does not read"
		! grep -q 'tsarc-' "$WORK/backed-up.list" ||
			fail "$3, the backup took the restore's folders: $(cat "$WORK/backed-up.list")"
		grep -qx './gone.txt' "$WORK/backed-up.list" || fail "$3, the backup is not the old tree"
	else
		[ "$RC" -ne 0 ] || fail "$3 (phase $phase), a half-swapped tree was backed up"
		expect_err "stopped during its swap" "$3, the refusal says why"
	fi
}
# A sync in the pod that says what the journal said when it ran.
cat >"$KILLER/sync" <<SH
#!/bin/sh
sed -n 2p .tsarc-swap-journal >>"$WORK/synced"
exec /bin/sync "\$@"
SH
chmod +x "$KILLER/sync"
config "$WORK/backup-t.json" '{"type": "local"}' "{\"tree\": {\"kind\": \"files\", \"path\": \"$T\", \"stream\": \"tree.tar\"}}"
echo 1000 >"$WORK/count"
pods "{\"PATH\": \"$KILLER:$PATH\", \"KILL_COUNT\": \"$WORK/count\"}"
old_tree
ok restore "$NEWSNAP" --repo "$REPO" --config "$WORK/kube.json" --only system-storage
[ "$(cat "$WORK/count")" = 990 ] || fail "the pod's swap made $((1000 - $(cat "$WORK/count"))) moves, not 10"
[ "$(cat "$WORK/synced" 2>/dev/null)" = 0 ] ||
	fail "the pod's new tree was not synced before its swap (journal phases at sync: $(cat "$WORK/synced" 2>/dev/null))"
diff <(listing "$NEW") <(listing "$T") >&2 || fail "the uninterrupted restore is wrong"
for k in 1 4 6 9; do
	old_tree
	echo "$k" >"$WORK/count"
	pods "{\"PATH\": \"$KILLER:$PATH\", \"KILL_COUNT\": \"$WORK/count\"}"
	t restore "$NEWSNAP" --repo "$REPO" --config "$WORK/kube.json" --only system-storage
	pods
	[ "$RC" -ne 0 ] || fail "the restore succeeded although its shell was killed after move $k"
	# Meanwhile nothing is lost: every old entry in the tree or the old folder.
	(cd "$T" && { [ -f gone.txt ] || [ -f .tsarc-old-*/gone.txt ]; } && [ -f .tsarc-swap-journal ]) ||
		fail "after move $k, the old tree's gone.txt is nowhere, or no journal"
	# A backup of the tree meanwhile (the nightly one), on this host and
	# through the pod's tar: before the swap, the old tree without the
	# restore's folders; once the swap has begun (part old, part new),
	# refused, saying why.
	phase=$(sed -n 2p "$T/.tsarc-swap-journal")
	# Killed before its tar began: what a tar killed midway leaves too.
	[ "$phase" != 0 ] || { mkdir -p "$T/$(sed -n 3p "$T/.tsarc-swap-journal")/d" &&
		echo "new, half written" >"$T/$(sed -n 3p "$T/.tsarc-swap-journal")/d/x"; }
	backed_up_meanwhile "$WORK/backup-t.json" tree.tar "after move $k, on this host"
	backed_up_meanwhile "$WORK/kube.json" system-storage.tar "after move $k, through the pod"
	ok restore "$NEWSNAP" --repo "$REPO" --config "$WORK/kube.json" --only system-storage
	diff <(listing "$NEW") <(listing "$T") >&2 || fail "interrupted after move $k, the next restore did not end it"
done
info "OK"
