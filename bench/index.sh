#!/usr/bin/env bash
# bench/index.sh [N] [SMALL]: a format-2 repository whose index holds N
# chunk entries (default 10000000, written by tsarc-gen-index as index
# objects, without packs), then small backups of SMALL bytes (default 16M)
# into it and a dump: wall time, CPU and peak RSS of each (target P5: the
# open and a backup within 48 MiB). The same steps run first on a
# repository with no synthetic entries: the difference is the index's.
#   cold    cache empty: every index object read from the store, the
#           on-disk table built (sorted runs, merge)
#   warm    the cached table kept, the last backup's index object merged in
#   dump    the cached table as it is (read once to check it)
#   nocache --no-cache: the table built in $TMPDIR, removed after
# INDEX_PACKS=1: the generator also writes a sparse file for each pack (and
# 100 snapshots that need them, as bench/prune.sh), so that the backups
# also list the repository's 156 k packs at 10 M chunks, as a real one's do.
# Not a test: figures depend on the machine (bench/README.md).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

N=${1:-10000000}
SMALL=${2:-16M}
bench_setup
GEN_INDEX=${TSARC_GEN_INDEX:-$BUILD_DIR/tests/tsarc-gen-index}
[ -x "$GEN_INDEX" ] || die "no $GEN_INDEX: build the tsarc-gen-index target (tests on)"
export TMPDIR=$BENCH_WORK
for s in 1 2 3; do "$TSARC_GEN_DUMP" "$SMALL" --seed "$s" >"$BENCH_WORK/in$s"; done

# steps LABEL ENTRIES: a new repository with ENTRIES synthetic entries, the
# four steps on it.
steps() {
	local label=$1 n=$2 t0 t1 r=$BENCH_WORK/repo-$1
	export XDG_CACHE_HOME=$BENCH_WORK/cache-$label
	"$TSARC" init --repo "$r" --format 2 -q >/dev/null
	if [ "$n" -gt 0 ]; then
		# The generator's snapshots copy the latest one.
		[ "${INDEX_PACKS:-0}" = 1 ] && "$TSARC_GEN_DUMP" 64K --seed 9 |
			"$TSARC" backup --repo "$r" --stdin --name t -q >/dev/null
		t0=$(now)
		# shellcheck disable=SC2046
		TSARC_REPOSITORY=$r "$GEN_INDEX" "$n" $([ "${INDEX_PACKS:-0}" = 1 ] && echo 100)
		t1=$(now)
		printf 'index of %s entries written in %.1f s: %s objects, %s MB\n\n' "$n" \
			"$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
			"$(find "$r/index" -type f | wc -l)" "$(mb "$(dusb "$r/index")")"
	fi
	echo "| $label: step | wall s | CPU s | peak RSS MiB | cache MB |"
	echo "| --- | ---: | ---: | ---: | ---: |"
	one "$label" cold "'$TSARC' backup --repo '$r' --stdin --name a -q <'$BENCH_WORK/in1'"
	one "$label" warm "'$TSARC' backup --repo '$r' --stdin --name b -q <'$BENCH_WORK/in2'"
	one "$label" dump "'$TSARC' dump --repo '$r' latest b" "| cmp - '$BENCH_WORK/in2'"
	one "$label" nocache "'$TSARC' backup --repo '$r' --no-cache --stdin --name c -q <'$BENCH_WORK/in3'"
	echo
	rm -rf "$r" "$XDG_CACHE_HOME"
}

# one SET STEP CMD [TAIL]: CMD timed (its peak RSS), then TAIL of the pipeline.
one() {
	local id="$1-$2"
	run_timed "$id" "'$TIME_BIN' -v -o '$BENCH_WORK/time.$id' $3 ${4:-}"
	printf '| %s | %s | %s | %s | %s |\n' "$2" "$WALL" "$CPU" "$(mib "$RSS_KB")" \
		"$(mb "$( (du -sb "$XDG_CACHE_HOME" 2>/dev/null || echo 0) | awk '{ print $1 }')")"
}

steps empty 0
steps "$N" "$N"
leftover=$(find "$BENCH_WORK" -maxdepth 1 -name '.tmp-*' | wc -l)
[ "$leftover" -eq 0 ] || die "--no-cache left $leftover files in TMPDIR"
