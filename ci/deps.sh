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
with_s3=0 with_image=0
for arg in "$@"; do
	case $arg in
	--with-s3) with_s3=1 ;;
	--with-image) with_image=1 ;;
	*) echo "ci/deps.sh: unknown option $arg (--with-s3, --with-image)" >&2; exit 2 ;;
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

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	as_root=()
	[ "$(id -u)" = 0 ] || as_root=(sudo)
	echo "ci/deps.sh: installing ${missing[*]}" >&2
	"${as_root[@]}" apt-get update -q
	DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -q \
		--no-install-recommends "${missing[@]}"
fi
