#!/usr/bin/env bash
# bench/prune.sh [N] [SNAPSHOTS]: peak RSS of prune --dry-run on a format-2
# folder repository whose index holds N chunk entries (default 1000000) in
# packs of 64, needed by SNAPSHOTS snapshots (default 100): tsarc-gen-index
# writes the index, a sparse file for each pack and the snapshots (18 packs
# in 20 wholly needed, one half, one not at all: kept, repacked, deleted).
# A dry run decides everything prune does and reads no pack (the packs are
# sparse: a real prune would stop at the first blob, which does not
# authenticate). Two runs: with the index cache empty (the table built)
# and with it warm. PRUNE_OLD=path: the same with another tsarc binary (the
# one before, for the comparison) first.
# Not a test: figures depend on the machine (bench/README.md).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

N=${1:-1000000}
SNAPS=${2:-100}
bench_setup
GEN_INDEX=${TSARC_GEN_INDEX:-$BUILD_DIR/tests/tsarc-gen-index}
[ -x "$GEN_INDEX" ] || die "no $GEN_INDEX: build the tsarc-gen-index target (tests on)"
export TMPDIR=$BENCH_WORK
r=$BENCH_WORK/repo
"$TSARC" init --repo "$r" --format 2 -q >/dev/null
"$TSARC_GEN_DUMP" 64K --seed 1 | "$TSARC" backup --repo "$r" --stdin --name t -q >/dev/null
t0=$(now)
TSARC_REPOSITORY=$r "$GEN_INDEX" "$N" "$SNAPS"
t1=$(now)
printf 'index of %s entries, %s snapshots written in %.1f s\n\n' "$N" "$SNAPS" \
	"$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"

echo "| binary: step | wall s | CPU s | peak RSS MiB | packs deleted / repacked / kept |"
echo "| --- | ---: | ---: | ---: | --- |"
# one LABEL BINARY STEP
one() {
	local id="$1-$3"
	export XDG_CACHE_HOME=$BENCH_WORK/cache-$1
	run_timed "$id" "'$TIME_BIN' -v -o '$BENCH_WORK/time.$id' '$2' prune --repo '$r' --dry-run --json"
	printf '| %s: %s | %s | %s | %s | %s |\n' "$1" "$3" "$WALL" "$CPU" "$(mib "$RSS_KB")" \
		"$(jq -r '"\(.packs_deleted) / \(.packs_repacked) / \(.packs_stored - .packs_deleted - .packs_repacked)"' \
			"$BENCH_WORK/out.$id" 2>/dev/null || echo '?')"
}
if [ -n "${PRUNE_OLD:-}" ]; then
	one old "$PRUNE_OLD" cold
	one old "$PRUNE_OLD" warm
	cp "$BENCH_WORK/out.old-warm" "$BENCH_WORK/old.json"
fi
one new "$TSARC" cold
one new "$TSARC" warm
if [ -n "${PRUNE_OLD:-}" ]; then
	cmp "$BENCH_WORK/old.json" "$BENCH_WORK/out.new-warm" >/dev/null &&
		echo && echo "the two reports are the same, byte for byte" ||
		{ echo; echo "the reports differ:"; diff "$BENCH_WORK/old.json" "$BENCH_WORK/out.new-warm" || true; }
fi
