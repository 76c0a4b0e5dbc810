#!/usr/bin/env bash
# Makes a root filesystem of a newer Debian suite holding PACKAGES, for the
# tests to run servers and clients Debian 12 does not have (MySQL, whose
# packages Debian 12 does not carry; PostgreSQL 17, what today's managed
# databases run), each with `chroot DIR COMMAND` on this host's loopback.
#   bash ci/debian-root.sh SUITE DIR PACKAGE...
# From the mirror of the host's own apt sources (ci/apt-suite.sh), with
# mmdebstrap (ci/deps.sh --with-image). Needs root: mmdebstrap's root mode,
# and the tests' chroot. DIR is reused when its .complete records the same
# suite and packages; otherwise it is made again.
#
# The test machines' mirror can be a copy of a given day: the Release file
# of a suite that is signed for a week at a time (sid, trixie-updates) has
# then expired, and apt refuses it. Its signature is still checked; only
# its age is not (Acquire::Check-Valid-Until false). These roots hold test
# servers, never anything the product ships.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: ci/debian-root.sh SUITE DIR PACKAGE..." >&2; exit 2; }
top=$(cd "$(dirname "$0")/.." && pwd)
suite=$1 dir=$2
shift 2
want="$suite $*"
if [ -e "$dir/.complete" ] && [ "$(cat "$dir/.complete")" = "$want" ]; then
	exit 0
fi
[ "$(id -u)" = 0 ] ||
	{ echo "ci/debian-root.sh: needs root (mmdebstrap --mode=root; the tests chroot into $dir)" >&2; exit 2; }
command -v mmdebstrap >/dev/null 2>&1 ||
	{ echo "ci/debian-root.sh: no mmdebstrap: run bash ci/deps.sh --with-image" >&2; exit 2; }
source=$(bash "$top/ci/apt-suite.sh" "$suite")
rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
log=$(mktemp)
if ! mmdebstrap --mode=root --variant=essential \
	--aptopt='Acquire::Check-Valid-Until "false"' \
	--include="$(IFS=,; echo "$*")" \
	--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
	"$suite" "$dir" "$source" >"$log" 2>&1; then
	tail -n 20 "$log" >&2
	echo "ci/debian-root.sh: mmdebstrap of $suite ($*) into $dir failed" >&2
	rm -f "$log"
	exit 1
fi
rm -f "$log"
echo "$want" >"$dir/.complete"
