#!/usr/bin/env bash
# Builds the tsarc container image without a registry or a container
# runtime (neither runs on the test machines):
#   1. a Debian 13 (trixie) root filesystem from Debian packages
#      (mmdebstrap, from the mirror of the host's own apt sources: trixie,
#      trixie-updates and trixie-security), with the packages of
#      ci/image/packages;
#   2. tsarc built here and put into it with `cmake --install`;
#   3. a current kubectl: $KUBECTL, or the kubectl on this host's PATH
#      (Debian's kubernetes-client is 1.20, too old for today's clusters);
#      `oc` for 3scale 2.14 DeploymentConfig rollouts is the user's to add;
#   4. a user 65532 (any UID works: the image writes only to $TMPDIR=/tmp);
#   5. an OCI image (umoci) with entrypoint tsarc, that user, OCI labels,
#      as a layout folder and an oci-archive tar for `podman load -i` or
#      `skopeo copy oci-archive:FILE docker://REGISTRY/tsarc:TAG`.
#
#   bash ci/image.sh [OUT_DIR]        # default build/image
#   TSARC_IMAGE_BUILD=BUILD_DIR bash ci/image.sh [OUT_DIR]   # that build's tsarc
# Output: OUT_DIR/rootfs (the image's filesystem, for tests), OUT_DIR/oci
# (OCI layout) and OUT_DIR/tsarc-VERSION.oci.tar. Re-runs reuse the Debian
# part of rootfs unless ci/image/packages changed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$top/build/image}" && cd "${1:-$top/build/image}" && pwd)
uid=65532

bash "$top/ci/deps.sh" --with-image

kubectl=${KUBECTL:-$(command -v kubectl || true)}
[ -n "$kubectl" ] && [ -x "$kubectl" ] ||
	{ echo "ci/image.sh: no kubectl: set KUBECTL=/path/to/kubectl (a current static build)" >&2; exit 2; }
kubectl=$(readlink -f "$kubectl")
kubectl_version=$("$kubectl" version --client -o json 2>/dev/null |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])')

# 1. The Debian part, cached by the checksum of its suite and package list.
packages=$(grep -v '^#' "$top/ci/image/packages" | grep -v '^$' | paste -sd, -)
# The image's Debian suite (the Containerfile's DEBIAN_IMAGE says the same).
suite=trixie
sum=$({ echo "$suite"; cat "$top/ci/image/packages"; } | sha256sum | cut -c1-16)
base=$out/debian-$sum
if [ ! -e "$base/.complete" ]; then
	rm -rf "$out"/debian-*
	# Debian 13: its clients serve today's servers (pg_dump 17 backs up a
	# managed PostgreSQL 16 or 17, which Debian 12's pg_dump 15 refuses),
	# from the mirror of the host's own apt sources (ci/apt-suite.sh), its
	# updates and security suites with it. The age of the suites' Release
	# files is checked as this host's own apt checks it (its
	# Acquire::Check-Valid-Until): a mirror that is a copy of a given day
	# serves Release files past their Valid-Until, which the host's apt
	# is then configured to take; their signatures are checked either way.
	sources=$(for s in "$suite" "$suite-updates" "$suite-security"; do bash "$top/ci/apt-suite.sh" "$s"; done)
	valid_until=true
	eval "$(apt-config shell valid_until Acquire::Check-Valid-Until/b)"
	mmdebstrap --mode=root --variant=essential --include="$packages" \
		--aptopt="Acquire::Check-Valid-Until \"${valid_until:-true}\"" \
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/*' \
		"$suite" "$base" "$sources"
	touch "$base/.complete"
fi
rm -rf "$out/rootfs"
cp -a "$base" "$out/rootfs"
rm -f "$out/rootfs/.complete"
root=$out/rootfs

# 2. tsarc itself: the build folder TSARC_IMAGE_BUILD where it is set (the
# image test: the build under test, whose .deb its deb test packages too;
# building it again took 46 CPU-s of the test run), else ci/build.sh (its
# generator choice) as a Release build without the tests.
build=${TSARC_IMAGE_BUILD:-}
if [ -z "$build" ]; then
	build=$out/build
	bash "$top/ci/build.sh" "$build" -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_INSTALL_PREFIX=/usr/local -DTSARC_TESTS=OFF >/dev/null
fi
[ -x "$build/tsarc" ] || { echo "ci/image.sh: no tsarc built in $build" >&2; exit 2; }
DESTDIR=$root cmake --install "$build" --prefix /usr/local >/dev/null
version=$("$root/usr/local/bin/tsarc" version --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')

# 3. kubectl.
install -m 0755 "$kubectl" "$root/usr/local/bin/kubectl"

# 4. The user: numeric, in the root group as OpenShift's arbitrary UIDs
# are, home /tmp. Nothing in the image is writable but /tmp.
echo "tsarc:x:$uid:$uid:tsarc:/tmp:/usr/sbin/nologin" >>"$root/etc/passwd"
echo "tsarc:x:$uid:" >>"$root/etc/group"
chmod 1777 "$root/tmp"

# 5. The OCI image.
rm -rf "$out/oci" "$out/bundle"
umoci init --layout "$out/oci"
umoci new --image "$out/oci:$version"
umoci unpack --image "$out/oci:$version" "$out/bundle" >/dev/null
rm -rf "$out/bundle/rootfs"
cp -a "$root" "$out/bundle/rootfs"
umoci repack --image "$out/oci:$version" "$out/bundle" >/dev/null
# tsarc's own licence has not been declared by its owners yet (no LICENSE
# file): say so in SPDX terms rather than guess. The licences of the Debian
# packages inside are their copyright files, kept in /usr/share/doc.
licenses=NOASSERTION
[ -e "$top/LICENSE" ] && licenses=$(head -1 "$top/LICENSE" | sed -n 's/^SPDX-License-Identifier: *//p')
rev=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
umoci config --image "$out/oci:$version" \
	--config.entrypoint /usr/local/bin/tsarc --config.cmd --help \
	--config.user "$uid:$uid" --config.workingdir /tmp \
	--config.env TMPDIR=/tmp --config.env HOME=/tmp \
	--config.env PATH=/usr/local/bin:/usr/bin:/bin \
	--config.label "org.opencontainers.image.title=tsarc" \
	--config.label "org.opencontainers.image.description=Backs up, restores and migrates 3scale API Management through S3" \
	--config.label "org.opencontainers.image.version=$version" \
	--config.label "org.opencontainers.image.revision=$rev" \
	--config.label "org.opencontainers.image.source=$(git -C "$top" remote get-url origin 2>/dev/null || echo local)" \
	--config.label "org.opencontainers.image.licenses=$licenses" \
	--config.label "io.tsarc.kubectl.version=$kubectl_version" \
	--tag "$version"
umoci gc --layout "$out/oci"
rm -rf "$out/bundle"
tar -C "$out/oci" -cf "$out/tsarc-$version.oci.tar" .
echo "image: $out/tsarc-$version.oci.tar (tsarc $version, kubectl $kubectl_version," \
	"$(du -sh "$root" | cut -f1) unpacked)"
