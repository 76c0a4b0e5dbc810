#!/usr/bin/env bash
# Fuzzes each parser of untrusted bytes with libFuzzer (clang), for
# FUZZ_SECONDS each (default 600, the R4 target), starting from the corpus
# in tests/fuzz/corpus. Not part of the test run.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash ci/deps.sh
as_root=()
[ "$(id -u)" = 0 ] || as_root=(sudo)
dpkg-query -W clang-14 libclang-rt-14-dev >/dev/null 2>&1 ||
	{ "${as_root[@]}" apt-get update -q && "${as_root[@]}" apt-get install -y -q clang-14 libclang-rt-14-dev; }
CC=clang-14 cmake -S . -B build/fuzz -DTSARC_FUZZ=ON -DTSARC_TESTS=ON >/dev/null
cmake --build build/fuzz -j"$(nproc)" --target fuzz_manifest fuzz_codec fuzz_time
for t in manifest codec time; do
	work=$(mktemp -d)
	cp tests/fuzz/corpus/$t/* "$work/"
	echo "== fuzz_$t for ${FUZZ_SECONDS:-600} s"
	build/fuzz/tests/fuzz_$t -max_total_time="${FUZZ_SECONDS:-600}" -max_len=65536 \
		-print_final_stats=1 "$work" 2>&1 | tail -12
	rm -rf "$work"
done
