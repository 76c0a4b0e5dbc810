#!/usr/bin/env bash
# Prints the apt source of the Debian suite SUITE on the mirror of this
# host's own apt sources, as one line:
#   deb [signed-by=KEY] URI SUITE COMPONENTS
# The URI, components and key are those of the host's first bookworm
# source (deb822 debian.sources or one-line sources.list), so a suite the
# tests or the demo add comes from the same mirror as the host's packages,
# and no host name is written down here. Used by ci/deps.sh (bookworm-
# backports) and ci/debian-root.sh (newer suites for the tests' servers).
#   bash ci/apt-suite.sh SUITE
set -euo pipefail
[ $# = 1 ] || { echo "usage: ci/apt-suite.sh SUITE" >&2; exit 2; }
suite=$1
sources=/etc/apt/sources.list.d/debian.sources
if [ -e "$sources" ]; then
	# The first stanza whose Suites has bookworm: its first URI, its
	# components and its key.
	awk -v suite="$suite" 'BEGIN { RS = "" }
		$0 ~ /(^|\n)Suites:([^\n]* )?bookworm( |\n|$)/ && !done {
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
		{ echo "ci/apt-suite.sh: no bookworm source with URIs and Components in $sources" >&2; exit 1; }
else
	# The first "deb [OPTIONS] URI bookworm COMPONENTS" line, for SUITE.
	awk -v suite="$suite" '$1 == "deb" && !done {
			for (i = 2; i <= NF; i++) if ($i == "bookworm") { $i = suite; print; done = 1; break } }
		END { exit !done }' /etc/apt/sources.list ||
		{ echo "ci/apt-suite.sh: no bookworm line in /etc/apt/sources.list" >&2; exit 1; }
fi
