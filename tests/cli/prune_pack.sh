#!/usr/bin/env bash
# prune on a format-2 repository (packs + index). Eight snapshots: three
# streams and a 1%-edited copy of each, plus two unrelated streams; half
# are forgotten (the three originals and one unrelated stream), so some
# packs are wholly unused and others partly (the lines the edits replaced).
#   - prune --dry-run changes nothing and predicts what --max-unused 100
#     frees to the byte;
#   - --max-unused 100 deletes only wholly unused packs (and combines small
#     ones: each backup's last); --max-unused 0
#     also repacks the partly unused ones, leaves no unused byte and takes
#     less space; after each, check --read-data passes, every snapshot
#     restores byte-identical, and the index is merged;
#   - kill -9 of a prune at fixed points (a new pack, a new index object,
#     an old index object or a pack being removed; inotify, no timing), and
#     then at every other object an uninterrupted prune writes or removes
#     (some 17 here, counted from that prune's report): check passes and every
#     snapshot restores; the next prune finishes the job (nothing left to
#     do after it, check --read-data clean).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/prune_set.sh"

R=$WORK/repo
init_repo "$R" --format 2 --pack-size 131072 --chunk-min 16384 --chunk-avg 65536 --chunk-max 262144

prune_set "$R"

# Bytes of the packs (a killed run's `.tmp-` file is no object, and folder
# sizes are the file system's business).
space() { find "$1/data" -type f -name '[0-9a-f]*' -printf '%s\n' | awk '{ n += $1 } END { print n + 0 }'; }
packs() { find "$1/data" -type f -name '[0-9a-f]*' | wc -l; }
listing() { find "$1" -type f -printf '%P %s\n' | grep -v '^locks/' | sort; }
# prune_json REPO ARGS...: prune --json, the report in $WORK/p.json.
prune_json() {
	local repo=$1
	shift
	t prune --repo "$repo" --json "$@"
	expect_rc 0 "prune $*"
	cp "$OUT" "$WORK/p.json"
}
pj() { json_get "$WORK/p.json" "$1"; }
# nothing_left REPO: a dry run with --max-unused 0 finds nothing to do.
nothing_left() {
	prune_json "$1" --dry-run --max-unused 0
	[ "$(pj "d['packs_deleted'] + d['packs_repacked'] + d['packs_unindexed']")" -eq 0 ] ||
		fail "$2: a prune would still change packs: $(cat "$WORK/p.json")"
	[ "$(pj "d['bytes_unused_left']")" -eq 0 ] || fail "$2: unused bytes are left"
}
copy() { rm -rf "$WORK/$1"; cp -a "$R" "$WORK/$1"; }

BEFORE=$(space "$R")
listing "$R" >"$WORK/before.lst"
prune_json "$R" --dry-run --max-unused 100
PREDICTED=$(pj "d['bytes_removed']")
[ "$(pj "d['dry_run']")" = True ] || fail "the dry run does not say so"
prune_json "$R" --dry-run --max-unused 0
[ "$(pj "d['packs_repacked']")" -gt 0 ] || fail "the forgets left no partly used pack to repack: $(cat "$WORK/p.json")"
listing "$R" >"$WORK/after.lst"
cmp -s "$WORK/before.lst" "$WORK/after.lst" || fail "prune --dry-run changed the repository"
t prune --repo "$R" --max-unused 101
expect_rc 2 "--max-unused 101"

