#!/usr/bin/env bash
# Chunker size sweep: for each average size (min = avg/4, max = avg*4)
# measures, on one deterministic dump-like stream, local disk:
#   first-backup throughput and peak RSS, chunk count, stored size,
#   dump throughput, new bytes after --mutate 1 (1 MiB INSERT lines, like
#   mysqldump's default), and new bytes after --mutate 1 on a stream of
#   64 KiB lines (--line-bytes 64K: more, smaller edits; pessimistic).
#
#   bench/chunk_sizes.sh [SIZE]     (default 1G)
#
# Environment: see bench/lib.sh; CHUNK_AVGS="262144 524288 1048576 2097152".
# Not part of ctest.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

case "${1:-}" in -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2;; esac
SIZE=${1:-1G}
AVGS=${CHUNK_AVGS:-262144 524288 1048576 2097152}
bench_setup
n=$(size_bytes "$SIZE")

b1=$BENCH_WORK/base-1m.sql m1=$BENCH_WORK/mut-1m.sql
b64=$BENCH_WORK/base-64k.sql m64=$BENCH_WORK/mut-64k.sql
echo "generating four $SIZE streams in $BENCH_WORK ..." >&2
"$TSARC_GEN_DUMP" "$SIZE" >"$b1"
"$TSARC_GEN_DUMP" "$SIZE" --mutate 1 >"$m1"
"$TSARC_GEN_DUMP" "$SIZE" --line-bytes 64K >"$b64"
"$TSARC_GEN_DUMP" "$SIZE" --line-bytes 64K --mutate 1 >"$m64"

kib() { echo "$(($1 / 1024)) KiB"; }
backup() { # label repo file
	warm "$3"
	run_timed "$1" "cat '$3' | '$TIME_BIN' -v -o '$BENCH_WORK/time.$1' '$TSARC' backup --repo '$2' --stdin --name dump.sql --json -q"
}

echo "## Chunk size sweep: $SIZE stream ($n bytes), zstd -3, local disk"
echo
echo "| min / avg / max | first backup MB/s | peak RSS MiB | chunks | avg stored object KiB | stored MB | dump MB/s | new after 1% (1 MiB lines) | new after 1% (64 KiB lines) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for avg in $AVGS; do
	min=$((avg / 4)) max=$((avg * 4))
	repo=$BENCH_WORK/repo-$avg
	"$TSARC" init --repo "$repo" -q --chunk-min "$min" --chunk-avg "$avg" --chunk-max "$max"
	backup "b1-$avg" "$repo" "$b1"
	w1=$WALL r1=$RSS_KB o=$BENCH_WORK/out.b1-$avg
	chunks=$(jnum "$o" chunks) stored=$(jnum "$o" stored_bytes) nch=$(jnum "$o" new_chunks)
	run_timed "d-$avg" "'$TIME_BIN' -v -o '$BENCH_WORK/time.d-$avg' '$TSARC' dump --repo '$repo' latest dump.sql | cat >/dev/null"
	wd=$WALL
	backup "m1-$avg" "$repo" "$m1"
	new1=$(jnum "$BENCH_WORK/out.m1-$avg" new_bytes)
	backup "b64-$avg" "$repo" "$b64"
	backup "m64-$avg" "$repo" "$m64"
	new64=$(jnum "$BENCH_WORK/out.m64-$avg" new_bytes)
	printf '| %s / %s / %s | %s | %s | %s | %s | %s | %s | %s MB (%s%%) | %s MB (%s%%) |\n' \
		"$(kib $min)" "$(kib $avg)" "$(kib $max)" "$(mbps "$n" "$w1")" "$(mib "$r1")" \
		"$chunks" "$((stored / (nch > 0 ? nch : 1) / 1024))" "$(mb "$stored")" "$(mbps "$n" "$wd")" \
		"$(mb "$new1")" "$(pct "$new1" "$n")" "$(mb "$new64")" "$(pct "$new64" "$n")"
	rm -rf "$repo"
done
echo
echo "new = uncompressed bytes of chunks not already in the repository, as % of the stream."
