#!/usr/bin/env bash
# Installs what tsarc needs to build, test and demo on Debian 12.
# Skips apt-get when every package is already there (fast re-runs).
set -euo pipefail

packages=(
	build-essential cmake ninja-build pkg-config ca-certificates
	libcurl4-openssl-dev libssl-dev zlib1g-dev libzstd-dev libcjson-dev
	libexpat1-dev libarchive-dev libcmocka-dev
	python3 python3-botocore time
	# sleep as a bash builtin for the tests' polling loops.
	bash-builtins
	# tests/cli/trust.sh traces the fsync-before-rename order of chunk objects.
	strace
	# The deployment demo and tests (issue 4): real servers and their tools.
	mariadb-server mariadb-client postgresql redis-server rsync tar
	# tests/kubernetes: the rendered manifests are read with PyYAML.
	python3-yaml
	# tests/redis and the 2.16 demo: a real Sentinel in front of Redis; the
	# private CAs of the TLS servers (ci/services.sh).
	redis-sentinel openssl
	# tests/metrics: a real Pushgateway, promtool (in Debian's prometheus
	# package) for the alert rules, and the Prometheus text parser.
	prometheus-pushgateway prometheus python3-prometheus-client
)
# `kubectl kustomize` renders deploy/kubernetes in the tests: Debian's
# kubectl (1.20, kustomize 2.0.3) unless a newer one is on the PATH; the
# manifests are written for both.
command -v kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)
with_s3=0 with_image=0 with_valkey=0
for arg in "$@"; do
	case $arg in
	--with-s3) with_s3=1 ;;
	--with-image) with_image=1 ;;
	--with-valkey) with_valkey=1 ;;
	*) echo "ci/deps.sh: unknown option $arg (--with-s3, --with-image, --with-valkey)" >&2; exit 2 ;;
	esac
done
if [ "$with_s3" = 1 ]; then
	# A real S3 for the tests: a single-node Ceph with RADOS Gateway.
	# openssl makes the test certificate for the TLS tests.
	packages+=(ceph-mon ceph-osd radosgw ceph-common uuid-runtime openssl)
fi

if [ "$with_image" = 1 ]; then
	# ci/image.sh: a root filesystem from Debian packages, an OCI image.
	packages+=(mmdebstrap umoci)
fi

# --with-valkey (ci/test.sh), for tests/redis/valkey.sh: a Valkey 8 server
# (the engine of today's managed Redis) next to redis-server 7.0. Debian 12
# has it in bookworm-backports only; nothing else is taken from there, and
# the demo and a build do not add that suite.
backports=()
[ "$with_valkey" = 1 ] && backports=(valkey-server valkey-tools)

installed() { # PACKAGE
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}
missing=() missing_backports=()
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
for p in "${backports[@]}"; do installed "$p" || missing_backports+=("$p"); done
as_root=()
[ "$(id -u)" = 0 ] || as_root=(sudo)

# The suite bookworm-backports from the mirror of the host's own apt sources
# (ci/apt-suite.sh), written once to tsarc-backports.list. apt takes a
# backport only when a package asks for it by suite
# (PACKAGE/bookworm-backports): nothing else moves to it, not even what
# those packages depend on. A tsarc-backports.sources of an older
# ci/deps.sh is kept.
add_backports() {
	local dir=/etc/apt/sources.list.d tmp
	[ -e "$dir/tsarc-backports.sources" ] || [ -e "$dir/tsarc-backports.list" ] && return 0
	grep -rqs 'bookworm-backports' /etc/apt/sources.list "$dir" && return 0
	tmp=$(mktemp)
	bash "$(dirname "$0")/apt-suite.sh" bookworm-backports > "$tmp"
	"${as_root[@]}" install -m 644 "$tmp" "$dir/tsarc-backports.list"
	rm -f "$tmp"
}

if [ ${#missing_backports[@]} -gt 0 ]; then
	add_backports
fi
if [ ${#missing[@]} -gt 0 ] || [ ${#missing_backports[@]} -gt 0 ]; then
	echo "ci/deps.sh: installing ${missing[*]} ${missing_backports[*]}" >&2
	"${as_root[@]}" apt-get update -q
fi
if [ ${#missing[@]} -gt 0 ]; then
	DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -q \
		--no-install-recommends "${missing[@]}"
fi
if [ ${#missing_backports[@]} -gt 0 ]; then
	DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -q \
		--no-install-recommends "${missing_backports[@]/%//bookworm-backports}"
fi
