#!/usr/bin/env bash
# Configures and builds tsarc into BUILD_DIR (default build/release).
#   ci/build.sh [BUILD_DIR] [extra cmake args...]   (given after the defaults: they win)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/build/release}
shift || true
# Ninja where it is installed (ci/deps.sh installs it): under make, CMake's
# generated Makefiles start cmake itself for every object's progress line
# and dependency scan, a third of a build's CPU here. A folder configured
# before keeps its generator (CMake refuses to change it).
generator=()
[ ! -e "$dir/CMakeCache.txt" ] && command -v ninja >/dev/null && generator=(-G Ninja)
# gold where binutils has it: each of the hundred test programs links the
# library with its debug information, and gold does it with a third of BFD
# ld's CPU (20 links of the sanitized build: 3.4 s against 10.2 s; the
# whole sanitized build with its tests: 195 CPU-s against 230). ci/test.sh
# builds twice on two cores.
linker=()
command -v ld.gold >/dev/null &&
	linker=(-DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=gold -DCMAKE_SHARED_LINKER_FLAGS=-fuse-ld=gold)
cmake -S "$top" -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTSARC_WERROR=ON \
	"${linker[@]}" "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