# --max-unused 100: wholly unused packs only.
copy r100
prune_json "$WORK/r100" --max-unused 100
[ "$(pj "d['packs_deleted']")" -gt 0 ] || fail "no wholly unused pack was deleted"
[ "$(pj "d['packs_repacked'] - d['packs_small_combined']")" -eq 0 ] || fail "--max-unused 100 repacked a pack for its unused bytes"
[ "$(pj "d['bytes_unused_left']")" -gt 0 ] || fail "--max-unused 100 left no unused bytes"
[ "$(pj "d['bytes_removed']")" -eq "$PREDICTED" ] || fail "the dry run predicted $PREDICTED bytes, prune freed $(pj "d['bytes_removed']")"
[ "$(space "$WORK/r100")" -eq $((BEFORE - PREDICTED)) ] || fail "the space freed is not the bytes reported"
ok check --repo "$WORK/r100" --read-data
restores_all "$WORK/r100"
# The index is merged: one object now holds what one per backup held (and
# one more indexes the packs that combined the small ones, when it did).
WANT_INDEX=$((1 + $(pj "1 if d['packs_written'] else 0")))
[ "$(find "$WORK/r100/index" -type f | wc -l)" -eq "$WANT_INDEX" ] || fail "$(find "$WORK/r100/index" -type f | wc -l) index objects after prune, want $WANT_INDEX"

# --max-unused 0: the partly used packs too.
copy r0
INDEX_BEFORE=$(find "$R/index" -type f | wc -l)
prune_json "$WORK/r0" --max-unused 0
cp "$WORK/p.json" "$WORK/r0.json"
[ "$(pj "d['packs_repacked']")" -gt 0 ] || fail "--max-unused 0 repacked nothing"
[ "$(pj "d['packs_written']")" -gt 0 ] || fail "the repack wrote no pack"
[ "$(pj "d['bytes_unused_left']")" -eq 0 ] || fail "--max-unused 0 left unused bytes"
[ "$(space "$WORK/r0")" -lt "$(space "$WORK/r100")" ] || fail "repacking saved no space"
[ "$(space "$WORK/r0")" -eq $((BEFORE - $(pj "d['bytes_removed']"))) ] || fail "the space freed is not the bytes reported"
ok check --repo "$WORK/r0" --read-data
restores_all "$WORK/r0"
nothing_left "$WORK/r0" "after prune --max-unused 0"
R0_SPACE=$(space "$WORK/r0")
info "data: $BEFORE bytes in $(packs "$R") packs; --max-unused 100: $(space "$WORK/r100") in $(packs "$WORK/r100"); 0: $R0_SPACE in $(packs "$WORK/r0")"
# A snapshot forgotten after the repack frees its packs too.
ok forget --repo "$WORK/r0" "${SNAPS[1]}"
prune_json "$WORK/r0" --max-unused 0
ok check --repo "$WORK/r0"
dump_cmp_file "$WORK/r0" "${SNAPS[3]}" "${NAMES[3]}" "$WORK/${NAMES[3]}"

# killrun.py MODE DIR N OUT ERR CMD...: installs inotify watches on REPO/DIR
# and its folders, then runs CMD and kills it (SIGKILL) at the Nth `.tmp-`
# object created there (MODE create: that object is being written) or the
# Nth object removed (MODE delete). Prints what happened; exits with CMD's
# status (137 when killed).
cat >"$WORK/killrun.py" <<'EOF'
import ctypes, os, select, signal, struct, subprocess, sys
mode, top, nth, out, err, cmd = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6:]
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(os.O_NONBLOCK)
mask = 0x100 if mode == 'create' else 0x200  # IN_CREATE / IN_DELETE
for d in [top] + [os.path.join(top, x) for x in os.listdir(top) if os.path.isdir(os.path.join(top, x))]:
    if libc.inotify_add_watch(fd, d.encode(), mask) < 0:
        print('cannot watch %s' % d); sys.exit(1)
p = subprocess.Popen(cmd, stdout=open(out, 'wb'), stderr=open(err, 'wb'))
what = None
while what is None and p.poll() is None:
    if not select.select([fd], [], [], 0.01)[0]:
        continue
    buf, i = os.read(fd, 65536), 0
    while i < len(buf):
        wd, m, cookie, ln = struct.unpack_from('iIII', buf, i)
        name = buf[i + 16:i + 16 + ln].rstrip(b'\0').decode()
        i += 16 + ln
        if name.startswith('.tmp-') == (mode == 'create'):
            nth -= 1
            if nth == 0:
                p.send_signal(signal.SIGKILL)
                what = 'killed at %s of %s' % (mode, name[:22])
                break
