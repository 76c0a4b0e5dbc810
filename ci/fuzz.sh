#!/usr/bin/env bash
# Fuzzes each consumer of untrusted bytes with libFuzzer (clang), for
# FUZZ_SECONDS each (default 600, the R4 target), starting from the corpus
# in tests/fuzz/corpus (tests/s3/xml-corpus for the S3 responses,
# tests/s3/creds-corpus for the credential answers). Not part
# of the test run.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash ci/deps.sh
as_root=()
[ "$(id -u)" = 0 ] || as_root=(sudo)
dpkg-query -W clang-14 libclang-rt-14-dev >/dev/null 2>&1 ||
	{ "${as_root[@]}" apt-get update -q && "${as_root[@]}" apt-get install -y -q clang-14 libclang-rt-14-dev; }
CC=clang-14 cmake -S . -B build/fuzz -DTSARC_FUZZ=ON -DTSARC_TESTS=ON >/dev/null
targets="manifest codec time config tar meta pack index mysqlstrip s3_xml s3_creds s3sys_stream s3sys_convert tar_intake
	psqlguard psqlsection psqlhead psqlowner mysqlguard key redis_stream rdbcheck redis_payload resources lock repo_config"
cmake --build build/fuzz -j"$(nproc)" --target $(printf 'fuzz_%s ' $targets)
for t in $targets; do
	# libFuzzer adds what it finds to the folder: work on a copy.
	work=$(mktemp -d)
	if [ "$t" = s3_xml ]; then
		cp tests/s3/xml-corpus/* "$work/"
	elif [ "$t" = s3_creds ]; then
		cp tests/s3/creds-corpus/* "$work/"
	else
		cp tests/fuzz/corpus/$t/* "$work/"
	fi
	# fuzz_tar makes and deletes a tree per input (in TMPDIR): several
	# times more inputs a second on tmpfs than on a disk.
	tmp=${TMPDIR:-/tmp}
	[ "$t" = tar ] && [ -d /dev/shm ] && [ -w /dev/shm ] && tmp=/dev/shm
	echo "== fuzz_$t for ${FUZZ_SECONDS:-600} s"
	TMPDIR=$tmp build/fuzz/tests/fuzz_$t -max_total_time="${FUZZ_SECONDS:-600}" -max_len=65536 \
		-print_final_stats=1 "$work" 2>&1 | tail -12
	rm -rf "$work"
done
