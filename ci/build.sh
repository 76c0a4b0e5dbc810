#!/usr/bin/env bash
# Configures and builds tsarc into BUILD_DIR (default build/release).
#   ci/build.sh [BUILD_DIR] [extra cmake args...]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/build/release}
shift || true
cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTSARC_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
