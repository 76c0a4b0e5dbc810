#!/usr/bin/env bash
# The Debian package (CPack): built from this build folder, its control
# fields (name, version, the shared libraries dpkg-shlibdeps found, the
# clients as recommendations), its files below /usr, apt accepting it on
# this Debian (a simulated install: every dependency resolvable), and the
# tsarc inside it running.
# shellcheck disable=SC1091
. "$(dirname "$0")/../cli/lib.sh"
BUILD=${TSARC_BUILD_DIR:?set TSARC_BUILD_DIR (the build folder with CPackConfig.cmake)}
version=$("$TSARC" version --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')

info "cpack -G DEB"
(cd "$WORK" && cpack --config "$BUILD/CPackConfig.cmake" -B "$WORK/pkg") >"$WORK/cpack.log" 2>&1 ||
	{ cat "$WORK/cpack.log" >&2; fail "cpack failed"; }
deb=$(ls "$WORK"/pkg/tsarc_*.deb 2>/dev/null)
[ -n "$deb" ] && [ "$(echo "$deb" | wc -l)" = 1 ] || fail "expected one tsarc_*.deb, got: $deb"

info "control fields"
[ "$(dpkg-deb -f "$deb" Package)" = tsarc ] || fail "Package is not tsarc"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "Version is not $version"
[ "$(dpkg-deb -f "$deb" Architecture)" = "$(dpkg --print-architecture)" ] || fail "wrong Architecture"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libcurl4 libssl3 libzstd1 zlib1g libcjson1 libexpat1 libarchive13; do
	echo "$depends" | grep -q "\b$lib\b" || fail "Depends lacks $lib: $depends"
done
dpkg-deb -f "$deb" Recommends | grep -q postgresql-client || fail "the clients are not recommended"

info "files"
dpkg-deb -c "$deb" | awk '{print $6}' >"$WORK/files"
grep -qx './usr/bin/tsarc' "$WORK/files" || fail "no /usr/bin/tsarc in the package"
grep -v '^\./usr/' "$WORK/files" | grep -v '^\./$' && fail "files outside /usr in the package"

info "apt accepts it (simulated install) and the tsarc inside runs"
apt-get install -s -q "$deb" >"$WORK/apt.log" 2>&1 || { cat "$WORK/apt.log" >&2; fail "apt-get would not install the package"; }
grep -q '^Inst tsarc ' "$WORK/apt.log" || { cat "$WORK/apt.log" >&2; fail "apt-get did not plan to install tsarc"; }
dpkg-deb -x "$deb" "$WORK/x"
"$WORK/x/usr/bin/tsarc" version | grep -q "^tsarc $version " || fail "the packaged tsarc does not run"
info "OK"
