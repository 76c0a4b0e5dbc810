#!/usr/bin/env bash
# Scattered edits in a dump (targets P3s and P9): a mysqldump-shaped stream
# of ~20 KB INSERT lines, backed up, then again with 1% of its lines edited
# at random places (what a night of `cinstances`, `accounts` or zync updates
# does to a dump). For tsarc format 1 (default chunks), format 2 at several
# chunk sizes (min = avg/4, max = avg*4, default pack size), restic and
# borg, in the same run on the same two files:
#   first backup: wall time, peak RSS, objects written, stored MB;
#   edited backup: new stored bytes (growth of the repository on disk) as %
#   of the first backup's stored bytes, and for tsarc also the new chunk
#   bytes before compression as % of the stream.
#
#   bench/scattered.sh [SIZE]     (default 128M)
#
# Environment: see bench/lib.sh; SWEEP_AVGS="32768 65536 131072 262144";
# LINE_BYTES (default 20K). Needs restic and borgbackup (Debian packages).
# Not part of ctest.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

case "${1:-}" in -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2;; esac
SIZE=${1:-128M}
AVGS=${SWEEP_AVGS:-32768 65536 131072 262144}
LINE=${LINE_BYTES:-20K}
bench_setup
command -v restic >/dev/null || die "restic is needed: apt-get install -y restic"
command -v borg >/dev/null || die "borg is needed: apt-get install -y borgbackup"
n=$(size_bytes "$SIZE")
base=$BENCH_WORK/base.sql edit=$BENCH_WORK/edit.sql
"$TSARC_GEN_DUMP" "$SIZE" --line-bytes "$LINE" >"$base"
"$TSARC_GEN_DUMP" "$SIZE" --line-bytes "$LINE" --mutate 1 >"$edit"
export BORG_PASSPHRASE=bench-password BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
export BORG_BASE_DIR=$BENCH_WORK/borg-home

# objects REPO: files of the repository's data (what a store holds per backup).
objects() { find "$1" -type f | wc -l; }
kib() { echo "$(($1 / 1024))K"; }

# measure ID LABEL REPO FIRST_CMD SECOND_CMD: prints one table row; the
# commands wrap the tool in $TIME_BIN -o $BENCH_WORK/time.ID-1 (and -2).
measure() {
	local id=$1 label=$2 repo=$3 first=$4 second=$5 o0 s0 s1 o1 w1 r1 s2 grown
	o0=$(objects "$repo") s0=$(dusb "$repo")
	warm "$base"
	run_timed "$id-1" "$first"
	w1=$WALL r1=$RSS_KB
	s1=$(dusb "$repo") o1=$(objects "$repo")
	warm "$edit"
	run_timed "$id-2" "$second"
	s2=$(dusb "$repo")
	grown=$((s2 - s1))
	NEWRAW=-
	if [ -n "${TSARC_JSON:-}" ]; then
		NEWRAW="$(pct "$(jnum "$BENCH_WORK/out.$id-2" new_bytes)" "$n")%"
	fi
	printf '| %s | %s | %s | %s | %s | %s MB (%s%%) | %s |\n' "$label" "$w1" "$(mib "$r1")" \
		"$((o1 - o0))" "$(mb $((s1 - s0)))" "$(mb "$grown")" "$(pct "$grown" $((s1 - s0)))" "$NEWRAW"
}

echo "## Scattered edits: $SIZE stream ($n bytes) of $LINE lines, 1% of lines edited"
echo
echo "| tool | first backup s | peak RSS MiB | objects written | stored MB | edited backup: new stored | new chunk bytes (raw) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
tsarc_row() { # id label repo
	TSARC_JSON=1 measure "$1" "$2" "$3" \
		"cat '$base' | '$TIME_BIN' -v -o '$BENCH_WORK/time.$1-1' '$TSARC' backup --repo '$3' --stdin --name dump.sql --json -q" \
		"cat '$edit' | '$TIME_BIN' -v -o '$BENCH_WORK/time.$1-2' '$TSARC' backup --repo '$3' --stdin --name dump.sql --json -q"
}
r=$BENCH_WORK/tsarc-f1
"$TSARC" init --repo "$r" -q
tsarc_row f1 "tsarc format 1 (256K/1M/4M)" "$r"
rm -rf "$r"
for avg in $AVGS; do
	r=$BENCH_WORK/tsarc-f2-$avg
	"$TSARC" init --repo "$r" -q --format 2 --chunk-min $((avg / 4)) --chunk-avg "$avg" \
		--chunk-max $((avg * 4))
	tsarc_row "f2-$avg" "tsarc format 2 ($(kib $((avg / 4)))/$(kib "$avg")/$(kib $((avg * 4))))" "$r"
	rm -rf "$r"
done
r=$BENCH_WORK/restic
restic init --repo "$r" -q
measure restic "restic $(restic version | awk '{ print $2 }')" "$r" \
	"cat '$base' | '$TIME_BIN' -v -o '$BENCH_WORK/time.restic-1' restic --repo '$r' backup --stdin --stdin-filename dump.sql -q" \
	"cat '$edit' | '$TIME_BIN' -v -o '$BENCH_WORK/time.restic-2' restic --repo '$r' backup --stdin --stdin-filename dump.sql -q"
rm -rf "$r"
r=$BENCH_WORK/borg
borg init --encryption repokey-blake2 "$r" >/dev/null
measure borg "borg $(borg --version | awk '{ print $2 }') (zstd,3)" "$r" \
	"cat '$base' | '$TIME_BIN' -v -o '$BENCH_WORK/time.borg-1' borg create --compression zstd,3 '$r::one' -" \
	"cat '$edit' | '$TIME_BIN' -v -o '$BENCH_WORK/time.borg-2' borg create --compression zstd,3 '$r::two' -"
rm -rf "$r"
echo
echo "new stored = growth of the repository on disk (du -sb) from the edited backup, as % of"
echo "the first backup's; raw = bytes of new chunks before compression, as % of the stream."
