#!/usr/bin/env bash
# Prints the apt source of the Debian suite SUITE on the mirror of this
# host's own apt sources, as one line:
#   deb [signed-by=KEY] URI SUITE COMPONENTS
# The URI, components and key are those of the host's first bookworm
# source (deb822 debian.sources or one-line sources.list), so a suite the
# tests or the demo add comes from the same mirror as the host's packages,
# and no host name is written down here; a security suite (trixie-security)
# those of the host's bookworm-security source, the security archive being
# another tree. Used by ci/deps.sh (bookworm-backports), ci/debian-root.sh
# (newer suites for the tests' servers) and ci/image.sh (the image's suites).
#   bash ci/apt-suite.sh SUITE
set -euo pipefail
[ $# = 1 ] || { echo "usage: ci/apt-suite.sh SUITE" >&2; exit 2; }
suite=$1
host=bookworm
case $suite in *-security) host=bookworm-security ;; esac
sources=/etc/apt/sources.list.d/debian.sources
if [ -e "$sources" ]; then
	# The first stanza whose Suites has $host: its first URI, its
	# components and its key.
	awk -v suite="$suite" -v host="$host" 'BEGIN { RS = "" }
		$0 ~ "(^|\n)Suites:([^\n]* )?" host "( |\n|$)" && !done {
			n = split($0, line, "\n"); uri = comps = key = ""
			for (i = 1; i <= n; i++) {
				if (line[i] ~ /^#/) continue
				if (sub(/^URIs:[ \t]*/, "", line[i])) { split(line[i], u, " "); uri = u[1] }
				if (sub(/^Components:[ \t]*/, "", line[i])) comps = line[i]
				if (sub(/^Signed-By:[ \t]*/, "", line[i])) key = line[i]
			}
			if (uri == "" || comps == "") next
			opts = key != "" ? "[signed-by=" key "] " : ""
			print "deb " opts uri " " suite " " comps
			done = 1
		}
		END { exit !done }' "$sources" ||
		{ echo "ci/apt-suite.sh: no $host source with URIs and Components in $sources" >&2; exit 1; }
else
	# The first "deb [OPTIONS] URI $host COMPONENTS" line, for SUITE.
	awk -v suite="$suite" -v host="$host" '$1 == "deb" && !done {
			for (i = 2; i <= NF; i++) if ($i == host) { $i = suite; print; done = 1; break } }
		END { exit !done }' /etc/apt/sources.list ||
		{ echo "ci/apt-suite.sh: no $host line in /etc/apt/sources.list" >&2; exit 1; }
fi
