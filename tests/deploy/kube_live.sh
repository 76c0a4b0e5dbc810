#!/usr/bin/env bash
# A live tree read by GNU tar in a pod (the kube transport through
# tests/deploy/fake_kubectl.c, a TEST DOUBLE that runs the pod's command here,
# with this machine's GNU tar). The tree changes at fixed points of tar's
# read, not at a time: GNU tar's checkpoint hook (--checkpoint=1
# --checkpoint-action=exec, set through the component's "options") runs
# synchronously after each 10 KiB record tar writes, and --sort=name fixes
# where each file falls:
# - big (30000 bytes) is emptied after tar read its first 9216 bytes: GNU tar
#   pads it with 20784 zeros, says "File shrank" and exits 1. The backup
#   succeeds, names it and stores the 9216 bytes it had, not tar's zeros
#   (the stream tsarc dumps says 9216); both restores (into the pod, and on
#   this host) give those bytes;
# - grow is appended to while tar reads it ("file changed as we read it"):
#   named, stored with the 30000 bytes it had when tar began;
# - a name with a colon, a backslash, a tab and UTF-8 shrinks too: named as
#   tar quotes it, stored and restored as the 8704 bytes tar read;
# - a file whose own last bytes are zeros, and that did not shrink, keeps them;
# - a socket ("socket ignored") is named; a fifo, which GNU tar stores, is
#   left out of the stream at backup and named, as a backup on this host does;
# - exit status 1 with anything else on tar's stderr still fails the backup.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

# The pod's tar quotes non-ASCII bytes of names as octal escapes in C.
export LC_ALL=C
REPO=$WORK/repo
init_repo "$REPO"

fake_pod

T=$WORK/pod-storage
WEIRD=$'we:ird\\name\t\xc3\xa9'
HOOK=$WORK/hook.sh
# config FILE PATH: system-storage at PATH in the pod, read by tar with the
# hook. "tool": tar cf - as given, in GNU tar's own format, whose record
# offsets the hook's fixed points below are counted in (by default GNU tar
# in a pod writes pax, which adds an extended header to every entry).
config() {
	python3 - "$@" "$FAKE_KUBECTL" "$HOOK" <<'PY'
import json, sys
path, tree, kubectl, hook = sys.argv[1:]
json.dump({"profile": "none",
           "transport": {"type": "kube", "binary": kubectl, "namespace": "3scale",
                         "pass_env": ["FAKE_KUBE_DIR", "FAKE_KUBE_LOG", "FAKE_KUBE_NAMESPACE"]},
           "components": {"system-storage": {
               "kind": "files", "workload": "system-app", "container": "system-master",
               "path": tree, "stream": "system-storage.tar", "tool": "tar",
               "options": ["--sort=name", "--checkpoint=1", "--checkpoint-action=exec=sh " + hook],
               "restore": {"action": "replace-tree", "path": tree, "order": 1}}}},
          open(path, "w"), indent=2)
PY
}
# live_tree [EXTRA]: the tree and the hook that changes it while tar reads;
# EXTRA is a line the hook also writes to tar's stderr at record 1.
live_tree() {
	rm -rf "$T" && mkdir -p "$T" || fail "cannot make $T"
	head -c 30000 /dev/urandom >"$T/big"
	head -c 30000 /dev/urandom >"$T/grow"
	head -c 30000 /dev/urandom >"$T/$WEIRD"
	{ head -c 5000 /dev/urandom; head -c 3000 /dev/zero; } >"$T/zeros"
	mkfifo "$T/fifo"
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/sock"
	cp -a "$T" "$WORK/before"
	# Records of 10 KiB: big's data starts at 1024 (after "./" and its header),
	# grow's at 32256, the odd name's at 62976.
	cat >"$HOOK" <<SH
case \$TAR_CHECKPOINT in
1) : >"$T/big"; ${1:-:} ;;
4) echo more >>"$T/grow" ;;
7) truncate -s 100 "$T/$WEIRD" ;;
esac
SH
}
config "$WORK/kube.json" "$T"

info "a file that shrinks, one that grows, a socket and a fifo while the pod's tar reads"
live_tree
ok backup --repo "$REPO" --config "$WORK/kube.json" --json
SNAP=$(json_get "$OUT" "d['snapshot_id']")
grep -qF "$T/big: file shrank by 20784 bytes while the pod's tar read it" "$ERR" ||
	fail "the shrunk file is not named"
grep -qF "$T/grow: file changed or grew while the pod's tar read it" "$ERR" ||
	fail "the grown file is not named"
grep -qF "$T/we\\:ird\\\\name\\t\\303\\251: file shrank by 21296 bytes" "$ERR" ||
	fail "the shrunk file with the odd name is not named as tar quotes it"
