#!/usr/bin/env bash
# `cmake --install` into a temporary prefix installs the binary, the public
# headers, a static and a shared library and tsarc.pc; a program compiled
# against that prefix through pkg-config alone (tests/install/use_api.c),
# once linked to the shared library and once to the static one, backs a
# stream up, lists it and dumps it byte-identical, and the installed tsarc
# binary reads the same repository.
#   TSARC_BUILD_DIR  the build tree to install
#   CC               the compiler; TSARC_TEST_CFLAGS: extra flags (sanitizers)
set -euo pipefail
: "${TSARC_BUILD_DIR:?}" "${CC:?}"
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tsarc-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL [install]: $*" >&2; exit 1; }
unset TSARC_REPOSITORY TSARC_PASSWORD TSARC_PASSWORD_FILE
read -r -a extra <<<"${TSARC_TEST_CFLAGS:-}"

prefix=$work/prefix
cmake --install "$TSARC_BUILD_DIR" --prefix "$prefix" >"$work/install.log" 2>&1 ||
	{ cat "$work/install.log" >&2; fail "cmake --install failed"; }
pc=$(find "$prefix" -name tsarc.pc)
[ -n "$pc" ] || fail "no tsarc.pc installed"
libdir=$(dirname "$(dirname "$pc")")
for f in "$prefix/bin/tsarc" "$prefix/include/tsarc/tsarc.h" "$prefix/include/tsarc/sys/store.h" \
	"$libdir/libtsarc.a" "$libdir/libtsarc.so"; do
	[ -e "$f" ] || fail "$f was not installed"
done
# Nothing but the public headers: src/ is not installed.
[ -z "$(find "$prefix/include" -name '*.h' ! -path '*/include/tsarc/*')" ] ||
	fail "headers outside include/tsarc were installed"
# The shared library is position-independent code (no text relocations).
dynamic=$(readelf -d "$libdir/libtsarc.so")
if grep -q TEXTREL <<<"$dynamic"; then
	fail "libtsarc.so has text relocations"
fi

export PKG_CONFIG_PATH=$libdir/pkgconfig
read -r -a cflags <<<"$(pkg-config --cflags tsarc)"
read -r -a libs <<<"$(pkg-config --libs tsarc)"
# Linking the static library needs its dependencies, as tsarc.pc lists them
# (shared ones: a system need not have static builds of curl and the rest).
# shellcheck disable=SC2046 # one word per package
read -r -a slibs <<<"$(pkg-config --libs $(pkg-config --print-requires-private tsarc)) -pthread"
"$CC" -std=c11 -Wall -Wextra -Werror -pedantic -D_POSIX_C_SOURCE=200809L "${extra[@]}" \
	"${cflags[@]}" "$here/use_api.c" -o "$work/use_api" "${libs[@]}" ||
	fail "use_api.c does not build against the shared library"
# The static one: libtsarc.a named first, its dependencies from pkg-config.
"$CC" -std=c11 -Wall -Wextra -Werror -pedantic -D_POSIX_C_SOURCE=200809L "${extra[@]}" \
	"${cflags[@]}" "$here/use_api.c" -o "$work/use_api_static" "$libdir/libtsarc.a" \
	"${slibs[@]}" || fail "use_api.c does not build against the static library"
# ldd's output is taken whole before it is searched: `ldd | grep -q` under
# pipefail fails whenever grep, done at the first match, closes the pipe
# while ldd still writes (SIGPIPE), which made this check fail now and then.
linked=$(LD_LIBRARY_PATH=$libdir ldd "$work/use_api")
grep -q "$libdir/libtsarc.so" <<<"$linked" ||
	fail "use_api is not linked to the installed libtsarc.so: $linked"
linked=$(ldd "$work/use_api_static")
! grep -q libtsarc <<<"$linked" ||
	fail "use_api_static is linked to a shared libtsarc: $linked"

head -c 3000000 /dev/urandom >"$work/in"
seq 1 200000 >>"$work/in"
export USE_API_PASSWORD="install-test-Pw9"
for prog in use_api use_api_static; do
	LD_LIBRARY_PATH=$libdir "$work/$prog" "$work/repo-$prog" "$work/in" "$work/out-$prog" \
		>"$work/$prog.out" || fail "$prog failed"
	cmp "$work/in" "$work/out-$prog" || fail "$prog: the dump differs from the input"
	read -r word id stream size <"$work/$prog.out"
	[ "$word $stream $size" = "snapshot data.bin $(stat -c %s "$work/in")" ] ||
		fail "$prog printed '$(cat "$work/$prog.out")'"
	# The installed binary reads what the library wrote.
	TSARC_PASSWORD=$USE_API_PASSWORD "$prefix/bin/tsarc" dump --repo "$work/repo-$prog" \
		"$id" data.bin | cmp - "$work/in" || fail "tsarc dump of $prog's snapshot differs"
done
echo "install: OK"
