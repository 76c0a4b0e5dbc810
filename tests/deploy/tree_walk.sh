#!/usr/bin/env bash
# The backup's walk of a file tree on this host (backends/components/files.c),
# no database needed:
# - a component whose path is a symlink to the folder (a volume mounted
#   elsewhere and linked into place) is backed up as `tar -C PATH .` would:
#   the folder's entries, not the link alone; its restore puts them back;
# - a folder of the live tree swapped for a symlink to a folder outside it
#   just as the walk reaches it (strace holds the walk's open of the folder
#   while the test swaps it) is named and left out: nothing from outside the
#   tree reaches the snapshot (a pod writing the volume must not get a host
#   folder into the backup, and through its restore into the volume);
# - ACLs are read through the descriptor the walk opened, never by the
#   entry's path: a folder's default ACL too, which libarchive reads by
#   path (a folder swapped for a symlink meanwhile would give another
#   folder's ACL). Shown without a race: a folder whose whole path is longer
#   than PATH_MAX, where a read by path fails, keeps its default ACL.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

REPO=$WORK/repo
init_repo "$REPO"

# members TAR: the archive's entry names, one a line, sorted
members() { python3 -c 'import sys, tarfile; print("\n".join(sorted(m.name for m in tarfile.open(sys.argv[1]))))' "$1"; }

info "a component whose path is a symlink to its folder"
REAL=$WORK/volume/storage
mkdir -p "$REAL/sub"
echo "one" >"$REAL/a.txt"
echo "two" >"$REAL/sub/b.txt"
ln -s "$REAL" "$WORK/storage"
tree_config "$WORK/link.json" "$WORK/storage"
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

info "ACLs come from the descriptor, a default ACL of a folder too"
# Written as the kernel keeps them (system.posix_acl_*), no setfacl needed:
# a default ACL on a folder at the top and on one 22 folders of 202 bytes
# down (its path longer than PATH_MAX), an access ACL on a file beside it.
ACLS=$WORK/acls
mkdir -p "$ACLS"
if python3 - "$ACLS" <<'PY'
import os, struct, sys
def acl(*extra):
    ents = [(0x01, 7, 0xffffffff), *extra, (0x04, 5, 0xffffffff), (0x10, 5, 0xffffffff),
            (0x20, 5, 0xffffffff)]
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in ents)
dflt, access = acl((0x02, 5, 65534)), acl((0x02, 4, 65534))
top = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
try:
    os.mkdir("shallow", dir_fd=top)
    os.setxattr("%s/shallow" % sys.argv[1], "system.posix_acl_default", dflt)
except OSError:
    sys.exit(3)  # no ACLs on this filesystem
fd = top
for i in range(22):
    name = "%02d" % i + "x" * 200
    os.mkdir(name, dir_fd=fd)
    fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