grep -qF "$T/sock: skipped, a socket is not backed up" "$ERR" || fail "the socket is not named"
grep -qF "$T/fifo: skipped, a fifo is not backed up" "$ERR" || fail "the fifo is not named at backup"
t snapshots --repo "$REPO" --json
python3 - "$OUT" <<'PY' || fail "the stream's metadata is not as expected"
import json, sys
st = [s for s in json.load(open(sys.argv[1]))[0]["streams"] if s["name"] == "system-storage.tar"][0]
assert "padded" not in st["meta"], st["meta"]
assert st["meta"]["exit_status"] == 1, st["meta"]
PY
info "the stored stream holds the bytes each file had: no padding, no fifo"
ok dump "$SNAP" system-storage.tar --repo "$REPO"
tar -tvf "$OUT" >"$WORK/listing" || fail "the stored stream is not a tar"
python3 - "$OUT" "$WORK/before" <<'PY' || fail "the stored stream is not what the files had"
import sys, tarfile
t = tarfile.open(sys.argv[1])
got = {m.name: m for m in t.getmembers()}
assert set(got) == {".", "./big", "./grow", "./we:ird\\name\t\u00e9", "./zeros"} or \
    set(got) == {".", "./big", "./grow", "./we:ird\\name\t\udcc3\udca9", "./zeros"}, sorted(got)
sizes = {n.split("/")[-1][:2]: m.size for n, m in got.items() if m.isfile()}
assert sizes == {"bi": 9216, "gr": 30000, "we": 8704, "ze": 8000}, sizes
for n, m in got.items():
    if m.isfile() and n.endswith("zeros"):
        assert t.extractfile(m).read() == open(sys.argv[2] + "/zeros", "rb").read()
PY

# check DIR: the tree as it was, with the bytes tar read of each file
check() {
	cmp "$1/big" <(head -c 9216 "$WORK/before/big") || fail "$1/big is not the 9216 bytes it had"
	cmp "$1/grow" "$WORK/before/grow" || fail "$1/grow is not the 30000 bytes it had"
	cmp "$1/$WEIRD" <(head -c 8704 "$WORK/before/$WEIRD") ||
		fail "$1/$WEIRD is not the 8704 bytes tar read"
	cmp "$1/zeros" "$WORK/before/zeros" || fail "$1/zeros lost its own zeros"
	[ ! -e "$1/fifo" ] && [ ! -e "$1/sock" ] || fail "$1 has a fifo or a socket"
	[ "$(find "$1" -mindepth 1 | wc -l)" = 4 ] || fail "$1 holds: $(ls -A "$1")"
}
info "the restore into the pod gives each file the bytes it had"
config "$WORK/kube-restore.json" "$WORK/pod-restored"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/kube-restore.json" --only system-storage
check "$WORK/pod-restored"

info "so does the restore on this host"
python3 - "$WORK/local.json" "$WORK/local-restored" <<'PY'
import json, sys
json.dump({"profile": "none", "transport": {"type": "local"},
           "components": {"system-storage": {"kind": "files", "path": sys.argv[2]}}}, open(sys.argv[1], "w"))
PY
ok restore "$SNAP" --repo "$REPO" --config "$WORK/local.json" --only system-storage
check "$WORK/local-restored"

info "exit status 1 with another message of tar's is still a failure"
live_tree 'echo "tar: ./big: something tsarc does not know" >&2'
t backup --repo "$REPO" --config "$WORK/kube.json"
[ "$RC" -ne 0 ] || fail "a backup whose tar said something unknown and exited 1 succeeded"
expect_err "something tsarc does not know" "tar's message is not shown"

info "a damaged archive from the pod's tar: the damage is the error, not the pipe it broke"
# A tar that writes one good entry, a header that is not one, then much
# more, and says what GNU tar says when its output is closed: the intake
# stops at the damage while tar still writes, so tar's broken pipe is what
# tsarc did to it, not what went wrong.
FAKETAR=$WORK/faketar
mkdir -p "$FAKETAR"
cat >"$FAKETAR/tar" <<'PY'
#!/usr/bin/env python3
import sys, tarfile
good = tarfile.TarInfo("./a.txt"); good.size = 6
out = sys.stdout.buffer
try:
    out.write(good.tobuf(tarfile.USTAR_FORMAT) + b"hello\n".ljust(512, b"\0"))
    out.write(b"not a tar header".ljust(512, b"x"))
    for _ in range(512):
        out.write(b"y" * 65536)
    out.flush()
except BrokenPipeError:
    sys.stderr.write("tar: -: Cannot write: Broken pipe\ntar: Error is not recoverable: exiting now\n")
    sys.stderr.flush()
    import os; os._exit(2)
PY
chmod +x "$FAKETAR/tar"
fake_pod "{\"PATH\": \"$FAKETAR:$PATH\"}"
live_tree
t backup --repo "$REPO" --config "$WORK/kube.json"
fake_pod
[ "$RC" -ne 0 ] || fail "a backup of a damaged archive succeeded"
expect_err "the pod's tar archive" "the archive's damage is not the error"
grep -q "Broken pipe" "$ERR" && fail "the error is tar's broken pipe, which tsarc caused: $(cat "$ERR")"
info "OK"
