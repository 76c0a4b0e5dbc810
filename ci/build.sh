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
cmake -S "$top" -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTSARC_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
