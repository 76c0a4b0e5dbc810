#!/usr/bin/env bash
# bench/check.sh [SIZE] [COUNT]: peak RSS and time of `check` and `check
# --read-data` on a real format-2 folder repository of small chunks (512 B
# to 4 KiB, 1 KiB average: about 1.1 million chunks for the defaults, 24
# backups of 50M): COUNT backups of SIZE bytes of tsarc-gen-dump (seeds 1
# to COUNT) and one more of seed 1 (a snapshot that needs the same chunks
# as the first). Snapshots of some 43 k chunks each: loading one parses
# its manifest whole (about 500 bytes a chunk while it does), which would
# be the peak with a few large ones, whatever check holds itself. Real
# packs, so that every table of contents opens and --read-data reads and
# authenticates every chunk (the sparse packs of tsarc-gen-index would
# not). CHECK_OLD=path: the same with another tsarc binary (the one before,
# for the comparison) first; the JSON reports must then be the same.
# TSARC_WRITE=path: the repository written by another binary (one whose
# manifests both binaries read: the older one).
# Not a test: figures depend on the machine (bench/README.md).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SIZE=${1:-50M}
COUNT=${2:-24}
bench_setup
export TMPDIR=$BENCH_WORK XDG_CACHE_HOME=$BENCH_WORK/cache
r=$BENCH_WORK/repo
W=${TSARC_WRITE:-$TSARC}
"$W" init --repo "$r" --format 2 --chunk-min 512 --chunk-avg 1024 --chunk-max 4096 -q \
	>/dev/null
t0=$(now)
for seed in $(seq 1 "$COUNT") 1; do
	"$TSARC_GEN_DUMP" "$SIZE" --seed "$seed" |
		"$W" backup --repo "$r" --stdin --name "s$seed" -q >/dev/null
done
t1=$(now)
"$TSARC" check --repo "$r" --json >"$BENCH_WORK/first.json"
printf 'repository: %s chunks stored, %s packs, written in %.1f s\n\n' \
	"$(jq -r .chunks_stored "$BENCH_WORK/first.json")" "$(jq -r .packs "$BENCH_WORK/first.json")" \
	"$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"

echo "| binary: step | wall s | CPU s | peak RSS MiB | chunks read |"
echo "| --- | ---: | ---: | ---: | ---: |"
# one LABEL BINARY STEP ARGS
one() {
	local id="$1-$3"
	run_timed "$id" "'$TIME_BIN' -v -o '$BENCH_WORK/time.$id' '$2' check --repo '$r' $4 --json"
	printf '| %s: %s | %s | %s | %s | %s |\n' "$1" "$3" "$WALL" "$CPU" "$(mib "$RSS_KB")" \
		"$(jq -r .chunks_read "$BENCH_WORK/out.$id")"
}
for b in ${CHECK_OLD:+old} new; do
	bin=$TSARC
	[ "$b" = old ] && bin=$CHECK_OLD
	one "$b" "$bin" check ""
	one "$b" "$bin" read-data --read-data
done
if [ -n "${CHECK_OLD:-}" ]; then
	for s in check read-data; do
		cmp "$BENCH_WORK/out.old-$s" "$BENCH_WORK/out.new-$s" >/dev/null &&
			echo "$s: the two reports are the same, byte for byte" ||
			{ echo "$s: the reports differ:"; diff "$BENCH_WORK/out.old-$s" \
				"$BENCH_WORK/out.new-$s" || true; }
	done
fi