os.mkdir("deep", dir_fd=fd)
deep = os.open("deep", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
os.setxattr("/proc/self/fd/%d" % deep, "system.posix_acl_default", dflt)
f = os.open("file.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=deep)
os.write(f, b"deep\n")
os.setxattr("/proc/self/fd/%d" % f, "system.posix_acl_access", access)
PY
then
	tree_config "$WORK/acls.json" "$ACLS"
	ok backup --repo "$REPO" --config "$WORK/acls.json"
	ok dump latest st.tar --repo "$REPO"
	python3 - "$OUT" <<'PY' || fail "ACLs lost or not the folders' own"
import sys, tarfile
acl = {m.name.rsplit("/", 1)[-1]: m.pax_headers for m in tarfile.open(sys.argv[1])}
shallow = acl["shallow"].get("SCHILY.acl.default", "")
assert "65534" in shallow and "mask::r-x" in shallow, ("the top folder", shallow)
deep = acl["deep"].get("SCHILY.acl.default")
assert deep == shallow, ("the default ACL of a folder whose path is longer than PATH_MAX", deep)
access = acl["file.txt"].get("SCHILY.acl.access", "")
assert "r--:65534" in access, ("the access ACL of the file beside it", access)
PY
else
	[ $? -eq 3 ] || fail "making the ACL tree"
	info "SKIP ACLs: the filesystem of $WORK keeps none"
fi

info "extended attributes: a stream GNU tar reads without a warning, and keeps"
XA=$WORK/xattrs
mkdir -p "$XA" "$WORK/xattrs.out"
echo "attributed" >"$XA/f.txt"
if python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.color", b"blue")' "$XA/f.txt" 2>/dev/null; then
	tree_config "$WORK/xattrs.json" "$XA"
	ok backup --repo "$REPO" --config "$WORK/xattrs.json"
	ok dump latest st.tar --repo "$REPO"
	tar -tvf "$OUT" >/dev/null 2>"$WORK/tar.err" || fail "tar -t of the stream: $(cat "$WORK/tar.err")"
	[ ! -s "$WORK/tar.err" ] || fail "GNU tar warns reading the stream: $(head -3 "$WORK/tar.err")"
	tar --xattrs --xattrs-include='user.*' -xf "$OUT" -C "$WORK/xattrs.out" 2>"$WORK/tar.err" ||
		fail "tar -x of the stream: $(cat "$WORK/tar.err")"
	[ ! -s "$WORK/tar.err" ] || fail "GNU tar warns extracting the stream: $(head -3 "$WORK/tar.err")"
	[ "$(python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.color").decode())' \
		"$WORK/xattrs.out/f.txt")" = blue ] || fail "GNU tar did not get the attribute back"
else
	info "SKIP extended attributes: the filesystem of $WORK keeps no user attributes"
fi

if command -v strace >/dev/null 2>&1 && strace -f -o /dev/null true 2>/dev/null; then
	info "a folder swapped for a symlink to outside the tree while the walk reaches it"
	LIVE=$WORK/live
	mkdir -p "$LIVE/swapped" "$WORK/outside"
	echo "inside" >"$LIVE/swapped/in.txt"
	echo "outside-the-tree" >"$WORK/outside/secret.txt"
	tree_config "$WORK/live.json" "$LIVE"
	# The walk's first open of the folder, by its whole path or by its name
	# beside its parent's descriptor, is held 5 s before the kernel sees it;
	# strace has written the call's start to its log by then.
	# (LeakSanitizer cannot work under ptrace.)
	RC=0
	ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" \
		strace -f -qq -o "$WORK/strace.log" -P "$LIVE/swapped" -P swapped -e trace=openat \
		-e inject=openat:delay_enter=5000000:when=1 \
		"$TSARC" backup --repo "$REPO" --config "$WORK/live.json" >"$OUT" 2>"$ERR" &
	PID=$!
	for _ in $(seq 200); do
		grep -q 'swapped' "$WORK/strace.log" 2>/dev/null && break
		sleep 0.1
	done
	grep -q 'swapped' "$WORK/strace.log" || fail "the walk did not open the folder within 20 s"
	mv "$LIVE/swapped" "$WORK/swapped.moved"
	ln -s "$WORK/outside" "$LIVE/swapped"
	wait "$PID" || RC=$?
	sanitizer_check "$RC" "$ERR" "tsarc backup (under strace)"
	expect_rc 0 "the backup of a tree whose folder was swapped for a symlink"
	cp "$ERR" "$WORK/backup.err"
	ok dump latest st.tar --repo "$REPO"
	members "$OUT" >"$WORK/live.list"
	! grep -q 'secret' "$WORK/live.list" ||
		fail "a file from outside the tree was backed up through the swapped folder: $(tr '\n' ' ' <"$WORK/live.list")"
	python3 - "$OUT" <<'PY' || fail "the snapshot holds bytes of a file outside the tree"
import sys, tarfile
for m in tarfile.open(sys.argv[1]):
    if m.isfile():
        assert b"outside-the-tree" not in tarfile.open(sys.argv[1]).extractfile(m.name).read(), m.name
PY
	grep -q "$LIVE/swapped" "$WORK/backup.err" || fail "the swapped folder is not named on stderr"
else
	# As cli_trust: where strace is missing or may not trace (ci/deps.sh installs it).
	info "SKIP the swapped folder: strace is not installed or cannot trace here"
fi

finish