rc = p.wait()
print(what or 'missed: the prune ended first')
sys.exit(137 if rc == -9 else rc)
EOF

TRIAL=0
# trial MODE DIR N AGAIN: a prune --max-unused 0 of a copy, killed there.
# AGAIN: whether the next prune has to repack (no: the new packs' index was
# stored, so their copies are preferred and the old packs go whole).
trial() {
	local mode=$1 dir=$2 nth=$3 again=$4 what rc=0 d
	TRIAL=$((TRIAL + 1))
	copy crash
	d=$WORK/crash
	what=$(python3 "$WORK/killrun.py" "$mode" "$d/$dir" "$nth" "$OUT" "$ERR" \
		"$TSARC" prune --repo "$d" --max-unused 0) || rc=$?
	# Killed (137) is the point; a sanitizer report is still a failure.
	sanitizer_check "$([ "$rc" -eq 137 ] && echo 0 || echo "$rc")" "$ERR" "prune (trial $TRIAL)"
	[ "$rc" -eq 137 ] || [ "$rc" -eq 0 ] || fail "trial $TRIAL: prune exited with $rc"
	info "trial $TRIAL ($mode $dir #$nth): $what; exit $rc; $(packs "$d") packs, $(find "$d/index" -type f | wc -l) index objects"
	t check --repo "$d"
	expect_rc 0 "check after trial $TRIAL ($mode $dir #$nth)"
	restores_all "$d"
	# A killed prune's lock stays behind (a prune refuses while a live
	# lock is there: its process is gone, on this host).
	prune_json "$d" --max-unused 0
	if [ "$again" = no ]; then # (any: either)
		[ "$(pj "d['packs_repacked']")" -eq 0 ] || fail "trial $TRIAL: the next prune repacked again: $(cat "$WORK/p.json")"
	fi
	ok check --repo "$d" --read-data
	nothing_left "$d" "trial $TRIAL"
	# The same live chunks, packed the same but for how they fell into packs.
	[ "$(space "$d")" -le $((R0_SPACE + R0_SPACE / 20)) ] ||
		fail "trial $TRIAL: $(space "$d") bytes after the second prune, $R0_SPACE after an uninterrupted one"
}
trial create data 1 yes  # the first new pack is being written
trial create index 1 yes # the new packs' index object is being written
trial create index 2 no  # the merged index of the packs kept is being written
trial delete index 1 no  # the first old index object has gone
trial delete data 1 no   # the first pack has gone
trial delete data 4 no   # packs are being removed
# Then every other pack or index object the prune writes or removes
# (TSARC_TEST_PRUNE_KILL_POINTS=named: only the six above; the sanitized
# build's run, tests/CMakeLists.txt).
if [ "${TSARC_TEST_PRUNE_KILL_POINTS:-all}" = named ]; then
	finish "$TRIAL crash trials (the named points only)"
	exit 0
fi
WRITTEN=$(json_get "$WORK/r0.json" "d['packs_written']")
REMOVED=$(json_get "$WORK/r0.json" "d['packs_deleted'] + d['packs_repacked']")
info "an uninterrupted prune writes $WRITTEN packs and 2 index objects, removes $REMOVED packs and $INDEX_BEFORE index objects"
python3 - "$WRITTEN" "$REMOVED" "$INDEX_BEFORE" >"$WORK/points" <<'PY'
import sys
written, removed, index = (int(a) for a in sys.argv[1:])
done = {("create", "data", 1), ("create", "index", 1), ("create", "index", 2),
        ("delete", "index", 1), ("delete", "data", 1), ("delete", "data", 4)}
for mode, folder, n in (("create", "data", written), ("create", "index", 2),
                        ("delete", "data", removed), ("delete", "index", index)):
    for k in range(1, n + 1):
        if (mode, folder, k) not in done:
            print(mode, folder, k)
PY
while read -r mode dir nth; do trial "$mode" "$dir" "$nth" any; done <"$WORK/points"

finish "$TRIAL crash trials"
