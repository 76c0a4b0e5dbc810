#!/usr/bin/env bash
# A replay that aborts once in many runs must say why and on what
# (standalone.c): fuzz_tar_intake given scratch space it cannot make
# (TMPDIR a missing folder) refuses with EIO, which the target takes for a
# finding. The replay must name the error and the input, and save the
# input as crash-fuzz_tar_intake, which then replays alone: aborting again
# without scratch space, clean with it.
set -u
FUZZ=${FUZZ:?the fuzz_tar_intake binary}
INPUT=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/tsarc-replay.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

cd "$work" || exit 1
TMPDIR=$work/missing "$FUZZ" "$INPUT" >out 2>err
rc=$?
cat err >&2
[ "$rc" = 134 ] || fail "exit status $rc, not SIGABRT"
grep -qF "cannot make scratch space in TMPDIR" err || fail "the error is not named"
grep -qF "fuzz replay: aborted on $INPUT; the input is saved as crash-fuzz_tar_intake" err ||
	fail "the input is not named"
cmp -s crash-fuzz_tar_intake "$INPUT" || fail "the saved input is not the one that ran"
TMPDIR=$work/missing "$FUZZ" crash-fuzz_tar_intake >/dev/null 2>&1
[ $? = 134 ] || fail "the saved input does not abort again alone"
mv crash-fuzz_tar_intake saved
TMPDIR=$work "$FUZZ" saved >/dev/null 2>err || fail "the saved input fails with scratch space"
[ ! -e crash-fuzz_tar_intake ] || fail "a clean replay saved an input"
echo "ok"
