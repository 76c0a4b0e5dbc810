#!/usr/bin/env bash
# bench/index.sh [N] [SMALL]: a format-2 repository whose index holds N
# chunk entries (default 10000000, written by tsarc-gen-index as index
# objects, without packs), then small backups of SMALL bytes (default 16M)
# into it and a dump: wall time and peak RSS of each (target P5: the open
# and a backup within 48 MiB). Steps:
#   cold    cache empty: every index object read from the store, the
#           on-disk table built (sorted runs, merge)
#   warm    the cached table kept, the last backup's index object merged in
#   dump    the cached table as it is (read once to check it)
#   nocache --no-cache: the table built in $TMPDIR, removed after
# Not a test: figures depend on the machine (bench/README.md).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

N=${1:-10000000}
SMALL=${2:-16M}
bench_setup
GEN_INDEX=${TSARC_GEN_INDEX:-$BUILD_DIR/tsarc-gen-index}
[ -x "$GEN_INDEX" ] || die "no $GEN_INDEX: build the tsarc-gen-index target (tests on)"
R=$BENCH_WORK/repo
export XDG_CACHE_HOME=$BENCH_WORK/cache TMPDIR=$BENCH_WORK
"$TSARC" init --repo "$R" --format 2 -q >/dev/null
t0=$(now)
TSARC_REPOSITORY=$R "$GEN_INDEX" "$N"
t1=$(now)
printf 'index of %s entries written in %.1f s: %s objects, %s MB\n' "$N" \
	"$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
	"$(find "$R/index" -type f | wc -l)" "$(mb "$(dusb "$R/index")")"

for s in 1 2 3; do "$TSARC_GEN_DUMP" "$SMALL" --seed "$s" >"$BENCH_WORK/in$s"; done
step() {
	local label=$1 cmd=$2
	run_timed "$label" "$cmd"
	printf '| %s | %s | %s | %s | %s |\n' "$label" "$WALL" "$CPU" "$(mib "$RSS_KB")" \
		"$(mb "$(du -sb "$XDG_CACHE_HOME" 2>/dev/null | awk '{ print $1 }' || echo 0)")"
}
echo "| step | wall s | CPU s | peak RSS MiB | cache MB |"
echo "| --- | ---: | ---: | ---: | ---: |"
rm -rf "$XDG_CACHE_HOME"
step cold "$TIME_BIN -v -o \$TIMEF $TSARC backup --repo $R --stdin --name a -q <$BENCH_WORK/in1"
step warm "$TIME_BIN -v -o \$TIMEF $TSARC backup --repo $R --stdin --name b -q <$BENCH_WORK/in2"
step dump "$TIME_BIN -v -o \$TIMEF $TSARC dump --repo $R latest b | cmp - $BENCH_WORK/in2"
step nocache "$TIME_BIN -v -o \$TIMEF $TSARC backup --repo $R --no-cache --stdin --name c -q <$BENCH_WORK/in3"
leftover=$(find "$BENCH_WORK" -maxdepth 1 -name '.tmp-*' | wc -l)
[ "$leftover" -eq 0 ] || die "--no-cache left $leftover files in TMPDIR"
